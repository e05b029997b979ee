/* tests/metrics/test_metrics_otlp_delta.c: delta temporality
 * (lumen_otlp_encode_metrics_delta with a lumen_otlp_metrics_state), every
 * body decoded by `protoc --decode` against tests/metrics/otlp_metrics.proto:
 * two encodings of a counter, a classic and a native histogram under
 * "delta" give the increments, DELTA temporality and start times that
 * chain (the second's start is the first's time); "lowmemory" keeps a
 * collector's counter and histogram cumulative, "delta" does not; a reset (a series
 * removed and re-created) starts a new delta from the current value; a
 * removed series is forgotten; a native histogram whose scale dropped
 * between two encodings gives per-bucket differences at the new scale. */
#include "support/support.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumen/otlp.h"

/* The protoc text of an encoding with state st (skips without protoc). */
static char *encode(lumen_registry *r, lumen_otlp_metrics_state *st)
{
    if (!lt_have("protoc")) {
        print_message("protoc missing; skipped\n");
        skip();
    }
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(lumen_otlp_encode_metrics_delta(&body, &len, NULL, LUMEN_OTLP_PROTOBUF, &r, 1,
                                                     NULL, "delta.test", st),
                     LUMEN_OK);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc "
             "--decode=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest "
             "-I %s/tests/metrics otlp_metrics.proto",
             lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, body, len, &out);
    lumen_free(body);
    if (rc != 0)
        fail_msg("protoc rc %d:\n%s", rc, out);
    return out;
}

/* The Metric named `name` of a decoded request (malloc'd; fails if none). */
static char *metric_of(const char *text, const char *name)
{
    char anchor[128];
    snprintf(anchor, sizeof anchor, "name: \"%s\"\n", name);
    const char *p = strstr(text, anchor);
    if (p == NULL)
        fail_msg("no metric %s in:\n%s", name, text);
    const char *e = strstr(p, "metrics {");
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *m = malloc(n + 1);
    assert_non_null(m);
    memcpy(m, p, n);
    m[n] = '\0';
    return m;
}

/* The text after the k-th (from 0) `key` in s, or fail. */
static const char *nth(const char *s, const char *key, int k)
{
    const char *p = s;
    for (int i = 0; i <= k; i++) {
        p = strstr(i ? p + 1 : p, key);
        if (p == NULL)
            fail_msg("no %s #%d in:\n%s", key, k, s);
    }
    return p + strlen(key);
}

static uint64_t u64(const char *s, const char *key, int k)
{
    return strtoull(nth(s, key, k), NULL, 10);
}

static double f64(const char *s, const char *key, int k)
{
    return strtod(nth(s, key, k), NULL);
}

static bool is_delta(const char *m)
{
    return strstr(m, "aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA") != NULL;
}

static bool is_cumulative(const char *m)
{
    return strstr(m, "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE") != NULL;
}

static lumen_otlp_metrics_state *state(lumen_otlp_temporality t)
{
    lumen_otlp_metrics_state *st = NULL;
    assert_int_equal(lumen_otlp_metrics_state_new(&st, t), LUMEN_OK);
    return st;
}

