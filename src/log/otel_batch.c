/*
 * log/otel_batch.c: the batch handler of log records
 * (lumen_log_batch_handler_new), the log twin of trace/batch.c.
 *
 * The logging thread copies the record (otel.c) into a slot of a bounded
 * multi-producer, single-consumer ring (Dmitry Vyukov's bounded queue: a
 * sequence number per slot, one compare-and-swap on the enqueue position
 * per record). A slot holds the copy in its own storage (a record too big
 * for it is allocated) and goes back to the producers only once the export
 * that read it has returned. A full ring, or no memory for a big copy,
 * drops the record and counts it; nothing on that path blocks. One worker
 * thread takes batches out and calls the exporter, so exports never
 * overlap. It sleeps on a futex with the schedule delay as timeout;
 * producers wake it when the queue reaches a batch, with one syscall per
 * batch and only while it sleeps.
 *
 * Conservation: every record handed over is counted once, as dropped at
 * the door (queue full, or after shutdown), or as enqueued and later
 * exported, failed or dropped at shutdown. Received is not a counter of
 * its own (that would be one more atomic add per record): it is the
 * enqueue position plus the drops at the door. Queued is the enqueue
 * position minus the published dequeue position; in flight is what the
 * worker took and has not counted yet.
 *
 * Flush and shutdown (lumen_log_flush, lumen_log_shutdown, the exit
 * hook): a request raises flush_req and wakes the worker, which exports
 * everything enqueued before it within the caller's deadline and then
 * publishes flush_done. Shutdown then cuts the exporter off (its shutdown
 * callback aborts a hung HTTP request), stops and joins the worker, and
 * frees what is left, counted as dropped for shutdown.
 *
 * After fork() the child has no worker, may have inherited a locked
 * mutex, and holds a copy of the parent's queue. A fork handler gives each
 * handler in the child fresh locks, frees the parent's records without
 * exporting them (they are the parent's to send), starts the counters from
 * zero; the first record or flush in the child starts a new worker (not
 * the fork handler: a child that only calls exec needs no thread).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"
#include "log/otel.h"
#include "log/selfmetrics.h"
#include "log/state.h"

/* Bytes of a queue slot's own storage: a record (struct, fields, strings)
 * that fits is copied there, so the common record costs no allocation; a
 * bigger one is allocated. The default queue (2048 records, and the 512 of
 * the batch being exported) takes 4096 slots: 2 MiB. */
#define LUMEN__LOG_SLOT_BYTES 512

typedef struct slot {
    atomic_size_t seq;
    lumen_log_record *rec;
    bool heap; /* rec was allocated (else it is in the slot's storage) */
} slot;

struct lumen__log_otel {
    lumen_log_exporter *exp;
    slot *slots;
    size_t mask;
    uint32_t qmax, batch, delay_ms, timeout_ms;
    bool source; /* LUMEN_LOG_SOURCE: code.* fields */

    _Alignas(LUMEN_CACHELINE) atomic_size_t enq;
    _Alignas(LUMEN_CACHELINE) atomic_size_t deq_pub;
    atomic_uint wake; /* futex word */
    atomic_bool sleeping;
    atomic_bool shut;
    atomic_bool stopping; /* stop requested: export no further batch */
    /* received is not counted: it is the enqueue position plus the
     * records dropped at the door (full, or after shutdown), so that a
     * record costs no atomic add of its own. */
    atomic_uint_fast64_t exported, failed, drop_full, drop_shut, drop_door;
    atomic_size_t in_flight;

    _Alignas(LUMEN_CACHELINE) size_t deq; /* worker only */
    lumen_log_record **buf;
    size_t enq_base; /* the enqueue position counting started from (fork) */
    char *store;     /* LUMEN__LOG_SLOT_BYTES per slot */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t flush_req, flush_done; /* under mu */
    int64_t flush_deadline;         /* under mu */
    bool stop;                      /* under mu */
    bool thread_ok;
    pthread_t thread;
    atomic_uint generation; /* the fork generation its worker belongs to */
    lumen__log_otel *next_all;
};

/* Bumped by the fork handler in the child; a handler whose generation
 * differs starts its worker on its next record or flush. */
static atomic_uint g_generation;
static pthread_mutex_t g_restart_mu = PTHREAD_MUTEX_INITIALIZER;

