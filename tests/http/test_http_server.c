/* tests/http/test_http_server.c: the /metrics server as a client sees it:
 * negotiation, gzip, HEAD, /healthz, 404/405, the chosen port, IPv6, the
 * scrape limit and timeout, its own metrics, start errors. */
#include "http/http_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen/http.h"

#define PROM_ACCEPT                                                                                \
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"             \
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

typedef struct fixture {
    lumen_registry *reg;
    lumen_counter *requests;
    lumen_http_server *srv;
    char url[128];
} fixture;

static int start(fixture *f, lumen_http_server_options *o)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(lumen_registry_new(&f->reg), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&f->requests, f->reg, "test_requests", "Requests."),
                     LUMEN_OK);
    lumen_counter_add(f->requests, 42);
    lumen_http_server_options d = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    if (o == NULL)
        o = &d;
    if (o->addr == NULL)
        o->addr = "127.0.0.1:0";
    if (o->registries == NULL) {
        o->registries = &f->reg;
        o->registry_count = 1;
    }
    int rc = lumen_http_server_start(&f->srv, o);
    if (rc == LUMEN_OK) {
        assert_int_not_equal(lumen_http_server_port(f->srv), 0);
        snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u",
                 (unsigned)lumen_http_server_port(f->srv));
    }
    return rc;
}

static void stop(fixture *f)
{
    lumen_http_server_stop(f->srv);
    lumen_registry_free(f->reg);
}

static char *url(fixture *f, const char *path)
{
    static char u[256];
    snprintf(u, sizeof u, "%s%s", f->url, path);
    return u;
}

