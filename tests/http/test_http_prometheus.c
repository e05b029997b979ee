/* tests/http/test_http_prometheus.c: the real Prometheus server (Debian
 * prometheus 2.42) scrapes this program's endpoint. Through Prometheus's
 * HTTP API: up == 1, a counter's exact value, histogram_quantile() over a
 * labelled histogram, and the process metrics. */
#include "http/http_test.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef LUMEN_HAVE_XCRYPT
#include <crypt.h>
#endif

#include "lumen/http.h"

static char g_prom[64];
static pid_t g_pid;
static char *g_dir;
static lumen_http_server *g_srv;
static lumen_http_server *g_tls; /* TLS and basic auth; NULL without openssl or bcrypt */
static lumen_registry *g_tls_reg;

/* A second endpoint with a self-signed certificate and a bcrypt user, for
 * Prometheus's https scheme and basic_auth. */
static void start_tls_server(const char *dir)
{
#ifdef LUMEN_HAVE_XCRYPT
    if (!lt_have("openssl"))
        return;
    char cmd[1536], cert[512], key[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-days 1 -subj /CN=localhost -keyout %s -out %s",
             key, cert);
    if (lt_run(cmd, NULL, 0, NULL) != 0)
        return;
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], users[256];
    if (crypt_gensalt_rn("$2b$", 8, NULL, 0, salt, sizeof salt) == NULL)
        return;
    snprintf(users, sizeof users, "prom:%s", crypt_rn("s3cret", salt, &cd, sizeof cd));
    lumen_counter *c;
    if (lumen_registry_new(&g_tls_reg) != LUMEN_OK ||
        lumen_counter_new(&c, g_tls_reg, "prom_tls_secret", "Behind TLS and a password.") !=
            LUMEN_OK)
        return;
    lumen_counter_add(c, 7);
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.registries = &g_tls_reg;
    o.registry_count = 1;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    o.basic_auth_users = users;
    if (lumen_http_server_start(&g_tls, &o) != LUMEN_OK)
        g_tls = NULL;
#else
    (void)dir;
#endif
}

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

static double query_num(const char *promql)
{
    char v[64];
    if (!query(promql, v, sizeof v))
        fail_msg("no result for %s", promql);
    return strtod(v, NULL);
}

static int setup(void **state)
{
    (void)state;
    if (!lt_have("prometheus"))
        return 0;

    /* The program under test: the default registry (with the process
     * metrics) and a labelled histogram. */
    lumen_counter *events;
    if (lumen_counter_new(&events, NULL, "prom_test_events", "Events handled.") != LUMEN_OK)
        return -1;
    lumen_counter_add(events, 12345);
    static const double bounds[] = {0.1, 0.2, 0.5, 1};
    static const char *const route[] = {"route"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Request latency.";
    o.unit = "seconds";
    o.label_names = route;
    o.label_count = 1;
    o.buckets = bounds;
    o.bucket_count = 4;
    lumen_family *fam;
    lumen_histogram *h_a, *h_b;
    const char *a[] = {"/a"}, *b[] = {"/b"};
    if (lumen_family_new(&fam, NULL, LUMEN_METRIC_HISTOGRAM, "prom_test_latency_seconds", &o) ||
        lumen_family_histogram(&h_a, fam, a, 1) || lumen_family_histogram(&h_b, fam, b, 1))
        return -1;
    /* /a: 10 at 0.05, 30 at 0.15, 60 at 0.3. The median (rank 50) lies in
     * (0.2, 0.5]: 0.2 + 0.3 * (50 - 40) / 60 = 0.25. */
    for (int i = 0; i < 10; i++)
        lumen_histogram_observe(h_a, 0.05);
    for (int i = 0; i < 30; i++)
        lumen_histogram_observe(h_a, 0.15);
    for (int i = 0; i < 60; i++)
        lumen_histogram_observe(h_a, 0.3);
    for (int i = 0; i < 4; i++)
        lumen_histogram_observe(h_b, 0.7);

    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    if (lumen_http_server_start(&g_srv, &so) != LUMEN_OK)
        return -1;

    g_dir = lt_tempdir();
    char cfg[512], log[512], data[512], listen[64], cfgarg[600], dataarg[600];
    snprintf(cfg, sizeof cfg, "%s/prom.yml", g_dir);
    snprintf(log, sizeof log, "%s/prometheus.log", g_dir);
    snprintf(data, sizeof data, "%s/data", g_dir);
    start_tls_server(g_dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: lumen\n"
            "    static_configs: [{targets: ['127.0.0.1:%u']}]\n",
            (unsigned)lumen_http_server_port(g_srv));
    if (g_tls != NULL) {
        unsigned tp = lumen_http_server_port(g_tls);
        fprintf(f,
                "  - job_name: lumen_tls\n"
                "    scheme: https\n"
                "    tls_config: {insecure_skip_verify: true}\n"
                "    basic_auth: {username: prom, password: s3cret}\n"
                "    static_configs: [{targets: ['127.0.0.1:%u']}]\n"
                "  - job_name: lumen_badauth\n"
                "    scheme: https\n"
                "    tls_config: {insecure_skip_verify: true}\n"
                "    basic_auth: {username: prom, password: wrong}\n"
                "    static_configs: [{targets: ['127.0.0.1:%u']}]\n",
                tp, tp);
    }
    fclose(f);
    uint16_t port = th_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)port);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    char *argv[] = {"prometheus", cfgarg, dataarg, listen, NULL};
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
    th_stop(g_pid);
    lumen_http_server_stop(g_srv);
    lumen_http_server_stop(g_tls);
    lumen_registry_free(g_tls_reg);
    if (g_dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        lt_run(cmd, NULL, 0, NULL);
        free(g_dir);
    }
    return 0;
}

