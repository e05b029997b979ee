/* core/clock.h: wall and monotonic clocks in nanoseconds. */
#ifndef LUMEN_CORE_CLOCK_H
#define LUMEN_CORE_CLOCK_H

#include "core/common.h"

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
LUMEN__SHARED int64_t lumen__wall_ns(void);
/* Nanoseconds on a clock that never goes back (CLOCK_MONOTONIC). */
LUMEN__SHARED int64_t lumen__mono_ns(void);
/* Format `ns` since the epoch as RFC 3339 UTC with microseconds
 * ("2026-11-23T13:35:19.123456Z"); out needs 28 bytes. Returns 27. Keeps
 * the current second's text in a per-thread cache. */
size_t lumen__rfc3339_us(char *out, int64_t ns);
/* The same without the cache or any lock: async-signal-safe. Years
 * outside 0..9999 print as 0000. */
size_t lumen__rfc3339_us_safe(char *out, int64_t ns);

#endif
