/* tests/instrument/test_instrument_server.c: the framework-neutral server
 * instrumentation (lumen/instrument.h): method normalisation, the status
 * rules of spans and error.type, the route set after routing, the series
 * limit, the active-requests gauge, the request id, the access line (read
 * by Python's json) and the ids on the lines logged inside a request. */
#include "support/support.h"

#include <stdio.h>

#include "core/rcu.h"
#include "instrument/ti_helpers.h"

static void run(ti_env *e, const char *method, const char *path, const char *route, int status,
                const char *err, const lumen_carrier *headers)
{
    lumen_server_request rq;
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = method;
    o.path = path;
    o.route = route;
    o.headers = headers;
    assert_int_equal(lumen_server_request_begin(&rq, e->ins, &o), LUMEN_OK);
    lumen_server_request_end(&rq, status, err);
}

static void test_instrument_server__method_normalized(void **state)
{
    (void)state;
    static const char *const known[] = {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS",
                                        "PATCH",   "POST",   "PUT", "TRACE"};
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(lumen_http_method_normalize(known[i]), known[i]);
    assert_string_equal(lumen_http_method_normalize("get"),
                        "_OTHER"); /* methods are case-sensitive */
    assert_string_equal(lumen_http_method_normalize("PROPFIND"), "_OTHER");
    assert_string_equal(lumen_http_method_normalize("GETX"), "_OTHER");
    assert_string_equal(lumen_http_method_normalize(""), "_OTHER");
    assert_string_equal(lumen_http_method_normalize(NULL), "_OTHER");

    /* In the span and the histogram too: an unknown method is _OTHER, its
     * span is named "HTTP" and keeps the original method. */
    ti_env e;
    ti_setup(&e, 0, 0);
    run(&e, "PROPFIND", "/dav", "/dav", 207, NULL, NULL);
    const lumen_span *s = lumen_memory_exporter_get(e.t.mem, 0);
    assert_string_equal(lumen_span_get_name(s), "HTTP /dav");
    assert_string_equal(ti_attr_str(s, "http.request.method"), "_OTHER");
    assert_string_equal(ti_attr_str(s, "http.request.method_original"), "PROPFIND");
    char *text = ti_render(&e);
    assert_true(ti_sample(text, "http_server_request_duration_seconds_count{http_request_method="
                                "\"_OTHER\",http_route=\"/dav\",http_response_status_code=\"207\","
                                "error_type=\"\"}") == 1);
    lumen_free(text);
    ti_teardown(&e);
}

static void test_instrument_server__status_rules(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    run(&e, "GET", "/a", "/a", 200, NULL, NULL);
    run(&e, "GET", "/a", "/a", 404, NULL, NULL);
    run(&e, "GET", "/a", "/a", 500, NULL, NULL);
    run(&e, "POST", "/a", "/a", 503, NULL, NULL);
    run(&e, "GET", "/a", "/a", 200, "timeout", NULL);
    run(&e, "GET", "/a", "/a", 0, NULL, NULL);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 6);
    static const struct {
        lumen_span_status status;
        const char *err;
        int64_t code;
    } want[] = {{LUMEN_SPAN_STATUS_UNSET, NULL, 200},      {LUMEN_SPAN_STATUS_UNSET, NULL, 404},
                {LUMEN_SPAN_STATUS_ERROR, "500", 500},     {LUMEN_SPAN_STATUS_ERROR, "503", 503},
                {LUMEN_SPAN_STATUS_ERROR, "timeout", 200}, {LUMEN_SPAN_STATUS_ERROR, "_OTHER", -1}};
    for (size_t i = 0; i < 6; i++) {
        const lumen_span *s = lumen_memory_exporter_get(e.t.mem, i);
        const char *desc = NULL;
        assert_int_equal(lumen_span_get_status(&desc, s), want[i].status);
        assert_int_equal(lumen_span_get_kind(s), LUMEN_SPAN_SERVER);
        assert_int_equal(ti_attr_int(s, "http.response.status_code"), want[i].code);
        const char *et = ti_attr_str(s, "error.type");
        if (want[i].err == NULL)
            assert_null(et);
        else
            assert_string_equal(et, want[i].err);
        assert_string_equal(ti_attr_str(s, "url.scheme"), "http");
        assert_string_equal(ti_attr_str(s, "server.address"), "svc.example");
        assert_int_equal(ti_attr_int(s, "server.port"), 8080);
    }
    char *t = ti_render(&e);
    const char *p = "http_server_request_duration_seconds_count{http_request_method=";
    char k[512];
