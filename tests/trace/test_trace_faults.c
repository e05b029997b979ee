/* tests/trace/test_trace_faults.c: accounting that adds up and nothing
 * lost unreported.
 * - The batch processor's stats add up in every snapshot, with a batch in
 *   flight to a slow exporter (ended == exported + dropped + failed +
 *   queued + in_flight), checked by a thread that reads them while spans
 *   are ended and exported (labelled threads: runs under TSan).
 * - The self-metrics never lag: a scrape never shows more spans exported
 *   than ended, or ended than started, even while the threads that ended
 *   them are still alive.
 * - A program that ends with exit() without shutting tracing down gets its
 *   queued spans to the collector (the fake collector, in a child).
 * - With the collector down, shutdown and the flush at exit are bounded by
 *   the export timeout and say so once, on standard error.
 * - A shutdown that cuts off a hung export counts it as reason="timeout".
 */
#include "support/support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lumen/http_otlp.h"
#include "trace/collector.h"

static const char *self_path;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static lumen_tracer_provider *provider(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.service_name = "faults";
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    return tp;
}

static void end_spans(lumen_tracer *t, const char *name, int n)
{
    for (int i = 0; i < n; i++)
        lumen_span_end(lumen_span_start(t, name, NULL));
}

/* ---- stats add up while a batch is in flight --------------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered; /* exports started */
    bool open;   /* exports may return */
    int sleep_us;
} gate;

static int gated_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    (void)spans, (void)n, (void)dl;
    gate *g = ud;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    int us = g->sleep_us;
    pthread_mutex_unlock(&g->mu);
    if (us > 0)
        usleep((useconds_t)us);
    return LUMEN_OK;
}

static const lumen_span_exporter_ops gated_ops = {LUMEN_SPAN_EXPORTER_OPS_VERSION, gated_export,
                                                  NULL, NULL, NULL};

static uint64_t unaccounted(const lumen_span_processor_stats *st)
{
    return st->ended - (st->exported + st->dropped + st->failed + st->queued + st->in_flight);
}

static void test_trace_faults__stats_count_the_batch_in_flight(void **state)
{
    (void)state;
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, 0};
    lumen_tracer_provider *tp = provider();
    lumen_span_exporter *e;
    assert_int_equal(lumen_span_exporter_new(&e, &gated_ops, &g), LUMEN_OK);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 60000;
    lumen_span_processor *p;
    assert_int_equal(lumen_batch_processor_new(&p, e, &bo), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "t", NULL);
    /* 600 spans: the worker takes a batch of 512 and the exporter holds it. */
    end_spans(t, "held", 600);
    pthread_mutex_lock(&g.mu);
    int64_t until = mono_ms() + 10000;
    while (g.entered == 0 && mono_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g.cv, &g.mu, &ts);
    }
    assert_int_equal(g.entered, 1);
    pthread_mutex_unlock(&g.mu);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.ended, 600);
    /* A batch of 512, unless the worker (its first pass not woken by the
     * queue) took the queue while a span's slot was claimed but not yet
     * filled: it stops there, and the rest stay queued. */
    if (!(st.in_flight >= 1 && st.in_flight <= 512 && st.in_flight + st.queued == 600))
        fail_msg("in flight %llu, queued %llu", (unsigned long long)st.in_flight,
                 (unsigned long long)st.queued);
    if (st.in_flight != 512)
        print_message("the worker took %llu spans, not 512\n", (unsigned long long)st.in_flight);
    assert_int_equal(st.exported, 0);
    assert_int_equal(unaccounted(&st), 0);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 10000), LUMEN_OK);
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.exported, 600);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(unaccounted(&st), 0);
    lumen_tracer_provider_free(tp);
}

typedef struct reader_arg {
    lumen_span_processor *p;
    atomic_bool stop;
    long snapshots, bad;
    atomic_long saw_in_flight;
} reader_arg;

static void *stats_reader(void *arg)
{
    reader_arg *r = arg;
    while (!atomic_load(&r->stop)) {
        lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
        lumen_span_processor_get_stats(&st, r->p);
        r->snapshots++;
        if (unaccounted(&st) != 0)
            r->bad++;
        if (st.in_flight > 0)
            atomic_fetch_add(&r->saw_in_flight, 1);
    }
    return NULL;
}

typedef struct ender_arg {
    lumen_tracer *t;
    int n;
} ender_arg;

static void *ender(void *arg)
{
    ender_arg *a = arg;
    end_spans(a->t, "work", a->n);
    return NULL;
}

/* The invariant in every snapshot, while three threads end spans, a slow
 * exporter exports them and the small queue drops some. */
