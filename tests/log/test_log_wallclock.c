/* tests/log/test_log_wallclock.c: a step of the wall clock neither
 * shortens nor stretches a wait of the log layer: the async writer's flush
 * interval, a BLOCK wait for room, the drain and stop of lumen_log_shutdown,
 * and the sync flusher's interval. The wall clock lumen sees is stepped by
 * tests/support/wallclock.h (a step between computing a deadline and
 * waiting for it). Each scenario runs in a fresh process (this binary with
 * a mode argument), since the log layer is process-wide. */
#include "log_test.h"

#include <errno.h>
#include <sys/wait.h>

#include "support/wallclock.h"

#define HOUR (3600LL * 1000000000)
#define SEC (1000000000LL)

static const char *self_path;

/* ---- child modes: exit status 0 when the wait kept its length ---------------- */

static lumen_logger *async_to(int fd, lumen_log_overflow policy, size_t queue, uint32_t block_ms)
{
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = fd;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = LUMEN_LOG_ASYNC;
    o.overflow = policy;
    o.queue_bytes = queue;
    o.block_timeout_ms = block_ms;
    lumen_log_handler *h;
    if (lumen_log_handler_new(&h, &o) != LUMEN_OK)
        _exit(40);
    lumen_logger *lg = lumen_logger_get("clock");
    lumen_logger_set_handlers(lg, &h, 1);
    return lg;
}

/* An async handler into a pipe nobody reads, filled until the writer
 * thread is stuck in write(2) (polled, with a deadline). */
static lumen_logger *stuck_writer(lumen_log_overflow policy, uint32_t block_ms)
{
    int p[2];
    if (pipe(p) != 0)
        _exit(41);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    lumen_logger *lg = async_to(p[1], policy, 16 << 10, block_ms);
    char pad[512];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    /* Warnings are written at once: enough to fill the pipe and block the
     * writer, not enough to fill the queue. */
    for (int i = 0; i < 12; i++)
        LUMEN_LOG_WARN(lg, "fill", LUMEN_STR("pad", pad));
    if (!lt_poll(lt_blocked_in_pipe_write, 0, 5000))
        _exit(42);
    return lg;
}

/* lumen_log_shutdown(300) with the writer stuck: about 300 ms. */
static int child_shutdown(int64_t step)
{
    stuck_writer(LUMEN_LOG_OVERFLOW_DROP, 0);
    lt_wall_step(step);
    int64_t t0 = lt_mono_ms();
    int rc = lumen_log_shutdown(300);
    int64_t took = lt_mono_ms() - t0;
    fprintf(stderr, "shutdown took %lld ms\n", (long long)took);
    if (rc != LUMEN_ETIMEDOUT)
        return 2;
    return took >= 250 && took < 2000 ? 0 : 3;
}

/* lumen_log_flush(300) with the writer stuck: LUMEN_ETIMEDOUT after about
 * 300 ms, the lines still queued (shutdown then drops them). */
static int child_flush(int64_t step)
{
    stuck_writer(LUMEN_LOG_OVERFLOW_DROP, 0);
    lt_wall_step(step);
    int64_t t0 = lt_mono_ms();
    int rc = lumen_log_flush(300);
    int64_t took = lt_mono_ms() - t0;
    fprintf(stderr, "flush took %lld ms\n", (long long)took);
    if (rc != LUMEN_ETIMEDOUT)
        return 2;
    return took >= 250 && took < 2000 ? 0 : 3;
}

/* BLOCK with a 200 ms bound into a stuck writer: each call that finds no
 * room waits about 200 ms, then drops. */
