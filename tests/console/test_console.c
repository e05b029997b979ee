/* tests/console/test_console.c: the console's routing, assets, metric
 * history and its JSON, checked with a real JSON parser. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tctx.h"
#include "http/console.h"
#include "http/console_store.h"
#include "lumen/http.h"
#include "lumen/http_console.h"
#include "trace/helpers.h"

static lumen__console *new_console(lumen_registry *reg)
{
    lumen__console_opts o = {0};
    o.registries = &reg;
    o.registry_count = 1;
    o.no_thread = true;
    o.points = 5;
    lumen__console *c = NULL;
    assert_int_equal(lumen__console_new(&c, &o), LUMEN_OK);
    return c;
}

static char *get(lumen__console *c, const char *path, const char *query, int *status,
                 const char **ctype)
{
    lumen__console_resp r;
    if (!lumen__console_handle(c, path, query, &r)) {
        *status = 0;
        return NULL;
    }
    *status = r.status;
    if (ctype)
        *ctype = r.content_type;
    char *s;
    if (r.static_body) {
        s = malloc(r.static_len + 1);
        memcpy(s, r.static_body, r.static_len);
        s[r.static_len] = '\0';
    } else {
        s = strdup(r.body.p ? r.body.p : "");
    }
    lumen__buf_free(&r.body);
    return s;
}

/* Run a python snippet on `json` (on stdin); returns its output. */
static char *py(const char *code, const char *json)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s -c '%s'", lt_python(), code);
    char *out = NULL;
    int rc = lt_run(cmd, json, strlen(json), &out);
    if (rc != 0)
        fail_msg("python failed (%d): %s\ninput: %.500s", rc, out, json);
    return out;
}

static void test_console_routes__pages_and_assets(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen__console *c = new_console(reg);
    int st;
    const char *ct;
    char *s = get(c, "/", NULL, &st, &ct);
    assert_int_equal(st, 200);
    assert_string_equal(ct, "text/html; charset=utf-8");
    assert_non_null(strstr(s, "<script src=\"/console/console.js\"></script>"));
    free(s);
    s = get(c, "/console/console.js", NULL, &st, &ct);
    assert_int_equal(st, 200);
    assert_string_equal(ct, "text/javascript; charset=utf-8");
    /* The page script never writes program data as HTML. */
    assert_null(strstr(s, "innerHTML"));
    free(s);
    s = get(c, "/traces", NULL, &st, NULL);
    assert_int_equal(st, 200);
    free(s);
    s = get(c, "/logs", NULL, &st, NULL);
    assert_int_equal(st, 200);
    free(s);
    assert_null(get(c, "/console/missing.js", NULL, &st, NULL));
    assert_null(get(c, "/nope", NULL, &st, NULL));
    /* Without providers, traces and logs are empty lists and a trace 404s. */
    s = get(c, "/api/traces", NULL, &st, NULL);
    assert_int_equal(st, 200);
    assert_string_equal(s, "{\"traces\":[]}");
    free(s);
    s = get(c, "/api/traces/0123", NULL, &st, NULL);
    assert_int_equal(st, 404);
    free(s);
    lumen__console_free(c);
    lumen_registry_free(reg);
}

