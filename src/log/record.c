/*
 * log/record.c: the path of one record (lumen_log_write): level check,
 * stamping (time, trace context, request id), formatting once per handler
 * (straight into the thread's batch, or into its scratch buffer) and
 * delivery to the handler's queue, callback, batch or sink.
 *
 * Invariant: the hot path takes no lock of its own (a sync handler's batch
 * takes its thread's own, uncontended lock) and allocates only when the
 * thread's scratch buffer must grow for an unusually long line.
 */
#include <string.h>

#include "core/diag.h"
#include "core/fastclock.h"
#include "log/async.h"
#include "log/batch.h"
#include "log/formatter.h"
#include "log/otel.h"
#include "log/selfmetrics.h"
#include "log/sink.h"
#include "log/state.h"
#include "log/types.h"

/* A formatted line to the handler's queue, callback, batch or sink. Out of
 * line, as it was when it sat in another file: the common case (a line
 * formatted straight into the batch) never comes here, and lumen_log_write
 * stays as small as it was. */
static __attribute__((noinline)) void deliver(lumen_log_handler *h, int level, const char *line,
                                              size_t n)
{
    bool shut = atomic_load_explicit(&lumen__log_shut, memory_order_relaxed);
    if (h->async != NULL && !shut) {
        lumen__log_async_put(h->async, level, line, n);
    } else if (h->sink->cb != NULL) {
        h->sink->cb((lumen_log_level)level, line, n, h->sink->cb_ud);
    } else if (h->batch && !shut) {
        lumen__log_batch_add(h, level, line, n);
    } else if (!lumen__log_sink_write(h->sink, line, n)) {
        lumen__log_count_drop(1);
    }
}

/* Round an arbitrary severity number down to its named level. */
static int canonical_level(int level)
{
    if (level < LUMEN_LOG_TRACE)
        return LUMEN_LOG_TRACE;
    if (level >= LUMEN_LOG_FATAL)
        return LUMEN_LOG_FATAL;
    return ((level - 1) / 4) * 4 + 1;
}

/* The key of the pid field, compared by address: a record that starts
 * with it is stamped already. Records of more fields than the macros take
 * (LUMEN_LOG_MAX_FIELDS) go unstamped. */
static const char k_pid[] = "pid";

static __attribute__((noinline)) void write_stamped(lumen_logger *lg, lumen_log_level level,
                                                    const lumen_log_src *src, const char *msg,
                                                    const lumen_field *fields, size_t n,
                                                    uint64_t suppressed, int32_t pid)
{
    lumen_field f[LUMEN_LOG_MAX_FIELDS + 1];
    f[0] = lumen_field_int(k_pid, pid);
    if (n > 0)
        memcpy(f + 1, fields, n * sizeof *fields);
    lumen_log_write(lg, level, src, msg, f, n + 1, suppressed);
}

void lumen_log_write(lumen_logger *lg, lumen_log_level level, const lumen_log_src *src,
                     const char *msg, const lumen_field *fields, size_t n, uint64_t suppressed)
{
    if (lg == NULL || !LUMEN_LOG_ENABLED(lg, level))
        return;
    int lvl = canonical_level((int)level);
    lumen__log_hset *set = atomic_load_explicit(&lg->eff, memory_order_acquire);
    int eff = atomic_load_explicit(&lg->eff_level, memory_order_relaxed);
    if (set == NULL || lvl < eff)
        return;
    if (fields == NULL)
        n = 0;
    /* A process of a pre-forked family stamps its pid first on each line
     * (core/tctx.h); the stamped call comes back here with it. */
    int32_t pid = atomic_load_explicit(&lumen__tctx_pid, memory_order_relaxed);
    if (LUMEN_UNLIKELY(pid != 0) && n <= LUMEN_LOG_MAX_FIELDS &&
        (n == 0 || fields[0].key != k_pid)) {
        write_stamped(lg, level, src, msg, fields, n, suppressed, pid);
        return;
    }
    lumen__log_rec r;
    r.level = lvl;
    r.ts_ns = lumen__now_fast();
    r.lg = lg;
    r.src = src;
    r.msg = msg != NULL ? msg : "";
    r.msg_len = strlen(r.msg);
    r.f = fields;
    r.n = n;
    r.suppressed = suppressed;
    r.ctx = lumen__tctx_get();
    lumen__log_count_event(lvl);
    lumen__buf *b = NULL; /* the thread's scratch buffer, when a line needs it */
    for (size_t i = 0; i < set->n; i++) {
        lumen_log_handler *h = set->h[i];
        if (lvl < h->level)
            continue;
        if (h->otel != NULL) { /* a batch handler of records: no line */
            lumen__log_otel_put(h->otel, &r);
            continue;
        }
        /* The common case, a batched sync handler: format in place. */
        if (h->format_in_batch && !atomic_load_explicit(&lumen__log_shut, memory_order_relaxed) &&
            lumen__log_batch_format(h, &r))
            continue;
        if (b == NULL)
            b = lumen__log_scratch();
        b->len = 0;
        b->oom = false;
        lumen__log_format(h, &r, b);
        if (LUMEN_UNLIKELY(b->oom)) {
            lumen__log_count_drop(1);
            lumen__diag(LUMEN_DIAG_ERROR, "log: out of memory formatting a line; dropped");
            continue;
        }
        deliver(h, lvl, b->p, b->len);
    }
    /* A long line grew the scratch buffer: give the memory back. */
    if (LUMEN_UNLIKELY(b != NULL && b->cap > ((size_t)256 << 10)))
        lumen__buf_free(b);
    if (LUMEN_UNLIKELY(lvl >= LUMEN_LOG_FATAL))
        lumen_log_flush(0);
}
