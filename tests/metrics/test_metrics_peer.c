/* tests/metrics/test_metrics_peer.c: every exposition built here, with
 * label values holding quotes, backslashes, newlines, every control
 * character, invalid UTF-8 and 10 kB strings, is handed to promtool and
 * to prometheus_client's text and OpenMetrics parsers; each must accept it
 * and read back exactly the values that were recorded. */
#include "peer_util.h"

#include "core/buf.h"
#include "core/utf8.h"
#include "lumen/metrics.h"
#include "metrics/names.h"
#include "summary_util.h"

#define NVALS 48

static char *g_vals[NVALS];  /* as recorded */
static char *g_fixed[NVALS]; /* as stored: invalid UTF-8 repaired */
static size_t g_nvals;

static void add_val(const char *v)
{
    g_vals[g_nvals] = strdup(v);
    bool oom = false;
    char *r = lumen__utf8_repair_dup(v, strlen(v), &oom);
    g_fixed[g_nvals] = r ? strdup(r) : strdup(v);
    lumen_free(r);
    g_nvals++;
}

static int setup(void **state)
{
    (void)state;
    add_val("plain");
    add_val("");
    add_val("quote\"in\"side");
    add_val("back\\slash\\");
    add_val("new\nline\n");
    add_val("\\n literal and \\\" both");
    /* Every control character, a few to a value. */
    for (int c = 1; c < 32; c += 4) {
        char v[16];
        int k = 0;
        v[k++] = 'c';
        for (int j = c; j < c + 4 && j < 32; j++)
            v[k++] = (char)j;
        v[k] = '\0';
        add_val(v);
    }
    add_val("del\x7f");
    add_val("utf8 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
    add_val("bad \xff\xfe");
    add_val("trunc \xe2\x82");
    add_val("overlong \xc0\xaf");
    add_val("surrogate \xed\xa0\x80");
    add_val("lone cont \x80");
    add_val("{}=,# HELP");
    /* 10 kB, mixing everything that needs care. */
    char *big = malloc(10241);
    for (int i = 0; i < 10240; i++)
        big[i] = "ab\"\\\nc\t\xc3\xa9"[i % 9];
    big[10240] = '\0';
    /* Keep the multi-byte character whole at the end. */
    if ((unsigned char)big[10239] == 0xc3)
        big[10239] = 'z';
    add_val(big);
    free(big);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nvals; i++) {
        free(g_vals[i]);
        free(g_fixed[i]);
    }
    return 0;
}

static int collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    lumen_collect_family(s, LUMEN_METRIC_GAUGE, "peer_collected", "From a \"collector\".", NULL);
    for (size_t i = 0; i < g_nvals; i++) {
        lumen_label l[] = {{"v", g_fixed[i]}};
        lumen_collect_sample(s, "", l, 1, (double)i / 4);
    }
    return LUMEN_OK;
}

