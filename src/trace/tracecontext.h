/*
 * trace/tracecontext.h: W3C traceparent fields and the lowercase hex they
 * are written in (tracecontext.c); B3 ids use the same hex.
 */
#ifndef LUMEN_TRACE_TRACECONTEXT_H
#define LUMEN_TRACE_TRACECONTEXT_H

#include "core/common.h"
#include "lumen/trace.h"

/* Parse lowercase hex of exactly 2*n chars into out[n]. */
bool lumen__hex_decode(const char *s, size_t n, uint8_t *out);
/* Write p[0..n) as 2*n lowercase hex digits (no NUL). */
void lumen__hex_encode(char *o, const uint8_t *p, size_t n);

/* A traceparent value, its OWS already trimmed, into out's ids and flags
 * (tracestate untouched). LUMEN_OK or LUMEN_EPARSE. */
int lumen__traceparent_parse_value(const char *s, size_t n, lumen_span_context *out);

#endif
