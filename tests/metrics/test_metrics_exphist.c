/* tests/metrics/test_metrics_exphist.c: exponential (native) histograms.
 * The bucket mapping (metrics/expmap.h) against exact references at every
 * scale Prometheus accepts; the native buckets of histograms through the
 * public API, read back through the internal read API (exphist.h) and
 * compared bucket by bucket with the observed data; the protobuf
 * exposition decoded by protoc against client_model's metrics.proto; and
 * (argument "threads", ctest label threads) concurrent observers whose
 * totals must be exact. */
#include "support/support.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rcu.h"
#include "metrics/expmap.h"
#include "metrics/exphist.h"
#include "metrics/internal.h"
#include "lumen/metrics.h"
#include "lumen/prefork.h"

#define METRICS_PROTO                                                                              \
    "/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/client/metrics.proto"

/* ---- the mapping ------------------------------------------------------- */

/* floor(a / 2^k) for k >= 0, in integers. */
static int64_t floordiv_pow2(int64_t a, int k)
{
    int64_t d = (int64_t)1 << k;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

/* ceil(E * 2^s) - 1, exactly. */
static int64_t ref_pow2_index(int64_t e, int s)
{
    if (s >= 0)
        return e * ((int64_t)1 << s) - 1;
    return -floordiv_pow2(-e, -s) - 1; /* ceil(e / 2^k) = -floor(-e / 2^k) */
}

static void test_metrics_expmap__powers_of_two_exact(void **state)
{
    (void)state;
    for (int s = -4; s <= 8; s++) {
        for (int e = -1074; e <= 1023; e++) {
            double v = ldexp(1.0, e);
            int32_t got = lumen__exp_index(v, s);
            if (got != ref_pow2_index(e, s))
                print_error("2^%d at scale %d: %d, want %lld\n", e, s, got,
                            (long long)ref_pow2_index(e, s));
            assert_int_equal(got, ref_pow2_index(e, s));
            /* The power of two is the upper edge of its bucket: the next
             * double up is in the next bucket, the next down in its own. */
            bool edge = s >= 0 || e % (1 << -s) == 0; /* a bucket boundary */
            if (edge && e < 1023 && e >= -1022)
                assert_int_equal(lumen__exp_index(nextafter(v, INFINITY), s), got + 1);
            if (e > -1022)
                assert_int_equal(lumen__exp_index(nextafter(v, 0), s), got);
            /* The lower boundary of the next bucket is that power. */
            if (edge)
                assert_true(lumen__exp_lower(got + 1, s) == v);
        }
    }
}

/* At every boundary 2^(i / 2^s) (irrational unless a power of two, so no
 * double is on it): the doubles either side fall in buckets i - 1 and i.
 * The reference side of the rounded boundary comes from exp2l, whose
 * 64-bit mantissa decides it unless the boundary lies within an ulp of
 * long double of a double (none does at these scales: the test would
 * show it). */
static void test_metrics_expmap__boundaries_every_scale(void **state)
{
    (void)state;
    for (int s = -4; s <= 8; s++) {
        int per = s > 0 ? 1 << s : 1;
        for (int64_t i = -3 * per - 1; i <= 3 * per + 1; i++) {
            double b = lumen__exp_lower((int32_t)i, s);
            long double exact = exp2l((long double)i * (s >= 0 ? 1.0L / (1 << s) : (1 << -s)));
            assert_true(fabsl((long double)b - exact) <= exact * 0x1p-52L);
            double up = nextafter(b, INFINITY), down = nextafter(b, 0);
            int32_t want_b = (long double)b > exact ? (int32_t)i : (int32_t)i - 1;
            if ((long double)b == exact)
                want_b = (int32_t)i - 1; /* a power of two: the upper edge */
            if (lumen__exp_index(b, s) != want_b)
                print_error("scale %d boundary %lld (%a): %d, want %d\n", s, (long long)i, b,
                            lumen__exp_index(b, s), want_b);
            assert_int_equal(lumen__exp_index(b, s), want_b);
            assert_int_equal(lumen__exp_index(up, s), (int32_t)i);
            assert_int_equal(lumen__exp_index(down, s), (int32_t)i - 1);
        }
    }
}

/* Away from boundaries the mapping agrees with the logarithm, over the
 * whole double range, subnormals included; scales above 8 too. */
static void test_metrics_expmap__agrees_with_log(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int n = 0; n < 200000; n++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = ldexp(1.0 + (double)(x >> 11) * 0x1p-53, (int)(x % 2098) - 1074);
        if (!(v > 0) || !(v <= DBL_MAX))
            continue;
        int s = (int)(x >> 40) % 25 - 4; /* -4..20 */
        long double y = log2l((long double)v) * ldexpl(1.0L, s);
        long double f = floorl(y);
        if (y - f < 1e-9L || f + 1 - y < 1e-9L)
            continue; /* too near a boundary for the reference */
        assert_int_equal(lumen__exp_index(v, s), (int32_t)f);
    }
    /* The range edges. */
    assert_int_equal(lumen__exp_index(DBL_MAX, 8), 1024 * 256 - 1);
    assert_int_equal(lumen__exp_index(0x1p-1074, 0), -1075);
    assert_int_equal(lumen__exp_index(0x1p-1074, -4), (-1074 - 1) >> 4);
}