#define COUNT(m, code, err)                                                                        \
    (snprintf(k, sizeof k,                                                                         \
              "%s\"%s\",http_route=\"/a\",http_response_status_code=\"%s\",error_type=\"%s\"}", p, \
              m, code, err),                                                                       \
     ti_sample(t, k))
    assert_true(COUNT("GET", "200", "") == 1);
    assert_true(COUNT("GET", "404", "") == 1);
    assert_true(COUNT("GET", "500", "500") == 1);
    assert_true(COUNT("POST", "503", "503") == 1);
    assert_true(COUNT("GET", "200", "timeout") == 1);
    assert_true(COUNT("GET", "", "_OTHER") == 1);
#undef COUNT
    /* The conventions' buckets, in seconds. */
    assert_non_null(strstr(t, "http_server_request_duration_seconds_bucket{http_request_method="
                              "\"GET\",http_route=\"/a\",http_response_status_code=\"200\","
                              "error_type=\"\",le=\"0.005\"}"));
    assert_non_null(strstr(t, ",le=\"7.5\"}"));
    assert_non_null(strstr(t, ",le=\"10\"}"));
    assert_non_null(strstr(t, "# TYPE http_server_request_duration_seconds histogram"));
    lumen_free(t);
    ti_teardown(&e);
}

static void test_instrument_server__route_after_routing(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    lumen_server_request rq;
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = "GET";
    o.path = "/items/42";
    assert_int_equal(lumen_server_request_begin(&rq, e.ins, &o), LUMEN_OK);
    assert_string_equal(lumen_span_get_name(lumen_server_request_span(&rq)), "GET");
    lumen_server_request_set_route(&rq, "/items/{id}");
    lumen_server_request_end(&rq, 200, NULL);
    /* Inert after end: these do nothing. */
    lumen_server_request_set_route(&rq, "/other");
    lumen_server_request_end(&rq, 500, NULL);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 1);
    const lumen_span *s = lumen_memory_exporter_get(e.t.mem, 0);
    assert_string_equal(lumen_span_get_name(s), "GET /items/{id}");
    assert_string_equal(ti_attr_str(s, "http.route"), "/items/{id}");
    assert_string_equal(ti_attr_str(s, "url.path"), "/items/42");
    char *t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"GET\",http_route=\"/items/{id}\",http_response_status_code="
                             "\"200\",error_type=\"\"}") == 1);
    assert_null(strstr(t, "/other"));
    lumen_free(t);
    /* Without any route: the span is named by the method alone, the label
     * is empty. */
    run(&e, "DELETE", "/x", NULL, 204, NULL, NULL);
    assert_string_equal(lumen_span_get_name(lumen_memory_exporter_get(e.t.mem, 1)), "DELETE");
    assert_null(ti_attr_str(lumen_memory_exporter_get(e.t.mem, 1), "http.route"));
    ti_teardown(&e);
}

/* Each thread keeps the duration series it found (instrument/server.c):
 * the route is compared by content, not by its pointer, the status and
 * method are part of the key, and an overflowing label set is looked up
 * (and counted) every time. */
