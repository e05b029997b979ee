/*
 * tests/support/wallclock.h: step the wall clock that lumen sees, without
 * touching the machine's clock. Include it in exactly one file of a test
 * program linked with the static libraries: it defines clock_gettime,
 * which then takes the place of libc's for every call lumen makes, and
 * adds an offset to CLOCK_REALTIME (and its coarse variant).
 *
 * What that models: the kernel's own timed waits still run on the real
 * clock, so code that computes a deadline from the wall clock and then
 * waits for it behaves exactly as if the wall clock had stepped by the
 * offset between the two: a negative offset ends the wait at once (a
 * forward step), a positive one stretches it by the offset (a backward
 * step). Code that keeps every deadline on CLOCK_MONOTONIC cannot tell.
 * lt_wall_check() proves that the interposition is in effect, so that a
 * test cannot pass only because nothing was stepped.
 */
#ifndef LUMEN_TEST_WALLCLOCK_H
#define LUMEN_TEST_WALLCLOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int64_t lt_wall_offset_ns;

int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (syscall(SYS_clock_gettime, id, ts) != 0)
        return -1;
    int64_t off = atomic_load_explicit(&lt_wall_offset_ns, memory_order_relaxed);
    if (off != 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + off;
        ts->tv_sec = (time_t)(ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
        if (ts->tv_nsec < 0) {
            ts->tv_nsec += 1000000000;
            ts->tv_sec--;
        }
    }
    return 0;
}

/* Add `ns` to the wall clock lumen sees from now on (see above for what
 * each sign models). */
static inline void lt_wall_step(int64_t ns)
{
    atomic_fetch_add(&lt_wall_offset_ns, ns);
}

static inline void lt_wall_reset(void)
{
    atomic_store(&lt_wall_offset_ns, 0);
}

/* The real wall clock, not stepped. */
static inline int64_t lt_real_wall_ns(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* True when lumen's clock reads go through this file (checked with the
 * public lumen_now_ns). */
static inline int lt_wall_check(void)
{
    lt_wall_step(3600LL * 1000000000);
    int64_t seen = lumen_now_ns() - lt_real_wall_ns();
    lt_wall_step(-3600LL * 1000000000);
    return seen > 3500LL * 1000000000 && seen < 3700LL * 1000000000;
}

static inline int64_t lt_mono_ms(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