/* ---- histograms ---------------------------------------------------------- */

static lumen_histogram *native_new(lumen_registry *r, const char *name, lumen_histogram_kind kind,
                                   double factor, uint32_t maxb, double zero)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.histogram_kind = kind;
    o.native_bucket_factor = factor;
    o.native_max_buckets = maxb;
    o.native_zero_threshold = zero;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, name, &o), LUMEN_OK);
    lumen_histogram *h;
    assert_int_equal(lumen_family_histogram(&h, f, NULL, 0), LUMEN_OK);
    return h;
}

static void read_native(lumen_histogram *h, lumen__exphist_data *d)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    assert_non_null(c);
    assert_non_null(c->native);
    int rc = lumen__exphist_read(c->native, d);
    lumen__rcu_unlock(rd);
    assert_int_equal(rc, LUMEN_OK);
}

/* The native data must be exactly the values' histogram at d->scale. */
static void check_buckets(const lumen__exphist_data *d, const double *v, size_t n)
{
    uint64_t zero = 0, total = 0;
    for (int s = 0; s < 2; s++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t k = 0; k < n; k++) {
            if (fabs(v[k]) <= d->zero_threshold || (s == 0) != (v[k] > 0))
                continue;
            int64_t i = lumen__exp_index(fabs(v[k]), d->scale);
            lo = i < lo ? i : lo;
            hi = i > hi ? i : hi;
        }
        if (lo > hi) {
            assert_int_equal(d->len[s], 0);
            continue;
        }
        assert_int_equal(d->offset[s], lo);
        assert_int_equal(d->len[s], hi - lo + 1);
        uint64_t *want = calloc((size_t)(hi - lo + 1), sizeof *want);
        for (size_t k = 0; k < n; k++)
            if (fabs(v[k]) > d->zero_threshold && (s == 0) == (v[k] > 0))
                want[lumen__exp_index(fabs(v[k]), d->scale) - lo]++;
        for (int64_t i = 0; i <= hi - lo; i++) {
            if (d->counts[s][i] != want[i])
                print_error("sign %d bucket %lld: %llu, want %llu\n", s, (long long)(lo + i),
                            (unsigned long long)d->counts[s][i], (unsigned long long)want[i]);
            assert_int_equal(d->counts[s][i], want[i]);
            total += want[i];
        }
        free(want);
    }
    for (size_t k = 0; k < n; k++)
        zero += fabs(v[k]) <= d->zero_threshold;
    assert_int_equal(d->zero_count, zero);
    assert_int_equal(d->count, zero + total);
}

/* The highest scale <= 8 at which each sign's index range fits in m. */
static int ideal_scale(const double *v, size_t n, uint32_t m)
{
    for (int s = 8; s > -4; s--) {
        bool fit = true;
        for (int sg = 0; sg < 2; sg++) {
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (size_t k = 0; k < n; k++) {
                if (v[k] == 0 || (sg == 0) != (v[k] > 0))
                    continue;
                int64_t i = lumen__exp_index(fabs(v[k]), s);
                lo = i < lo ? i : lo;
                hi = i > hi ? i : hi;
            }
            if (lo <= hi && hi - lo + 1 > m)
                fit = false;
        }
        if (fit)
            return s;
    }
    return -4;
}

static void test_metrics_exphist__scale_reduction_preserves_counts(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "x", LUMEN_HISTOGRAM_NATIVE, 0, 20, 0);
    /* Log-uniform values over 12 decades, both signs, some zeros: the
     * range only fits in 20 buckets after several reductions. */
    enum { N = 50000 };
    double *v = malloc(N * sizeof *v);
    uint64_t x = 12345;
    for (int k = 0; k < N; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double m = pow(10, -6 + 12 * (double)(x >> 11) * 0x1p-53);
        v[k] = k % 97 == 0 ? 0 : (k % 5 == 0 ? -m : m);
        lumen_histogram_observe(h, v[k]);
    }
    lumen__exphist_data d;
    read_native(h, &d);
    int ideal = ideal_scale(v, N, 20);
    /* Room left for growth may cost one halving more than the data need. */
    assert_true(d.scale == ideal || d.scale == ideal - 1);
    assert_true(d.len[0] <= 20 && d.len[1] <= 20);
    check_buckets(&d, v, N);
    lumen__exphist_data_free(&d);
    /* A read outside a read section folds the retired layouts into the
     * base (read_native reads inside one, which leaves them): same result. */
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    lumen__rcu_unlock(rd);
    uint64_t before = lumen__exphist_count(c->native); /* folds */
    assert_int_equal(before, N);
    read_native(h, &d);
    check_buckets(&d, v, N);
    lumen__exphist_data_free(&d);
    free(v);
    lumen_registry_free(r);
}

