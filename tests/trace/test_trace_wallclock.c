/* tests/trace/test_trace_wallclock.c: a step of the wall clock neither
 * shortens nor stretches a timeout of the trace layer: the batch
 * processor's flush and shutdown, the provider's, the simple processor's
 * export deadline, and the OTLP/HTTP client's backoff waits and deadline.
 * The wall clock lumen sees is stepped by tests/support/wallclock.h,
 * which models a step between computing a deadline and waiting for it. */
#include "support/support.h"

#include <pthread.h>

#include "lumen/http_otlp.h"
#include "support/wallclock.h"
#include "trace/collector.h"

#define HOUR (3600LL * 1000000000)
#define SEC (1000000000LL)

/* An exporter that holds each export until released (at most 5 s). */
typedef struct held {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release;
    int entered;
    int64_t last_dl, last_mono; /* the deadline it got, and when */
} held;

static int held_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    (void)spans, (void)n;
    held *h = ud;
    pthread_mutex_lock(&h->mu);
    h->entered++;
    h->last_dl = dl;
    h->last_mono = lumen_monotonic_ns();
    int64_t until = lt_mono_ms() + 5000;
    while (!h->release && lt_mono_ms() < until) {
        pthread_mutex_unlock(&h->mu);
        usleep(1000);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return LUMEN_OK;
}

static const lumen_span_exporter_ops held_ops = {LUMEN_SPAN_EXPORTER_OPS_VERSION, held_export, NULL,
                                                 NULL, NULL};

static lumen_tracer_provider *make(held *h, bool simple)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    lumen_span_exporter *e;
    assert_int_equal(lumen_span_exporter_new(&e, &held_ops, h), LUMEN_OK);
    lumen_span_processor *p;
    if (simple) {
        assert_int_equal(lumen_simple_processor_new(&p, e, NULL), LUMEN_OK);
    } else {
        lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
        bo.max_export_batch_size = 1; /* the first span goes at once */
        assert_int_equal(lumen_batch_processor_new(&p, e, &bo), LUMEN_OK);
    }
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    return tp;
}

static void held_init(held *h)
{
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->release = false;
    h->entered = 0;
}

static void wait_entered(held *h)
{
    int64_t until = lt_mono_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        int e = h->entered;
        pthread_mutex_unlock(&h->mu);
        if (e > 0 || lt_mono_ms() > until)
            break;
        usleep(1000);
    }
    assert_true(h->entered > 0);
}

static void release(held *h)
{
    pthread_mutex_lock(&h->mu);
    h->release = true;
    pthread_mutex_unlock(&h->mu);
}

static void test_trace_wallclock__interposer_in_effect(void **state)
{
    (void)state;
    assert_true(lt_wall_check());
}

/* shutdown(300 ms) with an export that hangs: 300 ms, whatever the step. */
static void shutdown_with_step(int64_t step, const char *what, bool provider_flush)
{
    held h;
    held_init(&h);
    lumen_tracer_provider *tp = make(&h, false);
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    wait_entered(&h);
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    lt_wall_step(step);
    int64_t t0 = lt_mono_ms();
    int rc = provider_flush ? lumen_tracer_provider_force_flush(tp, 300)
                            : lumen_tracer_provider_shutdown(tp, 300);
    int64_t took = lt_mono_ms() - t0;
    lt_wall_reset();
    release(&h);
    assert_int_equal(rc, LUMEN_ETIMEDOUT);
    if (took < 250 || took > 2000)
        fail_msg("%s with the wall clock stepped by %+lld s: %lld ms, not 300", what,
                 (long long)(step / SEC), (long long)took);
    lumen_tracer_provider_free(tp);
}

static void test_trace_wallclock__shutdown_not_cut_short_by_a_forward_step(void **state)
{
    (void)state;
    shutdown_with_step(-HOUR, "shutdown", false);
}

static void test_trace_wallclock__shutdown_not_stretched_by_a_backward_step(void **state)
{
    (void)state;
    shutdown_with_step(10 * SEC, "shutdown", false);
}

static void test_trace_wallclock__force_flush_unaffected_by_steps(void **state)
{
    (void)state;
    shutdown_with_step(-HOUR, "force_flush", true);
    shutdown_with_step(10 * SEC, "force_flush", true);
}

/* Exporters get their deadline on the monotonic clock: the simple
 * processor's is 30 s ahead, the batch processor's the export timeout. */
