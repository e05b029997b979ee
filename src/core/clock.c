/*
 * core/clock.c: clocks and the RFC 3339 timestamp. The timestamp is built
 * from a per-thread cache of the last second's date part, because
 * gmtime_r costs more than formatting the rest of a log line.
 */
#include "core/clock.h"

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

static LUMEN_TLS int64_t cached_sec = -1;
static LUMEN_TLS char cached_prefix[20]; /* "YYYY-MM-DDTHH:MM:SS" */

size_t lumen__rfc3339_us(char *out, int64_t ns)
{
    int64_t sec = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(cached_prefix, sizeof cached_prefix, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = sec;
    }
    memcpy(out, cached_prefix, 19);
    out[19] = '.';
    int32_t us = (int32_t)(frac / 1000);
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
    return 27;
}
