/* tests/instrument/test_instrument_mhd.c: the libmicrohttpd adapter
 * (lumen/http_mhd.h) with real peers. A real MHD daemon, instrumented
 * with the adapter's four callbacks, is driven by libcurl:
 * - the SERVER span of each request, encoded as OTLP protobuf, is decoded
 *   by the OpenTelemetry JS protobuf definitions (node), with the
 *   conventions' attribute names and the parent taken from the incoming
 *   traceparent; the lines the handler logs carry the request's ids;
 * - the real Prometheus scrapes http_server_request_duration_seconds from
 *   liblumen-http's /metrics endpoint while clients on several threads
 *   drive the service (MHD's thread-per-connection mode), and PromQL
 *   answers the count exactly and a p99 within the buckets of the
 *   durations the access lines report. */
#include "http/http_test.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instrument/ti_helpers.h"
#include "lumen/http.h"
#include "lumen/http_mhd.h"

static ti_env g_env;
static lumen_mhd *g_mhd;
static struct MHD_Daemon *g_daemon;
static uint16_t g_port;
static _Atomic int g_completed_user; /* the program's completed callback ran */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The program's own handler: routes /items/<id>, /fail and /work (20 ms
 * of work), and logs inside the request. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)upload;
    if (*req_cls == NULL) { /* the first call of each request: the program's own state */
        *req_cls = (void *)"state";
        return MHD_YES;
    }
    if (*upload_size != 0) { /* a body: taken, then answered on the next call */
        *upload_size = 0;
        return MHD_YES;
    }
    lumen_server_request *rq = lumen_mhd_request(c);
    if (strncmp(url, "/items/", 7) == 0) {
        lumen_server_request_set_route(rq, "/items/{id}");
        LUMEN_LOG_INFO(lumen_logger_get("ti.app"), "serving item", LUMEN_STR("url", url));
        return reply(c, 200, "item");
    }
    if (strcmp(url, "/fail") == 0) {
        lumen_server_request_set_route(rq, "/fail");
        return reply(c, 500, "failed");
    }
    if (strcmp(url, "/work") == 0) {
        lumen_server_request_set_route(rq, "/work");
        usleep(20000);
        return reply(c, 200, "worked");
    }
    return reply(c, 404, "none");
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    if (*req_cls != NULL && strcmp(*req_cls, "state") == 0)
        g_completed_user++;
    *req_cls = NULL;
}

static int setup(void **state)
{
    (void)state;
    ti_setup(&g_env, 0, 0);
    lumen_mhd_options mo = LUMEN_MHD_OPTIONS_INIT;
    mo.instrument = g_env.ins;
    mo.handler = handler;
    mo.completed = completed;
    if (lumen_mhd_new(&g_mhd, &mo) != LUMEN_OK)
        return -1;
    g_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
        lumen_mhd_access_handler, g_mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, g_mhd,
        MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, g_mhd, MHD_OPTION_NOTIFY_COMPLETED,
        lumen_mhd_completed, g_mhd, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    if (g_daemon == NULL)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g_daemon, MHD_DAEMON_INFO_BIND_PORT);
    g_port = di != NULL ? di->port : 0;
    return g_port != 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(g_daemon);
    lumen_mhd_free(g_mhd);
    ti_teardown(&g_env);
    return 0;
}

/* Wait until `n` spans were exported (a request ends after its response
 * is sent, so the client can be faster than the end). */
static void wait_spans(size_t n)
{
    int64_t deadline = th_now_ms() + 20000;
    while (lumen_memory_exporter_count(g_env.t.mem) < n && th_now_ms() < deadline)
        usleep(2000);
    assert_int_equal(lumen_memory_exporter_count(g_env.t.mem), n);
}

static char *node_decode(const lumen_span *s)
{
    char dir[512], cmd[2048];
    snprintf(dir, sizeof dir, "%s/tests/trace/js", lt_source_dir());
    char *body;
    size_t len;
    assert_int_equal(lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_PROTOBUF, &s, 1), LUMEN_OK);
    snprintf(cmd, sizeof cmd, "node '%s/decode.js'", dir);
    char *out = NULL;
    int rc = lt_run(cmd, body, len, &out);
    lumen_free(body);
    if (rc != 0)
        fail_msg("node rc %d:\n%s", rc, out);
    return out;
}

