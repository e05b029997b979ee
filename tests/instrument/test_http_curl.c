/* tests/instrument/test_http_curl.c: the libcurl adapter
 * (lumen/http_curl.h) against a real libmicrohttpd service instrumented
 * with main's MHD adapter, in one process with one in-memory exporter:
 * - easy interface: the CLIENT span and the service's SERVER span share a
 *   trace and the server's parent is the client span (the traceparent the
 *   adapter injected); baggage goes out; the program's own headers go out
 *   and its list is left as it was; url.full has no user name or password;
 * - multi interface: a 404 and a 500 in flight together, each ended on
 *   CURLMSG_DONE, have error.type = the status code;
 * - a refused connection records error.type CURLE_COULDNT_CONNECT and no
 *   status;
 * - the histogram's series, parsed by Python's prometheus_client, have the
 *   conventions' labels. */
#include "http/http_test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/rcu.h"
#include "instrument/ti_helpers.h"
#include "lumen/http_curl.h"
#include "lumen/http_mhd.h"

static ti_env g_env;
static lumen_mhd *g_mhd;
static struct MHD_Daemon *g_daemon;
static uint16_t g_port;
static lumen_curl_instrument *g_ci;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* /ok answers 200 with the headers it got; /missing 404; /fail 500. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)req_cls;
    if (strcmp(url, "/ok") == 0) {
        const char *mine = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Mine");
        const char *tp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
        const char *bag = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "baggage");
        char body[512];
        snprintf(body, sizeof body, "mine=%s\nbaggage=%s\ntraceparent=%s\n", mine ? mine : "-",
                 bag ? bag : "-", tp ? tp : "-");
        return reply(c, 200, body);
    }
    if (strcmp(url, "/baglen") == 0) {
        const char *bag = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "baggage");
        char body[64];
        snprintf(body, sizeof body, "baglen=%zu\n", bag ? strlen(bag) : 0);
        return reply(c, 200, body);
    }
    if (strcmp(url, "/fail") == 0)
        return reply(c, 500, "failed");
    return reply(c, 404, "none");
}

static int setup(void **state)
{
    (void)state;
    ti_setup(&g_env, 0, 0);
    lumen_mhd_options mo = LUMEN_MHD_OPTIONS_INIT;
    mo.instrument = g_env.ins;
    mo.handler = handler;
    if (lumen_mhd_new(&g_mhd, &mo) != LUMEN_OK)
        return -1;
    g_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
        lumen_mhd_access_handler, g_mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, g_mhd,
        MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, g_mhd, MHD_OPTION_NOTIFY_COMPLETED,
        lumen_mhd_completed, g_mhd, MHD_OPTION_END);
    if (g_daemon == NULL)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g_daemon, MHD_DAEMON_INFO_BIND_PORT);
    g_port = di != NULL ? di->port : 0;
    lumen_curl_instrument_options co = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
    co.registry = g_env.reg;
    co.tracer = g_env.t.tracer;
    co.propagators = LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE;
    if (lumen_curl_instrument_new(&g_ci, &co) != LUMEN_OK)
        return -1;
    return g_port != 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(g_daemon);
    lumen_mhd_free(g_mhd);
    lumen_curl_instrument_free(g_ci);
    ti_teardown(&g_env);
    return 0;
}

static void wait_spans(size_t n)
{
    int64_t deadline = th_now_ms() + 20000;
    while (lumen_memory_exporter_count(g_env.t.mem) < n && th_now_ms() < deadline)
        usleep(2000);
    assert_int_equal(lumen_memory_exporter_count(g_env.t.mem), n);
}

static const lumen_span *find_span(lumen_span_kind kind, const char *attr, const char *value)
{
    for (size_t i = 0; i < lumen_memory_exporter_count(g_env.t.mem); i++) {
        const lumen_span *s = lumen_memory_exporter_get(g_env.t.mem, i);
        const char *v = attr != NULL ? ti_attr_str(s, attr) : NULL;
        if (lumen_span_get_kind(s) == kind && (attr == NULL || (v && strcmp(v, value) == 0)))
            return s;
    }
    fail_msg("no span of kind %d with %s=%s", (int)kind, attr ? attr : "-", value ? value : "-");
    return NULL;
}

