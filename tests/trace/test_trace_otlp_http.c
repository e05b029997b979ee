/* tests/trace/test_trace_otlp_http.c: the OTLP/HTTP exporter against a
 * fake collector on loopback: what is retried and what is not, Retry-After
 * (seconds and HTTP date), hangs and resets, partial success, gzip, JSON,
 * headers, and span conservation through the batch processor while the
 * collector is down. */
#include "support/support.h"

#include <pthread.h>
#include <time.h>

#include "http/otlp_retry.h"
#include "lumen/http_otlp.h"
#include "trace/exporter.h"
#include "trace/helpers.h"
#include "trace/collector.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct fixture {
    th_env env;
    const lumen_span *spans[3];
    collector col;
    lumen_span_exporter *exp;
} fixture;

static void setup(fixture *f, const char *script, lumen_otlp_http_exporter_options *o)
{
    th_setup(&f->env, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    for (int i = 0; i < 3; i++)
        lumen_span_end(lumen_span_start(f->env.tracer, "op", NULL));
    for (int i = 0; i < 3; i++)
        f->spans[i] = lumen_memory_exporter_get(f->env.mem, (size_t)i);
    collector_start(&f->col, script);
    lumen_otlp_http_exporter_options def = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    if (o == NULL)
        o = &def;
    o->ignore_env = true;
    if (o->endpoint == NULL)
        o->endpoint = f->col.url;
    if (o->initial_backoff_ms == 0)
        o->initial_backoff_ms = 50;
    if (o->max_backoff_ms == 0)
        o->max_backoff_ms = 200;
    if (o->max_attempts == 0)
        o->max_attempts = 4;
    if (o->timeout_ms == 0)
        o->timeout_ms = 5000;
    assert_int_equal(lumen_otlp_http_exporter_new(&f->exp, o), LUMEN_OK);
}

static int run(fixture *f)
{
    return lumen__exporter_export(f->exp, (lumen_span *const *)f->spans, 3, 0);
}

static void teardown(fixture *f)
{
    lumen_span_exporter_free(f->exp);
    collector_stop(&f->col);
    th_teardown(&f->env);
}

static lumen_otlp_http_exporter_stats stats(fixture *f)
{
    lumen_otlp_http_exporter_stats s = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    assert_int_equal(lumen_otlp_http_exporter_get_stats(&s, f->exp), LUMEN_OK);
    return s;
}

static void test_trace_otlp_http__ok_once_with_headers(void **state)
{
    fixture f;
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    /* A line break in a value, raw or percent-encoded, drops that member:
     * no header can be injected. */
    o.headers = "api-key=s%3Dcret, evil=a%0D%0AX-Injected: 1, x-team = core ,bad";
    setup(&f, "200", &o);
    assert_int_equal(run(&f), LUMEN_OK);
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.exported_spans, 3);
    char *log = collector_log(&f.col);
    assert_non_null(strstr(log, "\"path\": \"/v1/traces\""));
    assert_non_null(strstr(log, "\"content-type\": \"application/x-protobuf\""));
    assert_non_null(strstr(log, "\"api-key\": \"s=cret\""));
    assert_non_null(strstr(log, "\"x-team\": \"core\""));
    assert_null(strstr(log, "x-injected"));
    assert_null(strstr(log, "\"evil\""));
    assert_non_null(strstr(log, "\"user-agent\": \"OTel-OTLP-Exporter-C/"));
    assert_int_equal(count_substr(log, "\"name\": \"op\""), 3);
    free(log);
    teardown(&f);
}

static void not_retried(const char *script, int status)
{
    fixture f;
    setup(&f, script, NULL);
    assert_int_equal(run(&f), LUMEN_EHTTP);
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.fail_http, 1);
    assert_int_equal(s.last_status, status);
    assert_int_equal(collector_requests(&f.col), 1);
    teardown(&f);
}

static void test_trace_otlp_http__400_413_500_not_retried(void **state)
{
    not_retried("400,200", 400);
    not_retried("413,200", 413);
    not_retried("500,200", 500);
    not_retried("501,200", 501);
}