static void test_metrics_otlp_delta__counter_and_histograms(void **unused)
{
    (void)unused;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "hits", "Hits."), LUMEN_OK);
    const double bounds[] = {1, 5};
    lumen_histogram *h, *nh;
    assert_int_equal(lumen_histogram_new(&h, r, "lat", "Latency.", bounds, 2), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    lumen_family *nf;
    assert_int_equal(lumen_family_new(&nf, r, LUMEN_METRIC_HISTOGRAM, "nat", &o), LUMEN_OK);
    assert_int_equal(lumen_family_histogram(&nh, nf, NULL, 0), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "level", "Level."), LUMEN_OK);
    lumen_gauge_set(g, 9);
    lumen_otlp_metrics_state *st = state(LUMEN_OTLP_TEMPORALITY_DELTA);

    lumen_counter_add(c, 3);
    lumen_histogram_observe(h, 0.5);
    lumen_histogram_observe(h, 3);
    lumen_histogram_observe(nh, 1.5);
    lumen_histogram_observe(nh, 1.5);
    char *t1 = encode(r, st);
    char *m = metric_of(t1, "hits");
    assert_true(is_delta(m));
    assert_true(strstr(m, "is_monotonic: true") != NULL);
    assert_true(f64(m, " as_double: ", 0) == 3);
    uint64_t hits_t1 = u64(m, " time_unix_nano: ", 0);
    /* the first delta starts at the series' creation */
    assert_true(u64(m, "start_time_unix_nano: ", 0) > 0);
    assert_true(u64(m, "start_time_unix_nano: ", 0) <= hits_t1);
    free(m);
    m = metric_of(t1, "lat");
    assert_true(is_delta(m));
    assert_int_equal(u64(m, " count: ", 0), 2);
    uint64_t lat_t1 = u64(m, " time_unix_nano: ", 0);
    free(m);
    m = metric_of(t1, "nat");
    assert_true(is_delta(m));
    assert_int_equal(u64(m, " count: ", 0), 2);
    free(m);
    m = metric_of(t1, "level"); /* a gauge: no temporality */
    assert_false(is_delta(m) || is_cumulative(m));
    free(m);

    lumen_counter_add(c, 2);
    lumen_histogram_observe(h, 0.25);
    lumen_histogram_observe(h, 10);
    lumen_histogram_observe(nh, 1.5);
    char *t2 = encode(r, st);
    m = metric_of(t2, "hits");
    assert_true(is_delta(m));
    assert_true(f64(m, " as_double: ", 0) == 2);
    assert_int_equal(u64(m, "start_time_unix_nano: ", 0), hits_t1);
    assert_true(u64(m, " time_unix_nano: ", 0) >= hits_t1);
    free(m);
    m = metric_of(t2, "lat");
    assert_true(is_delta(m));
    assert_int_equal(u64(m, "start_time_unix_nano: ", 0), lat_t1);
    assert_int_equal(u64(m, " count: ", 0), 2);
    assert_true(f64(m, " sum: ", 0) == 10.25);
    assert_int_equal(u64(m, "bucket_counts: ", 0), 1); /* <= 1 */
    assert_int_equal(u64(m, "bucket_counts: ", 1), 0); /* <= 5 */
    assert_int_equal(u64(m, "bucket_counts: ", 2), 1); /* +Inf */
    free(m);
    m = metric_of(t2, "nat");
    assert_true(is_delta(m));
    assert_int_equal(u64(m, " count: ", 0), 1);
    assert_true(f64(m, " sum: ", 0) == 1.5);
    assert_int_equal(u64(m, "bucket_counts: ", 0), 1);
    free(m);

    /* nothing new: zero deltas, the start moved on */
    uint64_t hits_t2 = u64(t2, " time_unix_nano: ", 0);
    char *t3 = encode(r, st);
    m = metric_of(t3, "hits");
    assert_true(f64(m, " as_double: ", 0) == 0 || strstr(m, " as_double: ") == NULL);
    assert_int_equal(u64(m, "start_time_unix_nano: ", 0), hits_t2);
    free(m);
    free(t1);
    free(t2);
    free(t3);
    lumen_otlp_metrics_state_free(st);
    lumen_registry_free(r);
}

static double jobs = 10;

static int collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    lumen_collect_family(s, LUMEN_METRIC_COUNTER, "jobs", "Jobs done.", NULL);
    lumen_collect_sample(s, "", NULL, 0, jobs);
    /* a histogram: `jobs` observations, half of them <= 1 (cumulative
     * buckets, as the text format has them) */
    lumen_collect_family(s, LUMEN_METRIC_HISTOGRAM, "job_seconds", "Job time.", "seconds");
    const lumen_label le1[] = {{"le", "1"}}, inf[] = {{"le", "+Inf"}};
    lumen_collect_sample(s, "_bucket", le1, 1, jobs / 2);
    lumen_collect_sample(s, "_bucket", inf, 1, jobs);
    lumen_collect_sample(s, "_sum", NULL, 0, jobs * 2);
    return lumen_collect_sample(s, "_count", NULL, 0, jobs);
}

/* lowmemory: the registered (synchronous) counter delta, the collector's
 * (asynchronous) one cumulative; delta: both delta. */
