/* core/fastclock.c: detection, calibration and anchoring (fastclock.h). */
#include "core/fastclock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef LUMEN__HAVE_TSC
#define REANCHOR_NS 10000000LL
#define CALIBRATE_AFTER_NS 20000000LL

LUMEN_TLS lumen__fclock lumen__fclock_tls;
_Atomic uint64_t lumen__fclock_mult;
_Atomic uint64_t lumen__fclock_window;

static bool g_tsc_ok;      /* written once, before g_once completes */
static uint64_t g_cal_tsc; /* the calibration sample */
static int64_t g_cal_raw;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int64_t raw_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool cpu_flags_invariant(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL)
        return false;
    char line[4096];
    bool ok = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            ok = strstr(line, " constant_tsc") != NULL && strstr(line, " nonstop_tsc") != NULL;
            break;
        }
    }
    fclose(f);
    return ok;
}

static bool kernel_uses_tsc(void)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (f == NULL)
        return false;
    char line[32];
    bool ok = fgets(line, sizeof line, f) != NULL && strcmp(line, "tsc\n") == 0;
    fclose(f);
    return ok;
}

static void detect(void)
{
    if (!kernel_uses_tsc() || !cpu_flags_invariant())
        return;
    g_cal_raw = raw_ns();
    g_cal_tsc = __rdtsc();
    g_tsc_ok = true;
}

int64_t lumen__fclock_slow(void)
{
    pthread_once(&g_once, detect);
    lumen__fclock *c = &lumen__fclock_tls;
    int64_t ns = lumen__wall_ns();
    if (g_tsc_ok) {
        uint64_t tsc = __rdtsc();
        int64_t raw = raw_ns() - g_cal_raw;
        uint64_t ticks = tsc - g_cal_tsc;
        if (raw >= CALIBRATE_AFTER_NS && ticks > 0) {
            /* Refine the rate over the whole baseline since the sample:
             * the longer it is, the smaller the error of each clock read. */
            uint64_t mult = (uint64_t)(((lumen__u128)raw << 32) / ticks);
            /* 10 MHz .. 100 GHz: anything else is not a TSC to trust. */
            if (mult > (1ull << 32) / 100 && mult < (100ull << 32)) {
                atomic_store_explicit(&lumen__fclock_window,
                                      (uint64_t)(((lumen__u128)REANCHOR_NS << 32) / mult),
                                      memory_order_relaxed);
                atomic_store_explicit(&lumen__fclock_mult, mult, memory_order_relaxed);
            }
        }
        c->tsc0 = tsc;
        c->ns0 = ns;
    }
    if (ns < c->last && c->last - ns < 1000000)
        ns = c->last;
    c->last = ns;
    return ns;
}

bool lumen__fclock_tsc_in_use(void)
{
    return atomic_load_explicit(&lumen__fclock_mult, memory_order_relaxed) != 0;
}
#else
bool lumen__fclock_tsc_in_use(void)
{
    return false;
}
#endif