static void expect(const char *json, const char *part)
{
    if (strstr(json, part) == NULL)
        fail_msg("missing %s in\n%s", part, json);
}

static void test_instrument_mhd__spans_decoded_by_opentelemetry_js(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "test -d '%s/tests/trace/js/node_modules/@opentelemetry/otlp-transformer'",
             lt_source_dir());
    if (!lt_have("node") || lt_run(cmd, "", 0, NULL) != 0) {
        print_message("node or tests/trace/js/node_modules missing (scripts/deps.sh test installs "
                      "them); skipped\n");
        skip();
    }
    lumen_memory_exporter_reset(g_env.t.mem);
    ti_log_reset();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/items/42", (unsigned)g_port);
    const char *hdrs[] = {"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "X-Request-Id: mhd-req-7", "User-Agent: lumen-test/1", NULL};
    th_resp r;
    assert_int_equal(th_http("GET", url, hdrs, NULL, NULL, 10000, &r), 200);
    th_resp_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/fail", (unsigned)g_port);
    assert_int_equal(th_http("POST", url, NULL, NULL, "x", 10000, &r), 500);
    th_resp_free(&r);
    wait_spans(2);
    /* The program's completed callback runs after the adapter's end. */
    int64_t deadline = th_now_ms() + 10000;
    while (g_completed_user < 2 && th_now_ms() < deadline)
        usleep(2000);
    assert_int_equal(g_completed_user, 2);

    /* A request ends after its response went out, on MHD's thread: the
     * second can end first. Find each by its name. */
    const lumen_span *sa = NULL, *sb = NULL;
    for (size_t i = 0; i < 2; i++) {
        const lumen_span *s = lumen_memory_exporter_get(g_env.t.mem, i);
        if (strcmp(lumen_span_get_name(s), "GET /items/{id}") == 0)
            sa = s;
        else
            sb = s;
    }
    assert_non_null(sa);
    assert_non_null(sb);
    char *a = node_decode(sa);
    expect(a, "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"");
    expect(a, "\"parentSpanId\":\"00f067aa0ba902b7\"");
    expect(a, "\"name\":\"GET /items/{id}\",\"kind\":2");
    expect(a, "\"http.request.method\":\"GET\"");
    expect(a, "\"url.path\":\"/items/42\"");
    expect(a, "\"url.scheme\":\"http\"");
    expect(a, "\"http.route\":\"/items/{id}\"");
    expect(a, "\"http.response.status_code\":200");
    expect(a, "\"server.address\":\"127.0.0.1\"");
    char port[64];
    snprintf(port, sizeof port, "\"server.port\":%u", (unsigned)g_port); /* from Host */
    expect(a, port);
    expect(a, "\"network.protocol.version\":\"1.1\"");
    expect(a, "\"user_agent.original\":\"lumen-test/1\"");
    expect(a, "\"client.address\":\"127.0.0.1\"");
    expect(a, "\"status\":{}");
    assert_null(strstr(a, "error.type"));
    free(a);
    char *b = node_decode(sb);
    expect(b, "\"name\":\"POST /fail\",\"kind\":2");
    expect(b, "\"parentSpanId\":\"\"");
    expect(b, "\"http.response.status_code\":500");
    expect(b, "\"error.type\":\"500\"");
    expect(b, "\"code\":2");
    free(b);

    /* The handler's line and the access line carry the request's ids. */
    wait_spans(2);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json\n"
             "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
             "app=[l for l in L if l[\"msg\"]==\"serving item\"]\n"
             "acc=[l for l in L if l[\"msg\"]==\"request\" and l[\"path\"]==\"/items/42\"]\n"
             "assert len(app)==1 and len(acc)==1, L\n"
             "for l in app+acc:\n"
             "  assert l[\"request_id\"]==\"mhd-req-7\", l\n"
             "  assert l[\"trace_id\"]==\"4bf92f3577b34da6a3ce929d0e0e4736\", l\n"
             "assert app[0][\"span_id\"]==acc[0][\"span_id\"]!=\"00f067aa0ba902b7\"\n"
             "assert acc[0][\"status\"]==200 and acc[0][\"route\"]==\"/items/{id}\", acc\n'",
             lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s\n%s", rc, out, ti_log.text);
    free(out);
}

/* ---- Prometheus ----------------------------------------------------------- */

static char g_prom[64];

static int prom_query(const char *promql, char *value, size_t cap)
{
    char *esc = curl_easy_escape(NULL, promql, 0);
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/query?query=%s", g_prom, esc);
    curl_free(esc);
    th_resp r;
    long s = th_http("GET", url, NULL, NULL, NULL, 5000, &r);
    int found = 0;
    const char *v = s == 200 ? strstr(r.body, "\"value\":[") : NULL;
    if (v != NULL && (v = strchr(v, ',')) != NULL && v[1] == '"') {
        const char *end = strchr(v + 2, '"');
        size_t n = end ? (size_t)(end - v - 2) : 0;
        if (end && n < cap) {
            memcpy(value, v + 2, n);
            value[n] = '\0';
            found = 1;
        }
    }
    th_resp_free(&r);
    return found;
}

#define CLIENTS 4
#define PER_CLIENT 40

static void *client(void *arg)
{
    (void)arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/work", (unsigned)g_port);
    for (int i = 0; i < PER_CLIENT; i++) {
        th_resp r;
        if (th_http("GET", url, NULL, NULL, NULL, 10000, &r) != 200)
            abort();
        th_resp_free(&r);
    }
    return NULL;
}

static void test_instrument_mhd__prometheus_p99(void **state)
{
    (void)state;
    if (!lt_have("prometheus")) {
        print_message("prometheus missing; skipped\n");
        skip();
    }
    lumen_http_server *srv;
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.registries = &g_env.reg;
    so.registry_count = 1;
    assert_int_equal(lumen_http_server_start(&srv, &so), LUMEN_OK);
    ti_log_reset();
    char *dir = lt_tempdir();
    char cfg[512], log[512], listen[64], cfgarg[600], dataarg[600];
    snprintf(cfg, sizeof cfg, "%s/prom.yml", dir);
    snprintf(log, sizeof log, "%s/prometheus.log", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: svc\n"
            "    static_configs: [{targets: ['127.0.0.1:%u']}]\n",
            (unsigned)lumen_http_server_port(srv));
    fclose(f);
    uint16_t port = th_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)port);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s/data", dir);
    char *argv[] = {"prometheus", cfgarg, dataarg, listen, NULL};
    pid_t pid = th_spawn(argv, log);
    snprintf(g_prom, sizeof g_prom, "http://127.0.0.1:%u", (unsigned)port);
    char ready[128], v[64] = "";
    snprintf(ready, sizeof ready, "%s/-/ready", g_prom);
    if (!th_wait_ready(ready, 30000))
        fail_msg("prometheus did not start: %s", lt_read_file(log, NULL));
    int64_t deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline &&
           !(prom_query("up{job=\"svc\"}", v, sizeof v) && strcmp(v, "1") == 0))
        usleep(250000);
    assert_string_equal(v, "1");

    /* One request first, scraped, so that rate() sees the series grow from
     * a sample it already has. */
    const char *count_q = "sum(http_server_request_duration_seconds_count{http_route=\"/work\","
                          "http_request_method=\"GET\",http_response_status_code=\"200\"})";
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/work", (unsigned)g_port);
    th_resp r;
    assert_int_equal(th_http("GET", url, NULL, NULL, NULL, 10000, &r), 200);
    th_resp_free(&r);
    deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline && !(prom_query(count_q, v, sizeof v) && atof(v) == 1))
        usleep(250000);
    assert_true(atof(v) == 1);

    /* Clients on several threads, MHD a thread per connection. */
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, client, NULL), 0);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);

    /* Every request counted, once scraped after the last one ended. */
    deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline &&
           !(prom_query(count_q, v, sizeof v) && atof(v) == CLIENTS * PER_CLIENT + 1))
        usleep(250000);
    assert_true(atof(v) == CLIENTS * PER_CLIENT + 1);

    /* The p99 agrees with the durations observed: the access lines give
     * each /work request's, to the microsecond, as the histogram got it
     * (at least 20 ms each). histogram_quantile answers within the
     * buckets that hold observations: above the lower bound of the
     * shortest's bucket, at most the upper bound of the longest's. */
    const char *p99_q = "histogram_quantile(0.99, sum by (le) "
                        "(rate(http_server_request_duration_seconds_bucket[1m])))";
    double p99 = NAN;
    deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline) {
        if (prom_query(p99_q, v, sizeof v) && (p99 = strtod(v, NULL)) > 0)
            break;
        usleep(250000);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json\n"
             "B=[0,0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10,float(\"inf\")]\n"
             "D=[l[\"duration_us\"]/1e6 for l in map(json.loads,sys.stdin.read().splitlines())\n"
             "   if l[\"msg\"]==\"request\" and l[\"path\"]==\"/work\"]\n"
             "assert len(D)==%d, len(D)\n"
             "lo=max(b for b in B if b<min(D)); hi=min(b for b in B if b>=max(D)+1e-6)\n"
             "print(lo, hi, min(D), max(D))\n'",
             lt_python(), CLIENTS * PER_CLIENT + 1);
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s", rc, out);
    double lo, hi, dmin, dmax;
    assert_int_equal(sscanf(out, "%lf %lf %lf %lf", &lo, &hi, &dmin, &dmax), 4);
    free(out);
    print_message("p99 from Prometheus: %s s; observed %.6f..%.6f s, so p99 in [%g, %g]\n", v, dmin,
                  dmax, lo, hi);
    assert_true(dmin >= 0.02 && lo >= 0.01);
    assert_true(p99 >= lo && p99 <= hi);
    /* The last request's end records its duration before it lowers the
     * gauge: a scrape between the two sees 1. Poll for the 0. */
    deadline = th_now_ms() + 30000;
    bool idle = false;
    while (!idle && th_now_ms() < deadline) {
        idle =
            prom_query("http_server_active_requests{http_request_method=\"GET\"}", v, sizeof v) &&
            strcmp(v, "0") == 0;
        if (!idle)
            usleep(250000);
    }
    if (!idle)
        fail_msg("http_server_active_requests stayed at %s", v);

    th_stop(pid);
    lumen_http_server_stop(srv);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    lt_run(rm, NULL, 0, NULL);
    free(dir);
}

