/*
 * log/async.c: asynchronous handlers. Callers copy each formatted line into
 * a bounded byte ring; one writer thread per handler takes whole lines out
 * in batches of at most LUMEN__LOG_BATCH bytes and writes them.
 *
 * Invariants:
 * - The ring holds entries {u32 len, i32 level, bytes padded to 8}; an
 *   entry never wraps (a WRAP marker sends the reader back to 0).
 * - A line longer than a quarter of the ring does not go into it: the
 *   caller copies it to the heap and the entry holds the pointer (level
 *   flagged INDIRECT). Such a line, a value at the 1 MiB value limit for
 *   example, can never be too big for the queue nor fill it for the lines
 *   after it. The heap copies pending are bounded by the queue size, except
 *   that one is always admitted when none is pending: memory stays within
 *   twice the queue plus the largest line.
 * - The writer never holds the queue mutex while writing, so a caller
 *   waits for the mutex only as long as a memcpy: with the DROP policy a
 *   full pipe can never block the program; with BLOCK it waits at most
 *   block_timeout_ms, then drops and counts.
 * - After fork() the child starts with an empty queue (the parent writes
 *   what was queued) and no writer; the next line starts one.
 * - Every wait is on the monotonic clock (pthread_cond_clockwait), so a
 *   step of the wall clock neither holds lines back nor stretches a BLOCK
 *   wait, a drain or a shutdown.
 */
#include "log/async.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "log/selfmetrics.h"
#include "log/sink.h"
#include "log/state.h"

#define WRAP 0xFFFFFFFFu
#define HDR 8
#define INDIRECT 0x40000000 /* level flag: the entry holds a heap pointer */

struct lumen__log_async {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full, idle;
    char *ring;
    size_t cap, head, tail, used; /* bytes; head: next read, tail: next write */
    size_t big_bytes;             /* bytes of INDIRECT lines queued or being written */
    bool writing;                 /* the writer holds a batch not yet written */
    bool waiting;                 /* the writer waits for a batch to fill */
    bool idle_wait;               /* the writer sleeps until the next line */
    bool urgent;                  /* write now: warn and above, flush, stop */
    int64_t first_ns;             /* monotonic time the oldest queued line came */
    int64_t interval_ns;          /* longest a line waits for its batch */
    size_t wake_bytes;            /* queued bytes that wake the writer early */
    bool running, stopping, joinable;
    int overflow;
    int64_t block_ns; /* < 0: forever */
    lumen_log_handler *h;
    pthread_t thread;
    struct lumen__log_async *next;
};

static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;
static lumen__log_async *queues;

static size_t entry_size(size_t n)
{
    return HDR + ((n + 7) & ~(size_t)7);
}

/* A line this long goes to the heap, its entry holding the pointer. */
static bool is_big(const lumen__log_async *q, size_t n)
{
    return entry_size(n) > q->cap / 4;
}

/* Bytes the entry at q->head takes in the ring. */
static size_t head_entry_size(const lumen__log_async *q, uint32_t n)
{
    int32_t l32;
    memcpy(&l32, q->ring + q->head + 4, 4);
    return (l32 & INDIRECT) ? HDR + sizeof(char *) : entry_size(n);
}

/* Remove every queued line (freeing the heap copies); returns how many. */
static size_t discard_all(lumen__log_async *q)
{
    size_t lost = 0;
    while (q->used > 0) {
        uint32_t n;
        memcpy(&n, q->ring + q->head, 4);
        if (n == WRAP) {
            q->used -= q->cap - q->head;
            q->head = 0;
            continue;
        }
        int32_t l32;
        memcpy(&l32, q->ring + q->head + 4, 4);
        size_t es = head_entry_size(q, n);
        if (l32 & INDIRECT) {
            char *p;
            memcpy(&p, q->ring + q->head + HDR, sizeof p);
            lumen__free(p, n);
            q->big_bytes -= n;
        }
        q->head = (q->head + es) % q->cap;
        q->used -= es;
        lost++;
    }
    return lost;
}

