/*
 * otlp/otlp.h: the OTLP trace encoders' internal entry points.
 */
#ifndef LUMEN_OTLP_OTLP_H
#define LUMEN_OTLP_OTLP_H

#include "core/buf.h"
#include "lumen/otlp.h"
#include "trace/span.h"

/* A run of spans of one tracer (scope), inside a run of one provider. */
typedef struct lumen__otlp_group {
    const lumen_tracer *tracer;
    const lumen_span *const *spans; /* gathered pointers */
    size_t n;
} lumen__otlp_group;

/* Protobuf ExportTraceServiceRequest of spans[0..n) appended to b. */
void lumen__otlp_pb_request(lumen__buf *b, const lumen_span *const *spans, size_t n);
/* OTLP/JSON ExportTraceServiceRequest of spans[0..n) appended to b. */
void lumen__otlp_json_request(lumen__buf *b, const lumen_span *const *spans, size_t n);
/* One span as an OTLP/JSON Span object plus "scope" and "resource" keys,
 * on one line, for the console exporter. */
void lumen__otlp_json_span_line(lumen__buf *b, const lumen_span *s);

/* Group spans by provider then tracer, keeping first-seen order. Fills
 * `order` (n entries) with the spans regrouped and returns the number of
 * groups written to `groups` (up to n). */
size_t lumen__otlp_group_spans(const lumen_span *const *spans, size_t n, const lumen_span **order,
                               lumen__otlp_group *groups);

#endif