static void test_trace_faults__stats_add_up_in_every_snapshot(void **state)
{
    (void)state;
    /* The gate starts closed so that the first batch stays in flight until
     * the reader has seen it there; then exports take 300 us each. */
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, 300};
    lumen_tracer_provider *tp = provider();
    lumen_span_exporter *e;
    assert_int_equal(lumen_span_exporter_new(&e, &gated_ops, &g), LUMEN_OK);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.max_queue_size = 256;
    bo.max_export_batch_size = 32;
    bo.schedule_delay_ms = 2;
    lumen_span_processor *p;
    assert_int_equal(lumen_batch_processor_new(&p, e, &bo), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    reader_arg r = {.p = p};
    pthread_t rt, th[3];
    pthread_create(&rt, NULL, stats_reader, &r);
    ender_arg a = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 20000};
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, ender, &a);
    int64_t deadline = mono_ms() + 10000;
    while (atomic_load(&r.saw_in_flight) == 0 && mono_ms() < deadline)
        usleep(1000);
    assert_true(atomic_load(&r.saw_in_flight) > 0);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 30000), LUMEN_OK);
    atomic_store(&r.stop, true);
    pthread_join(rt, NULL);
    assert_true(r.snapshots > 0);
    assert_int_equal(r.bad, 0);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.ended, 60000);
    assert_true(st.dropped > 0);
    assert_int_equal(st.exported + st.dropped, 60000);
    lumen_tracer_provider_free(tp);
}

/* ---- the self-metrics never lag ------------------------------------------------ */

typedef struct scrape {
    double started, ended, exported, dropped;
} scrape;

static double sample(const char *text, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\n%s ", name);
    const char *p = strstr(text, pat);
    assert_non_null(p);
    return strtod(p + strlen(pat), NULL);
}

static scrape scrape_now(void)
{
    char *text;
    assert_int_equal(lumen_registry_render_string(&text, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    scrape s = {sample(text, "lumen_trace_spans_started_total"),
                sample(text, "lumen_trace_spans_ended_total"),
                sample(text, "lumen_trace_spans_exported_total"),
                sample(text, "lumen_trace_spans_dropped_total")};
    lumen_free(text);
    return s;
}

typedef struct holder {
    lumen_tracer *t;
    pthread_barrier_t *ended, *release;
} holder;

static void *end_and_hold(void *arg)
{
    holder *h = arg;
    end_spans(h->t, "held", 10);
    pthread_barrier_wait(h->ended);
    pthread_barrier_wait(h->release); /* alive while the test scrapes */
    return NULL;
}

static void test_trace_faults__self_metrics_never_show_more_exported_than_ended(void **state)
{
    (void)state;
    lumen_tracer_provider *tp = provider();
    lumen_span_exporter *mem;
    assert_int_equal(lumen_memory_exporter_new(&mem), LUMEN_OK);
    lumen_span_processor *p;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    assert_int_equal(lumen_batch_processor_new(&p, mem, &bo), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    scrape before = scrape_now();
    enum { T = 8 };
    pthread_barrier_t ended, release;
    pthread_barrier_init(&ended, NULL, T + 1);
    pthread_barrier_init(&release, NULL, T + 1);
    holder h = {lumen_tracer_provider_get_tracer(tp, "t", NULL), &ended, &release};
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, end_and_hold, &h);
    pthread_barrier_wait(&ended);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 10000), LUMEN_OK);
    /* Every span is exported while its thread still lives. */
    scrape now = scrape_now();
    assert_true(now.exported - before.exported == T * 10);
    assert_true(now.ended - before.ended == T * 10);
    assert_true(now.started - before.started == T * 10);
    assert_true(now.exported <= now.ended && now.ended <= now.started);
    pthread_barrier_wait(&release);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&ended);
    pthread_barrier_destroy(&release);
    lumen_tracer_provider_free(tp);
}

typedef struct scraper_arg {
    atomic_bool stop;
    long scrapes, bad;
} scraper_arg;

static void *scraper(void *arg)
{
    scraper_arg *a = arg;
    while (!atomic_load(&a->stop)) {
        scrape s = scrape_now();
        a->scrapes++;
        if (s.exported + s.dropped > s.ended || s.ended > s.started)
            a->bad++;
    }
    return NULL;
}

/* The same while spans are started, ended and exported concurrently. */
static void test_trace_faults__self_metrics_consistent_under_load(void **state)
{
    (void)state;
    lumen_tracer_provider *tp = provider();
    lumen_span_exporter *mem;
    assert_int_equal(lumen_memory_exporter_new(&mem), LUMEN_OK);
    lumen_span_processor *p;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.max_queue_size = 512;
    bo.max_export_batch_size = 64;
    bo.schedule_delay_ms = 1;
    assert_int_equal(lumen_batch_processor_new(&p, mem, &bo), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    scraper_arg s = {0};
    pthread_t st, th[3];
    pthread_create(&st, NULL, scraper, &s);
    ender_arg a = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 20000};
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, ender, &a);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    atomic_store(&s.stop, true);
    pthread_join(st, NULL);
    assert_true(s.scrapes > 0);
    assert_int_equal(s.bad, 0);
    lumen_tracer_provider_free(tp);
}

