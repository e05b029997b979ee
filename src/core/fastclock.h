/*
 * core/fastclock.h: the wall clock for hot paths (log line stamps, span
 * start and end), read from the CPU's time-stamp counter between anchors
 * taken with clock_gettime.
 *
 * Why: CLOCK_REALTIME costs 25-60 ns on this kind of machine, more than
 * formatting half a log line and a third of a sampled span's budget; rdtsc
 * costs a third of that. The TSC is used only where the kernel itself uses
 * it for CLOCK_REALTIME (its clocksource is "tsc", which it picks only for
 * an invariant counter synchronised across CPUs) and the CPU says it is
 * constant and nonstop; everywhere else every call reads clock_gettime.
 *
 * Invariants:
 * - Each thread keeps its own anchor (a TSC value and the CLOCK_REALTIME
 *   read beside it) and re-anchors when it is 10 ms old, so NTP slewing
 *   (at most 500 ppm) moves a stamp by at most 5 us and a clock step is
 *   followed within 10 ms.
 * - The tick rate is measured against CLOCK_MONOTONIC_RAW from a sample
 *   taken at the first use, over an ever longer baseline; until 20 ms have
 *   passed there is no rate and every call reads the clock.
 * - A thread's readings never go backwards by less than 1 ms (a re-anchor
 *   after an extrapolation that ran ahead); a larger step back is a real
 *   clock change and is followed.
 */
#ifndef LUMEN_CORE_FASTCLOCK_H
#define LUMEN_CORE_FASTCLOCK_H

#include "core/clock.h"
#include "core/common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define LUMEN__HAVE_TSC 1

/* The rate's fixed-point arithmetic needs 96 bits. __int128 is a GNU
 * extension that every x86-64 compiler lumen supports has; __extension__
 * keeps -Wpedantic quiet about it. */
__extension__ typedef unsigned __int128 lumen__u128;

typedef struct lumen__fclock {
    uint64_t tsc0; /* 0: not anchored */
    int64_t ns0;
    int64_t last; /* the thread's last reading */
} lumen__fclock;

extern LUMEN_TLS lumen__fclock lumen__fclock_tls;
/* ns per tick in 32.32 fixed point; 0 while the TSC is not usable. */
extern _Atomic uint64_t lumen__fclock_mult;
/* Ticks an anchor stays valid (about 10 ms). */
extern _Atomic uint64_t lumen__fclock_window;

int64_t lumen__fclock_slow(void);

static inline int64_t lumen__now_fast(void)
{
    lumen__fclock *c = &lumen__fclock_tls;
    uint64_t m = atomic_load_explicit(&lumen__fclock_mult, memory_order_relaxed);
    uint64_t d = __rdtsc() - c->tsc0;
    /* d below the window (about 3e7 ticks at 3 GHz) and m below 2^39 keep
     * the product within 64 bits. */
    if (LUMEN_LIKELY(m != 0 && c->tsc0 != 0 &&
                     d < atomic_load_explicit(&lumen__fclock_window, memory_order_relaxed))) {
        int64_t ns = c->ns0 + (int64_t)((d * m) >> 32);
        if (LUMEN_UNLIKELY(ns < c->last))
            ns = c->last;
        c->last = ns;
        return ns;
    }
    return lumen__fclock_slow();
}
#else
static inline int64_t lumen__now_fast(void)
{
    return lumen__wall_ns();
}
#endif

/* An interval on one machine (a request's duration): a stamp is the TSC
 * when the wall clock above reads it (an invariant counter synchronised
 * across CPUs, a rate measured against CLOCK_MONOTONIC_RAW), else a
 * CLOCK_MONOTONIC reading; neither moves with a step of the wall clock.
 * One counter read per end instead of a vDSO call. */
typedef struct lumen__stamp {
    uint64_t tsc; /* 0: mono holds the stamp */
    int64_t mono;
} lumen__stamp;

static inline lumen__stamp lumen__stamp_now(void)
{
    lumen__stamp s = {0, 0};
#ifdef LUMEN__HAVE_TSC
    if (LUMEN_LIKELY(atomic_load_explicit(&lumen__fclock_mult, memory_order_relaxed) != 0)) {
        s.tsc = __rdtsc();
        if (LUMEN_LIKELY(s.tsc != 0))
            return s;
    }
#endif
    s.mono = lumen__mono_ns();
    return s;
}

/* Nanoseconds since `s`, never negative. */
static inline int64_t lumen__stamp_elapsed(lumen__stamp s)
{
#ifdef LUMEN__HAVE_TSC
    if (s.tsc != 0) {
        uint64_t m = atomic_load_explicit(&lumen__fclock_mult, memory_order_relaxed);
        int64_t d = (int64_t)(__rdtsc() - s.tsc);
        if (d <= 0)
            return 0;
        lumen__u128 ns = ((lumen__u128)(uint64_t)d * m) >> 32;
        return ns > (lumen__u128)INT64_MAX ? INT64_MAX : (int64_t)ns;
    }
#endif
    int64_t d = lumen__mono_ns() - s.mono;
    return d > 0 ? d : 0;
}

/* True once readings come from the TSC (tests). */
bool lumen__fclock_tsc_in_use(void);

#endif