static void test_console_history__series_json(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *names[] = {"route", "code"};
    o.label_names = names;
    o.label_count = 2;
    o.help = "Requests \"served\" <b>";
    lumen_family *fam;
    assert_int_equal(lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, "http_requests", &o),
                     LUMEN_OK);
    const char *v1[] = {"</script><script>alert(1)</script>", "200"};
    const char *v2[] = {"/a\"b\\c\nd", "500"};
    lumen_counter *c1, *c2;
    assert_int_equal(lumen_family_counter(&c1, fam, v1, 2), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&c2, fam, v2, 2), LUMEN_OK);
    lumen_histogram *h;
    assert_int_equal(lumen_histogram_new(&h, reg, "latency_seconds", "lat", NULL, 0), LUMEN_OK);

    lumen__console *c = new_console(reg);
    for (int i = 0; i < 7; i++) {
        lumen_counter_add(c1, 10);
        lumen_counter_inc(c2);
        lumen_histogram_observe(h, 0.02);
        lumen__console_tick(c);
    }
    int st;
    char *s = get(c, "/api/metrics/families", NULL, &st, NULL);
    assert_int_equal(st, 200);
    char *out = py(
        "import json,sys; d=json.load(sys.stdin); "
        "print(sorted((f[\"name\"],f[\"type\"],f[\"series\"]) for f in d[\"families\"])); "
        "print([f[\"help\"] for f in d[\"families\"] if f[\"name\"]==\"http_requests_total\"][0])",
        s);
    assert_non_null(strstr(out, "('http_requests_total', 'counter', 2)"));
    assert_non_null(strstr(out, "('latency_seconds', 'histogram', "));
    assert_non_null(strstr(out, "Requests \"served\" <b>"));
    free(out);
    free(s);

    s = get(c, "/api/metrics/series", "family=http_requests_total", &st, NULL);
    assert_int_equal(st, 200);
    /* Escaped so that no program string can close a script element. */
    assert_null(strstr(s, "</script>"));
    out = py("import json,sys; d=json.load(sys.stdin); "
             "print(len(d[\"timestamps\"])); "
             "[print(repr(x[\"labels\"][\"route\"]), x[\"values\"]) for x in d[\"series\"] "
             "if x[\"name\"]==\"http_requests_total\"]",
             s);
    /* Five points kept of seven taken; values are the last five totals. */
    assert_non_null(strstr(out, "5\n"));
    assert_non_null(strstr(out, "'</script><script>alert(1)</script>' [30, 40, 50, 60, 70]"));
    assert_non_null(strstr(out, "'/a\"b\\\\c\\nd' [3, 4, 5, 6, 7]"));
    free(out);
    free(s);

    s = get(c, "/api/metrics/series", "family=latency_seconds&family=nothing", &st, NULL);
    out = py("import json,sys; d=json.load(sys.stdin); "
             "print(sorted(x[\"name\"] for x in d[\"series\"] if x[\"labels\"].get(\"le\") in "
             "(None,\"+Inf\")))",
             s);
    assert_non_null(
        strstr(out, "'latency_seconds_bucket', 'latency_seconds_count', 'latency_seconds_sum'"));
    free(out);
    free(s);

    s = get(c, "/api/metrics/series", NULL, &st, NULL);
    assert_int_equal(st, 400);
    free(s);
    /* Nothing is left out without the answer saying so: family parameters
     * past the 64 taken, series past the limit. */
    char q[8192] = "";
    for (int i = 0; i < 70; i++)
        strcat(q, i ? "&family=latency_seconds" : "family=latency_seconds");
    strcat(q, "&family=http_requests_total&limit=3");
    s = get(c, "/api/metrics/series", q, &st, NULL);
    assert_int_equal(st, 200);
    /* 64 parameters taken (all latency_seconds), 7 ignored (one of them
     * http_requests_total); the histogram's series are cut to 3. */
    out = py("import json,sys; d=json.load(sys.stdin); s=d[\"series\"]; "
             "assert len(s) == 3 and {x[\"family\"] for x in s} == {\"latency_seconds\"}, s; "
             "assert d[\"series_cut\"] >= 10, d[\"series_cut\"]; "
             "print(d[\"families_ignored\"])",
             s);
    assert_string_equal(out, "7\n");
    free(out);
    free(s);
    lumen__console_free(c);
    lumen_registry_free(reg);
}