static void ids(const lumen_span *s, uint8_t trace[16], uint8_t span[8])
{
    lumen_span_context *sc;
    assert_int_equal(lumen_span_context_new(&sc), LUMEN_OK);
    lumen_span_get_context(sc, s);
    lumen_span_context_ids(trace, span, sc);
    lumen_span_context_free(sc);
}

typedef struct body {
    char b[2048];
    size_t n;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t len = size * n;
    if (b->n + len < sizeof b->b) {
        memcpy(b->b + b->n, p, len);
        b->n += len;
        b->b[b->n] = '\0';
    }
    return len;
}

static void test_http_curl__easy_trace_headers_and_url(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    char url[256];
    snprintf(url, sizeof url, "http://user:secret@127.0.0.1:%u/ok?q=1", (unsigned)g_port);
    body b = {{0}, 0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    struct curl_slist *mine = curl_slist_append(NULL, "X-Mine: kept");
    assert_non_null(mine);
    lumen_baggage *bag;
    assert_int_equal(lumen_baggage_new(&bag), LUMEN_OK);
    assert_int_equal(lumen_baggage_set(bag, "tenant", "t7", NULL), LUMEN_OK);
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.headers = mine;
    ro.baggage = bag;
    lumen_curl_request *rq;
    assert_int_equal(lumen_curl_begin(&rq, g_ci, e, "GET", &ro), LUMEN_OK);
    assert_non_null(lumen_curl_request_span(rq));
    CURLcode rc = curl_easy_perform(e);
    lumen_curl_end(rq, rc);
    assert_int_equal(rc, CURLE_OK);
    lumen_baggage_free(bag);

    /* What the service got: the program's header, the baggage, a traceparent. */
    assert_non_null(strstr(b.b, "mine=kept\n"));
    assert_non_null(strstr(b.b, "baggage=tenant=t7\n"));
    assert_null(strstr(b.b, "traceparent=-"));
    /* The program's list is as it was: one node, its own string. */
    assert_string_equal(mine->data, "X-Mine: kept");
    assert_null(mine->next);

    wait_spans(2);
    const lumen_span *client = find_span(LUMEN_SPAN_CLIENT, NULL, NULL);
    const lumen_span *server = find_span(LUMEN_SPAN_SERVER, NULL, NULL);
    uint8_t ct[16], cs[8], st[16], ss[8], parent[8];
    ids(client, ct, cs);
    ids(server, st, ss);
    assert_memory_equal(ct, st, 16);
    assert_true(lumen_span_get_parent_id(parent, server));
    assert_memory_equal(parent, cs, 8);
    char tp[128], hex[33];
    th_hex(hex, ct, 16);
    snprintf(tp, sizeof tp, "traceparent=00-%s-", hex);
    assert_non_null(strstr(b.b, tp));

    assert_string_equal(lumen_span_get_name(client), "GET");
    assert_string_equal(ti_attr_str(client, "http.request.method"), "GET");
    char full[256];
    snprintf(full, sizeof full, "http://127.0.0.1:%u/ok?q=1", (unsigned)g_port);
    assert_string_equal(ti_attr_str(client, "url.full"), full);
    assert_string_equal(ti_attr_str(client, "server.address"), "127.0.0.1");
    assert_int_equal(ti_attr_int(client, "server.port"), g_port);
    assert_int_equal(ti_attr_int(client, "http.response.status_code"), 200);
    assert_null(ti_attr_str(client, "error.type"));
    assert_int_equal(lumen_span_get_status(NULL, client), LUMEN_SPAN_STATUS_UNSET);

    /* The handle is reusable and sends only the program's list again. */
    b.n = 0;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, mine); /* what end restored */
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    assert_non_null(strstr(b.b, "mine=kept\n"));
    assert_non_null(strstr(b.b, "traceparent=-\n"));
    wait_spans(3); /* its server span, so that the next test starts clean */
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
}