static void test_trace_otlp_http__retryable_statuses(void **state)
{
    fixture f;
    setup(&f, "503,502,504,200", NULL);
    assert_int_equal(run(&f), LUMEN_OK);
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.exported_spans, 3);
    teardown(&f);
    /* Attempts are bounded. */
    setup(&f, "503,503,503,503,503,503", NULL);
    assert_int_equal(run(&f), LUMEN_EHTTP);
    assert_int_equal(stats(&f).requests, 4);
    assert_int_equal(collector_requests(&f.col), 4);
    teardown(&f);
}

static void test_trace_otlp_http__retry_after_seconds_and_date(void **state)
{
    fixture f;
    setup(&f, "429:ra=1,200", NULL);
    int64_t t0 = mono_ms();
    assert_int_equal(run(&f), LUMEN_OK);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 950); /* 1 s, not the 50 ms backoff, not 1 ns */
    assert_true(took < 3000);
    assert_int_equal(stats(&f).requests, 2);
    teardown(&f);

    setup(&f, "503:date=2,200", NULL);
    t0 = mono_ms();
    assert_int_equal(run(&f), LUMEN_OK);
    took = mono_ms() - t0;
    assert_true(took >= 900); /* an HTTP date has one-second resolution */
    assert_true(took < 3500);
    teardown(&f);

    /* A Retry-After beyond the deadline fails at once instead of waiting. */
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.timeout_ms = 1000;
    setup(&f, "429:ra=30,200", &o);
    t0 = mono_ms();
    assert_int_equal(run(&f), LUMEN_EHTTP);
    assert_true(mono_ms() - t0 < 800);
    assert_int_equal(stats(&f).requests, 1);
    teardown(&f);
}

static void test_trace_otlp_http__hang_spends_budget_once(void **state)
{
    fixture f;
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.timeout_ms = 600;
    setup(&f, "hang,200", &o);
    int64_t t0 = mono_ms();
    assert_int_equal(run(&f), LUMEN_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 500 && took < 2000);
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.fail_timeout, 1);
    teardown(&f);
}

static void test_trace_otlp_http__reset_and_down_are_retried(void **state)
{
    fixture f;
    setup(&f, "reset,200", NULL);
    assert_int_equal(run(&f), LUMEN_OK);
    assert_int_equal(stats(&f).requests, 2);
    teardown(&f);

    /* Nothing listens: every attempt fails to connect, with backoff. */
    setup(&f, "", NULL);
    collector_stop(&f.col);
    int64_t t0 = mono_ms();
    assert_int_equal(run(&f), LUMEN_ECONNECT);
    int64_t took = mono_ms() - t0;
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.fail_connect, 1);
    /* three waits: 50, 100, 200 ms, each times 0.5..1.5 */
    assert_true(took >= 170 && took < 2000);
    teardown(&f);
}

static void test_trace_otlp_http__partial_success_not_retried(void **state)
{
    fixture f;
    setup(&f, "partial=2,200", NULL);
    assert_int_equal(run(&f), LUMEN_OK);
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.rejected_spans, 2);
    assert_int_equal(s.exported_spans, 1);
    teardown(&f);
}

static void test_trace_otlp_http__response_body_capped(void **state)
{
    fixture f;
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.max_response_bytes = 1024;
    setup(&f, "big,big", &o);
    assert_int_equal(run(&f), LUMEN_OK); /* the status decides */
    assert_int_equal(run(&f), LUMEN_OK); /* and the handle still works */
    lumen_otlp_http_exporter_stats s = stats(&f);
    assert_int_equal(s.requests, 2);
    assert_int_equal(s.exported_spans, 6);
    teardown(&f);
}

typedef struct export_thread {
    fixture *f;
    int r;
    int64_t took;
} export_thread;

static void *export_in_thread(void *arg)
{
    export_thread *x = arg;
    int64_t t0 = mono_ms();
    x->r = run(x->f);
    x->took = mono_ms() - t0;
    return NULL;
}

/* Shutdown interrupts a retry wait and a hung request: it never waits for
 * the collector. */
