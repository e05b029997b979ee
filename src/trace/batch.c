/*
 * trace/batch.c: the batch span processor.
 *
 * Ending threads put spans into a bounded multi-producer, single-consumer
 * ring (Dmitry Vyukov's bounded queue: a sequence number per slot, one
 * compare-and-swap on the enqueue position per span). A full ring drops
 * the span and counts it; nothing on that path blocks or allocates. One
 * worker thread takes batches out and calls the exporter, so exports never
 * overlap. It sleeps on a futex with the schedule delay as timeout;
 * producers wake it when the queue reaches a batch, with one syscall per
 * batch and only while it sleeps.
 *
 * Conservation: every sampled span handed to on_end is counted exactly once
 * as queued (then in flight, then exported or failed) or dropped, so
 * ended == exported + failed + dropped + queued + in_flight in every
 * snapshot, not only at quiet moments. No counter holds "ended" or "in
 * flight": ended is the enqueue position (spans accepted) plus the drops,
 * queued is enqueue minus dequeue position, and in flight is the dequeue
 * position minus the exported and failed spans. The worker publishes the
 * dequeue position (release) before it adds a batch to exported or failed
 * (release), and batch_stats reads in the opposite order (acquire), so in
 * flight is never negative and the sum is exact by construction.
 *
 * Time: every deadline is on the monotonic clock, and the condition
 * variable waits on it too, so a step of the wall clock neither ends a
 * flush at once nor stretches it.
 *
 * Budgets: one export takes at most the export timeout, and so does one
 * force-flush or shutdown as a whole: the batches it drains share one
 * budget, and those left when it runs out fail as timeouts without an
 * export, so that a dead collector costs a shutdown (or the program's
 * exit) the export timeout once, not once per batch.
 *
 * Exit: processors are kept on a list, and an atexit handler force-flushes
 * each live one (logs are flushed at exit the same way), so that a program
 * ending with exit() does not lose the spans still queued.
 *
 * After fork() the child has no worker thread, may have inherited a locked
 * mutex, and holds a copy of the parent's queue. The first span end (or
 * flush, shutdown, free) in the child notices the fork generation changed
 * and restarts the processor: fresh mutex and condition variable, the
 * inherited spans released without export (they are the parent's to send),
 * counters from zero, a new worker.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"
#include "trace/ids.h"
#include "trace/exporter.h"
#include "trace/pool.h"
#include "trace/processor.h"
#include "trace/selfmetrics.h"

typedef struct slot {
    atomic_size_t seq;
    lumen_span *span;
} slot;

typedef struct batch_proc {
    lumen_span_processor base;
    lumen_span_exporter *exp;
    slot *slots;
    size_t mask;
    uint32_t qmax, batch, delay_ms, timeout_ms;

    _Alignas(LUMEN_CACHELINE) atomic_size_t enq;
    _Alignas(LUMEN_CACHELINE) atomic_size_t deq_pub; /* consumer position, published */
    atomic_uint wake;                                /* futex word */
    atomic_bool sleeping;
    atomic_bool shut;
    atomic_uint_fast64_t dropped;

    _Alignas(LUMEN_CACHELINE) size_t deq; /* worker only */
    atomic_uint_fast64_t exported, failed;
    lumen_span **buf;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t flush_req, flush_done; /* under mu */
    atomic_bool flush_pending;
    int flush_rc;
    int64_t flush_deadline;
    bool stop, exited, thread_ok;
    pthread_t thread;
    atomic_uint generation; /* fork generation the worker belongs to */
    atomic_bool restarting;
    struct batch_proc *next_live, *prev_live; /* under g_live_mu */
} batch_proc;

/* Live processors, for the flush at exit. */
static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static batch_proc *g_live;
static pthread_once_t g_atexit_once = PTHREAD_ONCE_INIT;

static void *worker(void *arg);
static void after_fork(batch_proc *p);