/* A header the program sets itself is not injected a second time. */
static void test_http_curl__program_traceparent_wins(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    CURL *e = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/ok", (unsigned)g_port);
    body b = {{0}, 0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    const char *own = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    struct curl_slist *mine = curl_slist_append(NULL, own);
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.headers = mine;
    lumen_curl_request *rq;
    assert_int_equal(lumen_curl_begin(&rq, g_ci, e, "GET", &ro), LUMEN_OK);
    lumen_curl_end(rq, curl_easy_perform(e));
    assert_non_null(
        strstr(b.b, "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"));
    wait_spans(2);
    const lumen_span *srv = find_span(LUMEN_SPAN_SERVER, NULL, NULL);
    uint8_t parent[8], want[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    assert_true(lumen_span_get_parent_id(parent, srv));
    assert_memory_equal(parent, want, 8);
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
}

/* A baggage header longer than the adapter's stack buffer goes out whole. */
static void test_http_curl__long_baggage(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    CURL *e = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/baglen", (unsigned)g_port);
    body b = {{0}, 0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    char big[3001];
    memset(big, 'v', 3000);
    big[3000] = '\0';
    lumen_baggage *bag;
    assert_int_equal(lumen_baggage_new(&bag), LUMEN_OK);
    assert_int_equal(lumen_baggage_set(bag, "k", big, NULL), LUMEN_OK);
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.baggage = bag;
    lumen_curl_request *rq;
    assert_int_equal(lumen_curl_begin(&rq, g_ci, e, "GET", &ro), LUMEN_OK);
    lumen_curl_end(rq, curl_easy_perform(e));
    lumen_baggage_free(bag);
    curl_easy_cleanup(e);
    assert_string_equal(b.b, "baglen=3002\n"); /* "k=" and the value */
    wait_spans(2);
}

static void test_http_curl__multi_error_status(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    CURLM *m = curl_multi_init();
    const char *paths[2] = {"/missing", "/fail"};
    CURL *e[2];
    lumen_curl_request *rq[2];
    body b[2];
    for (int i = 0; i < 2; i++) {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)g_port, paths[i]);
        e[i] = curl_easy_init();
        b[i].n = 0;
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &b[i]);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 10000L);
        assert_int_equal(lumen_curl_begin(&rq[i], g_ci, e[i], i == 0 ? "GET" : "DELETE", NULL),
                         LUMEN_OK);
        if (i == 1)
            curl_easy_setopt(e[i], CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(e[i], CURLOPT_PRIVATE, rq[i]);
        curl_multi_add_handle(m, e[i]);
    }
    int running = 1, done = 0;
    int64_t deadline = th_now_ms() + 20000;
    while (done < 2 && th_now_ms() < deadline) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            lumen_curl_request *r = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            lumen_curl_end(r, msg->data.result);
            done++;
        }
        if (done < 2)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    assert_int_equal(done, 2);
    for (int i = 0; i < 2; i++) {
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);

    wait_spans(4);
    const lumen_span *c404 = find_span(LUMEN_SPAN_CLIENT, "error.type", "404");
    const lumen_span *c500 = find_span(LUMEN_SPAN_CLIENT, "error.type", "500");
    assert_string_equal(lumen_span_get_name(c404), "GET");
    assert_string_equal(lumen_span_get_name(c500), "DELETE");
    assert_int_equal(ti_attr_int(c404, "http.response.status_code"), 404);
    assert_int_equal(ti_attr_int(c500, "http.response.status_code"), 500);
    /* A client's 4xx is an error too (the conventions). */
    assert_int_equal(lumen_span_get_status(NULL, c404), LUMEN_SPAN_STATUS_ERROR);
    assert_int_equal(lumen_span_get_status(NULL, c500), LUMEN_SPAN_STATUS_ERROR);
    /* Each server span is the child of its client span. */
    for (int i = 0; i < 2; i++) {
        const lumen_span *c = i == 0 ? c404 : c500;
        uint8_t ct[16], cs[8], st[16], ss[8], parent[8];
        ids(c, ct, cs);
        const lumen_span *srv = NULL;
        for (size_t k = 0; k < lumen_memory_exporter_count(g_env.t.mem); k++) {
            const lumen_span *s = lumen_memory_exporter_get(g_env.t.mem, k);
            if (lumen_span_get_kind(s) == LUMEN_SPAN_SERVER &&
                ti_attr_int(s, "http.response.status_code") == (i == 0 ? 404 : 500))
                srv = s;
        }
        assert_non_null(srv);
        ids(srv, st, ss);
        assert_memory_equal(ct, st, 16);
        assert_true(lumen_span_get_parent_id(parent, srv));
        assert_memory_equal(parent, cs, 8);
    }
}