/* ---- children: exit() and a dead collector --------------------------------------- */

static lumen_tracer_provider *otlp_provider(const char *url, uint32_t export_timeout_ms,
                                            lumen_span_exporter **expp)
{
    lumen_tracer_provider *tp = provider();
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = url;
    o.timeout_ms = export_timeout_ms;
    o.initial_backoff_ms = 200;
    o.max_backoff_ms = 400;
    lumen_span_exporter *e;
    if (lumen_otlp_http_exporter_new(&e, &o) != LUMEN_OK)
        _exit(50);
    if (expp != NULL)
        *expp = e;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 60000;
    bo.max_export_batch_size = 10;
    bo.export_timeout_ms = export_timeout_ms;
    lumen_span_processor *p;
    if (lumen_batch_processor_new(&p, e, &bo) != LUMEN_OK ||
        lumen_tracer_provider_add_processor(tp, p) != LUMEN_OK)
        _exit(51);
    return tp;
}

/* Spans ended, then exit() without any shutdown. */
static int child_exit(const char *url, int n)
{
    lumen_tracer_provider *tp = otlp_provider(url, 1000, NULL);
    end_spans(lumen_tracer_provider_get_tracer(tp, "t", NULL), "at-exit", n);
    exit(0);
}

/* A shutdown with the collector down: prints how long it took. */
static int child_dead_shutdown(const char *url)
{
    lumen_tracer_provider *tp = otlp_provider(url, 1000, NULL);
    end_spans(lumen_tracer_provider_get_tracer(tp, "t", NULL), "lost", 60);
    int64_t t0 = mono_ms();
    int rc = lumen_tracer_provider_shutdown(tp, 30000);
    printf("%lld\n", (long long)(mono_ms() - t0));
    fflush(stdout);
    lumen_tracer_provider_free(tp);
    return rc == LUMEN_OK ? 60 : 0; /* the spans were lost: not OK */
}

typedef struct child_out {
    int status;
    int64_t ms; /* wall time of the child */
    char *out, *err;
} child_out;

static child_out run_child(const char *mode, const char *arg)
{
    char errp[] = "/tmp/lumen-faults-err-XXXXXX", outp[] = "/tmp/lumen-faults-out-XXXXXX";
    int efd = mkstemp(errp), ofd = mkstemp(outp);
    assert_true(efd >= 0 && ofd >= 0);
    int64_t t0 = mono_ms();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(efd, 2);
        dup2(ofd, 1);
        execl(self_path, self_path, mode, arg, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    child_out c = {WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st), mono_ms() - t0, NULL,
                   NULL};
    size_t n;
    c.err = lt_read_file(errp, &n);
    c.out = lt_read_file(outp, &n);
    close(efd);
    close(ofd);
    unlink(errp);
    unlink(outp);
    assert_non_null(c.err);
    assert_non_null(c.out);
    return c;
}

static void free_child(child_out *c)
{
    free(c->out);
    free(c->err);
}

static void test_trace_faults__exit_without_shutdown_exports_queued_spans(void **state)
{
    (void)state;
    collector col;
    collector_start(&col, NULL);
    child_out c = run_child("--exit", col.url);
    assert_int_equal(c.status, 0);
    assert_string_equal(c.err, "");
    /* The collector logs each request before it answers. */
    char *log = collector_log(&col);
    assert_int_equal(count_substr(log, "\"name\": \"at-exit\""), 7);
    free(log);
    free_child(&c);
    collector_stop(&col);
}

/* A loopback URL with nothing listening (the port was just free). */
static void dead_url(char *url, size_t cap)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    snprintf(url, cap, "http://127.0.0.1:%d/v1/traces", ntohs(a.sin_port));
    close(s);
}

static int lines_with(const char *s, const char *sub)
{
    return count_substr(s, sub);
}

