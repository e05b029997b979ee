/* tests/trace/test_trace_exporter.c: the exporter interface as a program
 * sees it: the versioned ops table, the status an export returns and the
 * reason it is counted under, recognising an exporter by its export
 * function, and the timeouts the processors and the provider hand to the
 * exporter's callbacks. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lumen/metrics.h"
#include "lumen/trace.h"

/* A program's exporter: returns `status` from every export and records
 * the deadlines it is given. */
typedef struct user_exp {
    int status;
    int exports, flushes, shutdowns, destroyed;
    int64_t export_dl, flush_dl, shutdown_dl;
} user_exp;

static int user_export(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    user_exp *u = ud;
    (void)spans, (void)n;
    u->exports++;
    u->export_dl = deadline_ns;
    return u->status;
}

static int user_flush(void *ud, int64_t deadline_ns)
{
    user_exp *u = ud;
    u->flushes++;
    u->flush_dl = deadline_ns;
    return LUMEN_OK;
}

static int user_shutdown(void *ud, int64_t deadline_ns)
{
    user_exp *u = ud;
    u->shutdowns++;
    u->shutdown_dl = deadline_ns;
    return LUMEN_OK;
}

static void user_destroy(void *ud)
{
    ((user_exp *)ud)->destroyed++;
}

static lumen_span_exporter *user_exporter(user_exp *u)
{
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = user_export;
    ops.force_flush = user_flush;
    ops.shutdown = user_shutdown;
    ops.destroy = user_destroy;
    lumen_span_exporter *e;
    assert_int_equal(lumen_span_exporter_new(&e, &ops, u), LUMEN_OK);
    return e;
}

/* A provider whose every span goes to `p`. */
static lumen_tracer_provider *provider_with(lumen_span_processor *p, uint32_t shutdown_ms)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    o.shutdown_timeout_ms = shutdown_ms;
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    return tp;
}

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

static void test_trace_exporter__status_reasons(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *reason;
    } cases[] = {
        {LUMEN_ETIMEDOUT, "timeout"}, {LUMEN_EHTTP, "http"},   {LUMEN_ECONNREFUSED, "connect"},
        {LUMEN_ECONNECT, "connect"},  {LUMEN_ETLS, "connect"}, {LUMEN_EIO, "other"},
        {LUMEN_ENOMEM, "other"},      {LUMEN_EAUTH, "other"},  {7, "other"},
    };
    static const char *const reasons[] = {"timeout", "http", "connect", "other"};
    user_exp u = {0};
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&u), NULL), LUMEN_OK);
    lumen_tracer_provider *tp = provider_with(p, 0);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "reasons", NULL);
    for (size_t i = 0; i < (sizeof cases / sizeof cases[0]); i++) {
        double before[4];
        for (int r = 0; r < 4; r++)
            before[r] = failures(reasons[r]);
        u.status = cases[i].status;
        lumen_span_end(lumen_span_start(t, "s", NULL));
        for (int r = 0; r < 4; r++) {
            double want = before[r] + (strcmp(reasons[r], cases[i].reason) == 0 ? 1 : 0);
            if (failures(reasons[r]) != want)
                fail_msg("status %d: reason %s counted %g, want %g", cases[i].status, reasons[r],
                         failures(reasons[r]), want);
        }
    }
    /* Success counts nowhere, and the processor's stats agree. */
    u.status = LUMEN_OK;
    lumen_span_end(lumen_span_start(t, "s", NULL));
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    assert_int_equal(lumen_span_processor_get_stats(&st, p), LUMEN_OK);
    assert_int_equal(st.failed, (sizeof cases / sizeof cases[0]));
    assert_int_equal(st.exported, 1);
    assert_int_equal(st.ended, (sizeof cases / sizeof cases[0]) + 1);
    lumen_tracer_provider_free(tp);
    assert_int_equal(u.destroyed, 1);
}

