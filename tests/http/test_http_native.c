/* tests/http/test_http_native.c: the real Prometheus server (Debian
 * prometheus 2.42, --enable-feature=native-histograms) scrapes a native
 * histogram from this program's endpoint in the protobuf exposition:
 * histogram_quantile(0.99, rate(x[...])) over the native series agrees
 * with the 0.99 quantile of the observed data within the bucket
 * resolution, and the other families (counters, the process collector's,
 * the endpoint's own) arrive too. */
#include "http/http_test.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen/http.h"
#include "metrics/expmap.h"
#include "lumen/prefork.h"

#define N 10000

static char g_prom[64];
static pid_t g_pid;
static char *g_dir;
static lumen_http_server *g_srv;
static lumen_histogram *g_h;
static double g_data[N];
static int g_scale;
static atomic_int g_stop;
static pthread_t g_feeder;
static bool g_feeding;

/* Run an instant query; copy the first result's value into `value`.
 * Returns 1 when there was a result. */
static int query(const char *promql, char *value, size_t cap)
{
    char *esc = curl_easy_escape(NULL, promql, 0);
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/query?query=%s", g_prom, esc);
    curl_free(esc);
    th_resp r;
    long s = th_http("GET", url, NULL, NULL, NULL, 5000, &r);
    int found = 0;
    const char *v = s == 200 ? strstr(r.body, "\"value\":[") : NULL;
    if (v != NULL) {
        v = strchr(v, ',');
        if (v != NULL && v[1] == '"') {
            const char *end = strchr(v + 2, '"');
            size_t n = end ? (size_t)(end - v - 2) : 0;
            if (end && n < cap) {
                memcpy(value, v + 2, n);
                value[n] = '\0';
                found = 1;
            }
        }
    }
    if (!found && s != 200)
        print_message("query %s: %ld %s\n", promql, s, r.body);
    th_resp_free(&r);
    return found;
}

/* Observe the whole data set again every 100 ms, so that a rate over a
 * few seconds is a whole number of copies of it (give or take the part of
 * one copy a scrape cuts: the order is shuffled, so that part is a random
 * sample of the same distribution). */
static void *feeder(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        for (int i = 0; i < N; i++)
            lumen_histogram_observe(g_h, g_data[i]);
        usleep(100000);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int setup(void **state)
{
    (void)state;
    if (!lt_have("prometheus"))
        return 0;
    lumen_counter *events;
    if (lumen_counter_new(&events, NULL, "native_test_events", "Events handled.") != LUMEN_OK)
        return -1;
    lumen_counter_add(events, 777);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Request latency, native buckets.";
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    lumen_family *fam;
    if (lumen_family_new(&fam, NULL, LUMEN_METRIC_HISTOGRAM, "native_test_latency_seconds", &o) ||
        lumen_family_histogram(&g_h, fam, NULL, 0))
        return -1;
    /* Classic and native buckets side by side (Prometheus 2.42 keeps the
     * native ones): 1, 2, 2, 3, 100. */
    lumen_family_options ob = LUMEN_FAMILY_OPTIONS_INIT;
    ob.histogram_kind = LUMEN_HISTOGRAM_BOTH;
    lumen_family *bf;
    lumen_histogram *hb;
    if (lumen_family_new(&bf, NULL, LUMEN_METRIC_HISTOGRAM, "native_test_both_seconds", &ob) ||
        lumen_family_histogram(&hb, bf, NULL, 0))
        return -1;
    double bv[] = {1, 2, 2, 3, 100};
    for (int i = 0; i < 5; i++)
        lumen_histogram_observe(hb, bv[i]);
    /* Log-uniform over 1 ms .. 10 s, shuffled. 13.3 octaves in 160
     * buckets: scale 3 (8 buckets per octave). */
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        g_data[i] = pow(10, -3 + 4 * (double)(x >> 11) * 0x1p-53);
    }
    g_scale = 3;
    atomic_store(&g_stop, 0);
    if (pthread_create(&g_feeder, NULL, feeder, NULL) != 0)
        return -1;
    g_feeding = true;

    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    if (lumen_http_server_start(&g_srv, &so) != LUMEN_OK)
        return -1;
    g_dir = lt_tempdir();
    char cfg[512], log[512], data[512], listen[64], cfgarg[600], dataarg[600];
    snprintf(cfg, sizeof cfg, "%s/prom.yml", g_dir);
    snprintf(log, sizeof log, "%s/prometheus.log", g_dir);
    snprintf(data, sizeof data, "%s/data", g_dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: lumen\n"
            "    static_configs: [{targets: ['127.0.0.1:%u']}]\n",
            (unsigned)lumen_http_server_port(g_srv));
    fclose(f);
    uint16_t port = th_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)port);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    char *argv[] = {"prometheus", cfgarg, dataarg, listen, "--enable-feature=native-histograms",
                    NULL};
    g_pid = th_spawn(argv, log);
    snprintf(g_prom, sizeof g_prom, "http://127.0.0.1:%u", (unsigned)port);
    char ready[128];
    snprintf(ready, sizeof ready, "%s/-/ready", g_prom);
    if (!th_wait_ready(ready, 30000)) {
        char *l = lt_read_file(log, NULL);
        print_error("prometheus did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_feeding) {
        atomic_store(&g_stop, 1);
        pthread_join(g_feeder, NULL);
    }
    th_stop(g_pid);
    lumen_http_server_stop(g_srv);
    if (g_dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        lt_run(cmd, NULL, 0, NULL);
        free(g_dir);
    }
    return 0;
}

