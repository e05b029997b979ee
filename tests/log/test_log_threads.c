/* tests/log/test_log_threads.c: many threads logging at once into one
 * pipe never interleave: every line arrives whole, once, and each
 * thread's lines keep their order, including lines longer than PIPE_BUF
 * and lines from an async handler. Also runs under ThreadSanitizer. */
#include "log_test.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>

#define THREADS 4
#define LINES 5000

typedef struct reader {
    int fd;
    char *out;
    size_t n;
} reader;

static void *read_pipe(void *arg)
{
    reader *r = arg;
    size_t cap = 1 << 20;
    r->out = malloc(cap);
    for (;;) {
        if (cap - r->n < 65536)
            r->out = realloc(r->out, cap *= 2);
        ssize_t k = read(r->fd, r->out + r->n, 65536);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        r->n += (size_t)k;
    }
    return NULL;
}

static lumen_logger *shared;
static char big[6000];

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    char rid[16];
    snprintf(rid, sizeof rid, "req-%d", t);
    lumen_log_set_request_id(rid);
    for (int i = 0; i < LINES; i++) {
        if (i % 500 == 0)
            LUMEN_LOG_INFO(shared, "big", LUMEN_INT("t", t), LUMEN_INT("i", i),
                           LUMEN_STR("v", big));
        else if (i % 97 == 0)
            LUMEN_LOG_WARN(shared, "warn", LUMEN_INT("t", t), LUMEN_INT("i", i));
        else
            LUMEN_LOG_INFO(shared, "line", LUMEN_INT("t", t), LUMEN_INT("i", i),
                           LUMEN_STR("s", "quote\" nl\n"));
    }
    return NULL;
}

/* Reconfigures the tree while the workers log: every logger's inherited
 * values are rewritten (to the same values for the workers' logger). */
static _Atomic int stop_config;
static void *reconfigure(void *arg)
{
    (void)arg;
    char name[64];
    for (int i = 0; !atomic_load(&stop_config); i++) {
        snprintf(name, sizeof name, "threads.cfg.%d", i % 50);
        lumen_logger_set_level(lumen_logger_get(name), (i & 1) ? LUMEN_LOG_DEBUG : LUMEN_LOG_WARN);
        lumen_log_set_levels(i & 1 ? "threads.cfg=info" : "threads.cfg=error");
        usleep(100);
    }
    return NULL;
}

static void run(unsigned flags, const char *name)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    reader r = {.fd = p[0]};
    pthread_t rt;
    pthread_create(&rt, NULL, read_pipe, &r);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = p[1];
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = flags;
    o.overflow = LUMEN_LOG_OVERFLOW_BLOCK;
    o.block_timeout_ms = LUMEN_WAIT_FOREVER;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &o), LUMEN_OK);
    shared = lumen_logger_get(name);
    assert_int_equal(lumen_logger_set_handlers(shared, &h, 1), LUMEN_OK);
    memset(big, 'x', sizeof big - 1);
    pthread_t t[THREADS], cfg;
    atomic_store(&stop_config, 0);
    pthread_create(&cfg, NULL, reconfigure, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop_config, 1);
    pthread_join(cfg, NULL);
    lumen_log_flush(0);
    close(p[1]);
    pthread_join(rt, NULL);
    close(p[0]);
    assert_int_equal(lumen_log_dropped(), 0);
    /* Check in C first (cheap, and the failure names the line). */
    int next[THREADS] = {0};
    size_t lines = 0;
    for (char *l = r.out; l < r.out + r.n;) {
        char *e = memchr(l, '\n', (size_t)(r.out + r.n - l));
        assert_non_null(e);
        assert_true(strncmp(l, "{\"ts\":\"", 7) == 0);
        assert_int_equal(e[-1], '}');
        *e = '\0'; /* bound strstr/sscanf to this line (ASan's string checks scan to the NUL) */
        const char *tp = strstr(l, "\"t\":");
        assert_true(tp != NULL && tp < e);
        int tt = -1, i = -1;
        assert_int_equal(sscanf(tp, "\"t\":%d,\"i\":%d", &tt, &i), 2);
        assert_true(tt >= 0 && tt < THREADS);
        assert_int_equal(i, next[tt]);
        next[tt]++;
        lines++;
        *e = '\n';
        l = e + 1;
    }
    assert_int_equal(lines, THREADS * LINES);
    lt_py_check("assert len(recs) == 20000\n"
                "assert all(r['request_id'] == 'req-%d' % r['t'] for r in recs)\n",
                r.out, r.n, 1);
    free(r.out);
}

static void test_log_threads__sync_lines_never_interleave(void **state)
{
    (void)state;
    run(0, "threads.sync");
}

static void test_log_threads__unbuffered_lines_never_interleave(void **state)
{
    (void)state;
    run(LUMEN_LOG_UNBUFFERED, "threads.unbuffered");
}

static void test_log_threads__async_lines_never_interleave(void **state)
{
    (void)state;
    run(LUMEN_LOG_ASYNC, "threads.async");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_threads__sync_lines_never_interleave),
        cmocka_unit_test(test_log_threads__unbuffered_lines_never_interleave),
        cmocka_unit_test(test_log_threads__async_lines_never_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