static void test_trace_faults__dead_collector_shutdown_bounded_and_said_once(void **state)
{
    (void)state;
    char url[128];
    dead_url(url, sizeof url);
    child_out c = run_child("--dead-shutdown", url);
    assert_int_equal(c.status, 0);
    long took = strtol(c.out, NULL, 10);
    /* Six batches, one 1000 ms export timeout for all of them (each
     * export alone retries for up to its own 1000 ms), counted from the
     * call even if a periodic export had started just before. */
    if (took > 1800)
        fail_msg("shutdown took %ld ms with a 1000 ms export timeout", took);
    /* The reason is the failing exports' own: connections refused, or,
     * when the deadline fell inside an attempt on a loaded machine, a
     * timeout. Either way, one line. */
    if (lines_with(c.err, "\n") != 1 ||
        lines_with(c.err, "lumen: error: traces: shutdown could not export 60 spans in ") != 1 ||
        (lines_with(c.err, "(collector unreachable; export timeout 1000 ms)") != 1 &&
         lines_with(c.err, "(export timed out; export timeout 1000 ms)") != 1))
        fail_msg("expected one line about the 60 lost spans, got:\n%s", c.err);
    free_child(&c);
}

static void test_trace_faults__dead_collector_exit_bounded_and_said_once(void **state)
{
    (void)state;
    char url[128];
    dead_url(url, sizeof url);
    child_out c = run_child("--exit-dead", url);
    assert_int_equal(c.status, 0);
    if (c.ms > 4000)
        fail_msg("exit took %lld ms with a 1000 ms export timeout", (long long)c.ms);
    if (lines_with(c.err, "\n") != 1 ||
        lines_with(c.err,
                   "lumen: error: traces: the flush at exit could not export 30 spans in ") != 1)
        fail_msg("expected one line about the 30 lost spans, got:\n%s", c.err);
    free_child(&c);
}

/* ---- a hung export cut off by shutdown counts as a timeout ------------------------ */

static double failures(const char *reason)
{
    char *text;
    assert_int_equal(lumen_registry_render_string(&text, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    char pat[128];
    snprintf(pat, sizeof pat, "lumen_trace_export_failures_total{reason=\"%s\"} ", reason);
    const char *p = strstr(text, pat);
    assert_non_null(p);
    double v = strtod(p + strlen(pat), NULL);
    lumen_free(text);
    return v;
}

static void test_trace_faults__cut_off_export_counts_as_timeout(void **state)
{
    (void)state;
    collector col;
    collector_start(&col, "hang");
    lumen_span_exporter *e;
    lumen_tracer_provider *tp = otlp_provider(col.url, 20000, &e);
    double timeouts = failures("timeout"), others = failures("other");
    end_spans(lumen_tracer_provider_get_tracer(tp, "t", NULL), "hung", 10);
    /* A full batch of 10 goes at once; wait until the collector holds it. */
    int64_t until = mono_ms() + 10000;
    while (collector_requests(&col) < 1 && mono_ms() < until)
        usleep(2000);
    assert_int_equal(collector_requests(&col), 1);
    assert_int_equal(lumen_tracer_provider_shutdown(tp, 300), LUMEN_ETIMEDOUT);
    /* The worker returns from the aborted request on its own. */
    lumen_otlp_http_exporter_stats s = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    until = mono_ms() + 10000;
    /* Polled until the deadline whatever usleep returns: a signal that
     * cut one sleep short (EINTR) once ended this loop at its first turn.
     * The exporter counts its failure before it returns, and the worker
     * counts the processor's after: wait for both (loaded run 2 of stop 19
     * read the second in between, under TSan). */
    for (;;) {
        assert_int_equal(lumen_otlp_http_exporter_get_stats(&s, e), LUMEN_OK);
        if ((s.failed_exports != 0 && failures("timeout") != timeouts) || mono_ms() >= until)
            break;
        usleep(2000);
    }
    assert_int_equal(s.failed_exports, 1);
    assert_int_equal(s.fail_timeout, 1);
    assert_int_equal(s.fail_other, 0);
    assert_true(failures("timeout") == timeouts + 1);
    assert_true(failures("other") == others);
    lumen_tracer_provider_free(tp);
    collector_stop(&col);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 2 && strcmp(argv[1], "--exit") == 0)
        return child_exit(argv[2], 7);
    if (argc > 2 && strcmp(argv[1], "--exit-dead") == 0)
        return child_exit(argv[2], 30);
    if (argc > 2 && strcmp(argv[1], "--dead-shutdown") == 0)
        return child_dead_shutdown(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_faults__stats_count_the_batch_in_flight),
        cmocka_unit_test(test_trace_faults__stats_add_up_in_every_snapshot),
        cmocka_unit_test(test_trace_faults__self_metrics_never_show_more_exported_than_ended),
        cmocka_unit_test(test_trace_faults__self_metrics_consistent_under_load),
        cmocka_unit_test(test_trace_faults__exit_without_shutdown_exports_queued_spans),
        cmocka_unit_test(test_trace_faults__dead_collector_shutdown_bounded_and_said_once),
        cmocka_unit_test(test_trace_faults__dead_collector_exit_bounded_and_said_once),
        cmocka_unit_test(test_trace_faults__cut_off_export_counts_as_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
