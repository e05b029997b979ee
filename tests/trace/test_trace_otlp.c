/* tests/trace/test_trace_otlp.c: the OTLP encoders against real peers:
 * protoc --decode_raw must print the expected field tree, and protoc
 * --decode against the OTLP schema (otlp_trace.proto) must accept what we
 * send; python3's json must read the OTLP/JSON and find hex ids, integer
 * enums, lowerCamelCase keys and decimal-string 64-bit integers. */
#include "support/support.h"

#include <math.h>
#include <unistd.h>

#include "core/buf.h"
#include "trace/provider.h"
#include "trace/record.h"
#include "trace/helpers.h"

/* Deterministic span: printable ids and fixed times, so the decode_raw
 * tree is known byte for byte. */
static void fix(const lumen_span *cs, const char *tid, const char *sid, int64_t start, int64_t end)
{
    lumen_span *s = (lumen_span *)cs;
    memcpy(s->trace_id, tid, 16);
    memcpy(s->span_id, sid, 8);
    s->start_ns = start;
    s->end_ns = end;
}

static void make_spans(th_env *e)
{
    th_setup(e, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.kind = LUMEN_SPAN_SERVER;
    lumen_span *root = lumen_span_start(e->tracer, "GET /items", &o);
    lumen_span_set_str(root, "http.method", "GET");
    lumen_span_set_int(root, "http.status_code", 200);
    lumen_span_set_int(root, "neg", -1);
    lumen_span_set_double(root, "ratio", 0.25);
    lumen_span_set_bool(root, "ok", true);
    int64_t ia[] = {1, 2};
    lumen_attr arr = {"ints", LUMEN_ATTR_INT_ARRAY, 2, {.ia = ia}};
    lumen_span_set_attrs(root, &arr, 1);
    lumen_span_add_event(root, "ev", 1000000000000000123, (lumen_attr[]){LUMEN_ATTR_STR("k", "v")},
                         1);
    lumen_span_set_status(root, LUMEN_SPAN_STATUS_ERROR, "bad");
    lumen_span_enter(root);
    lumen_span *child = lumen_span_start(e->tracer, "db", NULL);
    lumen_span_context *lc = th_ctx();
    assert_int_equal(lumen_span_context_set(lc, (const uint8_t *)"LINKTRACEIDXXXXX",
                                            (const uint8_t *)"LINKSPAN", 1, false),
                     LUMEN_OK);
    assert_int_equal(lumen_span_context_set_trace_state(lc, "a=b,c", 3), LUMEN_OK);
    lumen_span_add_link(child, lc, NULL, 0);
    lumen_span_end(child);
    lumen_span_leave(root);
    lumen_span_end(root);
    assert_int_equal(lumen_memory_exporter_count(e->mem), 2);
    const lumen_span *c = lumen_memory_exporter_get(e->mem, 0);
    const lumen_span *r = lumen_memory_exporter_get(e->mem, 1);
    fix(r, "TRACEID_0123456A", "SPANID_R", 1000000000000000000, 1000000000000000500);
    fix(c, "TRACEID_0123456A", "SPANID_C", 1000000000000000100, 1000000000000000200);
    memcpy(((lumen_span *)c)->parent_id, "SPANID_R", 8);
}

static const char *expected_tree =
    "1 {\n"
    "  1 {\n"
    "    1 {\n      1: \"service.name\"\n      2 {\n        1: \"test-svc\"\n      }\n    }\n"
    "    1 {\n      1: \"telemetry.sdk.name\"\n      2 {\n        1: \"lumen\"\n      }\n    }\n"
    "    1 {\n      1: \"telemetry.sdk.language\"\n      2 {\n        1: \"c\"\n      }\n    }\n"
    "    1 {\n      1: \"telemetry.sdk.version\"\n      2 {\n        1: \"" LUMEN_VERSION_STRING
    "\"\n      }\n    }\n"
    "  }\n"
    "  2 {\n"
    "    1 {\n      1: \"test.scope\"\n      2: \"1.2.3\"\n    }\n"
    /* the child ended first */
    "    2 {\n"
    "      1: \"TRACEID_0123456A\"\n"
    "      2: \"SPANID_C\"\n"
    "      4: \"SPANID_R\"\n"
    "      5: \"db\"\n"
    "      6: 1\n"
    "      7: 0x0de0b6b3a7640064\n"
    "      8: 0x0de0b6b3a76400c8\n"
    "      13 {\n"
    "        1: \"LINKTRACEIDXXXXX\"\n"
    "        2: \"LINKSPAN\"\n"
    "        3: \"a=b\"\n"
    "        6: 0x00000001\n"
    "      }\n"
    "      16: 0x00000103\n"
    "    }\n"
    "    2 {\n"
    "      1: \"TRACEID_0123456A\"\n"
    "      2: \"SPANID_R\"\n"
    "      5: \"GET /items\"\n"
    "      6: 2\n"
    "      7: 0x0de0b6b3a7640000\n"
    "      8: 0x0de0b6b3a76401f4\n"
    "      9 {\n        1: \"http.method\"\n        2 {\n          1: \"GET\"\n        }\n      }\n"
    "      9 {\n        1: \"http.status_code\"\n        2 {\n          3: 200\n        }\n      "
    "}\n"
    "      9 {\n        1: \"neg\"\n        2 {\n          3: 18446744073709551615\n        }\n    "
    "  }\n"
    "      9 {\n        1: \"ratio\"\n        2 {\n          4: 0x3fd0000000000000\n        }\n    "
    "  }\n"
    "      9 {\n        1: \"ok\"\n        2 {\n          2: 1\n        }\n      }\n"
    "      9 {\n        1: \"ints\"\n        2 {\n          5 {\n"
    "            1 {\n              3: 1\n            }\n"
    "            1 {\n              3: 2\n            }\n"
    "          }\n        }\n      }\n"
    "      11 {\n"
    "        1: 0x0de0b6b3a764007b\n"
    "        2: \"ev\"\n"
    "        3 {\n          1: \"k\"\n          2 {\n            1: \"v\"\n          }\n        }\n"
    "      }\n"
    "      15 {\n        2: \"bad\"\n        3: 2\n      }\n"
    "      16: 0x00000103\n"
    "    }\n"
    "  }\n"
    "}\n";

static void test_trace_otlp__protobuf_decode_raw(void **state)
{
    if (!lt_have("protoc"))
        skip();
    th_env e;
    make_spans(&e);
    const lumen_span *spans[2] = {lumen_memory_exporter_get(e.mem, 0),
                                  lumen_memory_exporter_get(e.mem, 1)};
    char *body;
    size_t len;
    assert_int_equal(lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_PROTOBUF, spans, 2), LUMEN_OK);
    char *out = NULL;
    int rc = lt_run("protoc --decode_raw", body, len, &out);
    if (rc != 0 || strcmp(out, expected_tree) != 0)
        fail_msg("protoc rc %d, got:\n%s", rc, out);
    free(out);
    /* With the schema: the field types and enums are the OTLP ones. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=otlp.ExportTraceServiceRequest -I %s/tests/trace otlp_trace.proto",
             lt_source_dir());
    rc = lt_run(cmd, body, len, &out);
    if (rc != 0 || !strstr(out, "kind: SPAN_KIND_SERVER") ||
        !strstr(out, "code: STATUS_CODE_ERROR") ||
        !strstr(out, "start_time_unix_nano: 1000000000000000000") || !strstr(out, "flags: 259") ||
        !strstr(out, "int_value: -1") || !strstr(out, "double_value: 0.25"))
        fail_msg("protoc --decode rc %d:\n%s", rc, out);
    free(out);
    lumen_free(body);
    th_teardown(&e);
}

static void test_trace_otlp__protobuf_large_and_grouped(void **state)
{
    if (!lt_have("protoc"))
        skip();
    /* Two providers and three tracers; 600 spans with long attributes so
     * that lengths need 1, 2, 3 and 4-byte varints. */
    th_env a, b;
    th_setup(&a, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    th_setup(&b, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_tracer *t2 = lumen_tracer_provider_get_tracer(a.tp, "second", NULL);
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    for (int i = 0; i < 600; i++) {
        lumen_span *s = lumen_span_start(i % 3 == 0   ? a.tracer
                                         : i % 3 == 1 ? t2
                                                      : b.tracer,
                                         "s", NULL);
        lumen_span_set_str(s, "big", big);
        lumen_span_end(s);
    }
    const lumen_span *spans[600];
    size_t na = lumen_memory_exporter_count(a.mem), nb = lumen_memory_exporter_count(b.mem);
    assert_int_equal(na + nb, 600);
    /* Interleave the two providers' spans. */
    size_t k = 0;
    for (size_t i = 0; i < 400; i++) {
        spans[k++] = lumen_memory_exporter_get(a.mem, i);
        if (i < 200)
            spans[k++] = lumen_memory_exporter_get(b.mem, i);
    }
    char *body;
    size_t len;
    assert_int_equal(lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_PROTOBUF, spans, 600),
                     LUMEN_OK);
    assert_true(len > 3000000); /* > 2 MiB: the outer length needs 4 bytes */
    char *out = NULL;
    assert_int_equal(lt_run("protoc --decode_raw > /dev/null", body, len, NULL), 0);
    /* Count structure with a tiny python protobuf walker instead of text. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s/tests/trace/pbcount.py", lt_python(), lt_source_dir());
    assert_int_equal(lt_run(cmd, body, len, &out), 0);
    assert_string_equal(out, "resource_spans=2 scope_spans=3 spans=600\n");
    free(out);
    lumen_free(body);
    free(big);
    th_teardown(&a);
    th_teardown(&b);
}

static void test_trace_otlp__json_rules(void **state)
{
    th_env e;
    make_spans(&e);
    const lumen_span *spans[2] = {lumen_memory_exporter_get(e.mem, 0),
                                  lumen_memory_exporter_get(e.mem, 1)};
    lumen_span_set_double((lumen_span *)spans[1], "x", 1.0); /* ended: ignored */
    ((lumen_span *)spans[1])->attrs[3].v.d = NAN;            /* "ratio" → "NaN" */
    char *body;
    size_t len;
    assert_int_equal(lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_JSON, spans, 2), LUMEN_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s/tests/trace/check_otlp_json.py", lt_python(), lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, body, len, &out);
    if (rc != 0)
        fail_msg("check_otlp_json: %s\nbody: %s", out, body);
    free(out);
    lumen_free(body);
    th_teardown(&e);
}

static void test_trace_otlp__console_lines(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.service_name = "con";
    lumen_tracer_provider *tp;
    lumen_tracer_provider_new(&tp, &o);
    lumen_console_exporter_options co = LUMEN_CONSOLE_EXPORTER_OPTIONS_INIT;
    co.fd = fds[1];
    lumen_span_exporter *ce;
    assert_int_equal(lumen_console_exporter_new(&ce, &co), LUMEN_OK);
    lumen_span_processor *p;
    lumen_simple_processor_new(&p, ce, NULL);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "c", NULL);
    lumen_span *s = lumen_span_start(t, "one\n\"quoted\"", NULL);
    lumen_span_end(s);
    lumen_span_end(lumen_span_start(t, "two", NULL));
    lumen_tracer_provider_free(tp);
    close(fds[1]);
    char buf[8192];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json; L=sys.stdin.read().splitlines(); assert len(L)==2; "
             "a=json.loads(L[0]); assert a[\"name\"]==\"one\\n\\\"quoted\\\"\"; "
             "assert a[\"resource\"][\"service.name\"]==\"con\"; assert "
             "json.loads(L[1])[\"name\"]==\"two\"'",
             lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, buf, (size_t)n, &out);
    if (rc != 0)
        fail_msg("%s\n%s", out, buf);
    free(out);
}

