/*
 * log/wallclock.c: the wall-clock time stamped on log lines, read from the
 * CPU's time-stamp counter between anchors taken with clock_gettime.
 *
 * Why: CLOCK_REALTIME costs 25-60 ns here (more than formatting half a
 * line); rdtsc costs a third of that. The kernel itself reads the TSC for
 * CLOCK_REALTIME when its clocksource is "tsc" (invariant and synchronised
 * across CPUs), so only then is the TSC used; otherwise every line calls
 * clock_gettime.
 *
 * Invariants:
 * - Each thread keeps its own anchor (a TSC value and the CLOCK_REALTIME
 *   read next to it) and re-anchors when it is 10 ms old, so NTP slewing
 *   (at most 500 ppm) moves a stamp by at most 5 us, and a clock step is
 *   picked up within 10 ms.
 * - The tick rate is measured against CLOCK_MONOTONIC_RAW (no slewing, no
 *   steps) from a sample taken at start-up, so it only gets more precise;
 *   until 20 ms have passed there is no rate and every call reads the
 *   clock.
 * - A thread's stamps never go backwards by less than 1 ms (a re-anchor
 *   after an extrapolation that ran ahead); a larger step back is a real
 *   clock change and is followed.
 */
#include "log/log_int.h"

#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/clock.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <x86intrin.h>
#  define HAVE_TSC 1
#endif

#define REANCHOR_NS 10000000LL
#define CALIBRATE_AFTER_NS 20000000LL

static _Atomic int tsc_ok;            /* 1: the kernel's clocksource is the TSC */
static int64_t cal_ns0;               /* MONOTONIC_RAW at the calibration sample */
static uint64_t cal_tsc0;
static _Atomic uint64_t mult;         /* ns per tick, 32.32 fixed point; 0: unknown */
static _Atomic uint64_t reanchor_ticks;

static LUMEN_TLS uint64_t t_tsc0;
static LUMEN_TLS int64_t t_ns0;
static LUMEN_TLS int64_t t_last;

static int64_t raw_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void lumen__log_clock_init(void)
{
#ifdef HAVE_TSC
    char buf[16] = {0};
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 3 || memcmp(buf, "tsc", 3) != 0 || (n > 3 && buf[3] != '\n'))
        return;
    cal_ns0 = raw_ns();
    cal_tsc0 = __rdtsc();
    atomic_store_explicit(&tsc_ok, 1, memory_order_release);
#endif
}

static inline int64_t clamp(int64_t ns)
{
    if (ns < t_last && t_last - ns < 1000000)
        ns = t_last;
    t_last = ns;
    return ns;
}

#ifdef HAVE_TSC
static int64_t reanchor(void)
{
    int64_t ns = lumen__wall_ns();
    uint64_t tsc = __rdtsc();
    t_ns0 = ns;
    t_tsc0 = tsc;
    /* Refine the rate against the start-up sample: the longer the
     * baseline, the smaller the error of either clock read. */
    int64_t raw = raw_ns() - cal_ns0;
    uint64_t ticks = tsc - cal_tsc0;
    if (raw >= CALIBRATE_AFTER_NS && ticks > 0) {
        double per_tick = (double)raw / (double)ticks;
        if (per_tick > 0.01 && per_tick < 100.0) { /* 10 MHz .. 100 GHz: sane */
            atomic_store_explicit(&mult, (uint64_t)(per_tick * 4294967296.0),
                                  memory_order_relaxed);
            atomic_store_explicit(&reanchor_ticks, (uint64_t)(REANCHOR_NS / per_tick),
                                  memory_order_relaxed);
        }
    }
    return clamp(ns);
}
#endif

int64_t lumen__log_now(void)
{
#ifdef HAVE_TSC
    if (LUMEN_LIKELY(atomic_load_explicit(&tsc_ok, memory_order_relaxed))) {
        uint64_t m = atomic_load_explicit(&mult, memory_order_relaxed);
        uint64_t d = __rdtsc() - t_tsc0;
        /* d < reanchor_ticks (about 3e7 at 3 GHz) and m < 2^39 keep the
         * product below 2^64. */
        if (LUMEN_UNLIKELY(m == 0 || t_tsc0 == 0 ||
                           d >= atomic_load_explicit(&reanchor_ticks, memory_order_relaxed)))
            return reanchor();
        return clamp(t_ns0 + (int64_t)((d * m) >> 32));
    }
#endif
    return clamp(lumen__wall_ns());
}