static void test_metrics_exphist__default_160_buckets_scale(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "x", LUMEN_HISTOGRAM_NATIVE, 0, 0, 0);
    /* 1.001..1.45 is 137 buckets at scale 8: no reduction. */
    double v[] = {1.001, 1.1, 1.45, 1.25, 1.3};
    for (size_t k = 0; k < LUMEN_ARRAY_LEN(v); k++)
        lumen_histogram_observe(h, v[k]);
    lumen__exphist_data d;
    read_native(h, &d);
    assert_int_equal(d.scale, 8);
    check_buckets(&d, v, LUMEN_ARRAY_LEN(v));
    lumen__exphist_data_free(&d);
    /* 1 and 1000: 10 octaves, 2560 buckets at scale 8; 160 hold them
     * at scale 4 (16 buckets per octave). */
    lumen_histogram_observe(h, 1000);
    double w[] = {1.001, 1.1, 1.45, 1.25, 1.3, 1000};
    read_native(h, &d);
    assert_int_equal(d.scale, ideal_scale(w, 6, 160));
    check_buckets(&d, w, 6);
    lumen__exphist_data_free(&d);
    lumen_registry_free(r);
}

static void test_metrics_exphist__zero_threshold_and_negatives(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "x", LUMEN_HISTOGRAM_NATIVE, 1.1, 0, 0.01);
    double v[] = {0, -0.0, 0.01, -0.01, 0.0100001, -0.0100001, 0.5, -0.5, -4, 3, 1e300, -1e-300};
    for (size_t k = 0; k < LUMEN_ARRAY_LEN(v); k++)
        lumen_histogram_observe(h, v[k]);
    lumen__exphist_data d;
    read_native(h, &d);
    assert_true(d.zero_threshold == 0.01);
    assert_int_equal(d.zero_count, 5); /* 0, -0, +-0.01 (inclusive), -1e-300 */
    check_buckets(&d, v, LUMEN_ARRAY_LEN(v));
    lumen__exphist_data_free(&d);
    /* Infinities and NaN: not in the native buckets; the classic count
     * has the infinities, NaN is refused. */
    lumen_histogram_observe(h, INFINITY);
    lumen_histogram_observe(h, -INFINITY);
    lumen_histogram_observe(h, NAN);
    read_native(h, &d);
    check_buckets(&d, v, LUMEN_ARRAY_LEN(v));
    lumen__exphist_data_free(&d);
    lumen_registry_free(r);
}

static void test_metrics_exphist__options_checked(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *f;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    static const double b[] = {1, 2};
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    o.buckets = b;
    o.bucket_count = 2;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_EINVAL);
    o.buckets = NULL;
    o.bucket_count = 0;
    o.histogram_kind = (lumen_histogram_kind)7;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_EINVAL);
    o.histogram_kind = LUMEN_HISTOGRAM_BOTH;
    o.native_bucket_factor = 1.0;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_ERANGE);
    o.native_bucket_factor = 0;
    o.native_max_buckets = LUMEN_NATIVE_MAX_BUCKETS + 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_ERANGE);
    o.native_max_buckets = 0;
    o.native_zero_threshold = -1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_ERANGE);
    o.native_zero_threshold = NAN;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_ERANGE);
    /* A version-1 caller gets a classic histogram. */
    o.native_zero_threshold = 0;
    o.version = 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "a", &o), LUMEN_OK);
    lumen_histogram *h;
    assert_int_equal(lumen_family_histogram(&h, f, NULL, 0), LUMEN_OK);
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    assert_null(c->native);
    lumen__rcu_unlock(rd);
    /* The bucket factor picks the scale: 1.1 gives 3 (2^(1/8) = 1.09). */
    lumen_histogram *h3 = native_new(r, "b", LUMEN_HISTOGRAM_NATIVE, 1.1, 0, 0);
    lumen__exphist_data d;
    lumen_histogram_observe(h3, 1.5);
    read_native(h3, &d);
    assert_int_equal(d.scale, 3);
    lumen__exphist_data_free(&d);
    lumen_registry_free(r);
}

/* Within a range already touched, an observation allocates nothing; a
 * new range allocates once, and when it cannot the value is counted (in
 * _count and _sum, not in a bucket) and the refusal diagnosed. */
static void test_metrics_exphist__no_allocation_after_first_touch(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "x", LUMEN_HISTOGRAM_NATIVE, 0, 0, 0);
    double v[] = {0.5, 0.75, 1, -2, 0};
    for (size_t k = 0; k < LUMEN_ARRAY_LEN(v); k++)
        lumen_histogram_observe(h, v[k]);
    lt_failalloc_arm(0); /* the next allocation, whichever, fails */
    for (int i = 0; i < 100000; i++)
        lumen_histogram_observe(h, v[i % LUMEN_ARRAY_LEN(v)]);
    int triggered = lt_failalloc_triggered();
    lt_failalloc_disarm();
    assert_false(triggered);
    /* Far outside the range: the wider layout cannot be allocated. */
    lt_failalloc_arm(0);
    lumen_histogram_observe(h, 1e6);
    triggered = lt_failalloc_triggered();
    lt_failalloc_disarm();
    assert_true(triggered);
    lumen__exphist_data d;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    assert_int_equal(lumen__exphist_read_series(c, &d), LUMEN_OK);
    assert_int_equal(atomic_load(&c->fam->rejected), 1);
    lumen__rcu_unlock(rd);
    assert_int_equal(d.count, 100005); /* the buckets: 1e6 is not in one */
    assert_int_equal(d.total, 100006); /* but it is counted */
    assert_true(d.sum >= 1e6 && d.sum < 1e6 + 1e5);
    lumen__exphist_data_free(&d);
    /* Memory back: the next such value gets its bucket. */
    lumen_histogram_observe(h, 1e6);
    read_native(h, &d);
    for (int s = 0; s < 2; s++) {
        uint64_t t = 0;
        for (uint32_t k = 0; k < d.len[s]; k++)
            t += d.counts[s][k];
        assert_true(t > 0);
    }
    assert_int_equal(d.count, 100006);
    assert_int_equal(lumen__exp_index(1e6, d.scale), d.offset[0] + (int32_t)d.len[0] - 1);
    lumen__exphist_data_free(&d);
    lumen_registry_free(r);
}

