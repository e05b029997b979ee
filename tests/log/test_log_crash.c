/* tests/log/test_log_crash.c: the crash handler (lumen/crash.h). Each
 * scenario re-runs this binary in a child whose stdout is a pipe: the
 * child installs the handler, logs through an asynchronous and a batched
 * handler (lines still queued when it crashes), makes a span current with
 * a known trace id and a request id, and crashes. The parent checks that
 * the child died of the signal (so the default action ran) and hands its
 * output to Python's json: one crash line with the signal, the ids, and a
 * backtrace naming the crashing function; the lines logged before it.
 *
 * The binary is linked with -rdynamic (ENABLE_EXPORTS) so that the
 * dynamic linker can name its functions, as docs/instrumentation.md tells
 * users to do. Under ASan the child runs with ASan's own SEGV, abort and
 * FPE handlers off (ASAN_OPTIONS below): otherwise ASan reports the crash
 * itself and exits, and lumen's handler never runs. */
#include "log_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "lumen/crash.h"
#include "lumen/otlp.h"
#include "lumen/trace.h"

#define TRACE_ID "0af7651916cd43dd8448eb211c80319c"

static const char *self_path;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the crashing functions (exported, not inlined, not static) ---- */

__attribute__((noinline, visibility("default"))) void lumen_test_crash_segv(void);
__attribute__((noinline, visibility("default"))) void lumen_test_crash_abort(void);
__attribute__((noinline, visibility("default"))) void lumen_test_crash_fpe(int d);
__attribute__((noinline, visibility("default"))) int lumen_test_crash_recurse(int depth);
__attribute__((noinline, visibility("default"))) void lumen_test_crash_ill(void);
__attribute__((noinline, visibility("default"))) int lumen_test_crash_bus(void);

/* Volatile, so the compiler can neither see the NULL nor drop the store. */
static int *volatile null_ptr;

/* UBSan would report the NULL store and exit. */
__attribute__((no_sanitize("undefined"))) void lumen_test_crash_segv(void)
{
    *null_ptr = 42;
}

/* Through a pointer: a direct call of the noreturn abort() would be the
 * function's last instruction, and its return address, one past the end,
 * would name the next function; and not as a tail call, which would
 * leave no frame of this function at all. */
static void (*volatile abort_fn)(void) = abort;

void lumen_test_crash_abort(void)
{
    abort_fn();
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
}

/* UBSan would catch the division and abort (SIGABRT); the test wants the
 * CPU's divide error. */
__attribute__((no_sanitize("undefined"))) void lumen_test_crash_fpe(int d)
{
    volatile int x = 1;
    x = x / d;
}

void lumen_test_crash_ill(void)
{
    __builtin_trap(); /* ud2 on x86, an undefined instruction elsewhere */
}

/* A page of a file mapped, then the file cut short: reading the page is a
 * bus error (BUS_ADRERR). */
int lumen_test_crash_bus(void)
{
    char path[] = "/tmp/lumen-crash-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return -1;
    volatile char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    unlink(path);
    if (m == MAP_FAILED || ftruncate(fd, 0) != 0)
        return -1;
    return m[0];
}

/* A bound no stack reaches, which the compiler cannot see through. */
static volatile int recurse_limit = 1 << 30;

int lumen_test_crash_recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    if (depth >= recurse_limit)
        return 0;
    return lumen_test_crash_recurse(depth + 1) + pad[0];
}

/* ---- the child ---- */

/* The program's handler that LUMEN_CRASH_CHAIN calls: it marks the output. */
static void chained_handler(int sig)
{
    static const char msg[] = "chained handler ran\n";
    (void)sig;
    ssize_t w = write(1, msg, sizeof msg - 1);
    (void)w;
}

/* Two threads that crash at once: only one reports. */
static pthread_barrier_t race_barrier;

static void *race_thread(void *arg)
{
    (void)arg;
    lumen_log_set_request_id("req-42");
    pthread_barrier_wait(&race_barrier);
    lumen_test_crash_segv();
    return NULL;
}

/* A thread of the program that asks for its own alternate stack. */
static void *overflow_thread(void *arg)
{
    (void)arg;
    if (lumen_crash_thread_init() != LUMEN_OK)
        return NULL;
    lumen_log_set_request_id("req-42"); /* this thread's own context */
    lumen_test_crash_recurse(0);
    return NULL;
}

