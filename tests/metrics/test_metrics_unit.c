/* tests/metrics/test_metrics_unit.c: the metric types, labels, limits,
 * validation and registries, asserted through their values and through
 * what the exposition shows. */
#include "support/support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/tctx.h"
#include "core/cpu.h"
#include "summary_util.h"
#include "metrics/cells.h"
#include "metrics/internal.h"
#include "metrics/names.h"
#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#ifdef LT_CHECK_PEERS
#include "peer_util.h"

/* Built as test_metrics_unit_peers: every exposition these tests render
 * also goes to promtool (0.0.4, which must find nothing to lint) and to
 * the prometheus_client parser of its format. */
static void check_with_peers(const char *s, lumen_format f)
{
    char *out = NULL;
    size_t len = strlen(s);
    int rc = peer_parse(s, len, f == LUMEN_FORMAT_OPENMETRICS, &out);
    if (rc != 0)
        print_error("%s\n--- rejected:\n%s\n", out, s);
    assert_int_equal(rc, 0);
    free(out);
    if (f == LUMEN_FORMAT_PROMETHEUS && lt_have("promtool")) {
        rc = peer_promtool(s, len, &out);
        if (rc != 0)
            print_error("%s\n--- promtool:\n%s\n", out, s);
        assert_int_equal(rc, 0);
        free(out);
    }
}
#endif

static char *render(lumen_registry *r, lumen_format f)
{
    char *s = NULL;
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, f), LUMEN_OK);
#ifdef LT_CHECK_PEERS
    check_with_peers(s, f);
#endif
    return s;
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static void test_metrics_validate__metric_names(void **state)
{
    (void)state;
    assert_int_equal(lumen_metric_name_check("http_requests"), LUMEN_OK);
    assert_int_equal(lumen_metric_name_check("a:b_c9"), LUMEN_OK);
    assert_int_equal(lumen_metric_name_check(":x"), LUMEN_OK);
    assert_int_equal(lumen_metric_name_check("_x"), LUMEN_OK);
    assert_int_equal(lumen_metric_name_check(""), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("9x"), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("a-b"), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("a b"), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("a.b"), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("caf\xc3\xa9"), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check(NULL), LUMEN_EBADNAME);
    assert_int_equal(lumen_metric_name_check("__x"), LUMEN_ERESERVED);
}

static void test_metrics_validate__label_names(void **state)
{
    (void)state;
    assert_int_equal(lumen_label_name_check("code"), LUMEN_OK);
    assert_int_equal(lumen_label_name_check("_a1"), LUMEN_OK);
    assert_int_equal(lumen_label_name_check("a:b"), LUMEN_EBADLABEL);
    assert_int_equal(lumen_label_name_check("1a"), LUMEN_EBADLABEL);
    assert_int_equal(lumen_label_name_check(""), LUMEN_EBADLABEL);
    assert_int_equal(lumen_label_name_check("__name__"), LUMEN_ERESERVED);
}

static void test_metrics_validate__family_options(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *f;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *le[] = {"le"};
    o.label_names = le;
    o.label_count = 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "h", &o), LUMEN_ERESERVED);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "c_le", &o), LUMEN_OK);
    const char *q[] = {"quantile"};
    o.label_names = q;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, "s", &o), LUMEN_ERESERVED);
    const char *res[] = {"__x"};
    o.label_names = res;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "g", &o), LUMEN_ERESERVED);
    const char *bad[] = {"a-b"};
    o.label_names = bad;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "g", &o), LUMEN_EBADLABEL);
    const char *dup[] = {"a", "a"};
    o.label_names = dup;
    o.label_count = 2;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "g", &o), LUMEN_EBADLABEL);
    lumen_family_options b = LUMEN_FAMILY_OPTIONS_INIT;
    double unsorted[] = {1, 0.5};
    b.buckets = unsorted;
    b.bucket_count = 2;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "h", &b), LUMEN_ERANGE);
    double nan[] = {NAN};
    b.buckets = nan;
    b.bucket_count = 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "h", &b), LUMEN_ERANGE);
    lumen_family_options s = LUMEN_FAMILY_OPTIONS_INIT;
    double qs[] = {0.5, 1.5};
    s.quantiles = qs;
    s.quantile_count = 2;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, "s", &s), LUMEN_ERANGE);
    lumen_family_options u = LUMEN_FAMILY_OPTIONS_INIT;
    u.unit = "seconds";
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "latency_ms", &u), LUMEN_EINVAL);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "latency_seconds", &u), LUMEN_OK);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "9bad", NULL), LUMEN_EBADNAME);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "__bad", NULL), LUMEN_ERESERVED);
    assert_int_equal(lumen_family_new(NULL, r, LUMEN_METRIC_COUNTER, "x", NULL), LUMEN_EINVAL);
    assert_int_equal(lumen_family_new(&f, r, (lumen_metric_type)99, "x", NULL), LUMEN_EINVAL);
    lumen_registry_free(r);
}

static void test_metrics_registry__duplicates_refused(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    lumen_gauge *g;
    lumen_histogram *h;
    assert_int_equal(lumen_counter_new(&c, r, "jobs_total", "Jobs."), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&c, r, "jobs_total", "Jobs."), LUMEN_EEXIST);
    assert_int_equal(lumen_counter_new(&c, r, "jobs", "Jobs."), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "jobs", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "jobs_total", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "jobs_created", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_histogram_new(&h, r, "lat", "x", NULL, 0), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r, "lat_bucket", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "lat_count", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "lat_sum", "x"), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, r, "lat_seconds", "x"), LUMEN_OK);
    /* A gauge "x_count" first, then a histogram "x" is refused too. */
    assert_int_equal(lumen_gauge_new(&g, r, "q_count", "x"), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&h, r, "q", "x", NULL, 0), LUMEN_EEXIST);
    /* Unregister frees the names. */
    assert_int_equal(lumen_registry_unregister(r, "jobs_total"), LUMEN_OK);
    assert_int_equal(lumen_registry_unregister(r, "jobs_total"), LUMEN_ENOENT);
    assert_int_equal(lumen_gauge_new(&g, r, "jobs", "x"), LUMEN_OK);
    assert_int_equal(lumen_registry_unregister(r, "jobs"), LUMEN_OK);
    /* Another registry is independent. */
    lumen_registry *r2;
    assert_int_equal(lumen_registry_new(&r2), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&h, r2, "lat", "x", NULL, 0), LUMEN_OK);
    lumen_registry_free(r2);
    lumen_registry_free(r);
}

/* The default registry's count of updates refused for their value. */
static double lost_invalid(void)
{
    char *s = render(lumen_registry_default(), LUMEN_FORMAT_PROMETHEUS);
    static const char k[] = "\nlumen_metrics_updates_lost_total{reason=\"invalid_value\"} ";
    const char *p = strstr(s, k);
    if (p == NULL)
        fail_msg("no %s in:\n%s", k + 1, s);
    double v = strtod(p + sizeof k - 1, NULL);
    lumen_free(s);
    return v;
}

static void test_metrics_counter__inc_add_and_refusals(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "ops_total", "Operations."), LUMEN_OK);
    assert_true(lumen_counter_value(c) == 0);
    double refused = lost_invalid();
    lumen_counter_inc(c);
    lumen_counter_add(c, 2);
    lumen_counter_add(c, 0.5);
    lumen_counter_add(c, -1);
    lumen_counter_add(c, NAN);
    lumen_counter_inc(NULL);
    assert_true(lumen_counter_value(c) == 3.5);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s,
                        "# HELP ops_total Operations.\n# TYPE ops_total counter\nops_total 3.5\n");
    lumen_free(s);
    /* Every refusal is exposed: these two, a histogram's and a summary's
     * NaN. */
    lumen_histogram *h;
    lumen_summary *sm;
    assert_int_equal(lumen_histogram_new(&h, r, "refused_h", "h", NULL, 0), LUMEN_OK);
    assert_int_equal(lumen_summary_new(&sm, r, "refused_s", "h"), LUMEN_OK);
    lumen_histogram_observe(h, NAN);
    lumen_summary_observe(sm, NAN);
    assert_true(lost_invalid() - refused == 4);
    lumen_counter_add(c, 1e300);
    assert_true(lumen_counter_value(c) == 1e300 + 3.5);
    lumen_registry_free(r);
}