static void test_metrics_otlp_delta__lowmemory_keeps_collectors_cumulative(void **unused)
{
    (void)unused;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "hits", "Hits."), LUMEN_OK);
    assert_int_equal(lumen_registry_add_collector(NULL, r, NULL, collect, NULL), LUMEN_OK);
    lumen_otlp_metrics_state *low = state(LUMEN_OTLP_TEMPORALITY_LOWMEMORY);
    lumen_otlp_metrics_state *del = state(LUMEN_OTLP_TEMPORALITY_DELTA);
    lumen_counter_add(c, 4);
    jobs = 10;
    free(encode(r, low));
    char *first = encode(r, del);
    lumen_counter_add(c, 1);
    jobs = 16;
    char *t = encode(r, low);
    char *m = metric_of(t, "hits");
    assert_true(is_delta(m));
    assert_true(f64(m, " as_double: ", 0) == 1);
    free(m);
    m = metric_of(t, "jobs");
    assert_true(is_cumulative(m));
    assert_true(f64(m, " as_double: ", 0) == 16);
    free(m);
    m = metric_of(t, "job_seconds");
    assert_true(is_cumulative(m));
    assert_int_equal(u64(m, " count: ", 0), 16);
    free(m);
    free(t);
    t = encode(r, del);
    m = metric_of(t, "job_seconds");
    assert_true(is_delta(m));
    assert_int_equal(u64(m, " count: ", 0), 6);
    assert_true(f64(m, " sum: ", 0) == 12);
    assert_int_equal(u64(m, "bucket_counts: ", 0), 3); /* <= 1: 8 - 5 */
    assert_int_equal(u64(m, "bucket_counts: ", 1), 3); /* +Inf: 8 - 5 */
    free(m);
    m = metric_of(t, "jobs");
    assert_true(is_delta(m));
    assert_true(f64(m, " as_double: ", 0) == 6);
    /* the start chains from the first encoding with this state */
    char *m1 = metric_of(first, "jobs");
    assert_int_equal(u64(m, "start_time_unix_nano: ", 0), u64(m1, " time_unix_nano: ", 0));
    free(m1);
    free(m);
    free(t);
    free(first);
    /* cumulative (and the default) states: everything cumulative */
    lumen_otlp_metrics_state *cum = state(LUMEN_OTLP_TEMPORALITY_DEFAULT);
    t = encode(r, cum);
    m = metric_of(t, "hits");
    assert_true(is_cumulative(m));
    assert_true(f64(m, " as_double: ", 0) == 5);
    free(m);
    free(t);
    lumen_otlp_metrics_state_free(cum);
    lumen_otlp_metrics_state_free(low);
    lumen_otlp_metrics_state_free(del);
    lumen_registry_free(r);
}

/* A series removed and re-created with a lower value: a new delta from
 * the current value, starting at its creation; a removed series is
 * forgotten. */
static void test_metrics_otlp_delta__reset_and_forget(void **unused)
{
    (void)unused;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *f;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *lab[] = {"path"};
    o.label_names = lab;
    o.label_count = 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "req", &o), LUMEN_OK);
    const char *a[] = {"/a"}, *b[] = {"/b"};
    lumen_counter *ca, *cb;
    assert_int_equal(lumen_family_counter(&ca, f, a, 1), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&cb, f, b, 1), LUMEN_OK);
    lumen_counter_add(ca, 10);
    lumen_counter_add(cb, 1);
    lumen_otlp_metrics_state *st = state(LUMEN_OTLP_TEMPORALITY_DELTA);
    char *t = encode(r, st);
    assert_int_equal(lumen_otlp_metrics_state_series(st), 2);
    uint64_t t1 = u64(t, " time_unix_nano: ", 0);
    free(t);
    /* /a reset: removed, re-created, 4 */
    assert_int_equal(lumen_family_remove(f, a, 1), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&ca, f, a, 1), LUMEN_OK);
    lumen_counter_add(ca, 4);
    /* /b removed for good */
    assert_int_equal(lumen_family_remove(f, b, 1), LUMEN_OK);
    t = encode(r, st);
    char *m = metric_of(t, "req");
    assert_null(strstr(m, "\"/b\""));
    assert_true(is_delta(m));
    assert_true(f64(m, " as_double: ", 0) == 4);
    uint64_t s2 = u64(m, "start_time_unix_nano: ", 0);
    assert_true(s2 >= t1); /* the new series' creation, after the first encoding */
    assert_true(s2 <= u64(m, " time_unix_nano: ", 0));
    free(m);
    free(t);
    assert_int_equal(lumen_otlp_metrics_state_series(st), 1);
    /* /b back at 1: a new series, its whole value */
    assert_int_equal(lumen_family_counter(&cb, f, b, 1), LUMEN_OK);
    lumen_counter_add(cb, 1);
    lumen_counter_add(ca, 1);
    t = encode(r, st);
    m = metric_of(t, "req");
    assert_non_null(strstr(m, "\"/b\""));
    assert_true(f64(m, " as_double: ", 0) == 1); /* /a: 5 - 4 */
    assert_true(f64(m, " as_double: ", 1) == 1); /* /b: new */
    free(m);
    free(t);
    assert_int_equal(lumen_otlp_metrics_state_series(st), 2);
    /* every series gone: the state is empty */
    lumen_family_clear(f);
    free(encode(r, st));
    assert_int_equal(lumen_otlp_metrics_state_series(st), 0);
    lumen_otlp_metrics_state_free(st);
    lumen_registry_free(r);
}

