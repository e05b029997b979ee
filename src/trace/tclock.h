/*
 * trace/tclock.h: the wall clock for span start and end times, read from
 * the CPU's time-stamp counter where it is invariant (constant_tsc and
 * nonstop_tsc, and the kernel's own clock source is "tsc", which it chooses
 * only when the counters are synchronised): clock_gettime costs 30-40 ns here, most of a sampled
 * span's budget, and a span reads the clock twice.
 *
 * Each thread anchors (TSC, CLOCK_REALTIME) pairs and converts TSC deltas
 * to nanoseconds with a global rate, measured against CLOCK_MONOTONIC over
 * an ever longer interval since the first use. A thread re-anchors every
 * ~10 ms of TSC time, so NTP adjustments of the wall clock are followed
 * and the rate's error never accumulates over more than that. Until the
 * rate has been measured over 20 ms, and on machines without an invariant
 * TSC, clock_gettime is used.
 */
#ifndef LUMEN_TRACE_TCLOCK_H
#define LUMEN_TRACE_TCLOCK_H

#include "core/clock.h"
#include "core/common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define LUMEN__HAVE_TSC 1

typedef struct lumen__tclock {
    uint64_t tsc0;
    int64_t ns0;
    uint64_t mult; /* ns per tick, 32.32 fixed point, copied at anchoring */
    uint64_t window; /* ticks before the next anchor; 0: not anchored */
} lumen__tclock;

extern LUMEN_TLS lumen__tclock lumen__tclock_tls;
extern atomic_bool lumen__tsc_usable;
int64_t lumen__tclock_anchor(lumen__tclock *c, uint64_t tsc);
int64_t lumen__tclock_slow(void);

static inline int64_t lumen__span_now(void)
{
    if (LUMEN_LIKELY(atomic_load_explicit(&lumen__tsc_usable, memory_order_relaxed))) {
        lumen__tclock *c = &lumen__tclock_tls;
        uint64_t t = __rdtsc();
        uint64_t d = t - c->tsc0;
        if (LUMEN_LIKELY(d < c->window))
            return c->ns0 + (int64_t)(((unsigned __int128)d * c->mult) >> 32);
        return lumen__tclock_anchor(c, t);
    }
    return lumen__tclock_slow();
}
#else
static inline int64_t lumen__span_now(void)
{
    return lumen__wall_ns();
}
#endif

/* Decide whether the TSC can be used (reads /proc/cpuinfo once). */
void lumen__tclock_init(void);

#endif