static void test_metrics_gauge__operations(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "temp", "T."), LUMEN_OK);
    lumen_gauge_set(g, 10);
    lumen_gauge_inc(g);
    lumen_gauge_dec(g);
    lumen_gauge_dec(g);
    lumen_gauge_add(g, 2.5);
    lumen_gauge_sub(g, 0.5);
    assert_true(lumen_gauge_value(g) == 11);
    lumen_gauge_set(g, -INFINITY);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "\ntemp -Inf\n"));
    lumen_free(s);
    lumen_gauge_set(g, NAN);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "\ntemp NaN\n"));
    lumen_free(s);
    int64_t before = lumen_now_ns();
    lumen_gauge_set_to_current_time(g);
    double v = lumen_gauge_value(g);
    assert_true(v >= (double)before / 1e9 - 1 && v <= (double)lumen_now_ns() / 1e9 + 1);
    lumen_registry_free(r);
}

static double answer(void *ud)
{
    return *(double *)ud;
}

static void test_metrics_gauge__func(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    double v = 42;
    assert_int_equal(lumen_gauge_func_new(NULL, r, "answer", "The answer.", answer, &v), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP answer The answer.\n# TYPE answer gauge\nanswer 42\n");
    lumen_free(s);
    v = 0.25;
    s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "answer 0.25\n"));
    lumen_free(s);
    assert_int_equal(lumen_gauge_func_new(NULL, r, "answer", "x", answer, &v), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_func_new(NULL, r, "f", "x", NULL, &v), LUMEN_EINVAL);
    lumen_registry_free(r);
}

static void test_metrics_histogram__buckets_cumulative(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h;
    double b[] = {1, 2, 5};
    assert_int_equal(lumen_histogram_new(&h, r, "size", "Sizes.", b, 3), LUMEN_OK);
    double obs[] = {0.5, 1, 1.5, 2, 3, 100, -1, NAN};
    for (size_t i = 0; i < 8; i++)
        lumen_histogram_observe(h, obs[i]);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP size Sizes.\n# TYPE size histogram\n"
                           "size_bucket{le=\"1\"} 3\n"
                           "size_bucket{le=\"2\"} 5\n"
                           "size_bucket{le=\"5\"} 6\n"
                           "size_bucket{le=\"+Inf\"} 7\n"
                           "size_sum 107\n"
                           "size_count 7\n");
    lumen_free(s);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "size_bucket{le=\"1.0\"} 3\nsize_bucket{le=\"2.0\"} 5\n"
                            "size_bucket{le=\"5.0\"} 6\nsize_bucket{le=\"+Inf\"} 7\n"));
    assert_true(contains(s, "size_created "));
    lumen_free(s);
    lumen_registry_free(r);
}

static void test_metrics_histogram__default_and_helper_buckets(void **state)
{
    (void)state;
    size_t n;
    const double *d = lumen_buckets_default(&n);
    assert_int_equal(n, 11);
    assert_true(d[0] == 0.005 && d[10] == 10);
    double out[4];
    assert_int_equal(lumen_buckets_linear(out, 1, 0.5, 4), LUMEN_OK);
    assert_true(out[0] == 1 && out[3] == 2.5);
    assert_int_equal(lumen_buckets_exponential(out, 1, 10, 4), LUMEN_OK);
    assert_true(out[0] == 1 && out[3] == 1000);
    assert_int_equal(lumen_buckets_linear(out, 1, 0, 4), LUMEN_EINVAL);
    assert_int_equal(lumen_buckets_linear(out, 1, 1, 0), LUMEN_EINVAL);
    assert_int_equal(lumen_buckets_exponential(out, 0, 2, 4), LUMEN_EINVAL);
    assert_int_equal(lumen_buckets_exponential(out, 1, 1, 4), LUMEN_EINVAL);
    /* Many buckets: the binary-search path agrees with the definition. */
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    double lin[100];
    lumen_buckets_linear(lin, 1, 1, 100);
    lumen_histogram *h;
    assert_int_equal(lumen_histogram_new(&h, r, "many", "x", lin, 100), LUMEN_OK);
    lumen_histogram_observe(h, 50);
    lumen_histogram_observe(h, 50.5);
    lumen_histogram_observe(h, 0);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "many_bucket{le=\"1\"} 1\n"));
    assert_true(contains(s, "many_bucket{le=\"49\"} 1\n"));
    assert_true(contains(s, "many_bucket{le=\"50\"} 2\n"));
    assert_true(contains(s, "many_bucket{le=\"51\"} 3\n"));
    lumen_free(s);
    double big[1001];
    lumen_buckets_linear(big, 1, 1, 1001);
    assert_int_equal(lumen_histogram_new(&h, r, "big", "x", big, 1001), LUMEN_ERANGE);
    lumen_registry_free(r);
}

static void test_metrics_labels__stable_handles(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *names[] = {"method", "code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests.";
    o.label_names = names;
    o.label_count = 2;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "req_total", &o), LUMEN_OK);
    assert_string_equal(lumen_family_name(f), "req");
    assert_int_equal(lumen_family_type(f), LUMEN_METRIC_COUNTER);
    const char *a[] = {"GET", "200"}, *b[] = {"POST", "200"}, *c1[] = {"GE", "T200"};
    lumen_counter *x, *y, *z, *w;
    assert_int_equal(lumen_family_counter(&x, f, a, 2), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&y, f, b, 2), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&z, f, a, 2), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&w, f, c1, 2), LUMEN_OK);
    assert_ptr_equal(x, z);
    assert_ptr_not_equal(x, y);
    assert_ptr_not_equal(x, w);
    assert_int_equal(lumen_family_counter(&z, f, a, 1), LUMEN_ELABELCOUNT);
    lumen_gauge *g;
    assert_int_equal(lumen_family_gauge(&g, f, a, 2), LUMEN_ETYPE);
    const char *nul[] = {"GET", NULL};
    assert_int_equal(lumen_family_counter(&z, f, nul, 2), LUMEN_EINVAL);
    lumen_counter_inc(x);
    lumen_counter_add(y, 2);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP req_total Requests.\n# TYPE req_total counter\n"
                           "req_total{method=\"GE\",code=\"T200\"} 0\n"
                           "req_total{method=\"GET\",code=\"200\"} 1\n"
                           "req_total{method=\"POST\",code=\"200\"} 2\n");
    lumen_free(s);
    /* Remove one, clear all. */
    assert_int_equal(lumen_family_remove(f, a, 2), LUMEN_OK);
    assert_int_equal(lumen_family_remove(f, a, 2), LUMEN_ENOENT);
    s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_false(contains(s, "GET"));
    lumen_free(s);
    assert_int_equal(lumen_family_counter(&x, f, a, 2), LUMEN_OK);
    assert_true(lumen_counter_value(x) == 0);
    lumen_family_clear(f);
    s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP req_total Requests.\n# TYPE req_total counter\n");
    lumen_free(s);
    /* Many children: the table grows, handles stay valid. */
    lumen_counter *hs[3000];
    for (int i = 0; i < 3000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v, "x"};
        assert_int_equal(lumen_family_counter(&hs[i], f, vals, 2), LUMEN_OK);
        lumen_counter_add(hs[i], i);
    }
    for (int i = 0; i < 3000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v, "x"};
        lumen_counter *again;
        assert_int_equal(lumen_family_counter(&again, f, vals, 2), LUMEN_OK);
        assert_ptr_equal(again, hs[i]);
        assert_true(lumen_counter_value(again) == i);
    }
    /* Remove half and re-add: values start from zero. */
    for (int i = 0; i < 3000; i += 2) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v, "x"};
        assert_int_equal(lumen_family_remove(f, vals, 2), LUMEN_OK);
    }
    for (int i = 0; i < 3000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v, "x"};
        lumen_counter *again;
        assert_int_equal(lumen_family_counter(&again, f, vals, 2), LUMEN_OK);
        assert_true(lumen_counter_value(again) == (i % 2 ? i : 0));
    }
    lumen_registry_free(r);
}

