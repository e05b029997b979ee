/* trace/tclock.c: calibration and anchoring of the span clock (tclock.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trace/tclock.h"

#ifdef LUMEN__HAVE_TSC
LUMEN_TLS lumen__tclock lumen__tclock_tls;
atomic_bool lumen__tsc_usable;
static bool g_invariant;
static atomic_bool g_calibrating;
static uint64_t g_tsc_a;  /* first anchor, set once before g_calibrating */
static int64_t g_mono_a;
static _Atomic uint64_t g_mult;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void detect(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            g_invariant = strstr(line, " constant_tsc") != NULL && strstr(line, " nonstop_tsc") != NULL;
            break;
        }
    }
    fclose(f);
    /* The kernel picks "tsc" as its clock source only when it found the
     * counters synchronised across CPUs; otherwise a thread moving between
     * CPUs could see time jump. */
    f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f == NULL) {
        g_invariant = false;
    } else {
        if (fgets(line, sizeof line, f) == NULL || strncmp(line, "tsc", 3) != 0)
            g_invariant = false;
        fclose(f);
    }
    if (g_invariant) {
        g_tsc_a = __rdtsc();
        g_mono_a = mono_ns();
        atomic_store(&g_calibrating, true);
    }
}

void lumen__tclock_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, detect);
}

int64_t lumen__tclock_anchor(lumen__tclock *c, uint64_t tsc)
{
    (void)tsc;
    int64_t wall = lumen__wall_ns();
    uint64_t t = __rdtsc();
    int64_t mono = mono_ns();
    int64_t elapsed = mono - g_mono_a;
    if (elapsed >= 20000000 && t > g_tsc_a) {
        /* Refine the rate over the whole time since the first anchor. */
        uint64_t mult = (uint64_t)(((unsigned __int128)elapsed << 32) / (t - g_tsc_a));
        atomic_store_explicit(&g_mult, mult, memory_order_relaxed);
        c->mult = mult;
        c->tsc0 = t;
        c->ns0 = wall;
        /* About 10 ms worth of ticks. */
        c->window = (uint64_t)(((unsigned __int128)10000000 << 32) / mult);
    } else {
        c->window = 0;
    }
    return wall;
}

/* Switch the TSC path on once calibration has had its 20 ms. Called from
 * span starts through the slow path only (lumen__span_now falls back to
 * the wall clock while lumen__tsc_usable is false). */
int64_t lumen__tclock_slow(void)
{
    int64_t now = lumen__wall_ns();
    if (atomic_load_explicit(&g_calibrating, memory_order_relaxed) && mono_ns() - g_mono_a >= 20000000)
        atomic_store_explicit(&lumen__tsc_usable, true, memory_order_relaxed);
    return now;
}
#else
void lumen__tclock_init(void)
{
}
#endif