/* A port nothing listens on: bound, then closed. */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static uint16_t g_dead;

static void test_http_curl__refused_connection(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    g_dead = dead_port();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/ok", (unsigned)g_dead);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    lumen_curl_request *rq;
    assert_int_equal(lumen_curl_begin(&rq, g_ci, e, "POST", NULL), LUMEN_OK);
    CURLcode rc = curl_easy_perform(e);
    lumen_curl_end(rq, rc);
    curl_easy_cleanup(e);
    assert_int_equal(rc, CURLE_COULDNT_CONNECT);
    wait_spans(1);
    const lumen_span *c = lumen_memory_exporter_get(g_env.t.mem, 0);
    assert_string_equal(lumen_span_get_name(c), "POST");
    assert_string_equal(ti_attr_str(c, "error.type"), "CURLE_COULDNT_CONNECT");
    assert_int_equal(ti_attr_int(c, "http.response.status_code"), -1); /* absent */
    assert_int_equal(ti_attr_int(c, "server.port"), g_dead);
    assert_int_equal(lumen_span_get_status(NULL, c), LUMEN_SPAN_STATUS_ERROR);
}

/* Any number of threads may begin and end requests of one instrument
 * (the header's promise; TSan checks it through the threads label): each
 * thread's requests get their own span, parented by their own server
 * span, and the count is exact. */
#define THREADS 4
#define PER_THREAD 25

static void *client_thread(void *arg)
{
    (void)arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/missing", (unsigned)g_port);
    CURL *e = curl_easy_init();
    body b;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    intptr_t ok = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        b.n = 0;
        lumen_curl_request *rq;
        if (lumen_curl_begin(&rq, g_ci, e, "PUT", NULL) != LUMEN_OK)
            continue;
        CURLcode rc = curl_easy_perform(e);
        lumen_curl_end(rq, rc);
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        ok += rc == CURLE_OK && code == 404;
    }
    curl_easy_cleanup(e);
    return (void *)ok;
}

static void test_http_curl__threads(void **state)
{
    (void)state;
    lumen_memory_exporter_reset(g_env.t.mem);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, client_thread, NULL), 0);
    intptr_t ok = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += (intptr_t)r;
    }
    assert_int_equal(ok, THREADS * PER_THREAD);
    wait_spans(2 * THREADS * PER_THREAD);
    size_t clients = 0, parented = 0;
    for (size_t i = 0; i < lumen_memory_exporter_count(g_env.t.mem); i++) {
        const lumen_span *c = lumen_memory_exporter_get(g_env.t.mem, i);
        if (lumen_span_get_kind(c) != LUMEN_SPAN_CLIENT)
            continue;
        clients++;
        uint8_t ct[16], cs[8];
        ids(c, ct, cs);
        for (size_t k = 0; k < lumen_memory_exporter_count(g_env.t.mem); k++) {
            const lumen_span *s = lumen_memory_exporter_get(g_env.t.mem, k);
            uint8_t st[16], ss[8], parent[8];
            if (lumen_span_get_kind(s) != LUMEN_SPAN_SERVER || !lumen_span_get_parent_id(parent, s))
                continue;
            ids(s, st, ss);
            if (memcmp(parent, cs, 8) == 0 && memcmp(st, ct, 16) == 0)
                parented++;
        }
    }
    assert_int_equal(clients, THREADS * PER_THREAD);
    assert_int_equal(parented, THREADS * PER_THREAD);
}

/* The histogram's series, read by prometheus_client's parser. Runs last:
 * it counts the requests of the tests before it. */