static atomic_int g_observed;

static void *observe_in_range(void *arg)
{
    lumen_histogram *h = arg;
    for (int i = 0; i < 10000; i++)
        lumen_histogram_observe(h, i % 2 ? 1.5 : -0.25);
    atomic_store(&g_observed, 1);
    return NULL;
}

/* An observation within the range never takes the series' mutex: a
 * thread observes while the test holds it. */
static void test_metrics_exphist__in_range_takes_no_lock(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "x", LUMEN_HISTOGRAM_NATIVE, 0, 0, 0);
    lumen_histogram_observe(h, 1.5);
    lumen_histogram_observe(h, -0.25);
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    lumen__rcu_unlock(rd);
    atomic_store(&g_observed, 0);
    lumen__exphist_hold(c->native, true);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, observe_in_range, h), 0);
    for (int i = 0; i < 60000 && !atomic_load(&g_observed); i++)
        usleep(1000); /* up to a minute on a loaded machine */
    int done = atomic_load(&g_observed);
    lumen__exphist_hold(c->native, false);
    pthread_join(t, NULL);
    assert_true(done);
    lumen__exphist_data d;
    read_native(h, &d);
    assert_int_equal(d.count, 10002);
    lumen__exphist_data_free(&d);
    lumen_registry_free(r);
}

/* What the text formats show of a native-only histogram: +Inf, _sum, _count. */
static void test_metrics_exphist__text_render_of_native_only(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h = native_new(r, "lat", LUMEN_HISTOGRAM_NATIVE, 0, 0, 0);
    lumen_histogram_observe(h, 0.25);
    lumen_histogram_observe(h, 3);
    char *s;
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    assert_string_equal(s, "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 2\n"
                           "lat_sum 3.25\nlat_count 2\n");
    lumen_free(s);
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_OPENMETRICS), LUMEN_OK);
    assert_non_null(strstr(s, "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 3.25\n"
                              "lat_count 2\nlat_created "));
    lumen_free(s);
    /* An infinity has no native bucket: it counts in +Inf only. */
    lumen_histogram_observe(h, INFINITY);
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    assert_string_equal(s, "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 3\n"
                           "lat_sum +Inf\nlat_count 3\n");
    lumen_free(s);
    lumen_registry_free(r);
}