static void test_instrument_server__series_cache(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 4);
    char route[80];
    for (int i = 0; i < 3; i++) {
        strcpy(route, "/a/{id}");
        run(&e, "GET", "/a/1", route, 200, NULL, NULL);
        strcpy(route, "/b/{id}");
        run(&e, "GET", "/b/1", route, 200, NULL, NULL);
        run(&e, "GET", "/b/1", route, 404, NULL, NULL);
        run(&e, "PUT", "/b/1", route, 200, NULL, NULL);
    }
    /* A route longer than the cache keeps: looked up each time. */
    memset(route, 'x', sizeof route - 1);
    route[0] = '/';
    route[sizeof route - 1] = '\0';
    run(&e, "GET", "/x", route, 200, NULL, NULL);
    /* Past the limit of 4: the overflow is counted per request. */
    strcpy(route, "/c/{id}");
    for (int i = 0; i < 3; i++)
        run(&e, "GET", "/c/1", route, 200, NULL, NULL);
    assert_int_equal(lumen_server_instrument_overflows(e.ins), 4);
    char *t = ti_render(&e);
    static const char *const want[] = {
        "GET\",http_route=\"/a/{id}\",http_response_status_code=\"200",
        "GET\",http_route=\"/b/{id}\",http_response_status_code=\"200",
        "GET\",http_route=\"/b/{id}\",http_response_status_code=\"404",
        "PUT\",http_route=\"/b/{id}\",http_response_status_code=\"200"};
    for (size_t i = 0; i < 4; i++) {
        char q[256];
        snprintf(q, sizeof q,
                 "http_server_request_duration_seconds_count{http_request_method=\"%s\","
                 "error_type=\"\"}",
                 want[i]);
        assert_true(ti_sample(t, q) == 3);
    }
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"__overflow__\",http_route=\"__overflow__\","
                             "http_response_status_code=\"__overflow__\",error_type="
                             "\"__overflow__\"}") == 4);
    lumen_free(t);
    ti_teardown(&e);

    /* A new instrument on a new registry (perhaps at the same address)
     * finds nothing of the old one's. */
    ti_setup(&e, 0, 0);
    strcpy(route, "/a/{id}");
    run(&e, "GET", "/a/1", route, 200, NULL, NULL);
    t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"GET\",http_route=\"/a/{id}\",http_response_status_code=\"200\","
                             "error_type=\"\"}") == 1);
    lumen_free(t);
    ti_teardown(&e);
}

/* The scheme in url.scheme: "http" and "https" are kept as literals, any
 * other as the instrument's copy; each span shows its own instrument's. */
static void test_instrument_server__scheme(void **state)
{
    (void)state;
    static const char *const schemes[] = {"https", "http", "h2c-custom"};
    ti_env e;
    ti_setup(&e, 0, 0);
    for (size_t i = 0; i < 3; i++) {
        char scheme[16];
        strcpy(scheme, schemes[i]);
        lumen_server_instrument_options o = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
        lumen_registry *r;
        assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
        o.registry = r;
        o.tracer = e.t.tracer;
        o.logger = lumen_logger_get("ti.access");
        o.scheme = scheme;
        lumen_server_instrument *ins;
        assert_int_equal(lumen_server_instrument_new(&ins, &o), LUMEN_OK);
        memset(scheme, 'x', sizeof scheme - 1); /* the instrument keeps its own */
        lumen_server_request rq;
        lumen_server_request_options ro = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
        ro.method = "GET";
        ro.path = "/s";
        assert_int_equal(lumen_server_request_begin(&rq, ins, &ro), LUMEN_OK);
        lumen_server_request_end(&rq, 200, NULL);
        lumen_server_instrument_free(ins);
        lumen_registry_free(r);
        const lumen_span *s = lumen_memory_exporter_get(e.t.mem, i);
        assert_non_null(s);
        assert_string_equal(ti_attr_str(s, "url.scheme"), schemes[i]);
    }
    ti_teardown(&e);
}

static void test_instrument_server__series_limit_overflow(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 3);
    char route[32];
    for (int i = 0; i < 10; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        run(&e, "GET", route, route, 200, NULL, NULL);
    }
    assert_int_equal(lumen_server_instrument_overflows(e.ins), 7);
    char *t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"__overflow__\",http_route=\"__overflow__\","
                             "http_response_status_code=\"__overflow__\",error_type="
                             "\"__overflow__\"}") == 7);
    assert_null(strstr(t, "/r3"));
    /* Series that exist still count. */
    run(&e, "GET", "/r0", "/r0", 200, NULL, NULL);
    lumen_free(t);
    t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"GET\",http_route=\"/r0\",http_response_status_code=\"200\","
                             "error_type=\"\"}") == 2);
    lumen_free(t);
    ti_teardown(&e);
}