static void test_trace_otlp_http__shutdown_interrupts(void **state)
{
    static const char *scripts[] = {"429:ra=20,200", "hang"};
    for (int i = 0; i < 2; i++) {
        fixture f;
        lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
        o.timeout_ms = 30000;
        setup(&f, scripts[i], &o);
        export_thread x = {&f, LUMEN_OK, 0};
        pthread_t t;
        pthread_create(&t, NULL, export_in_thread, &x);
        /* Shut down once the export is in its retry wait (the exporter has
         * counted the answered request: the collector counting it is not
         * enough, the 429 may still be on its way) or in the hung request
         * (the collector has it and never answers). */
        int64_t deadline = mono_ms() + 10000;
        while ((i == 0 ? stats(&f).requests : (uint64_t)collector_requests(&f.col)) < 1 &&
               mono_ms() < deadline)
            usleep(10000);
        assert_int_equal(collector_requests(&f.col), 1);
        if (i == 0)
            assert_int_equal(stats(&f).requests, 1);
        int64_t t0 = mono_ms();
        lumen__exporter_shutdown(f.exp, 0);
        pthread_join(t, NULL);
        int64_t after = mono_ms() - t0;
        /* The retry wait cut off reports its last attempt's failure (the
         * 429); the hung request, cut off in flight, is a timeout. */
        assert_int_equal(x.r, i == 0 ? LUMEN_EHTTP : LUMEN_ETIMEDOUT);
        if (after > 2500)
            fail_msg("script %s: export returned %lld ms after shutdown", scripts[i],
                     (long long)after);
        /* After shutdown, exports fail at once. */
        assert_int_equal(run(&f), LUMEN_ESHUTDOWN);
        teardown(&f);
    }
}

static void test_trace_otlp_http__gzip_and_json(void **state)
{
    fixture f;
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.compression = "gzip";
    setup(&f, "", &o);
    assert_int_equal(run(&f), LUMEN_OK);
    char *log = collector_log(&f.col);
    assert_non_null(strstr(log, "\"content-encoding\": \"gzip\""));
    assert_int_equal(count_substr(log, "\"name\": \"op\""), 3);
    assert_null(strstr(log, "\"error\""));
    free(log);
    teardown(&f);

    o = (lumen_otlp_http_exporter_options)LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.protocol = "http/json";
    setup(&f, "", &o);
    assert_int_equal(run(&f), LUMEN_OK);
    log = collector_log(&f.col);
    assert_non_null(strstr(log, "\"content-type\": \"application/json\""));
    assert_int_equal(count_substr(log, "\"name\": \"op\""), 3);
    free(log);
    teardown(&f);
}

/* https: the collector's certificate is trusted through the certificate
 * option; without it the connection is refused and not retried forever. */
static void test_trace_otlp_http__https_with_certificate(void **state)
{
    if (!lt_have("openssl"))
        skip();
    char *dir = lt_tempdir();
    char cert[512], key[512], cmd[2048];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(
        cmd, sizeof cmd,
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' "
        "-out '%s' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>&1",
        key, cert);
    assert_int_equal(lt_run(cmd, "", 0, NULL), 0);
    th_env env;
    th_setup(&env, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_span_end(lumen_span_start(env.tracer, "secure", NULL));
    lumen_span *s = (lumen_span *)lumen_memory_exporter_get(env.mem, 0);
    collector c;
    collector_start_tls(&c, "", cert, key);
    for (int trusted = 1; trusted >= 0; trusted--) {
        lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
        o.ignore_env = true;
        o.endpoint = c.url;
        o.certificate = trusted ? cert : NULL;
        o.max_attempts = 2;
        o.initial_backoff_ms = 10;
        o.timeout_ms = 5000;
        lumen_span_exporter *e;
        assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_OK);
        int r = lumen__exporter_export(e, &s, 1, 0);
        assert_int_equal(r, trusted ? LUMEN_OK : LUMEN_EIO);
        lumen_span_exporter_free(e);
    }
    char *log = collector_log(&c);
    assert_int_equal(count_substr(log, "\"name\": \"secure\""), 1);
    free(log);
    collector_stop(&c);
    th_teardown(&env);
    free(dir);
}