static void *writer(void *arg)
{
    lumen__log_async *q = arg;
    char batch[LUMEN__LOG_BATCH];
    char *big = NULL;
    size_t big_cap = 0;
    bool more = false; /* lines were left behind by the last batch: no wait */
    pthread_mutex_lock(&q->mu);
    for (;;) {
        /* Wait for a full batch, an urgent line, or the oldest line's
         * deadline: one wake-up per batch rather than per line. After a
         * few empty rounds, sleep until a line arrives. */
        int quiet = 0;
        for (;;) {
            if (q->used >= q->wake_bytes || (q->used > 0 && (q->urgent || more)) || q->stopping)
                break;
            int64_t now = lumen__mono_ns();
            if (q->used > 0 && now - q->first_ns >= q->interval_ns)
                break;
            if (q->used == 0) {
                q->urgent = false;
                pthread_cond_broadcast(&q->idle);
                if (++quiet > 3) {
                    q->idle_wait = true;
                    pthread_cond_wait(&q->not_empty, &q->mu);
                    q->idle_wait = false;
                    quiet = 0;
                    continue;
                }
            }
            q->waiting = true;
            lumen__cond_wait_until(&q->not_empty, &q->mu,
                                   q->used > 0 ? q->first_ns + q->interval_ns
                                               : now + q->interval_ns);
            q->waiting = false;
        }
        if (q->used == 0 && q->stopping)
            break;
        /* Take whole lines up to one batch (or one long line alone). */
        size_t len = 0, lines = 0;
        char *out = batch, *heap = NULL;
        int level = LUMEN_LOG_INFO;
        while (q->used > 0) {
            uint32_t n;
            memcpy(&n, q->ring + q->head, 4);
            if (n == WRAP) {
                q->used -= q->cap - q->head;
                q->head = 0;
                continue;
            }
            int32_t l32;
            memcpy(&l32, q->ring + q->head + 4, 4);
            if (l32 & INDIRECT) {
                /* A heap line is written alone, after the batch before it. */
                if (len > 0)
                    break;
                memcpy(&heap, q->ring + q->head + HDR, sizeof heap);
                level = l32 & ~INDIRECT;
                out = heap;
                len = n;
                lines = 1;
                q->head = (q->head + HDR + sizeof heap) % q->cap;
                q->used -= HDR + sizeof heap;
                break;
            }
            if (len + n > sizeof batch) {
                if (len > 0)
                    break;
                if (big_cap < n) {
                    char *nb = lumen__realloc(big, big_cap, n);
                    if (nb == NULL) {
                        /* Drop this one line rather than stall the queue. */
                        lumen__log_count_drop(1);
                        q->head = (q->head + entry_size(n)) % q->cap;
                        q->used -= entry_size(n);
                        continue;
                    }
                    big = nb;
                    big_cap = n;
                }
                out = big;
            }
            memcpy(&level, q->ring + q->head + 4, 4);
            memcpy(out + len, q->ring + q->head + HDR, n);
            len += n;
            lines++;
            q->head = (q->head + entry_size(n)) % q->cap;
            q->used -= entry_size(n);
            /* A callback gets one line per call, with its level. */
            if (q->h->sink->cb != NULL || out == big)
                break;
        }
        q->writing = true;
        more = q->used > 0;
        /* Lines that arrive while this batch is written count their wait
         * from now (they are younger than that). */
        q->first_ns = lumen__mono_ns();
        pthread_cond_broadcast(&q->not_full);
        pthread_mutex_unlock(&q->mu);
        if (q->h->sink->cb != NULL)
            q->h->sink->cb((lumen_log_level)level, out, len, q->h->sink->cb_ud);
        else if (len > 0 && !lumen__log_sink_write(q->h->sink, out, len))
            lumen__log_count_drop(lines);
        if (heap != NULL)
            lumen__free(heap, len);
        pthread_mutex_lock(&q->mu);
        if (heap != NULL) {
            q->big_bytes -= len;
            pthread_cond_broadcast(&q->not_full);
        }
        q->writing = false;
    }
    q->running = false;
    pthread_cond_broadcast(&q->idle);
    pthread_mutex_unlock(&q->mu);
    lumen__free(big, big_cap);
    return NULL;
}