static void test_metrics_exphist__negotiate_protobuf(void **state)
{
    (void)state;
    const char *ct;
    /* Prometheus 2.42 with native histograms enabled. */
    assert_int_equal(
        lumen_format_negotiate(&ct, "application/vnd.google.protobuf;proto=io.prometheus.client."
                                    "MetricFamily;encoding=delimited;q=0.8,application/"
                                    "openmetrics-text;version=1.0.0;q=0.7,text/plain;"
                                    "version=0.0.4;q=0.5,*/*;q=0.1"),
        LUMEN_FORMAT_PROTOBUF);
    assert_string_equal(ct, "application/vnd.google.protobuf; "
                            "proto=io.prometheus.client.MetricFamily; encoding=delimited");
    /* Without the feature: OpenMetrics first, as before. */
    assert_int_equal(lumen_format_negotiate(&ct, "application/openmetrics-text;version=1.0.0,"
                                                 "application/openmetrics-text;version=0.0.1;q="
                                                 "0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     LUMEN_FORMAT_OPENMETRICS);
    /* Text encoding of the protobuf type, another proto, q=0, or a higher
     * q for OpenMetrics: not protobuf. */
    assert_int_equal(lumen_format_negotiate(NULL, "application/vnd.google.protobuf;proto=io."
                                                  "prometheus.client.MetricFamily;encoding=text"),
                     LUMEN_FORMAT_PROMETHEUS);
    assert_int_equal(lumen_format_negotiate(NULL, "application/vnd.google.protobuf;proto=x.Y;"
                                                  "encoding=delimited"),
                     LUMEN_FORMAT_PROMETHEUS);
    assert_int_equal(lumen_format_negotiate(NULL, "application/vnd.google.protobuf;proto=io."
                                                  "prometheus.client.MetricFamily;encoding="
                                                  "delimited;q=0"),
                     LUMEN_FORMAT_PROMETHEUS);
    assert_int_equal(lumen_format_negotiate(NULL, "application/vnd.google.protobuf;proto=io."
                                                  "prometheus.client.MetricFamily;encoding="
                                                  "delimited;q=0.2,application/openmetrics-text"),
                     LUMEN_FORMAT_OPENMETRICS);
    assert_int_equal(lumen_format_negotiate(NULL, NULL), LUMEN_FORMAT_PROMETHEUS);
}

/* A pre-forked family's registry has no native buckets and no protobuf
 * form: both are refused, the text render still works. */
static void test_metrics_exphist__prefork_refuses_native(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, reg, LUMEN_METRIC_HISTOGRAM, "pf_native", &o),
                     LUMEN_ENOTSUP);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, reg, "pf_total", "P."), LUMEN_OK);
    lumen_counter_inc(c);
    char *s = NULL;
    assert_int_equal(lumen_registry_render_string(&s, NULL, reg, LUMEN_FORMAT_PROTOBUF),
                     LUMEN_ENOTSUP);
    assert_null(s);
    assert_int_equal(lumen_registry_render_string(&s, NULL, reg, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    assert_non_null(strstr(s, "pf_total 1\n"));
    lumen_free(s);
    lumen_prefork_free(pf);
}

/* ---- the protobuf exposition, decoded by protoc ------------------------ */

/* protoc's text of each length-delimited message of buf, concatenated
 * with "--\n" between messages; NULL if protoc refused one. */
static char *decode_stream(const char *buf, size_t len, size_t *nmsg)
{
    size_t cap = 1 << 16, used = 0;
    char *all = malloc(cap);
    all[0] = '\0';
    *nmsg = 0;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=io.prometheus.client.MetricFamily -I %s -I /usr/include %s "
             "2>&1",
             "/usr/share/gocode/src/github.com/prometheus/client_model", METRICS_PROTO);
    for (size_t p = 0; p < len;) {
        uint64_t n = 0;
        int sh = 0;
        while (p < len) {
            unsigned char b = (unsigned char)buf[p++];
            n |= (uint64_t)(b & 0x7f) << sh;
            sh += 7;
            if (!(b & 0x80))
                break;
        }
        assert_true(p + n <= len);
        char *out = NULL;
        int rc = lt_run(cmd, buf + p, (size_t)n, &out);
        if (rc != 0) {
            print_error("protoc: %s\n", out ? out : "");
            free(out);
            free(all);
            return NULL;
        }
        size_t k = strlen(out);
        while (used + k + 4 > cap)
            all = realloc(all, cap *= 2);
        memcpy(all + used, out, k);
        used += k;
        memcpy(all + used, "--\n", 4);
        used += 3;
        free(out);
        p += n;
        (*nmsg)++;
    }
    return all;
}

/* The message of family `name` in the decoded stream (a copy). */
static char *family_text(const char *all, const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "name: \"%s\"\n", name);
    const char *p = strstr(all, key);
    if (p == NULL)
        return NULL;
    const char *e = strstr(p, "--\n");
    return strndup(p, (size_t)(e - p));
}

/* The values of `key: ` lines (any depth) in order, as doubles. */
static size_t values_of(const char *text, const char *key, double *out, size_t max)
{
    size_t n = 0, kl = strlen(key);
    for (const char *p = text; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p > text && p[-1] != ' ' && p[-1] != '\n') || p[kl] != ':')
            continue;
        if (n < max)
            out[n] = strtod(p + kl + 2, NULL);
        n++;
    }
    return n;
}

/* Buckets of one sign from spans and deltas into abs[index - lo]. */
static void spans_to_counts(const char *t, const char *sign, int64_t *lo, uint64_t *abs, size_t max,
                            size_t *n)
{
    char sk[64], dk[64];
    snprintf(sk, sizeof sk, "%s_span {", sign);
    snprintf(dk, sizeof dk, "%s_delta", sign);
    double delta[1024];
    size_t nd = values_of(t, dk, delta, 1024);
    /* Spans: the offset/length pairs inside each "<sign>_span {" block. */
    int64_t idx = 0;
    size_t di = 0;
    int64_t cnt = 0;
    bool first = true;
    *n = 0;
    for (const char *p = t; (p = strstr(p, sk)) != NULL; p += strlen(sk)) {
        const char *end = strchr(p, '}');
        double off = 0, len = 0;
        const char *o = strstr(p, "offset: ");
        if (o != NULL && o < end)
            off = strtod(o + 8, NULL);
        const char *l = strstr(p, "length: ");
        if (l != NULL && l < end)
            len = strtod(l + 8, NULL);
        idx += (int64_t)off;
        if (first)
            *lo = idx;
        first = false;
        for (int64_t k = 0; k < (int64_t)len; k++, idx++) {
            assert_true(di < nd);
            cnt += (int64_t)delta[di++];
            assert_true(cnt >= 0);
            assert_true((size_t)(idx - *lo) < max);
            abs[idx - *lo] = (uint64_t)cnt;
            *n = (size_t)(idx - *lo + 1);
        }
    }
    assert_int_equal(di, nd); /* every delta belongs to a span */
}