static void test_trace_otlp_http__config_from_env(void **state)
{
    lumen_span_exporter *e;
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.protocol = "grpc";
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_ECONFIG);
    o = (lumen_otlp_http_exporter_options)LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.endpoint = "localhost:4318";
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_ECONFIG);
    /* Base endpoint gets /v1/traces with one slash; the collector sees it. */
    collector c;
    collector_start(&c, "");
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", c.port);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "k=v", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "traces=1", 1);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    assert_int_equal(lumen_otlp_http_exporter_new(&e, NULL), LUMEN_OK);
    th_env env;
    th_setup(&env, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_span_end(lumen_span_start(env.tracer, "envspan", NULL));
    lumen_span *s = (lumen_span *)lumen_memory_exporter_get(env.mem, 0);
    assert_int_equal(lumen__exporter_export(e, &s, 1, 0), LUMEN_OK);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/v1/traces\""));
    assert_non_null(strstr(log, "\"traces\": \"1\""));
    assert_null(strstr(log, "\"k\": \"v\""));
    assert_non_null(strstr(log, "application/json"));
    assert_non_null(strstr(log, "\"content-encoding\": \"gzip\""));
    free(log);
    lumen_span_exporter_free(e);
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
    unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
    th_teardown(&env);
    collector_stop(&c);
}

static void test_trace_otlp_http__retry_rules_unit(void **state)
{
    assert_true(lumen__otlp_retryable_status(429));
    assert_true(lumen__otlp_retryable_status(502));
    assert_true(lumen__otlp_retryable_status(503));
    assert_true(lumen__otlp_retryable_status(504));
    assert_false(lumen__otlp_retryable_status(500));
    assert_false(lumen__otlp_retryable_status(408));
    assert_false(lumen__otlp_retryable_status(413));
    assert_int_equal(lumen__otlp_retry_after_ms("10", 0, 60000), 10000);
    assert_int_equal(lumen__otlp_retry_after_ms(" 0 ", 0, 60000), 0);
    assert_int_equal(lumen__otlp_retry_after_ms("999999999999", 0, 60000), 60000);
    assert_int_equal(lumen__otlp_retry_after_ms("1.5", 0, 60000), -1);
    assert_int_equal(lumen__otlp_retry_after_ms("soon", 0, 60000), -1);
    assert_int_equal(lumen__otlp_retry_after_ms(NULL, 0, 60000), -1);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    assert_int_equal(lumen__otlp_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, 60000),
                     7000);
    assert_int_equal(lumen__otlp_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111800, 60000),
                     0);
    /* Backoff doubles to the cap; jitter stays within [0.5, 1.5). */
    assert_int_equal(lumen__otlp_backoff_ms(2, 1000, 30000, 1ull << 63), 1000);
    assert_int_equal(lumen__otlp_backoff_ms(3, 1000, 30000, 1ull << 63), 2000);
    assert_int_equal(lumen__otlp_backoff_ms(10, 1000, 30000, 1ull << 63), 30000);
    assert_int_equal(lumen__otlp_backoff_ms(2, 1000, 30000, 0), 500);
    assert_true(lumen__otlp_backoff_ms(2, 1000, 30000, ~0ull) < 1500);
    char msg[64];
    const char pb[] = "\x0a\x0b\x08\x05\x12\x07too old";
    assert_int_equal(lumen__otlp_partial_success(pb, sizeof pb - 1, false, msg, sizeof msg), 5);
    assert_string_equal(msg, "too old");
    const char js[] = "{\"partialSuccess\":{\"rejectedSpans\":\"7\",\"errorMessage\":\"x\"}}";
    assert_int_equal(lumen__otlp_partial_success(js, sizeof js - 1, true, msg, sizeof msg), 7);
    assert_string_equal(msg, "x");
    assert_int_equal(lumen__otlp_partial_success("\xff\xff", 2, false, msg, sizeof msg), 0);
}