static void test_trace_exporter__ops_version(void **state)
{
    (void)state;
    user_exp u = {0};
    lumen_span_exporter_ops ops;
    memset(&ops, 0, sizeof ops); /* version 0: never initialised */
    ops.export_spans = user_export;
    lumen_span_exporter *e = (lumen_span_exporter *)1;
    assert_int_equal(lumen_span_exporter_new(&e, &ops, &u), LUMEN_EVERSION);
    assert_null(e);
    ops.version = LUMEN_SPAN_EXPORTER_OPS_VERSION + 1;
    assert_int_equal(lumen_span_exporter_new(&e, &ops, &u), LUMEN_EVERSION);
    assert_int_equal(lumen_span_exporter_ops_init(&ops, LUMEN_SPAN_EXPORTER_OPS_VERSION), LUMEN_OK);
    assert_null(ops.export_spans);
    assert_int_equal(lumen_span_exporter_new(&e, &ops, &u), LUMEN_EINVAL); /* no export */
    assert_int_equal(lumen_span_exporter_ops_init(&ops, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_span_exporter_ops_init(NULL, 1), LUMEN_EINVAL);
    /* The table is copied: changing it afterwards changes nothing. */
    lumen_span_exporter_ops_init(&ops, LUMEN_SPAN_EXPORTER_OPS_VERSION);
    ops.export_spans = user_export;
    ops.destroy = user_destroy;
    assert_int_equal(lumen_span_exporter_new(&e, &ops, &u), LUMEN_OK);
    ops.destroy = NULL;
    lumen_span_exporter_free(e);
    assert_int_equal(u.destroyed, 1);
}

static int other_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    (void)ud, (void)spans, (void)n, (void)dl;
    return LUMEN_OK;
}

static void test_trace_exporter__user_data_by_export_function(void **state)
{
    (void)state;
    user_exp u = {0};
    lumen_span_exporter *e = user_exporter(&u);
    void *ud = NULL;
    assert_int_equal(lumen_span_exporter_user_data(&ud, e, user_export), LUMEN_OK);
    assert_ptr_equal(ud, &u);
    ud = &u;
    assert_int_equal(lumen_span_exporter_user_data(&ud, e, other_export), LUMEN_ETYPE);
    assert_null(ud);
    assert_int_equal(lumen_span_exporter_user_data(NULL, e, user_export), LUMEN_EINVAL);
    assert_int_equal(lumen_span_exporter_user_data(&ud, NULL, user_export), LUMEN_EINVAL);
    /* The memory exporter is recognised the same way: its readers refuse
     * another exporter. */
    assert_int_equal(lumen_memory_exporter_count(e), 0);
    assert_null(lumen_memory_exporter_get(e, 0));
    lumen_span_exporter_free(e);
}

/* A deadline `ms` from when it was handed out, give or take a busy
 * machine's scheduling. */
static void assert_deadline_about(int64_t dl, int64_t before_ns, uint32_t ms)
{
    int64_t want = before_ns + (int64_t)ms * 1000000;
    if (dl < want || dl > want + 5000 * (int64_t)1000000)
        fail_msg("deadline %lld ns, want %u ms after %lld", (long long)dl, ms,
                 (long long)before_ns);
}