static void test_instrument_server__active_requests(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    lumen_server_request a, b;
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = "GET";
    assert_int_equal(lumen_server_request_begin(&a, e.ins, &o), LUMEN_OK);
    lumen_server_request_leave(&a);
    o.method = "POST";
    assert_int_equal(lumen_server_request_begin(&b, e.ins, &o), LUMEN_OK);
    char *t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"GET\"}") == 1);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"POST\"}") == 1);
    lumen_free(t);
    lumen_server_request_end(&b, 201, NULL);
    lumen_server_request_end(&a, 200, NULL);
    t = ti_render(&e);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"GET\"}") == 0);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"POST\"}") == 0);
    lumen_free(t);
    /* Bad arguments leave an inert request. */
    assert_int_equal(lumen_server_request_begin(&a, NULL, &o), LUMEN_EINVAL);
    lumen_server_request_end(&a, 200, NULL);
    lumen_server_request_options bad = o;
    bad.version = 99;
    assert_int_equal(lumen_server_request_begin(&a, e.ins, &bad), LUMEN_EVERSION);
    assert_string_equal(lumen_server_request_id(&a), "");
    lumen_server_request_end(&a, 200, NULL);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 2);
    ti_teardown(&e);
}

static void add_header(th_headers *h, const char *name, const char *value)
{
    snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
}

static lumen_carrier carrier_of(th_headers *h)
{
    lumen_carrier c = LUMEN_CARRIER_INIT;
    c.get = th_get;
    c.set = th_set;
    c.carrier = h;
    return c;
}

/* The parent comes from traceparent, the request id from X-Request-Id, and
 * every line logged inside the request carries trace_id, span_id and
 * request_id; none after it. */
