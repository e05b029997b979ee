/* tests/metrics/test_metrics_summary.c: a summary's quantiles keep the
 * relative error metrics.h states, against the exact quantiles of 1M
 * observations of known distributions (seeded); zero, negatives and
 * infinities; the window forgets what slid out of it (and its coarse
 * scale with it); the memory per series is what the header says and an
 * observation allocates nothing after the first of its sign; the render
 * goes through prometheus_client's parser. */
#include "peer_util.h"
#include "summary_util.h"

#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/buf.h"
#include "metrics/expmap.h"

#define N 1000000

static const double g_q[] = {0.001, 0.5, 0.9, 0.99, 0.999};
#define NQ (sizeof g_q / sizeof g_q[0])

/* ---- a counting allocator (installed first thing in main) ---- */

static atomic_long g_live_bytes, g_allocs;
static atomic_int g_fail; /* the next allocations fail */

static void *count_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (atomic_load(&g_fail))
        return NULL;
    size_t *p = malloc(size + 16);
    if (p == NULL)
        return NULL;
    *p = size;
    atomic_fetch_add(&g_live_bytes, (long)size);
    atomic_fetch_add(&g_allocs, 1);
    return (char *)p + 16;
}

static void count_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    if (ptr == NULL)
        return;
    size_t *p = (size_t *)(void *)((char *)ptr - 16);
    atomic_fetch_sub(&g_live_bytes, (long)*p);
    free(p);
}

static void *count_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    void *n = count_malloc(ctx, new_size);
    if (n != NULL && ptr != NULL) {
        size_t was = *(size_t *)(void *)((char *)ptr - 16);
        memcpy(n, ptr, was < new_size ? was : new_size);
        count_free(ctx, ptr, old_size);
    }
    return n;
}

/* ---- helpers ---- */

static lumen_summary *new_summary(lumen_registry *r, const char *name, uint32_t max_age_ms,
                                  uint32_t age_buckets)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "S.";
    o.quantiles = g_q;
    o.quantile_count = NQ;
    o.max_age_ms = max_age_ms;
    o.age_buckets = age_buckets;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, name, &o), LUMEN_OK);
    lumen_summary *s;
    assert_int_equal(lumen_family_summary(&s, f, NULL, 0), LUMEN_OK);
    return s;
}

/* The value of `name{quantile="q"}` in a 0.0.4 exposition. */
static double rendered_quantile(const char *text, const char *name, double q)
{
    char key[256], qs[40];
    lumen__fmt_double_go(qs, q);
    snprintf(key, sizeof key, "%s{quantile=\"%s\"} ", name, qs);
    const char *at = strstr(text, key);
    assert_non_null(at);
    return strtod(at + strlen(key), NULL);
}

typedef double (*draw_fn)(uint64_t *s);

static double d_lognormal(uint64_t *s)
{
    return 0.01 * exp(1.5 * su_normal(s)); /* seconds: 10 ms median */
}
static double d_uniform(uint64_t *s)
{
    return 1000 * su_unit(s);
}
static double d_exponential(uint64_t *s)
{
    return -log(su_unit(s));
}
static double d_pareto(uint64_t *s)
{
    return pow(su_unit(s), -1 / 1.16); /* alpha 1.16: the 80/20 tail */
}
static double d_loguniform6(uint64_t *s)
{
    return 1e-6 * pow(10, 6 * su_unit(s)); /* 1 us .. 1 s */
}
static double d_normal_signed(uint64_t *s)
{
    uint64_t r = su_next(s);
    if (r % 50 == 0)
        return 0; /* 2 % exact zeros */
    return su_normal(s);
}

/* 1M draws into a summary; every quantile within the bound of the scale
 * it was read at, in what the render shows as in the internal read; the
 * scale at least min_scale. */