static void test_metrics_labels__const_labels_and_invalid_utf8(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *names[] = {"path"};
    lumen_label cl[] = {{"service", "api"}};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Hits.";
    o.label_names = names;
    o.label_count = 1;
    o.const_labels = cl;
    o.const_label_count = 1;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "hits", &o), LUMEN_OK);
    const char *bad1[] = {"a\xff"}, *bad2[] = {"a\xfe"}, *fixed[] = {"a\xef\xbf\xbd"};
    lumen_gauge *g1, *g2, *g3;
    assert_int_equal(lumen_family_gauge(&g1, f, bad1, 1), LUMEN_OK);
    assert_int_equal(lumen_family_gauge(&g2, f, bad2, 1), LUMEN_OK);
    assert_int_equal(lumen_family_gauge(&g3, f, fixed, 1), LUMEN_OK);
    /* Values that render alike are one series. */
    assert_ptr_equal(g1, g2);
    assert_ptr_equal(g1, g3);
    lumen_gauge_set(g1, 1);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP hits Hits.\n# TYPE hits gauge\n"
                           "hits{service=\"api\",path=\"a\xef\xbf\xbd\"} 1\n");
    lumen_free(s);
    const char *dupc[] = {"service"};
    o.label_names = dupc;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "hits2", &o), LUMEN_EBADLABEL);
    lumen_registry_free(r);
}

static void test_metrics_labels__series_limit_overflow(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *names[] = {"user"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Logins.";
    o.label_names = names;
    o.label_count = 1;
    o.series_limit = 3;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "logins_total", &o), LUMEN_OK);
    lumen_counter *c[10];
    for (int i = 0; i < 10; i++) {
        char v[8];
        snprintf(v, sizeof v, "u%d", i);
        const char *vals[] = {v};
        assert_int_equal(lumen_family_counter(&c[i], f, vals, 1), LUMEN_OK);
        lumen_counter_inc(c[i]);
    }
    assert_ptr_equal(c[3], c[9]);
    assert_int_equal(lumen_family_overflows(f), 7);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "logins_total{user=\"__overflow__\"} 7\n"));
    assert_true(contains(s, "logins_total{user=\"u2\"} 1\n"));
    assert_false(contains(s, "u3"));
    assert_true(contains(s, "# TYPE lumen_series_overflow_total counter\n"
                            "lumen_series_overflow_total{family=\"logins\"} 7\n"));
    lumen_free(s);
    lumen_family_set_series_limit(f, 100);
    const char *v3[] = {"u3"};
    lumen_counter *n3;
    assert_int_equal(lumen_family_counter(&n3, f, v3, 1), LUMEN_OK);
    assert_ptr_not_equal(n3, c[3]);
    lumen_registry_free(r);
}

static void test_metrics_info__rendered_per_format(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_label l[] = {{"version", "1.2.3"}};
    assert_int_equal(lumen_info_new(NULL, r, "app_info", "App.", l, 1), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(
        s, "# HELP app_info App.\n# TYPE app_info gauge\napp_info{version=\"1.2.3\"} 1\n");
    lumen_free(s);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_string_equal(s,
                        "# TYPE app info\n# HELP app App.\napp_info{version=\"1.2.3\"} 1\n# EOF\n");
    lumen_free(s);
    assert_int_equal(lumen_info_new(NULL, r, "app", "App.", l, 1), LUMEN_EEXIST);
    lumen_label bad[] = {{"__v", "x"}};
    assert_int_equal(lumen_info_new(NULL, r, "b", "B.", bad, 1), LUMEN_ERESERVED);
    lumen_registry_free(r);
}

static void test_metrics_summary__count_sum_quantiles(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_summary *s0;
    assert_int_equal(lumen_summary_new(&s0, r, "plain", "P."), LUMEN_OK);
    lumen_summary_observe(s0, 1);
    lumen_summary_observe(s0, 2.5);
    double q[] = {0.5, 0.9, 0.99};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Q.";
    o.quantiles = q;
    o.quantile_count = 3;
    o.max_age_ms = 60000;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, "lat", &o), LUMEN_OK);
    lumen_summary *s;
    assert_int_equal(lumen_family_summary(&s, f, NULL, 0), LUMEN_OK);
    char *out = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(out, "lat{quantile=\"0.5\"} NaN\n"));
    lumen_free(out);
    for (int i = 1; i <= 100; i++)
        lumen_summary_observe(s, i);
    out = render(r, LUMEN_FORMAT_PROMETHEUS);
    /* 50, 90 and 99 within the bound of the scale they were read at
     * (metrics.h), as rendered. */
    {
        uint64_t cnt;
        double sm, est[3];
        int scale;
        assert_true(su_read(s, &cnt, &sm, est, &scale));
        static const char *const keys[] = {"lat{quantile=\"0.5\"} ", "lat{quantile=\"0.9\"} ",
                                           "lat{quantile=\"0.99\"} "};
        static const double exact[] = {50, 90, 99};
        for (int i = 0; i < 3; i++) {
            const char *at = strstr(out, keys[i]);
            assert_non_null(at);
            double shown = strtod(at + strlen(keys[i]), NULL);
            assert_true(shown == est[i]);
            assert_true(su_within(shown, exact[i], scale));
        }
    }
    assert_true(contains(out, "lat_sum 5050\nlat_count 100\n"));
    assert_true(contains(out, "plain_sum 3.5\nplain_count 2\n"));
    lumen_free(out);
    /* Many observations: memory stays bounded, estimates stay close. */
    for (int i = 0; i < 200000; i++)
        lumen_summary_observe(s, (double)(i % 1000));
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_OPENMETRICS),
                     LUMEN_OK);
    static const char key[] = "lat{quantile=\"0.5\"} ";
    size_t at = (size_t)(strstr(out, key) - out);
    assert_true(at < strlen(out));
    double med = strtod(out + at + strlen(key), NULL);
    assert_true(med > 400 && med < 600);
    lumen_free(out);
    lumen_registry_free(r);
}

static int collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "coll_temp_celsius", "Temp.", "celsius");
    if (rc != LUMEN_OK)
        return rc;
    lumen_label l[] = {{"room", "a\"b"}};
    lumen_collect_sample(s, "", l, 1, 21.5);
    lumen_collect_family(s, LUMEN_METRIC_COUNTER, "coll_events_total", "Events.", NULL);
    lumen_collect_sample(s, "", NULL, 0, 3);
    assert_int_equal(lumen_collect_sample(s, "_bucket", NULL, 0, 3), LUMEN_EINVAL);
    lumen_label bad[] = {{"a-b", "x"}};
    assert_int_equal(lumen_collect_sample(s, "", bad, 1, 3), LUMEN_EBADLABEL);
    /* Clashes with a registered family and with itself are refused. */
    assert_int_equal(lumen_collect_family(s, LUMEN_METRIC_GAUGE, "reg", NULL, NULL), LUMEN_EEXIST);
    assert_int_equal(lumen_collect_sample(s, "", NULL, 0, 1), LUMEN_ESTATE);
    assert_int_equal(lumen_collect_family(s, LUMEN_METRIC_GAUGE, "coll_events_total", NULL, NULL),
                     LUMEN_EEXIST);
    lumen_collect_family(s, LUMEN_METRIC_HISTOGRAM, "coll_hist", "H.", NULL);
    lumen_label le1[] = {{"le", "1"}}, leinf[] = {{"le", "+Inf"}};
    lumen_collect_sample(s, "_bucket", le1, 1, 1);
    lumen_collect_sample(s, "_bucket", leinf, 1, 2);
    lumen_collect_sample(s, "_sum", NULL, 0, 2.5);
    lumen_collect_sample(s, "_count", NULL, 0, 2);
    return LUMEN_OK;
}

