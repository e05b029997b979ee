/* tests/metrics/test_metrics_otlp.c: lumen_otlp_encode_metrics, a
 * registry of every instrument encoded as an ExportMetricsServiceRequest:
 * `protoc --decode` against tests/metrics/otlp_metrics.proto (written from
 * the OTLP field numbers) accepts the protobuf body and shows every field;
 * the OpenTelemetry JS definitions (tests/trace/js/decode_metrics.js)
 * decode it to the expected points, and the OTLP/JSON body, built into
 * the same message, gives the same points, also for long labels and
 * large families; bad arguments are refused. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumen/otlp.h"
#include "lumen/trace.h"

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub))
        n++;
    return n;
}

static struct {
    lumen_registry *reg;
    lumen_tracer_provider *tp;
    char *pb, *json;
    size_t pb_len, json_len, points;
} F;

static double seven(void *ud)
{
    (void)ud;
    return 7;
}

/* A collector: a counter, a histogram (cumulative buckets, as the text
 * format has them) and a summary, each one series. */
static int collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    const lumen_label q[] = {{"queue", "mail"}};
    lumen_collect_family(s, LUMEN_METRIC_COUNTER, "jobs", "Jobs done.", NULL);
    lumen_collect_sample(s, "", q, 1, 12);
    lumen_collect_family(s, LUMEN_METRIC_HISTOGRAM, "job_seconds", "Job time.", "seconds");
    const lumen_label b1[] = {{"queue", "mail"}, {"le", "1"}},
                      b2[] = {{"queue", "mail"}, {"le", "5"}},
                      b3[] = {{"queue", "mail"}, {"le", "+Inf"}};
    lumen_collect_sample(s, "_bucket", b1, 2, 2);
    lumen_collect_sample(s, "_bucket", b2, 2, 5);
    lumen_collect_sample(s, "_bucket", b3, 2, 6);
    lumen_collect_sample(s, "_sum", q, 1, 17.5);
    lumen_collect_sample(s, "_count", q, 1, 6);
    lumen_collect_family(s, LUMEN_METRIC_SUMMARY, "job_wait", "Waits.", NULL);
    const lumen_label w[] = {{"quantile", "0.99"}};
    lumen_collect_sample(s, "", w, 1, 0.25);
    lumen_collect_sample(s, "_sum", NULL, 0, 3);
    lumen_collect_sample(s, "_count", NULL, 0, 30);
    /* Bytes that are no UTF-8, which OTLP strings must be: repaired. */
    lumen_collect_family(s, LUMEN_METRIC_GAUGE, "odd", "bad \xff help", NULL);
    const lumen_label bad[] = {{"v", "x\xfey"}};
    lumen_collect_sample(s, "", bad, 1, 1);
    return LUMEN_OK;
}