static void test_http_curl__histogram_parsed_by_prometheus_client(void **state)
{
    (void)state;
    char *text = ti_render(&g_env);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys\n"
             "from prometheus_client.parser import text_string_to_metric_families\n"
             "for f in text_string_to_metric_families(sys.stdin.read()):\n"
             "  for s in f.samples:\n"
             "    if s.name==\"http_client_request_duration_seconds_count\":\n"
             "      l=s.labels\n"
             "      print(\"%%s|%%s|%%s|%%s|%%s=%%d\" %% (l[\"http_request_method\"],"
             "l[\"server_address\"],l[\"server_port\"],l[\"http_response_status_code\"],"
             "l[\"error_type\"],s.value))\n'",
             lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, text, strlen(text), &out);
    if (rc != 0)
        fail_msg("python rc %d: %s\n%s", rc, out, text);
    char want[6][128];
    /* the easy test's request, the program's traceparent and the long
     * baggage; the reuse (uninstrumented) is not counted: 3 */
    snprintf(want[0], sizeof want[0], "GET|127.0.0.1|%u|200|=3\n", (unsigned)g_port);
    snprintf(want[1], sizeof want[1], "GET|127.0.0.1|%u|404|404=1\n", (unsigned)g_port);
    snprintf(want[2], sizeof want[2], "DELETE|127.0.0.1|%u|500|500=1\n", (unsigned)g_port);
    snprintf(want[3], sizeof want[3], "POST|127.0.0.1|%u||CURLE_COULDNT_CONNECT=1\n",
             (unsigned)g_dead);
    snprintf(want[4], sizeof want[4], "PUT|127.0.0.1|%u|404|404=%d\n", (unsigned)g_port,
             THREADS * PER_THREAD);
    for (int i = 0; i < 5; i++)
        if (strstr(out, want[i]) == NULL)
            fail_msg("missing %s in\n%s", want[i], out);
    /* Exactly those five series. */
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 5);
    free(out);
    lumen_free(text);
}

static void test_http_curl__arguments(void **state)
{
    (void)state;
    lumen_curl_request *rq = (void *)1;
    CURL *e = curl_easy_init();
    assert_int_equal(lumen_curl_begin(&rq, NULL, e, "GET", NULL), LUMEN_EINVAL);
    assert_null(rq);
    assert_int_equal(lumen_curl_begin(&rq, g_ci, NULL, "GET", NULL), LUMEN_EINVAL);
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.version = 99;
    assert_int_equal(lumen_curl_begin(&rq, g_ci, e, "GET", &ro), LUMEN_EVERSION);
    lumen_curl_end(NULL, CURLE_OK); /* no-op */
    assert_null(lumen_curl_request_span(NULL));
    assert_null(lumen_curl_error_name(CURLE_OK));
    assert_string_equal(lumen_curl_error_name(CURLE_OPERATION_TIMEDOUT),
                        "CURLE_OPERATION_TIMEDOUT");
    assert_string_equal(lumen_curl_error_name((CURLcode)9999), "_OTHER");
    /* One instrument per registry. */
    lumen_curl_instrument *dup = NULL;
    lumen_curl_instrument_options co = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
    co.registry = g_env.reg;
    assert_int_equal(lumen_curl_instrument_new(&dup, &co), LUMEN_EEXIST);
    assert_null(dup);
    curl_easy_cleanup(e);
}

/* Every lumen allocation of the constructor and of begin may fail: the
 * call returns LUMEN_ENOMEM, *out is NULL and nothing leaks; a begin that
 * succeeds ends cleanly. (libcurl's own allocations, the header lines,
 * are not lumen's allocator's.) */