static void test_http_prometheus__scrapes_the_endpoint(void **state)
{
    (void)state;
    if (g_pid <= 0)
        skip();
    /* Up within 30 s (Prometheus scrapes every second). */
    char v[64] = "";
    int64_t deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline) {
        if (query("up{job=\"lumen\"}", v, sizeof v) && strcmp(v, "1") == 0)
            break;
        usleep(250000);
    }
    assert_string_equal(v, "1");

    assert_true(query("prom_test_events_total", v, sizeof v));
    assert_string_equal(v, "12345");

    double q = query_num("histogram_quantile(0.5, prom_test_latency_seconds_bucket{route=\"/a\"})");
    assert_true(fabs(q - 0.25) < 1e-9);
    q = query_num("histogram_quantile(0.9, sum by (le) (prom_test_latency_seconds_bucket))");
    /* 104 observations: rank 93.6 in (0.2, 0.5] after 40: 0.2 + 0.3 * 53.6 / 60. */
    assert_true(fabs(q - (0.2 + 0.3 * 53.6 / 60)) < 1e-9);
    assert_true(query("prom_test_latency_seconds_count{route=\"/b\"}", v, sizeof v));
    assert_string_equal(v, "4");
    assert_true(fabs(query_num("prom_test_latency_seconds_sum{route=\"/a\"}") -
                     (10 * 0.05 + 30 * 0.15 + 60 * 0.3)) < 1e-9);

    /* The process metrics, with plausible values. */
    assert_true(query_num("process_resident_memory_bytes") > 1e6);
    assert_true(query_num("process_virtual_memory_bytes") >
                query_num("process_resident_memory_bytes"));
    assert_true(query_num("process_open_fds") >= 3);
    assert_true(query_num("process_max_fds") >= query_num("process_open_fds"));
    assert_true(query_num("process_threads") >= 2);
    assert_true(query_num("process_cpu_seconds_total") >= 0);
    double start = query_num("process_start_time_seconds");
    double now = (double)time(NULL);
    assert_true(start <= now + 1 && start > now - 3600);
    assert_true(query_num("process_io_read_bytes_total") >= 0);
    assert_true(query_num("process_io_written_bytes_total") > 0);

    /* The endpoint's own metrics came along (a scrape shows the ones
     * before it, so wait for the second). */
    double served = 0;
    deadline = th_now_ms() + 10000;
    while (th_now_ms() < deadline &&
           (served = query_num("lumen_http_scrapes_total{code=\"200\"}")) < 1)
        usleep(250000);
    assert_true(served >= 1);
    assert_true(query_num("sum(lumen_http_scrape_errors_total{job=\"lumen\"})") == 0);
    assert_true(query_num("scrape_samples_scraped{job=\"lumen\"}") > 20);
}

static void test_http_prometheus__tls_and_basic_auth(void **state)
{
    (void)state;
    if (g_pid <= 0 || g_tls == NULL)
        skip();
    char v[64] = "", bad[64] = "";
    int64_t deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline) {
        if (query("up{job=\"lumen_tls\"}", v, sizeof v) &&
            query("up{job=\"lumen_badauth\"}", bad, sizeof bad) && strcmp(v, "1") == 0)
            break;
        usleep(250000);
    }
    assert_string_equal(v, "1");
    assert_string_equal(bad, "0"); /* the wrong password is refused */
    assert_true(query("prom_tls_secret_total{job=\"lumen_tls\"}", v, sizeof v));
    assert_string_equal(v, "7");
    /* The refusals were counted, and seen by the scrapes that got in. */
    deadline = th_now_ms() + 10000;
    double refused = 0;
    while (th_now_ms() < deadline &&
           (refused = query_num("lumen_http_scrapes_total{job=\"lumen_tls\",code=\"401\"}")) < 1)
        usleep(250000);
    assert_true(refused >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_prometheus__scrapes_the_endpoint),
        cmocka_unit_test(test_http_prometheus__tls_and_basic_auth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
