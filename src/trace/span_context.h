/*
 * trace/span_context.h: the layout behind the opaque lumen_span_context
 * (lumen/trace.h). It keeps the tracestate inline, so that copying and
 * filling a context never allocate; the cost is one allocation per context
 * object, which a program reuses.
 *
 * Invariant: trace_state holds trace_state_len bytes of a list that has
 * passed lumen__tracestate_parse (or is empty) and a NUL after them. Code
 * that builds a context on its stack (the sampler's view of a parent) must
 * keep it too.
 */
#ifndef LUMEN_TRACE_SPAN_CONTEXT_H
#define LUMEN_TRACE_SPAN_CONTEXT_H

#include <string.h>

#include "core/common.h"
#include "lumen/trace.h"

struct lumen_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;      /* LUMEN_TRACE_FLAG_SAMPLED, _RANDOM and reserved bits */
    uint8_t is_remote;        /* 1 when extracted from a carrier */
    uint16_t trace_state_len; /* bytes in trace_state, without the NUL */
    char trace_state[LUMEN_TRACESTATE_MAX + 1];
};

/* Make *sc invalid: ids, flags and tracestate zero. */
static inline void lumen__span_context_clear(lumen_span_context *sc)
{
    memset(sc, 0, offsetof(lumen_span_context, trace_state) + 1);
}

/* Set sc's tracestate length from a lumen__ts_finish result (the list is
 * already in sc->trace_state; 0 or -1: none). */
static inline void lumen__span_context_set_ts_len(lumen_span_context *sc, int r)
{
    sc->trace_state_len = r > 0 ? (uint16_t)r : 0;
    if (r <= 0)
        sc->trace_state[0] = '\0';
}

#endif