static void test_trace_exporter__timeouts_handed_to_the_exporter(void **state)
{
    (void)state;
    /* The simple processor's export timeout, from its options. */
    user_exp u = {0};
    lumen_simple_processor_options so = LUMEN_SIMPLE_PROCESSOR_OPTIONS_INIT;
    so.export_timeout_ms = 1234;
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&u), &so), LUMEN_OK);
    lumen_tracer_provider *tp = provider_with(p, 2345);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "timeouts", NULL);
    int64_t t0 = lumen_monotonic_ns();
    lumen_span_end(lumen_span_start(t, "s", NULL));
    assert_int_equal(u.exports, 1);
    assert_deadline_about(u.export_dl, t0, 1234);
    /* force_flush: 0 is the processor's export timeout, LUMEN_WAIT_FOREVER
     * none, anything else itself. */
    t0 = lumen_monotonic_ns();
    assert_int_equal(lumen_span_processor_force_flush(p, 0), LUMEN_OK);
    assert_deadline_about(u.flush_dl, t0, 1234);
    assert_int_equal(lumen_span_processor_force_flush(p, LUMEN_WAIT_FOREVER), LUMEN_OK);
    assert_int_equal(u.flush_dl, 0);
    t0 = lumen_monotonic_ns();
    assert_int_equal(lumen_span_processor_force_flush(p, 50), LUMEN_OK);
    assert_deadline_about(u.flush_dl, t0, 50);
    /* The provider's: 0 is its shutdown_timeout_ms. */
    t0 = lumen_monotonic_ns();
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 0), LUMEN_OK);
    assert_deadline_about(u.flush_dl, t0, 2345);
    t0 = lumen_monotonic_ns();
    assert_int_equal(lumen_tracer_provider_shutdown(tp, 0), LUMEN_OK);
    assert_int_equal(u.shutdowns, 1);
    assert_deadline_about(u.shutdown_dl, t0, 2345);
    lumen_tracer_provider_free(tp);

    /* Without options: LUMEN_DEFAULT_EXPORT_TIMEOUT_MS; the provider's free
     * within LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS. */
    user_exp v = {0};
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&v), NULL), LUMEN_OK);
    tp = provider_with(p, 0);
    t = lumen_tracer_provider_get_tracer(tp, "defaults", NULL);
    t0 = lumen_monotonic_ns();
    lumen_span_end(lumen_span_start(t, "s", NULL));
    assert_deadline_about(v.export_dl, t0, LUMEN_DEFAULT_EXPORT_TIMEOUT_MS);
    t0 = lumen_monotonic_ns();
    lumen_tracer_provider_free(tp);
    assert_int_equal(v.shutdowns, 1);
    assert_deadline_about(v.shutdown_dl, t0, LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS);
    assert_int_equal(v.destroyed, 1);

    /* Options of an unknown version are refused, the exporter freed. */
    user_exp w = {0};
    so.version = 0;
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&w), &so), LUMEN_EVERSION);
    assert_null(p);
    assert_int_equal(w.destroyed, 1);
}

static void test_trace_exporter__stats_version(void **state)
{
    (void)state;
    user_exp u = {0};
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&u), NULL), LUMEN_OK);
    lumen_span_processor_stats st;
    memset(&st, 0xee, sizeof st);
    st.version = 0;
    assert_int_equal(lumen_span_processor_get_stats(&st, p), LUMEN_EVERSION);
    assert_int_equal(st.ended, 0xeeeeeeeeeeeeeeeeull); /* untouched */
    st.version = LUMEN_SPAN_PROCESSOR_STATS_VERSION + 1;
    assert_int_equal(lumen_span_processor_get_stats(&st, p), LUMEN_EVERSION);
    assert_int_equal(lumen_span_processor_stats_init(&st, LUMEN_SPAN_PROCESSOR_STATS_VERSION),
                     LUMEN_OK);
    st.ended = 99;
    assert_int_equal(lumen_span_processor_get_stats(&st, p), LUMEN_OK);
    assert_int_equal(st.version, LUMEN_SPAN_PROCESSOR_STATS_VERSION);
    assert_int_equal(st.ended, 0);
    assert_int_equal(lumen_span_processor_get_stats(NULL, p), LUMEN_EINVAL);
    lumen_span_processor_free(p);
    assert_int_equal(u.destroyed, 1);
}