static void test_console_query__decoding(void **state)
{
    (void)state;
    char v[32];
    const char *q = "a=1&family=x%20y&family=z+w&b=%zz&empty=&flag";
    const char *p = lumen__query_param(q, "family", v, sizeof v, NULL);
    assert_non_null(p);
    assert_string_equal(v, "x y");
    p = lumen__query_param(q, "family", v, sizeof v, p);
    assert_non_null(p);
    assert_string_equal(v, "z w");
    assert_null(lumen__query_param(q, "family", v, sizeof v, p));
    assert_non_null(lumen__query_param(q, "b", v, sizeof v, NULL));
    assert_string_equal(v, "%zz");
    assert_non_null(lumen__query_param(q, "empty", v, sizeof v, NULL));
    assert_string_equal(v, "");
    assert_non_null(lumen__query_param(q, "flag", v, sizeof v, NULL));
    assert_null(lumen__query_param(q, "fla", v, sizeof v, NULL));
    char small[4];
    lumen__query_param("k=abcdefgh", "k", small, sizeof small, NULL);
    assert_string_equal(small, "abc");
}

static void test_console_sampler__thread_samples(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, reg, "temperature", "t"), LUMEN_OK);
    lumen_gauge_set(g, 21.5);
    lumen__console_opts o = {0};
    o.registries = &reg;
    o.registry_count = 1;
    o.interval_ms = 20;
    lumen__console *c = NULL;
    assert_int_equal(lumen__console_new(&c, &o), LUMEN_OK);
    char *s = NULL;
    int st;
    for (int i = 0; i < 200; i++) {
        free(s);
        s = get(c, "/api/metrics/series", "family=temperature", &st, NULL);
        if (strstr(s, "21.5,21.5"))
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(strstr(s, "21.5,21.5"));
    free(s);
    lumen__console_free(c);
    lumen_registry_free(reg);
}

/* Spans exported to the console's store come back as one trace, with
 * parent links, statuses, attributes and escaping; a peer console (here the
 * same process, asked over HTTP) contributes its spans to the tree. */
static void test_console_traces__store_and_peers(void **state)
{
    (void)state;
    lumen_tracer_provider_options to = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    to.ignore_env = true;
    to.service_name = "svc";
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &to), LUMEN_OK);
    lumen_span_exporter *exp;
    lumen_span_processor *sp;
    assert_int_equal(lumen_console_span_exporter_new(&exp, "svc<1>"), LUMEN_OK);
    assert_int_equal(lumen_simple_processor_new(&sp, exp, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, sp), LUMEN_OK);
    lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "t", NULL);
    lumen_span *root = lumen_span_start(tr, "GET </script>", NULL);
    lumen_span_enter(root);
    lumen_span *child = lumen_span_start(tr, "db", NULL);
    lumen_span_set_str(child, "q", "a\"b");
    lumen_span_set_int(child, "n", 7);
    lumen_span_set_status(child, LUMEN_SPAN_STATUS_ERROR, "boom");
    lumen_span_add_event(child, "retry", 0, NULL, 0);
    lumen_span_end(child);
    lumen_span_leave(root);
    lumen_span_end(root);
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, root);
    (void)sc;

    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen__console *c = new_console(reg);
    lumen__console_set_traces(c, lumen__console_traces_json, NULL);
    int st;
    char *s = get(c, "/api/traces", "errors=1", &st, NULL);
    assert_int_equal(st, 200);
    char *out = py("import json,sys; d=json.load(sys.stdin); t=d[\"traces\"]; "
                   "print(len(t), t[0][\"root_name\"], t[0][\"spans\"], t[0][\"error\"], "
                   "t[0][\"has_root\"], t[0][\"services\"]); print(t[0][\"trace_id\"])",
                   s);
    assert_non_null(strstr(out, "1 GET </script> 2 True True ['svc<1>']"));
    char tid[33];
    memcpy(tid, strchr(out, '\n') + 1, 32);
    tid[32] = '\0';
    free(out);
    assert_null(strstr(s, "</script>"));
    free(s);

    char path[64];
    snprintf(path, sizeof path, "/api/traces/%s", tid);
    s = get(c, path, NULL, &st, NULL);
    assert_int_equal(st, 200);
    out = py(
        "import json,sys; d=json.load(sys.stdin); sp={x[\"name\"]:x for x in d[\"spans\"]}; "
        "r=sp[\"GET </script>\"]; k=sp[\"db\"]; "
        "print(r[\"parent_span_id\"], k[\"parent_span_id\"]==r[\"span_id\"], k[\"status\"], "
        "k[\"attributes\"], [e[\"name\"] for e in k[\"events\"]], k[\"end_ns\"]>=k[\"start_ns\"])",
        s);
    assert_string_equal(
        out, "None True {'code': 2, 'message': 'boom'} {'q': 'a\"b', 'n': 7} ['retry'] True\n");
    free(out);
    free(s);
    s = get(c, "/api/traces/0000", NULL, &st, NULL);
    assert_int_equal(st, 400);
    free(s);
    s = get(c, "/api/traces/00000000000000000000000000000001", NULL, &st, NULL);
    assert_int_equal(st, 404);
    free(s);

    /* A peer: this process's own console, over HTTP. The tree then holds
     * each span twice (once local, once from the peer); local=1 once. */
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.flags = LUMEN_HTTP_CONSOLE;
    lumen_http_server *srv;
    assert_int_equal(lumen_http_server_start(&srv, &so), LUMEN_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", lumen_http_server_port(srv));
    const char *peers[] = {url};
    assert_int_equal(lumen_console_set_peers(peers, 1), LUMEN_OK);
    s = get(c, path, NULL, &st, NULL);
    out = py("import json,sys; print(len(json.load(sys.stdin)[\"spans\"]))", s);
    assert_string_equal(out, "4\n");
    free(out);
    free(s);
    s = get(c, path, "local=1", &st, NULL);
    out = py("import json,sys; print(len(json.load(sys.stdin)[\"spans\"]))", s);
    assert_string_equal(out, "2\n");
    free(out);
    free(s);
    const char *bad[] = {"ftp://x"};
    assert_int_equal(lumen_console_set_peers(bad, 1), LUMEN_EINVAL);
    assert_int_equal(lumen_console_set_peers(NULL, 0), LUMEN_OK);
    lumen_http_server_stop(srv);
    lumen__console_free(c);
    lumen_registry_free(reg);
    lumen_tracer_provider_free(tp);
}

