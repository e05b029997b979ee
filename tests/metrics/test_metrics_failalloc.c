/* tests/metrics/test_metrics_failalloc.c: every constructor of the
 * metrics layer (registry_new, family_new, child lookup-create, info,
 * gauge functions, collectors and their sinks, renders) cleans up when
 * any one of its allocations fails: the scenario is run with allocation
 * N failing, for N = 0, 1, 2, ... until a run completes without a
 * failure, and after every run the live allocation count is back to its
 * baseline. */
#include "support/support.h"

#include <stdio.h>
#include <string.h>

#include "lumen/metrics.h"

static int collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "fa_collected", "C.", NULL);
    if (rc != LUMEN_OK)
        return rc;
    for (int i = 0; i < 40; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        lumen_label l[] = {{"k", v}};
        if ((rc = lumen_collect_sample(s, "", l, 1, i)) != LUMEN_OK)
            return rc;
    }
    return LUMEN_OK;
}

static double fn(void *ud)
{
    (void)ud;
    return 1;
}

static int sink(const char *data, size_t len, void *ud)
{
    (void)data;
    *(size_t *)ud += len;
    return 0;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != LUMEN_OK)                                                                \
            goto out;                                                                              \
    } while (0)

/* Everything the metrics layer can construct; returns the first error.
 * Frees all it made whatever happens. */
static int scenario(void)
{
    int rc;
    lumen_registry *r = NULL, *r2 = NULL;
    TRY(lumen_registry_new(&r));
    TRY(lumen_registry_new(&r2));
    const char *names[] = {"method", "path"};
    lumen_label cl[] = {{"svc", "a\xff"}};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests.";
    o.unit = "bytes";
    o.label_names = names;
    o.label_count = 2;
    o.const_labels = cl;
    o.const_label_count = 1;
    o.series_limit = 3;
    lumen_family *fc;
    TRY(lumen_family_new(&fc, r, LUMEN_METRIC_COUNTER, "fa_bytes_total", &o));
    for (int i = 0; i < 5; i++) {
        char v[16];
        snprintf(v, sizeof v, "/p\xfe%d", i);
        const char *vals[] = {"GET", v};
        lumen_counter *c;
        TRY(lumen_family_counter(&c, fc, vals, 2));
        lumen_counter_inc(c);
        lumen_label el[] = {{"trace_id", "abc"}};
        lumen_counter_add_exemplar(c, 1, el, 1);
    }
    double b[] = {1, 2, 3};
    lumen_family_options ho = LUMEN_FAMILY_OPTIONS_INIT;
    ho.help = "H.";
    ho.label_names = names;
    ho.label_count = 2;
    ho.buckets = b;
    ho.bucket_count = 3;
    lumen_family *fh;
    TRY(lumen_family_new(&fh, r, LUMEN_METRIC_HISTOGRAM, "fa_hist", &ho));
    const char *hv[] = {"x", "y"};
    lumen_histogram *h;
    TRY(lumen_family_histogram(&h, fh, hv, 2));
    lumen_histogram_observe(h, 1.5);
    lumen_label el[] = {{"trace_id", "abc"}};
    lumen_histogram_observe_exemplar(h, 2.5, el, 1);
    /* Native buckets beside classic ones: observations that widen the
     * layout and halve its scale allocate (a failure there counts the
     * value in +Inf only), and so do the protobuf render's reads. */
    lumen_family_options no = LUMEN_FAMILY_OPTIONS_INIT;
    no.histogram_kind = LUMEN_HISTOGRAM_BOTH;
    no.buckets = b;
    no.bucket_count = 3;
    no.native_max_buckets = 4;
    lumen_family *fnat;
    TRY(lumen_family_new(&fnat, r, LUMEN_METRIC_HISTOGRAM, "fa_native", &no));
    lumen_histogram *nh;
    TRY(lumen_family_histogram(&nh, fnat, NULL, 0));
    for (int i = -20; i <= 20; i += 3)
        lumen_histogram_observe(nh, (i < 0 ? -1.5 : 1.5) * (double)(1u << (i < 0 ? -i : i)));
    double q[] = {0.5, 0.99};
    lumen_family_options so = LUMEN_FAMILY_OPTIONS_INIT;
    so.help = "S.";
    so.quantiles = q;
    so.quantile_count = 2;
    lumen_family *fs;
    TRY(lumen_family_new(&fs, r, LUMEN_METRIC_SUMMARY, "fa_sum", &so));
    lumen_summary *s;
    TRY(lumen_family_summary(&s, fs, NULL, 0));
    lumen_summary_observe(s, 3);
    lumen_summary_observe(s, -3); /* the negative range: allocated now */
    lumen_gauge *g;
    TRY(lumen_gauge_new(&g, r, "fa_gauge_level", "G."));
    lumen_label il[] = {{"version", "1"}};
    TRY(lumen_info_new(NULL, r, "fa_build", "B.", il, 1));
    TRY(lumen_gauge_func_new(NULL, r, "fa_func", "F.", fn, NULL));
    lumen_collector *col;
    TRY(lumen_registry_add_collector(&col, r, NULL, collect, NULL));
    lumen_counter *other;
    TRY(lumen_counter_new(&other, r2, "fa_other_total", "O."));
    char *str = NULL;
    TRY(lumen_registry_render_string(&str, NULL, r, LUMEN_FORMAT_PROMETHEUS));
    lumen_free(str);
    TRY(lumen_registry_render_string(&str, NULL, r, LUMEN_FORMAT_OPENMETRICS));
    lumen_free(str);
    TRY(lumen_registry_render_string(&str, NULL, r, LUMEN_FORMAT_PROTOBUF));
    lumen_free(str);
    size_t total = 0;
    TRY(lumen_registry_render(r, LUMEN_FORMAT_OPENMETRICS, sink, &total));
    lumen_registry *both[] = {r, r2};
    TRY(lumen_registries_render(both, 2, LUMEN_FORMAT_PROMETHEUS, sink, &total));
    const char *rv[] = {"GET", "/p\xfe"
                               "0"};
    TRY(lumen_family_remove(fc, rv, 2));
    lumen_family_clear(fh);
    TRY(lumen_registry_remove_collector(r, col));
    TRY(lumen_registry_unregister(r, "fa_sum"));
out:
    lumen_registry_free(r2);
    lumen_registry_free(r);
    return rc;
}

static void test_metrics_failalloc__constructors_clean_up(void **state)
{
    (void)state;
    /* One complete run first: per-thread cell pages and the cell id
     * allocator's tables persist by design and are reused afterwards. */
    assert_int_equal(scenario(), LUMEN_OK);
    long base = lt_failalloc_live();
    long n;
    for (n = 0; n < 100000; n++) {
        lt_failalloc_arm(n);
        int rc = scenario();
        int triggered = lt_failalloc_triggered();
        lt_failalloc_disarm();
        if (lt_failalloc_live() != base)
            fail_msg("allocation %ld failing leaves %ld blocks (baseline %ld), rc %d", n,
                     lt_failalloc_live(), base, rc);
        if (!triggered) {
            assert_int_equal(rc, LUMEN_OK);
            break;
        }
        if (rc != LUMEN_OK && rc != LUMEN_ENOMEM)
            fail_msg("allocation %ld failing gives %s", n, lumen_status_name(rc));
    }
    print_message("%ld allocation points\n", n);
    assert_true(n > 50);
}

int main(void)
{
    /* Before anything allocates: memory must go back to its allocator. */
    lt_failalloc_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_failalloc__constructors_clean_up),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc;
}