static void test_trace_exporter__console_options(void **state)
{
    (void)state;
    lumen_console_exporter_options o = LUMEN_CONSOLE_EXPORTER_OPTIONS_INIT;
    assert_int_equal(o.fd, 0); /* 0: standard output */
    lumen_span_exporter *e;
    assert_int_equal(lumen_console_exporter_new(&e, &o), LUMEN_OK);
    lumen_span_exporter_free(e);
    o.fd = -1;
    assert_int_equal(lumen_console_exporter_new(&e, &o), LUMEN_EINVAL);
    assert_null(e);
    o.fd = 1;
    o.version = 0;
    assert_int_equal(lumen_console_exporter_new(&e, &o), LUMEN_EVERSION);
    assert_int_equal(
        lumen_console_exporter_options_init(&o, LUMEN_CONSOLE_EXPORTER_OPTIONS_VERSION), LUMEN_OK);
    /* Another descriptor: one JSON object per span per line. */
    char *dir = lt_tempdir(), path[600];
    snprintf(path, sizeof path, "%s/spans.jsonl", dir);
    free(dir);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    o.fd = fileno(f);
    assert_int_equal(lumen_console_exporter_new(&e, &o), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, e, NULL), LUMEN_OK);
    lumen_tracer_provider *tp = provider_with(p, 0);
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "c", NULL), "one", NULL));
    lumen_tracer_provider_free(tp);
    fclose(f);
    size_t n;
    char *text = lt_read_file(path, &n);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"name\":\"one\""));
    assert_int_equal(text[n - 1], '\n');
    free(text);
}

/* A console exporter whose reader is gone: SIGPIPE keeps its default
 * action (it would kill this test), the export fails and is counted. */
static void test_trace_exporter__console_closed_pipe(void **state)
{
    (void)state;
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    lumen_console_exporter_options o = LUMEN_CONSOLE_EXPORTER_OPTIONS_INIT;
    o.fd = fds[1];
    lumen_span_exporter *e;
    assert_int_equal(lumen_console_exporter_new(&e, &o), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, e, NULL), LUMEN_OK);
    lumen_tracer_provider *tp = provider_with(p, 0);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "c", NULL);
    for (int i = 0; i < 3; i++)
        lumen_span_end(lumen_span_start(t, "to nobody", NULL));
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    assert_int_equal(lumen_span_processor_get_stats(&st, p), LUMEN_OK);
    assert_int_equal(st.ended, 3);
    assert_int_equal(st.failed, 3);
    sigset_t pend;
    assert_int_equal(sigpending(&pend), 0);
    assert_false(sigismember(&pend, SIGPIPE));
    lumen_tracer_provider_free(tp);
    close(fds[1]);
    signal(SIGPIPE, old);
}

/* A span started with options of an unknown version does nothing. */
static void test_trace_exporter__span_options_version(void **state)
{
    (void)state;
    user_exp u = {0};
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, user_exporter(&u), NULL), LUMEN_OK);
    lumen_tracer_provider *tp = provider_with(p, 0);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "v", NULL);
    lumen_span_options so;
    memset(&so, 0, sizeof so);
    lumen_span *s = lumen_span_start(t, "zeroed", &so);
    assert_false(lumen_span_is_recording(s));
    lumen_span_end(s);
    assert_int_equal(u.exports, 0);
    assert_int_equal(lumen_span_options_init(&so, LUMEN_SPAN_OPTIONS_VERSION), LUMEN_OK);
    s = lumen_span_start(t, "good", &so);
    assert_true(lumen_span_is_recording(s));
    lumen_span_end(s);
    assert_int_equal(u.exports, 1);
    lumen_tracer_provider_free(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_exporter__status_reasons),
        cmocka_unit_test(test_trace_exporter__ops_version),
        cmocka_unit_test(test_trace_exporter__user_data_by_export_function),
        cmocka_unit_test(test_trace_exporter__timeouts_handed_to_the_exporter),
        cmocka_unit_test(test_trace_exporter__stats_version),
        cmocka_unit_test(test_trace_exporter__console_options),
        cmocka_unit_test(test_trace_exporter__console_closed_pipe),
        cmocka_unit_test(test_trace_exporter__span_options_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
