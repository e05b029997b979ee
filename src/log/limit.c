/*
 * log/limit.c: call-site rate limiting (every Nth, first N, at most once
 * per interval). The state is a static lumen_log_limit at each call site,
 * opaque storage in the header that this file alone lays out, updated with
 * relaxed atomics: no lock, and a suppressed count that the next emitted
 * line reports.
 */
#include "core/common.h"

#include "core/clock.h"
#include "lumen/log.h"

/* The layout behind lumen_log_limit's opaque words (one word spare). */
typedef struct limit_state {
    uint64_t count;      /* calls seen (lossy under contention, by design) */
    uint64_t suppressed; /* calls dropped since the last emitted one */
    int64_t next_ns;     /* EVERY_MS: monotonic time of the next allowed line */
} limit_state;

_Static_assert(sizeof(limit_state) <= sizeof(lumen_log_limit), "limit state fits its storage");
_Static_assert(_Alignof(limit_state) <= _Alignof(lumen_log_limit), "limit state alignment");

bool lumen_log_limit_check(uint64_t *out_suppressed, lumen_log_limit *storage,
                           lumen_log_limit_kind kind, uint64_t arg)
{
    if (storage == NULL)
        return false;
    limit_state *lim = (limit_state *)(void *)storage->opaque_;
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
        return false;
    }
    uint64_t s = __atomic_exchange_n(&lim->suppressed, 0, __ATOMIC_RELAXED);
    if (out_suppressed != NULL)
        *out_suppressed = s;
    return true;
}
