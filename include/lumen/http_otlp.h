/*
 * lumen/http_otlp.h: the OTLP/HTTP exporters of traces and logs
 * (liblumen-http). They encode with lumen_otlp_encode_spans and
 * lumen_otlp_encode_logs, post to a collector with
 * libcurl (keep-alive, optional gzip) and retry only what the OTLP
 * specification calls transient.
 */
#ifndef LUMEN_HTTP_OTLP_H
#define LUMEN_HTTP_OTLP_H

#include "lumen/http.h"
#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/otlp.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * OTLP/HTTP exporter options (a versioned struct, docs/api.md: start from
 * LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT). NULL or zero fields take the
 * environment (unless ignore_env) and then the specification's defaults
 * (LUMEN_OTLP_HTTP_DEFAULT_* in lumen/http.h):
 * - endpoint: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT used as is, else
 *   OTEL_EXPORTER_OTLP_ENDPOINT with "/v1/traces" appended, else
 *   "http://localhost:4318/v1/traces";
 * - headers: "k=v,k2=v2" (values percent-decoded), from
 *   OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS;
 * - protocol: "http/protobuf" (default) or "http/json", from
 *   OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL;
 * - compression: "gzip" or "none" (default), from
 *   OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION;
 * - timeout_ms: the budget of one export, retries included, from
 *   OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT, default 10000;
 * - certificate, client_certificate, client_key: PEM files for https (the
 *   CA bundle to trust, and a client certificate and key for mutual TLS),
 *   from OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE, _CLIENT_CERTIFICATE and
 *   _CLIENT_KEY.
 * Retries: only on HTTP 429, 502, 503, 504 and on connection failures, up to
 * max_attempts (default 5) attempts, waiting Retry-After (seconds or an HTTP
 * date) when the collector sends it, else an exponential backoff from
 * initial_backoff_ms (default 1000) doubling up to max_backoff_ms (default
 * 30000) with random jitter (0.5x to 1.5x). A wait that would pass the
 * export's deadline is not started: the export fails at once.
 */
typedef struct lumen_otlp_http_exporter_options {
    unsigned int version; /**< LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_VERSION */
    bool ignore_env;
    const char *endpoint;
    const char *headers;
    const char *protocol;
    const char *compression;
    uint32_t timeout_ms;
    uint32_t max_attempts;
    uint32_t initial_backoff_ms;
    uint32_t max_backoff_ms;
    uint32_t max_response_bytes; /**< response bodies are read up to this (default 65536) */
    const char *certificate;
    const char *client_certificate;
    const char *client_key;
} lumen_otlp_http_exporter_options;

