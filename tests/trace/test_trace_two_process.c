/* tests/trace/test_trace_two_process.c: a span in this process, an HTTP
 * call carrying traceparent to a second process (the tracecontext_service
 * example), a child span there; the fake collector receives both spans
 * under one trace id with the right parent, and the second process's own
 * outgoing call carries the trace on with a new parent id and the
 * tracestate unchanged. */
#include "support/support.h"

#include <curl/curl.h>

#include "lumen/http_otlp.h"
#include "trace/helpers.h"
#include "trace/collector.h"

static pid_t start_service(const char *collector_base, int *port)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector_base, 1);
        setenv("OTEL_SERVICE_NAME", "svc-b", 1);
        setenv("OTEL_BSP_SCHEDULE_DELAY", "50", 1);
        unsetenv("OTEL_TRACES_EXPORTER");
        execl(TC_SERVICE, "tracecontext_service", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = {0};
    size_t n = 0;
    while (n < sizeof buf - 1 && read(fds[0], buf + n, 1) == 1 && buf[n] != '\n')
        n++;
    close(fds[0]);
    *port = atoi(buf);
    assert_true(*port > 0);
    return pid;
}

static void curl_set(void *carrier, const char *name, const char *value)
{
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", name, value);
    *(struct curl_slist **)carrier = curl_slist_append(*(struct curl_slist **)carrier, line);
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static void test_trace_two_process__one_trace_right_parent(void **state)
{
    collector col;
    collector_start(&col, "");
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", col.port);
    int port;
    pid_t svc = start_service(base, &port);

    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.service_name = "svc-a";
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &po), LUMEN_OK);
    lumen_otlp_http_exporter_options oo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    oo.ignore_env = true;
    oo.endpoint = col.url;
    lumen_span_exporter *e;
    assert_int_equal(lumen_otlp_http_exporter_new(&e, &oo), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_batch_processor_new(&p, e, NULL), LUMEN_OK);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "svc-a", NULL);

    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_CLIENT;
    lumen_span *client = lumen_span_start(t, "call-b", &so);
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, client);
    memcpy(sc->trace_state, "foo=1,bar=2", 12);
    sc->trace_state_len = 11;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    lumen_carrier c = LUMEN_CARRIER_INIT;
    c.set = curl_set;
    c.carrier = &hdrs;
    lumen_propagation_inject(&c, LUMEN_PROPAGATE_TRACECONTEXT, sc, NULL);
    char url[128], body[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test", port);
    snprintf(body, sizeof body, "[{\"url\": \"http://127.0.0.1:%d/callback\", \"arguments\": []}]",
             col.port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    lumen_span_end(client);
    assert_int_equal(lumen_tracer_provider_force_flush(tp, 10000), LUMEN_OK);
    kill(svc, SIGTERM); /* the service flushes its spans as it stops */
    int st;
    waitpid(svc, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    char tid[33], sid[17], pat[256];
    th_hex(tid, sc->trace_id, 16);
    th_hex(sid, sc->span_id, 8);
    char *log = collector_log(&col);
    /* Ours: the client span. */
    snprintf(
        pat, sizeof pat,
        "{\"traceId\": \"%s\", \"spanId\": \"%s\", \"parentSpanId\": \"\", \"name\": \"call-b\"}",
        tid, sid);
    if (strstr(log, pat) == NULL)
        fail_msg("missing %s in\n%s", pat, log);
    /* Theirs: the server span, child of ours, same trace. */
    snprintf(pat, sizeof pat, "\"traceId\": \"%s\", \"spanId\": \"", tid);
    assert_int_equal(count_substr(log, pat), 3); /* call-b, server POST, client POST */
    snprintf(pat, sizeof pat, "\"parentSpanId\": \"%s\", \"name\": \"POST\"}", sid);
    if (strstr(log, pat) == NULL)
        fail_msg("missing %s in\n%s", pat, log);
    /* The service's callback carried the trace on: same trace id, a new
     * parent id (its client span), our tracestate unchanged. */
    snprintf(pat, sizeof pat, "\"traceparent\": \"00-%s-", tid);
    char *tpline = strstr(log, pat);
    assert_non_null(tpline);
    char theirs[17];
    memcpy(theirs, tpline + strlen(pat), 16);
    theirs[16] = '\0';
    assert_string_not_equal(theirs, sid);
    snprintf(pat, sizeof pat, "\"spanId\": \"%s\", \"parentSpanId\": \"", theirs);
    assert_non_null(strstr(log, pat)); /* their client span was exported too */
    assert_non_null(strstr(log, "\"tracestate\": \"foo=1,bar=2\""));
    free(log);
    lumen_tracer_provider_free(tp);
    collector_stop(&col);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_two_process__one_trace_right_parent),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