static int child(const char *mode)
{
    /* No core files from the test's deliberate crashes. */
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);

    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.format = LUMEN_LOG_FORMAT_JSON;
    ho.sink = LUMEN_LOG_SINK_STDOUT;
    ho.flags = LUMEN_LOG_ASYNC;
    /* Long enough that the lines are still queued at the crash. */
    ho.flush_interval_ms = 60000;
    lumen_log_handler *async_h, *batch_h;
    if (lumen_log_handler_new(&async_h, &ho) != LUMEN_OK)
        return 10;
    ho.flags = 0;
    if (lumen_log_handler_new(&batch_h, &ho) != LUMEN_OK)
        return 11;
    lumen_logger *la = lumen_logger_get("app.async");
    lumen_logger *lb = lumen_logger_get("app.batched");
    lumen_logger_set_handlers(la, &async_h, 1);
    lumen_logger_set_handlers(lb, &batch_h, 1);
    lumen_logger_set_level(la, LUMEN_LOG_INFO);
    lumen_logger_set_level(lb, LUMEN_LOG_INFO);

    if (strcmp(mode, "chain") == 0) {
        /* The program's own handler, installed before lumen's. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = chained_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
    }
    lumen_crash_options co = LUMEN_CRASH_OPTIONS_INIT;
    if (strcmp(mode, "logfmt") == 0)
        co.format = LUMEN_LOG_FORMAT_LOGFMT;
    if (strcmp(mode, "text") == 0)
        co.format = LUMEN_LOG_FORMAT_TEXT;
    if (strcmp(mode, "chain") == 0)
        co.flags = LUMEN_CRASH_CHAIN;
    if (strcmp(mode, "stuck") == 0)
        co.flush_timeout_ms = 200;
    if (strcmp(mode, "fd") == 0) {
        /* The crash line to a file of its own; the log lines stay on
         * stdout. */
        const char *path = getenv("LUMEN_TEST_CRASH_FILE");
        co.fd = path != NULL ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        if (co.fd < 0)
            return 21;
    }
    int rc = lumen_crash_install(&co);
    if (rc != LUMEN_OK)
        return 12;

    lumen_tracer_provider *tp;
    if (lumen_tracer_provider_new(&tp, NULL) != LUMEN_OK)
        return 13;
    lumen_span_context *parent;
    if (lumen_span_context_new(&parent) != LUMEN_OK)
        return 14;
    const char *tpv = "00-" TRACE_ID "-b7ad6b7169203331-01";
    if (lumen_traceparent_parse(parent, tpv, strlen(tpv), NULL, NULL, 0) != LUMEN_OK)
        return 15;
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.parent_context = parent;
    lumen_span *s =
        lumen_span_start(lumen_tracer_provider_get_tracer(tp, "test", NULL), "work", &so);
    lumen_span_enter(s);
    lumen_log_set_request_id("req-42");

    LUMEN_LOG_INFO(la, "before crash async");
    LUMEN_LOG_INFO(lb, "before crash batched");

    if (strcmp(mode, "stuck") == 0) {
        /* Nobody reads our stdout: fill the pipe so that no write fits. */
        int fl = fcntl(1, F_GETFL);
        fcntl(1, F_SETFL, fl | O_NONBLOCK);
        char fill[4096];
        memset(fill, 'f', sizeof fill);
        while (write(1, fill, sizeof fill) > 0 || errno == EINTR)
            ;
        fcntl(1, F_SETFL, fl);
    }
    if (strcmp(mode, "race") == 0) {
        pthread_t th[2];
        pthread_barrier_init(&race_barrier, NULL, 2);
        for (int i = 0; i < 2; i++)
            if (pthread_create(&th[i], NULL, race_thread, NULL) != 0)
                return 18;
        pthread_join(th[0], NULL);
        return 19; /* not reached */
    }
    if (strcmp(mode, "thread_stack") == 0) {
        pthread_t th;
        if (pthread_create(&th, NULL, overflow_thread, NULL) != 0)
            return 16;
        pthread_join(th, NULL);
        return 17; /* not reached */
    }
    if (strcmp(mode, "segv") == 0 || strcmp(mode, "logfmt") == 0 || strcmp(mode, "text") == 0 ||
        strcmp(mode, "fd") == 0 || strcmp(mode, "chain") == 0 || strcmp(mode, "stuck") == 0)
        lumen_test_crash_segv();
    else if (strcmp(mode, "ill") == 0)
        lumen_test_crash_ill();
    else if (strcmp(mode, "bus") == 0)
        return lumen_test_crash_bus();
    else if (strcmp(mode, "abort") == 0)
        lumen_test_crash_abort();
    else if (strcmp(mode, "fpe") == 0)
        lumen_test_crash_fpe(0);
    else if (strcmp(mode, "stack") == 0)
        return lumen_test_crash_recurse(0);
    return 20; /* not reached */
}

