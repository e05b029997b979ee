/*
 * trace/processor.h: a span processor as the provider holds it: the
 * entries each kind fills in (simple.c, batch.c), behind the generic
 * lumen_span_processor_* functions (processor.c).
 */
#ifndef LUMEN_TRACE_PROCESSOR_H
#define LUMEN_TRACE_PROCESSOR_H

#include "core/clock.h"
#include "core/common.h"
#include "lumen/trace.h"

struct lumen_span_processor {
    /* Takes one reference to `s` (an ended, recording span). */
    void (*on_end)(lumen_span_processor *p, lumen_span *s);
    int (*force_flush)(lumen_span_processor *p, int64_t deadline_ns);
    int (*shutdown)(lumen_span_processor *p, int64_t deadline_ns);
    void (*destroy)(lumen_span_processor *p);
    void (*stats)(lumen_span_processor *p, lumen_span_processor_stats *out);
    /* What lumen_span_processor_force_flush(p, 0) waits at most: the
     * processor's export timeout. */
    uint32_t export_timeout_ms;
};

/* batch.c: whether a batch processor's worker sleeps waiting for spans
 * (tests use it instead of sleeping themselves). */
bool lumen__batch_worker_asleep(lumen_span_processor *p);

/* The absolute deadline on the monotonic clock (lumen__mono_ns,
 * lumen_monotonic_ns) of a `timeout_ms` argument: 0 takes `def_ms`,
 * LUMEN_WAIT_FOREVER gives 0, no deadline. Every deadline of the trace
 * layer is on that clock. */
static inline int64_t lumen__deadline(uint32_t timeout_ms, uint32_t def_ms)
{
    if (timeout_ms == 0)
        timeout_ms = def_ms;
    return timeout_ms == LUMEN_WAIT_FOREVER || timeout_ms == 0
               ? 0
               : lumen__mono_ns() + (int64_t)timeout_ms * 1000000;
}

#endif