/* Every batch handler, for flush and shutdown (handlers live for the
 * process). */
static _Atomic(lumen__log_otel *) g_all;

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, (void *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void futex_wait(atomic_uint *w, unsigned seen, int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    syscall(SYS_futex, (void *)w, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void poke(lumen__log_otel *q)
{
    atomic_fetch_add(&q->wake, 1);
    futex_wake(&q->wake);
}

static size_t queued(lumen__log_otel *q)
{
    return atomic_load_explicit(&q->enq, memory_order_acquire) -
           atomic_load_explicit(&q->deq_pub, memory_order_acquire);
}

/* Claim the next position (*out); false when the queue is full. */
static bool claim(lumen__log_otel *q, size_t *out)
{
    size_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
    slot *s;
    for (;;) {
        if (pos - atomic_load_explicit(&q->deq_pub, memory_order_acquire) >= q->qmax)
            return false;
        s = &q->slots[pos & q->mask];
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return false;
        } else {
            pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
        }
    }
    (void)s;
    *out = pos;
    return true;
}

static inline void *slot_mem(lumen__log_otel *q, size_t pos)
{
    return q->store + (pos & q->mask) * LUMEN__LOG_SLOT_BYTES;
}

/* Consumer only: the next record, or NULL (empty, or a producer between
 * its compare-and-swap and its store: the consumer comes back for it). The
 * slot stays the consumer's, with the record in it, until release(). */
static lumen_log_record *take(lumen__log_otel *q)
{
    slot *s = &q->slots[q->deq & q->mask];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != q->deq + 1)
        return NULL;
    q->deq++;
    return s->rec;
}

/* Consumer only: free the n records taken from position `from` on (those
 * on the heap) and give their slots back to the producers. */
static void release(lumen__log_otel *q, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slot *s = &q->slots[(from + i) & q->mask];
        /* A record in the slot's storage is not read again: with an
         * exporter that did not read it either, its lines stay where the
         * logging thread wrote them. */
        if (s->heap)
            lumen__log_record_free(s->rec);
        atomic_store_explicit(&s->seq, from + i + q->mask + 1, memory_order_release);
    }
}

/* Consumer only (the stopping thread, the fork handler): release every
 * record queued. Returns how many there were. */
static uint64_t drain(lumen__log_otel *q)
{
    size_t from = q->deq;
    while (take(q) != NULL)
        ;
    size_t n = q->deq - from;
    release(q, from, n);
    atomic_store_explicit(&q->deq_pub, q->deq, memory_order_release);
    return n;
}

static void *worker(void *arg);

static void restart(lumen__log_otel *q)
{
    pthread_mutex_lock(&g_restart_mu);
    unsigned gen = atomic_load(&g_generation);
    if (atomic_load(&q->generation) != gen) {
        if (!atomic_load(&q->shut))
            q->thread_ok = pthread_create(&q->thread, NULL, worker, q) == 0;
        atomic_store(&q->generation, gen);
    }
    pthread_mutex_unlock(&g_restart_mu);
}

static inline void check_fork(lumen__log_otel *q)
{
    if (LUMEN_UNLIKELY(atomic_load_explicit(&q->generation, memory_order_acquire) !=
                       atomic_load_explicit(&g_generation, memory_order_relaxed)))
        restart(q);
}

void lumen__log_otel_put(lumen__log_otel *q, const lumen__log_rec *r)
{
    check_fork(q);
    if (LUMEN_UNLIKELY(atomic_load_explicit(&q->shut, memory_order_acquire))) {
        atomic_fetch_add_explicit(&q->drop_door, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&q->drop_shut, 1, memory_order_relaxed);
        lumen__log_count_record_drop(LUMEN__LOG_DROP_SHUTDOWN, 1);
        return;
    }
    /* A record that fits is written into its slot: no allocation, and no
     * free on the worker's side. A bigger one is allocated first, so that
     * a claimed slot is never held across a malloc. */
    lumen__log_plan plan;
    plan.fits = LUMEN__LOG_SLOT_BYTES;
    lumen__log_record_plan(&plan, r, q->source);
    void *heap = NULL;
    size_t pos;
    if (LUMEN_UNLIKELY(plan.bytes > LUMEN__LOG_SLOT_BYTES) &&
        (heap = lumen__malloc(plan.bytes)) == NULL)
        goto full;
    if (LUMEN_UNLIKELY(!claim(q, &pos))) {
        if (heap != NULL)
            lumen__free(heap, plan.bytes);
        goto full;
    }
    slot *s = &q->slots[pos & q->mask];
    s->rec =
        lumen__log_record_write(heap != NULL ? heap : slot_mem(q, pos), heap != NULL, &plan, r);
    s->heap = heap != NULL;
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
    if (atomic_load_explicit(&q->sleeping, memory_order_acquire) && queued(q) >= q->batch)
        poke(q);
    return;
full:
    atomic_fetch_add_explicit(&q->drop_full, 1, memory_order_relaxed);
    lumen__log_count_record_drop(LUMEN__LOG_DROP_QUEUE_FULL, 1);
}