static void test_http_server__text_format_by_default(void **state)
{
    (void)state;
    fixture f;
    assert_int_equal(start(&f, NULL), LUMEN_OK);
    th_resp r;
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    char ct[256];
    assert_true(th_header(r.headers, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE test_requests_total counter\n"));
    assert_non_null(strstr(r.body, "\ntest_requests_total 42\n"));
    assert_null(strstr(r.body, "# EOF"));
    /* Its own metrics come after the program's. */
    assert_non_null(strstr(r.body, "lumen_http_scrapes_in_flight 1\n"));
    assert_false(th_header(r.headers, "Content-Encoding", ct, sizeof ct));
    th_resp_free(&r);
    /* What a query string says does not matter. */
    assert_int_equal(th_http("GET", url(&f, "/metrics?name[]=x"), NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__openmetrics_when_asked(void **state)
{
    (void)state;
    fixture f;
    assert_int_equal(start(&f, NULL), LUMEN_OK);
    const char *h[] = {PROM_ACCEPT, NULL};
    th_resp r;
    assert_int_equal(th_http("GET", url(&f, "/metrics"), h, NULL, NULL, 5000, &r), 200);
    char ct[256];
    assert_true(th_header(r.headers, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE test_requests counter\n"));
    assert_non_null(strstr(r.body, "\ntest_requests_total 42\n"));
    assert_true(r.body_len >= 6);
    assert_string_equal(r.body + r.body_len - 6, "# EOF\n");
    th_resp_free(&r);
    /* The strict OpenMetrics parser accepts the whole answer. */
    assert_int_equal(th_http("GET", url(&f, "/metrics"), h, NULL, NULL, 5000, &r), 200);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys; from prometheus_client.openmetrics.parser import "
             "text_string_to_metric_families as p; [None for _ in p(sys.stdin.read())]'",
             lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, r.body, r.body_len, &out);
    if (rc != 0)
        fail_msg("openmetrics parser: %s\n%s", out, r.body);
    free(out);
    th_resp_free(&r);
    const char *text_only[] = {"Accept: text/plain;version=0.0.4", NULL};
    assert_int_equal(th_http("GET", url(&f, "/metrics"), text_only, NULL, NULL, 5000, &r), 200);
    assert_true(th_header(r.headers, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__gzip_and_head(void **state)
{
    (void)state;
    fixture f;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.flags = LUMEN_HTTP_NO_SELF_METRICS; /* so that two answers are equal */
    assert_int_equal(start(&f, &o), LUMEN_OK);
    for (int i = 0; i < 2000; i++) /* enough text for compression to matter */
        lumen_counter_inc(f.requests);
    th_resp plain, z, head;
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &plain), 200);
    const char *gz[] = {"Accept-Encoding: gzip, deflate", NULL};
    assert_int_equal(th_http("GET", url(&f, "/metrics"), gz, NULL, NULL, 5000, &z), 200);
    char v[128];
    assert_true(th_header(z.headers, "Content-Encoding", v, sizeof v));
    assert_string_equal(v, "gzip");
    assert_true(th_header(z.headers, "Vary", v, sizeof v));
    assert_non_null(strstr(v, "Accept-Encoding"));
    size_t n;
    char *back = th_gunzip(z.body, z.body_len, &n);
    assert_non_null(back);
    assert_string_equal(back, plain.body);
    free(back);
    const char *nogz[] = {"Accept-Encoding: gzip;q=0, identity", NULL};
    th_resp_free(&z);
    assert_int_equal(th_http("GET", url(&f, "/metrics"), nogz, NULL, NULL, 5000, &z), 200);
    assert_false(th_header(z.headers, "Content-Encoding", v, sizeof v));
    assert_string_equal(z.body, plain.body);

    assert_int_equal(th_http("HEAD", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &head), 200);
    assert_int_equal(head.body_len, 0);
    assert_true(th_header(head.headers, "Content-Length", v, sizeof v));
    assert_int_equal(strtoul(v, NULL, 10), plain.body_len);
    assert_true(th_header(head.headers, "Content-Type", v, sizeof v));
    th_resp_free(&plain);
    th_resp_free(&z);
    th_resp_free(&head);
    stop(&f);

    /* LUMEN_HTTP_NO_GZIP wins over Accept-Encoding. */
    o = (lumen_http_server_options)LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.flags = LUMEN_HTTP_NO_GZIP;
    assert_int_equal(start(&f, &o), LUMEN_OK);
    assert_int_equal(th_http("GET", url(&f, "/metrics"), gz, NULL, NULL, 5000, &z), 200);
    assert_false(th_header(z.headers, "Content-Encoding", v, sizeof v));
    th_resp_free(&z);
    stop(&f);
}

static void test_http_server__routes_and_methods(void **state)
{
    (void)state;
    fixture f;
    assert_int_equal(start(&f, NULL), LUMEN_OK);
    th_resp r;
    char v[128];
    assert_int_equal(th_http("GET", url(&f, "/healthz"), NULL, NULL, NULL, 5000, &r), 200);
    assert_string_equal(r.body, "ok\n");
    th_resp_free(&r);
    assert_int_equal(th_http("HEAD", url(&f, "/healthz"), NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    const char *paths[] = {"/", "/metric", "/metrics/", "/metricsx", "/healthz/x"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        long s = th_http("GET", url(&f, paths[i]), NULL, NULL, NULL, 5000, &r);
        if (s != 404)
            fail_msg("GET %s: %ld", paths[i], s);
        th_resp_free(&r);
    }
    const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        long s = th_http(methods[i], url(&f, "/metrics"), NULL, NULL, i < 2 ? "some=body" : NULL,
                         5000, &r);
        if (s != 405)
            fail_msg("%s /metrics: %ld", methods[i], s);
        assert_true(th_header(r.headers, "Allow", v, sizeof v));
        assert_string_equal(v, "GET, HEAD");
        th_resp_free(&r);
    }
    assert_int_equal(th_http("POST", url(&f, "/healthz"), NULL, NULL, "x", 5000, &r), 405);
    th_resp_free(&r);
    /* Still serving after all that. */
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    assert_non_null(strstr(r.body, "lumen_http_scrapes_total{code=\"200\"} "));
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__own_metrics_count_scrapes(void **state)
{
    (void)state;
    fixture f;
    assert_int_equal(start(&f, NULL), LUMEN_OK);
    th_resp r;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
        th_resp_free(&r);
    }
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    /* The sixth scrape sees the five before it. */
    assert_non_null(strstr(r.body, "lumen_http_scrapes_total{code=\"200\"} 5\n"));
    assert_non_null(strstr(r.body, "lumen_http_scrape_duration_seconds_count 5\n"));
    assert_non_null(strstr(r.body, "lumen_http_scrape_errors_total{cause=\"timeout\"} 0\n"));
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__ipv6_and_port_choice(void **state)
{
    (void)state;
    lumen_http_server *srv;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "[::1]:0";
    int rc = lumen_http_server_start(&srv, &o);
    if (rc != LUMEN_OK) {
        print_message("no IPv6 loopback here (%s); skipped\n", lumen_status_name(rc));
        skip();
    }
    char u[128];
    snprintf(u, sizeof u, "http://[::1]:%u/healthz", (unsigned)lumen_http_server_port(srv));
    th_resp r;
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    lumen_http_server_stop(srv);

    /* ":port" listens on every interface, IPv4 included. */
    uint16_t port = th_free_port();
    char addr[32];
    snprintf(addr, sizeof addr, ":%u", (unsigned)port);
    o.addr = addr;
    if (lumen_http_server_start(&srv, &o) != LUMEN_OK)
        return;
    assert_int_equal(lumen_http_server_port(srv), port);
    snprintf(u, sizeof u, "http://127.0.0.1:%u/healthz", (unsigned)port);
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    lumen_http_server_stop(srv);
}

static void test_http_server__start_errors(void **state)
{
    (void)state;
    lumen_http_server *a, *b;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    assert_int_equal(lumen_http_server_start(NULL, &o), LUMEN_EINVAL);
    assert_int_equal(lumen_http_server_start(&a, &o), LUMEN_OK);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)lumen_http_server_port(a));
    o.addr = addr;
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_ESYS); /* in use */
    lumen_http_server_stop(a);
    o.addr = "127.0.0.1";
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_ECONFIG);
    o.addr = "127.0.0.1:0";
    o.max_header_bytes = 100;
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_EINVAL);
    o.max_header_bytes = 0;
    o.registry_count = 1; /* without registries */
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_EINVAL);
    o.registry_count = 0;
    o.tls_cert_file = "/nonexistent.pem"; /* without a key */
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_EINVAL);
    o.tls_key_file = "/nonexistent.key";
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_ECONFIG);
    o.tls_cert_file = o.tls_key_file = NULL;
    o.basic_auth_users = "alice:not-a-hash";
    assert_int_equal(lumen_http_server_start(&b, &o), LUMEN_ECONFIG);
    lumen_http_server_stop(NULL);
    assert_int_equal(lumen_http_server_port(NULL), 0);
}

/* A collector that takes its time: for the scrape limit and timeout. */
static int slow_collect(lumen_collect_sink *s, void *ud)
{
    usleep((useconds_t)(*(int *)ud) * 1000);
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "slow_value", "A slow gauge.", NULL);
    return rc ? rc : lumen_collect_sample(s, "", NULL, 0, 1);
}