static int child_block(int64_t step)
{
    lumen_logger *lg = stuck_writer(LUMEN_LOG_OVERFLOW_BLOCK, 200);
    char pad[1024];
    memset(pad, 'q', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    lt_wall_step(step);
    int64_t worst = 0, best = INT64_MAX;
    uint64_t d0 = lumen_log_dropped();
    for (int i = 0; i < 200 && lumen_log_dropped() < d0 + 2; i++) {
        uint64_t before = lumen_log_dropped();
        int64_t t0 = lt_mono_ms();
        LUMEN_LOG_INFO(lg, "block", LUMEN_INT("i", i), LUMEN_STR("pad", pad));
        int64_t d = lt_mono_ms() - t0;
        if (lumen_log_dropped() > before) {
            worst = d > worst ? d : worst;
            best = d < best ? d : best;
        }
    }
    fprintf(stderr, "blocked %lld..%lld ms\n", (long long)best, (long long)worst);
    if (lumen_log_dropped() < d0 + 2)
        return 2;
    return best >= 150 && worst < 2000 ? 0 : 3;
}

/* One INFO line into a file reaches it within the flush interval
 * (100 ms), async or sync (the batch flusher). */
static int child_interval(int64_t step, bool async)
{
    char *dir = lt_tempdir();
    char path[600];
    snprintf(path, sizeof path, "%s/clock.log", dir);
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    lumen_logger *lg;
    if (async) {
        lg = async_to(fd, LUMEN_LOG_OVERFLOW_DROP, 0, 0);
    } else {
        lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
        o.sink = LUMEN_LOG_SINK_FD;
        o.fd = fd;
        o.format = LUMEN_LOG_FORMAT_JSON;
        lumen_log_handler *h;
        if (lumen_log_handler_new(&h, &o) != LUMEN_OK)
            return 40;
        lg = lumen_logger_get("clock");
        lumen_logger_set_handlers(lg, &h, 1);
    }
    lt_wall_step(step);
    int64_t t0 = lt_mono_ms();
    LUMEN_LOG_INFO(lg, "tick");
    for (;;) {
        size_t n = 0;
        char *s = lt_read_file(path, &n);
        bool there = s != NULL && strstr(s, "\"tick\"") != NULL;
        free(s);
        if (there)
            break;
        if (lt_mono_ms() - t0 > 5000)
            break;
        usleep(2000);
    }
    int64_t took = lt_mono_ms() - t0;
    fprintf(stderr, "line written after %lld ms\n", (long long)took);
    return took < 1500 ? 0 : 3;
}

/* ---- the parent ----------------------------------------------------------------- */

static void run(const char *mode, const char *step)
{
    char errp[] = "/tmp/lumen-logclock-XXXXXX";
    int efd = mkstemp(errp);
    assert_true(efd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(efd, 2);
        execl(self_path, self_path, mode, step, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close(efd);
    size_t n;
    char *err = lt_read_file(errp, &n);
    unlink(errp);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s with the wall clock stepped by %s s: status %d: %s", mode, step,
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, err ? err : "");
    free(err);
}

static void test_log_wallclock__interposer_in_effect(void **state)
{
    (void)state;
    assert_true(lt_wall_check());
}

static void test_log_wallclock__shutdown_unaffected_by_steps(void **state)
{
    (void)state;
    run("--shutdown", "-3600");
    run("--shutdown", "10");
}

static void test_log_wallclock__flush_timeout_unaffected_by_steps(void **state)
{
    (void)state;
    run("--flush", "-3600");
    run("--flush", "10");
}

static void test_log_wallclock__block_wait_unaffected_by_steps(void **state)
{
    (void)state;
    run("--block", "-3600");
    run("--block", "10");
}

static void test_log_wallclock__async_interval_not_stretched(void **state)
{
    (void)state;
    run("--async-interval", "10");
}

static void test_log_wallclock__sync_flusher_interval_not_stretched(void **state)
{
    (void)state;
    run("--sync-interval", "10");
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 2) {
        if (!lt_wall_check())
            return 30;
        int64_t step = strtoll(argv[2], NULL, 10) * SEC;
        if (strcmp(argv[1], "--shutdown") == 0)
            return child_shutdown(step);
        if (strcmp(argv[1], "--flush") == 0)
            return child_flush(step);
        if (strcmp(argv[1], "--block") == 0)
            return child_block(step);
        if (strcmp(argv[1], "--async-interval") == 0)
            return child_interval(step, true);
        if (strcmp(argv[1], "--sync-interval") == 0)
            return child_interval(step, false);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_wallclock__interposer_in_effect),
        cmocka_unit_test(test_log_wallclock__shutdown_unaffected_by_steps),
        cmocka_unit_test(test_log_wallclock__flush_timeout_unaffected_by_steps),
        cmocka_unit_test(test_log_wallclock__block_wait_unaffected_by_steps),
        cmocka_unit_test(test_log_wallclock__async_interval_not_stretched),
        cmocka_unit_test(test_log_wallclock__sync_flusher_interval_not_stretched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
