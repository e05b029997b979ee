/*
 * log/batch.c: per-thread batches of whole lines for synchronous handlers,
 * and the flusher thread that bounds how long a line waits.
 *
 * Why: one write(2) costs more than formatting a line, so each thread
 * appends its lines to its own batch and writes the batch with one
 * write(2) when the next line would not fit, at once for warn and above,
 * when the flusher finds it older than the handler's flush interval, at
 * exit, at thread exit, on fatal and from the crash path.
 *
 * Invariants:
 * - A batch holds whole lines of one sink and never more than
 *   LUMEN__LOG_BATCH (= PIPE_BUF) bytes, so a batch written to a pipe is
 *   atomic even against other processes; a longer line is written alone,
 *   under the sink's write mutex.
 * - A batch is touched only under its lock. Its owner thread is the only
 *   frequent locker, so the lock is uncontended except for the flusher's
 *   visit every few milliseconds and lumen_log_flush.
 * - Batch structures are never freed: a thread's batch is flushed at its
 *   exit and reused by a later thread, so the list can be walked without a
 *   lock by the signal path.
 */
#include "log/batch.h"

#include <sched.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "log/formatter.h"
#include "log/selfmetrics.h"
#include "log/sink.h"
#include "log/state.h"

typedef struct tbuf {
    _Atomic int lk;        /* the batch lock (lk_lock): 1 while held */
    lumen__log_sink *sink; /* sink of the lines in data */
    size_t len;
    size_t lines;
    int64_t first_ns;                /* monotonic time of the oldest line */
    int64_t interval_ns;             /* the handler's flush interval */
    _Atomic bool live;               /* owned by a running thread */
    struct tbuf *next;               /* the global list; append-only */
    lumen__buf scratch;              /* the owner's formatting buffer (no lock) */
    char data[LUMEN__LOG_BATCH + 1]; /* + the NUL a lumen__buf keeps */
} tbuf;

/*
 * The batch lock. The owner thread takes it for every line it logs; the
 * flusher (every 10 ms), lumen_log_flush, thread exit, fork and the crash
 * path take it rarely. A pthread mutex costs a call into libc and two
 * locked read-modify-writes per line (about 10% of a line); this lock is
 * one exchange to take and a plain release store to drop. The price is
 * that nobody wakes a waiter: it spins a little, then yields, then sleeps
 * in steps of up to 1 ms, and it only waits that long while the holder is
 * inside a write(2) that blocks (a full pipe), which the waiter would have
 * waited for anyway.
 */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline bool lk_try(tbuf *t)
{
    return atomic_exchange_explicit(&t->lk, 1, memory_order_acquire) == 0;
}