/* Take up to one batch and export it by `deadline`; false when the queue
 * was empty. */
static bool export_one(lumen__log_otel *q, int64_t deadline)
{
    size_t n = 0, from = q->deq;
    while (n < q->batch) {
        lumen_log_record *rec = take(q);
        if (rec == NULL)
            break;
        q->buf[n++] = rec;
    }
    if (n == 0)
        return false;
    atomic_store_explicit(&q->in_flight, n, memory_order_relaxed);
    atomic_store_explicit(&q->deq_pub, q->deq, memory_order_release);
    int64_t dl = lumen__mono_ns() + (int64_t)q->timeout_ms * 1000000;
    if (deadline != 0 && deadline < dl)
        dl = deadline;
    int rc =
        lumen__mono_ns() < dl
            ? lumen__log_exporter_export(q->exp, (const lumen_log_record *const *)q->buf, n, dl)
            : LUMEN_ETIMEDOUT;
    if (rc == LUMEN_OK) {
        atomic_fetch_add_explicit(&q->exported, n, memory_order_relaxed);
        lumen__log_count_records_exported(n);
    } else {
        atomic_fetch_add_explicit(&q->failed, n, memory_order_relaxed);
        lumen__log_count_record_drop(LUMEN__LOG_DROP_EXPORT_FAILURE, n);
    }
    release(q, from, n);
    atomic_store_explicit(&q->in_flight, 0, memory_order_release);
    return true;
}

static void *worker(void *arg)
{
    lumen__log_otel *q = arg;
    int64_t next = lumen__mono_ns() + (int64_t)q->delay_ms * 1000000;
    for (;;) {
        /* The futex word first: a flush or stop requested after the state
         * is read below changes it, so the wait at the bottom returns at
         * once instead of sleeping through the request. */
        unsigned seen = atomic_load(&q->wake);
        pthread_mutex_lock(&q->mu);
        uint64_t req = q->flush_req;
        bool flushing = req != q->flush_done;
        int64_t fdl = q->flush_deadline;
        bool stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        int64_t now = lumen__mono_ns();
        if (stop)
            return NULL; /* the records left are freed by the stopping thread */
        if (flushing || now >= next) {
            /* Everything enqueued before the request, within its budget. */
            while (!atomic_load(&q->stopping) && export_one(q, flushing ? fdl : 0))
                if (flushing && lumen__mono_ns() >= fdl)
                    break;
            next = lumen__mono_ns() + (int64_t)q->delay_ms * 1000000;
            if (flushing) {
                pthread_mutex_lock(&q->mu);
                q->flush_done = req;
                pthread_cond_broadcast(&q->cv);
                pthread_mutex_unlock(&q->mu);
            }
            continue;
        }
        if (queued(q) >= q->batch) {
            export_one(q, 0);
            continue;
        }
        atomic_store(&q->sleeping, true);
        /* A producer that queued a batch after the test above sees
         * `sleeping` and bumps the word, so the wait returns at once. */
        if (queued(q) < q->batch)
            futex_wait(&q->wake, seen, (next - now) / 1000000 + 1);
        atomic_store(&q->sleeping, false);
    }
}