/* The OpenTelemetry JS protobuf definitions decode our request into the
 * spans we made (npm @opentelemetry/otlp-transformer 0.52.1, pinned by
 * tests/trace/js/package-lock.json and installed into
 * tests/trace/js/node_modules by `scripts/deps.sh test`, never during the
 * run: skipped without node or without the package). */
static void test_trace_otlp__protobuf_decoded_by_opentelemetry_js(void **state)
{
    char dir[512], cmd[2048];
    snprintf(dir, sizeof dir, "%s/tests/trace/js", lt_source_dir());
    snprintf(cmd, sizeof cmd, "test -d '%s/node_modules/@opentelemetry/otlp-transformer'", dir);
    if (!lt_have("node") || lt_run(cmd, "", 0, NULL) != 0) {
        print_message("node or %s/node_modules missing (scripts/deps.sh test installs them); "
                      "skipped\n",
                      dir);
        skip();
    }
    th_env e;
    make_spans(&e);
    const lumen_span *spans[2] = {lumen_memory_exporter_get(e.mem, 0),
                                  lumen_memory_exporter_get(e.mem, 1)};
    char *body;
    size_t len;
    assert_int_equal(lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_PROTOBUF, spans, 2), LUMEN_OK);
    snprintf(cmd, sizeof cmd, "node '%s/decode.js'", dir);
    char *out = NULL;
    int rc = lt_run(cmd, body, len, &out);
    const char *want =
        "{\"service\":\"test-svc\",\"scope\":\"test.scope\",\"version\":\"1.2.3\","
        "\"traceId\":\"545241434549445f3031323334353641\",\"spanId\":\"5350414e49445f43\","
        "\"parentSpanId\":\"5350414e49445f52\",\"name\":\"db\",\"kind\":1,"
        "\"start\":\"1000000000000000100\",\"end\":\"1000000000000000200\",\"attrs\":{},"
        "\"events\":[],\"status\":{}}\n"
        "{\"service\":\"test-svc\",\"scope\":\"test.scope\",\"version\":\"1.2.3\","
        "\"traceId\":\"545241434549445f3031323334353641\",\"spanId\":\"5350414e49445f52\","
        "\"parentSpanId\":\"\",\"name\":\"GET /items\",\"kind\":2,"
        "\"start\":\"1000000000000000000\",\"end\":\"1000000000000000500\","
        "\"attrs\":{\"http.method\":\"GET\",\"http.status_code\":200,\"neg\":-1,\"ratio\":0.25,"
        "\"ok\":true,\"ints\":[1,2]},\"events\":[\"ev\"],\"status\":{\"message\":\"bad\",\"code\":"
        "2}}\n";
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("node rc %d:\n%s", rc, out);
    free(out);
    lumen_free(body);
    th_teardown(&e);
}