static void test_http_native__quantile_from_native_buckets(void **state)
{
    (void)state;
    if (g_pid <= 0)
        skip();
    char v[64] = "";
    int64_t deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline) {
        if (query("up{job=\"lumen\"}", v, sizeof v) && strcmp(v, "1") == 0)
            break;
        usleep(250000);
    }
    assert_string_equal(v, "1");

    /* The true 0.99 quantile of the data, its bucket at the scale, and
     * the ranks (as fractions) where that bucket begins and ends. */
    double *s = malloc(sizeof g_data);
    memcpy(s, g_data, sizeof g_data);
    qsort(s, N, sizeof *s, cmp_double);
    double truth = s[(int)ceil(0.99 * N) - 1];
    int32_t tb = lumen__exp_index(truth, g_scale);
    int first = N, last = -1;
    for (int i = 0; i < N; i++)
        if (lumen__exp_index(s[i], g_scale) == tb) {
            first = i < first ? i : first;
            last = i;
        }
    free(s);
    /* Prometheus interpolates inside the bucket that holds the rank: the
     * estimate is in the truth's bucket, unless the rank lies so near the
     * bucket's edge that the part of a copy a scrape cut moves it across
     * (then in a neighbour). A bucket numbered one off (Prometheus numbers
     * them by their upper boundary, OpenTelemetry by the lower) fails. */
    bool near_edge = 0.99 * N - first < 0.002 * N || last + 1 - 0.99 * N < 0.002 * N;
    double q = NAN;
    const char *promql = "histogram_quantile(0.99, rate(native_test_latency_seconds[5s]))";
    deadline = th_now_ms() + 40000;
    while (th_now_ms() < deadline) {
        if (query(promql, v, sizeof v) && strcmp(v, "NaN") != 0) {
            q = strtod(v, NULL);
            break;
        }
        usleep(250000);
    }
    print_message("p99: prometheus %.6g, data %.6g, scale %d\n", q, truth, g_scale);
    assert_false(isnan(q));
    int32_t qb = lumen__exp_index(q, g_scale);
    print_message("buckets: estimate %d, truth %d (ranks %d..%d)%s\n", qb, tb, first, last,
                  near_edge ? ", near an edge" : "");
    if (near_edge)
        assert_true(qb >= tb - 1 && qb <= tb + 1);
    else
        assert_int_equal(qb, tb);
    assert_false(query("native_test_latency_seconds_bucket", v, sizeof v));

    /* The histogram with both kinds: its native count and sum, and its
     * median (rank 2.5 of 1, 2, 2, 3, 100, at scale 4 as 1..100 needs in
     * 160 buckets: three quarters into 2's bucket (2^(15/16), 2]). */
    assert_true(query("histogram_count(native_test_both_seconds)", v, sizeof v));
    assert_string_equal(v, "5");
    assert_true(query("histogram_sum(native_test_both_seconds)", v, sizeof v));
    assert_string_equal(v, "108");
    assert_true(query("histogram_quantile(0.5, native_test_both_seconds)", v, sizeof v));
    double med = strtod(v, NULL);
    print_message("median: prometheus %.6g, data 2\n", med);
    double lo2 = exp2(15.0 / 16);
    assert_true(fabs(med - (lo2 + 0.75 * (2 - lo2))) < 1e-9);

    /* The rest of the exposition came in the same protobuf scrapes. */
    assert_true(query("native_test_events_total", v, sizeof v));
    assert_string_equal(v, "777");
    assert_true(query("process_resident_memory_bytes", v, sizeof v));
    assert_true(strtod(v, NULL) > 1e6);
    assert_true(query("scrape_samples_scraped{job=\"lumen\"}", v, sizeof v));
    assert_true(strtod(v, NULL) > 10);
}