/* Ask the worker to export what is queued and wait for it by `deadline`. */
static bool flush_one(lumen__log_otel *q, int64_t deadline)
{
    check_fork(q);
    if (!q->thread_ok)
        return queued(q) == 0;
    pthread_mutex_lock(&q->mu);
    uint64_t my = ++q->flush_req;
    q->flush_deadline = deadline;
    pthread_mutex_unlock(&q->mu);
    poke(q);
    pthread_mutex_lock(&q->mu);
    while (q->flush_done < my)
        if (lumen__cond_wait_until(&q->cv, &q->mu, deadline) != 0)
            break;
    bool done = q->flush_done >= my;
    pthread_mutex_unlock(&q->mu);
    return done && queued(q) == 0;
}

bool lumen__log_otel_flush_all(int64_t deadline_ns)
{
    bool ok = true;
    for (lumen__log_otel *q = atomic_load(&g_all); q != NULL; q = q->next_all)
        if (!atomic_load(&q->shut))
            ok &= flush_one(q, deadline_ns);
    return ok;
}

void lumen__log_otel_stop_all(int64_t deadline_ns)
{
    for (lumen__log_otel *q = atomic_load(&g_all); q != NULL; q = q->next_all) {
        if (atomic_exchange(&q->shut, true))
            continue;
        flush_one(q, deadline_ns);
        /* Stop first, so that the worker, once the export under way
         * returns, exports nothing more; then cut that export off (its
         * deadline has passed). */
        pthread_mutex_lock(&q->mu);
        q->stop = true;
        pthread_mutex_unlock(&q->mu);
        atomic_store(&q->stopping, true);
        lumen__log_exporter_shutdown(q->exp, deadline_ns);
        if (q->thread_ok) {
            poke(q);
            pthread_join(q->thread, NULL);
            q->thread_ok = false;
        }
        /* What is left was never exported: dropped at shutdown. The worker
         * is gone, so this thread is the consumer now. */
        uint64_t left = drain(q);
        if (left > 0) {
            atomic_fetch_add(&q->drop_shut, left);
            lumen__log_count_record_drop(LUMEN__LOG_DROP_SHUTDOWN, left);
            lumen__diag(LUMEN_DIAG_WARN,
                        "log batch handler: %llu records still queued at shutdown were dropped",
                        (unsigned long long)left);
        }
    }
}

/* The option, else the environment variable, else the default. A variable
 * outside 1..2^31-1 is reported once with its value and the default used. */
static uint32_t opt(uint32_t given, const char *env, uint32_t def)
{
    if (given != 0)
        return given;
    return (uint32_t)lumen__env_int_range(env, def, 1, 0x7fffffff);
}

static const size_t options_sizes[] = {0, sizeof(lumen_log_batch_options)};
static const size_t stats_sizes[] = {0, sizeof(lumen_log_batch_stats)};

