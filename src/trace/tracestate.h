/*
 * trace/propagation.h: the parsers and writers behind the propagators,
 * shared by propagation.c, baggage.c and b3.c (and the fuzz target).
 */
#ifndef LUMEN_TRACE_PROPAGATION_H
#define LUMEN_TRACE_PROPAGATION_H

#include "core/common.h"
#include "lumen/trace.h"
#include "trace/span_context.h"

/* W3C tracestate: members in a list, characters in a key and in a value. */
#define LUMEN__TRACESTATE_MEMBERS 32
#define LUMEN__TRACESTATE_KEY_MAX 256
#define LUMEN__TRACESTATE_VALUE_MAX 256
/* W3C Baggage: the most list-members the grammar allows, and the bytes of
 * the header lumen keeps and sends (every member is kept while both hold;
 * the spec's floor is 64 members and 8192 bytes). */
#define LUMEN__BAGGAGE_MAX_MEMBERS LUMEN_BAGGAGE_MAX_MEMBERS
#define LUMEN__BAGGAGE_MAX_TOTAL LUMEN_BAGGAGE_MAX_BYTES

/* Parse a combined tracestate value (lines already joined by ',') into
 * out[LUMEN_TRACESTATE_MAX+1], normalised (OWS and empty members removed,
 * a duplicated key's later members dropped) and cut by whole members to
 * LUMEN_TRACESTATE_MAX. Returns the length, or -1 when the list is invalid
 * (then the whole tracestate is discarded). Any length of input. */
int lumen__tracestate_parse(const char *s, size_t n, char *out);

/* Parse lowercase hex of exactly 2*n chars into out[n]. */
bool lumen__hex_decode(const char *s, size_t n, uint8_t *out);

/* B3 single header value and B3 multi-header values into *out. */
int lumen__b3_parse_single(const char *s, size_t n, lumen_span_context *out);
int lumen__b3_parse_multi(const char *trace_id, size_t tn, const char *span_id, size_t sn,
                          const char *sampled, size_t smn, const char *flags, size_t fn,
                          lumen_span_context *out);

#endif