static void check_distribution(const char *name, draw_fn draw, uint64_t seed, int min_scale)
{
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_summary *s = new_summary(r, name, 3600000, 5);
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    double sum = 0;
    for (size_t i = 0; i < N; i++) {
        v[i] = draw(&seed);
        sum += v[i];
        lumen_summary_observe(s, v[i]);
    }
    qsort(v, N, sizeof *v, su_cmp);
    uint64_t count = 0;
    double got_sum = 0, q[NQ];
    int scale = 99;
    assert_true(su_read(s, &count, &got_sum, q, &scale));
    assert_int_equal(count, N);
    assert_true(got_sum == sum);
    char *text = NULL;
    assert_int_equal(lumen_registry_render_string(&text, NULL, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    for (size_t i = 0; i < NQ; i++) {
        double x = su_exact(v, N, g_q[i]), shown = rendered_quantile(text, name, g_q[i]);
        printf("%-16s q=%-5g scale %d exact %-12.6g est %-12.6g rel err %.3e (bound %.3e)\n", name,
               g_q[i], scale, x, q[i], fabs(q[i] - x) / fabs(x), su_bound(scale));
        assert_true(su_within(q[i], x, scale));
        assert_true(su_within(shown, x, scale));
    }
    assert_true(scale >= min_scale);
    assert_true(scale <= 8);
    lumen_free(text);
    free(v);
    lumen_registry_free(r);
}

/* ---- tests ---- */

static void test_metrics_summary__lognormal(void **state)
{
    (void)state;
    check_distribution("lognormal", d_lognormal, 1, 6);
}

static void test_metrics_summary__uniform(void **state)
{
    (void)state;
    check_distribution("uniform", d_uniform, 2, 6);
}

static void test_metrics_summary__exponential(void **state)
{
    (void)state;
    check_distribution("exponential", d_exponential, 3, 5);
}

static void test_metrics_summary__heavy_tail(void **state)
{
    (void)state;
    check_distribution("pareto", d_pareto, 4, 6);
}

/* The header's promise: six orders of magnitude keep scale 6 (< 1 %). */
static void test_metrics_summary__six_decades_keep_scale_6(void **state)
{
    (void)state;
    check_distribution("loguniform", d_loguniform6, 5, 6);
}

static void test_metrics_summary__negative_and_zero(void **state)
{
    (void)state;
    check_distribution("normal", d_normal_signed, 6, 0);
}

/* Orders that move a sub-window's range the most: ascending and
 * descending runs (the counters recentred again and again), two clusters
 * drifting apart (scale lowered step by step), the extremes of the double
 * range (subnormal to DBL_MAX). Every quantile stays within the bound. */
static void test_metrics_summary__hostile_orders(void **state)
{
    (void)state;
    enum { M = 200000 };
    double *v = malloc(M * sizeof *v);
    assert_non_null(v);
    for (int order = 0; order < 4; order++) {
        lumen_registry *r;
        assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
        lumen_summary *s = new_summary(r, "hostile", 3600000, 5);
        uint64_t seed = 100 + (uint64_t)order;
        for (int i = 0; i < M; i++) {
            double x = (double)i / M;
            switch (order) {
            case 0: /* ascending over 12 decades */
                v[i] = 1e-6 * pow(10, 12 * x);
                break;
            case 1: /* descending over 12 decades */
                v[i] = 1e6 * pow(10, -12 * x);
                break;
            case 2: /* two clusters drifting apart, alternating */
                v[i] = (i % 2 ? 1 + su_unit(&seed) : 1 - su_unit(&seed) / 2) *
                       pow(10, (i % 2 ? 100 : -100) * x);
                break;
            default: /* anywhere in the double range, either sign */
                v[i] = ldexp(1 + su_unit(&seed), (int)(su_next(&seed) % 2098) - 1074);
                if (su_next(&seed) % 2)
                    v[i] = -v[i];
                break;
            }
            lumen_summary_observe(s, v[i]);
        }
        qsort(v, M, sizeof *v, su_cmp);
        uint64_t count;
        double sum, q[NQ];
        int scale;
        assert_true(su_read(s, &count, &sum, q, &scale));
        assert_int_equal(count, M);
        for (size_t i = 0; i < NQ; i++) {
            double x = su_exact(v, M, g_q[i]);
            if (!su_within(q[i], x, scale))
                fprintf(stderr, "order %d q %g scale %d: %.17g for %.17g\n", order, g_q[i], scale,
                        q[i], x);
            /* Subnormals keep only their count and order (metrics.h). */
            if (fabs(x) >= DBL_MIN)
                assert_true(su_within(q[i], x, scale));
        }
        lumen_registry_free(r);
    }
    free(v);
}

/* The bound is exact, not loose: a value just above a bucket's lower
 * boundary, and one at its upper boundary, are estimated off by all but
 * nothing of (g - 1) / (g + 1), never more. (The arithmetic midpoint would
 * be off by (g - 1) / 2 at the lower end, more than the bound.) */
static void test_metrics_summary__bound_is_attained(void **state)
{
    (void)state;
    for (int end = 0; end < 2; end++) {
        lumen_registry *r;
        assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
        lumen_summary *s = new_summary(r, "edge", 60000, 5);
        int32_t i = lumen__exp_index(3.0, 8);
        double v = end ? lumen__exp_lower(i + 1, 8) : nextafter(lumen__exp_lower(i, 8), 4);
        while (lumen__exp_index(v, 8) > i) /* the boundary rounded up: the largest below */
            v = nextafter(v, 0);
        assert_int_equal(lumen__exp_index(v, 8), i);
        /* v is the median of three; its neighbours keep the clamp away. */
        lumen_summary_observe(s, 2.5);
        lumen_summary_observe(s, v);
        lumen_summary_observe(s, 3.5);
        uint64_t count;
        double sum, q[NQ];
        int scale;
        assert_true(su_read(s, &count, &sum, q, &scale));
        assert_int_equal(scale, 8);
        double err = fabs(q[1] - v) / v;
        printf("value %.17g at the %s end of its bucket: error %.6e of bound %.6e\n", v,
               end ? "upper" : "lower", err, su_bound(8));
        assert_true(su_within(q[1], v, 8));
        assert_true(err > su_bound(8) * (1 - 1e-9));
        double g = exp2(exp2(-8)), mid = lumen__exp_lower(i, 8) * (1 + g) / 2;
        if (!end)
            assert_true(fabs(mid - v) / v > su_bound(8) * (1 + 1e-4));
        lumen_registry_free(r);
    }
}

/* Zero, -0, both infinities exact; NaN refused; one value is exact (the
 * clamp to the window's extremes); prometheus_client reads the render. */
static void test_metrics_summary__special_values_and_peer(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_summary *one = new_summary(r, "one", 60000, 5);
    lumen_summary_observe(one, 0.123456789);
    lumen_summary *sp = new_summary(r, "special", 60000, 5);
    /* 1000 -Inf, 1 -3, 2000 zeros (half -0), 1 +7, 1000 +Inf. */
    for (int i = 0; i < 1000; i++)
        lumen_summary_observe(sp, -INFINITY);
    lumen_summary_observe(sp, -3);
    for (int i = 0; i < 2000; i++)
        lumen_summary_observe(sp, i % 2 ? 0.0 : -0.0);
    lumen_summary_observe(sp, 7);
    for (int i = 0; i < 1000; i++)
        lumen_summary_observe(sp, INFINITY);
    lumen_summary_observe(sp, NAN);
    uint64_t count;
    double sum, q[NQ];
    int scale;
    assert_true(su_read(one, &count, &sum, q, &scale));
    for (size_t i = 0; i < NQ; i++)
        assert_true(q[i] == 0.123456789);
    assert_true(su_read(sp, &count, &sum, q, &scale));
    assert_int_equal(count, 4002); /* the NaN is not counted */
    assert_true(isnan(sum));       /* -Inf + +Inf */
    /* ranks: 1..1000 -Inf, 1001 -3, 1002..3001 zero, 3002 7, 3003.. +Inf */
    double want[NQ] = {-INFINITY, 0, INFINITY, INFINITY, INFINITY};
    for (size_t i = 0; i < NQ; i++)
        assert_true(q[i] == want[i] || (isnan(q[i]) && isnan(want[i])));

    /* The 0.0.4 parser reads all of it; OpenMetrics refuses negative
     * quantile values and a NaN _sum (prometheus_client's parser says so),
     * so it gets a registry without negatives: 0, 7, +Inf. */
    lumen_registry *r2;
    assert_int_equal(lumen_registry_new(&r2), LUMEN_OK);
    lumen_summary *nn = new_summary(r2, "nonneg", 60000, 5);
    lumen_summary_observe(nn, 0);
    lumen_summary_observe(nn, 7);
    lumen_summary_observe(nn, INFINITY);
    double want_nn[NQ] = {0, 7, INFINITY, INFINITY, INFINITY};
    /* 7 is estimated (within the bound), the rest exact: the parser must
     * read what the summary reads. */
    assert_true(su_read(nn, &count, &sum, q, &scale));
    assert_true(su_within(q[1], 7, scale) && q[1] != 7);
    want_nn[1] = q[1];
    for (int f = 0; f < 3; f++) {
        lumen_registry *reg = f == 0 ? r : r2;
        lines l = {0};
        for (size_t i = 0; i < NQ; i++) {
            char qs[40];
            if (f < 2)
                lumen__fmt_double_go(qs, g_q[i]);
            else
                lumen__fmt_double_canonical(qs, g_q[i]);
            const char *kv[] = {"quantile", qs};
            if (f == 0) {
                peer_expect(&l, "one", kv, 1, 0.123456789, NULL);
                peer_expect(&l, "special", kv, 1, want[i], NULL);
            } else {
                peer_expect(&l, "nonneg", kv, 1, want_nn[i], NULL);
            }
        }
        if (f == 0) {
            peer_expect(&l, "one_sum", NULL, 0, 0.123456789, NULL);
            peer_expect(&l, "one_count", NULL, 0, 1, NULL);
            peer_expect(&l, "special_sum", NULL, 0, NAN, NULL);
            peer_expect(&l, "special_count", NULL, 0, 4002, NULL);
        } else {
            peer_expect(&l, "nonneg_sum", NULL, 0, INFINITY, NULL);
            peer_expect(&l, "nonneg_count", NULL, 0, 3, NULL);
        }
        lumen_format fmt = f == 2 ? LUMEN_FORMAT_OPENMETRICS : LUMEN_FORMAT_PROMETHEUS;
        char *text = NULL, *out = NULL;
        assert_int_equal(lumen_registry_render_string(&text, NULL, reg, fmt), LUMEN_OK);
        int rc = peer_parse(text, strlen(text), f == 2, &out);
        if (rc != 0)
            fprintf(stderr, "%s\n---\n%s\n", text, out ? out : "");
        assert_int_equal(rc, 0);
        char *want_text = lines_join(&l);
        if (strcmp(out, want_text) != 0)
            fprintf(stderr, "parser read:\n%s\nexpected:\n%s\n", out, want_text);
        assert_string_equal(out, want_text);
        free(want_text);
        free(out);
        lumen_free(text);
        lines_free(&l);
    }
    lumen_registry_free(r2);
    lumen_registry_free(r);
}

/* Poll until the summary's quantiles are NaN (its window emptied), or
 * the deadline. */
static int wait_empty(lumen_summary *s, double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        uint64_t count;
        double sum, q[NQ];
        int scale;
        su_read(s, &count, &sum, q, &scale);
        if (isnan(q[1]))
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
            return 0;
        struct timespec nap = {0, 5000000};
        nanosleep(&nap, NULL);
    }
}

/* What slid out of the window is forgotten, count and sum are not, and a
 * sub-window's coarse scale goes with its values. */
static void test_metrics_summary__window_rotation(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_summary *s = new_summary(r, "rot", 300, 3);
    /* Values 600 orders of magnitude apart: the sub-window drops to a
     * coarse scale. */
    double want_sum = 0;
    for (int i = 0; i < 100; i++) {
        lumen_summary_observe(s, 1e-300);
        lumen_summary_observe(s, 1e300);
        want_sum += 1e-300;
        want_sum += 1e300;
    }
    uint64_t count;
    double sum, q[NQ];
    int scale;
    assert_true(su_read(s, &count, &sum, q, &scale));
    assert_true(scale <= 1);
    assert_true(q[1] == 1e-300 || su_within(q[1], 1e-300, scale));
    assert_true(wait_empty(s, 60));
    assert_true(su_read(s, &count, &sum, q, &scale));
    assert_int_equal(count, 200);
    assert_true(sum == want_sum);
    for (int i = 0; i < 1000; i++)
        lumen_summary_observe(s, 1000 + i); /* within an octave: scale 8 */
    assert_true(su_read(s, &count, &sum, q, &scale));
    assert_int_equal(count, 1200);
    /* Unless the window slid in between, the new values are all there is,
     * at the finest scale again. */
    if (!isnan(q[1])) {
        assert_int_equal(scale, 8);
        assert_true(su_within(q[1], 1499, scale));
        assert_true(su_within(q[3], 1989, scale));
    }
    assert_true(wait_empty(s, 60));
    lumen_registry_free(r);
}

/* The family's count of refused updates, through a series of it. */
static uint64_t family_rejected(lumen_summary *h)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_SUMMARY);
    uint64_t n = c != NULL ? atomic_load(&c->fam->rejected) : UINT64_MAX;
    lumen__rcu_unlock(rd);
    return n;
}