/* The console's log handler keeps lines as JSON, filters by level and
 * trace id, and keeps only the newest lines. */
static void test_console_logs__handler_and_filters(void **state)
{
    (void)state;
    lumen_log_handler *h;
    assert_int_equal(lumen_console_log_handler_new(&h, LUMEN_LOG_DEBUG), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("console.test");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    lumen_logger_set_level(lg, LUMEN_LOG_TRACE);
    LUMEN_LOG_TRACE(lg, "below the handler's level");
    LUMEN_LOG_INFO(lg, "hello <b>", LUMEN_INT("n", 1));
    lumen__tctx *t = lumen__tctx_get();
    memset(t->trace_id, 0xab, 16);
    memset(t->span_id, 0xcd, 8);
    t->has_span = true;
    t->trace_flags = 1;
    LUMEN_LOG_ERROR(lg, "failed", LUMEN_STR("why", "x\"y"));
    t->has_span = false;
    lumen_log_flush(0);

    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen__console *c = new_console(reg);
    lumen__console_set_logs(c, lumen__console_logs_json, NULL);
    int st;
    char *s = get(c, "/api/logs", NULL, &st, NULL);
    assert_int_equal(st, 200);
    char *out = py("import json,sys; print([(l[\"level\"], l[\"msg\"]) for l in "
                   "json.load(sys.stdin)[\"logs\"]])",
                   s);
    assert_string_equal(out, "[('info', 'hello <b>'), ('error', 'failed')]\n");
    free(out);
    free(s);
    s = get(c, "/api/logs", "level=warn", &st, NULL);
    out = py("import json,sys; print([(l[\"msg\"], l[\"why\"], l[\"trace_id\"]) for l in "
             "json.load(sys.stdin)[\"logs\"]])",
             s);
    assert_string_equal(out, "[('failed', 'x\"y', 'abababababababababababababababab')]\n");
    free(out);
    free(s);
    s = get(c, "/api/logs", "trace_id=abab", &st, NULL);
    out = py("import json,sys; print(len(json.load(sys.stdin)[\"logs\"]))", s);
    assert_string_equal(out, "1\n");
    free(out);
    free(s);
    s = get(c, "/api/logs", "level=loud", &st, NULL);
    assert_int_equal(st, 400);
    free(s);
    /* < > & are escaped as in every console answer (docs/console.md), in
     * the message, keys and values; Python's json reads them back. */
    LUMEN_LOG_WARN(lg, "a <script> & </script>", LUMEN_STR("<k>", "x&amp;<y>"));
    lumen_log_flush(0);
    s = get(c, "/api/logs", "level=warn", &st, NULL);
    assert_int_equal(st, 200);
    assert_null(strpbrk(s, "<>&"));
    out = py("import json,sys; l=json.load(sys.stdin)[\"logs\"][-1]; print(l[\"msg\"], l[\"<k>\"])",
             s);
    assert_string_equal(out, "a <script> & </script> x&amp;<y>\n");
    free(out);
    free(s);
    /* The ring keeps the newest lines. */
    for (int i = 0; i < LUMEN__CL_LINES + 10; i++)
        LUMEN_LOG_INFO(lg, "spam", LUMEN_INT("i", i));
    lumen_log_flush(0);
    s = get(c, "/api/logs", "limit=1", &st, NULL);
    char want[64];
    snprintf(want, sizeof want, "\"i\":%d", LUMEN__CL_LINES + 9);
    assert_non_null(strstr(s, want));
    free(s);
    lumen_logger_set_handlers(lg, NULL, 0);
    lumen__console_free(c);
    lumen_registry_free(reg);
}

/* Every constructor of the console cleans up when any one of its
 * allocations fails, and sampling under failing allocations leaks nothing. */
static void test_console_oom__constructors_clean_up(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, reg, "g", "h"), LUMEN_OK);
    lt_failalloc_install();
    /* A first render lets the registry make what it keeps between renders,
     * so that what remains afterwards is the console's alone. */
    char *warm;
    assert_int_equal(lumen_registry_render_string(&warm, NULL, reg, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    lumen_free(warm);
    long base = lt_failalloc_live();
    for (int threaded = 0; threaded < 2; threaded++) {
        for (long n = 0;; n++) {
            lumen__console_opts o = {0};
            o.registries = &reg;
            o.registry_count = 1;
            o.no_thread = !threaded;
            o.interval_ms = 10;
            lumen__console *c = NULL;
            lt_failalloc_arm(n);
            int rc = lumen__console_new(&c, &o);
            if (rc == LUMEN_OK) {
                lumen__console_tick(c); /* may fail inside: must not leak */
                lt_failalloc_disarm();
                lumen__console_free(c);
                assert_int_equal(lt_failalloc_live(), base);
                if (!lt_failalloc_triggered())
                    break;
                continue;
            }
            lt_failalloc_disarm();
            assert_int_equal(rc, LUMEN_ENOMEM);
            assert_null(c);
            assert_int_equal(lt_failalloc_live(), base);
        }
    }
    for (long n = 0;; n++) {
        lumen_span_exporter *exp = NULL;
        lt_failalloc_arm(n);
        int rc = lumen_console_span_exporter_new(&exp, "svc");
        lt_failalloc_disarm();
        if (rc == LUMEN_OK) {
            lumen_span_exporter_free(exp);
            assert_int_equal(lt_failalloc_live(), base);
            break;
        }
        assert_int_equal(rc, LUMEN_ENOMEM);
        assert_int_equal(lt_failalloc_live(), base);
    }
    lt_failalloc_uninstall();
    lumen_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_routes__pages_and_assets),
        cmocka_unit_test(test_console_history__series_json),
        cmocka_unit_test(test_console_query__decoding),
        cmocka_unit_test(test_console_sampler__thread_samples),
        cmocka_unit_test(test_console_traces__store_and_peers),
        cmocka_unit_test(test_console_logs__handler_and_filters),
        cmocka_unit_test(test_console_oom__constructors_clean_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