/* ---- the parent ---- */

static char *run_child(const char *mode, int *status, size_t *len)
{
    bool stuck = strcmp(mode, "stuck") == 0;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        /* ASan and UBSan would handle these signals themselves. */
        setenv("ASAN_OPTIONS",
               "handle_segv=0:handle_abort=0:handle_sigfpe=0:handle_sigbus=0:handle_sigill=0:"
               "allow_user_segv_handler=1:detect_leaks=0",
               1);
        execl(self_path, self_path, mode, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (stuck) {
        /* Read nothing until the child is gone: its handler must give up
         * on the full pipe by its deadline (200 ms) and let the process
         * die. 60 s is a bound only a hang reaches. */
        int64_t until = now_ms() + 60000;
        pid_t w;
        while ((w = waitpid(pid, status, WNOHANG)) == 0 && now_ms() < until)
            poll(NULL, 0, 20);
        if (w == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            fail_msg("the crash handler did not end the process with its stdout full");
        }
        assert_int_equal(w, pid);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t r = read(p[0], buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(p[0]);
    if (!stuck)
        assert_int_equal(waitpid(pid, status, 0), pid);
    *len = n;
    return buf;
}

/* The checks common to every JSON scenario; `extra` adds its own. */
static void check_json(const char *mode, int sig, const char *signame, const char *func,
                       const char *extra)
{
    int status = 0;
    size_t n;
    char *out = run_child(mode, &status, &n);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
        fprintf(stderr, "child %s: status %#x, output:\n%s\n", mode, status, out);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
    char script[4096];
    snprintf(
        script, sizeof script,
        "crash = [r for r in recs if r.get('logger') == 'crash']\n"
        "assert len(crash) == 1, 'crash lines: %%d of %%r' %% (len(crash), lines)\n"
        "c = crash[0]\n"
        "assert c['level'] == 'fatal', c\n"
        "assert c['signal'] == '%s' and c['signo'] == %d, c\n"
        "assert c['msg'] == 'crash: %s', c\n"
        "assert isinstance(c['si_code'], int), c\n"
        "assert c['request_id'] == 'req-42', c\n"
        "before = {r['msg']: r for r in recs if r.get('logger', '').startswith('app.')}\n"
        "assert set(before) == {'before crash async', 'before crash batched'}, lines\n"
        "if %s:\n"
        "    assert c['trace_id'] == '" TRACE_ID "', c\n"
        "    for r in before.values():\n"
        "        assert r['span_id'] == c['span_id'] and r['trace_id'] == c['trace_id'], (r, c)\n"
        "    assert len(c['span_id']) == 16 and c['span_id'] != 'b7ad6b7169203331', c\n"
        "bt = c['backtrace']\n"
        "assert isinstance(bt, list) and 0 < len(bt) <= %d, bt\n"
        "assert any('%s' in f for f in bt), bt\n"
        "assert c['pid'] > 0 and c['tid'] > 0, c\n"
        "%s",
        signame, sig, signame,
        strcmp(mode, "thread_stack") != 0 && strcmp(mode, "race") != 0 ? "True" : "False",
        LUMEN_CRASH_FRAMES_MAX, func, extra);
    lt_py_check(script, out, n, 1);
    free(out);
}

static void test_log_crash__segv(void **state)
{
    (void)state;
    check_json("segv", SIGSEGV, "SIGSEGV", "lumen_test_crash_segv",
               "assert c['si_code_name'] == 'SEGV_MAPERR' and c['addr'] == '0x0', c\n");
}

static void test_log_crash__abort(void **state)
{
    (void)state;
    check_json("abort", SIGABRT, "SIGABRT", "lumen_test_crash_abort",
               "assert c['si_code_name'] == 'SI_TKILL' and 'addr' not in c, c\n");
}

static void test_log_crash__fpe(void **state)
{
    (void)state;
    check_json("fpe", SIGFPE, "SIGFPE", "lumen_test_crash_fpe",
               "assert c['si_code_name'] == 'FPE_INTDIV', c\n"
               "assert int(c['addr'], 16) != 0, c\n");
}

static void test_log_crash__ill(void **state)
{
    (void)state;
    check_json("ill", SIGILL, "SIGILL", "lumen_test_crash_ill",
               "assert c['si_code_name'].startswith('ILL_'), c\n"
               "assert int(c['addr'], 16) != 0, c\n");
}

static void test_log_crash__bus(void **state)
{
    (void)state;
    check_json("bus", SIGBUS, "SIGBUS", "lumen_test_crash_bus",
               "assert c['si_code_name'] == 'BUS_ADRERR', c\n"
               "assert int(c['addr'], 16) != 0, c\n");
}

static void test_log_crash__stack_overflow(void **state)
{
    (void)state;
    /* Reported from the alternate stack: the frames are the recursion,
     * as many as the line takes. */
    char extra[200];
    snprintf(extra, sizeof extra,
             "assert len(c['backtrace']) == %d, c\n"
             "assert sum('lumen_test_crash_recurse' in f for f in c['backtrace']) > 10, c\n",
             LUMEN_CRASH_FRAMES_MAX);
    check_json("stack", SIGSEGV, "SIGSEGV", "lumen_test_crash_recurse", extra);
}

static void test_log_crash__logfmt(void **state)
{
    (void)state;
    int status = 0;
    size_t n;
    char *out = run_child("logfmt", &status, &n);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    lt_py_check("import re, shlex\n"
                "crash = [l for l in lines if 'logger=crash' in l]\n"
                "assert len(crash) == 1, lines\n"
                "kv = dict(p.split('=', 1) for p in shlex.split(crash[0]))\n"
                "assert kv['signal'] == 'SIGSEGV' and kv['signo'] == '11', kv\n"
                "assert kv['trace_id'] == '" TRACE_ID "', kv\n"
                "assert kv['request_id'] == 'req-42', kv\n"
                "assert 'lumen_test_crash_segv' in kv['backtrace'], kv\n"
                "assert sum('before crash' in l for l in lines) == 2, lines\n",
                out, n, 0);
    free(out);
}

/* LUMEN_CRASH_CHAIN: the program's previous handler runs after the line,
 * and the process still dies of the signal. */
static void test_log_crash__chain(void **state)
{
    (void)state;
    int status = 0;
    size_t n;
    char *out = run_child("chain", &status, &n);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    const char *crash = strstr(out, "\"logger\":\"crash\"");
    const char *chained = strstr(out, "chained handler ran");
    assert_non_null(crash);
    assert_non_null(chained);
    assert_true(chained > crash);
    lt_py_check("crash = [json.loads(l) for l in lines if '\"logger\":\"crash\"' in l]\n"
                "assert len(crash) == 1 and crash[0]['signal'] == 'SIGSEGV', crash\n"
                "assert lines[-1] == 'chained handler ran', lines\n",
                out, n, 0);
    free(out);
}

/* A thread with its own alternate stack (lumen_crash_thread_init) has its
 * stack overflow reported, with its own tid and context. */
static void test_log_crash__thread_stack_overflow(void **state)
{
    (void)state;
    check_json("thread_stack", SIGSEGV, "SIGSEGV", "lumen_test_crash_recurse",
               "assert c['tid'] != c['pid'], c\n"
               "assert 'trace_id' not in c, c\n");
}

/* Two threads crash at once: one line, from one of them; the process dies
 * of the signal. */
static void test_log_crash__two_threads(void **state)
{
    (void)state;
    check_json("race", SIGSEGV, "SIGSEGV", "lumen_test_crash_segv",
               "assert c['tid'] != c['pid'], c\n");
}

/* A reader that stopped reading (stdout a full pipe) holds the handler up
 * for its flush timeout, not forever: the process still dies of SIGSEGV. */
static void test_log_crash__stuck_reader(void **state)
{
    (void)state;
    int status = 0;
    size_t n;
    char *out = run_child("stuck", &status, &n);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    assert_true(n > 0); /* the filler the child wrote */
    free(out);
}

/* The text format: time, level, logger and message first, as the text
 * formatter writes them, then key=value. */
static void test_log_crash__text(void **state)
{
    (void)state;
    int status = 0;
    size_t n;
    char *out = run_child("text", &status, &n);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    lt_py_check("import re, shlex\n"
                "crash = [l for l in lines if ' FATAL crash: ' in l]\n"
                "assert len(crash) == 1, lines\n"
                "assert re.match(r'^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z FATAL crash: crash: SIGSEGV ',"
                " crash[0]), crash\n"
                "kv = dict(p.split('=', 1) for p in shlex.split(crash[0].split(' crash: SIGSEGV ', "
                "1)[1]))\n"
                "assert kv['signal'] == 'SIGSEGV' and kv['si_code_name'] == 'SEGV_MAPERR', kv\n"
                "assert kv['trace_id'] == '" TRACE_ID "' and kv['request_id'] == 'req-42', kv\n"
                "assert 'lumen_test_crash_segv' in kv['backtrace'], kv\n",
                out, n, 0);
    free(out);
}

/* The options' fd: the crash line goes there, the log lines where their
 * handlers write. */
static void test_log_crash__fd(void **state)
{
    (void)state;
    char *dir = lt_tempdir();
    char path[600];
    snprintf(path, sizeof path, "%s/crash.log", dir);
    setenv("LUMEN_TEST_CRASH_FILE", path, 1);
    int status = 0;
    size_t n;
    char *out = run_child("fd", &status, &n);
    unsetenv("LUMEN_TEST_CRASH_FILE");
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    assert_null(strstr(out, "\"logger\":\"crash\""));
    assert_non_null(strstr(out, "before crash async"));
    size_t fn = 0;
    char *file = lt_read_file(path, &fn);
    assert_non_null(file);
    lt_py_check("assert len(recs) == 1 and recs[0]['signal'] == 'SIGSEGV', recs\n", file, fn, 1);
    free(file);
    free(out);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Options are checked, and uninstall gives the previous handler back. */
static int prev_calls;
static void prev_handler(int sig)
{
    (void)sig;
    prev_calls++;
}

/* LUMEN_CRASH_NO_ALTSTACK leaves the thread's alternate stack as it was
 * (none, or the one a sanitizer gave it); lumen_crash_thread_init gives
 * it one when it has none, and keeps the one it has. */
static void *no_altstack_thread(void *arg)
{
    (void)arg;
    lumen_crash_options o = LUMEN_CRASH_OPTIONS_INIT;
    o.flags = LUMEN_CRASH_NO_ALTSTACK;
    stack_t before, ss;
    if (sigaltstack(NULL, &before) != 0 || lumen_crash_install(&o) != LUMEN_OK ||
        sigaltstack(NULL, &ss) != 0 || ss.ss_flags != before.ss_flags || ss.ss_sp != before.ss_sp)
        return NULL;
    if (lumen_crash_thread_init() != LUMEN_OK || sigaltstack(NULL, &ss) != 0 ||
        (ss.ss_flags & SS_DISABLE))
        return NULL;
    if ((before.ss_flags & SS_DISABLE) ? ss.ss_size < 64 * 1024 : ss.ss_sp != before.ss_sp)
        return NULL;
    return (void *)"ok";
}

static void test_log_crash__install_options(void **state)
{
    (void)state;
    lumen_crash_options o = LUMEN_CRASH_OPTIONS_INIT;
    o.fd = -1;
    assert_int_equal(lumen_crash_install(&o), LUMEN_EINVAL);
    o.fd = 1;
    o.format = (lumen_log_format)99;
    assert_int_equal(lumen_crash_install(&o), LUMEN_EINVAL);
    o.version = 99;
    assert_int_equal(lumen_crash_install(&o), LUMEN_EVERSION);
    assert_int_equal(lumen_crash_uninstall(), LUMEN_ESTATE);
    assert_int_equal(lumen_crash_options_init(&o, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_crash_options_init(NULL, 1), LUMEN_EINVAL);

    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prev_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGBUS, &sa, NULL), 0);
    assert_int_equal(lumen_crash_install(NULL), LUMEN_OK);
    assert_int_equal(sigaction(SIGBUS, NULL, &cur), 0);
    assert_true(cur.sa_flags & SA_SIGINFO);
    assert_true(cur.sa_flags & SA_ONSTACK);
    stack_t ss;
    assert_int_equal(sigaltstack(NULL, &ss), 0);
    assert_false(ss.ss_flags & SS_DISABLE);
    /* Installing again keeps the handlers first remembered: uninstall
     * still puts back the program's, not lumen's own. */
    assert_int_equal(lumen_crash_install(NULL), LUMEN_OK);
    assert_int_equal(lumen_crash_uninstall(), LUMEN_OK);
    assert_int_equal(sigaction(SIGBUS, NULL, &cur), 0);
    assert_true(cur.sa_handler == prev_handler);
    raise(SIGBUS);
    assert_int_equal(prev_calls, 1);
    signal(SIGBUS, SIG_DFL);
    assert_int_equal(lumen_crash_uninstall(), LUMEN_ESTATE);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, no_altstack_thread, NULL), 0);
    void *res = NULL;
    pthread_join(th, &res);
    assert_ptr_equal(res, (void *)"ok");
    assert_int_equal(lumen_crash_uninstall(), LUMEN_OK);
}

/* ---- lumen_span_record_error: the conventions' shape, read back from the
 * OTLP JSON encoding by Python ---- */

static char *encoded;
static size_t encoded_len;

static int export_json(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    (void)ud;
    (void)deadline_ns;
    free(encoded);
    char *body;
    size_t len;
    int rc = lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_JSON, spans, n);
    if (rc != LUMEN_OK)
        return rc;
    /* The checker reads lines: one, with its newline. */
    encoded = malloc(len + 1);
    memcpy(encoded, body, len);
    encoded[len] = '\n';
    encoded_len = len + 1;
    lumen_free(body);
    return LUMEN_OK;
}

