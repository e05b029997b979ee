/*
 * lumen/otlp.h: the OTLP encoders (protobuf and OTLP/JSON), by hand, for
 * programs that send OTLP themselves. liblumen-http's OTLP/HTTP exporter
 * (lumen/http_otlp.h) uses them.
 */
#ifndef LUMEN_OTLP_H
#define LUMEN_OTLP_H

#include "lumen/common.h"
#include "lumen/log.h"
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

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_OTLP_H */