static void test_http_curl__failing_allocator(void **state)
{
    (void)state;
    (void)lumen_tracer_get("lumen.http.client", NULL); /* lives as long as the process */
    lt_failalloc_install();
    lumen_registry *warm;
    lumen_curl_instrument *wi;
    lumen_curl_instrument_options wo = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
    assert_int_equal(lumen_registry_new(&warm), LUMEN_OK);
    wo.registry = warm;
    assert_int_equal(lumen_curl_instrument_new(&wi, &wo), LUMEN_OK);
    lumen_curl_instrument_free(wi);
    lumen_registry_free(warm);
    lumen__rcu_reclaim(true);
    for (long n = 0;; n++) {
        long before = lt_failalloc_live();
        lumen_registry *reg;
        assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
        lt_failalloc_arm(n);
        lumen_curl_instrument_options o = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
        o.registry = reg;
        lumen_curl_instrument *ins;
        int rc = lumen_curl_instrument_new(&ins, &o);
        int hit = lt_failalloc_triggered();
        lt_failalloc_disarm();
        if (rc != LUMEN_OK) {
            assert_int_equal(rc, LUMEN_ENOMEM);
            assert_null(ins);
        }
        lumen_curl_instrument_free(ins);
        lumen_registry_free(reg);
        lumen__rcu_reclaim(true);
        if (lt_failalloc_live() != before)
            fail_msg("constructor allocation %ld failed: %ld blocks live, %ld before", n,
                     lt_failalloc_live(), before);
        if (rc == LUMEN_OK && !hit)
            break;
    }
    /* begin, with the test's tracer (spans recorded) and a 3000-byte
     * baggage (its header line is lumen's allocation). */
    lumen_baggage *bag;
    assert_int_equal(lumen_baggage_new(&bag), LUMEN_OK);
    char big[3001];
    memset(big, 'v', 3000);
    big[3000] = '\0';
    assert_int_equal(lumen_baggage_set(bag, "k", big, NULL), LUMEN_OK);
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.baggage = bag;
    /* An instrument of its own: the histogram test counts g_ci's series. */
    lumen_registry *breg;
    lumen_curl_instrument *bci;
    assert_int_equal(lumen_registry_new(&breg), LUMEN_OK);
    lumen_curl_instrument_options bo = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
    bo.registry = breg;
    bo.tracer = g_env.t.tracer;
    bo.propagators = LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE;
    assert_int_equal(lumen_curl_instrument_new(&bci, &bo), LUMEN_OK);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, "http://127.0.0.1:9/");
    /* One whole request first: the span pool grows to its high-water mark. */
    lumen_curl_request *wrq;
    assert_int_equal(lumen_curl_begin(&wrq, bci, e, "GET", &ro), LUMEN_OK);
    lumen_curl_end(wrq, CURLE_COULDNT_CONNECT);
    lumen_memory_exporter_reset(g_env.t.mem);
    int failed = 0;
    for (long n = 0;; n++) {
        long before = lt_failalloc_live();
        lt_failalloc_arm(n);
        lumen_curl_request *rq;
        int rc = lumen_curl_begin(&rq, bci, e, "GET", &ro);
        int hit = lt_failalloc_triggered();
        lt_failalloc_disarm();
        if (rc != LUMEN_OK) {
            assert_int_equal(rc, LUMEN_ENOMEM);
            assert_null(rq);
            failed++;
        } else {
            lumen_curl_end(rq, CURLE_COULDNT_CONNECT);
        }
        lumen_memory_exporter_reset(g_env.t.mem);
        if (rc != LUMEN_OK && lt_failalloc_live() != before)
            fail_msg("begin allocation %ld failed: %ld blocks live, %ld before", n,
                     lt_failalloc_live(), before);
        if (rc == LUMEN_OK && !hit)
            break;
    }
    assert_true(failed >= 2); /* the request, the context, the long line... */
    curl_easy_cleanup(e);
    lumen_baggage_free(bag);
    lumen_curl_instrument_free(bci);
    lumen_registry_free(breg);
    lt_failalloc_uninstall();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_curl__arguments),
        cmocka_unit_test(test_http_curl__failing_allocator),
        cmocka_unit_test(test_http_curl__easy_trace_headers_and_url),
        cmocka_unit_test(test_http_curl__program_traceparent_wins),
        cmocka_unit_test(test_http_curl__long_baggage),
        cmocka_unit_test(test_http_curl__multi_error_status),
        cmocka_unit_test(test_http_curl__refused_connection),
        cmocka_unit_test(test_http_curl__threads),
        cmocka_unit_test(test_http_curl__histogram_parsed_by_prometheus_client),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
