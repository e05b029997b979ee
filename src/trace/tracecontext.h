/*
 * trace/tracecontext.h: W3C traceparent fields and the lowercase hex they
 * are written in (tracecontext.c; read with core/hex.h's lumen__unhex, as
 * B3 ids are).
 */
#ifndef LUMEN_TRACE_TRACECONTEXT_H
#define LUMEN_TRACE_TRACECONTEXT_H

#include "core/common.h"
#include "lumen/trace.h"

/* Write p[0..n) as 2*n lowercase hex digits (no NUL). */
void lumen__hex_encode(char *o, const uint8_t *p, size_t n);

/* A traceparent value, its OWS already trimmed, into out's ids and flags
 * (tracestate untouched). LUMEN_OK or LUMEN_EPARSE. */
int lumen__traceparent_parse_value(const char *s, size_t n, lumen_span_context *out);

#endif