typedef struct scrape_job {
    const char *url;
    long status;
} scrape_job;

static void *scrape_thread(void *arg)
{
    scrape_job *j = arg;
    th_resp r;
    j->status = th_http("GET", j->url, NULL, NULL, NULL, 10000, &r);
    th_resp_free(&r);
    return NULL;
}

/* A collector that holds its render until the test lets it go. */
typedef struct gate {
    atomic_int entered, open;
} gate;

static int gated_collect(lumen_collect_sink *s, void *ud)
{
    gate *g = ud;
    atomic_store(&g->entered, 1);
    int64_t deadline = th_now_ms() + 20000;
    while (!atomic_load(&g->open) && th_now_ms() < deadline)
        usleep(1000);
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "slow_value", "A slow gauge.", NULL);
    return rc ? rc : lumen_collect_sample(s, "", NULL, 0, 1);
}

static void test_http_server__scrape_limit_answers_503(void **state)
{
    (void)state;
    fixture f;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.max_concurrent_scrapes = 1;
    o.threads = 4;
    assert_int_equal(start(&f, &o), LUMEN_OK);
    gate g;
    atomic_init(&g.entered, 0);
    atomic_init(&g.open, 0);
    assert_int_equal(lumen_registry_add_collector(NULL, f.reg, NULL, gated_collect, &g), LUMEN_OK);
    char u[256];
    snprintf(u, sizeof u, "%s/metrics", f.url);
    scrape_job jobs[3] = {{u, 0}, {u, 0}, {u, 0}};
    pthread_t t[3];
    /* The first scrape holds the only render slot until the gate opens. */
    pthread_create(&t[0], NULL, scrape_thread, &jobs[0]);
    int64_t deadline = th_now_ms() + 10000;
    while (!atomic_load(&g.entered) && th_now_ms() < deadline)
        usleep(1000);
    assert_true(atomic_load(&g.entered));
    /* Two more meanwhile are refused at once, and /healthz answers: neither
     * waits for the render, which cannot end before the gate opens. */
    for (int i = 1; i < 3; i++)
        pthread_create(&t[i], NULL, scrape_thread, &jobs[i]);
    for (int i = 1; i < 3; i++)
        pthread_join(t[i], NULL);
    th_resp r;
    assert_int_equal(th_http("GET", url(&f, "/healthz"), NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    assert_int_equal(jobs[1].status, 503);
    assert_int_equal(jobs[2].status, 503);
    atomic_store(&g.open, 1);
    pthread_join(t[0], NULL);
    assert_int_equal(jobs[0].status, 200);
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    assert_non_null(strstr(r.body, "lumen_http_scrapes_total{code=\"503\"} 2\n"));
    assert_non_null(strstr(r.body, "lumen_http_scrape_errors_total{cause=\"overload\"} 2\n"));
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__scrape_timeout_answers_503(void **state)
{
    (void)state;
    fixture f;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.scrape_timeout_ms = 100;
    assert_int_equal(start(&f, &o), LUMEN_OK);
    int ms = 300;
    assert_int_equal(lumen_registry_add_collector(NULL, f.reg, NULL, slow_collect, &ms), LUMEN_OK);
    th_resp r;
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 503);
    char v[64];
    assert_true(th_header(r.headers, "Retry-After", v, sizeof v));
    th_resp_free(&r);
    ms = 0;
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    assert_non_null(strstr(r.body, "lumen_http_scrape_errors_total{cause=\"timeout\"} 1\n"));
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__default_registry(void **state)
{
    (void)state;
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, NULL, "test_default_things", "Things."), LUMEN_OK);
    lumen_counter_inc(c);
    lumen_http_server *srv;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_OK);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/metrics", (unsigned)lumen_http_server_port(srv));
    th_resp r;
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 200);
    assert_non_null(strstr(r.body, "\ntest_default_things_total 1\n"));
    /* The default registry carries the process metrics. */
    assert_non_null(strstr(r.body, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(r.body, "\nprocess_resident_memory_bytes "));
    th_resp_free(&r);
    lumen_http_server_stop(srv);
}