static void test_metrics_collector__merged_in_order(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "reg", "Registered."), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r, "zzz", "Last."), LUMEN_OK);
    lumen_collector *col;
    assert_int_equal(lumen_registry_add_collector(&col, r, NULL, collect, NULL), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(s, "# HELP coll_events_total Events.\n# TYPE coll_events_total counter\n"
                           "coll_events_total 3\n"
                           "# HELP coll_hist H.\n# TYPE coll_hist histogram\n"
                           "coll_hist_bucket{le=\"1\"} 1\ncoll_hist_bucket{le=\"+Inf\"} 2\n"
                           "coll_hist_sum 2.5\ncoll_hist_count 2\n"
                           "# HELP coll_temp_celsius Temp.\n# TYPE coll_temp_celsius gauge\n"
                           "coll_temp_celsius{room=\"a\\\"b\"} 21.5\n"
                           "# HELP reg Registered.\n# TYPE reg gauge\nreg 0\n"
                           "# HELP zzz Last.\n# TYPE zzz gauge\nzzz 0\n");
    lumen_free(s);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "# TYPE coll_temp_celsius gauge\n# UNIT coll_temp_celsius celsius\n"));
    assert_true(contains(s, "coll_hist_bucket{le=\"1.0\"} 1\n"));
    lumen_free(s);
    assert_int_equal(lumen_registry_remove_collector(r, col), LUMEN_OK);
    s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_false(contains(s, "coll_"));
    lumen_free(s);
    lumen_registry_free(r);
}

static void test_metrics_family__options_version(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    assert_int_equal(o.version, LUMEN_FAMILY_OPTIONS_VERSION);
    lumen_family_options z;
    memset(&z, 0xff, sizeof z);
    assert_int_equal(lumen_family_options_init(&z, LUMEN_FAMILY_OPTIONS_VERSION), LUMEN_OK);
    assert_int_equal(z.version, LUMEN_FAMILY_OPTIONS_VERSION);
    assert_null(z.help);
    assert_int_equal(z.flags, 0);
    assert_int_equal(lumen_family_options_init(&z, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_family_options_init(&z, LUMEN_FAMILY_OPTIONS_VERSION + 1),
                     LUMEN_EVERSION);
    assert_int_equal(lumen_family_options_init(NULL, 1), LUMEN_EINVAL);
    /* Options zeroed by hand (version 0), or from a newer library, are
     * refused with nothing registered. */
    lumen_family *f = (lumen_family *)1;
    memset(&z, 0, sizeof z);
    z.help = "H.";
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "v_total", &z), LUMEN_EVERSION);
    assert_null(f);
    z.version = LUMEN_FAMILY_OPTIONS_VERSION + 1;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "v_total", &z), LUMEN_EVERSION);
    assert_int_equal(lumen_family_lookup(&f, r, "v"), LUMEN_ENOENT);
    /* From lumen_family_options_init, they work. */
    assert_int_equal(lumen_family_options_init(&z, LUMEN_FAMILY_OPTIONS_VERSION), LUMEN_OK);
    z.help = "H.";
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "v_total", &z), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "# HELP v_total H.\n"));
    lumen_free(s);
    /* The longest name is LUMEN_METRIC_NAME_MAX bytes. */
    char name[LUMEN_METRIC_NAME_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(lumen_metric_name_check(name), LUMEN_ETOOBIG);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, name, NULL), LUMEN_ETOOBIG);
    name[LUMEN_METRIC_NAME_MAX] = '\0';
    assert_int_equal(lumen_metric_name_check(name), LUMEN_OK);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, name, NULL), LUMEN_OK);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "n_created "));
    lumen_free(s);
    lumen_registry_free(r);
}

static void test_metrics_family__lookup(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *f, *g;
    lumen_family_options h = LUMEN_FAMILY_OPTIONS_INIT;
    h.help = "Jobs.";
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "jobs_total", &h), LUMEN_OK);
    /* The second creation is refused; the lookup gives the first family,
     * by either spelling of a counter's name. */
    assert_int_equal(lumen_family_new(&g, r, LUMEN_METRIC_COUNTER, "jobs_total", NULL),
                     LUMEN_EEXIST);
    assert_null(g);
    assert_int_equal(lumen_family_lookup(&g, r, "jobs_total"), LUMEN_OK);
    assert_ptr_equal(g, f);
    assert_int_equal(lumen_family_lookup(&g, r, "jobs"), LUMEN_OK);
    assert_ptr_equal(g, f);
    assert_int_equal(lumen_family_type(g), LUMEN_METRIC_COUNTER);
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, g, NULL, 0), LUMEN_OK);
    lumen_counter_inc(c);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "jobs_total 1\n"));
    lumen_free(s);
    /* Info metrics by either spelling; a gauge's name as given only. */
    lumen_label l = {"version", "1.2"};
    lumen_family *i;
    assert_int_equal(lumen_info_new(&i, r, "build", "B.", &l, 1), LUMEN_OK);
    assert_int_equal(lumen_family_lookup(&g, r, "build_info"), LUMEN_OK);
    assert_ptr_equal(g, i);
    assert_int_equal(lumen_family_lookup(&g, r, "build"), LUMEN_OK);
    assert_int_equal(lumen_family_type(g), LUMEN_METRIC_INFO);
    lumen_family *t;
    assert_int_equal(lumen_gauge_func_new(&t, r, "temp", "T.", NULL, NULL), LUMEN_EINVAL);
    assert_null(t);
    /* Misses. */
    assert_int_equal(lumen_family_lookup(&g, r, "jobs_created"), LUMEN_ENOENT);
    assert_null(g);
    assert_int_equal(lumen_family_lookup(&g, r, "nope"), LUMEN_ENOENT);
    assert_int_equal(lumen_family_lookup(&g, r, NULL), LUMEN_EINVAL);
    assert_int_equal(lumen_family_lookup(NULL, r, "jobs"), LUMEN_EINVAL);
    /* After unregistering: gone, and its handle dead. */
    assert_int_equal(lumen_registry_unregister(r, "jobs"), LUMEN_OK);
    assert_int_equal(lumen_family_lookup(&g, r, "jobs"), LUMEN_ENOENT);
    assert_null(lumen_family_name(f));
    lumen_registry_free(r);
    assert_int_equal(lumen_family_lookup(&g, r, "build"), LUMEN_ENOENT);
}

static int collect_declared(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    int rc = lumen_collect_family(s, LUMEN_METRIC_COUNTER, "decl_events_total", "E.", NULL);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", NULL, 0, 7);
    return rc;
}

static void test_metrics_collector__declared_names(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    static const char *const names[] = {"decl_events_total"};
    lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
    o.family_names = names;
    o.family_count = 1;
    /* A registered family that a declared name would clash with: refused
     * at registration, not at scrape time. */
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "decl_events", "G."), LUMEN_OK);
    lumen_collector *col = (lumen_collector *)1;
    assert_int_equal(lumen_registry_add_collector(&col, r, &o, collect_declared, NULL),
                     LUMEN_EEXIST);
    assert_null(col);
    assert_int_equal(lumen_registry_unregister(r, "decl_events"), LUMEN_OK);
    assert_int_equal(lumen_registry_add_collector(&col, r, &o, collect_declared, NULL), LUMEN_OK);
    /* Later families of every type and spelling that would clash. */
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "decl_events", NULL),
                     LUMEN_EEXIST);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "decl_events_total", NULL),
                     LUMEN_EEXIST);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "decl_events_created", NULL),
                     LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_func_new(NULL, r, "decl_events", "G.", NULL, NULL), LUMEN_EINVAL);
    assert_int_equal(lumen_info_new(NULL, r, "decl_events", "I.", NULL, 0), LUMEN_EEXIST);
    /* Another collector declaring the same family. */
    lumen_collector *col2;
    assert_int_equal(lumen_registry_add_collector(&col2, r, &o, collect_declared, NULL),
                     LUMEN_EEXIST);
    /* Unrelated names are free. */
    lumen_family_options h = LUMEN_FAMILY_OPTIONS_INIT;
    h.help = "Other.";
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "decl_other", &h), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "decl_events_total 7\n"));
    lumen_free(s);
    /* Removing the collector releases its names. */
    assert_int_equal(lumen_registry_remove_collector(r, col), LUMEN_OK);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "decl_events", NULL), LUMEN_OK);
    /* Invalid declarations. */
    static const char *const bad[] = {"9bad"};
    o.family_names = bad;
    assert_int_equal(lumen_registry_add_collector(NULL, r, &o, collect_declared, NULL),
                     LUMEN_EINVAL);
    o.family_names = NULL;
    assert_int_equal(lumen_registry_add_collector(NULL, r, &o, collect_declared, NULL),
                     LUMEN_EINVAL);
    o.version = 0;
    assert_int_equal(lumen_registry_add_collector(NULL, r, &o, collect_declared, NULL),
                     LUMEN_EVERSION);
    /* The process collector declares its families too. */
    assert_int_equal(lumen_gauge_new(&g, r, "process_open_fds", "Mine."), LUMEN_OK);
    assert_int_equal(lumen_process_collector_add(&col, r), LUMEN_EEXIST);
    assert_int_equal(lumen_registry_unregister(r, "process_open_fds"), LUMEN_OK);
    assert_int_equal(lumen_process_collector_add(&col, r), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r, "process_max_fds", "Mine."), LUMEN_EEXIST);
    lumen_registry_free(r);
}