/* MHD's single polling thread serves many connections' requests
 * interleaved: the adapter makes each request current only while the
 * handler runs, so every line carries its own request's id. */
#define POLL_CLIENTS 4
#define POLL_PER_CLIENT 15
static uint16_t g_poll_port;

static void *poll_client(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < POLL_PER_CLIENT; i++) {
        char url[128], hdr[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/items/c%d-%d", (unsigned)g_poll_port, t, i);
        snprintf(hdr, sizeof hdr, "X-Request-Id: c%d-%d", t, i);
        const char *hdrs[] = {hdr, NULL};
        th_resp r;
        if (th_http("GET", url, hdrs, NULL, NULL, 10000, &r) != 200)
            abort();
        th_resp_free(&r);
    }
    return NULL;
}

static void test_instrument_mhd__polling_thread_interleaved(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    ti_log_reset();
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, lumen_mhd_access_handler,
                         g_mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, g_mhd,
                         MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, g_mhd,
                         MHD_OPTION_NOTIFY_COMPLETED, lumen_mhd_completed, g_mhd, MHD_OPTION_END);
    assert_non_null(d);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    g_poll_port = di->port;
    pthread_t th[POLL_CLIENTS];
    for (int t = 0; t < POLL_CLIENTS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, poll_client, (void *)(intptr_t)t), 0);
    for (int t = 0; t < POLL_CLIENTS; t++)
        pthread_join(th[t], NULL);
    wait_spans(POLL_CLIENTS * POLL_PER_CLIENT);
    MHD_stop_daemon(d);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json\n"
             "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
             "app=[l for l in L if l[\"msg\"]==\"serving item\"]\n"
             "acc=[l for l in L if l[\"msg\"]==\"request\"]\n"
             "assert len(app)==%d and len(acc)==%d, (len(app), len(acc))\n"
             "for l in app: assert l[\"request_id\"]==l[\"url\"][7:], l\n"
             "for l in acc: assert l[\"request_id\"]==l[\"path\"][7:], l\n"
             "assert len(set(l[\"span_id\"] for l in app))==len(app)\n'",
             lt_python(), POLL_CLIENTS * POLL_PER_CLIENT, POLL_CLIENTS * POLL_PER_CLIENT);
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s", rc, out);
    free(out);
}

