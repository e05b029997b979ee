/* core/clock.h: wall and monotonic clocks in nanoseconds. */
#ifndef LUMEN_CORE_CLOCK_H
#define LUMEN_CORE_CLOCK_H

#include "core/common.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lumen__wall_ns(void);
/* Nanoseconds on a clock that never goes back (CLOCK_MONOTONIC). Every
 * timeout and deadline in lumen is on this clock, so that a step of the
 * wall clock (NTP, an operator) neither ends a wait at once nor makes it
 * last for hours. */
int64_t lumen__mono_ns(void);
/* Wait on any condition variable until the CLOCK_MONOTONIC time
 * `mono_ns` (pthread_cond_clockwait, so no special initialisation is
 * needed); returns its code (ETIMEDOUT when the time has come). */
int lumen__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t mono_ns);
/* Format `ns` since the epoch as RFC 3339 UTC with microseconds
 * ("2026-11-23T13:35:19.123456Z") and a NUL; out needs 28 bytes. Returns
 * 27. Async-signal-safe, no lock. Years outside 0..9999 print as 0000. */
size_t lumen__rfc3339_us_safe(char *out, int64_t ns);

/* Not for direct use: the calling thread's text of the current second,
 * behind the inline lumen__rfc3339_us (every log line calls it). */
typedef struct lumen__rfc3339_cache {
    int64_t start; /* ns of the first instant of `text`'s second; INT64_MIN: none */
    char text[24]; /* "YYYY-MM-DDTHH:MM:SS" and 5 bytes that do not count */
} lumen__rfc3339_cache;
extern LUMEN_TLS lumen__rfc3339_cache lumen__rfc3339_tls;
/* Fills the cache for a new second and writes the whole text. */
size_t lumen__rfc3339_us_refill(char *out, int64_t ns);

/* lumen__rfc3339_us_safe's text, from a per-thread cache of the current
 * second's part: a copy and the six digits of the microseconds (the
 * offset into the cached second, so no 64-bit division either). */
static inline size_t lumen__rfc3339_us(char *out, int64_t ns)
{
    lumen__rfc3339_cache *c = &lumen__rfc3339_tls;
    /* Unsigned: a time before the cached second is out of range too. */
    uint64_t frac = (uint64_t)ns - (uint64_t)c->start;
    if (LUMEN_UNLIKELY(frac >= 1000000000 || c->start == INT64_MIN))
        return lumen__rfc3339_us_refill(out, ns);
    memcpy(out, c->text, sizeof c->text);
    uint32_t us = (uint32_t)frac / 1000;
    out[19] = '.';
    memcpy(out + 20, lumen__digits2 + 2 * (us / 10000), 2);
    memcpy(out + 22, lumen__digits2 + 2 * (us / 100 % 100), 2);
    memcpy(out + 24, lumen__digits2 + 2 * (us % 100), 2);
    out[26] = 'Z';
    out[27] = '\0';
    return 27;
}

#endif
