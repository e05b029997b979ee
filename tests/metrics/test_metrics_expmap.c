/* tests/metrics/test_metrics_expmap.c: the base-2 exponential mapping
 * (metrics/expmap.h) against a long-double reference at every scale
 * -10..20: the index of v is the i with 2^(i 2^-s) < v <= 2^((i+1) 2^-s),
 * checked at random doubles over the whole range (subnormals included),
 * at the doubles next to every boundary of a run of buckets, exactly at
 * powers of two, and at the extremes; lower() is the boundary. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "summary_util.h"
#include "support/support.h"

#include "metrics/expmap.h"

/* The scales expmap.h serves. */
#define SCALE_MIN (-10)
#define SCALE_MAX 20

static long g_checked;

/* 2^(i 2^-s) in long double. */
static long double ref_lower(int64_t i, int s)
{
    return exp2l(ldexpl((long double)i, -s));
}

static void check_index(double v, int s)
{
    int32_t i = lumen__exp_index(v, s);
    long double lo = ref_lower(i, s), hi = ref_lower((int64_t)i + 1, s);
    if (!(lo < (long double)v && (long double)v <= hi))
        fprintf(stderr, "scale %d v %a: index %d, bucket (%La, %La]\n", s, v, (int)i, lo, hi);
    assert_true(lo < (long double)v && (long double)v <= hi);
    g_checked++;
}

static void test_metrics_expmap__random_doubles(void **state)
{
    (void)state;
    uint64_t seed = 42;
    for (int s = SCALE_MIN; s <= SCALE_MAX; s++)
        for (int k = 0; k < 20000; k++) {
            /* Any positive finite double: random exponent and mantissa
             * bits. */
            uint64_t b = su_next(&seed) & 0x7fffffffffffffffULL;
            double v;
            memcpy(&v, &b, sizeof v);
            if (v == 0 || !isfinite(v))
                continue;
            check_index(v, s);
            /* and one of ordinary size */
            check_index(exp(80 * (su_unit(&seed) - 0.5)), s);
        }
}

static void test_metrics_expmap__next_to_boundaries(void **state)
{
    (void)state;
    for (int s = SCALE_MIN; s <= SCALE_MAX; s++) {
        /* Every boundary of two octaves around 1 (all of them up to scale
         * 10), and a stretch around 2^-1000 and 2^1000. */
        int64_t per = s >= 0 ? (int64_t)1 << s : 1;
        int64_t starts[] = {-per, -1000 * per, 1000 * per - 2 * per};
        for (size_t a = 0; a < 3; a++) {
            int64_t count = per * 2 < 4096 ? per * 2 : 4096;
            for (int64_t i = starts[a]; i < starts[a] + count; i++) {
                long double b = ref_lower(i, s);
                double v = (double)b;
                if (v == 0 || !isfinite(v))
                    continue;
                check_index(v, s);
                check_index(nextafter(v, 0), s);
                check_index(nextafter(v, INFINITY), s);
            }
        }
    }
}

static void test_metrics_expmap__powers_of_two_exact(void **state)
{
    (void)state;
    for (int s = SCALE_MIN; s <= SCALE_MAX; s++)
        for (int e = -1074; e <= 1023; e++) {
            double v = ldexp(1.0, e);
            /* 2^e is the top of bucket ceil(e 2^s) - 1. */
            int64_t want = s >= 0 ? (int64_t)e * ((int64_t)1 << s) - 1
                                  : (int64_t)ceil((double)e / (double)(1 << -s)) - 1;
            assert_int_equal(lumen__exp_index(v, s), want);
            g_checked++;
        }
}

static void test_metrics_expmap__extremes(void **state)
{
    (void)state;
    const double v[] = {DBL_MAX,         DBL_MIN,         0x1p-1074,       nextafter(DBL_MIN, 0),
                        nextafter(1, 2), nextafter(1, 0), nextafter(2, 0), nextafter(2, 4)};
    for (int s = SCALE_MIN; s <= SCALE_MAX; s++)
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            check_index(v[k], s);
}

static void test_metrics_expmap__lower_is_the_boundary(void **state)
{
    (void)state;
    uint64_t seed = 9;
    for (int s = SCALE_MIN; s <= SCALE_MAX; s++)
        for (int k = 0; k < 2000; k++) {
            double v = exp(1400 * (su_unit(&seed) - 0.5));
            if (v == 0 || !isfinite(v))
                continue;
            int32_t i = lumen__exp_index(v, s);
            double lo = lumen__exp_lower(i, s);
            /* lower(i) is the boundary rounded to nearest: the double
             * nearest the long-double reference. */
            assert_true(lo == (double)ref_lower(i, s));
            assert_true(lo <= v);
            assert_true(lumen__exp_lower(i + 1, s) >= v);
        }
    assert_true(lumen__exp_lower(0, 5) == 1.0);
    assert_true(lumen__exp_lower(3 << 4, 4) == 8.0);
    assert_true(lumen__exp_lower(-2, -1) == 0.0625);
}

static int report(void **state)
{
    (void)state;
    printf("%ld indexes checked against the long-double reference\n", g_checked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_expmap__random_doubles),
        cmocka_unit_test(test_metrics_expmap__next_to_boundaries),
        cmocka_unit_test(test_metrics_expmap__powers_of_two_exact),
        cmocka_unit_test(test_metrics_expmap__extremes),
        cmocka_unit_test(test_metrics_expmap__lower_is_the_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