/* Several requests on one kept-alive connection (sent in one write, so
 * MHD reads them back to back): the connection's one slot serves each in
 * turn, and each is its own span with its own id. */
static void test_instrument_mhd__keep_alive_reuses_the_slot(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    const char *reqs = "GET /items/k1 HTTP/1.1\r\nHost: h\r\nX-Request-Id: k1\r\n\r\n"
                       "GET /nowhere HTTP/1.1\r\nHost: h\r\nX-Request-Id: k2\r\n\r\n"
                       "GET /items/k3 HTTP/1.1\r\nHost: h\r\nX-Request-Id: k3\r\n"
                       "Connection: close\r\n\r\n";
    char *answer = NULL;
    int st = th_raw(g_port, NULL, reqs, strlen(reqs), 10000, &answer);
    assert_int_equal(st, 200);
    assert_non_null(strstr(answer, "404"));
    free(answer);
    wait_spans(3);
    static const char *const name[] = {"GET /items/{id}", "GET", "GET /items/{id}"};
    static const char *const path[] = {"/items/k1", "/nowhere", "/items/k3"};
    static const int64_t code[] = {200, 404, 200};
    uint8_t tid[3][16];
    for (size_t i = 0; i < 3; i++) {
        const lumen_span *s = lumen_memory_exporter_get(g_env.t.mem, i);
        assert_string_equal(lumen_span_get_name(s), name[i]);
        assert_string_equal(ti_attr_str(s, "url.path"), path[i]);
        assert_int_equal(ti_attr_int(s, "http.response.status_code"), code[i]);
        lumen_span_context *sc;
        assert_int_equal(lumen_span_context_new(&sc), LUMEN_OK);
        lumen_span_get_context(sc, s);
        lumen_span_context_ids(tid[i], NULL, sc);
        lumen_span_context_free(sc);
    }
    /* Three requests, three traces. */
    assert_memory_not_equal(tid[0], tid[1], 16);
    assert_memory_not_equal(tid[1], tid[2], 16);
}