static void test_trace_wallclock__exporter_deadline_is_monotonic(void **state)
{
    (void)state;
    held h;
    held_init(&h);
    h.release = true;
    lt_wall_step(HOUR);
    lumen_tracer_provider *tp = make(&h, true);
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    lt_wall_reset();
    int64_t ahead = h.last_dl - h.last_mono;
    if (ahead < 29 * SEC || ahead > 31 * SEC)
        fail_msg("simple processor: deadline %lld ns ahead of lumen_monotonic_ns, not 30 s",
                 (long long)ahead);
    lumen_tracer_provider_free(tp);

    held_init(&h);
    h.release = true;
    lt_wall_step(HOUR);
    tp = make(&h, false);
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    wait_entered(&h);
    lt_wall_reset();
    ahead = h.last_dl - h.last_mono;
    if (ahead < 29 * SEC || ahead > 31 * SEC)
        fail_msg("batch processor: deadline %lld ns ahead of lumen_monotonic_ns, not 30 s",
                 (long long)ahead);
    lumen_tracer_provider_free(tp);
}

/* ---- the OTLP/HTTP client ---------------------------------------------------- */

typedef struct otlp_fix {
    collector col;
    lumen_span_exporter *exp; /* owned by the processor once exported through */
} otlp_fix;

static void otlp_setup(otlp_fix *f, const char *script, uint32_t backoff_ms, uint32_t timeout_ms)
{
    collector_start(&f->col, script);
    lumen_otlp_http_exporter_options ho = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    ho.ignore_env = true;
    ho.endpoint = f->col.url;
    ho.initial_backoff_ms = backoff_ms;
    ho.max_backoff_ms = backoff_ms;
    ho.timeout_ms = timeout_ms;
    assert_int_equal(lumen_otlp_http_exporter_new(&f->exp, &ho), LUMEN_OK);
}

static void otlp_teardown(otlp_fix *f)
{
    collector_stop(&f->col);
}

/* End one span through a simple processor, which exports it on this
 * thread; *took_ms is how long that took. */
static int otlp_export(otlp_fix *f, int64_t *took_ms)
{
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, f->exp, NULL), LUMEN_OK);
    f->exp = NULL;
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    int64_t t0 = lt_mono_ms();
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    *took_ms = lt_mono_ms() - t0;
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    lumen_tracer_provider_free(tp);
    return st.exported == 1 ? LUMEN_OK : LUMEN_EIO;
}

/* Two retries of 300 ms (jitter: 150 to 450 ms each). */
static void test_trace_wallclock__otlp_backoff_not_cut_short(void **state)
{
    (void)state;
    otlp_fix f;
    otlp_setup(&f, "503,503,200", 300, 10000);
    lt_wall_step(-HOUR);
    int64_t took;
    int r = otlp_export(&f, &took);
    lt_wall_reset();
    assert_int_equal(r, LUMEN_OK);
    assert_int_equal(collector_requests(&f.col), 3);
    if (took < 280)
        fail_msg("two 300 ms backoff waits took %lld ms after a forward step", (long long)took);
    otlp_teardown(&f);
}

static void test_trace_wallclock__otlp_backoff_not_stretched(void **state)
{
    (void)state;
    otlp_fix f;
    otlp_setup(&f, "503,200", 300, 30000);
    lt_wall_step(10 * SEC);
    int64_t took;
    int r = otlp_export(&f, &took);
    lt_wall_reset();
    assert_int_equal(r, LUMEN_OK);
    if (took > 3000)
        fail_msg("a 300 ms backoff wait took %lld ms after a backward step", (long long)took);
    otlp_teardown(&f);
}

/* A forward step in the middle of an export does not spend its budget. */
static void *step_later(void *arg)
{
    (void)arg;
    usleep(100000); /* into the first backoff wait (300 ms) */
    lt_wall_step(HOUR);
    return NULL;
}

static void test_trace_wallclock__otlp_deadline_survives_a_step_during_export(void **state)
{
    (void)state;
    otlp_fix f;
    otlp_setup(&f, "503,200", 300, 10000);
    pthread_t t;
    pthread_create(&t, NULL, step_later, NULL);
    int64_t took;
    int r = otlp_export(&f, &took);
    pthread_join(t, NULL);
    lt_wall_reset();
    assert_int_equal(r, LUMEN_OK);
    assert_int_equal(collector_requests(&f.col), 2);
    otlp_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_wallclock__interposer_in_effect),
        cmocka_unit_test(test_trace_wallclock__shutdown_not_cut_short_by_a_forward_step),
        cmocka_unit_test(test_trace_wallclock__shutdown_not_stretched_by_a_backward_step),
        cmocka_unit_test(test_trace_wallclock__force_flush_unaffected_by_steps),
        cmocka_unit_test(test_trace_wallclock__exporter_deadline_is_monotonic),
        cmocka_unit_test(test_trace_wallclock__otlp_backoff_not_cut_short),
        cmocka_unit_test(test_trace_wallclock__otlp_backoff_not_stretched),
        cmocka_unit_test(test_trace_wallclock__otlp_deadline_survives_a_step_during_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
