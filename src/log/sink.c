/*
 * log/sink.c: sinks (stdout, stderr, an fd, a file, a callback) and the
 * one write loop every byte of the log layer goes through. It keeps its own
 * list of every sink it opened (sinks are never freed), which reopening
 * (file sinks at their path, descriptor sinks looked at again) and the
 * fork child walk.
 *
 * The write loop: one write(2) for the whole buffer; a short write is
 * continued and EINTR retried, so a signal storm or a slow reader never
 * loses or splits a line. The sink's write mutex keeps the continuation of
 * a short write from being interleaved with another thread's bytes. EPIPE
 * (reader gone) must not kill the process: writes to a pipe or socket run
 * inside core's SIGPIPE guard (core/sigpipe.h), which blocks SIGPIPE in
 * the calling thread and consumes the SIGPIPE a write raised before the
 * mask is restored, also when a signal handler's write (the raw path)
 * nests inside this thread's write. This leaves the program's own SIGPIPE
 * disposition alone (no global SIG_IGN), and it is async-signal-safe, so
 * the raw path uses it too.
 */
#include "log/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/sigpipe.h"

/* Serialises reopens. */
static pthread_mutex_t reopen_mu = PTHREAD_MUTEX_INITIALIZER;
/* Every sink ever opened, newest first; pushed lock-free, never shrinks. */
static _Atomic(lumen__log_sink *) sinks;
_Atomic int lumen__log_reopen_pending;

static void classify(lumen__log_sink *s, int fd)
{
    struct stat st;
    s->is_pipe = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    s->is_tty = isatty(fd) == 1;
}

/* The syslog sink is a built-in callback: one syslog(3) call per line,
 * the line passed as an argument to "%.*s", never as the format. */
static void to_syslog(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)ud;
    int pri = level >= LUMEN_LOG_FATAL   ? LOG_CRIT
              : level >= LUMEN_LOG_ERROR ? LOG_ERR
              : level >= LUMEN_LOG_WARN  ? LOG_WARNING
              : level >= LUMEN_LOG_INFO  ? LOG_INFO
                                         : LOG_DEBUG;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    syslog(pri, "%.*s", (int)(len < INT32_MAX ? len : INT32_MAX), line);
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int lumen__log_sink_open(lumen__log_sink **out, const lumen_log_handler_options *o)
{
    lumen__log_sink *s = lumen__calloc(1, sizeof *s);
    if (s == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&s->write_mu, NULL);
    s->kind = (int)o->sink;
    int fd = -1;
    switch (o->sink) {
    case LUMEN_LOG_SINK_STDOUT:
        fd = STDOUT_FILENO;
        break;
    case LUMEN_LOG_SINK_STDERR:
        fd = STDERR_FILENO;
        break;
    case LUMEN_LOG_SINK_FD:
        fd = o->fd;
        break;
    case LUMEN_LOG_SINK_FILE:
        s->path = lumen__strdup(o->path);
        if (s->path == NULL)
            goto nomem;
        fd = open_file(o->path);
        if (fd < 0) {
            int e = errno;
            lumen__free(s->path, strlen(s->path) + 1);
            pthread_mutex_destroy(&s->write_mu);
            lumen__free(s, sizeof *s);
            errno = e;
            return LUMEN_ESYS;
        }
        s->owns_fd = true;
        break;
    case LUMEN_LOG_SINK_CALLBACK:
        s->cb = o->callback;
        s->cb_ud = o->callback_ud;
        break;
    case LUMEN_LOG_SINK_SYSLOG:
        s->cb = to_syslog;
        break;
    }
    atomic_store(&s->fd, fd);
    if (fd >= 0)
        classify(s, fd);
    lumen__log_sink *head = atomic_load(&sinks);
    do {
        s->next = head;
    } while (!atomic_compare_exchange_weak(&sinks, &head, s));
    *out = s;
    return LUMEN_OK;
nomem:
    pthread_mutex_destroy(&s->write_mu);
    lumen__free(s, sizeof *s);
    return LUMEN_ENOMEM;
}