/* ---- names at the length limit -------------------------------------------- */

/* Every sample name of a family whose name is LUMEN_METRIC_NAME_MAX bytes
 * long is whole: the buffers (LUMEN__SAMPLE_NAME_CAP) hold the longest
 * suffix and the NUL. */
static void test_metrics_names__sample_names_at_the_limit(void **state)
{
    (void)state;
    char base[LUMEN_METRIC_NAME_MAX + 1];
    memset(base, 'a', LUMEN_METRIC_NAME_MAX);
    base[LUMEN_METRIC_NAME_MAX] = '\0';
    lumen__sample_names names;
    static const struct {
        lumen_metric_type type;
        size_t n;
        const char *last;
    } want[] = {
        {LUMEN_METRIC_COUNTER, 3, "_created"},   {LUMEN_METRIC_GAUGE, 1, ""},
        {LUMEN_METRIC_HISTOGRAM, 5, "_created"}, {LUMEN_METRIC_SUMMARY, 4, "_created"},
        {LUMEN_METRIC_INFO, 2, "_info"},         {LUMEN_METRIC_UNTYPED, 1, ""},
    };
    for (size_t t = 0; t < sizeof want / sizeof want[0]; t++) {
        size_t k = lumen__family_sample_names(want[t].type, base, names);
        assert_int_equal(k, want[t].n);
        assert_true(k <= LUMEN__SAMPLE_NAMES_MAX);
        const char *last = names[k - 1];
        assert_int_equal(strlen(last), LUMEN_METRIC_NAME_MAX + strlen(want[t].last));
        assert_memory_equal(last, base, LUMEN_METRIC_NAME_MAX);
        assert_string_equal(last + LUMEN_METRIC_NAME_MAX, want[t].last);
    }
    assert_int_equal(lumen__family_base_len(LUMEN_METRIC_COUNTER, "x_total"), 1);
    assert_int_equal(lumen__family_base_len(LUMEN_METRIC_GAUGE, "x_total"), 7);
    assert_int_equal(lumen__family_base_len(LUMEN_METRIC_INFO, "x_info"), 1);
    assert_int_equal(lumen__family_base_len(LUMEN_METRIC_COUNTER, "_total"), 6);
}

/* Clashes between names of the longest length are found at registration
 * and at scrape time: by a registered family, a declared collector and an
 * undeclared one. */
static int g_long_rc[2];
static const char *g_long_name;

static int collect_long(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    /* A gauge and a counter of the histogram's name: the counter's
     * NAME_created clashes with the histogram's. Then a free name. */
    g_long_rc[0] = lumen_collect_family(s, LUMEN_METRIC_GAUGE, g_long_name, "G.", NULL);
    g_long_rc[1] = lumen_collect_family(s, LUMEN_METRIC_COUNTER, g_long_name, "C.", NULL);
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "long_free", "F.", NULL);
    return rc == LUMEN_OK ? lumen_collect_sample(s, "", NULL, 0, 1) : rc;
}

static void test_metrics_names__clashes_at_the_limit(void **state)
{
    (void)state;
    char name[LUMEN_METRIC_NAME_MAX + 1];
    memset(name, 'h', LUMEN_METRIC_NAME_MAX);
    name[LUMEN_METRIC_NAME_MAX] = '\0';
    g_long_name = name;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_histogram *h;
    assert_int_equal(lumen_histogram_new(&h, r, name, "H.", NULL, 0), LUMEN_OK);
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, name, NULL), LUMEN_EEXIST);
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, name, NULL), LUMEN_EEXIST);
    static const char *decl[1];
    decl[0] = name;
    lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
    o.family_names = decl;
    o.family_count = 1;
    assert_int_equal(lumen_registry_add_collector(NULL, r, &o, collect_long, NULL), LUMEN_EEXIST);
    assert_int_equal(lumen_registry_add_collector(NULL, r, NULL, collect_long, NULL), LUMEN_OK);
    char *s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_int_equal(g_long_rc[0], LUMEN_EEXIST);
    assert_int_equal(g_long_rc[1], LUMEN_EEXIST);
    assert_true(contains(s, "\nlong_free 1\n"));
    /* The histogram once, with its whole names. */
    char want[LUMEN_METRIC_NAME_MAX + 32];
    snprintf(want, sizeof want, "# TYPE %s histogram\n", name);
    const char *at = strstr(s, want);
    assert_non_null(at);
    assert_null(strstr(at + 1, want));
    snprintf(want, sizeof want, "\n%s_created ", name);
    assert_true(contains(s, want));
    snprintf(want, sizeof want, "# TYPE %s gauge", name);
    assert_false(contains(s, want));
    lumen_free(s);
    lumen_registry_free(r);
}

/* ---- lumen's own log and trace metrics ------------------------------------- */

/* The self-metrics choice is fixed at the first use of each layer, once
 * per process: each scenario runs in a child of its own. */
