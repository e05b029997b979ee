/*
 * trace/b3.h: Zipkin B3 header parsers (b3.c).
 */
#ifndef LUMEN_TRACE_B3_H
#define LUMEN_TRACE_B3_H

#include "core/common.h"
#include "lumen/trace.h"

/* B3 single header value and B3 multi-header values into *out. */
int lumen__b3_parse_single(const char *s, size_t n, lumen_span_context *out);
int lumen__b3_parse_multi(const char *trace_id, size_t tn, const char *span_id, size_t sn,
                          const char *sampled, size_t smn, const char *flags, size_t fn,
                          lumen_span_context *out);

#endif
