/*
 * otlp/json.h: OTLP/JSON for traces (json.c).
 */
#ifndef LUMEN_OTLP_JSON_H
#define LUMEN_OTLP_JSON_H

#include "core/buf.h"
#include "lumen/trace.h"

/* OTLP/JSON ExportTraceServiceRequest of spans[0..n) appended to b. */
void lumen__otlp_json_request(lumen__buf *b, const lumen_span *const *spans, size_t n);
/* One span as an OTLP/JSON Span object plus "scope" and "resource" keys,
 * on one line, for the console exporter. */
void lumen__otlp_json_span_line(lumen__buf *b, const lumen_span *s);

/* "attributes":[...] of a[0..n) (the key and the array, no comma). */
void lumen__otlp_json_attributes(lumen__buf *b, const lumen_attr *a, size_t n);
/* A double as OTLP/JSON writes it ("NaN", "Infinity", "-Infinity" quoted). */
void lumen__otlp_json_double(lumen__buf *b, double d);

#endif