static void run_child(int (*scenario)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(scenario());
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        print_error("scenario failed at check %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#define CHECK(n, x)                                                                                \
    do {                                                                                           \
        if (!(x))                                                                                  \
            return (n);                                                                            \
    } while (0)

static char g_diag[4096];
static void keep_diag(lumen_diag_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    size_t n = strlen(g_diag);
    snprintf(g_diag + n, sizeof g_diag - n, "%s\n", msg);
}

static void quiet_line(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)level, (void)line, (void)len, (void)ud;
}

/* One record through a handler that writes nowhere. */
static void log_one(void)
{
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.sink = LUMEN_LOG_SINK_CALLBACK;
    ho.callback = quiet_line;
    lumen_log_handler *h;
    lumen_logger *lg = lumen_logger_get("selfmetrics");
    if (lumen_log_handler_new(&h, &ho) == LUMEN_OK)
        lumen_logger_set_handlers(lg, &h, 1);
    LUMEN_LOG_INFO(lg, "one");
}

static bool rendered(lumen_registry *r, const char *needle)
{
    char *s = NULL;
    bool found = lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK &&
                 strstr(s, needle) != NULL;
    lumen_free(s);
    return found;
}

/* The program's family first: it keeps the name, the log layer's families
 * stay off and the clash is said once, with the name. */
static int scenario_log_program_first(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_counter *mine;
    CHECK(1, lumen_counter_new(&mine, NULL, "lumen_log_events_total", "Mine.") == LUMEN_OK);
    log_one();
    log_one();
    CHECK(2, strstr(g_diag, "lumen_log_events_total") != NULL);
    CHECK(3,
          strstr(strstr(g_diag, "lumen_log_events_total") + 1, "lumen_log_events_total") == NULL);
    CHECK(4, rendered(NULL, "# HELP lumen_log_events_total Mine.\n"));
    CHECK(5, rendered(NULL, "lumen_log_events_total 0\n"));
    CHECK(6, !rendered(NULL, "lumen_log_dropped_total"));
    return 0;
}

/* The log layer first: a program family of a clashing name is refused at
 * its registration. */
static int scenario_log_lumen_first(void)
{
    log_one();
    CHECK(1, rendered(NULL, "lumen_log_events_total{level=\"info\"} 1\n"));
    lumen_family *f;
    CHECK(2, lumen_family_new(&f, NULL, LUMEN_METRIC_COUNTER, "lumen_log_events_total", NULL) ==
                 LUMEN_EEXIST);
    CHECK(3, lumen_family_new(&f, NULL, LUMEN_METRIC_GAUGE, "lumen_log_dropped", NULL) ==
                 LUMEN_EEXIST);
    CHECK(4, lumen_family_lookup(&f, NULL, "lumen_log_events_total") == LUMEN_OK);
    return 0;
}

static lumen_tracer_provider *provider(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    lumen_tracer_provider *tp = NULL;
    lumen_tracer_provider_new(&tp, &o);
    return tp;
}

static int scenario_trace_program_first(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_gauge *mine;
    CHECK(1, lumen_gauge_new(&mine, NULL, "lumen_trace_spans_ended", "Mine.") == LUMEN_OK);
    lumen_tracer_provider *tp = provider();
    CHECK(2, tp != NULL);
    CHECK(3, strstr(g_diag, "lumen_trace_spans_ended_total") != NULL);
    CHECK(4, rendered(NULL, "# HELP lumen_trace_spans_ended Mine.\n"));
    CHECK(5, !rendered(NULL, "lumen_trace_spans_started_total"));
    lumen_tracer_provider_free(tp);
    return 0;
}

static int scenario_trace_lumen_first(void)
{
    lumen_tracer_provider *tp = provider();
    CHECK(1, tp != NULL);
    CHECK(2, rendered(NULL, "lumen_trace_spans_started_total 0\n"));
    lumen_family *f;
    CHECK(3, lumen_family_new(&f, NULL, LUMEN_METRIC_COUNTER, "lumen_trace_spans_exported", NULL) ==
                 LUMEN_EEXIST);
    lumen_tracer_provider_free(tp);
    return 0;
}

/* The program's registry: both layers' families go there, none to the
 * default registry; the choice is fixed once used. */
static int scenario_own_registry(void)
{
    lumen_registry *mine, *other;
    CHECK(1, lumen_registry_new(&mine) == LUMEN_OK && lumen_registry_new(&other) == LUMEN_OK);
    lumen_self_metrics_options o = LUMEN_SELF_METRICS_OPTIONS_INIT;
    o.registry = other;
    CHECK(2, lumen_self_metrics_configure(&o) == LUMEN_OK);
    o.registry = mine; /* changed before first use: fine */
    CHECK(3, lumen_self_metrics_configure(&o) == LUMEN_OK);
    log_one();
    lumen_tracer_provider *tp = provider();
    CHECK(4, rendered(mine, "lumen_log_events_total{level=\"info\"} 1\n"));
    CHECK(5, rendered(mine, "lumen_trace_spans_started_total 0\n"));
    CHECK(6, !rendered(NULL, "lumen_log_events_total"));
    CHECK(7, !rendered(NULL, "lumen_trace_"));
    CHECK(8, !rendered(other, "lumen_"));
    CHECK(9, lumen_self_metrics_configure(&o) == LUMEN_OK); /* no change */
    o.registry = other;
    CHECK(10, lumen_self_metrics_configure(&o) == LUMEN_ESTATE);
    CHECK(11, lumen_self_metrics_configure(NULL) == LUMEN_ESTATE);
    o.version = 0;
    CHECK(12, lumen_self_metrics_configure(&o) == LUMEN_EVERSION);
    lumen_tracer_provider_free(tp);
    return 0;
}

/* Off, by flags or by the environment. */
static int scenario_off_by_flags(void)
{
    lumen_self_metrics_options o = LUMEN_SELF_METRICS_OPTIONS_INIT;
    o.flags = LUMEN_SELF_METRICS_NO_LOG | LUMEN_SELF_METRICS_NO_TRACE;
    CHECK(1, lumen_self_metrics_configure(&o) == LUMEN_OK);
    log_one();
    lumen_tracer_provider *tp = provider();
    CHECK(2, !rendered(NULL, "lumen_log_"));
    CHECK(3, !rendered(NULL, "lumen_trace_"));
    /* Their names are free for the program. */
    lumen_counter *c;
    CHECK(4, lumen_counter_new(&c, NULL, "lumen_log_events_total", "Mine.") == LUMEN_OK);
    lumen_tracer_provider_free(tp);
    return 0;
}

static int scenario_off_by_env(void)
{
    setenv("LUMEN_SELF_METRICS", "false", 1);
    log_one();
    lumen_tracer_provider *tp = provider();
    CHECK(1, !rendered(NULL, "lumen_log_"));
    CHECK(2, !rendered(NULL, "lumen_trace_"));
    lumen_tracer_provider_free(tp);
    return 0;
}

static void test_metrics_self__log_clash_program_first(void **state)
{
    (void)state;
    run_child(scenario_log_program_first);
}
static void test_metrics_self__log_clash_lumen_first(void **state)
{
    (void)state;
    run_child(scenario_log_lumen_first);
}
static void test_metrics_self__trace_clash_program_first(void **state)
{
    (void)state;
    run_child(scenario_trace_program_first);
}
static void test_metrics_self__trace_clash_lumen_first(void **state)
{
    (void)state;
    run_child(scenario_trace_lumen_first);
}
static void test_metrics_self__own_registry(void **state)
{
    (void)state;
    run_child(scenario_own_registry);
}
static void test_metrics_self__off(void **state)
{
    (void)state;
    run_child(scenario_off_by_flags);
    run_child(scenario_off_by_env);
}

/* Both orders in a registry the program chose, both layers: the later
 * registration is refused (LUMEN_EEXIST to the program, or the layer's
 * group off with one diagnostic naming the family and the status), and the
 * default registry keeps the names free. */
static int scenario_own_registry_clashes(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_registry *mine;
    CHECK(1, lumen_registry_new(&mine) == LUMEN_OK);
    lumen_self_metrics_options o = LUMEN_SELF_METRICS_OPTIONS_INIT;
    o.registry = mine;
    CHECK(2, lumen_self_metrics_configure(&o) == LUMEN_OK);
    /* Program first, log layer second. */
    lumen_gauge *g;
    CHECK(3, lumen_gauge_new(&g, mine, "lumen_log_dropped_total", "Mine.") == LUMEN_OK);
    log_one();
    CHECK(4, strstr(g_diag, "lumen_log_dropped_total") != NULL);
    CHECK(5, strstr(g_diag, "LUMEN_EEXIST") != NULL);
    CHECK(6, !rendered(mine, "lumen_log_events_total"));
    CHECK(7, rendered(mine, "# TYPE lumen_log_dropped_total gauge\n"));
    /* Trace layer first, program second. */
    lumen_tracer_provider *tp = provider();
    CHECK(8, tp != NULL);
    CHECK(9, rendered(mine, "lumen_trace_spans_started_total 0\n"));
    lumen_family *f;
    CHECK(10, lumen_family_new(&f, mine, LUMEN_METRIC_COUNTER, "lumen_trace_spans_started_total",
                               NULL) == LUMEN_EEXIST);
    CHECK(11, lumen_family_new(&f, mine, LUMEN_METRIC_HISTOGRAM, "lumen_trace_spans_started",
                               NULL) == LUMEN_EEXIST);
    CHECK(12, strstr(g_diag, "trace") == NULL);
    /* Nothing of theirs in the default registry. */
    CHECK(13, lumen_family_new(&f, NULL, LUMEN_METRIC_COUNTER, "lumen_trace_spans_started_total",
                               NULL) == LUMEN_OK);
    CHECK(14, lumen_gauge_new(&g, NULL, "lumen_log_events_total", "Mine.") == LUMEN_OK);
    lumen_tracer_provider_free(tp);
    return 0;
}

static void test_metrics_self__clashes_in_own_registry(void **state)
{
    (void)state;
    run_child(scenario_own_registry_clashes);
}

static void test_metrics_exemplars__openmetrics_only(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "ex_total", "E."), LUMEN_OK);
    lumen_label l[] = {{"trace_id", "abc"}};
    lumen_counter_add_exemplar(c, 2, l, 1);
    char *s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "ex_total 2 # {trace_id=\"abc\"} 2 "));
    lumen_free(s);
    s = render(r, LUMEN_FORMAT_PROMETHEUS);
    assert_false(contains(s, "#  {"));
    assert_false(contains(s, "trace_id"));
    lumen_free(s);
    /* Over 128 code points: dropped, the add still counts. */
    char longv[200];
    memset(longv, 'x', 125);
    longv[125] = '\0';
    lumen_label l2[] = {{"trace_id", longv}};
    lumen_counter_add_exemplar(c, 1, l2, 1);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "ex_total 3 # {trace_id=\"abc\"} 2 "));
    lumen_free(s);
    lumen_histogram *h;
    double b[] = {1, 2};
    assert_int_equal(lumen_histogram_new(&h, r, "exh", "H.", b, 2), LUMEN_OK);
    lumen_histogram_observe_exemplar(h, 1.5, l, 1);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "exh_bucket{le=\"2.0\"} 1 # {trace_id=\"abc\"} 1.5 "));
    lumen_free(s);
    lumen_registry_free(r);
}

