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

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_OTLP_H */