/* What the adapter cannot record is counted: a request MHD answers by
 * itself (headers past its memory limit) before the handler runs, and the
 * requests of a daemon given no connection callback (no slot), which still
 * reach the handler. */
static void test_instrument_mhd__unrecorded_counted(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    uint64_t before = lumen_mhd_unrecorded(g_mhd);
    static char big[70000];
    int n = snprintf(big, sizeof big, "GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', sizeof big - (size_t)n - 8);
    memcpy(big + sizeof big - 8, "\r\n\r\n", 5);
    char *answer = NULL;
    int st = th_raw(g_port, NULL, big, strlen(big), 10000, &answer);
    free(answer);
    assert_true(st != 200);
    int64_t deadline = th_now_ms() + 10000;
    while (lumen_mhd_unrecorded(g_mhd) < before + 1 && th_now_ms() < deadline)
        usleep(2000);
    assert_int_equal(lumen_mhd_unrecorded(g_mhd), before + 1);

    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, lumen_mhd_access_handler,
                         g_mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, g_mhd,
                         MHD_OPTION_NOTIFY_COMPLETED, lumen_mhd_completed, g_mhd, MHD_OPTION_END);
    assert_non_null(d);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/items/9",
             (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    for (int i = 0; i < 2; i++) {
        th_resp r;
        assert_int_equal(th_http("GET", url, NULL, NULL, NULL, 10000, &r), 200);
        th_resp_free(&r);
    }
    MHD_stop_daemon(d);
    assert_int_equal(lumen_mhd_unrecorded(g_mhd), before + 3);
    assert_int_equal(lumen_memory_exporter_count(g_env.t.mem), 0);
    assert_int_equal(lumen_mhd_unrecorded(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instrument_mhd__spans_decoded_by_opentelemetry_js),
        cmocka_unit_test(test_instrument_mhd__polling_thread_interleaved),
        cmocka_unit_test(test_instrument_mhd__keep_alive_reuses_the_slot),
        cmocka_unit_test(test_instrument_mhd__unrecorded_counted),
        cmocka_unit_test(test_instrument_mhd__prometheus_p99),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