/* GET /metrics of a server over `reg` with an Accept header: the status,
 * the Content-Type into ct, the body into *body (malloc'd) and its length. */
static long get_metrics(lumen_registry *reg, const char *accept, char *ct, size_t cap, char **body,
                        size_t *len)
{
    lumen_http_server *srv;
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.registries = &reg;
    so.registry_count = 1;
    assert_int_equal(lumen_http_server_start(&srv, &so), LUMEN_OK);
    char url[128], hdr[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)lumen_http_server_port(srv));
    snprintf(hdr, sizeof hdr, "Accept: %s", accept);
    const char *headers[] = {hdr, NULL};
    th_resp r;
    long s = th_http("GET", url, headers, NULL, NULL, 10000, &r);
    ct[0] = '\0';
    th_header(r.headers, "Content-Type", ct, cap);
    *body = malloc(r.body_len + 1);
    memcpy(*body, r.body, r.body_len + 1);
    *len = r.body_len;
    th_resp_free(&r);
    lumen_http_server_stop(srv);
    return s;
}

/* The endpoint serves protobuf to a scraper that asks for it, text to
 * the others, and text when a registry (a pre-forked family's) has no
 * protobuf form. */
static void test_http_native__endpoint_negotiates_protobuf(void **state)
{
    (void)state;
    static const char pb[] = "application/vnd.google.protobuf;proto=io.prometheus.client."
                             "MetricFamily;encoding=delimited;q=0.8,text/plain;version=0.0.4;q=0.3";
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    lumen_family *f;
    lumen_histogram *h;
    assert_int_equal(lumen_family_new(&f, reg, LUMEN_METRIC_HISTOGRAM, "neg_seconds", &o),
                     LUMEN_OK);
    assert_int_equal(lumen_family_histogram(&h, f, NULL, 0), LUMEN_OK);
    lumen_histogram_observe(h, 0.5);
    char ct[256], *body;
    size_t len;
    assert_int_equal(get_metrics(reg, pb, ct, sizeof ct, &body, &len), 200);
    assert_string_equal(ct, lumen_format_content_type(LUMEN_FORMAT_PROTOBUF));
    /* Delimited MetricFamily messages (the endpoint's own families
     * too): lengths that tile the body, each message starting with
     * field 1 (the name); one of them is the histogram's. */
    size_t p = 0, msgs = 0;
    while (p < len) {
        uint64_t n = 0;
        int sh = 0;
        unsigned char b;
        do {
            b = (unsigned char)body[p++];
            n |= (uint64_t)(b & 0x7f) << sh;
            sh += 7;
        } while ((b & 0x80) && p < len);
        assert_true(p + n <= len && n > 0 && body[p] == 0x0a);
        p += n;
        msgs++;
    }
    assert_int_equal(p, len);
    assert_true(msgs >= 1);
    assert_non_null(memmem(body, len, "\x0a\x0bneg_seconds", 13));
    free(body);
    assert_int_equal(get_metrics(reg, "text/plain", ct, sizeof ct, &body, &len), 200);
    assert_string_equal(ct, lumen_format_content_type(LUMEN_FORMAT_PROMETHEUS));
    assert_non_null(strstr(body, "neg_seconds_count 1\n"));
    free(body);
    lumen_registry_free(reg);

    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, lumen_prefork_registry(pf), "pf_total", "P."), LUMEN_OK);
    lumen_counter_inc(c);
    assert_int_equal(get_metrics(lumen_prefork_registry(pf), pb, ct, sizeof ct, &body, &len), 200);
    assert_string_equal(ct, lumen_format_content_type(LUMEN_FORMAT_PROMETHEUS));
    assert_non_null(strstr(body, "pf_total 1\n"));
    free(body);
    lumen_prefork_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_native__endpoint_negotiates_protobuf),
        cmocka_unit_test(test_http_native__quantile_from_native_buckets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