/* Invalid UTF-8 in every string a span keeps, batched with a clean span:
 * stored repaired once, so `protoc --decode` against the OTLP schema
 * (tests/trace/otlp_trace.proto, proto3 strings) accepts the whole
 * request, and the protobuf and JSON encoders carry the same text. */
static void test_trace_otlp__invalid_utf8_repaired_once_for_every_encoder(void **state)
{
    if (!lt_have("protoc"))
        skip();
    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.service_name = "svc\xff";
    po.resource_attributes = "host.name=h%FFx,%C0k=v";
    po.sampler = (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL};
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &po), LUMEN_OK);
    lumen_span_exporter *mem;
    lumen_memory_exporter_new(&mem);
    lumen_span_processor *p;
    lumen_simple_processor_new(&p, mem, NULL);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "scope\xfe", "1.0\xc0");
    /* The same invalid scope is the same tracer. */
    assert_ptr_equal(lumen_tracer_provider_get_tracer(tp, "scope\xfe", "1.0\xc0"), t);

    lumen_span *bad = lumen_span_start(t, "bad\xffname", NULL);
    lumen_span_set_str(bad, "key\xfe", "val\xc3");
    lumen_span_set_str(bad, "key\xfd", "replaced"); /* the same key once repaired */
    lumen_span_set_strn(bad, "len", "ab\xe2\x82", 4);
    const char *arr[] = {"ok", "a\xff"};
    lumen_attr sa = {"arr\xed\xa0\x80", LUMEN_ATTR_STRING_ARRAY, 2, {.sa = arr}};
    lumen_span_set_attrs(bad, &sa, 1);
    lumen_attr ea[] = {LUMEN_ATTR_STR("ek\xff", "ev\xf8")};
    lumen_span_add_event(bad, "event\xff", 0, ea, 1);
    lumen_span_context *lc = th_ctx();
    uint8_t lt[16], ls[8];
    memset(lt, 3, 16);
    memset(ls, 4, 8);
    assert_int_equal(lumen_span_context_set(lc, lt, ls, 1, false), LUMEN_OK);
    /* A tracestate that is not W3C tracestate never gets into a context,
     * so no link carries one. */
    assert_int_equal(lumen_span_context_set_trace_state(lc, "a=\xc3\xa9", 4), LUMEN_EPARSE);
    lumen_attr la[] = {LUMEN_ATTR_STR("lk", "lv\xff")};
    lumen_span_add_link(bad, lc, la, 1);
    lumen_span_update_name(bad, "bad\xffname\xfe");
    lumen_span_set_status(bad, LUMEN_SPAN_STATUS_ERROR, "desc\xff");
    lumen_span_end(bad);
    lumen_span *clean = lumen_span_start(t, "clean", NULL);
    lumen_span_set_str(clean, "k", "v");
    lumen_span_end(clean);

    const lumen_span *spans[2] = {lumen_memory_exporter_get(mem, 0),
                                  lumen_memory_exporter_get(mem, 1)};
    char *pb, *js;
    size_t pbn, jsn;
    assert_int_equal(lumen_otlp_encode_spans(&pb, &pbn, LUMEN_OTLP_PROTOBUF, spans, 2), LUMEN_OK);
    assert_int_equal(lumen_otlp_encode_spans(&js, &jsn, LUMEN_OTLP_JSON, spans, 2), LUMEN_OK);
    char *dir = lt_tempdir(), pbp[512], jsp[512], cmd[2048];
    snprintf(pbp, sizeof pbp, "%s/body.pb", dir);
    snprintf(jsp, sizeof jsp, "%s/body.json", dir);
    FILE *f = fopen(pbp, "wb");
    fwrite(pb, 1, pbn, f);
    fclose(f);
    f = fopen(jsp, "wb");
    fwrite(js, 1, jsn, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "%s %s/tests/trace/otlp_utf8_check.py %s %s %s/tests/trace/otlp_trace.proto",
             lt_python(), lt_source_dir(), pbp, jsp, lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, "", 0, &out);
    if (rc != 0)
        fail_msg("%s", out);
    /* Each invalid byte became one U+FFFD, in both encodings alike. */
    static const char *want[] = {
        "\"svc\\ufffd\"",
        "\"h\\ufffdx\"",
        "\"\\ufffdk\"",
        "\"scope\\ufffd\"",
        "\"1.0\\ufffd\"",
        "\"bad\\ufffdname\\ufffd\"",
        "\"key\\ufffd\"",
        "\"replaced\"",
        "\"ab\\ufffd\\ufffd\"",
        "\"arr\\ufffd\\ufffd\\ufffd\"",
        "\"a\\ufffd\"",
        "\"event\\ufffd\"",
        "\"ek\\ufffd\"",
        "\"ev\\ufffd\"",
        "\"lv\\ufffd\"",
        "\"desc\\ufffd\"",
        "\"clean\"",
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(want); i++)
        if (strstr(out, want[i]) == NULL)
            fail_msg("%s not in:\n%s", want[i], out);
    /* "key\xfe" and "key\xfd" are one key once repaired; the link's
     * non-ASCII tracestate was dropped. */
    const char *k = strstr(out, "\"key\\ufffd\"\n");
    assert_non_null(k);
    assert_null(strstr(k + 1, "\"key\\ufffd\"\n"));
    assert_null(strstr(js, "traceState\":\"a="));
    free(out);
    free(dir);
    lumen_free(pb);
    lumen_free(js);
    lumen_tracer_provider_free(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_otlp__protobuf_decode_raw),
        cmocka_unit_test(test_trace_otlp__protobuf_large_and_grouped),
        cmocka_unit_test(test_trace_otlp__json_rules),
        cmocka_unit_test(test_trace_otlp__console_lines),
        cmocka_unit_test(test_trace_otlp__protobuf_decoded_by_opentelemetry_js),
        cmocka_unit_test(test_trace_otlp__invalid_utf8_repaired_once_for_every_encoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
