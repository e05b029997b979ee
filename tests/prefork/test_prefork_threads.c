/*
 * tests/prefork/test_prefork_threads.c: workers with several threads each
 * update shared series and create label sets at once, while a thread of
 * the master renders over and over and the master reclaims each worker as
 * it exits. Every render's counter totals are at least the previous
 * render's (nothing goes backwards when a worker's slot is folded), and
 * the final totals are exact. Runs under ThreadSanitizer (label threads):
 * the master forks its workers before it starts its render thread.
 */
#include <math.h>
#include <pthread.h>

#include "prefork/prefork_test.h"

#define WORKERS 3
#define THREADS 4
#define ITERS 50000
#define NEW_SETS 50

static lumen_counter *g_total;
static lumen_family *g_by_thread, *g_made;
static lumen_histogram *g_hist;
static lumen_gauge *g_busy;

static void *work(void *p)
{
    int t = (int)(intptr_t)p % THREADS, w = (int)(intptr_t)p / THREADS;
    char tv[8];
    snprintf(tv, sizeof tv, "%d", t);
    const char *v[] = {tv};
    lumen_counter *mine;
    if (lumen_family_counter(&mine, g_by_thread, v, 1) != LUMEN_OK)
        return (void *)1;
    for (int i = 0; i < ITERS; i++) {
        lumen_gauge_inc(g_busy);
        lumen_counter_inc(g_total);
        lumen_counter_add(mine, 2);
        lumen_histogram_observe(g_hist, (i % 4) * 0.5);
        if (i % (ITERS / NEW_SETS) == 0) {
            char k[32];
            snprintf(k, sizeof k, "%d-%d-%d", w, t, i / (ITERS / NEW_SETS));
            const char *kv[] = {k};
            lumen_counter *c;
            if (lumen_family_counter(&c, g_made, kv, 1) != LUMEN_OK)
                return (void *)2;
            lumen_counter_inc(c);
        }
        lumen_gauge_dec(g_busy);
    }
    return NULL;
}

static int worker(void *p)
{
    pt_gate *go = p;
    if (!pt_await(go, 30000))
        return 3;
    int w = (int)getpid(); /* any distinct number */
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, work, (void *)(intptr_t)(w * THREADS + t)) != 0)
            return 4;
    int rc = 0;
    for (int t = 0; t < THREADS; t++) {
        void *r;
        pthread_join(th[t], &r);
        if (r != NULL)
            rc = 5;
    }
    return rc;
}

typedef struct renderer {
    lumen_registry *reg;
    _Atomic int stop;
    int renders;
    double last;
    char *error;
} renderer;

static void *render_loop(void *p)
{
    renderer *r = p;
    while (!atomic_load(&r->stop)) {
        char *t = NULL;
        if (lumen_registry_render_string(&t, NULL, r->reg, LUMEN_FORMAT_OPENMETRICS) != LUMEN_OK) {
            r->error = strdup("render failed");
            return NULL;
        }
        double v = pt_value(t, "pt_all_total");
        double made = pt_value(t, "pt_made_total{k=\"0-0-0\"}");
        lumen_free(t);
        if (isnan(v) || v < r->last) {
            char buf[128];
            snprintf(buf, sizeof buf, "render %d: total %.17g after %.17g", r->renders, v, r->last);
            r->error = strdup(buf);
            return NULL;
        }
        (void)made;
        r->last = v;
        r->renders++;
    }
    return NULL;
}

static void test_prefork_threads__workers_threads_and_renders(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    const char *tl[] = {"thread"}, *kl[] = {"k"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = tl;
    o.label_count = 1;
    assert_int_equal(lumen_counter_new(&g_total, reg, "pt_all", NULL), LUMEN_OK);
    assert_int_equal(lumen_family_new(&g_by_thread, reg, LUMEN_METRIC_COUNTER, "pt_by_thread", &o),
                     LUMEN_OK);
    o.label_names = kl;
    assert_int_equal(lumen_family_new(&g_made, reg, LUMEN_METRIC_COUNTER, "pt_made", &o), LUMEN_OK);
    static const double b[] = {0.25, 1};
    assert_int_equal(lumen_histogram_new(&g_hist, reg, "pt_hist", NULL, b, 2), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g_busy, reg, "pt_busy", NULL), LUMEN_OK);
    assert_int_equal(lumen_prefork_set_gauge_mode(pf, "pt_busy", LUMEN_PREFORK_GAUGE_LIVESUM),
                     LUMEN_OK);

    /* Forked while the master has one thread. */
    pt_gate go;
    pt_gate_init(&go);
    pid_t kids[WORKERS];
    for (int w = 0; w < WORKERS; w++)
        kids[w] = pt_spawn(worker, &go);
    renderer r = {.reg = reg};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, render_loop, &r), 0);
    for (int w = 0; w < WORKERS; w++)
        pt_post(&go);
    int reclaimed = 0;
    for (int w = 0; w < WORKERS; w++) {
        assert_child_ok(kids[w]);
        reclaimed += pt_reclaim(pf);
    }
    assert_int_equal(reclaimed, WORKERS);
    /* The master's threads count too. */
    pthread_t mine[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&mine[t], NULL, work, (void *)(intptr_t)(t + 1)), 0);
    for (int t = 0; t < 2; t++) {
        void *res;
        pthread_join(mine[t], &res);
        assert_null(res);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    if (r.error != NULL)
        fail_msg("%s", r.error);
    print_message("%d renders during the run\n", r.renders);
    assert_true(r.renders > 0);

    const double n = (double)ITERS * (WORKERS * THREADS + 2);
    char *t = pt_render(reg);
    assert_value(t, "pt_all_total", n);
    assert_value(t, "pt_hist_count", n);
    assert_value(t, "pt_hist_bucket{le=\"0.25\"}", n / 4);
    assert_value(t, "pt_hist_bucket{le=\"1\"}", 3 * n / 4);
    assert_value(t, "pt_hist_sum", ITERS / 4 * (0 + 0.5 + 1 + 1.5) * (WORKERS * THREADS + 2));
    assert_value(t, "pt_busy", 0);
    assert_value(t, "pt_by_thread_total{thread=\"0\"}", 2.0 * ITERS * WORKERS);
    assert_value(t, "pt_by_thread_total{thread=\"1\"}", 2.0 * ITERS * (WORKERS + 1));
    assert_value(t, "pt_by_thread_total{thread=\"2\"}", 2.0 * ITERS * (WORKERS + 1));
    assert_value(t, "pt_by_thread_total{thread=\"3\"}", 2.0 * ITERS * WORKERS);
    assert_int_equal(pt_count(t, "pt_made_total{"), NEW_SETS * (WORKERS * THREADS + 2));
    lumen_free(t);
    pt_gate_close(&go);
    free(r.error);
    lumen_prefork_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork_threads__workers_threads_and_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