static void test_log_crash__span_record_error(void **state)
{
    (void)state;
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = export_json;
    lumen_span_exporter *exp;
    assert_int_equal(lumen_span_exporter_new(&exp, &ops, NULL), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, exp, NULL), LUMEN_OK);
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "test", NULL);

    lumen_span *s = lumen_span_start(tr, "query", NULL);
    lumen_span_record_error(s, "ECONNREFUSED", "connect to db:5432 refused");
    lumen_span_end(s);
    assert_non_null(encoded);
    lt_py_check("d = json.loads(text)\n"
                "s = d['resourceSpans'][0]['scopeSpans'][0]['spans'][0]\n"
                "attrs = {a['key']: a['value'] for a in s['attributes']}\n"
                "assert attrs['error.type'] == {'stringValue': 'ECONNREFUSED'}, attrs\n"
                "assert s['status']['code'] == 2, s['status']\n"
                "assert s['status']['message'] == 'connect to db:5432 refused', s\n"
                "ev = s['events']\n"
                "assert len(ev) == 1 and ev[0]['name'] == 'exception', ev\n"
                "ea = {a['key']: a['value']['stringValue'] for a in ev[0]['attributes']}\n"
                "assert ea == {'exception.type': 'ECONNREFUSED',\n"
                "              'exception.message': 'connect to db:5432 refused'}, ea\n",
                encoded, encoded_len, 0);

    /* No type: error.type is the conventions' _OTHER, the event has only
     * the message; NULL span: nothing. */
    s = lumen_span_start(tr, "query", NULL);
    lumen_span_record_error(s, NULL, "boom");
    lumen_span_end(s);
    lumen_span_record_error(NULL, "x", "y");
    lt_py_check("d = json.loads(text)\n"
                "s = d['resourceSpans'][0]['scopeSpans'][0]['spans'][0]\n"
                "attrs = {a['key']: a['value'] for a in s['attributes']}\n"
                "assert attrs['error.type'] == {'stringValue': '_OTHER'}, attrs\n"
                "ea = [a['key'] for a in s['events'][0]['attributes']]\n"
                "assert ea == ['exception.message'], ea\n",
                encoded, encoded_len, 0);
    free(encoded);
    encoded = NULL;
    lumen_tracer_provider_free(tp);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1)
        return child(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_crash__segv),
        cmocka_unit_test(test_log_crash__abort),
        cmocka_unit_test(test_log_crash__fpe),
        cmocka_unit_test(test_log_crash__ill),
        cmocka_unit_test(test_log_crash__bus),
        cmocka_unit_test(test_log_crash__stack_overflow),
        cmocka_unit_test(test_log_crash__logfmt),
        cmocka_unit_test(test_log_crash__text),
        cmocka_unit_test(test_log_crash__fd),
        cmocka_unit_test(test_log_crash__chain),
        cmocka_unit_test(test_log_crash__thread_stack_overflow),
        cmocka_unit_test(test_log_crash__stuck_reader),
        cmocka_unit_test(test_log_crash__two_threads),
        cmocka_unit_test(test_log_crash__install_options),
        cmocka_unit_test(test_log_crash__span_record_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
