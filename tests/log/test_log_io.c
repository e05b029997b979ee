/* tests/log/test_log_io.c: the write side of stdout. A closed pipe
 * (EPIPE must not kill the process), a full pipe in sync mode (blocks,
 * loses nothing) and in async mode (never blocks beyond its policy),
 * short writes and EINTR under a signal storm, and logging in a child
 * right after fork() while other threads log. Scenarios that need a fresh
 * process whose stdout is the pipe re-run this binary with a mode
 * argument. Not labelled "threads": ThreadSanitizer cannot start threads
 * in the child of a multi-threaded fork, which the fork test does. */
#include "log_test.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

static const char *self_path;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start this binary in `mode` with its stdout on a new pipe; *rd gets the
 * read end. */
static pid_t spawn_mode(const char *mode, int *rd, bool close_read)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(self_path, self_path, mode, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (close_read) {
        close(p[0]);
        *rd = -1;
    } else {
        *rd = p[0];
    }
    return pid;
}

static char *read_all(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - n < 4096)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st))
        return 1000 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* ---- child modes --------------------------------------------------------------- */

/* stdout's reader is gone: every line fails with EPIPE. */
static int child_epipe(void)
{
    lumen_logger *lg = lumen_logger_get("epipe");
    for (int i = 0; i < 1000; i++)
        LUMEN_LOG_WARN(lg, "nobody reads this", LUMEN_INT("i", i));
    lumen_log_flush(0);
    lumen_log_raw(-1, LUMEN_LOG_ERROR, "raw too");
    return lumen_log_dropped() > 0 ? 0 : 3;
}

/* stdout starts as /dev/null (not a pipe) and is then redirected to a
 * pipe whose reader is gone; lumen_log_reopen() looks at fd 1 again. */
static int child_epipe_after_dup2(void)
{
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    lumen_logger *lg = lumen_logger_get("dup2");
    LUMEN_LOG_WARN(lg, "to /dev/null");
    int p[2];
    if (pipe(p) != 0)
        return 4;
    close(p[0]);
    dup2(p[1], 1);
    if (lumen_log_reopen() != LUMEN_OK)
        return 5;
    for (int i = 0; i < 10; i++)
        LUMEN_LOG_WARN(lg, "nobody reads this", LUMEN_INT("i", i));
    return lumen_log_dropped() > 0 ? 0 : 3;
}