int lumen__log_async_new(lumen__log_async **out, lumen_log_handler *h,
                         const lumen_log_handler_options *o)
{
    lumen__log_async *q = lumen__calloc(1, sizeof *q);
    if (q == NULL)
        return LUMEN_ENOMEM;
    q->cap = o->queue_bytes > 0 ? (o->queue_bytes + 7) & ~(size_t)7
                                : (size_t)LUMEN_LOG_DEFAULT_QUEUE_BYTES;
    if (q->cap < 2 * LUMEN__LOG_BATCH)
        q->cap = 2 * LUMEN__LOG_BATCH;
    q->ring = lumen__malloc(q->cap);
    if (q->ring == NULL) {
        lumen__free(q, sizeof *q);
        return LUMEN_ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->idle, NULL);
    q->overflow = o->overflow;
    q->block_ns = o->block_timeout_ms == LUMEN_WAIT_FOREVER ? -1
                  : o->block_timeout_ms == 0 ? LUMEN_LOG_DEFAULT_BLOCK_TIMEOUT_MS * 1000000LL
                                             : o->block_timeout_ms * 1000000LL;
    q->h = h;
    q->interval_ns =
        (o->flush_interval_ms > 0 ? o->flush_interval_ms : LUMEN_LOG_DEFAULT_FLUSH_INTERVAL_MS) *
        1000000LL;
    /* A thread switch costs microseconds: wake the writer for 16 batches
     * at a time (it then writes them back to back), or a quarter of the
     * queue when that is smaller, so the callers rarely wait for room. */
    q->wake_bytes = 16 * LUMEN__LOG_BATCH;
    if (q->wake_bytes > q->cap / 4)
        q->wake_bytes = q->cap / 4;
    *out = q;
    return LUMEN_OK;
}

void lumen__log_async_publish(lumen__log_async *q)
{
    pthread_mutex_lock(&queues_mu);
    q->next = queues;
    /* Release: the crash handler walks the list without the mutex. */
    __atomic_store_n(&queues, q, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&queues_mu);
}

void lumen__log_async_free(lumen__log_async *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->idle);
    lumen__free(q->ring, q->cap);
    lumen__free(q, sizeof *q);
}

/* Room for `need` contiguous bytes at the tail, wrapping if needed. */
static bool reserve(lumen__log_async *q, size_t need)
{
    if (q->used + need > q->cap)
        return false;
    if (q->tail >= q->head || q->used == 0) {
        if (q->used == 0)
            q->head = q->tail = 0;
        if (q->cap - q->tail >= need)
            return true;
        /* Wrap: the space at the end is wasted until the reader passes. */
        size_t waste = q->cap - q->tail;
        if (q->head < need || q->used + waste + need > q->cap)
            return false;
        if (waste >= 4) {
            uint32_t w = WRAP;
            memcpy(q->ring + q->tail, &w, 4);
        }
        q->used += waste;
        q->tail = 0;
        return true;
    }
    return q->head - q->tail >= need;
}

/* Room for a line: ring space for its entry, and for a heap line room in
 * the heap budget (always when no other heap line is pending). */
static bool room(lumen__log_async *q, size_t need, size_t big)
{
    if (big > 0 && q->big_bytes > 0 && q->big_bytes + big > q->cap)
        return false;
    return reserve(q, need);
}

