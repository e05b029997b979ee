/*
 * trace/selfmetrics.c: the trace layer's own counters (spans started,
 * ended, dropped, exported; export failures by reason). Kept here, in one
 * file, so that publishing them into the metrics registry touches nothing
 * else. Relaxed atomics: the counts are statistics, ordered with nothing.
 */
#include "trace/span.h"

static atomic_uint_fast64_t g_counts[LUMEN__TM_COUNT];

void lumen__trace_metric_add(lumen__trace_metric m, uint64_t n)
{
    atomic_fetch_add_explicit(&g_counts[m], n, memory_order_relaxed);
}

uint64_t lumen__trace_metric_get(lumen__trace_metric m)
{
    return atomic_load_explicit(&g_counts[m], memory_order_relaxed);
}