static void test_metrics_exemplars__from_current_trace(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "T.";
    o.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE | LUMEN_FAMILY_NO_CREATED;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "tr_total", &o), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, f, NULL, 0), LUMEN_OK);
    double b[] = {1};
    o.buckets = b;
    o.bucket_count = 1;
    lumen_family *fh;
    assert_int_equal(lumen_family_new(&fh, r, LUMEN_METRIC_HISTOGRAM, "tr_h", &o), LUMEN_OK);
    lumen_histogram *h;
    assert_int_equal(lumen_family_histogram(&h, fh, NULL, 0), LUMEN_OK);
    /* No span: no exemplar. */
    lumen_counter_inc(c);
    lumen_histogram_observe(h, 0.5);
    char *s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_false(contains(s, "trace_id"));
    assert_false(contains(s, "_created"));
    lumen_free(s);
    /* A sampled span is current: its ids are attached. */
    lumen__tctx *t = lumen__tctx_get();
    for (int i = 0; i < 16; i++)
        t->trace_id[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 8; i++)
        t->span_id[i] = (uint8_t)(0x10 + i);
    t->trace_flags = 1;
    t->has_span = true;
    lumen_counter_inc(c);
    lumen_histogram_observe(h, 2);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "tr_total 2 # {trace_id=\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
                            "span_id=\"1011121314151617\"} 1 "));
    assert_true(
        contains(s, "tr_h_bucket{le=\"+Inf\"} 2 # {trace_id=\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
                    "span_id=\"1011121314151617\"} 2 "));
    assert_true(contains(s, "tr_h_bucket{le=\"1.0\"} 1\n"));
    lumen_free(s);
    /* An unsampled span: nothing new. */
    t->trace_flags = 0;
    lumen_histogram_observe(h, 0.25);
    s = render(r, LUMEN_FORMAT_OPENMETRICS);
    assert_true(contains(s, "tr_h_bucket{le=\"1.0\"} 2\n"));
    lumen_free(s);
    memset(t, 0, sizeof *t);
    lumen_registry_free(r);
}

static void test_metrics_format__negotiation(void **state)
{
    (void)state;
    const char *ct;
    assert_int_equal(lumen_format_negotiate(&ct, NULL), LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(lumen_format_negotiate(NULL, ""), LUMEN_FORMAT_PROMETHEUS);
    assert_int_equal(lumen_format_negotiate(NULL, "text/plain"), LUMEN_FORMAT_PROMETHEUS);
    assert_int_equal(lumen_format_negotiate(
                         &ct, "application/openmetrics-text;version=1.0.0,application/"
                              "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
                              "q=0.5,*/*;q=0.1"),
                     LUMEN_FORMAT_OPENMETRICS);
    assert_string_equal(ct, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_int_equal(
        lumen_format_negotiate(NULL, "text/plain;q=1, Application/OpenMetrics-Text ; q=0.2"),
        LUMEN_FORMAT_OPENMETRICS);
    assert_int_equal(lumen_format_negotiate(NULL, "application/openmetrics-text;q=0"),
                     LUMEN_FORMAT_PROMETHEUS);
    assert_string_equal(lumen_format_content_type(LUMEN_FORMAT_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void test_metrics_registry__default_registry(void **state)
{
    (void)state;
    lumen_registry *d = lumen_registry_default();
    assert_non_null(d);
    assert_ptr_equal(d, lumen_registry_default());
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, NULL, "unit_default_total", "D."), LUMEN_OK);
    lumen_counter_inc(c);
    char *s = render(NULL, LUMEN_FORMAT_PROMETHEUS);
    assert_true(contains(s, "unit_default_total 1\n"));
    lumen_free(s);
    lumen_registry_free(d); /* no-op */
    assert_int_equal(lumen_registry_unregister(NULL, "unit_default_total"), LUMEN_OK);
}

static int sink_count(const char *data, size_t len, void *ud)
{
    (void)data;
    *(size_t *)ud += len;
    return 0;
}

static int sink_fail(const char *data, size_t len, void *ud)
{
    (void)ud;
    (void)data;
    (void)len;
    return 1;
}

static void test_metrics_render__callback_chunks(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *names[] = {"i"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Many.";
    o.label_names = names;
    o.label_count = 1;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, LUMEN_METRIC_GAUGE, "many", &o), LUMEN_OK);
    for (int i = 0; i < 5000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%05d", i);
        const char *vals[] = {v};
        lumen_gauge *g;
        assert_int_equal(lumen_family_gauge(&g, f, vals, 1), LUMEN_OK);
    }
    size_t total = 0, len = 0;
    char *s;
    assert_int_equal(lumen_registry_render(r, LUMEN_FORMAT_PROMETHEUS, sink_count, &total),
                     LUMEN_OK);
    assert_int_equal(lumen_registry_render_string(&s, &len, r, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    assert_int_equal(total, len);
    assert_int_equal(strlen(s), len);
    lumen_free(s);
    assert_int_equal(lumen_registry_render(r, LUMEN_FORMAT_PROMETHEUS, sink_fail, NULL), LUMEN_EIO);
    assert_int_equal(lumen_registry_render(r, (lumen_format)7, sink_count, &total), LUMEN_EINVAL);
    /* Two registries: one exposition, first registry wins a shared name. */
    lumen_registry *r2;
    assert_int_equal(lumen_registry_new(&r2), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r2, "many", "Other."), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r2, "aaa", "First."), LUMEN_OK);
    lumen_registry *both[] = {r, r2};
    total = 0;
    assert_int_equal(lumen_registries_render(both, 2, LUMEN_FORMAT_OPENMETRICS, sink_count, &total),
                     LUMEN_OK);
    assert_true(total > len);
    lumen_registry_free(r2);
    lumen_registry_free(r);
}

static void test_metrics_cells__fork_child_renders(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "forked_total", "F."), LUMEN_OK);
    lumen_counter_add(c, 5);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lumen_counter_inc(c);
        char *s = NULL;
        int ok = lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK &&
                 strstr(s, "forked_total 6\n") != NULL;
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(lumen_counter_value(c) == 5);
    lumen_registry_free(r);
}

static void *cells_thread(void *arg)
{
    uint32_t *ids = arg;
    for (int k = 0; k < 3; k++) {
        lumen__cell_add_u64(ids[k], 5);
        lumen__cell_add_f64(ids[k] + 1, 0.25);
    }
    return NULL;
}

/* Cells far into the id space (past several steps of the regions'
 * growth), written from a thread that then exits and from this one: the
 * sums hold, with nothing to fold at exit, and a released range reads 0. */