static __attribute__((noinline)) void lk_wait(tbuf *t)
{
    for (unsigned i = 0;; i++) {
        /* Exchange only once it looks free: a waiter does not keep
         * taking the cache line from the holder. */
        if (atomic_load_explicit(&t->lk, memory_order_relaxed) == 0 && lk_try(t))
            return;
        if (i < 64) {
            cpu_relax();
        } else if (i < 80) {
            sched_yield();
        } else {
            struct timespec ts = {0, i < 180 ? 20000 : 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

static inline void lk_lock(tbuf *t)
{
    if (LUMEN_UNLIKELY(!lk_try(t)))
        lk_wait(t);
}

static inline void lk_unlock(tbuf *t)
{
    atomic_store_explicit(&t->lk, 0, memory_order_release);
}

static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(tbuf *) list;
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static LUMEN_TLS tbuf *mine;
static LUMEN_TLS lumen__buf fallback_scratch;

/* The flusher thread: RUN while it scans; IDLE while it waits to be
 * woken by the next batched line; DOWN when there is no thread. */
enum { DOWN = 0, RUN = 1, IDLE = 2, STOPPING = 3 };
static pthread_mutex_t fl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fl_cv = PTHREAD_COND_INITIALIZER;
static _Atomic int fl_state;
/* Bumped by each line that starts a batch. The flusher reads it before a
 * scan and again after going idle: either the writer sees IDLE and wakes
 * it, or the flusher sees the bump and stays up (both sequentially
 * consistent), so no batch is left without a flusher. */
static _Atomic uint64_t fl_seq;
static pthread_t fl_thread;
static bool fl_joinable;
static bool fl_exited; /* the flusher has left its loop (under fl_mu) */

static void flush_locked(tbuf *t)
{
    if (t->len == 0)
        return;
    if (!lumen__log_sink_write(t->sink, t->data, t->len))
        lumen__log_count_drop(t->lines);
    t->len = 0;
    t->lines = 0;
}

static void thread_exit(void *p)
{
    tbuf *t = p;
    lk_lock(t);
    flush_locked(t);
    lk_unlock(t);
    lumen__buf_free(&t->scratch);
    /* A later TLS destructor that logs gets a fresh batch (and this
     * destructor runs again for it) rather than one another thread may
     * already be reusing. */
    mine = NULL;
    atomic_store(&t->live, false);
}

static void make_key(void)
{
    pthread_key_create(&key, thread_exit);
}

static tbuf *get_tbuf(void)
{
    if (LUMEN_LIKELY(mine != NULL))
        return mine;
    pthread_once(&key_once, make_key);
    tbuf *t = NULL;
    pthread_mutex_lock(&list_mu);
    for (tbuf *o = atomic_load(&list); o != NULL; o = o->next) {
        if (!atomic_load(&o->live)) {
            t = o;
            break;
        }
    }
    if (t == NULL) {
        t = lumen__calloc(1, sizeof *t);
        if (t != NULL) {
            t->next = atomic_load(&list);
            atomic_store_explicit(&list, t, memory_order_release);
        }
    }
    if (t != NULL)
        atomic_store(&t->live, true);
    pthread_mutex_unlock(&list_mu);
    if (t != NULL) {
        mine = t;
        pthread_setspecific(key, t);
    }
    return t;
}

lumen__buf *lumen__log_scratch(void)
{
    tbuf *t = get_tbuf();
    return t != NULL ? &t->scratch : &fallback_scratch;
}

/* ---- the flusher --------------------------------------------------------------- */

static void *flusher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fl_mu);
    int quiet_rounds = 0;
    while (atomic_load(&fl_state) != STOPPING) {
        if (atomic_load(&fl_state) == IDLE) {
            pthread_cond_wait(&fl_cv, &fl_mu);
            continue;
        }
        /* Scan every 10 ms (monotonic: a wall-clock step must not hold
         * lines back): a line waits at most its handler's interval plus
         * one tick. */
        lumen__cond_wait_until(&fl_cv, &fl_mu, lumen__mono_ns() + 10000000);
        if (atomic_load(&fl_state) == STOPPING)
            break;
        pthread_mutex_unlock(&fl_mu);
        if (atomic_load(&lumen__log_reopen_pending))
            lumen__log_sinks_reopen();
        bool pending = false;
        uint64_t seq0 = atomic_load(&fl_seq);
        int64_t now = lumen__mono_ns();
        for (tbuf *t = atomic_load_explicit(&list, memory_order_acquire); t; t = t->next) {
            lk_lock(t);
            if (t->len > 0) {
                if (now - t->first_ns >= t->interval_ns)
                    flush_locked(t);
                else
                    pending = true;
            }
            lk_unlock(t);
        }
        pthread_mutex_lock(&fl_mu);
        quiet_rounds = pending ? 0 : quiet_rounds + 1;
        /* Nothing buffered for a while: sleep until a line arrives. */
        if (quiet_rounds >= 3) {
            int run = RUN;
            if (atomic_compare_exchange_strong(&fl_state, &run, IDLE) &&
                atomic_load(&fl_seq) != seq0)
                atomic_store(&fl_state, RUN);
            quiet_rounds = 0;
        }
    }
    fl_exited = true;
    pthread_cond_broadcast(&fl_cv);
    pthread_mutex_unlock(&fl_mu);
    return NULL;
}

static void wake_flusher(void)
{
    pthread_mutex_lock(&fl_mu);
    int s = atomic_load(&fl_state);
    if (s == IDLE) {
        atomic_store(&fl_state, RUN);
        pthread_cond_signal(&fl_cv);
    } else if (s == DOWN && !atomic_load(&lumen__log_shut)) {
        atomic_store(&fl_state, RUN);
        fl_exited = false;
        if (pthread_create(&fl_thread, NULL, flusher, NULL) == 0) {
            fl_joinable = true;
        } else {
            /* Without a flusher, lines still leave when the batch fills,
             * at warn, at exit; report it once. */
            atomic_store(&fl_state, DOWN);
        }
    }
    pthread_mutex_unlock(&fl_mu);
}

/* ---- the batch ---------------------------------------------------------------------- */

void lumen__log_batch_add(lumen_log_handler *h, int level, const char *line, size_t n)
{
    tbuf *t = get_tbuf();
    if (LUMEN_UNLIKELY(t == NULL)) {
        if (!lumen__log_sink_write(h->sink, line, n))
            lumen__log_count_drop(1);
        return;
    }
    bool first = false;
    lk_lock(t);
    if (t->len > 0 && (t->sink != h->sink || t->len + n > LUMEN__LOG_BATCH))
        flush_locked(t);
    if (n > LUMEN__LOG_BATCH) {
        if (!lumen__log_sink_write(h->sink, line, n))
            lumen__log_count_drop(1);
    } else {
        if (t->len == 0) {
            t->first_ns = lumen__mono_ns();
            t->sink = h->sink;
            t->interval_ns = h->flush_interval_ns;
            first = true;
        }
        memcpy(t->data + t->len, line, n);
        t->len += n;
        t->lines++;
        if (level >= LUMEN_LOG_WARN) {
            flush_locked(t);
            first = false;
        }
    }
    lk_unlock(t);
    if (first) {
        atomic_fetch_add(&fl_seq, 1);
        if (atomic_load(&fl_state) != RUN)
            wake_flusher();
    }
}

bool lumen__log_batch_format(lumen_log_handler *h, const lumen__log_rec *r)
{
    tbuf *t = get_tbuf();
    if (LUMEN_UNLIKELY(t == NULL))
        return false;
    lk_lock(t);
    /* Leave room for a typical line so that formatting in place rarely
     * fails; a line that does not fit is formatted again by the caller
     * into its scratch buffer. */
    if (t->len > 0 && (t->sink != h->sink || LUMEN__LOG_BATCH - t->len < 1024))
        flush_locked(t);
    /* A fixed buffer over the rest of the batch (lumen__buf_fixed, inline). */
    lumen__buf b = {t->data + t->len, 0, LUMEN__LOG_BATCH + 1 - t->len, 0, false, true};
    t->data[t->len] = '\0';
    if (LUMEN_LIKELY(h->format == LUMEN_LOG_FORMAT_JSON))
        lumen__log_format_json(h, r, &b);
    else
        lumen__log_format(h, r, &b);
    if (LUMEN_UNLIKELY(b.oom)) {
        lk_unlock(t);
        return false;
    }
    bool first = t->len == 0;
    if (first) {
        t->first_ns = lumen__mono_ns();
        t->sink = h->sink;
        t->interval_ns = h->flush_interval_ns;
    }
    t->len += b.len;
    t->lines++;
    if (r->level >= LUMEN_LOG_WARN) {
        flush_locked(t);
        first = false;
    }
    lk_unlock(t);
    if (first) {
        atomic_fetch_add(&fl_seq, 1);
        if (atomic_load(&fl_state) != RUN)
            wake_flusher();
    }
    return true;
}

void lumen__log_batch_flush_all(void)
{
    for (tbuf *t = atomic_load_explicit(&list, memory_order_acquire); t; t = t->next) {
        lk_lock(t);
        flush_locked(t);
        lk_unlock(t);
    }
}

void lumen__log_batch_stop(int64_t deadline_ns)
{
    pthread_mutex_lock(&fl_mu);
    bool join = fl_joinable;
    if (join)
        atomic_store(&fl_state, STOPPING);
    pthread_cond_broadcast(&fl_cv);
    fl_joinable = false;
    /* The flusher may be stuck writing into a full pipe: past the deadline
     * (monotonic) it is left to finish on its own. */
    while (join && !fl_exited && lumen__mono_ns() < deadline_ns)
        lumen__cond_wait_until(&fl_cv, &fl_mu, deadline_ns);
    bool exited = fl_exited;
    pthread_mutex_unlock(&fl_mu);
    if (join) {
        if (exited)
            pthread_join(fl_thread, NULL);
        else
            pthread_detach(fl_thread);
    }
}

void lumen__log_batch_flush_from_signal(int64_t deadline_ns)
{
    /* try-locks only: a batch whose lock is held (perhaps by the very code
     * the signal interrupted) is skipped rather than deadlocked on. */
    for (tbuf *t = atomic_load_explicit(&list, memory_order_acquire); t; t = t->next) {
        if (!lk_try(t))
            continue;
        if (t->len > 0 && t->sink != NULL && t->sink->cb == NULL) {
            int fd = atomic_load(&t->sink->fd);
            if (deadline_ns > 0)
                lumen__log_write_until(fd, t->data, t->len, t->sink->is_pipe, deadline_ns);
            else
                lumen__log_write_all(fd, t->data, t->len, t->sink->is_pipe);
            t->len = 0;
            t->lines = 0;
        }
        lk_unlock(t);
    }
}

void lumen_log_flush_from_signal(void)
{
    lumen__log_batch_flush_from_signal(0);
}

/* ---- fork ---------------------------------------------------------------------------------- */

void lumen__log_batch_atfork_prepare(void)
{
    pthread_mutex_lock(&fl_mu);
    pthread_mutex_lock(&list_mu);
}

void lumen__log_batch_atfork_parent(void)
{
    pthread_mutex_unlock(&list_mu);
    pthread_mutex_unlock(&fl_mu);
}

void lumen__log_batch_atfork_child(void)
{
    /* Only the forking thread survives. Every other thread's batch belongs
     * to the parent (which writes it): drop it here, free the structure
     * for reuse, and reset its mutex, which a vanished thread may hold.
     * The flusher thread is gone; the next batched line starts a new one. */
    for (tbuf *t = atomic_load(&list); t != NULL; t = t->next) {
        atomic_store_explicit(&t->lk, 0, memory_order_relaxed);
        t->len = 0;
        t->lines = 0;
        if (t != mine)
            atomic_store(&t->live, false);
    }
    pthread_mutex_init(&list_mu, NULL);
    pthread_mutex_init(&fl_mu, NULL);
    pthread_cond_init(&fl_cv, NULL);
    atomic_store(&fl_state, DOWN);
    fl_joinable = false;
    fl_exited = false;
}