/* A native histogram whose scale drops between two encodings: the second
 * point counts only the new observations, bucket by bucket. */
static void test_metrics_otlp_delta__native_scale_drop(void **unused)
{
    (void)unused;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    o.native_max_buckets = 4;
    lumen_family *f;
    lumen_histogram *h;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "nat", &o), LUMEN_OK);
    assert_int_equal(lumen_family_histogram(&h, f, NULL, 0), LUMEN_OK);
    lumen_histogram_observe(h, 1.001);
    lumen_histogram_observe(h, 1.002);
    lumen_histogram_observe(h, 1.01);
    lumen_otlp_metrics_state *st = state(LUMEN_OTLP_TEMPORALITY_DELTA);
    char *t = encode(r, st);
    char *m = metric_of(t, "nat");
    int scale1 = atoi(nth(m, " scale: ", 0));
    assert_int_equal(u64(m, " count: ", 0), 3);
    free(m);
    free(t);
    /* wide values: the scale must drop to hold them in 4 buckets */
    lumen_histogram_observe(h, 1.001);
    lumen_histogram_observe(h, 7);
    lumen_histogram_observe(h, 100);
    t = encode(r, st);
    m = metric_of(t, "nat");
    assert_true(is_delta(m));
    const char *sc = strstr(m, " scale: ");
    int scale2 = sc ? atoi(sc + 8) : 0;
    assert_true(scale2 < scale1);
    assert_int_equal(u64(m, " count: ", 0), 3);
    assert_true(fabs(f64(m, " sum: ", 0) - 108.001) < 1e-9); /* a difference of sums */
    /* each bucket holds exactly the new observations that fall in it at
     * the new scale (OTel's numbering: bucket i is (base^i, base^(i+1)]):
     * the old counts were folded down before they were subtracted */
    const double fresh[] = {1.001, 7, 100};
    const char *pos = strstr(m, "positive {");
    assert_non_null(pos);
    const char *off = strstr(pos, "offset: ");
    const char *first = strstr(pos, "bucket_counts: ");
    long offset = off != NULL && off < first ? strtol(off + 8, NULL, 10) : 0;
    uint64_t total = 0;
    long k = 0;
    for (const char *p = first; p != NULL; p = strstr(p + 1, "bucket_counts: "), k++) {
        uint64_t want = 0;
        for (int i = 0; i < 3; i++)
            want += (long)ceil(log2(fresh[i]) * ldexp(1, scale2)) - 1 == offset + k;
        uint64_t v = strtoull(p + 15, NULL, 10);
        assert_int_equal(v, want);
        total += v;
    }
    assert_int_equal(total, 3);
    free(m);
    free(t);
    lumen_otlp_metrics_state_free(st);
    lumen_registry_free(r);
}

static void test_metrics_otlp_delta__arguments(void **unused)
{
    (void)unused;
    lumen_otlp_metrics_state *st = (void *)1;
    assert_int_equal(lumen_otlp_metrics_state_new(NULL, LUMEN_OTLP_TEMPORALITY_DELTA),
                     LUMEN_EINVAL);
    assert_int_equal(lumen_otlp_metrics_state_new(&st, (lumen_otlp_temporality)9), LUMEN_EINVAL);
    assert_null(st);
    lumen_otlp_metrics_state_free(NULL);
    assert_int_equal(lumen_otlp_metrics_state_series(NULL), 0);
    char *body = (char *)1;
    size_t len = 1;
    assert_int_equal(lumen_otlp_encode_metrics_delta(&body, &len, NULL, (lumen_otlp_format)7, NULL,
                                                     0, NULL, NULL, NULL),
                     LUMEN_EINVAL);
    assert_null(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_otlp_delta__counter_and_histograms),
        cmocka_unit_test(test_metrics_otlp_delta__lowmemory_keeps_collectors_cumulative),
        cmocka_unit_test(test_metrics_otlp_delta__reset_and_forget),
        cmocka_unit_test(test_metrics_otlp_delta__native_scale_drop),
        cmocka_unit_test(test_metrics_otlp_delta__arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
