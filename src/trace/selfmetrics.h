/*
 * trace/selfmetrics.h: the trace layer's own counters (selfmetrics.c).
 * Every file of the layer counts through here; this file calls nothing
 * else in the layer, so it sits at the bottom of it.
 */
#ifndef LUMEN_TRACE_SELFMETRICS_H
#define LUMEN_TRACE_SELFMETRICS_H

#include "core/common.h"

typedef enum {
    LUMEN__TM_STARTED,
    LUMEN__TM_ENDED,
    LUMEN__TM_DROPPED,
    LUMEN__TM_EXPORTED,
    LUMEN__TM_FAIL_TIMEOUT,
    LUMEN__TM_FAIL_HTTP,
    LUMEN__TM_FAIL_CONNECT,
    LUMEN__TM_FAIL_OTHER,
    LUMEN__TM_BAGGAGE_INVALID,    /* incoming baggage members skipped: invalid */
    LUMEN__TM_BAGGAGE_LIMIT,      /* ... dropped: past 180 members or 8192 bytes */
    LUMEN__TM_TRACESTATE_INVALID, /* tracestate lists discarded: invalid */
    LUMEN__TM_TRACESTATE_LIMIT,   /* tracestate members cut: past 512 characters */
    LUMEN__TM_COUNT
} lumen__trace_metric;

/* Add to a shared counter, with release order: a scrape that reads the
 * counter (acquire) then sees every span end that led to the addition. */
void lumen__trace_metric_add(lumen__trace_metric m, uint64_t n);

/* Started and ended spans are counted in per-thread cells that only their
 * thread writes (a load and a store, no locked instruction) and that a
 * scrape sums, so the totals never lag behind what the processors count. */
typedef struct lumen__tm_cell {
    atomic_uint_fast64_t n[2]; /* LUMEN__TM_STARTED, LUMEN__TM_ENDED */
    atomic_bool owned;         /* a live thread writes this cell */
    struct lumen__tm_cell *next;
} lumen__tm_cell;
extern LUMEN_TLS lumen__tm_cell *lumen__tm_mine;
void lumen__trace_metric_inc_slow(unsigned which);

/* Count a started or ended span (which: LUMEN__TM_STARTED or _ENDED). */
static inline void lumen__trace_metric_inc_local(unsigned which)
{
    lumen__tm_cell *c = lumen__tm_mine;
    if (LUMEN_UNLIKELY(c == NULL)) {
        lumen__trace_metric_inc_slow(which);
        return;
    }
    /* Only this thread writes the cell: no read-modify-write needed.
     * Release: a scrape that reads this count (acquire) also sees the
     * counts this span's start made before it, on any thread. */
    uint64_t v = atomic_load_explicit(&c->n[which], memory_order_relaxed);
    atomic_store_explicit(&c->n[which], v + 1, memory_order_release);
}

/* A counter's value now (acquire). */
uint64_t lumen__trace_metric_get(lumen__trace_metric m);

/* Publish the counters where lumen__self_metrics_registry says (once;
 * nowhere when the program turned them off). */
void lumen__trace_metrics_register(void);

#endif
