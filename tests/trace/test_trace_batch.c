/* tests/trace/test_trace_batch.c: the batch processor: conservation of
 * spans under concurrency (labelled threads: runs under TSan), triggers
 * (batch size, schedule delay, force-flush), exports never concurrent,
 * shutdown deadlines with a hanging exporter. */
#include "support/support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace/helpers.h"
#include "trace/processor.h"

typedef struct counting {
    atomic_long spans, calls, inflight, overlap;
    atomic_int fail;     /* return failure */
    atomic_int sleep_ms; /* per export */
} counting;

static int count_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    counting *c = ud;
    if (atomic_fetch_add(&c->inflight, 1) != 0)
        atomic_fetch_add(&c->overlap, 1);
    for (size_t i = 0; i < n; i++)
        assert_non_null(lumen_span_get_name(spans[i]));
    int ms = atomic_load(&c->sleep_ms);
    if (ms > 0)
        usleep((useconds_t)ms * 1000);
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_sub(&c->inflight, 1);
    if (atomic_load(&c->fail))
        return LUMEN_EIO;
    atomic_fetch_add(&c->spans, (long)n);
    return LUMEN_OK;
}

static const lumen_span_exporter_ops count_ops = {LUMEN_SPAN_EXPORTER_OPS_VERSION, count_export,
                                                  NULL, NULL, NULL};

static lumen_tracer_provider *make(counting *c, lumen_batch_processor_options *bo,
                                   lumen_span_processor **pp)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    lumen_span_exporter *e;
    assert_int_equal(lumen_span_exporter_new(&e, &count_ops, c), LUMEN_OK);
    assert_int_equal(lumen_batch_processor_new(pp, e, bo), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, *pp), LUMEN_OK);
    return tp;
}

typedef struct worker_arg {
    lumen_tracer *t;
    int n;
} worker_arg;

static void *ender(void *arg)
{
    worker_arg *w = arg;
    for (int i = 0; i < w->n; i++) {
        lumen_span *s = lumen_span_start(w->t, "work", NULL);
        lumen_span_set_str(s, "http.method", "GET");
        lumen_span_set_int(s, "i", i);
        lumen_span_end(s);
    }
    return NULL;
}

static void test_trace_batch__conservation_many_threads(void **state)
{
    counting c = {0};
    atomic_store(&c.sleep_ms, 1); /* a slow exporter makes the queue overflow */
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.max_queue_size = 256;
    bo.max_export_batch_size = 64;
    bo.schedule_delay_ms = 5;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    enum { T = 4, N = 20000 };
    pthread_t th[T];
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), N};
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, ender, &w);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 30000), LUMEN_OK);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.ended, (uint64_t)T * N);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.ended, st.exported + st.dropped + st.failed);
    assert_int_equal(st.exported, (uint64_t)atomic_load(&c.spans));
    assert_true(st.dropped > 0); /* the slow exporter made it drop */
    assert_int_equal(atomic_load(&c.overlap), 0);
    lumen_tracer_provider_free(tp);
}

static void test_trace_batch__lossless_under_queue_size(void **state)
{
    counting c = {0};
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 60000;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 2048};
    /* The worker may export batches of 512 while we produce: no loss. */
    ender(&w);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 10000), LUMEN_OK);
    assert_int_equal(atomic_load(&c.spans), 2048);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.dropped, 0);
    /* Still works after a flush; shutdown exports the rest. */
    w.n = 10;
    ender(&w);
    assert_int_equal(lumen_tracer_provider_shutdown(tp, 10000), LUMEN_OK);
    assert_int_equal(atomic_load(&c.spans), 2058);
    /* After shutdown: not recorded at all. */
    ender(&w);
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.ended, 2058);
    lumen_tracer_provider_free(tp);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll until *v reaches `want`, at most `ms`. */
static bool wait_for(atomic_long *v, long want, int ms)
{
    int64_t until = mono_ms() + ms;
    while (atomic_load(v) < want && mono_ms() < until)
        usleep(1000);
    return atomic_load(v) >= want;
}