static void test_http_server__console_pages(void **state)
{
    (void)state;
    fixture f;
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.flags = LUMEN_HTTP_CONSOLE;
    assert_int_equal(start(&f, &o), LUMEN_OK);
    th_resp r;
    char v[512];
    assert_int_equal(th_http("GET", url(&f, "/"), NULL, NULL, NULL, 5000, &r), 200);
    assert_true(th_header(r.headers, "Content-Type", v, sizeof v));
    assert_non_null(strstr(v, "text/html"));
    assert_true(th_header(r.headers, "Content-Security-Policy", v, sizeof v));
    assert_non_null(strstr(v, "default-src 'none'"));
    assert_true(th_header(r.headers, "X-Frame-Options", v, sizeof v));
    assert_non_null(strstr(r.body, "<html"));
    th_resp_free(&r);
    assert_int_equal(th_http("GET", url(&f, "/api/metrics/families"), NULL, NULL, NULL, 5000, &r),
                     200);
    assert_true(th_header(r.headers, "Content-Type", v, sizeof v));
    assert_non_null(strstr(v, "json"));
    th_resp_free(&r);
    /* The query string reaches the console: with the family named, 200;
     * without, its own 400. */
    assert_int_equal(th_http("GET", url(&f, "/api/metrics/series?family=test_requests"), NULL, NULL,
                             NULL, 5000, &r),
                     200);
    th_resp_free(&r);
    assert_int_equal(th_http("GET", url(&f, "/api/metrics/series?x=1"), NULL, NULL, NULL, 5000, &r),
                     400);
    th_resp_free(&r);
    assert_int_equal(th_http("GET", url(&f, "/nothing/here"), NULL, NULL, NULL, 5000, &r), 404);
    th_resp_free(&r);
    assert_int_equal(th_http("POST", url(&f, "/"), NULL, NULL, "x", 5000, &r), 405);
    th_resp_free(&r);
    assert_int_equal(th_http("GET", url(&f, "/metrics"), NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    stop(&f);
}

static void test_http_server__start_out_of_memory(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.registries = &reg;
    o.registry_count = 1;
    o.flags = LUMEN_HTTP_CONSOLE;
#ifdef LUMEN_HAVE_XCRYPT
    o.basic_auth_users = "a:$2b$04$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9u,"
                         "b:$2b$04$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9u";
#endif
    lt_failalloc_install();
    for (long k = 0;; k++) {
        lumen_http_server *srv = NULL;
        lt_failalloc_arm(k);
        int rc = lumen_http_server_start(&srv, &o);
        int triggered = lt_failalloc_triggered();
        lt_failalloc_disarm();
        if (rc == LUMEN_OK)
            lumen_http_server_stop(srv);
        else
            assert_int_equal(rc, LUMEN_ENOMEM);
        assert_int_equal(lt_failalloc_live(), 0);
        if (!triggered) {
            assert_int_equal(rc, LUMEN_OK);
            break;
        }
    }
    lt_failalloc_uninstall();
    lumen_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_server__text_format_by_default),
        cmocka_unit_test(test_http_server__openmetrics_when_asked),
        cmocka_unit_test(test_http_server__gzip_and_head),
        cmocka_unit_test(test_http_server__routes_and_methods),
        cmocka_unit_test(test_http_server__own_metrics_count_scrapes),
        cmocka_unit_test(test_http_server__ipv6_and_port_choice),
        cmocka_unit_test(test_http_server__start_errors),
        cmocka_unit_test(test_http_server__scrape_limit_answers_503),
        cmocka_unit_test(test_http_server__scrape_timeout_answers_503),
        cmocka_unit_test(test_http_server__default_registry),
        cmocka_unit_test(test_http_server__console_pages),
        cmocka_unit_test(test_http_server__start_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
