/*
 * core/diag.h: lumen's own diagnostics.
 *
 * With a hook installed (lumen_set_diag_hook) every message at or above
 * its level goes to the hook. Without one, lumen is quiet about routine
 * trouble (which the self-metrics count) and writes to standard error
 * only what an operator must hear, the "notices": an invalid setting
 * (core/env.h reports each once, with its value and the default used) and
 * data lost at shutdown. OTEL_LOG_LEVEL changes that default, as in the
 * OpenTelemetry SDKs: "none" silences it, "error", "warn", "info" or
 * "debug" write every message at that level and above.
 *
 * Each call site has its own budget (a token bucket: a burst of 10, then
 * one message per 200 ms), so a failing hot path is throttled without
 * silencing the other sites. The level is checked before anything is
 * formatted. Messages over budget are counted per site: the site's next
 * message says how many of its own were suppressed.
 *
 * The hook, the budgets and the set of invalid settings already reported
 * are process-wide state that liblumen-http shares: the functions here are
 * LUMEN__INTERNAL (exported at LUMEN_INTERNAL_1, see core/common.h).
 */
#ifndef LUMEN_CORE_DIAG_H
#define LUMEN_CORE_DIAG_H

#include "core/common.h"

/* One call site's budget. Zero-initialised (static storage). */
typedef struct lumen__diag_site {
    atomic_int_fast64_t next_ms;     /* monotonic ms at which the next token is free */
    atomic_uint_fast64_t suppressed; /* this site's messages dropped since its last one */
} lumen__diag_site;

enum {
    LUMEN__DIAG_NOTICE = 1u << 0,   /* to standard error too when no hook is installed */
    LUMEN__DIAG_UNLIMITED = 1u << 1 /* bypass the site budget (the caller bounds the count) */
};

/* Shared: reads the hook liblumen's lumen_set_diag_hook installs, and
 * OTEL_LOG_LEVEL once for the process. */
LUMEN__INTERNAL void lumen__diag_at(lumen__diag_site *site, unsigned flags, lumen_diag_level level,
                                    const char *fmt, ...) LUMEN_PRINTF(4, 5);

/* A diagnostic with its own per-site budget. A GNU statement expression,
 * so that each expansion owns one static site (__extension__: -Wpedantic
 * knows it is deliberate). */
#define lumen__diag(level, ...)                                                                    \
    __extension__({                                                                                \
        static lumen__diag_site lumen__site_;                                                      \
        lumen__diag_at(&lumen__site_, 0, (level), __VA_ARGS__);                                    \
    })

/* A notice: also written to standard error when no hook is installed. */
#define lumen__diag_notice(level, ...)                                                             \
    __extension__({                                                                                \
        static lumen__diag_site lumen__site_;                                                      \
        lumen__diag_at(&lumen__site_, LUMEN__DIAG_NOTICE, (level), __VA_ARGS__);                   \
    })

/* True when a (non-notice) message at `level` would be delivered.
 * Shared: reads the same hook as lumen__diag_at. */
LUMEN__INTERNAL bool lumen__diag_enabled(lumen_diag_level level);

/* Report that setting `name` holds the invalid `value`: `fmt` says what
 * was expected and what is used instead ("unknown sampler; using
 * parentbased_always_on"). Each name=value pair is reported once per
 * process; the value is shown escaped and cut at 100 bytes. Thread-safe.
 * Shared: the set of pairs already reported is one for the process, so
 * that a variable both libraries read is reported once (core/env.h's
 * readers, in either library, report through it). */
LUMEN__INTERNAL void lumen__env_invalid(const char *name, const char *value, const char *fmt, ...)
    LUMEN_PRINTF(3, 4);

#endif