/* Build the registry and the samples each parser must read. */
static lumen_registry *build(lines *text, lines *om)
{
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lines *both[] = {text, om};

    /* Counters with two labels, every tricky value in each position. */
    const char *cn[] = {"path", "code"};
    lumen_label cl[] = {{"service", "const \"x\"\n\\"}};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests with \\ backslash, \"quotes\" and\nnewline in help.";
    o.label_names = cn;
    o.label_count = 2;
    o.const_labels = cl;
    o.const_label_count = 1;
    lumen_family *fc;
    assert_int_equal(lumen_family_new(&fc, r, LUMEN_METRIC_COUNTER, "peer_requests_total", &o),
                     LUMEN_OK);
    for (size_t i = 0; i < g_nvals; i++) {
        const char *v[] = {g_vals[i], g_vals[(i + 1) % g_nvals]};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, fc, v, 2), LUMEN_OK);
        lumen_counter_add(c, (double)i + 1);
        if (i % 3 == 0)
            lumen_counter_add(c, 0.25);
        double want = (double)i + 1 + (i % 3 == 0 ? 0.25 : 0);
        const char *kv[] = {"service", "const \"x\"\n\\",         "path", g_fixed[i],
                            "code",    g_fixed[(i + 1) % g_nvals]};
        for (int f = 0; f < 2; f++)
            peer_expect(both[f], "peer_requests_total", kv, 3, want, NULL);
    }

    /* Gauges with the special values. */
    const char *gn[] = {"kind"};
    lumen_family_options go = LUMEN_FAMILY_OPTIONS_INIT;
    go.help = "Special values.";
    go.label_names = gn;
    go.label_count = 1;
    lumen_family *fg;
    assert_int_equal(lumen_family_new(&fg, r, LUMEN_METRIC_GAUGE, "peer_values", &go), LUMEN_OK);
    double specials[] = {NAN, INFINITY, -INFINITY, -0.5, 1e-7, 1e300, 0.1 + 0.2, -12345678901.0};
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(specials); i++) {
        char k[8];
        snprintf(k, sizeof k, "k%zu", i);
        const char *v[] = {k};
        lumen_gauge *g;
        assert_int_equal(lumen_family_gauge(&g, fg, v, 1), LUMEN_OK);
        lumen_gauge_set(g, specials[i]);
        const char *kv[] = {"kind", k};
        for (int f = 0; f < 2; f++)
            peer_expect(both[f], "peer_values", kv, 1, specials[i], NULL);
    }

    /* Histograms, labelled by the tricky values, with exemplars. */
    const char *hn[] = {"route"};
    double bounds[] = {0.001, 0.01, 0.1, 1, 10, 1e6};
    lumen_family_options ho = LUMEN_FAMILY_OPTIONS_INIT;
    ho.help = "Latency.";
    ho.unit = "seconds";
    ho.label_names = hn;
    ho.label_count = 1;
    ho.buckets = bounds;
    ho.bucket_count = 6;
    lumen_family *fh;
    assert_int_equal(lumen_family_new(&fh, r, LUMEN_METRIC_HISTOGRAM, "peer_latency_seconds", &ho),
                     LUMEN_OK);
    for (size_t i = 0; i < g_nvals; i++) {
        const char *v[] = {g_vals[i]};
        lumen_histogram *h;
        assert_int_equal(lumen_family_histogram(&h, fh, v, 1), LUMEN_OK);
        uint64_t counts[7] = {0};
        double sum = 0;
        for (size_t k = 0; k <= i; k++) {
            double x = (double)k * 0.037;
            lumen_histogram_observe(h, x);
            sum += x;
            size_t b = 0;
            while (b < 6 && x > bounds[b])
                b++;
            counts[b]++;
        }
        const char *ex = NULL;
        if (i == 2) {
            lumen_label el[] = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}};
            lumen_histogram_observe_exemplar(h, 0.5, el, 1);
            sum += 0.5;
            counts[3]++;
            ex = "trace_id=34626639326633353737623334646136613363653932396430653065343733360.5";
        }
        uint64_t cum = 0;
        for (size_t b = 0; b < 7; b++) {
            cum += counts[b];
            for (int f = 0; f < 2; f++) {
                char le[40];
                if (b == 6)
                    strcpy(le, "+Inf");
                else if (f == 0)
                    lumen__fmt_double_go(le, bounds[b]);
                else
                    lumen__fmt_double_canonical(le, bounds[b]);
                const char *kv[] = {"route", g_fixed[i], "le", le};
                char exl[200];
                const char *e = NULL;
                if (ex && f == 1 && b == 3) {
                    snprintf(
                        exl, sizeof exl,
                        "trace_id=3462663932663335373762333464613661336365393239643065306534373336 "
                        "0.5");
                    e = exl;
                }
                peer_expect(both[f], "peer_latency_seconds_bucket", kv, 2, (double)cum, e);
            }
        }
        const char *kv[] = {"route", g_fixed[i]};
        for (int f = 0; f < 2; f++) {
            peer_expect(both[f], "peer_latency_seconds_sum", kv, 1, sum, NULL);
            peer_expect(both[f], "peer_latency_seconds_count", kv, 1, (double)cum, NULL);
        }
    }

    /* A summary with quantiles: 1..100 observed. */
    double qs[] = {0.5, 0.9, 0.99};
    lumen_family_options so = LUMEN_FAMILY_OPTIONS_INIT;
    so.help = "Sizes.";
    so.quantiles = qs;
    so.quantile_count = 3;
    lumen_family *fs;
    assert_int_equal(lumen_family_new(&fs, r, LUMEN_METRIC_SUMMARY, "peer_size_bytes", &so),
                     LUMEN_OK);
    lumen_summary *sm;
    assert_int_equal(lumen_family_summary(&sm, fs, NULL, 0), LUMEN_OK);
    for (int i = 1; i <= 100; i++)
        lumen_summary_observe(sm, i);
    /* The parsers must read what the summary estimates, which is within
     * the stated bound of the exact 50, 90, 99. */
    double want[3], exact[] = {50, 90, 99}, ssum;
    uint64_t scount;
    int sscale;
    assert_true(su_read(sm, &scount, &ssum, want, &sscale));
    for (int k = 0; k < 3; k++)
        assert_true(su_within(want[k], exact[k], sscale));
    for (int f = 0; f < 2; f++) {
        for (int k = 0; k < 3; k++) {
            char q[40];
            if (f == 0)
                lumen__fmt_double_go(q, qs[k]);
            else
                lumen__fmt_double_canonical(q, qs[k]);
            const char *kv[] = {"quantile", q};
            peer_expect(both[f], "peer_size_bytes", kv, 1, want[k], NULL);
        }
        peer_expect(both[f], "peer_size_bytes_sum", NULL, 0, 5050, NULL);
        peer_expect(both[f], "peer_size_bytes_count", NULL, 0, 100, NULL);
    }

    /* Info, an unlabelled counter with an exemplar, a collector. */
    lumen_label il[] = {{"version", "1.0 \"beta\""}, {"commit", "\xff"}};
    assert_int_equal(lumen_info_new(NULL, r, "peer_build", "Build.", il, 2), LUMEN_OK);
    const char *ikv[] = {"version", "1.0 \"beta\"", "commit", "\xef\xbf\xbd"};
    for (int f = 0; f < 2; f++)
        peer_expect(both[f], "peer_build_info", ikv, 2, 1, NULL);
    lumen_counter *ec;
    assert_int_equal(lumen_counter_new(&ec, r, "peer_jobs_total", "Jobs."), LUMEN_OK);
    lumen_label el[] = {{"trace_id", "ab\"c"}, {"span_id", "\xe6\x97\xa5"}};
    lumen_counter_add_exemplar(ec, 3, el, 2);
    peer_expect(text, "peer_jobs_total", NULL, 0, 3, NULL);
    peer_expect(om, "peer_jobs_total", NULL, 0, 3, "span_id=e697a5 trace_id=61622263 3");
    assert_int_equal(lumen_registry_add_collector(NULL, r, NULL, collect, NULL), LUMEN_OK);
    for (size_t i = 0; i < g_nvals; i++) {
        const char *kv[] = {"v", g_fixed[i]};
        for (int f = 0; f < 2; f++)
            peer_expect(both[f], "peer_collected", kv, 1, (double)i / 4, NULL);
    }
    return r;
}