bool lumen__log_write_all(int fd, const char *p, size_t n, bool is_pipe)
{
    lumen__sigpipe_guard g;
    if (is_pipe)
        lumen__sigpipe_enter(&g);
    bool ok = true, got_epipe = false;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            /* Someone set O_NONBLOCK on the open file description: wait a
             * little rather than spin or lose the line. */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        got_epipe = w < 0 && errno == EPIPE;
        ok = false;
        break;
    }
    if (is_pipe)
        lumen__sigpipe_leave(&g, got_epipe);
    return ok;
}

bool lumen__log_write_until(int fd, const char *p, size_t n, bool is_pipe, int64_t deadline_ns)
{
    /* Non-blocking for the duration, so that a reader that stopped reading
     * (a full pipe) costs at most the deadline, not forever. The flag is
     * the open file description's, shared with the rest of the process;
     * it is put back before returning. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    lumen__sigpipe_guard g;
    if (is_pipe)
        lumen__sigpipe_enter(&g);
    bool ok = true, got_epipe = false;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            int64_t left = deadline_ns - lumen__mono_ns();
            if (left <= 0) {
                ok = false;
                break;
            }
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, left > 1000000000 ? 1000 : (int)(left / 1000000) + 1);
            continue;
        }
        got_epipe = w < 0 && errno == EPIPE;
        ok = false;
        break;
    }
    if (is_pipe)
        lumen__sigpipe_leave(&g, got_epipe);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl);
    return ok;
}

bool lumen__log_sink_write(lumen__log_sink *s, const char *p, size_t n)
{
    if (s->cb != NULL) {
        /* A callback gets one call per line. */
        while (n > 0) {
            const char *nl = memchr(p, '\n', n);
            size_t len = nl != NULL ? (size_t)(nl - p) + 1 : n;
            s->cb(LUMEN_LOG_INFO, p, len, s->cb_ud);
            p += len;
            n -= len;
        }
        return true;
    }
    if (atomic_load_explicit(&lumen__log_reopen_pending, memory_order_relaxed))
        lumen__log_sinks_reopen();
    pthread_mutex_lock(&s->write_mu);
    int fd = atomic_load_explicit(&s->fd, memory_order_relaxed);
    bool ok = fd >= 0 && lumen__log_write_all(fd, p, n, s->is_pipe);
    int e = errno;
    bool report = !ok && !s->broken_reported;
    if (report)
        s->broken_reported = true;
    pthread_mutex_unlock(&s->write_mu);
    if (report)
        lumen__diag(LUMEN_DIAG_ERROR, "log: write to fd %d failed: %s; lines are dropped", fd,
                    strerror(e));
    return ok;
}

int lumen__log_sinks_reopen(void)
{
    atomic_store(&lumen__log_reopen_pending, 0);
    int rc = LUMEN_OK;
    pthread_mutex_lock(&reopen_mu);
    for (lumen__log_sink *s = atomic_load(&sinks); s != NULL; s = s->next) {
        if (s->kind != LUMEN_LOG_SINK_FILE)
            continue;
        int fd = open_file(s->path);
        if (fd < 0) {
            rc = LUMEN_ESYS;
            continue;
        }
        /* dup2 swaps the file under the same descriptor number, so a
         * writer holding the old number never writes to a closed fd. */
        pthread_mutex_lock(&s->write_mu);
        int old = atomic_load(&s->fd);
        if (dup2(fd, old) < 0)
            rc = LUMEN_ESYS;
        s->broken_reported = false;
        pthread_mutex_unlock(&s->write_mu);
        close(fd);
    }
    pthread_mutex_unlock(&reopen_mu);
    return rc;
}

void lumen__log_sinks_recheck(void)
{
    for (lumen__log_sink *s = atomic_load(&sinks); s != NULL; s = s->next) {
        if (s->kind == LUMEN_LOG_SINK_FILE || s->cb != NULL)
            continue;
        pthread_mutex_lock(&s->write_mu);
        struct stat st;
        int fd = atomic_load(&s->fd);
        s->is_pipe = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
        pthread_mutex_unlock(&s->write_mu);
    }
}

void lumen__log_sink_atfork_child(void)
{
    /* A write mutex held by a thread that does not exist in the child
     * would block the child's first line forever. */
    pthread_mutex_init(&reopen_mu, NULL);
    for (lumen__log_sink *s = atomic_load(&sinks); s != NULL; s = s->next)
        pthread_mutex_init(&s->write_mu, NULL);
}
