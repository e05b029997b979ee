/*
 * log/limit.c: call-site rate limiting (every Nth, first N, at most once
 * per interval). The state is a static struct at each call site, updated
 * with relaxed atomics: no lock, and a suppressed count that the next
 * emitted line reports.
 */
#include "log/log_int.h"

#include "core/clock.h"

int lumen_log_limit_check(lumen_log_limit *lim, int kind, uint64_t arg, uint64_t *suppressed)
{
    if (lim == NULL)
        return 0;
    uint64_t c = __atomic_fetch_add(&lim->count, 1, __ATOMIC_RELAXED);
    bool emit;
    switch (kind) {
    case LUMEN_LOG_LIMIT_EVERY_N:
        emit = arg <= 1 || c % arg == 0;
        break;
    case LUMEN_LOG_LIMIT_FIRST_N:
        emit = c < arg;
        break;
    case LUMEN_LOG_LIMIT_EVERY_MS: {
        int64_t now = lumen__mono_ns();
        int64_t next = __atomic_load_n(&lim->next_ns, __ATOMIC_RELAXED);
        /* One thread wins the interval; the others count as suppressed. */
        emit = now >= next &&
               __atomic_compare_exchange_n(&lim->next_ns, &next, now + (int64_t)arg * 1000000,
                                           false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        break;
    }
    default:
        emit = true;
        break;
    }
    if (!emit) {
        __atomic_fetch_add(&lim->suppressed, 1, __ATOMIC_RELAXED);
        return 0;
    }
    uint64_t s = __atomic_exchange_n(&lim->suppressed, 0, __ATOMIC_RELAXED);
    if (suppressed != NULL)
        *suppressed = s;
    return 1;
}