/* age_buckets x LUMEN_SUMMARY_BUCKETS x 8 bytes per series, that again
 * from the first negative value, and no allocation after. */
static void test_metrics_summary__memory_per_series(void **state)
{
    (void)state;
    const long cells = 7L * LUMEN_SUMMARY_BUCKETS * 8;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.quantiles = g_q;
    o.quantile_count = NQ;
    o.age_buckets = 7;
    o.label_names = (const char *[]){"k"};
    o.label_count = 1;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, "mem", &o), LUMEN_OK);
    /* A first series takes the family's one-off costs (series table). */
    lumen_summary *s0, *s;
    assert_int_equal(lumen_family_summary(&s0, f, (const char *[]){"a"}, 1), LUMEN_OK);
    long before = atomic_load(&g_live_bytes);
    assert_int_equal(lumen_family_summary(&s, f, (const char *[]){"b"}, 1), LUMEN_OK);
    long series = atomic_load(&g_live_bytes) - before;
    printf("one summary series with 7 age buckets: %ld bytes (counters %ld)\n", series, cells);
    assert_true(series >= cells);
    assert_true(series <= cells + 2048);

    long allocs = atomic_load(&g_allocs), live = atomic_load(&g_live_bytes);
    uint64_t seed = 7;
    for (int i = 0; i < 200000; i++)
        lumen_summary_observe(s, exp(40 * su_normal(&seed))); /* every scale change */
    lumen_summary_observe(s, 0);
    lumen_summary_observe(s, INFINITY);
    assert_int_equal(atomic_load(&g_allocs), allocs);
    assert_int_equal(atomic_load(&g_live_bytes), live);
    /* Without memory for the negative range a negative value is refused
     * and counted, not half recorded. */
    uint64_t rejected = family_rejected(s);
    atomic_store(&g_fail, 1);
    lumen_summary_observe(s, -1);
    atomic_store(&g_fail, 0);
    assert_int_equal(family_rejected(s), rejected + 1);
    assert_int_equal(atomic_load(&g_live_bytes), live);
    lumen_summary_observe(s, -1);
    assert_int_equal(family_rejected(s), rejected + 1);
    assert_int_equal(atomic_load(&g_live_bytes), live + cells);
    allocs = atomic_load(&g_allocs);
    for (int i = 0; i < 200000; i++)
        lumen_summary_observe(s, -exp(40 * su_normal(&seed)));
    assert_int_equal(atomic_load(&g_allocs), allocs);
    assert_int_equal(atomic_load(&g_live_bytes), live + cells);
    /* A read allocates its merge buffers and gives them back. */
    uint64_t count;
    double sum, q[NQ];
    int scale;
    assert_true(su_read(s, &count, &sum, q, &scale));
    assert_int_equal(count, 400003); /* the refused -1 is not in it */
    assert_int_equal(atomic_load(&g_live_bytes), live + cells);
    lumen_registry_free(r);
}

int main(void)
{
    lumen_allocator a = LUMEN_ALLOCATOR_INIT;
    a.malloc = count_malloc;
    a.realloc = count_realloc;
    a.free = count_free;
    if (lumen_set_allocator(&a) != LUMEN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_summary__lognormal),
        cmocka_unit_test(test_metrics_summary__uniform),
        cmocka_unit_test(test_metrics_summary__exponential),
        cmocka_unit_test(test_metrics_summary__heavy_tail),
        cmocka_unit_test(test_metrics_summary__six_decades_keep_scale_6),
        cmocka_unit_test(test_metrics_summary__negative_and_zero),
        cmocka_unit_test(test_metrics_summary__hostile_orders),
        cmocka_unit_test(test_metrics_summary__bound_is_attained),
        cmocka_unit_test(test_metrics_summary__special_values_and_peer),
        cmocka_unit_test(test_metrics_summary__window_rotation),
        cmocka_unit_test(test_metrics_summary__memory_per_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