/* Poll until the worker sleeps waiting for spans with `queued` queued. */
static bool wait_asleep(lumen_span_processor *p, uint64_t queued, int ms)
{
    int64_t until = mono_ms() + ms;
    for (;;) {
        lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
        lumen_span_processor_get_stats(&st, p);
        if (lumen__batch_worker_asleep(p) && st.queued == queued && st.in_flight == 0)
            return true;
        if (mono_ms() > until)
            return false;
        usleep(1000);
    }
}

static void test_trace_batch__triggers(void **state)
{
    /* A full batch is exported without waiting for the delay. */
    counting c = {0};
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 60000;
    bo.max_export_batch_size = 8;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 8};
    assert_true(wait_asleep(p, 0, 5000)); /* the span that fills the batch must wake it */
    ender(&w);
    assert_true(wait_for(&c.spans, 8, 5000));
    /* Fewer than a batch waits for the delay (60 s here): once the worker
     * sleeps again with the 3 queued, nothing can export them before it. */
    w.n = 3;
    ender(&w);
    assert_true(wait_asleep(p, 3, 5000));
    assert_int_equal(atomic_load(&c.spans), 8);
    lumen_tracer_provider_free(tp);
    assert_int_equal(atomic_load(&c.spans), 11); /* free shuts down, which flushes */

    /* The schedule delay exports a partial batch. */
    counting c2 = {0};
    bo.schedule_delay_ms = 50;
    bo.max_export_batch_size = 0;
    tp = make(&c2, &bo, &p);
    w.t = lumen_tracer_provider_get_tracer(tp, "t", NULL);
    ender(&w);
    assert_true(wait_for(&c2.spans, 3, 3000));
    lumen_tracer_provider_free(tp);
}

static void test_trace_batch__failures_counted(void **state)
{
    counting c = {0};
    atomic_store(&c.fail, 1);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 100};
    ender(&w);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 5000), LUMEN_EIO);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    assert_int_equal(st.failed, 100);
    assert_int_equal(st.exported, 0);
    lumen_tracer_provider_free(tp);
}

static void test_trace_batch__shutdown_deadline_with_hanging_exporter(void **state)
{
    counting c = {0};
    atomic_store(&c.sleep_ms, 1500); /* ignores its deadline */
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 5};
    ender(&w);
    int64_t t0 = mono_ms();
    assert_int_equal(lumen_tracer_provider_shutdown(tp, 200), LUMEN_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 150 && took < 1200);
    /* Ending spans meanwhile returns at once. */
    t0 = mono_ms();
    ender(&w);
    assert_true(mono_ms() - t0 < 100);
    lumen_tracer_provider_free(tp); /* waits for the export to return */
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    (void)st;
}

/* After fork the child's processor works (new worker, fresh lock) and
 * does not send the parent's queued spans again; the parent is unaffected.
 * Not in the TSan build, which cannot start threads after a multi-threaded
 * fork (a test left out of a build, not a skip: make test allows none). */
#if !defined(__SANITIZE_THREAD__)
static void test_trace_batch__fork_restarts_worker(void **state)
{
    counting c = {0};
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 60000;
    lumen_span_processor *p;
    lumen_tracer_provider *tp = make(&c, &bo, &p);
    worker_arg w = {lumen_tracer_provider_get_tracer(tp, "t", NULL), 5};
    ender(&w); /* queued in the parent, not exported yet */
    pid_t pid = fork();
    if (pid == 0) {
        w.n = 3;
        ender(&w);
        int ok = lumen_tracer_provider_force_flush(tp, 5000) == LUMEN_OK;
        lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
        lumen_span_processor_get_stats(&st, p);
        ok = ok && atomic_load(&c.spans) == 3 && st.ended == 3 && st.exported == 3;
        lumen_tracer_provider_free(tp);
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 5000), LUMEN_OK);
    assert_int_equal(atomic_load(&c.spans), 5);
    lumen_tracer_provider_free(tp);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_batch__conservation_many_threads),
        cmocka_unit_test(test_trace_batch__lossless_under_queue_size),
        cmocka_unit_test(test_trace_batch__triggers),
        cmocka_unit_test(test_trace_batch__failures_counted),
        cmocka_unit_test(test_trace_batch__shutdown_deadline_with_hanging_exporter),
#if !defined(__SANITIZE_THREAD__)
        cmocka_unit_test(test_trace_batch__fork_restarts_worker),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