int lumen_log_batch_options_init(lumen_log_batch_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_log_batch_stats_init(lumen_log_batch_stats *stats, unsigned int version)
{
    return lumen__versioned_init(stats, version, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

static void otel_free(lumen__log_otel *q)
{
    lumen__free(q->slots, (q->mask + 1) * sizeof *q->slots);
    lumen__free(q->store, (q->mask + 1) * LUMEN__LOG_SLOT_BYTES);
    lumen__free(q->buf, q->batch * sizeof *q->buf);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    lumen__free(q, sizeof *q);
}

static void atfork_child(void)
{
    for (lumen__log_otel *q = atomic_load(&g_all); q != NULL; q = q->next_all) {
        pthread_mutex_init(&q->mu, NULL);
        pthread_cond_init(&q->cv, NULL);
        q->flush_req = q->flush_done = 0;
        q->stop = false;
        /* The batch the parent's worker was exporting, then the queue. */
        size_t in_flight = atomic_load(&q->in_flight);
        if (in_flight > 0 && in_flight <= q->deq)
            release(q, q->deq - in_flight, in_flight);
        drain(q);
        atomic_store(&q->in_flight, 0);
        atomic_store(&q->sleeping, false);
        atomic_store(&q->drop_door, 0);
        /* received counts from zero too: from the enqueue position now. */
        q->enq_base = atomic_load(&q->enq);
        atomic_store(&q->exported, 0);
        atomic_store(&q->failed, 0);
        atomic_store(&q->drop_full, 0);
        atomic_store(&q->drop_shut, 0);
        q->thread_ok = false;
    }
    pthread_mutex_init(&g_restart_mu, NULL);
    atomic_fetch_add(&g_generation, 1);
}

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

int lumen_log_batch_handler_new(lumen_log_handler **out, lumen_log_exporter *exp,
                                const lumen_log_batch_options *opts)
{
    if (out != NULL)
        *out = NULL;
    lumen_log_batch_options full;
    const lumen_log_batch_options *o = &full;
    int rc = LUMEN_EINVAL;
    if (out == NULL || exp == NULL)
        goto fail_exp;
    rc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                             LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK)
        goto fail_exp;
    rc = LUMEN_EINVAL;
    if (o->level < 0 || o->level > LUMEN_LOG_OFF)
        goto fail_exp;
    rc = LUMEN_ENOMEM;
    lumen__log_otel *q = lumen__calloc(1, sizeof *q);
    if (q == NULL)
        goto fail_exp;
    q->exp = exp;
    q->source = (o->flags & LUMEN_LOG_SOURCE) != 0;
    q->qmax =
        opt(o->max_queue_size, "OTEL_BLRP_MAX_QUEUE_SIZE", LUMEN_LOG_BATCH_DEFAULT_MAX_QUEUE_SIZE);
    if (q->qmax > (1u << 24))
        q->qmax = 1u << 24;
    q->batch = opt(o->max_export_batch_size, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                   LUMEN_LOG_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE);
    if (q->batch > q->qmax)
        q->batch = q->qmax;
    q->delay_ms = opt(o->schedule_delay_ms, "OTEL_BLRP_SCHEDULE_DELAY",
                      LUMEN_LOG_BATCH_DEFAULT_SCHEDULE_DELAY_MS);
    q->timeout_ms =
        opt(o->export_timeout_ms, "OTEL_BLRP_EXPORT_TIMEOUT", LUMEN_DEFAULT_EXPORT_TIMEOUT_MS);
    /* Room for a full queue besides the batch being exported, whose
     * slots come back only when its export returns. */
    size_t cap = 1;
    while (cap < (size_t)q->qmax + q->batch)
        cap <<= 1;
    q->mask = cap - 1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->slots = lumen__calloc(cap, sizeof *q->slots);
    q->buf = lumen__calloc(q->batch, sizeof *q->buf);
    q->store = lumen__malloc(cap * LUMEN__LOG_SLOT_BYTES);
    lumen_log_handler *h = lumen__calloc(1, sizeof *h);
    if (q->slots == NULL || q->buf == NULL || q->store == NULL || h == NULL) {
        lumen__free(h, sizeof *h);
        goto fail_q;
    }
    for (size_t i = 0; i < cap; i++)
        atomic_init(&q->slots[i].seq, i);
    lumen__log_records_metrics_init();
    pthread_once(&g_atfork_once, register_atfork);
    if (pthread_create(&q->thread, NULL, worker, q) != 0) {
        lumen__free(h, sizeof *h);
        rc = LUMEN_ESYS;
        goto fail_q;
    }
    q->thread_ok = true;
    atomic_store(&q->generation, atomic_load(&g_generation));
    h->level = o->level;
    h->otel = q;
    lumen__log_otel *head = atomic_load(&g_all);
    do {
        q->next_all = head;
    } while (!atomic_compare_exchange_weak(&g_all, &head, q));
    lumen__log_handler_keep(h);
    *out = h;
    return LUMEN_OK;
fail_q:
    otel_free(q);
fail_exp:
    lumen_log_exporter_free(exp);
    return rc;
}

int lumen_log_batch_get_stats(lumen_log_batch_stats *out, lumen_log_handler *h)
{
    if (out == NULL || h == NULL || h->otel == NULL)
        return LUMEN_EINVAL;
    lumen__log_otel *q = h->otel;
    lumen_log_batch_stats s = LUMEN_LOG_BATCH_STATS_INIT;
    /* Queued first, then the counts the worker adds to after publishing
     * its position, so a record is never counted twice. */
    s.queued = queued(q);
    s.in_flight = atomic_load_explicit(&q->in_flight, memory_order_acquire);
    s.exported = atomic_load(&q->exported);
    s.failed = atomic_load(&q->failed);
    s.dropped_queue_full = atomic_load(&q->drop_full);
    s.dropped_shutdown = atomic_load(&q->drop_shut);
    s.received = atomic_load(&q->enq) - q->enq_base + atomic_load(&q->drop_full) +
                 atomic_load(&q->drop_door);
    return lumen__versioned_out(out, &s, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}
