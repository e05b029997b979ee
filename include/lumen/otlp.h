/*
 * lumen/otlp.h: the OTLP encoders (protobuf and OTLP/JSON), by hand, for
 * programs that send OTLP themselves. liblumen-http's OTLP/HTTP exporter
 * (lumen/http_otlp.h) uses them.
 */
#ifndef LUMEN_OTLP_H
#define LUMEN_OTLP_H

#include "lumen/common.h"
#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** OTLP encodings. */
typedef enum lumen_otlp_format {
    LUMEN_OTLP_PROTOBUF = 0, /**< application/x-protobuf */
    LUMEN_OTLP_JSON = 1      /**< application/json, OTLP/JSON rules */
} lumen_otlp_format;

/**
 * Encode ended spans as an ExportTraceServiceRequest. Spans are grouped by
 * provider (resource) and tracer (scope). *out (freed with lumen_free) and
 * *out_len receive the body. Returns LUMEN_OK, LUMEN_EINVAL or
 * LUMEN_ENOMEM (*out is then NULL). Thread-safe.
 */
LUMEN_API int lumen_otlp_encode_spans(char **out, size_t *out_len, lumen_otlp_format fmt,
                                      const lumen_span *const *spans, size_t n);

/**
 * Encode log records (handed to a lumen_log_exporter) as an
 * ExportLogsServiceRequest: one ResourceLogs carrying the resource of
 * `resource_from` (the attributes spans of that provider carry; NULL: an
 * empty resource), one ScopeLogs per logger (its name is the scope), one
 * LogRecord per record (times, severity number and text, the message as
 * body, the fields as typed attributes, trace and span ids and flags).
 * *out (freed with lumen_free) and *out_len receive the body. Returns
 * LUMEN_OK, LUMEN_EINVAL or LUMEN_ENOMEM (*out is then NULL). Thread-safe.
 */
LUMEN_API int lumen_otlp_encode_logs(char **out, size_t *out_len, lumen_otlp_format fmt,
                                     const lumen_log_record *const *records, size_t n,
                                     const lumen_tracer_provider *resource_from);

/** A temporality preference for OTLP metrics, as the OpenTelemetry OTLP
 * exporter defines it (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE). Registered counters and
 * histograms are synchronous instruments; families a collector writes
 * (lumen_registry_add_collector) are asynchronous. Gauges, info families
 * and summaries have no temporality. */
typedef enum lumen_otlp_temporality {
    LUMEN_OTLP_TEMPORALITY_DEFAULT = 0,    /**< from the environment, else cumulative */
    LUMEN_OTLP_TEMPORALITY_CUMULATIVE = 1, /**< every Sum and Histogram cumulative */
    LUMEN_OTLP_TEMPORALITY_DELTA = 2,      /**< counters and histograms, collected too: delta */
    LUMEN_OTLP_TEMPORALITY_LOWMEMORY = 3,  /**< registered counters and histograms delta only */
} lumen_otlp_temporality;

/** What delta temporality remembers between two encodings: per exported
 * series (family name and label set) the previous cumulative values and
 * the previous encoding's time. */
typedef struct lumen_otlp_metrics_state lumen_otlp_metrics_state;

/** A state for preference t into *out (LUMEN_OTLP_TEMPORALITY_DEFAULT:
 * cumulative; the environment is not read). Returns LUMEN_OK, LUMEN_EINVAL
 * (out NULL, t unknown) or LUMEN_ENOMEM. Thread-safe. */
LUMEN_API int lumen_otlp_metrics_state_new(lumen_otlp_metrics_state **out,
                                           lumen_otlp_temporality t);

/** Free a state. NULL is a no-op. Safe on distinct objects. */
LUMEN_API void lumen_otlp_metrics_state_free(lumen_otlp_metrics_state *state);

/** The series a state remembers (NULL: 0). Safe on distinct objects. */
LUMEN_API size_t lumen_otlp_metrics_state_series(const lumen_otlp_metrics_state *state);

/**
 * Encode the families of registries regs[0..n) (n 0: the default
 * registry; NULL entries are the default one; at most
 * LUMEN_RENDER_MAX_REGISTRIES) as an ExportMetricsServiceRequest, read as
 * a render reads them (the updating threads are never held): one
 * ResourceMetrics carrying the resource of `resource_from` (NULL: an empty
 * resource), one ScopeMetrics named `scope_name` (NULL or "": "lumen")
 * with lumen's version, one Metric per registered family in name order (a
 * name in two registries: the first one's), then one per family the
 * registries' collectors write. Cumulative temporality: counters are
 * monotonic Sums, gauges (and untyped families) Gauges, info families
 * non-monotonic Sums of value 1 named x_info, classic histograms
 * Histograms (explicit bounds), native histograms ExponentialHistograms,
 * summaries Summaries; labels are string attributes, start_time_unix_nano
 * is the series' creation, exemplars keep their labels and trace and span
 * ids; collected families have no start time. The overflow family is not
 * encoded. *out (freed with lumen_free) and *out_len receive the body,
 * *out_points (may be NULL) the number of data points. Returns LUMEN_OK,
 * LUMEN_EINVAL, LUMEN_ENOENT (a freed registry), LUMEN_ENOTSUP (the
 * registry of a pre-forked family) or LUMEN_ENOMEM (*out is then NULL).
 * Thread-safe.
 */
LUMEN_API int lumen_otlp_encode_metrics(char **out, size_t *out_len, size_t *out_points,
                                        lumen_otlp_format fmt, lumen_registry *const *regs,
                                        size_t n, const lumen_tracer_provider *resource_from,
                                        const char *scope_name);

/**
 * lumen_otlp_encode_metrics in the temporality of `state` (NULL:
 * cumulative). Delta points (aggregation_temporality DELTA): a counter's
 * increase, a histogram's per-bucket counts, count and sum since the
 * previous encoding with this state, whose time is their
 * start_time_unix_nano (for a series' first: its creation, or the
 * state's for a collected one); a native histogram's at its current
 * scale (the previous counts folded down when the scale dropped). A
 * value that fell, or a series re-created, starts a new delta from the
 * current value. On LUMEN_OK the state remembers this encoding's values
 * and forgets the series it did not hold; on failure the series
 * it reached start again from this encoding's values (their deltas lost). Returns as
 * lumen_otlp_encode_metrics (the state used by one thread at a time). Safe on distinct objects.
 */
LUMEN_API int lumen_otlp_encode_metrics_delta(char **out, size_t *out_len, size_t *out_points,
                                              lumen_otlp_format fmt, lumen_registry *const *regs,
                                              size_t n, const lumen_tracer_provider *resource_from,
                                              const char *scope_name,
                                              lumen_otlp_metrics_state *state);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_OTLP_H */