/* A collector's histogram (two series) and summary, grouped into
 * metrics by their labels in protobuf. */
static int collect_pb(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    int rc = lumen_collect_family(s, LUMEN_METRIC_HISTOGRAM, "coll_seconds", "C.", NULL);
    for (int k = 0; k < 2 && rc == LUMEN_OK; k++) {
        lumen_label l1[] = {{"k", k ? "b" : "a"}, {"le", "1"}};
        lumen_label l2[] = {{"k", k ? "b" : "a"}, {"le", "+Inf"}};
        lumen_label l3[] = {{"k", k ? "b" : "a"}};
        if ((rc = lumen_collect_sample(s, "_bucket", l1, 2, 2 + k)) == LUMEN_OK &&
            (rc = lumen_collect_sample(s, "_bucket", l2, 2, 3 + k)) == LUMEN_OK &&
            (rc = lumen_collect_sample(s, "_sum", l3, 1, 4.5 + k)) == LUMEN_OK)
            rc = lumen_collect_sample(s, "_count", l3, 1, 3 + k);
    }
    if (rc == LUMEN_OK)
        rc = lumen_collect_family(s, LUMEN_METRIC_SUMMARY, "coll_q", "Q.", NULL);
    lumen_label q[] = {{"quantile", "0.5"}};
    if (rc == LUMEN_OK && (rc = lumen_collect_sample(s, "", q, 1, 1.25)) == LUMEN_OK &&
        (rc = lumen_collect_sample(s, "_sum", NULL, 0, 10)) == LUMEN_OK)
        rc = lumen_collect_sample(s, "_count", NULL, 0, 8);
    return rc;
}