static inline bool forked(batch_proc *p)
{
    return atomic_load_explicit(&p->generation, memory_order_relaxed) !=
           atomic_load_explicit(&lumen__idgen_generation, memory_order_relaxed);
}

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, (void *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void futex_wait(atomic_uint *w, unsigned seen, int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    syscall(SYS_futex, (void *)w, FUTEX_WAIT_PRIVATE, seen, ns > 0 ? &ts : NULL, NULL, 0);
}

static void wake_worker(batch_proc *p)
{
    atomic_fetch_add_explicit(&p->wake, 1, memory_order_release);
    if (atomic_load_explicit(&p->sleeping, memory_order_seq_cst))
        futex_wake(&p->wake);
}

static void drop(batch_proc *p, lumen_span *s)
{
    atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
    lumen__trace_metric_add(LUMEN__TM_DROPPED, 1);
    lumen__span_release(s);
}

static void batch_on_end(lumen_span_processor *bp, lumen_span *s)
{
    batch_proc *p = (batch_proc *)bp;
    if (!(s->flags & LUMEN_TRACE_FLAG_SAMPLED)) {
        lumen__span_release(s);
        return;
    }
    if (LUMEN_UNLIKELY(forked(p)))
        after_fork(p);
    if (LUMEN_UNLIKELY(atomic_load_explicit(&p->shut, memory_order_relaxed) ||
                       atomic_load_explicit(&p->restarting, memory_order_relaxed))) {
        drop(p, s);
        return;
    }
    size_t pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
    slot *sl;
    for (;;) {
        /* The configured size may be below the ring's power of two. */
        if (LUMEN_UNLIKELY(pos - atomic_load_explicit(&p->deq_pub, memory_order_relaxed) >=
                           p->qmax)) {
            drop(p, s);
            return;
        }
        sl = &p->slots[pos & p->mask];
        size_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&p->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            drop(p, s);
            return;
        } else {
            pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
        }
    }
    sl->span = s;
    atomic_store_explicit(&sl->seq, pos + 1, memory_order_release);
    /* Wake the worker only when it sleeps and a batch is ready: the common
     * case costs two loads of lines the worker rarely writes. The exchange
     * makes the wakeup one-shot: until the woken worker runs, which takes
     * tens of microseconds, every span ended meanwhile would otherwise see
     * it still asleep and make its own futex call (hundreds per batch).
     * futex_wait compares the counter, so a worker that has not gone to
     * sleep yet still sees the increment and does not miss the batch. */
    if (LUMEN_UNLIKELY(atomic_load_explicit(&p->sleeping, memory_order_relaxed)) &&
        pos + 1 - atomic_load_explicit(&p->deq_pub, memory_order_relaxed) >= p->batch &&
        atomic_exchange_explicit(&p->sleeping, false, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&p->wake, 1, memory_order_release);
        futex_wake(&p->wake);
    }
}

/* Take up to `max` spans. A slot claimed but not yet filled by a producer
 * (a few instructions away) is waited for when `through` says the caller
 * needs it. */
static size_t take(batch_proc *p, size_t max, size_t through)
{
    size_t n = 0;
    while (n < max) {
        slot *sl = &p->slots[p->deq & p->mask];
        size_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
        if (seq != p->deq + 1) {
            if (p->deq < through) {
                sched_yield();
                continue;
            }
            break;
        }
        p->buf[n++] = sl->span;
        atomic_store_explicit(&sl->seq, p->deq + p->mask + 1, memory_order_release);
        p->deq++;
    }
    /* Release: batch_stats, having read the exported and failed counts,
     * must see a dequeue position at least as far (see the top comment). */
    atomic_store_explicit(&p->deq_pub, p->deq, memory_order_release);
    return n;
}

/* Export the n spans in p->buf by `deadline` (monotonic ns, 0: none) and
 * within the export timeout. A drain whose budget has run out, or an
 * exporter already shut down (the shutdown deadline passed), fails the
 * batch as a timeout without calling the exporter. */