static void test_metrics_cells__far_ids_survive_thread_exit(void **state)
{
    (void)state;
    enum { RANGES = 300 };
    static uint32_t first[RANGES];
    for (int i = 0; i < RANGES; i++)
        assert_int_equal(lumen__cells_alloc(1000, &first[i]), LUMEN_OK);
    uint32_t ids[3] = {first[0], first[RANGES / 2], first[RANGES - 1]};
    assert_true(ids[2] >= 200000);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cells_thread, ids), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    cells_thread(ids); /* this thread too, still alive */
    for (int k = 0; k < 3; k++) {
        uint64_t n;
        lumen__cells_read_u64(ids[k], 1, &n);
        assert_int_equal(n, 10);
        assert_true(lumen__cells_read_f64(ids[k] + 1) == 0.5);
    }
    assert_true(lumen__cells_regions() >= 1);
    for (int i = 0; i < RANGES; i++)
        lumen__cells_release(first[i], 1000);
    uint64_t n;
    lumen__cells_read_u64(ids[2], 1, &n);
    assert_int_equal(n, 0);
    assert_true(lumen__cells_read_f64(ids[2] + 1) == 0);
    /* A released range is reused by the next of its length. */
    uint32_t again;
    assert_int_equal(lumen__cells_alloc(1000, &again), LUMEN_OK);
    assert_true(again == first[RANGES - 1]);
    lumen__cells_release(again, 1000);
}

/* The rseq critical sections themselves: where the kernel (or qemu-user)
 * gives no rseq, the calling thread runs them against a stand-in claiming
 * CPU 0, so that their instructions execute on every architecture that has
 * them (aarch64 included, under qemu). */
static void test_metrics_cells__critical_sections_execute(void **state)
{
    (void)state;
    int mode = lumen__cpu_fake_rseq();
    if (mode < 0) {
        skip(); /* no sections on this target */
        return;
    }
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_counter *c;
    lumen_gauge *g;
    lumen_histogram *h;
    static const double b[] = {1, 2};
    assert_int_equal(lumen_counter_new(&c, r, "sect_c", "h"), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r, "sect_g", "h"), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&h, r, "sect_h", "h", b, 2), LUMEN_OK);
    for (int i = 0; i < 1000; i++) {
        lumen_counter_inc(c);
        lumen_counter_add(c, 2);
        lumen_histogram_observe(h, (double)(i % 3) + 0.5);
        lumen_gauge_set(g, (double)i);
    }
    lumen_counter_add(c, 0.25);
    assert_true(lumen_counter_value(c) == 3000.25);
    assert_true(lumen_gauge_value(g) == 999);
    /* The CPU region was used, not a stripe: the sections ran. */
    int cpu = lumen__cpu_current();
    assert_true(cpu >= 0);
    assert_non_null(__atomic_load_n(&lumen__cell_cpu[cpu], __ATOMIC_ACQUIRE));
    char *out;
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    assert_non_null(strstr(out, "sect_h_bucket{le=\"1\"} 334\n"));
    assert_non_null(strstr(out, "sect_h_bucket{le=\"2\"} 667\n"));
    assert_non_null(strstr(out, "sect_h_count 1000\n"));
    assert_non_null(strstr(out, "sect_h_sum 1499\n"));
    lumen_free(out);
    /* The histogram's section with every bound it compares (16, the
     * longest list it takes), values on the bounds, between them, and
     * the infinities; and a list one longer, which the section leaves to
     * the read-section path: both must count alike. */
    double b16[17];
    for (int i = 0; i < 17; i++)
        b16[i] = (double)(i + 1);
    lumen_histogram *h16, *h17;
    assert_int_equal(lumen_histogram_new(&h16, r, "sect_h16", "h", b16, 16), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&h17, r, "sect_h17", "h", b16, 17), LUMEN_OK);
    static const double vals[] = {-INFINITY, -1, 0, 1, 1.5, 2, 8, 15.5, 16, 16.5, 17, 18, INFINITY};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        lumen_histogram_observe(h16, vals[i]);
        lumen_histogram_observe(h17, vals[i]);
    }
    lumen_histogram_observe(h16, NAN); /* refused, not counted */
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    static const char *want16[] = {
        "sect_h16_bucket{le=\"1\"} 4\n",
        "sect_h16_bucket{le=\"2\"} 6\n",
        "sect_h16_bucket{le=\"8\"} 7\n",
        "sect_h16_bucket{le=\"15\"} 7\n",
        "sect_h16_bucket{le=\"16\"} 9\n",
        "sect_h16_bucket{le=\"+Inf\"} 13\n",
        "sect_h16_count 13\n",
        "sect_h17_bucket{le=\"1\"} 4\n",
        "sect_h17_bucket{le=\"16\"} 9\n",
        "sect_h17_bucket{le=\"17\"} 11\n",
        "sect_h17_bucket{le=\"+Inf\"} 13\n",
        "sect_h17_count 13\n",
    };
    for (size_t i = 0; i < sizeof want16 / sizeof want16[0]; i++)
        if (strstr(out, want16[i]) == NULL)
            fail_msg("missing %s in:\n%s", want16[i], out);
    lumen_free(out);
    /* The guarded sections refuse a dead handle. */
    assert_int_equal(lumen_registry_unregister(r, "sect_c"), LUMEN_OK);
    assert_int_equal(lumen_registry_unregister(r, "sect_g"), LUMEN_OK);
    assert_int_equal(lumen_registry_unregister(r, "sect_h16"), LUMEN_OK);
    uint64_t before = lumen__metrics_lost_stale();
    lumen_counter_inc(c);
    lumen_gauge_set(g, 1);
    lumen_histogram_observe(h16, 1);
    assert_int_equal(lumen__metrics_lost_stale() - before, 3);
    lumen_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_validate__metric_names),
        cmocka_unit_test(test_metrics_validate__label_names),
        cmocka_unit_test(test_metrics_validate__family_options),
        cmocka_unit_test(test_metrics_registry__duplicates_refused),
        cmocka_unit_test(test_metrics_counter__inc_add_and_refusals),
        cmocka_unit_test(test_metrics_gauge__operations),
        cmocka_unit_test(test_metrics_gauge__func),
        cmocka_unit_test(test_metrics_histogram__buckets_cumulative),
        cmocka_unit_test(test_metrics_histogram__default_and_helper_buckets),
        cmocka_unit_test(test_metrics_labels__stable_handles),
        cmocka_unit_test(test_metrics_labels__const_labels_and_invalid_utf8),
        cmocka_unit_test(test_metrics_labels__series_limit_overflow),
        cmocka_unit_test(test_metrics_info__rendered_per_format),
        cmocka_unit_test(test_metrics_summary__count_sum_quantiles),
        cmocka_unit_test(test_metrics_collector__merged_in_order),
        cmocka_unit_test(test_metrics_family__options_version),
        cmocka_unit_test(test_metrics_family__lookup),
        cmocka_unit_test(test_metrics_collector__declared_names),
        cmocka_unit_test(test_metrics_names__sample_names_at_the_limit),
        cmocka_unit_test(test_metrics_names__clashes_at_the_limit),
        cmocka_unit_test(test_metrics_self__log_clash_program_first),
        cmocka_unit_test(test_metrics_self__log_clash_lumen_first),
        cmocka_unit_test(test_metrics_self__trace_clash_program_first),
        cmocka_unit_test(test_metrics_self__trace_clash_lumen_first),
        cmocka_unit_test(test_metrics_self__own_registry),
        cmocka_unit_test(test_metrics_self__off),
        cmocka_unit_test(test_metrics_self__clashes_in_own_registry),
        cmocka_unit_test(test_metrics_exemplars__openmetrics_only),
        cmocka_unit_test(test_metrics_exemplars__from_current_trace),
        cmocka_unit_test(test_metrics_format__negotiation),
        cmocka_unit_test(test_metrics_registry__default_registry),
        cmocka_unit_test(test_metrics_render__callback_chunks),
        cmocka_unit_test(test_metrics_cells__fork_child_renders),
        cmocka_unit_test(test_metrics_cells__far_ids_survive_thread_exit),
        cmocka_unit_test(test_metrics_cells__critical_sections_execute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
