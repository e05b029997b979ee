/*
 * core/clock.c: clocks and the RFC 3339 timestamp. The date and time are
 * computed with integer calendar arithmetic (no gmtime_r, which takes
 * glibc's time-zone lock and so cannot run in a signal handler), and the
 * hot path keeps a per-thread copy of the current second's part.
 */
#include "core/clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int64_t lumen__wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lumen__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lumen_now_ns(void)
{
    return lumen__wall_ns();
}

int64_t lumen_monotonic_ns(void)
{
    return lumen__mono_ns();
}

int lumen__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t mono_ns)
{
    if (mono_ns < 0)
        mono_ns = 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
    struct timespec ts = {(time_t)(mono_ns / 1000000000), (long)(mono_ns % 1000000000)};
    return pthread_cond_clockwait(cv, mu, CLOCK_MONOTONIC, &ts);
#else
    /* Without pthread_cond_clockwait (musl, older glibc), a wall-clock
     * wait of at most 100 ms at a time: ETIMEDOUT only once the monotonic
     * deadline has passed, else a return as from a spurious wakeup (which
     * every caller handles), so that a step of the wall clock shortens
     * nothing and lengthens a wait by 100 ms at most. */
    int64_t left = mono_ns - lumen__mono_ns();
    if (left > 100000000)
        left = 100000000;
    int64_t wall = lumen__wall_ns() + (left > 0 ? left : 0);
    struct timespec ts = {(time_t)(wall / 1000000000), (long)(wall % 1000000000)};
    int rc = pthread_cond_timedwait(cv, mu, &ts);
    if (rc == ETIMEDOUT && lumen__mono_ns() < mono_ns)
        rc = 0;
    return rc;
#endif
}

/* ".uuuuuuZ" and a NUL from the nanoseconds within the second. */
static void put_frac(char *o, int64_t frac)
{
    unsigned us = (unsigned)(frac / 1000);
    unsigned hi = us / 10000, mid = us / 100 % 100, lo = us % 100;
    o[0] = '.';
    memcpy(o + 1, lumen__digits2 + 2 * hi, 2);
    memcpy(o + 3, lumen__digits2 + 2 * mid, 2);
    memcpy(o + 5, lumen__digits2 + 2 * lo, 2);
    o[7] = 'Z';
    o[8] = '\0';
}

static void put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

size_t lumen__rfc3339_us_safe(char *out, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* Days since 1970-01-01 to a proleptic Gregorian date (the
     * era/day-of-era method). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = 0;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, (int)(rem / 3600));
    out[13] = ':';
    put2(out + 14, (int)(rem / 60 % 60));
    out[16] = ':';
    put2(out + 17, (int)(rem % 60));
    put_frac(out + 19, frac);
    return 27;
}

LUMEN_TLS lumen__rfc3339_cache lumen__rfc3339_tls = {INT64_MIN, {0}};

size_t lumen__rfc3339_us_refill(char *out, int64_t ns)
{
    int64_t sec = ns / 1000000000;
    if (ns % 1000000000 < 0)
        sec--;
    lumen__rfc3339_us_safe(out, ns);
    memcpy(lumen__rfc3339_tls.text, out, 19);
    /* The second's first instant; a second too far from the epoch for
     * nanoseconds stays uncached (every call comes here). */
    lumen__rfc3339_tls.start =
        sec > INT64_MIN / 1000000000 && sec < INT64_MAX / 1000000000 ? sec * 1000000000 : INT64_MIN;
    return 27;
}