void lumen__log_async_put(lumen__log_async *q, int level, const char *line, size_t n)
{
    if (n > UINT32_MAX - 8) {
        lumen__log_count_drop(1);
        return;
    }
    /* A long line is copied to the heap before the lock is taken. */
    char *heap = NULL;
    size_t big = 0;
    if (is_big(q, n)) {
        heap = lumen__malloc(n);
        if (heap == NULL) {
            lumen__log_count_drop(1);
            lumen__diag(LUMEN_DIAG_ERROR, "log: out of memory queueing a %zu-byte line; dropped",
                        n);
            return;
        }
        memcpy(heap, line, n);
        big = n;
    }
    size_t need = heap != NULL ? HDR + sizeof heap : entry_size(n);
    pthread_mutex_lock(&q->mu);
    if (!q->running && !q->stopping) {
        q->running = true;
        if (pthread_create(&q->thread, NULL, writer, q) == 0) {
            q->joinable = true;
        } else {
            q->running = false;
        }
    }
    if (!q->running) {
        /* No writer thread (it could not start, or shutdown stopped it):
         * write synchronously rather than queue lines nobody will take. */
        pthread_mutex_unlock(&q->mu);
        lumen__free(heap, big);
        if (!lumen__log_sink_write(q->h->sink, line, n))
            lumen__log_count_drop(1);
        return;
    }
    if (!room(q, need, big)) {
        bool ok = false;
        if (q->overflow == LUMEN_LOG_OVERFLOW_BLOCK) {
            int64_t until = q->block_ns >= 0 ? lumen__mono_ns() + q->block_ns : 0;
            while (!(ok = room(q, need, big))) {
                int rc = q->block_ns >= 0 ? lumen__cond_wait_until(&q->not_full, &q->mu, until)
                                          : pthread_cond_wait(&q->not_full, &q->mu);
                if (rc == ETIMEDOUT) {
                    ok = room(q, need, big);
                    break;
                }
            }
        }
        if (!ok) {
            pthread_mutex_unlock(&q->mu);
            lumen__free(heap, big);
            lumen__log_count_drop(1);
            return;
        }
    }
    bool was_empty = q->used == 0;
    uint32_t n32 = (uint32_t)n;
    int32_t l32 = heap != NULL ? level | INDIRECT : level;
    memcpy(q->ring + q->tail, &n32, 4);
    memcpy(q->ring + q->tail + 4, &l32, 4);
    if (heap != NULL)
        memcpy(q->ring + q->tail + HDR, &heap, sizeof heap);
    else
        memcpy(q->ring + q->tail + HDR, line, n);
    q->big_bytes += big;
    q->tail = (q->tail + need) % q->cap;
    q->used += need;
    if (was_empty && !q->writing)
        q->first_ns = lumen__mono_ns();
    if (level >= LUMEN_LOG_WARN)
        q->urgent = true;
    /* Wake the writer when it sleeps for want of lines, or when a batch is
     * full or a line is urgent; otherwise lines pile up and leave together
     * when its timer fires. */
    if (q->idle_wait || (q->waiting && (q->used >= q->wake_bytes || level >= LUMEN_LOG_WARN)))
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

bool lumen__log_async_drain(int64_t deadline_ns)
{
    bool all = true;
    pthread_mutex_lock(&queues_mu);
    for (lumen__log_async *q = queues; q != NULL; q = q->next) {
        pthread_mutex_lock(&q->mu);
        /* Everything queued is urgent now. */
        if (q->used > 0) {
            q->urgent = true;
            pthread_cond_signal(&q->not_empty);
        }
        while ((q->used > 0 || q->writing) && q->running) {
            int64_t now = lumen__mono_ns();
            if (now >= deadline_ns)
                break;
            lumen__cond_wait_until(&q->idle, &q->mu,
                                   deadline_ns - now < 50000000 ? deadline_ns : now + 50000000);
        }
        if (q->used > 0 || q->writing)
            all = false;
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_unlock(&queues_mu);
    return all;
}

/* Write out the lines of one queue whose mutex the caller holds and whose
 * writer holds no batch: straight from the ring to the sink, as the writer
 * would, leaving the heap copies to the dying process. */
static void write_ring_from_signal(lumen__log_async *q, int64_t deadline_ns)
{
    lumen__log_sink *sk = q->h->sink;
    int fd = atomic_load(&sk->fd);
    while (q->used > 0) {
        uint32_t n;
        memcpy(&n, q->ring + q->head, 4);
        if (n == WRAP) {
            q->used -= q->cap - q->head;
            q->head = 0;
            continue;
        }
        int32_t l32;
        memcpy(&l32, q->ring + q->head + 4, 4);
        size_t es = head_entry_size(q, n);
        const char *line = q->ring + q->head + HDR;
        if (l32 & INDIRECT)
            memcpy(&line, q->ring + q->head + HDR, sizeof line);
        lumen__log_write_until(fd, line, n, sk->is_pipe, deadline_ns);
        q->head = (q->head + es) % q->cap;
        q->used -= es;
    }
}

bool lumen__log_async_flush_from_signal(int64_t deadline_ns)
{
    bool all = true;
    for (lumen__log_async *q = __atomic_load_n(&queues, __ATOMIC_ACQUIRE); q != NULL; q = q->next) {
        /* Callback and syslog sinks run code that is not async-signal-safe. */
        if (q->h->sink->cb != NULL || q->h->sink->kind == LUMEN_LOG_SINK_SYSLOG)
            continue;
        for (;;) {
            /* A try-lock (an atomic exchange in glibc) cannot deadlock on a
             * mutex the interrupted code holds; the writer thread keeps
             * running meanwhile and finishes the batch it holds. */
            if (pthread_mutex_trylock(&q->mu) == 0) {
                bool busy = q->writing;
                if (!busy)
                    write_ring_from_signal(q, deadline_ns);
                pthread_mutex_unlock(&q->mu);
                if (!busy)
                    break;
            }
            if (lumen__mono_ns() >= deadline_ns) {
                all = false;
                break;
            }
            poll(NULL, 0, 1);
        }
    }
    return all;
}

void lumen__log_async_stop(int64_t deadline_ns)
{
    pthread_mutex_lock(&queues_mu);
    for (lumen__log_async *q = queues; q != NULL; q = q->next) {
        pthread_mutex_lock(&q->mu);
        /* Lines still queued after the deadline are dropped and counted. */
        size_t lost = 0;
        if (q->used > 0 && lumen__mono_ns() >= deadline_ns)
            lost = discard_all(q);
        q->stopping = true;
        bool join = q->joinable;
        q->joinable = false;
        pthread_cond_broadcast(&q->not_empty);
        /* A writer stuck in write(2) on a full pipe cannot be woken: past
         * the deadline (monotonic) it is left to finish on its own. */
        while (join && q->running && lumen__mono_ns() < deadline_ns)
            lumen__cond_wait_until(&q->idle, &q->mu, deadline_ns);
        bool exited = !q->running;
        pthread_mutex_unlock(&q->mu);
        if (lost > 0)
            lumen__log_count_drop(lost);
        if (join) {
            if (exited)
                pthread_join(q->thread, NULL);
            else
                pthread_detach(q->thread);
        }
    }
    pthread_mutex_unlock(&queues_mu);
}

void lumen__log_async_atfork_prepare(void)
{
    pthread_mutex_lock(&queues_mu);
    for (lumen__log_async *q = queues; q != NULL; q = q->next)
        pthread_mutex_lock(&q->mu);
}

void lumen__log_async_atfork_parent(void)
{
    for (lumen__log_async *q = queues; q != NULL; q = q->next)
        pthread_mutex_unlock(&q->mu);
    pthread_mutex_unlock(&queues_mu);
}

void lumen__log_async_atfork_child(void)
{
    for (lumen__log_async *q = queues; q != NULL; q = q->next) {
        pthread_mutex_init(&q->mu, NULL);
        pthread_cond_init(&q->not_empty, NULL);
        pthread_cond_init(&q->not_full, NULL);
        pthread_cond_init(&q->idle, NULL);
        discard_all(q); /* the parent writes them */
        q->used = q->head = q->tail = 0;
        q->big_bytes = 0;
        q->writing = false;
        q->waiting = false;
        q->idle_wait = false;
        q->urgent = false;
        q->running = false;
        q->joinable = false;
        q->stopping = atomic_load(&lumen__log_shut) != 0;
    }
    pthread_mutex_init(&queues_mu, NULL);
}