static void test_instrument_server__log_lines_inside_carry_ids(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    static th_headers h;
    memset(&h, 0, sizeof h);
    add_header(&h, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    add_header(&h, "X-Request-Id", "req-abc-123");
    lumen_carrier c = carrier_of(&h);
    lumen_server_request rq;
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = "GET";
    o.path = "/work";
    o.route = "/work";
    o.headers = &c;
    o.user_agent = "curl/8";
    o.server_port = 443;
    o.protocol_version = "2";
    o.client_address = "10.1.2.3";
    assert_int_equal(lumen_server_request_begin(&rq, e.ins, &o), LUMEN_OK);
    assert_string_equal(lumen_server_request_id(&rq), "req-abc-123");
    LUMEN_LOG_INFO(lumen_logger_get("ti.app"), "inside", LUMEN_INT("n", 1));
    lumen_server_request_end(&rq, 200, NULL);
    LUMEN_LOG_INFO(lumen_logger_get("ti.app"), "outside");

    const lumen_span *s = lumen_memory_exporter_get(e.t.mem, 0);
    uint8_t parent[8];
    assert_true(lumen_span_get_parent_id(parent, s));
    assert_memory_equal(parent, "\xb7\xad\x6b\x71\x69\x20\x33\x31", 8);
    assert_string_equal(ti_attr_str(s, "user_agent.original"), "curl/8");
    assert_string_equal(ti_attr_str(s, "client.address"), "10.1.2.3");
    assert_int_equal(ti_attr_int(s, "server.port"), 443); /* the request's, not the instrument's */
    assert_string_equal(ti_attr_str(s, "network.protocol.version"), "2");

    char dir_cmd[4096];
    snprintf(
        dir_cmd, sizeof dir_cmd,
        "%s -c 'import sys,json\n"
        "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
        "assert len(L)==3, L\n"
        "ins,acc,out=L\n"
        "assert ins[\"msg\"]==\"inside\" and ins[\"request_id\"]==\"req-abc-123\", ins\n"
        "assert ins[\"trace_id\"]==\"0af7651916cd43dd8448eb211c80319c\", ins\n"
        "assert len(ins[\"span_id\"])==16 and ins[\"span_id\"]!=\"b7ad6b7169203331\", ins\n"
        "assert acc[\"span_id\"]==ins[\"span_id\"] and acc[\"request_id\"]==\"req-abc-123\", acc\n"
        "assert \"trace_id\" not in out and \"request_id\" not in out, out\n"
        "'",
        lt_python());
    char *out = NULL;
    int rc = lt_run(dir_cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s\nlines:\n%s", rc, out, ti_log.text);
    free(out);

    /* An invalid X-Request-Id (a space, or too long) is not taken: the
     * caller's id is, else a random one. */
    memset(&h, 0, sizeof h);
    add_header(&h, "X-Request-Id", "bad id");
    o.request_id = "from-caller";
    assert_int_equal(lumen_server_request_begin(&rq, e.ins, &o), LUMEN_OK);
    assert_string_equal(lumen_server_request_id(&rq), "from-caller");
    lumen_server_request_end(&rq, 200, NULL);
    memset(&h, 0, sizeof h);
    char longid[80];
    memset(longid, 'x', 79);
    longid[79] = '\0';
    add_header(&h, "x-request-id", longid);
    o.request_id = NULL;
    assert_int_equal(lumen_server_request_begin(&rq, e.ins, &o), LUMEN_OK);
    const char *id = lumen_server_request_id(&rq);
    assert_int_equal(strlen(id), 16);
    assert_int_equal(strspn(id, "0123456789abcdef"), 16);
    lumen_server_request_end(&rq, 200, NULL);
    ti_teardown(&e);
}

/* One access line per request, JSON that Python's json reads, with the
 * method, route, path, status, duration, bytes, and a level by status. */
static void test_instrument_server__access_line_json(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    lumen_server_request rq;
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = "POST";
    o.path = "/up\"load\n";
    o.route = "/up";
    assert_int_equal(lumen_server_request_begin(&rq, e.ins, &o), LUMEN_OK);
    lumen_server_request_set_response_bytes(&rq, 1234);
    lumen_server_request_end(&rq, 201, NULL);
    run(&e, "GET", "/missing", NULL, 404, NULL, NULL);
    run(&e, "GET", "/boom", "/boom", 502, NULL, NULL);
    assert_int_equal(ti_log.count, 3);
    char cmd[4096];
    snprintf(
        cmd, sizeof cmd,
        "%s -c 'import sys,json\n"
        "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
        "assert len(L)==3, L\n"
        "a,b,c=L\n"
        "assert a[\"msg\"]==\"request\" and a[\"logger\"]==\"ti.access\", a\n"
        "assert a[\"level\"].lower()==\"info\" and a[\"method\"]==\"POST\", a\n"
        "assert a[\"route\"]==\"/up\" and a[\"path\"]==\"/up\\\"load\\n\", a\n"
        "assert a[\"status\"]==201 and a[\"bytes\"]==1234, a\n"
        "assert isinstance(a[\"duration_us\"], int) and 0 <= a[\"duration_us\"] < 60e6, a\n"
        "assert len(a[\"request_id\"])==16 and len(a[\"trace_id\"])==32, a\n"
        "assert b[\"level\"].lower()==\"warn\" and b[\"status\"]==404 and b[\"route\"]==\"\", b\n"
        "assert \"bytes\" not in b and \"error_type\" not in b, b\n"
        "assert c[\"level\"].lower()==\"error\" and c[\"error_type\"]==\"502\", c\n"
        "'",
        lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s\nlines:\n%s", rc, out, ti_log.text);
    free(out);

    /* Signals left out stay out. */
    ti_teardown(&e);
    ti_setup(&e, LUMEN_SERVER_INSTRUMENT_NO_ACCESS_LOG | LUMEN_SERVER_INSTRUMENT_NO_SPANS, 0);
    run(&e, "GET", "/q", "/q", 200, NULL, NULL);
    assert_int_equal(ti_log.count, 0);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 0);
    char *t = ti_render(&e);
    assert_non_null(strstr(t, "http_route=\"/q\""));
    lumen_free(t);
    ti_teardown(&e);
    ti_setup(&e, LUMEN_SERVER_INSTRUMENT_NO_METRICS, 0);
    run(&e, "GET", "/q", "/q", 200, NULL, NULL);
    t = ti_render(&e);
    assert_null(strstr(t, "http_server"));
    lumen_free(t);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 1);
    ti_teardown(&e);
}

/* One instrument per registry; options are checked. */
static void test_instrument_server__options(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    lumen_server_instrument_options o = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    o.registry = e.reg;
    lumen_server_instrument *second = (lumen_server_instrument *)1;
    assert_int_equal(lumen_server_instrument_new(&second, &o), LUMEN_EEXIST);
    assert_null(second);
    o.version = 0;
    assert_int_equal(lumen_server_instrument_new(&second, &o), LUMEN_EVERSION);
    assert_int_equal(lumen_server_instrument_new(NULL, &o), LUMEN_EINVAL);
    assert_int_equal(lumen_server_instrument_options_init(&o, 2), LUMEN_EVERSION);
    assert_int_equal(lumen_server_instrument_options_init(&o, 1), LUMEN_OK);
    lumen_server_request_options ro;
    assert_int_equal(lumen_server_request_options_init(&ro, 1), LUMEN_OK);
    assert_int_equal(ro.version, 1);
    assert_int_equal(lumen_server_request_options_init(NULL, 1), LUMEN_EINVAL);
    ti_teardown(&e);
}

/* Every allocation of the constructor may fail without a leak (counted
 * once the registry, which reclaims removed series late, is freed too). */
static void test_instrument_server__failing_allocator(void **state)
{
    (void)state;
    /* The default logger and tracer live as long as the process: made
     * before counting. */
    (void)lumen_logger_get("http.access");
    (void)lumen_tracer_get("lumen.http.server", NULL);
    lt_failalloc_install();
    /* One whole instrument first: the metrics layer's cell and slot arenas
     * grow to their high-water mark and stay for the process. */
    lumen_registry *warm;
    lumen_server_instrument *wi;
    lumen_server_instrument_options wo = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    assert_int_equal(lumen_registry_new(&warm), LUMEN_OK);
    wo.registry = warm;
    assert_int_equal(lumen_server_instrument_new(&wi, &wo), LUMEN_OK);
    lumen_server_instrument_free(wi);
    lumen_registry_free(warm);
    lumen__rcu_reclaim(true);
    for (long n = 0;; n++) {
        long before = lt_failalloc_live();
        lumen_registry *reg;
        assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
        lt_failalloc_arm(n);
        lumen_server_instrument_options o = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
        o.registry = reg;
        lumen_server_instrument *ins;
        int rc = lumen_server_instrument_new(&ins, &o);
        int hit = lt_failalloc_triggered();
        lt_failalloc_disarm();
        if (rc != LUMEN_OK) {
            assert_int_equal(rc, LUMEN_ENOMEM);
            assert_null(ins);
        }
        lumen_server_instrument_free(ins);
        lumen_registry_free(reg);
        lumen__rcu_reclaim(true); /* tables replaced by a growth are freed late */
        if (lt_failalloc_live() != before)
            fail_msg("allocation %ld failed: %ld blocks live, %ld before", n, lt_failalloc_live(),
                     before);
        if (rc == LUMEN_OK && !hit)
            break;
    }
    lt_failalloc_uninstall();
}

/* An exporter that counts the SERVER spans it gets, and keeps nothing. */
static _Atomic int g_exported;
static int count_export(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    (void)ud, (void)deadline_ns;
    for (size_t i = 0; i < n; i++)
        if (lumen_span_get_kind(spans[i]) == LUMEN_SPAN_SERVER &&
            strcmp(lumen_span_get_name(spans[i]), "GET /n/{id}") == 0)
            g_exported++;
    return LUMEN_OK;
}

/* After the first request of a label set, begin and end allocate nothing:
 * every allocation fails, and none is tried (the span comes back from the
 * pool once exported, the series exists, the status label is in the
 * table, the access line goes through the thread's batch). */
static void test_instrument_server__no_allocation_per_request(void **state)
{
    (void)state;
    ti_loggers();
    ti_log_reset();
    lumen_tracer_provider *tp;
    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.sampler = (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL};
    assert_int_equal(lumen_tracer_provider_new(&tp, &po), LUMEN_OK);
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = count_export;
    lumen_span_exporter *exp;
    lumen_span_processor *sp;
    assert_int_equal(lumen_span_exporter_new(&exp, &ops, NULL), LUMEN_OK);
    assert_int_equal(lumen_simple_processor_new(&sp, exp, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, sp), LUMEN_OK);
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_server_instrument_options io = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    io.registry = reg;
    io.tracer = lumen_tracer_provider_get_tracer(tp, "noalloc", NULL);
    io.logger = lumen_logger_get("ti.access");
    io.propagators = LUMEN_PROPAGATE_TRACECONTEXT;
    lumen_server_instrument *ins;
    assert_int_equal(lumen_server_instrument_new(&ins, &io), LUMEN_OK);
    static th_headers h;
    memset(&h, 0, sizeof h);
    add_header(&h, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    lumen_carrier c = carrier_of(&h);
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = "GET";
    o.path = "/n/1";
    o.headers = &c;
    /* Five attributes with the status: within the span's inline storage. */
    lumen_server_request rq;
    /* Warm: the series, the span pool, the log batch, and an observation
     * in every bucket (a start in the past sets the duration), whose first
     * exemplar takes its slot. */
    static const double in_bucket[] = {0.001, 0.007, 0.02, 0.04, 0.06, 0.09, 0.2, 0.4,
                                       0.6,   0.9,   2,    4,    6,    9,    20};
    for (size_t i = 0; i < sizeof in_bucket / sizeof in_bucket[0]; i++) {
        o.start_ns = lumen_now_ns() - (int64_t)(in_bucket[i] * 1e9);
        assert_int_equal(lumen_server_request_begin(&rq, ins, &o), LUMEN_OK);
        lumen_server_request_set_route(&rq, "/n/{id}");
        lumen_server_request_end(&rq, 200, NULL);
    }
    o.start_ns = 0;
    const int warm = (int)(sizeof in_bucket / sizeof in_bucket[0]);
    lt_failalloc_install();
    lt_failalloc_arm(0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(lumen_server_request_begin(&rq, ins, &o), LUMEN_OK);
        lumen_server_request_set_route(&rq, "/n/{id}");
        lumen_server_request_end(&rq, 200, NULL);
    }
    int tried = lt_failalloc_triggered();
    lt_failalloc_disarm();
    /* Every attribute a server span has (11: the above with server address
     * and port, protocol version, user agent, client address, and a 5xx's
     * error.type): still within the span's record (12 inline attributes;
     * the keys are not copied), once the 500 series exists. */
    o.server_address = "api.example.com";
    o.server_port = 8443;
    o.protocol_version = "1.1";
    o.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
    o.client_address = "203.0.113.77";
    assert_int_equal(lumen_server_request_begin(&rq, ins, &o), LUMEN_OK);
    lumen_server_request_set_route(&rq, "/n/{id}");
    lumen_server_request_end(&rq, 500, NULL);
    lt_failalloc_arm(0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(lumen_server_request_begin(&rq, ins, &o), LUMEN_OK);
        lumen_server_request_set_route(&rq, "/n/{id}");
        assert_int_equal(lumen_span_get_attr_count(lumen_server_request_span(&rq)), 9);
        lumen_server_request_end(&rq, 500, NULL);
    }
    int tried_full = lt_failalloc_triggered();
    lt_failalloc_disarm();
    lt_failalloc_uninstall();
    assert_int_equal(tried, 0);
    assert_int_equal(tried_full, 0);
    assert_int_equal(g_exported, warm + 100 + 101);
    assert_int_equal(ti_log.count, warm + 100 + 101);
    char *t;
    size_t n;
    assert_int_equal(lumen_registry_render_string(&t, &n, reg, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"GET\",http_route=\"/n/{id}\",http_response_status_code=\"200\","
                             "error_type=\"\"}") == warm + 100);
    /* The warm-up's durations landed where they were meant to. */
    assert_true(ti_sample(t, "http_server_request_duration_seconds_bucket{http_request_method="
                             "\"GET\",http_route=\"/n/{id}\",http_response_status_code=\"200\","
                             "error_type=\"\",le=\"10\"}") == warm + 100 - 1);
    lumen_free(t);
    lumen_server_instrument_free(ins);
    lumen_registry_free(reg);
    lumen_tracer_provider_free(tp);
}

/* Hostile input: a carrier without `get`, a long method, a path past what
 * the access line keeps, a route that is not UTF-8, statuses out of range. */
static void test_instrument_server__hostile_input(void **state)
{
    (void)state;
    ti_env e;
    ti_setup(&e, 0, 0);
    lumen_carrier none = LUMEN_CARRIER_INIT;
    static char method[5000], path[5000];
    memset(method, 'G', sizeof method - 1);
    memset(path, '/', sizeof path - 1);
    run(&e, method, path, "/bad\xff\xfe", 200, NULL, &none);
    run(&e, "GET", "/x", "/x", -5, NULL, NULL);
    run(&e, "GET", "/x", "/x", 1000, NULL, NULL);
    /* A route past the span name's limit: cut in the name, whole in
     * http.route. */
    static char route[400];
    memset(route, 'r', sizeof route - 1);
    route[0] = '/';
    run(&e, "GET", "/y", route, 200, NULL, NULL);
    assert_int_equal(lumen_memory_exporter_count(e.t.mem), 4);
    const lumen_span *long_route = lumen_memory_exporter_get(e.t.mem, 3);
    assert_int_equal(strlen(lumen_span_get_name(long_route)), LUMEN_SERVER_SPAN_NAME_MAX);
    assert_memory_equal(lumen_span_get_name(long_route), "GET /rrr", 8);
    lumen_attr ra;
    assert_true(lumen_span_find_attr(&ra, long_route, "http.route"));
    assert_int_equal(ra.len, sizeof route - 1);
    const lumen_span *s = lumen_memory_exporter_get(e.t.mem, 0);
    assert_string_equal(ti_attr_str(s, "http.request.method"), "_OTHER");
    char *t = ti_render(&e);
    assert_non_null(strstr(t, "http_request_method=\"_OTHER\",http_route=\"/bad\xef\xbf\xbd"));
    assert_true(ti_sample(t, "http_server_request_duration_seconds_count{http_request_method="
                             "\"GET\",http_route=\"/x\",http_response_status_code=\"\","
                             "error_type=\"_OTHER\"}") == 2);
    lumen_free(t);
    /* The access line of the long path is cut, and still JSON. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json\n"
             "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
             "assert len(L)==4 and 0 < len(L[0][\"path\"]) <= %d, L[0]\n"
             "assert L[0][\"method\"]==\"_OTHER\" and L[1][\"level\"].lower()==\"error\"\n'",
             lt_python(), LUMEN_SERVER_REQUEST_PATH_MAX);
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s", rc, out);
    free(out);
    ti_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instrument_server__method_normalized),
        cmocka_unit_test(test_instrument_server__status_rules),
        cmocka_unit_test(test_instrument_server__route_after_routing),
        cmocka_unit_test(test_instrument_server__series_limit_overflow),
        cmocka_unit_test(test_instrument_server__series_cache),
        cmocka_unit_test(test_instrument_server__scheme),
        cmocka_unit_test(test_instrument_server__active_requests),
        cmocka_unit_test(test_instrument_server__log_lines_inside_carry_ids),
        cmocka_unit_test(test_instrument_server__access_line_json),
        cmocka_unit_test(test_instrument_server__options),
        cmocka_unit_test(test_instrument_server__failing_allocator),
        cmocka_unit_test(test_instrument_server__no_allocation_per_request),
        cmocka_unit_test(test_instrument_server__hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