static int group_setup(void **state)
{
    (void)state;
    setenv("OTEL_SERVICE_NAME", "metrics-svc", 1);
    assert_int_equal(lumen_tracer_provider_new(&F.tp, NULL), LUMEN_OK);
    assert_int_equal(lumen_registry_new(&F.reg), LUMEN_OK);

    /* A counter with labels and an exemplar with trace and span ids. */
    lumen_family *fam;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *lab[] = {"path", "code"};
    o.help = "Requests served.";
    o.label_names = lab;
    o.label_count = 2;
    assert_int_equal(lumen_family_new(&fam, F.reg, LUMEN_METRIC_COUNTER, "http_requests", &o),
                     LUMEN_OK);
    lumen_counter *c;
    const char *v1[] = {"/a", "200"}, *v2[] = {"/b\"x", ""};
    assert_int_equal(lumen_family_counter(&c, fam, v1, 2), LUMEN_OK);
    lumen_counter_add(c, 3);
    const lumen_label ex[] = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                              {"span_id", "00f067aa0ba902b7"},
                              {"user", "bo\"b"}};
    lumen_counter_add_exemplar(c, 2, ex, 3);
    assert_int_equal(lumen_family_counter(&c, fam, v2, 2), LUMEN_OK);
    lumen_counter_add(c, 0.5);

    /* A gauge with a unit and a constant label. */
    lumen_family_options g = LUMEN_FAMILY_OPTIONS_INIT;
    const lumen_label region = {"region", "eu"};
    g.unit = "celsius";
    g.const_labels = &region;
    g.const_label_count = 1;
    assert_int_equal(lumen_family_new(&fam, F.reg, LUMEN_METRIC_GAUGE, "temp_celsius", &g),
                     LUMEN_OK);
    lumen_gauge *ga;
    assert_int_equal(lumen_family_gauge(&ga, fam, NULL, 0), LUMEN_OK);
    lumen_gauge_set(ga, -3.5);

    const lumen_label bl = {"version", "1.2.3"};
    assert_int_equal(lumen_info_new(NULL, F.reg, "build", "Build.", &bl, 1), LUMEN_OK);
    assert_int_equal(lumen_gauge_func_new(NULL, F.reg, "queue_depth", "Depth.", seven, NULL),
                     LUMEN_OK);

    /* A classic histogram. */
    lumen_histogram *h;
    const double bounds[] = {0.1, 1};
    assert_int_equal(lumen_histogram_new(&h, F.reg, "latency_seconds", "Latency.", bounds, 2),
                     LUMEN_OK);
    lumen_histogram_observe(h, 0.05);
    lumen_histogram_observe(h, 0.5);
    lumen_histogram_observe(h, 2);

    /* A native histogram: zero, two of 1 (OTel bucket -1 at scale 8, whose
     * upper boundary is 1), one of -4 (negative bucket 511). */
    lumen_family_options n = LUMEN_FAMILY_OPTIONS_INIT;
    n.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    assert_int_equal(lumen_family_new(&fam, F.reg, LUMEN_METRIC_HISTOGRAM, "size_bytes", &n),
                     LUMEN_OK);
    assert_int_equal(lumen_family_histogram(&h, fam, NULL, 0), LUMEN_OK);
    lumen_histogram_observe(h, 0);
    lumen_histogram_observe(h, 1);
    lumen_histogram_observe(h, 1);
    const lumen_label hx[] = {{"trace_id", "0af7651916cd43dd8448eb211c80319c"},
                              {"span_id", "b7ad6b7169203331"}};
    lumen_histogram_observe_exemplar(h, -4, hx, 2);

    /* A summary. */
    lumen_family_options s = LUMEN_FAMILY_OPTIONS_INIT;
    const double qs[] = {0.5, 0.9};
    s.quantiles = qs;
    s.quantile_count = 2;
    assert_int_equal(lumen_family_new(&fam, F.reg, LUMEN_METRIC_SUMMARY, "rpc_seconds", &s),
                     LUMEN_OK);
    lumen_summary *su;
    assert_int_equal(lumen_family_summary(&su, fam, NULL, 0), LUMEN_OK);
    for (int i = 1; i <= 10; i++)
        lumen_summary_observe(su, i);

    assert_int_equal(lumen_registry_add_collector(NULL, F.reg, NULL, collect, NULL), LUMEN_OK);

    assert_int_equal(lumen_otlp_encode_metrics(&F.pb, &F.pb_len, &F.points, LUMEN_OTLP_PROTOBUF,
                                               &F.reg, 1, F.tp, "test.scope"),
                     LUMEN_OK);
    size_t jp = 0;
    assert_int_equal(lumen_otlp_encode_metrics(&F.json, &F.json_len, &jp, LUMEN_OTLP_JSON, &F.reg,
                                               1, F.tp, "test.scope"),
                     LUMEN_OK);
    assert_int_equal(F.points, 12);
    assert_int_equal(jp, 12);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    lumen_free(F.pb);
    lumen_free(F.json);
    lumen_registry_free(F.reg);
    lumen_tracer_provider_free(F.tp);
    return 0;
}