/* Sync mode into a pipe nobody reads yet: blocks, then delivers all. */
static int child_sync_full(void)
{
    lumen_logger *lg = lumen_logger_get("sync");
    for (int i = 0; i < 3000; i++)
        LUMEN_LOG_INFO(lg, "line", LUMEN_INT("i", i),
                       LUMEN_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    lumen_log_flush(0);
    return lumen_log_dropped() == 0 ? 0 : 3;
}

static lumen_logger *async_stdout(lumen_log_overflow policy, size_t queue, uint32_t block_ms)
{
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = LUMEN_LOG_ASYNC;
    o.overflow = policy;
    o.queue_bytes = queue;
    o.block_timeout_ms = block_ms;
    lumen_log_handler *h;
    if (lumen_log_handler_new(&h, &o) != LUMEN_OK)
        _exit(4);
    lumen_logger *lg = lumen_logger_get("async");
    lumen_logger_set_handlers(lg, &h, 1);
    return lg;
}

/* Async DROP into a pipe nobody reads: the program never waits. */
static int child_async_drop(void)
{
    lumen_logger *lg = async_stdout(LUMEN_LOG_OVERFLOW_DROP, 64 << 10, 0);
    int64_t t0 = now_ms();
    for (int i = 0; i < 200000; i++)
        LUMEN_LOG_INFO(lg, "async", LUMEN_INT("i", i));
    int64_t took = now_ms() - t0;
    if (took > 3000)
        return 5;
    if (lumen_log_dropped() == 0)
        return 6;
    t0 = now_ms();
    int rc = lumen_log_shutdown(100);
    if (now_ms() - t0 > 1500 || rc != LUMEN_ETIMEDOUT)
        return 7;
    return 0;
}

/* Async BLOCK with a 50 ms bound: no call waits much longer. */
static int child_async_block(void)
{
    lumen_logger *lg = async_stdout(LUMEN_LOG_OVERFLOW_BLOCK, 16 << 10, 50);
    char pad[1024];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    int64_t worst = 0;
    for (int i = 0; i < 300; i++) {
        int64_t t0 = now_ms();
        LUMEN_LOG_INFO(lg, "async", LUMEN_INT("i", i), LUMEN_STR("pad", pad));
        int64_t d = now_ms() - t0;
        worst = d > worst ? d : worst;
        if (lumen_log_dropped() >= 3)
            break;
    }
    if (worst < 40 || worst > 600)
        return 5;
    if (lumen_log_dropped() == 0)
        return 6;
    lumen_log_shutdown(50);
    return 0;
}

/* Async lines are all delivered by shutdown; logging afterwards is
 * synchronous. */
static int child_shutdown(void)
{
    lumen_logger *lg = async_stdout(LUMEN_LOG_OVERFLOW_BLOCK, 64 << 10, LUMEN_WAIT_FOREVER);
    for (int i = 0; i < 5000; i++)
        LUMEN_LOG_INFO(lg, "async", LUMEN_INT("i", i));
    if (lumen_log_shutdown(5000) != LUMEN_OK)
        return 5;
    LUMEN_LOG_INFO(lg, "after shutdown", LUMEN_INT("i", 5000));
    LUMEN_LOG_INFO(lumen_logger_get("other"), "after shutdown", LUMEN_INT("i", 5001));
    return lumen_log_dropped() == 0 ? 0 : 6;
}

/* A signal storm against a writer whose reader exits. Each SIGUSR1 lands
 * in a handler that writes with lumen_log_raw, often while the main thread
 * is inside lumen's own write to the same pipe (SIGPIPE blocked there).
 * SIGPIPE keeps its default action: a SIGPIPE left pending by the nested
 * write and delivered when the outer write restores its mask kills the
 * process (status 141 from a shell). */
static _Atomic int storm_stop;
static int storm_raw_fd = 1;

static void on_usr1_raw(int sig)
{
    (void)sig;
    int e = errno;
    lumen_log_raw(storm_raw_fd, LUMEN_LOG_WARN, "from a signal handler");
    errno = e;
}

/* The main thread's iteration count: the storm sends at most 16 signals
 * per iteration. Unbounded, a handler slower than pthread_kill (ASan's
 * is) keeps a signal always pending, and the main thread never leaves
 * its handler: a livelock of the test, not of lumen (seen once under
 * ASan: the test timed out after 120 s). */
static _Atomic int storm_iter;

static void *usr1_storm(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    int last = -1, sent = 0;
    while (!atomic_load(&storm_stop)) {
        int it = atomic_load(&storm_iter);
        if (it != last) {
            last = it;
            sent = 0;
        }
        if (sent < 16) {
            pthread_kill(target, SIGUSR1);
            sent++;
        } else {
            sched_yield();
        }
    }
    return NULL;
}

/* masked: the handler runs with every signal blocked (sa_mask full), so
 * its write finds SIGPIPE blocked outside any guard of lumen's. */
static int child_sigpipe_storm(bool masked)
{
    signal(SIGPIPE, SIG_DFL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1_raw;
    sa.sa_flags = SA_RESTART;
    if (masked)
        sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    lumen_logger *lg = lumen_logger_get("storm");
    pthread_t self = pthread_self(), st;
    pthread_create(&st, NULL, usr1_storm, &self);
    for (int i = 0; i < 4000; i++) {
        LUMEN_LOG_WARN(lg, "outer write", LUMEN_INT("i", i)); /* a warning is written at once */
        if (i % 4 == 0)
            lumen_log_raw(1, LUMEN_LOG_ERROR, "outer raw write");
        atomic_fetch_add(&storm_iter, 1);
    }
    atomic_store(&storm_stop, 1);
    pthread_join(st, NULL);
    return lumen_log_dropped() > 0 ? 0 : 3;
}

static bool sigpipe_pending(void)
{
    sigset_t p;
    return sigpending(&p) == 0 && sigismember(&p, SIGPIPE);
}

/* stdout's reader is gone, SIGPIPE keeps its default action, and lumen
 * writes with SIGPIPE already blocked: from a handler whose sa_mask blocks
 * every signal (the write's SIGPIPE, left pending, would kill the process
 * when the handler returns), and under the program's own block, where
 * lumen must take the SIGPIPE its write raised but never one that the
 * program had pending already. */
static int child_sigpipe_blocked(void)
{
    signal(SIGPIPE, SIG_DFL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1_raw;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 100; i++)
        raise(SIGUSR1); /* each returns only after the handler ran */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    lumen_log_raw(1, LUMEN_LOG_ERROR, "the program blocks SIGPIPE");
    if (sigpipe_pending())
        return 5;   /* ours, left behind */
    raise(SIGPIPE); /* the program's own, pending while blocked */
    lumen_log_raw(1, LUMEN_LOG_ERROR, "the program has a SIGPIPE pending");
    if (!sigpipe_pending())
        return 6; /* the program's, taken */
    int sig = 0;
    sigwait(&pipe_set, &sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    lumen_log_raw(1, LUMEN_LOG_ERROR, "SIGPIPE unblocked again");
    return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_log_io__closed_pipe_epipe_does_not_kill(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--epipe", &rd, true);
    assert_int_equal(wait_exit(pid), 0);
}

/* The nested write's SIGPIPE must never kill the process. One child
 * rarely hits the window (about 1 run in 10 of a real program did), so
 * many children each run thousands of writes under the storm. */
static void storms(const char *mode, int children)
{
    int died = 0, bad = 0;
    for (int k = 0; k < children; k++) {
        int rd;
        pid_t pid = spawn_mode(mode, &rd, false);
        /* The reader takes a few lines, then exits. */
        char buf[2048];
        (void)read(rd, buf, sizeof buf);
        close(rd);
        int rc = wait_exit(pid);
        if (rc == 1000 + SIGPIPE)
            died++;
        else if (rc != 0)
            bad++;
    }
    assert_int_equal(died, 0);
    assert_int_equal(bad, 0);
}

static void test_log_io__sigpipe_from_nested_signal_handler_write(void **state)
{
    (void)state;
    storms("--sigpipe-storm", 40);
}

/* The same, with handlers that block every signal while they run. */
static void test_log_io__sigpipe_from_masked_signal_handler_write(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--sigpipe-blocked", &rd, true);
    assert_int_equal(wait_exit(pid), 0);
    storms("--sigpipe-storm-masked", 20);
}

static void test_log_io__redirected_stdout_epipe_after_reopen(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--epipe-dup2", &rd, true);
    assert_int_equal(wait_exit(pid), 0);
}

static void test_log_io__sync_full_pipe_blocks_then_delivers(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--sync-full", &rd, false);
    /* 3000 lines of ~150 bytes exceed the 64 KiB pipe: the child blocks
     * in write(2), as documented for sync mode, and stays there. */
    assert_true(lt_poll(lt_blocked_in_pipe_write, pid, 10000));
    int st;
    assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
    size_t n;
    char *out = read_all(rd, &n);
    close(rd);
    assert_int_equal(wait_exit(pid), 0);
    lt_py_check("assert len(recs) == 3000, len(recs)\n"
                "assert [r['i'] for r in recs] == list(range(3000))\n",
                out, n, 1);
    free(out);
}

static void test_log_io__async_drop_never_blocks(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--async-drop", &rd, false);
    /* Never read: the child must finish on its own. */
    int64_t t0 = now_ms();
    int rc = wait_exit(pid);
    assert_int_equal(rc, 0);
    assert_true(now_ms() - t0 < 8000);
    size_t n;
    char *out = read_all(rd, &n); /* what fitted in the pipe: whole lines */
    close(rd);
    size_t keep = n;
    while (keep > 0 && out[keep - 1] != '\n')
        keep--; /* the writer was cut off mid-batch by exit */
    lt_py_check("assert len(recs) > 10\n", out, keep, 1);
    free(out);
}

static void test_log_io__shutdown_drains_then_goes_sync(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--shutdown", &rd, false);
    size_t n;
    char *out = read_all(rd, &n);
    close(rd);
    assert_int_equal(wait_exit(pid), 0);
    lt_py_check("assert [r['i'] for r in recs] == list(range(5002)), len(recs)\n", out, n, 1);
    free(out);
}

static void test_log_io__async_block_waits_at_most_its_bound(void **state)
{
    (void)state;
    int rd;
    pid_t pid = spawn_mode("--async-block", &rd, false);
    assert_int_equal(wait_exit(pid), 0);
    close(rd);
}

/* ---- short writes and EINTR --------------------------------------------------------- */

typedef struct storm {
    int rd;
    pthread_t target;
    _Atomic int stop;
    char *out;
    size_t n;
} storm;

static void on_usr2(int sig)
{
    (void)sig;
}

static void *slow_reader(void *arg)
{
    storm *s = arg;
    size_t cap = 1 << 20;
    s->out = malloc(cap);
    s->n = 0;
    for (;;) {
        if (cap - s->n < 8192)
            s->out = realloc(s->out, cap *= 2);
        ssize_t r = read(s->rd, s->out + s->n, 3000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        s->n += (size_t)r;
        usleep(20); /* pacing, not synchronisation: a slow reader makes short writes */
    }
    return NULL;
}

static void *signaller(void *arg)
{
    storm *s = arg;
    while (!atomic_load(&s->stop)) {
        pthread_kill(s->target, SIGUSR2);
        usleep(10); /* pacing: a storm, not a livelock of the target */
    }
    return NULL;
}

static void test_log_io__short_writes_and_eintr_retried(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = 0; /* no SA_RESTART: blocked writes return EINTR or short */
    sigaction(SIGUSR2, &sa, NULL);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = p[1];
    o.format = LUMEN_LOG_FORMAT_JSON;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("storm");
    lumen_logger_set_handlers(lg, &h, 1);
    storm s = {.rd = p[0], .target = pthread_self()};
    pthread_t rt, st;
    pthread_create(&rt, NULL, slow_reader, &s);
    pthread_create(&st, NULL, signaller, &s);
    char *big = malloc(20001);
    memset(big, 'b', 20000);
    big[20000] = '\0';
    for (int i = 0; i < 400; i++) {
        if (i % 4 == 0)
            LUMEN_LOG_INFO(lg, "big", LUMEN_INT("i", i), LUMEN_STR("v", big));
        else
            LUMEN_LOG_INFO(lg, "small", LUMEN_INT("i", i));
    }
    lumen_log_flush(0);
    atomic_store(&s.stop, 1);
    pthread_join(st, NULL);
    close(p[1]);
    pthread_join(rt, NULL);
    close(p[0]);
    signal(SIGUSR2, SIG_DFL);
    free(big);
    assert_int_equal(lumen_log_dropped(), 0);
    lt_py_check("assert [r['i'] for r in recs] == list(range(400)), len(recs)\n"
                "assert all(len(r['v']) == 20000 for r in recs if r['msg'] == 'big')\n",
                s.out, s.n, 1);
    free(s.out);
}

/* ---- async near the value limit ----------------------------------------------------- */

static lumen_log_handler *file_handler(const char *path, unsigned flags)
{
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FILE;
    o.path = path;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = flags;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    return h;
}

static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* With the defaults (1 MiB value limit, 1 MiB queue) an async handler
 * writes exactly what a sync handler writes: a value over the limit cut
 * with its marker, a value at the limit whole, a line that nearly fills
 * the queue, and the lines right after each of them. */
static void test_log_io__async_long_lines_as_sync(void **state)
{
    (void)state;
    char *dir = lt_tempdir();
    char sync_path[600], async_path[600];
    snprintf(sync_path, sizeof sync_path, "%s/sync.log", dir);
    snprintf(async_path, sizeof async_path, "%s/async.log", dir);
    free(dir);
    lumen_log_handler *hs[2] = {file_handler(sync_path, 0),
                                file_handler(async_path, LUMEN_LOG_ASYNC)};
    lumen_logger *lg = lumen_logger_get("long");
    assert_int_equal(lumen_logger_set_handlers(lg, hs, 2), LUMEN_OK);
    uint64_t dropped = lumen_log_dropped();
    char *over = filled(2u << 20, 'a'), *at = filled(1u << 20, 'b'),
         *near = filled(1000u << 10, 'c');
    /* Each long line and the line right after it in one burst (the
     * queue holds one long line besides its own capacity: a burst of two
     * waits for room like any burst larger than the queue). */
    LUMEN_LOG_INFO(lg, "over the limit", LUMEN_STR("v", over));
    LUMEN_LOG_INFO(lg, "next", LUMEN_INT("i", 0));
    lumen_log_flush(0);
    LUMEN_LOG_INFO(lg, "at the limit", LUMEN_STR("v", at));
    LUMEN_LOG_INFO(lg, "next", LUMEN_INT("i", 1));
    lumen_log_flush(0);
    LUMEN_LOG_INFO(lg, "nearly the queue", LUMEN_STR("v", near));
    for (int i = 2; i < 50; i++)
        LUMEN_LOG_INFO(lg, "next", LUMEN_INT("i", i));
    lumen_log_flush(0);
    free(over);
    free(at);
    free(near);
    assert_int_equal(lumen_log_dropped(), dropped);
    size_t sn, an;
    char *s = lt_read_file(sync_path, &sn);
    char *a = lt_read_file(async_path, &an);
    assert_non_null(s);
    assert_non_null(a);
    lt_py_check("assert len(recs) == 53, len(recs)\n"
                "assert recs[0]['v'] == 'a' * (1 << 20) + '...[truncated 1048576 bytes]', "
                "recs[0]['v'][-40:]\n"
                "assert recs[2]['v'] == 'b' * (1 << 20)\n"
                "assert recs[4]['v'] == 'c' * (1000 << 10)\n"
                "assert [r['i'] for r in recs if r['msg'] == 'next'] == list(range(50))\n",
                a, an, 1);
    assert_int_equal(an, sn);
    assert_memory_equal(a, s, sn);
    free(s);
    free(a);
}

/* ---- fork -------------------------------------------------------------------------------- */

/* AddressSanitizer's runtime (clang 14) takes no lock of its own across
 * fork: a child forked while another thread is inside the ASan allocator
 * inherits that allocator's mutex held, and the child's first new thread
 * (the async writer lumen restarts) blocks in ASan's thread start forever
 * (seen with gdb: __asan::AsanThread::Init -> calloc -> Semaphore::Wait).
 * glibc's malloc and TSan lock around fork; ASan in LLVM 14 does not. So
 * under ASan the parent's threads are brought to rest before each fork,
 * and the race of fork against logging threads is tested by the release
 * build, where it is a property of lumen alone. */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_QUIESCE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FORK_QUIESCE 1
#endif
#endif
#ifndef FORK_QUIESCE
#define FORK_QUIESCE 0
#endif

typedef struct churn {
    lumen_logger *lg;
    _Atomic int stop;
    _Atomic int pause;  /* FORK_QUIESCE: churners wait while it is set */
    _Atomic int parked; /* churners waiting */
} churn;

static void *churner(void *arg)
{
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        if (atomic_load(&c->pause)) {
            atomic_fetch_add(&c->parked, 1);
            while (atomic_load(&c->pause) && !atomic_load(&c->stop))
                sched_yield();
            atomic_fetch_sub(&c->parked, 1);
            continue;
        }
        LUMEN_LOG_INFO(c->lg, "parent thread", LUMEN_STR("who", "churn"));
    }
    return NULL;
}

/* FORK_QUIESCE: park both churners and let the async writer drain, so no
 * thread of the parent is inside the allocator when it forks. */
static void quiesce(churn *c)
{
    atomic_store(&c->pause, 1);
    int64_t until = now_ms() + 30000;
    while (atomic_load(&c->parked) < 2) {
        assert_true(now_ms() < until);
        sched_yield();
    }
    assert_int_equal(lumen_log_flush(10000), LUMEN_OK);
}

static void test_log_io__child_logs_right_after_fork(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "fork", LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0);
    /* An async handler too: the child must restart its writer. */
    char apath[600];
    snprintf(apath, sizeof apath, "%s.async", c.path);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FILE;
    o.path = apath;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = LUMEN_LOG_ASYNC;
    lumen_log_handler *hs[2] = {c.h, NULL};
    assert_int_equal(lumen_log_handler_new(&hs[1], &o), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(lg, hs, 2), LUMEN_OK);
    churn ch = {.lg = lg};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churner, &ch);
    for (int k = 0; k < 20; k++) {
        if (FORK_QUIESCE)
            quiesce(&ch);
        pid_t pid = fork();
        assert_true(pid >= 0);
        atomic_store(&ch.pause, 0);
        if (pid == 0) {
            /* A lock left held would hang the child: SIGALRM fails it. The
             * alarm is well past the flush's own timeout, so that a flush
             * that times out (exit 4) is told apart from a hang (status
             * 1014); with both at 5 s they were the same failure. */
            alarm(30);
            LUMEN_LOG_INFO(lg, "child", LUMEN_INT("k", k));
            _exit(lumen_log_flush(10000) == LUMEN_OK ? 0 : 4);
        }
        assert_int_equal(wait_exit(pid), 0);
    }
    atomic_store(&ch.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    size_t n;
    char *out = lt_cap_read(&c, &n);
    const char *script = "ks = sorted(r['k'] for r in recs if r['msg'] == 'child')\n"
                         "assert ks == list(range(20)), ks\n";
    lt_py_check(script, out, n, 1);
    free(out);
    out = lt_read_file(apath, &n);
    assert_non_null(out);
    lt_py_check(script, out, n, 1);
    free(out);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1) {
        if (strcmp(argv[1], "--epipe") == 0)
            return child_epipe();
        if (strcmp(argv[1], "--sigpipe-storm") == 0)
            return child_sigpipe_storm(false);
        if (strcmp(argv[1], "--sigpipe-storm-masked") == 0)
            return child_sigpipe_storm(true);
        if (strcmp(argv[1], "--sigpipe-blocked") == 0)
            return child_sigpipe_blocked();
        if (strcmp(argv[1], "--epipe-dup2") == 0)
            return child_epipe_after_dup2();
        if (strcmp(argv[1], "--sync-full") == 0)
            return child_sync_full();
        if (strcmp(argv[1], "--async-drop") == 0)
            return child_async_drop();
        if (strcmp(argv[1], "--async-block") == 0)
            return child_async_block();
        if (strcmp(argv[1], "--shutdown") == 0)
            return child_shutdown();
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_io__closed_pipe_epipe_does_not_kill),
        cmocka_unit_test(test_log_io__sigpipe_from_nested_signal_handler_write),
        cmocka_unit_test(test_log_io__sigpipe_from_masked_signal_handler_write),
        cmocka_unit_test(test_log_io__redirected_stdout_epipe_after_reopen),
        cmocka_unit_test(test_log_io__sync_full_pipe_blocks_then_delivers),
        cmocka_unit_test(test_log_io__async_drop_never_blocks),
        cmocka_unit_test(test_log_io__async_block_waits_at_most_its_bound),
        cmocka_unit_test(test_log_io__shutdown_drains_then_goes_sync),
        cmocka_unit_test(test_log_io__short_writes_and_eintr_retried),
        cmocka_unit_test(test_log_io__async_long_lines_as_sync),
        cmocka_unit_test(test_log_io__child_logs_right_after_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