static int export_batch(batch_proc *p, size_t n, int64_t deadline)
{
    int64_t now = lumen__mono_ns();
    int64_t dl = p->timeout_ms ? now + (int64_t)p->timeout_ms * 1000000 : 0;
    if (deadline != 0 && (dl == 0 || deadline < dl))
        dl = deadline;
    bool cut = atomic_load_explicit(&p->exp->shut, memory_order_acquire) ||
               (deadline != 0 && now >= deadline);
    int r = cut ? LUMEN_ETIMEDOUT : lumen__exporter_export(p->exp, p->buf, n, dl);
    if (r == LUMEN_OK) {
        atomic_fetch_add_explicit(&p->exported, n, memory_order_release);
        lumen__trace_metric_add(LUMEN__TM_EXPORTED, n);
    } else {
        atomic_fetch_add_explicit(&p->failed, n, memory_order_release);
        lumen__trace_metric_add(LUMEN__TM_DROPPED, n);
        /* The exporter's status says why. A batch not exported because the
         * drain's budget ran out, or whose export failed after shutdown
         * shut the exporter down (the shutdown deadline passed), was cut
         * off: a timeout, whatever the exporter returned. */
        lumen__trace_metric_add(cut || atomic_load(&p->exp->shut) ? LUMEN__TM_FAIL_TIMEOUT
                                                                  : lumen__export_failure_reason(r),
                                1);
        lumen__diag(LUMEN_DIAG_WARN, "span export failed (%s): %zu spans lost",
                    lumen_status_name(r), n);
    }
    for (size_t i = 0; i < n; i++)
        lumen__span_release(p->buf[i]);
    return r == LUMEN_OK ? LUMEN_OK : LUMEN_EIO;
}

/* Export everything accepted up to `through` by `deadline`, the flush's
 * budget (flush_until). */
static int drain(batch_proc *p, size_t through, int64_t deadline)
{
    int rc = LUMEN_OK;
    while (p->deq < through) {
        size_t want = through - p->deq;
        size_t n = take(p, want < p->batch ? want : p->batch, through);
        if (n > 0 && export_batch(p, n, deadline) != LUMEN_OK)
            rc = LUMEN_EIO;
    }
    return rc;
}