static void test_metrics_otlp__protoc_decodes_every_field(void **state)
{
    (void)state;
    if (!lt_have("protoc")) {
        print_message("protoc missing; skipped\n");
        skip();
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc "
             "--decode=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest "
             "-I %s/tests/metrics otlp_metrics.proto",
             lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, F.pb, F.pb_len, &out);
    if (rc != 0)
        fail_msg("protoc rc %d:\n%s", rc, out);
    const char *lines[] = {
        "key: \"service.name\"",
        "string_value: \"metrics-svc\"",
        "name: \"test.scope\"",
        "version: \"" /* lumen's */,
        /* the counter */
        "name: \"http_requests\"",
        "description: \"Requests served.\"",
        "key: \"path\"",
        "string_value: \"/a\"",
        "string_value: \"/b\\\"x\"",
        "key: \"code\"",
        "string_value: \"200\"",
        "string_value: \"\"",
        "as_double: 5",
        "as_double: 0.5",
        "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE",
        "is_monotonic: true",
        "exemplars {",
        "filtered_attributes {",
        "key: \"user\"",
        "string_value: \"bo\\\"b\"",
        "span_id: \"\\000\\360g\\252\\013\\251\\002\\267\"",
        "trace_id: \"K\\371/5w\\263M\\246\\243\\316\\222\\235\\016\\016G6\"",
        /* the gauge */
        "name: \"temp_celsius\"",
        "unit: \"celsius\"",
        "gauge {",
        "key: \"region\"",
        "as_double: -3.5",
        /* info and the function gauge */
        "name: \"build_info\"",
        "as_int: 1",
        "key: \"version\"",
        "string_value: \"1.2.3\"",
        "name: \"queue_depth\"",
        "as_double: 7",
        /* the classic histogram */
        "name: \"latency_seconds\"",
        "histogram {",
        "count: 3",
        "sum: 2.55",
        "bucket_counts: 1\n          bucket_counts: 1\n          bucket_counts: 1",
        "explicit_bounds: 0.1\n          explicit_bounds: 1",
        /* the native one */
        "name: \"size_bytes\"",
        "exponential_histogram {",
        "count: 4",
        "sum: -2",
        "scale: 8",
        "zero_count: 1",
        "positive {\n            offset: -1\n            bucket_counts: 2",
        "negative {\n            offset: 511\n            bucket_counts: 1",
        "as_double: -4",
        /* the summary */
        "name: \"rpc_seconds\"",
        "summary {",
        "count: 10",
        "sum: 55",
        "quantile_values {\n            quantile: 0.5",
        "quantile: 0.9",
        /* the collected families */
        "name: \"jobs\"",
        "string_value: \"mail\"",
        "as_double: 12",
        "name: \"job_seconds\"",
        "unit: \"seconds\"",
        "count: 6",
        "sum: 17.5",
        "bucket_counts: 2\n          bucket_counts: 3\n          bucket_counts: 1",
        "explicit_bounds: 1\n          explicit_bounds: 5\n",
        "name: \"job_wait\"",
        "count: 30",
        "quantile: 0.99\n            value: 0.25",
        "description: \"bad \\357\\277\\275 help\"",
        "string_value: \"x\\357\\277\\275y\"",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        if (strstr(out, lines[i]) == NULL)
            fail_msg("missing %s in:\n%s", lines[i], out);
    /* Start times on every point but the gauges'; is_monotonic false for info. */
    assert_int_equal(count_substr(out, "start_time_unix_nano: "), 6);
    assert_int_equal(count_substr(out, "time_unix_nano: "), 6 + 12 + 2 /* exemplars */);
    assert_int_equal(count_substr(out, "is_monotonic: true"), 2);
    /* le and quantile are no attributes */
    assert_null(strstr(out, "key: \"le\""));
    assert_null(strstr(out, "key: \"quantile\""));
    free(out);
}

/* The points' times masked ("time":"T"): two encodes are two instants. */
static void mask_times(char *s)
{
    for (char *p = strstr(s, "\"time\":\""); p != NULL; p = strstr(p + 1, "\"time\":\"")) {
        char *d = p + 8, *e = d;
        while (*e >= '0' && *e <= '9')
            e++;
        *d = 'T';
        memmove(d + 1, e, strlen(e) + 1);
    }
}

static bool have_js(char *dir, size_t cap)
{
    char cmd[1024];
    snprintf(dir, cap, "%s/tests/trace/js", lt_source_dir());
    snprintf(cmd, sizeof cmd, "test -d '%s/node_modules/@opentelemetry/otlp-transformer'", dir);
    return lt_have("node") && lt_run(cmd, "", 0, NULL) == 0;
}

static void test_metrics_otlp__decoded_by_opentelemetry_js(void **state)
{
    (void)state;
    char dir[512], cmd[1024];
    if (!have_js(dir, sizeof dir)) {
        print_message("node or %s/node_modules missing (scripts/deps.sh test installs them); "
                      "skipped\n",
                      dir);
        skip();
    }
    snprintf(cmd, sizeof cmd, "node '%s/decode_metrics.js'", dir);
    char *out = NULL;
    int rc = lt_run(cmd, F.pb, F.pb_len, &out);
    if (rc != 0)
        fail_msg("decode_metrics.js rc %d:\n%s", rc, out);
    const char *want[] = {
        "{\"service\":\"metrics-svc\",\"scope\":\"test.scope\",\"version\":\"",
        "{\"metric\":\"build_info\",\"desc\":\"Build.\",\"unit\":\"\",\"kind\":\"sum\","
        "\"temporality\":2,\"monotonic\":false,\"attrs\":{\"version\":\"1.2.3\"},\"start\":\"",
        "\"value\":\"int:1\",\"exemplars\":[]}",
        "{\"metric\":\"http_requests\",\"desc\":\"Requests served.\",\"unit\":\"\","
        "\"kind\":\"sum\",\"temporality\":2,\"monotonic\":true,\"attrs\":{\"path\":\"/a\","
        "\"code\":\"200\"},\"start\":\"",
        "\"value\":5,\"exemplars\":[{\"attrs\":{\"user\":\"bo\\\"b\"},\"time\":\"",
        "\"value\":2,\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"spanId\":\"00f067aa0ba902b7\"}]}",
        "\"attrs\":{\"path\":\"/b\\\"x\",\"code\":\"\"}",
        "\"value\":0.5,\"exemplars\":[]}",
        "\"kind\":\"histogram\",\"temporality\":2,\"monotonic\":false,\"attrs\":{},",
        "\"count\":\"3\",\"sum\":2.55,\"buckets\":[\"1\",\"1\",\"1\"],\"bounds\":[0.1,1],"
        "\"exemplars\":[]}",
        "{\"metric\":\"queue_depth\",\"desc\":\"Depth.\",\"unit\":\"\",\"kind\":\"gauge\","
        "\"temporality\":0,\"monotonic\":false,\"attrs\":{},\"start\":\"0\",\"time\":\"",
        "\"value\":7,",
        "\"count\":\"10\",\"sum\":55,\"quantiles\":[[0.5,",
        "[0.9,",
        "{\"metric\":\"size_bytes\",\"desc\":\"\",\"unit\":\"\",\"kind\":\"exponentialHistogram\","
        "\"temporality\":2,",
        "\"count\":\"4\",\"sum\":-2,\"scale\":8,\"zeroCount\":\"1\",\"zeroThreshold\":0,"
        "\"positive\":{\"offset\":-1,\"counts\":[\"2\"]},"
        "\"negative\":{\"offset\":511,\"counts\":[\"1\"]},\"exemplars\":[{\"attrs\":{},"
        "\"time\":\"",
        "\"value\":-4,\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
        "\"spanId\":\"b7ad6b7169203331\"}]}",
        "{\"metric\":\"temp_celsius\",\"desc\":\"\",\"unit\":\"celsius\",\"kind\":\"gauge\","
        "\"temporality\":0,\"monotonic\":false,\"attrs\":{\"region\":\"eu\"},\"start\":\"0\"",
        "\"value\":-3.5,",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (strstr(out, want[i]) == NULL)
            fail_msg("missing %s in:\n%s", want[i], out);
    const char *collected[] = {
        "{\"metric\":\"jobs\",\"desc\":\"Jobs done.\",\"unit\":\"\",\"kind\":\"sum\","
        "\"temporality\":2,\"monotonic\":true,\"attrs\":{\"queue\":\"mail\"},\"start\":\"0\"",
        "\"value\":12,\"exemplars\":[]}",
        "{\"metric\":\"job_seconds\",\"desc\":\"Job time.\",\"unit\":\"seconds\","
        "\"kind\":\"histogram\",\"temporality\":2,\"monotonic\":false,"
        "\"attrs\":{\"queue\":\"mail\"},\"start\":\"0\"",
        "\"count\":\"6\",\"sum\":17.5,\"buckets\":[\"2\",\"3\",\"1\"],\"bounds\":[1,5],",
        "{\"metric\":\"job_wait\",\"desc\":\"Waits.\",\"unit\":\"\",\"kind\":\"summary\","
        "\"temporality\":0,\"monotonic\":false,\"attrs\":{},\"start\":\"0\"",
        "\"count\":\"30\",\"sum\":3,\"quantiles\":[[0.99,0.25]]}",
    };
    for (size_t i = 0; i < sizeof collected / sizeof *collected; i++)
        if (strstr(out, collected[i]) == NULL)
            fail_msg("missing %s in:\n%s", collected[i], out);
    assert_non_null(strstr(out, "{\"metric\":\"odd\",\"desc\":\"bad \xef\xbf\xbd help\""));
    assert_non_null(strstr(out, "\"attrs\":{\"v\":\"x\xef\xbf\xbdy\"}"));
    assert_int_equal(count_substr(out, "\n"), 1 + 12);

    /* The OTLP/JSON body carries the same message. */
    snprintf(cmd, sizeof cmd, "node '%s/decode_metrics.js' json", dir);
    char *jout = NULL;
    rc = lt_run(cmd, F.json, F.json_len, &jout);
    if (rc != 0)
        fail_msg("decode_metrics.js json rc %d:\n%s\n%s", rc, jout, F.json);
    mask_times(jout);
    mask_times(out);
    assert_string_equal(jout, out);
    free(jout);
    free(out);
}

/* Sizes the encoder's shortcuts must get right (the protobuf lengths
 * are computed ahead or guessed, then fixed): points over 127 bytes, a
 * Metric over 16 KiB, a family whose first series is short and the rest
 * long (its size guessed too small) and the reverse (too large), constant
 * labels, an exemplar on one series. protoc accepts the protobuf body,
 * and the JS definitions decode it to the points the OTLP/JSON body
 * (written by other code) gives. */
static void test_metrics_otlp__long_and_many_series(void **state)
{
    (void)state;
    char dir[512], cmd[1024];
    if (!have_js(dir, sizeof dir) || !lt_have("protoc")) {
        print_message("node, %s/node_modules or protoc missing; skipped\n", dir);
        skip();
    }
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *lab[] = {"path", "code"};
    const lumen_label cl[] = {{"service", "checkout"}, {"zone", "b"}};
    char longv[301];
    memset(longv, 'p', 300);
    longv[300] = '\0';
    size_t total = 0;
    for (int f = 0; f < 4; f++) {
        lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
        o.label_names = lab;
        o.label_count = 2;
        o.series_limit = 1000;
        if (f == 2) {
            o.const_labels = cl;
            o.const_label_count = 2;
        }
        char name[32];
        snprintf(name, sizeof name, "sizes_%d_total", f);
        lumen_family *fam;
        assert_int_equal(lumen_family_new(&fam, r, LUMEN_METRIC_COUNTER, name, &o), LUMEN_OK);
        int n = f == 0 ? 150 : f == 1 ? 40 : f == 2 ? 300 : 1;
        for (int k = 0; k < n; k++) {
            char path[400];
            /* f 0: the first path short, the others long; f 1: the reverse */
            bool lng = (f == 0 && k > 0) || (f == 1 && k == 0) || f == 3;
            snprintf(path, sizeof path, "%s/%03d", lng ? longv : "", k);
            const char *v[] = {path, k % 2 ? "200" : "500"};
            lumen_counter *c;
            assert_int_equal(lumen_family_counter(&c, fam, v, 2), LUMEN_OK);
            if (f == 2 && k == 7) {
                const lumen_label ex[] = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}};
                lumen_counter_add_exemplar(c, 1, ex, 1);
            } else {
                lumen_counter_add(c, k + 0.25);
            }
        }
        total += (size_t)n;
    }
    char *pb, *json;
    size_t pb_len, json_len, pts, jpts;
    assert_int_equal(
        lumen_otlp_encode_metrics(&pb, &pb_len, &pts, LUMEN_OTLP_PROTOBUF, &r, 1, NULL, NULL),
        LUMEN_OK);
    assert_int_equal(
        lumen_otlp_encode_metrics(&json, &json_len, &jpts, LUMEN_OTLP_JSON, &r, 1, NULL, NULL),
        LUMEN_OK);
    assert_int_equal(pts, total);
    assert_int_equal(jpts, total);

    snprintf(cmd, sizeof cmd,
             "protoc "
             "--decode=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest "
             "-I %s/tests/metrics otlp_metrics.proto",
             lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, pb, pb_len, &out);
    if (rc != 0)
        fail_msg("protoc rc %d:\n%.2000s", rc, out);
    assert_int_equal(count_substr(out, "start_time_unix_nano: "), (int)total);
    assert_int_equal(count_substr(out, "key: \"service\""), 300);
    free(out);

    snprintf(cmd, sizeof cmd, "node '%s/decode_metrics.js'", dir);
    rc = lt_run(cmd, pb, pb_len, &out);
    if (rc != 0)
        fail_msg("decode_metrics.js rc %d:\n%.2000s", rc, out);
    assert_int_equal(count_substr(out, "\n"), 1 + (int)total);
    assert_non_null(strstr(out, "\"value\":0.25,"));
    assert_non_null(strstr(out, "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
    snprintf(cmd, sizeof cmd, "node '%s/decode_metrics.js' json", dir);
    char *jout = NULL;
    rc = lt_run(cmd, json, json_len, &jout);
    if (rc != 0)
        fail_msg("decode_metrics.js json rc %d:\n%.2000s", rc, jout);
    mask_times(jout);
    mask_times(out);
    assert_string_equal(jout, out);
    free(jout);
    free(out);
    lumen_free(pb);
    lumen_free(json);
    lumen_registry_free(r);
}

static void test_metrics_otlp__arguments(void **state)
{
    (void)state;
    char *body = (char *)1;
    size_t len = 1, pts = 1;
    assert_int_equal(
        lumen_otlp_encode_metrics(NULL, &len, NULL, LUMEN_OTLP_JSON, NULL, 0, NULL, NULL),
        LUMEN_EINVAL);
    assert_int_equal(
        lumen_otlp_encode_metrics(&body, &len, &pts, (lumen_otlp_format)7, NULL, 0, NULL, NULL),
        LUMEN_EINVAL);
    assert_null(body);
    assert_int_equal(len, 0);
    assert_int_equal(pts, 0);
    /* A freed registry. */
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_registry_free(r);
    assert_int_equal(
        lumen_otlp_encode_metrics(&body, &len, NULL, LUMEN_OTLP_PROTOBUF, &r, 1, NULL, NULL),
        LUMEN_ENOENT);
    /* An empty registry: the envelope and the scope "lumen", no metric. */
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    assert_int_equal(
        lumen_otlp_encode_metrics(&body, &len, &pts, LUMEN_OTLP_JSON, &r, 1, NULL, NULL), LUMEN_OK);
    assert_int_equal(pts, 0);
    assert_non_null(strstr(body, "\"scope\":{\"name\":\"lumen\""));
    assert_non_null(strstr(body, "\"metrics\":[]"));
    lumen_free(body);
    /* The same registry twice: its families once. */
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, r, "twice", "x"), LUMEN_OK);
    lumen_registry *two[] = {r, r};
    assert_int_equal(
        lumen_otlp_encode_metrics(&body, &len, &pts, LUMEN_OTLP_JSON, two, 2, NULL, NULL),
        LUMEN_OK);
    assert_int_equal(pts, 1);
    assert_int_equal(count_substr(body, "\"name\":\"twice\""), 1);
    lumen_free(body);
    lumen_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_otlp__protoc_decodes_every_field),
        cmocka_unit_test(test_metrics_otlp__decoded_by_opentelemetry_js),
        cmocka_unit_test(test_metrics_otlp__long_and_many_series),
        cmocka_unit_test(test_metrics_otlp__arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
