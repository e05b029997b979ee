/*
 * trace/propagation.h: the parsers and writers behind the propagators,
 * shared by propagation.c, baggage.c and b3.c (and the fuzz target).
 */
#ifndef LUMEN_TRACE_PROPAGATION_H
#define LUMEN_TRACE_PROPAGATION_H

#include "core/common.h"
#include "lumen/trace.h"

/* Largest raw traceparent line considered (future versions may be longer
 * than 55 characters, but not without bound). */
#define LUMEN__TRACEPARENT_INPUT_MAX 512
/* Largest combined raw tracestate (all header lines, joined) considered;
 * beyond it the tracestate is discarded as the spec allows. */
#define LUMEN__TRACESTATE_INPUT_MAX 8192
/* W3C Baggage limits: members, bytes per member, bytes in all. */
#define LUMEN__BAGGAGE_MAX_MEMBERS 180
#define LUMEN__BAGGAGE_MAX_MEMBER 4096
#define LUMEN__BAGGAGE_MAX_TOTAL 8192

/* Parse a combined tracestate value (lines already joined by ',') into
 * out[LUMEN_TRACESTATE_MAX+1], normalised (OWS removed) and cut by whole
 * members to LUMEN_TRACESTATE_MAX. Returns the length, or -1 when the list
 * is invalid (then the whole tracestate is discarded). */
int lumen__tracestate_parse(const char *s, size_t n, char *out);

/* Parse lowercase hex of exactly 2*n chars into out[n]. */
bool lumen__hex_decode(const char *s, size_t n, uint8_t *out);

/* B3 single header value and B3 multi-header values into *out. */
int lumen__b3_parse_single(const char *s, size_t n, lumen_span_context *out);
int lumen__b3_parse_multi(const char *trace_id, size_t tn, const char *span_id, size_t sn,
                          const char *sampled, size_t smn, const char *flags, size_t fn,
                          lumen_span_context *out);

#endif