static void *worker(void *arg)
{
    batch_proc *p = arg;
    int64_t next = lumen__mono_ns() + (int64_t)p->delay_ms * 1000000;
    for (;;) {
        if (atomic_load_explicit(&p->flush_pending, memory_order_acquire)) {
            pthread_mutex_lock(&p->mu);
            uint64_t req = p->flush_req;
            int64_t dl = p->flush_deadline;
            atomic_store(&p->flush_pending, false);
            pthread_mutex_unlock(&p->mu);
            size_t through = atomic_load_explicit(&p->enq, memory_order_acquire);
            int rc = drain(p, through, dl);
            int fr = lumen__exporter_flush(p->exp, dl);
            pthread_mutex_lock(&p->mu);
            p->flush_done = req;
            p->flush_rc = rc != LUMEN_OK ? rc : fr;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            next = lumen__mono_ns() + (int64_t)p->delay_ms * 1000000;
            continue;
        }
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        size_t enq = atomic_load_explicit(&p->enq, memory_order_acquire);
        int64_t now = lumen__mono_ns();
        if (enq - p->deq >= p->batch || (now >= next && enq != p->deq)) {
            size_t n = take(p, p->batch, 0);
            if (n > 0)
                export_batch(p, n, 0);
            if (now >= next)
                next = now + (int64_t)p->delay_ms * 1000000;
            continue;
        }
        if (now >= next)
            next = now + (int64_t)p->delay_ms * 1000000;
        unsigned seen = atomic_load_explicit(&p->wake, memory_order_acquire);
        atomic_store_explicit(&p->sleeping, true, memory_order_seq_cst);
        /* Re-check after announcing sleep, so a producer that saw us awake
         * cannot have its wakeup lost. */
        enq = atomic_load_explicit(&p->enq, memory_order_seq_cst);
        if (enq - p->deq < p->batch && !atomic_load(&p->flush_pending))
            futex_wait(&p->wake, seen, next - now);
        atomic_store_explicit(&p->sleeping, false, memory_order_relaxed);
    }
    pthread_mutex_lock(&p->mu);
    p->exited = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Wait on the condition variable until `done` or the deadline (monotonic
 * ns, waited for on that clock). */
static bool wait_until(batch_proc *p, bool (*done)(batch_proc *, uint64_t), uint64_t arg,
                       int64_t dl)
{
    while (!done(p, arg)) {
        if (dl == 0) {
            pthread_cond_wait(&p->cv, &p->mu);
        } else if (lumen__cond_wait_until(&p->cv, &p->mu, dl) == ETIMEDOUT && !done(p, arg)) {
            return false;
        }
    }
    return true;
}

static bool flushed(batch_proc *p, uint64_t ticket)
{
    return p->flush_done >= ticket || p->exited;
}

static bool exited(batch_proc *p, uint64_t unused)
{
    (void)unused;
    return p->exited;
}

static int flush_until(batch_proc *p, int64_t dl)
{
    if (forked(p))
        after_fork(p);
    pthread_mutex_lock(&p->mu);
    if (!p->thread_ok || p->exited) {
        pthread_mutex_unlock(&p->mu);
        return LUMEN_ESHUTDOWN;
    }
    uint64_t ticket = ++p->flush_req;
    /* One export timeout for the whole flush, counted from the request,
     * not from when the worker gets to it (it may be in the middle of a
     * periodic export, itself bounded by the export timeout). */
    int64_t budget = lumen__mono_ns() + (int64_t)p->timeout_ms * 1000000;
    p->flush_deadline = dl != 0 && dl < budget ? dl : budget;
    atomic_store_explicit(&p->flush_pending, true, memory_order_release);
    wake_worker(p);
    int rc = wait_until(p, flushed, ticket, dl)
                 ? (p->flush_done >= ticket ? p->flush_rc : LUMEN_ESHUTDOWN)
                 : LUMEN_ETIMEDOUT;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

bool lumen__batch_worker_asleep(lumen_span_processor *bp)
{
    if (bp == NULL || bp->on_end != batch_on_end)
        return false;
    return atomic_load(&((batch_proc *)bp)->sleeping);
}

static void batch_stats(lumen_span_processor *bp, lumen_span_processor_stats *o)
{
    batch_proc *p = (batch_proc *)bp;
    /* Exported and failed first, then the dequeue position, then the
     * enqueue position and the drops: each later read is at least as far
     * along as what the earlier ones imply (see the top comment). */
    uint64_t exported = atomic_load_explicit(&p->exported, memory_order_acquire);
    uint64_t failed = atomic_load_explicit(&p->failed, memory_order_acquire);
    size_t deq = atomic_load_explicit(&p->deq_pub, memory_order_acquire);
    size_t enq = atomic_load_explicit(&p->enq, memory_order_acquire);
    uint64_t dropped = atomic_load_explicit(&p->dropped, memory_order_acquire);
    o->exported = exported;
    o->failed = failed;
    o->dropped = dropped;
    o->queued = enq - deq;
    o->in_flight = (uint64_t)deq - exported - failed;
    o->ended = enq + dropped;
}

/* Spans a flush or shutdown lost, and what the exporters said. */
typedef struct loss_probe {
    lumen_span_processor_stats st;
    uint64_t fails[4]; /* LUMEN__TM_FAIL_TIMEOUT .. _OTHER */
    int64_t t0;
} loss_probe;

static void probe_start(batch_proc *p, loss_probe *lp)
{
    batch_stats(&p->base, &lp->st);
    for (int i = 0; i < 4; i++)
        lp->fails[i] = lumen__trace_metric_get((lumen__trace_metric)(LUMEN__TM_FAIL_TIMEOUT + i));
    lp->t0 = lumen__mono_ns();
}

/* Say once, as a notice (standard error when no diagnostics hook is
 * installed), that `what` ended with spans not exported. */
static void probe_report(batch_proc *p, const loss_probe *lp, const char *what)
{
    lumen_span_processor_stats st;
    batch_stats(&p->base, &st);
    uint64_t lost =
        (st.failed - lp->st.failed) + (st.dropped - lp->st.dropped) + st.queued + st.in_flight;
    if (lost == 0)
        return;
    static const char *const reasons[4] = {"export timed out", "collector answered with an error",
                                           "collector unreachable", "export failed"};
    const char *why = "still queued or exporting at the deadline";
    uint64_t most = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = lumen__trace_metric_get((lumen__trace_metric)(LUMEN__TM_FAIL_TIMEOUT + i)) -
                     lp->fails[i];
        if (d > most) {
            most = d;
            why = reasons[i];
        }
    }
    lumen__diag_notice(LUMEN_DIAG_ERROR,
                       "traces: %s could not export %llu spans in %lld ms (%s; export timeout "
                       "%u ms)",
                       what, (unsigned long long)lost,
                       (long long)((lumen__mono_ns() - lp->t0) / 1000000), why, p->timeout_ms);
}

static int batch_flush(lumen_span_processor *bp, int64_t dl)
{
    batch_proc *p = (batch_proc *)bp;
    if (atomic_load(&p->shut))
        return LUMEN_ESHUTDOWN;
    return flush_until(p, dl);
}

static int batch_shutdown(lumen_span_processor *bp, int64_t dl)
{
    batch_proc *p = (batch_proc *)bp;
    if (atomic_exchange(&p->shut, true))
        return LUMEN_ESHUTDOWN;
    loss_probe lp;
    probe_start(p, &lp);
    int rc = flush_until(p, dl);
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    wake_worker(p);
    bool ok = !p->thread_ok || wait_until(p, exited, 0, dl);
    pthread_mutex_unlock(&p->mu);
    if (!ok && rc == LUMEN_OK)
        rc = LUMEN_ETIMEDOUT;
    int er = lumen__exporter_shutdown(p->exp, dl);
    probe_report(p, &lp, "shutdown");
    return rc != LUMEN_OK ? rc : (er == LUMEN_ESHUTDOWN ? LUMEN_OK : er);
}

/* atexit: force-flush every live batch processor within its export
 * timeout. Not from a processor's own worker (an exporter calling exit()
 * would wait for itself), and not in a forked child that never used the
 * processor (the queued spans are the parent's). */
static void flush_at_exit(void)
{
    pthread_mutex_lock(&g_live_mu);
    for (batch_proc *p = g_live; p != NULL; p = p->next_live) {
        if (atomic_load(&p->shut) || forked(p) || !p->thread_ok ||
            pthread_equal(p->thread, pthread_self()))
            continue;
        loss_probe lp;
        probe_start(p, &lp);
        if (lp.st.queued == 0 && lp.st.in_flight == 0)
            continue;
        flush_until(p, lumen__mono_ns() + (int64_t)p->timeout_ms * 1000000);
        probe_report(p, &lp, "the flush at exit");
    }
    pthread_mutex_unlock(&g_live_mu);
}

static void register_atexit(void)
{
    atexit(flush_at_exit);
}

static void batch_destroy(lumen_span_processor *bp)
{
    batch_proc *p = (batch_proc *)bp;
    pthread_mutex_lock(&g_live_mu);
    if (p->prev_live != NULL)
        p->prev_live->next_live = p->next_live;
    else if (g_live == p)
        g_live = p->next_live;
    if (p->next_live != NULL)
        p->next_live->prev_live = p->prev_live;
    pthread_mutex_unlock(&g_live_mu);
    if (p->thread_ok && forked(p))
        after_fork(p); /* never join the parent's worker: it is not ours */
    if (p->thread_ok) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_mutex_unlock(&p->mu);
        wake_worker(p);
        pthread_join(p->thread, NULL);
    }
    /* Spans still queued (shutdown timed out) are released, counted as dropped. */
    size_t n;
    while (p->slots != NULL && p->buf != NULL && (n = take(p, p->batch, 0)) > 0) {
        for (size_t i = 0; i < n; i++)
            drop(p, p->buf[i]);
    }
    lumen__exporter_destroy(p->exp);
    lumen__free(p->buf, p->batch * sizeof *p->buf);
    lumen__free(p->slots, (p->mask + 1) * sizeof *p->slots);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    lumen__free(p, sizeof *p);
}

