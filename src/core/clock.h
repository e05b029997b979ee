/* core/clock.h: wall and monotonic clocks in nanoseconds. */
#ifndef LUMEN_CORE_CLOCK_H
#define LUMEN_CORE_CLOCK_H

#include "core/common.h"

#include <pthread.h>
#include <time.h>

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
LUMEN__SHARED int64_t lumen__wall_ns(void);
/* Nanoseconds on a clock that never goes back (CLOCK_MONOTONIC). Every
 * timeout and deadline in lumen is on this clock, so that a step of the
 * wall clock (NTP, an operator) neither ends a wait at once nor makes it
 * last for hours. */
LUMEN__SHARED int64_t lumen__mono_ns(void);
/* Wait on any condition variable until the CLOCK_MONOTONIC time
 * `mono_ns` (pthread_cond_clockwait, so no special initialisation is
 * needed); returns its code (ETIMEDOUT when the time has come). */
LUMEN__SHARED int lumen__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t mono_ns);
/* Format `ns` since the epoch as RFC 3339 UTC with microseconds
 * ("2026-11-23T13:35:19.123456Z"); out needs 28 bytes. Returns 27. Keeps
 * the current second's text in a per-thread cache. */
size_t lumen__rfc3339_us(char *out, int64_t ns);
/* The same without the cache or any lock: async-signal-safe. Years
 * outside 0..9999 print as 0000. */
size_t lumen__rfc3339_us_safe(char *out, int64_t ns);

#endif
