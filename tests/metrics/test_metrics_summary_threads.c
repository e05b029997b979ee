/* tests/metrics/test_metrics_summary_threads.c: threads observe one
 * summary (positive, negative, zero and infinite values, across scale
 * changes) while another reads and renders it. Every read is consistent
 * (the quantile's rank exists: count never goes back), and at the end the
 * count and sum are exact and every quantile is within the stated bound
 * of the exact quantile of everything observed. */
#include "summary_util.h"
#include "support/support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define PER 100000

static const double g_q[] = {0, 0.01, 0.5, 0.9, 0.99, 0.999, 1};
#define NQ (sizeof g_q / sizeof g_q[0])

static lumen_registry *g_reg;
static lumen_summary *g_s;
static atomic_int g_done;
static double g_vals[THREADS][PER];
static int g_noinf;

/* Integers (so the sum is exact in any order) over five orders of
 * magnitude, of both signs, some zero, a few infinite. */
static double draw(uint64_t *seed, int i)
{
    if (!g_noinf && i % 997 == 0)
        return i % 2 ? INFINITY : -INFINITY;
    double m = floor(exp(11.5 * su_unit(seed)));
    if (i % 10 == 0)
        return 0;
    return i % 3 == 0 ? -m : m;
}

static void *observer(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint64_t seed = 1000 + (uint64_t)t;
    for (int i = 0; i < PER; i++) {
        g_vals[t][i] = draw(&seed, i + 1);
        lumen_summary_observe(g_s, g_vals[t][i]);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    long reads = 0;
    while (!atomic_load(&g_done) || reads < 3) {
        uint64_t count;
        double sum, q[NQ];
        int scale;
        if (!su_read(g_s, &count, &sum, q, &scale) || count < last)
            return (void *)1;
        last = count;
        char *text = NULL;
        if (lumen_registry_render_string(&text, NULL, g_reg, LUMEN_FORMAT_OPENMETRICS) !=
                LUMEN_OK ||
            strstr(text, "thr_count ") == NULL)
            return (void *)2;
        lumen_free(text);
        reads++;
    }
    return NULL;
}

static void test_metrics_summary_threads__exact_counts(void **state)
{
    (void)state;
    assert_int_equal(lumen_registry_new(&g_reg), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.quantiles = g_q;
    o.quantile_count = NQ;
    o.max_age_ms = 3600000;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, g_reg, LUMEN_METRIC_SUMMARY, "thr", &o), LUMEN_OK);
    assert_int_equal(lumen_family_summary(&g_s, f, NULL, 0), LUMEN_OK);
    pthread_t th[THREADS], rd;
    assert_int_equal(pthread_create(&rd, NULL, reader, NULL), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, observer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&g_done, 1);
    void *rc;
    pthread_join(rd, &rc);
    assert_null(rc);

    size_t n = (size_t)THREADS * PER;
    double *all = malloc(n * sizeof *all);
    assert_non_null(all);
    memcpy(all, g_vals, n * sizeof *all);
    uint64_t pinf = 0, ninf = 0;
    for (size_t i = 0; i < n; i++)
        if (isinf(all[i]))
            all[i] > 0 ? pinf++ : ninf++;
    qsort(all, n, sizeof *all, su_cmp);
    uint64_t count;
    double sum, q[NQ];
    int scale;
    assert_true(su_read(g_s, &count, &sum, q, &scale));
    assert_int_equal(count, n);
    assert_true(pinf > 0 && ninf > 0 && isnan(sum));
    for (size_t i = 0; i < NQ; i++) {
        double x = su_exact(all, n, g_q[i]);
        printf("q=%-5g scale %d exact %-10g est %-10g\n", g_q[i], scale, x, q[i]);
        assert_true(su_within(q[i], x, scale));
    }
    free(all);
    lumen_registry_free(g_reg);
}

/* The same without infinities on a summary without quantiles, so that
 * the sum is checked exactly. */
static void test_metrics_summary_threads__exact_sum(void **state)
{
    (void)state;
    assert_int_equal(lumen_registry_new(&g_reg), LUMEN_OK);
    assert_int_equal(lumen_summary_new(&g_s, g_reg, "thr", "T."), LUMEN_OK);
    atomic_store(&g_done, 0);
    g_noinf = 1;
    pthread_t th[THREADS], rd;
    assert_int_equal(pthread_create(&rd, NULL, reader, NULL), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, observer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&g_done, 1);
    void *rc;
    pthread_join(rd, &rc);
    assert_null(rc);
    uint64_t count;
    double sum;
    assert_true(su_read(g_s, &count, &sum, NULL, NULL));
    assert_int_equal(count, (uint64_t)THREADS * PER);
    double want = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER; i++)
            want += g_vals[t][i];
    assert_true(sum == want); /* integers: exact in any order */
    lumen_registry_free(g_reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_summary_threads__exact_counts),
        cmocka_unit_test(test_metrics_summary_threads__exact_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