/* In a forked child: make the processor work again (see the top comment). */
static void after_fork(batch_proc *p)
{
    bool expected = false;
    if (!atomic_compare_exchange_strong(&p->restarting, &expected, true))
        return; /* another thread of the child is at it; its spans drop meanwhile */
    unsigned gen = atomic_load(&lumen__idgen_generation);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* Release the parent's queued spans; the parent exports them. */
    size_t enq = atomic_load(&p->enq);
    for (size_t pos = p->deq; pos != enq; pos++) {
        slot *sl = &p->slots[pos & p->mask];
        if (atomic_load(&sl->seq) == pos + 1 && sl->span != NULL)
            lumen__span_release(sl->span);
    }
    for (size_t i = 0; i <= p->mask; i++) {
        atomic_store(&p->slots[i].seq, i);
        p->slots[i].span = NULL;
    }
    p->deq = 0;
    atomic_store(&p->deq_pub, 0);
    atomic_store(&p->enq, 0);
    atomic_store(&p->dropped, 0);
    atomic_store(&p->exported, 0);
    atomic_store(&p->failed, 0);
    atomic_store(&p->sleeping, false);
    atomic_store(&p->flush_pending, false);
    p->flush_req = p->flush_done = 0;
    p->stop = p->exited = false;
    p->thread_ok = !atomic_load(&p->shut) && pthread_create(&p->thread, NULL, worker, p) == 0;
    atomic_store(&p->generation, gen);
    atomic_store(&p->restarting, false);
}