static void test_metrics_exphist__protobuf_decoded_by_protoc(void **state)
{
    (void)state;
    if (!lt_have("protoc") || access(METRICS_PROTO, R_OK) != 0)
        skip();
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    static const char *const ln[] = {"path"};
    o.help = "Request \"latency\"\nin seconds";
    o.label_names = ln;
    o.label_count = 1;
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    o.native_bucket_factor = 1.1;
    o.native_zero_threshold = 0.001;
    lumen_family *nf;
    assert_int_equal(lumen_family_new(&nf, r, LUMEN_METRIC_HISTOGRAM, "lat_seconds", &o), LUMEN_OK);
    lumen_histogram *h;
    const char *lv[] = {"/a\"b"};
    assert_int_equal(lumen_family_histogram(&h, nf, lv, 1), LUMEN_OK);
    double v[] = {0, 1e-4, 1, 1.5, 2, 3, 3, 100, 1e6, -0.5, -0.7, 17, 17.5, 18, 40000};
    double sum = 0;
    for (size_t k = 0; k < LUMEN_ARRAY_LEN(v); k++) {
        lumen_histogram_observe(h, v[k]);
        sum += v[k];
    }
    /* Both: classic buckets beside the native ones. */
    lumen_family_options ob = LUMEN_FAMILY_OPTIONS_INIT;
    static const double bounds[] = {0.5, 2, 10};
    ob.buckets = bounds;
    ob.bucket_count = 3;
    ob.histogram_kind = LUMEN_HISTOGRAM_BOTH;
    lumen_family *bf;
    assert_int_equal(lumen_family_new(&bf, r, LUMEN_METRIC_HISTOGRAM, "both", &ob), LUMEN_OK);
    lumen_histogram *hb;
    assert_int_equal(lumen_family_histogram(&hb, bf, NULL, 0), LUMEN_OK);
    double vb[] = {0.1, 1, 1, 5, 50};
    for (size_t k = 0; k < LUMEN_ARRAY_LEN(vb); k++)
        lumen_histogram_observe(hb, vb[k]);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "req", NULL), LUMEN_OK);
    lumen_counter_add(c, 42);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "temp", NULL), LUMEN_OK);
    lumen_gauge_set(g, -1.5);
    lumen_collector *col;
    assert_int_equal(lumen_registry_add_collector(&col, r, NULL, collect_pb, NULL), LUMEN_OK);
    lumen_label il[] = {{"version", "1.2"}};
    assert_int_equal(lumen_info_new(NULL, r, "build", "B.", il, 1), LUMEN_OK);
    /* A family over its series limit: the overflow family appears. */
    lumen_family_options lim = LUMEN_FAMILY_OPTIONS_INIT;
    static const char *const lk[] = {"k"};
    lim.label_names = lk;
    lim.label_count = 1;
    lim.series_limit = 1;
    lumen_family *lf;
    assert_int_equal(lumen_family_new(&lf, r, LUMEN_METRIC_COUNTER, "lim", &lim), LUMEN_OK);
    for (int i = 0; i < 2; i++) {
        const char *kv[] = {i ? "b" : "a"};
        lumen_counter *lc;
        assert_int_equal(lumen_family_counter(&lc, lf, kv, 1), LUMEN_OK);
    }

    char *buf;
    size_t len;
    assert_int_equal(lumen_registry_render_string(&buf, &len, r, LUMEN_FORMAT_PROTOBUF), LUMEN_OK);
    size_t nmsg;
    char *all = decode_stream(buf, len, &nmsg);
    assert_non_null(all);
    /* both, build_info, coll_q, coll_seconds, lat_seconds, lim_total,
     * lumen_series_overflow_total, req_total, temp */
    assert_int_equal(nmsg, 9);

    /* The native histogram: every field. */
    char *t = family_text(all, "lat_seconds");
    if (getenv("LT_VERBOSE") != NULL)
        fprintf(stderr, "%s", all);
    assert_non_null(t);
    assert_non_null(strstr(t, "help: \"Request \\\"latency\\\"\\nin seconds\"\n"));
    assert_non_null(strstr(t, "type: HISTOGRAM\n"));
    assert_non_null(strstr(t, "  label {\n    name: \"path\"\n    value: \"/a\\\"b\"\n  }\n"));
    double x[4];
    assert_int_equal(values_of(t, "sample_count", x, 4), 1);
    assert_true(x[0] == (double)LUMEN_ARRAY_LEN(v));
    assert_int_equal(values_of(t, "sample_sum", x, 4), 1);
    assert_true(fabs(x[0] - sum) <= 1e-9 * sum);
    lumen__exphist_data d;
    read_native(h, &d);
    /* 1.1 starts it at scale 3; 1e-4..1e6 in 160 buckets needs 2. */
    assert_int_equal(d.scale, ideal_scale(v, LUMEN_ARRAY_LEN(v), 160) < 3
                                  ? ideal_scale(v, LUMEN_ARRAY_LEN(v), 160)
                                  : 3);
    assert_int_equal(values_of(t, "schema", x, 4), 1);
    assert_true(x[0] == d.scale);
    assert_int_equal(values_of(t, "zero_threshold", x, 4), 1);
    assert_true(x[0] == 0.001);
    assert_int_equal(values_of(t, "zero_count", x, 4), 1);
    assert_true(x[0] == 2);
    assert_int_equal(values_of(t, "bucket", x, 4), 0); /* no classic buckets */
    /* Spans and deltas give back every bucket's count. */
    check_buckets(&d, v, LUMEN_ARRAY_LEN(v));
    for (int s = 0; s < 2; s++) {
        uint64_t abs[4096] = {0};
        int64_t lo = 0;
        size_t n;
        spans_to_counts(t, s == 0 ? "positive" : "negative", &lo, abs, 4096, &n);
        assert_int_equal(n, d.len[s]);
        /* Prometheus indexes a bucket by its upper boundary: OpenTelemetry's + 1. */
        assert_int_equal(lo, d.offset[s] + 1);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(abs[k], d.counts[s][k]);
    }
    lumen__exphist_data_free(&d);
    free(t);

    /* Both: classic cumulative buckets and the native ones. */
    t = family_text(all, "both");
    assert_non_null(t);
    double ub[8], cc[8];
    assert_int_equal(values_of(t, "upper_bound", ub, 8), 3);
    assert_int_equal(values_of(t, "cumulative_count", cc, 8), 3);
    double want_cc[3] = {1, 3, 4};
    for (int k = 0; k < 3; k++) {
        assert_true(ub[k] == bounds[k]);
        assert_true(cc[k] == want_cc[k]);
    }
    assert_int_equal(values_of(t, "sample_count", x, 4), 1);
    assert_true(x[0] == 5);
    read_native(hb, &d);
    assert_int_equal(values_of(t, "schema", x, 4), 1);
    assert_true(x[0] == d.scale);
    check_buckets(&d, vb, LUMEN_ARRAY_LEN(vb));
    {
        uint64_t abs[4096] = {0};
        int64_t lo = 0;
        size_t n;
        spans_to_counts(t, "positive", &lo, abs, 4096, &n);
        assert_int_equal(n, d.len[0]);
        assert_int_equal(lo, d.offset[0] + 1);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(abs[k], d.counts[0][k]);
    }
    lumen__exphist_data_free(&d);
    free(t);

    t = family_text(all, "coll_seconds");
    assert_non_null(t);
    assert_non_null(strstr(t, "help: \"C.\"\ntype: HISTOGRAM\nmetric {\n  label {\n    name: "
                              "\"k\"\n    value: \"a\"\n  }\n  histogram {\n    sample_count: 3\n"
                              "    sample_sum: 4.5\n    bucket {\n      cumulative_count: 2\n"
                              "      upper_bound: 1\n    }\n  }\n}\nmetric {\n  label {\n    "
                              "name: \"k\"\n    value: \"b\"\n  }\n  histogram {\n    "
                              "sample_count: 4\n    sample_sum: 5.5\n    bucket {\n      "
                              "cumulative_count: 3\n      upper_bound: 1\n    }\n  }\n}\n"));
    free(t);
    t = family_text(all, "coll_q");
    assert_non_null(t);
    assert_non_null(strstr(t, "type: SUMMARY\nmetric {\n  summary {\n    sample_count: 8\n    "
                              "sample_sum: 10\n    quantile {\n      quantile: 0.5\n      value: "
                              "1.25\n    }\n  }\n}\n"));
    free(t);
    t = family_text(all, "build_info");
    assert_non_null(t);
    assert_non_null(strstr(t, "type: GAUGE\nmetric {\n  label {\n    name: \"version\"\n    "
                              "value: \"1.2\"\n  }\n  gauge {\n    value: 1\n  }\n}\n"));
    free(t);
    t = family_text(all, "lumen_series_overflow_total");
    assert_non_null(t);
    assert_non_null(strstr(t, "type: COUNTER\nmetric {\n  label {\n    name: \"family\"\n    "
                              "value: \"lim\"\n  }\n  counter {\n    value: 1\n  }\n}\n"));
    free(t);
    t = family_text(all, "req_total");
    assert_non_null(t);
    assert_non_null(strstr(t, "type: COUNTER\nmetric {\n  counter {\n    value: 42\n  }\n}\n"));
    free(t);
    t = family_text(all, "temp");
    assert_non_null(t);
    assert_non_null(strstr(t, "type: GAUGE\nmetric {\n  gauge {\n    value: -1.5\n  }\n}\n"));
    free(t);
    free(all);
    lumen_free(buf);
    lumen_registry_free(r);
}