#define LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_VERSION 1
#define LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT                                                      \
    LUMEN__VERSIONED_INIT(lumen_otlp_http_exporter_options,                                        \
                          LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_http_exporter_options_init(lumen_otlp_http_exporter_options *opts,
                                                    unsigned int version);

/**
 * Create the exporter into *out. Give it to a processor (normally
 * lumen_batch_processor_new), which then owns it. Each failed export
 * returns the status the processor counts it by: LUMEN_ETIMEDOUT,
 * LUMEN_EHTTP, LUMEN_ECONNECT or LUMEN_EIO, the reason its last attempt
 * failed (when the budget or a shutdown ends the retries, the failure of
 * the attempt before; an attempt cut off in flight is LUMEN_ETIMEDOUT, and
 * so is an export that never got to try). Returns LUMEN_OK, LUMEN_EINVAL,
 * LUMEN_EVERSION, LUMEN_ECONFIG (bad endpoint, protocol or compression),
 * LUMEN_ENOMEM or LUMEN_EIO (libcurl could not start). Thread-safe.
 */
LUMEN_API int lumen_otlp_http_exporter_new(lumen_span_exporter **out,
                                           const lumen_otlp_http_exporter_options *opts);

/** What an OTLP/HTTP exporter has done (a versioned struct that lumen
 * fills, docs/api.md: start from LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT). */
typedef struct lumen_otlp_http_exporter_stats {
    unsigned int version;    /**< LUMEN_OTLP_HTTP_EXPORTER_STATS_VERSION */
    uint64_t requests;       /**< HTTP requests sent (attempts) */
    uint64_t retries;        /**< attempts after the first of an export */
    uint64_t exported_spans; /**< spans the collector accepted */
    uint64_t rejected_spans; /**< spans a partial-success answer rejected */
    uint64_t failed_exports; /**< exports that failed, all reasons */
    uint64_t fail_http;      /**< ... on a non-retryable HTTP status */
    uint64_t fail_connect;   /**< ... because the collector could not be reached */
    uint64_t fail_timeout;   /**< ... because the deadline passed */
    uint64_t fail_other;     /**< ... for another reason (encoding, memory) */
    int32_t last_status;     /**< the last HTTP status, 0 if none */
} lumen_otlp_http_exporter_stats;

#define LUMEN_OTLP_HTTP_EXPORTER_STATS_VERSION 1
#define LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT                                                        \
    LUMEN__VERSIONED_INIT(lumen_otlp_http_exporter_stats, LUMEN_OTLP_HTTP_EXPORTER_STATS_VERSION)

/** Zero *stats and set its version. Returns LUMEN_OK, LUMEN_EINVAL (stats
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_http_exporter_stats_init(lumen_otlp_http_exporter_stats *stats,
                                                  unsigned int version);

/** Fill *out (the fields of its version) for an exporter made by
 * lumen_otlp_http_exporter_new. Returns LUMEN_OK, LUMEN_EINVAL (NULL, or
 * another kind of exporter) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_http_exporter_get_stats(lumen_otlp_http_exporter_stats *out,
                                                 lumen_span_exporter *exp);

/**
 * Create an OTLP/HTTP exporter of log records into *out, for
 * lumen_log_batch_handler_new (which then owns it). The same transport,
 * options, retries and failure statuses as lumen_otlp_http_exporter_new,
 * with the log variables: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT used as is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT with "/v1/logs" appended, else
 * "http://localhost:4318/v1/logs"; OTEL_EXPORTER_OTLP_LOGS_HEADERS,
 * _PROTOCOL, _COMPRESSION, _TIMEOUT, _CERTIFICATE, _CLIENT_CERTIFICATE and
 * _CLIENT_KEY before their OTEL_EXPORTER_OTLP_* fallbacks. The records
 * carry the resource of `resource_from` (borrowed: it must outlive the
 * exporter), so that logs and traces name the same service; NULL: a
 * resource built from the environment as a tracer provider builds it
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME). Returns LUMEN_OK,
 * LUMEN_EINVAL, LUMEN_EVERSION, LUMEN_ECONFIG, LUMEN_ENOMEM or LUMEN_EIO.
 * Thread-safe.
 */
LUMEN_API int lumen_otlp_http_log_exporter_new(lumen_log_exporter **out,
                                               const lumen_otlp_http_exporter_options *opts,
                                               lumen_tracer_provider *resource_from);

/** Fill *out for an exporter made by lumen_otlp_http_log_exporter_new
 * (exported_spans and rejected_spans count log records). Returns LUMEN_OK,
 * LUMEN_EINVAL (NULL, or another kind of exporter) or LUMEN_EVERSION.
 * Thread-safe. */
LUMEN_API int lumen_otlp_http_log_exporter_get_stats(lumen_otlp_http_exporter_stats *out,
                                                     lumen_log_exporter *exp);

/**
 * Set up OTLP logs from the environment alone, in addition to the
 * handlers the root logger has (stdout by default, which stays): a batch
 * handler (OTEL_BLRP_*) with the exporter OTEL_LOGS_EXPORTER names,
 * "otlp" (the default: OTLP/HTTP, lumen_otlp_http_log_exporter_new with
 * `resource_from`), "console" (one OTLP/JSON request per batch, one line,
 * on standard output) or "none" (nothing is added; *out is NULL), added
 * to the root logger with lumen_logger_add_handler. An invalid value is
 * reported once with its value and "otlp" used. *out (may be NULL)
 * receives the handler, for lumen_log_batch_get_stats. Returns LUMEN_OK,
 * LUMEN_ECONFIG, LUMEN_ENOMEM, LUMEN_EIO or LUMEN_ESYS. Thread-safe.
 */
LUMEN_API int lumen_otlp_logging_init(lumen_log_handler **out,
                                      lumen_tracer_provider *resource_from);

/**
 * Set up tracing from the environment alone: a provider (resource, sampler,
 * limits from OTEL_*), a batch processor (OTEL_BSP_*) and the exporter
 * OTEL_TRACES_EXPORTER names: "otlp" (default, OTLP/HTTP), "console" or
 * "none". The provider is also installed as the global one. Free it with
 * lumen_tracer_provider_free. Returns LUMEN_OK, LUMEN_EINVAL,
 * LUMEN_ECONFIG or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_otlp_tracing_init(lumen_tracer_provider **out);

/* ---- metrics ---------------------------------------------------------------- */

/** A periodic reader exporting registries over OTLP (lumen_otlp_metrics_reader_new). */
typedef struct lumen_otlp_metrics_reader lumen_otlp_metrics_reader;

/**
 * Metrics reader options (a versioned struct, docs/api.md: start from
 * LUMEN_OTLP_METRICS_READER_OPTIONS_INIT). Zero fields take the
 * environment (unless ignore_env) and then the defaults.
 */
typedef struct lumen_otlp_metrics_reader_options {
    unsigned int version; /**< LUMEN_OTLP_METRICS_READER_OPTIONS_VERSION */
    bool ignore_env;
    /** The registries to export (the array is copied; at most
     * LUMEN_RENDER_MAX_REGISTRIES); NULL or 0: the default registry. */
    lumen_registry *const *registries;
    size_t nregistries;
    /** Between the starts of two exports: OTEL_METRIC_EXPORT_INTERVAL, else 60000. */
    uint32_t interval_ms;
    /** The budget of one export, retries included: OTEL_METRIC_EXPORT_TIMEOUT, else 30000. */
    uint32_t timeout_ms;
    /** The OTLP/HTTP transport (NULL: every field from the environment),
     * as lumen_otlp_http_exporter_new takes it, with the metrics
     * variables: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT used as is, else
     * OTEL_EXPORTER_OTLP_ENDPOINT with "/v1/metrics" appended, else
     * "http://localhost:4318/v1/metrics"; OTEL_EXPORTER_OTLP_METRICS_HEADERS,
     * _PROTOCOL, _COMPRESSION, _TIMEOUT (of one request's retries, within
     * timeout_ms), _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY before
     * their OTEL_EXPORTER_OTLP_* fallbacks. */
    const lumen_otlp_http_exporter_options *exporter;
    /** The resource the metrics carry (borrowed: it must outlive the
     * reader), so that metrics, traces and logs name the same service;
     * NULL: one built from the environment as a tracer provider builds it. */
    lumen_tracer_provider *resource_from;
    /** The instrumentation scope's name; NULL: "lumen". */
    const char *scope_name;
    /** Write each request as one OTLP/JSON line on standard output
     * instead of sending it (OTEL_METRICS_EXPORTER=console). */
    bool console;
    /* ---- version 2 ---- */
    /** Aggregation temporality (LUMEN_OTLP_TEMPORALITY_DEFAULT:
     * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else cumulative). */
    lumen_otlp_temporality temporality;
} lumen_otlp_metrics_reader_options;

#define LUMEN_OTLP_METRICS_READER_OPTIONS_VERSION 2
#define LUMEN_OTLP_METRICS_READER_OPTIONS_INIT                                                     \
    LUMEN__VERSIONED_INIT(lumen_otlp_metrics_reader_options,                                       \
                          LUMEN_OTLP_METRICS_READER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_metrics_reader_options_init(lumen_otlp_metrics_reader_options *opts,
                                                     unsigned int version);

/**
 * Start a reader into *out: a thread of its own that, every interval,
 * encodes the registries as lumen_otlp_encode_metrics does (in the
 * options' temporality) and posts the request to the collector (the OTLP/HTTP
 * transport, retries and TLS of lumen_otlp_http_exporter_new). The
 * threads that update the metrics never wait for it: it reads their
 * cells as a scrape does. A failed export drops its points, counted in
 * the stats and in the default registry's lumen_otlp_metrics_* families
 * (docs/metrics.md, unless LUMEN_SELF_METRICS=false).
 * Delta temporality: the reader keeps, per exported series (family name
 * and label set), the previous cumulative values and export time; a
 * point is the difference, its start time the previous export's (the
 * series' creation for its first), a value that fell (a reset) starts a
 * new delta from the current value, and series no longer exported are
 * forgotten. An invalid OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
 * (not cumulative, delta or lowmemory) is reported once with its value
 * and cumulative used; an unknown opts->temporality is LUMEN_EINVAL. Returns LUMEN_OK,
 * LUMEN_EINVAL, LUMEN_EVERSION, LUMEN_ECONFIG (bad endpoint, protocol or compression),
 * LUMEN_ENOMEM, LUMEN_EIO or LUMEN_ESYS (no thread). Thread-safe.
 */
LUMEN_API int lumen_otlp_metrics_reader_new(lumen_otlp_metrics_reader **out,
                                            const lumen_otlp_metrics_reader_options *opts);

/** Export now, on the reader's thread, and wait for that export to end,
 * at most timeout_ms. Returns LUMEN_OK (the export succeeded), its
 * failure (LUMEN_EHTTP, LUMEN_ECONNECT, LUMEN_ETIMEDOUT, LUMEN_EIO,
 * LUMEN_ENOMEM, LUMEN_ENOTSUP), LUMEN_ETIMEDOUT when it did not end in
 * time, or LUMEN_EINVAL. Thread-safe. */
LUMEN_API int lumen_otlp_metrics_reader_force_flush(lumen_otlp_metrics_reader *r,
                                                    uint32_t timeout_ms);

/** What a reader has done (a versioned struct that lumen fills). */
typedef struct lumen_otlp_metrics_reader_stats {
    unsigned int version;     /**< LUMEN_OTLP_METRICS_READER_STATS_VERSION */
    uint64_t exports_ok;      /**< requests the collector accepted */
    uint64_t exports_failed;  /**< exports that failed (encoding or sending) */
    uint64_t points_exported; /**< data points in accepted requests (rejected ones excluded) */
    uint64_t points_rejected; /**< data points a partial-success answer rejected */
    uint64_t points_dropped;  /**< data points of failed exports */
    uint64_t fail_http;       /**< failures on a non-retryable HTTP status */
    uint64_t fail_connect;    /**< ... because the collector could not be reached */
    uint64_t fail_timeout;    /**< ... because the deadline passed */
    uint64_t fail_other;      /**< ... for another reason (encoding, memory, I/O) */
    int32_t last_status;      /**< the last HTTP status, 0 if none */
} lumen_otlp_metrics_reader_stats;

#define LUMEN_OTLP_METRICS_READER_STATS_VERSION 1
#define LUMEN_OTLP_METRICS_READER_STATS_INIT                                                       \
    LUMEN__VERSIONED_INIT(lumen_otlp_metrics_reader_stats, LUMEN_OTLP_METRICS_READER_STATS_VERSION)

/** Zero *stats and set its version. Returns LUMEN_OK, LUMEN_EINVAL (stats
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_metrics_reader_stats_init(lumen_otlp_metrics_reader_stats *stats,
                                                   unsigned int version);

/** Fill *out (the fields of its version). Returns LUMEN_OK, LUMEN_EINVAL
 * or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_otlp_metrics_reader_get_stats(lumen_otlp_metrics_reader_stats *out,
                                                  lumen_otlp_metrics_reader *r);

/**
 * Stop the reader: its thread runs one last export and ends; the export
 * in flight and that last one together take at most the reader's
 * timeout_ms from this call (a dead collector holds it no longer), then
 * the reader is freed. NULL is a no-op. Safe on distinct objects: no
 * other call may use this reader during or after it.
 */
LUMEN_API void lumen_otlp_metrics_reader_free(lumen_otlp_metrics_reader *r);

/**
 * Set up metrics export from the environment alone: OTEL_METRICS_EXPORTER
 * "otlp" (the default) starts a reader of the default registry with
 * every setting from the environment and `resource_from` (may be NULL);
 * "console" one that writes each request as an OTLP/JSON line on standard
 * output; "prometheus" (the built-in endpoint, lumen_http_server, serves
 * the registries: nothing to start) and "none" start nothing (*out NULL),
 * the first saying so once. An invalid value is reported once with its
 * value and "otlp" used. Returns as lumen_otlp_metrics_reader_new.
 * Thread-safe.
 */
LUMEN_API int lumen_otlp_metrics_init(lumen_otlp_metrics_reader **out,
                                      lumen_tracer_provider *resource_from);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_HTTP_OTLP_H */