/* On a mismatch, show the first differing lines rather than 100 kB. */
static void same_lines(const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return;
    const char *g = got, *w = want;
    while (*g && *w) {
        const char *ge = strchr(g, '\n'), *we = strchr(w, '\n');
        if (!ge || !we || ge - g != we - w || memcmp(g, w, (size_t)(ge - g)) != 0) {
            print_error("got:  %.300s\nwant: %.300s\n", g, w);
            break;
        }
        g = ge + 1;
        w = we + 1;
    }
    fail_msg("parsed samples differ from the recorded ones");
}

static void check_peers(lumen_registry *r, lines *text, lines *om)
{
    char *expo, *out = NULL;
    size_t len;
    assert_int_equal(lumen_registry_render_string(&expo, &len, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    int rc = peer_promtool(expo, len, &out);
    if (rc != 0)
        print_error("promtool: %d\n%s\n", rc, out);
    assert_int_equal(rc, 0);
    free(out);
    rc = peer_parse(expo, len, 0, &out);
    if (rc != 0)
        print_error("text parser:\n%s\n", out);
    assert_int_equal(rc, 0);
    char *want = lines_join(text);
    same_lines(out, want);
    free(want);
    free(out);
    lumen_free(expo);

    assert_int_equal(lumen_registry_render_string(&expo, &len, r, LUMEN_FORMAT_OPENMETRICS),
                     LUMEN_OK);
    rc = peer_parse(expo, len, 1, &out);
    if (rc != 0)
        print_error("openmetrics parser:\n%s\n", out);
    assert_int_equal(rc, 0);
    want = lines_join(om);
    same_lines(out, want);
    free(want);
    free(out);
    lumen_free(expo);
}

static void test_metrics_peer__tricky_values_parse_back(void **state)
{
    (void)state;
    if (!lt_have("promtool")) {
        skip();
    }
    lines text = {0}, om = {0};
    lumen_registry *r = build(&text, &om);
    check_peers(r, &text, &om);
    lines_free(&text);
    lines_free(&om);
    lumen_registry_free(r);
}

static void test_metrics_peer__empty_and_unlabelled(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lines text = {0}, om = {0};
    check_peers(r, &text, &om); /* an empty registry: "" and "# EOF" */
    lumen_counter *c;
    lumen_gauge *g;
    lumen_histogram *h;
    lumen_summary *s;
    assert_int_equal(lumen_counter_new(&c, r, "e_total", "C."), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, r, "e_level", "G."), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&h, r, "e_hist", "H.", NULL, 0), LUMEN_OK);
    assert_int_equal(lumen_summary_new(&s, r, "e_sum", "S."), LUMEN_OK);
    lines *both[] = {&text, &om};
    for (int f = 0; f < 2; f++) {
        peer_expect(both[f], "e_total", NULL, 0, 0, NULL);
        peer_expect(both[f], "e_level", NULL, 0, 0, NULL);
        size_t nb;
        const double *b = lumen_buckets_default(&nb);
        for (size_t i = 0; i <= nb; i++) {
            char le[40];
            if (i == nb)
                strcpy(le, "+Inf");
            else if (f == 0)
                lumen__fmt_double_go(le, b[i]);
            else
                lumen__fmt_double_canonical(le, b[i]);
            const char *kv[] = {"le", le};
            peer_expect(both[f], "e_hist_bucket", kv, 1, 0, NULL);
        }
        peer_expect(both[f], "e_hist_sum", NULL, 0, 0, NULL);
        peer_expect(both[f], "e_hist_count", NULL, 0, 0, NULL);
        peer_expect(both[f], "e_sum_sum", NULL, 0, 0, NULL);
        peer_expect(both[f], "e_sum_count", NULL, 0, 0, NULL);
    }
    check_peers(r, &text, &om);
    lines_free(&text);
    lines_free(&om);
    lumen_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_peer__tricky_values_parse_back),
        cmocka_unit_test(test_metrics_peer__empty_and_unlabelled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