/* ---- concurrent observers ----------------------------------------------- */

#define THREADS 3
#define PER_THREAD 1000000

static lumen_histogram *g_h;
static atomic_int g_done;

static double value_of(int t, int k)
{
    /* Deterministic, wide (2^-20..2^20), both signs and zeros, so that
     * the threads widen and halve the layout while racing. */
    uint64_t x = (uint64_t)t * 0x9e3779b97f4a7c15ull + (uint64_t)k * 0xbf58476d1ce4e5b9ull + 1;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    if (x % 101 == 0)
        return 0;
    double m = ldexp(1.0 + (double)(x >> 12) * 0x1p-52, (int)((x >> 3) % 41) - 20);
    return (x & 1) ? -m : m;
}

static void *observer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int k = 0; k < PER_THREAD; k++)
        lumen_histogram_observe(g_h, value_of(t, k));
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    while (!atomic_load(&g_done)) {
        lumen__exphist_data d;
        lumen__rcu_section rd = lumen__rcu_lock();
        lumen__child *c = lumen__slot_get((uintptr_t)g_h, LUMEN__SLOT_SERIES);
        int rc = lumen__exphist_read(c->native, &d);
        lumen__rcu_unlock(rd);
        if (rc == LUMEN_OK) {
            if (d.count < last)
                abort(); /* a count went back */
            last = d.count;
            lumen__exphist_data_free(&d);
        }
        /* Outside a read section: folds retired layouts while observers run. */
        if (c != NULL && lumen__exphist_count(c->native) < last)
            abort();
    }
    return NULL;
}

static void test_metrics_exphist__concurrent_observers_exact(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    g_h = native_new(r, "conc", LUMEN_HISTOGRAM_NATIVE, 0, 40, 0);
    atomic_store(&g_done, 0);
    pthread_t th[THREADS], rt;
    assert_int_equal(pthread_create(&rt, NULL, reader, NULL), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, observer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&g_done, 1);
    pthread_join(rt, NULL);
    double *v = malloc((size_t)THREADS * PER_THREAD * sizeof *v);
    for (int t = 0; t < THREADS; t++)
        for (int k = 0; k < PER_THREAD; k++)
            v[(size_t)t * PER_THREAD + (size_t)k] = value_of(t, k);
    lumen__exphist_data d;
    read_native(g_h, &d);
    assert_int_equal(d.count, (uint64_t)THREADS * PER_THREAD);
    check_buckets(&d, v, (size_t)THREADS * PER_THREAD);
    lumen__exphist_data_free(&d);
    free(v);
    lumen_registry_free(r);
}

int main(int argc, char **argv)
{
    /* Before anything allocates: memory must go back to its allocator. */
    lt_failalloc_install();
    if (argc > 1 && strcmp(argv[1], "threads") == 0) {
        const struct CMUnitTest t[] = {
            cmocka_unit_test(test_metrics_exphist__concurrent_observers_exact),
        };
        return cmocka_run_group_tests(t, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_expmap__powers_of_two_exact),
        cmocka_unit_test(test_metrics_expmap__boundaries_every_scale),
        cmocka_unit_test(test_metrics_expmap__agrees_with_log),
        cmocka_unit_test(test_metrics_exphist__scale_reduction_preserves_counts),
        cmocka_unit_test(test_metrics_exphist__default_160_buckets_scale),
        cmocka_unit_test(test_metrics_exphist__zero_threshold_and_negatives),
        cmocka_unit_test(test_metrics_exphist__options_checked),
        cmocka_unit_test(test_metrics_exphist__no_allocation_after_first_touch),
        cmocka_unit_test(test_metrics_exphist__in_range_takes_no_lock),
        cmocka_unit_test(test_metrics_exphist__text_render_of_native_only),
        cmocka_unit_test(test_metrics_exphist__negotiate_protobuf),
        cmocka_unit_test(test_metrics_exphist__prefork_refuses_native),
        cmocka_unit_test(test_metrics_exphist__protobuf_decoded_by_protoc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