/* Average ns to start and end a sampled span with 2 attributes. */
static double span_cost(lumen_tracer *t, int n)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        lumen_span *s = lumen_span_start(t, "op", NULL);
        lumen_span_set_str(s, "http.method", "GET");
        lumen_span_set_int(s, "http.status_code", 200);
        lumen_span_end(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

static void test_trace_otlp_http__collector_down_conservation(void **state)
{
    collector c;
    collector_start(&c, "");
    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    lumen_tracer_provider_new(&tp, &po);
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = c.url;
    o.timeout_ms = 300;
    o.initial_backoff_ms = 20;
    lumen_span_exporter *e;
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_OK);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 20;
    bo.max_export_batch_size = 256;
    lumen_span_processor *p;
    assert_int_equal(lumen_batch_processor_new(&p, e, &bo), LUMEN_OK);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "t", NULL);

    span_cost(t, 2000); /* warm the pool */
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 5000), LUMEN_OK);
    /* The least of several rounds: other programs on the machine only ever
     * add time, so the minimum is the cost itself. */
    double up = 1e18, down = 1e18;
    for (int round = 0; round < 2; round++) {
        double cost = span_cost(t, 1000);
        up = cost < up ? cost : up;
    }
    lumen_tracer_provider_force_flush(tp, 5000);
    collector_stop(&c); /* the collector goes down */
    for (int round = 0; round < 10; round++) {
        double d = span_cost(t, 2000);
        down = d < down ? d : down;
        usleep(20000);
    }
    /* Ending a span costs the same while exports fail: the exporter's
     * retries run on the worker, never on the ending thread. */
    if (!(down < up * 3 + 500))
        fail_msg("span cost up %.0f ns, down %.0f ns", up, down);
    lumen_tracer_provider_shutdown(tp, 3000);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    lumen_otlp_http_exporter_stats hs = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    lumen_otlp_http_exporter_get_stats(&hs, e);
    assert_int_equal(st.ended, 4000 + 20000);
    /* A shutdown that ran out of its budget leaves the batch in flight. */
    assert_int_equal(st.ended, st.exported + st.dropped + st.failed + st.queued + st.in_flight);
    assert_int_equal(st.exported, hs.exported_spans);
    assert_int_equal(st.exported, 4000);
    assert_true(st.dropped + st.failed > 0);
    lumen_tracer_provider_free(tp);
}

/* Options and stats not started from their _INIT are refused; the stats
 * of another kind of exporter too. */
static void test_trace_otlp_http__versions(void **state)
{
    (void)state;
    lumen_otlp_http_exporter_options o;
    memset(&o, 0, sizeof o);
    o.ignore_env = true;
    lumen_span_exporter *e = (lumen_span_exporter *)1;
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_EVERSION);
    assert_null(e);
    assert_int_equal(
        lumen_otlp_http_exporter_options_init(&o, LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_VERSION),
        LUMEN_OK);
    o.ignore_env = true;
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &o), LUMEN_OK);
    lumen_otlp_http_exporter_stats s;
    memset(&s, 0xab, sizeof s);
    s.version = 0;
    assert_int_equal(lumen_otlp_http_exporter_get_stats(&s, e), LUMEN_EVERSION);
    assert_int_equal(s.requests, 0xababababababababull); /* untouched */
    assert_int_equal(
        lumen_otlp_http_exporter_stats_init(&s, LUMEN_OTLP_HTTP_EXPORTER_STATS_VERSION), LUMEN_OK);
    assert_int_equal(lumen_otlp_http_exporter_get_stats(&s, e), LUMEN_OK);
    assert_int_equal(s.requests, 0);
    lumen_span_exporter *mem;
    assert_int_equal(lumen_memory_exporter_new(&mem), LUMEN_OK);
    assert_int_equal(lumen_otlp_http_exporter_get_stats(&s, mem), LUMEN_EINVAL);
    lumen_span_exporter_free(mem);
    lumen_span_exporter_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_otlp_http__retry_rules_unit),
        cmocka_unit_test(test_trace_otlp_http__ok_once_with_headers),
        cmocka_unit_test(test_trace_otlp_http__400_413_500_not_retried),
        cmocka_unit_test(test_trace_otlp_http__retryable_statuses),
        cmocka_unit_test(test_trace_otlp_http__retry_after_seconds_and_date),
        cmocka_unit_test(test_trace_otlp_http__hang_spends_budget_once),
        cmocka_unit_test(test_trace_otlp_http__reset_and_down_are_retried),
        cmocka_unit_test(test_trace_otlp_http__partial_success_not_retried),
        cmocka_unit_test(test_trace_otlp_http__response_body_capped),
        cmocka_unit_test(test_trace_otlp_http__shutdown_interrupts),
        cmocka_unit_test(test_trace_otlp_http__gzip_and_json),
        cmocka_unit_test(test_trace_otlp_http__config_from_env),
        cmocka_unit_test(test_trace_otlp_http__https_with_certificate),
        cmocka_unit_test(test_trace_otlp_http__collector_down_conservation),
        cmocka_unit_test(test_trace_otlp_http__versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