/* The option, else the environment variable, else the default. A variable
 * outside 1..2^31-1 is reported and the default used. */
static uint32_t opt(uint32_t given, const char *env, uint32_t def)
{
    if (given != 0)
        return given;
    return (uint32_t)lumen__env_int_range(env, def, 1, 0x7fffffff);
}

static const size_t options_sizes[] = {0, sizeof(lumen_batch_processor_options)};

int lumen_batch_processor_options_init(lumen_batch_processor_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_batch_processor_new(lumen_span_processor **out, lumen_span_exporter *exp,
                              const lumen_batch_processor_options *opts)
{
    if (out != NULL)
        *out = NULL;
    if (exp == NULL || out == NULL) {
        lumen_span_exporter_free(exp);
        return LUMEN_EINVAL;
    }
    lumen_batch_processor_options full;
    const lumen_batch_processor_options *o = &full;
    int vrc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes));
    if (vrc != LUMEN_OK) {
        lumen_span_exporter_free(exp);
        return vrc;
    }
    batch_proc *p = lumen__calloc(1, sizeof *p);
    if (p == NULL) {
        lumen_span_exporter_free(exp);
        return LUMEN_ENOMEM;
    }
    p->exp = exp;
    p->qmax = opt(o->max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", LUMEN_BATCH_DEFAULT_MAX_QUEUE_SIZE);
    if (p->qmax > (1u << 24))
        p->qmax = 1u << 24;
    p->batch = opt(o->max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                   LUMEN_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE);
    if (p->batch > p->qmax)
        p->batch = p->qmax;
    p->delay_ms =
        opt(o->schedule_delay_ms, "OTEL_BSP_SCHEDULE_DELAY", LUMEN_BATCH_DEFAULT_SCHEDULE_DELAY_MS);
    p->timeout_ms =
        opt(o->export_timeout_ms, "OTEL_BSP_EXPORT_TIMEOUT", LUMEN_DEFAULT_EXPORT_TIMEOUT_MS);
    size_t cap = 1;
    while (cap < p->qmax)
        cap <<= 1;
    p->mask = cap - 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->base = (lumen_span_processor){batch_on_end,  batch_flush, batch_shutdown,
                                     batch_destroy, batch_stats, p->timeout_ms};
    p->slots = lumen__calloc(cap, sizeof *p->slots);
    p->buf = lumen__calloc(p->batch, sizeof *p->buf);
    if (p->slots == NULL || p->buf == NULL) {
        batch_destroy(&p->base);
        return LUMEN_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        atomic_init(&p->slots[i].seq, i);
    lumen__idgen_init();
    atomic_store(&p->generation, atomic_load(&lumen__idgen_generation));
    if (pthread_create(&p->thread, NULL, worker, p) != 0) {
        batch_destroy(&p->base);
        return LUMEN_ESYS;
    }
    p->thread_ok = true;
    pthread_once(&g_atexit_once, register_atexit);
    pthread_mutex_lock(&g_live_mu);
    p->next_live = g_live;
    if (g_live != NULL)
        g_live->prev_live = p;
    g_live = p;
    pthread_mutex_unlock(&g_live_mu);
    *out = &p->base;
    return LUMEN_OK;
}
