/*
 * tests/port/port_smoke.c: liblumen on another libc or architecture.
 *
 * A plain program (no cmocka, which a musl or cross build lacks) that uses
 * liblumen as a user would: counters updated from several threads, a
 * labelled family, a histogram, a render compared byte for byte with the
 * exposition it must produce, a JSON log line, and one span through the
 * batch processor (whose worker sleeps on a futex). It prints what differs
 * and exits nonzero. scripts/test.sh builds it statically with musl and
 * runs it; the normal and cross builds run it as test_port_smoke.
 */
#include <lumen/lumen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define INCS 25000

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "port_smoke:%d: %s: ", __LINE__, #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static lumen_counter *requests;
static lumen_family *by_method;

static void *worker(void *arg)
{
    const char *method = arg;
    lumen_counter *c = NULL;
    if (lumen_family_counter(&c, by_method, &method, 1) != LUMEN_OK)
        return NULL;
    for (int i = 0; i < INCS; i++) {
        lumen_counter_inc(requests);
        lumen_counter_add(c, 0.5);
    }
    return c;
}

/* The exact exposition: integers, shortest round-trip decimals (0.1 + 0.2
 * is not 0.3, and must print as the 17 digits that say so), +Inf, label
 * order, and HELP/TYPE lines do not depend on the C library. */
static const char expected_text[] = "# HELP port_latency_seconds Handling time.\n"
                                    "# TYPE port_latency_seconds histogram\n"
                                    "port_latency_seconds_bucket{le=\"0.1\"} 2\n"
                                    "port_latency_seconds_bucket{le=\"1\"} 3\n"
                                    "port_latency_seconds_bucket{le=\"10\"} 4\n"
                                    "port_latency_seconds_bucket{le=\"+Inf\"} 5\n"
                                    "port_latency_seconds_sum 1e+21\n"
                                    "port_latency_seconds_count 5\n"
                                    "# HELP port_requests_total Requests handled.\n"
                                    "# TYPE port_requests_total counter\n"
                                    "port_requests_total 100000\n"
                                    "# HELP port_responses_total Responses by method.\n"
                                    "# TYPE port_responses_total counter\n"
                                    "port_responses_total{method=\"GET\"} 12500\n"
                                    "port_responses_total{method=\"POST\"} 12500\n"
                                    "port_responses_total{method=\"PUT \\\"x\\\"\\n\"} 12500\n"
                                    "port_responses_total{method=\"\xc3\xa9t\xc3\xa9\"} 12500\n"
                                    "# HELP port_sum Sum of two tenths.\n"
                                    "# TYPE port_sum gauge\n"
                                    "port_sum 0.30000000000000004\n";

static void check_metrics(void)
{
    lumen_registry *reg = NULL;
    int rc = lumen_registry_new(&reg);
    CHECK(rc == LUMEN_OK, "registry_new: %s", lumen_strerror(rc));
    if (rc != LUMEN_OK)
        return;
    rc = lumen_counter_new(&requests, reg, "port_requests_total", "Requests handled.");
    CHECK(rc == LUMEN_OK, "counter_new: %s", lumen_strerror(rc));
    const char *labels[] = {"method"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Responses by method.";
    o.label_names = labels;
    o.label_count = 1;
    rc = lumen_family_new(&by_method, reg, LUMEN_METRIC_COUNTER, "port_responses_total", &o);
    CHECK(rc == LUMEN_OK, "family_new: %s", lumen_strerror(rc));
    static const double buckets[] = {0.1, 1, 10};
    lumen_histogram *h = NULL;
    rc = lumen_histogram_new(&h, reg, "port_latency_seconds", "Handling time.", buckets, 3);
    CHECK(rc == LUMEN_OK, "histogram_new: %s", lumen_strerror(rc));
    lumen_gauge *g = NULL;
    rc = lumen_gauge_new(&g, reg, "port_sum", "Sum of two tenths.");
    CHECK(rc == LUMEN_OK, "gauge_new: %s", lumen_strerror(rc));
    if (failures)
        goto done;

    /* Each thread takes its own label value, so every series is updated
     * from a thread of its own while all of them bump one counter. The
     * label values carry a quote, a newline and UTF-8 to be escaped. */
    static const char *const methods[THREADS] = {"GET", "POST", "PUT \"x\"\n", "\xc3\xa9t\xc3\xa9"};
    pthread_t t[THREADS];
    int started = 0;
    for (; started < THREADS; started++)
        if (pthread_create(&t[started], NULL, worker, (void *)methods[started]) != 0)
            break;
    CHECK(started == THREADS, "started %d threads of %d", started, THREADS);
    for (int i = 0; i < started; i++) {
        void *c = NULL;
        pthread_join(t[i], &c);
        CHECK(c != NULL, "thread %d got no child for \"%s\"", i, methods[i]);
    }

    lumen_histogram_observe(h, 0.05);
    lumen_histogram_observe(h, 0.1); /* on the bound: le="0.1" holds it */
    lumen_histogram_observe(h, 0.5);
    lumen_histogram_observe(h, 10);
    lumen_histogram_observe(h, 1e21);
    lumen_gauge_set(g, 0.1);
    lumen_gauge_add(g, 0.2);

    CHECK(lumen_counter_value(requests) == (double)THREADS * INCS, "requests_total %.17g",
          lumen_counter_value(requests));
    char *text = NULL;
    size_t len = 0;
    rc = lumen_registry_render_string(&text, &len, reg, LUMEN_FORMAT_PROMETHEUS);
    CHECK(rc == LUMEN_OK, "render: %s", lumen_strerror(rc));
    if (rc == LUMEN_OK) {
        CHECK(len == strlen(text), "length %zu, strlen %zu", len, strlen(text));
        CHECK(strcmp(text, expected_text) == 0, "rendered\n%s\nexpected\n%s", text, expected_text);
        lumen_free(text);
    }
    rc = lumen_registry_render_string(&text, &len, reg, LUMEN_FORMAT_OPENMETRICS);
    CHECK(rc == LUMEN_OK, "render openmetrics: %s", lumen_strerror(rc));
    if (rc == LUMEN_OK) {
        CHECK(len >= 6 && strcmp(text + len - 6, "# EOF\n") == 0, "openmetrics ends \"%s\"",
              len >= 6 ? text + len - 6 : text);
        CHECK(strstr(text, "port_requests_total 100000\n") != NULL, "openmetrics:\n%s", text);
        lumen_free(text);
    }
done:
    lumen_registry_free(reg);
}

typedef struct captured {
    int lines;
    char line[512];
} captured;

static void capture(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)level;
    captured *cap = ud;
    if (cap->lines++ == 0 && len < sizeof cap->line) {
        memcpy(cap->line, line, len);
        cap->line[len] = '\0';
    }
}

static void check_log(void)
{
    static captured cap;
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.format = LUMEN_LOG_FORMAT_JSON;
    ho.sink = LUMEN_LOG_SINK_CALLBACK;
    ho.callback = capture;
    ho.callback_ud = &cap;
    ho.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *hd = NULL;
    int rc = lumen_log_handler_new(&hd, &ho);
    CHECK(rc == LUMEN_OK, "log_handler_new: %s", lumen_strerror(rc));
    if (rc != LUMEN_OK)
        return;
    lumen_logger *lg = lumen_logger_get("port");
    rc = lumen_logger_set_handlers(lg, &hd, 1);
    CHECK(rc == LUMEN_OK, "set_handlers: %s", lumen_strerror(rc));
    rc = lumen_logger_set_level(lg, LUMEN_LOG_INFO);
    CHECK(rc == LUMEN_OK, "set_level: %s", lumen_strerror(rc));
    LUMEN_LOG(lg, LUMEN_LOG_DEBUG, "below the level");
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "served \"it\"", LUMEN_STR("path", "/a\tb"),
              LUMEN_INT("status", -404), LUMEN_FLOAT("took", 0.25), LUMEN_BOOL("ok", 1));
    lumen_log_shutdown(5000);
    CHECK(cap.lines == 1, "%d lines logged, expected 1", cap.lines);
    /* The timestamp varies; everything after it must not. */
    const char *rest = strstr(cap.line, "\",\"level\"");
    CHECK(strncmp(cap.line, "{\"ts\":\"", 7) == 0 && rest != NULL, "line: %s", cap.line);
    if (rest != NULL) {
        static const char want[] = "\",\"level\":\"info\",\"logger\":\"port\",\"msg\":\"served "
                                   "\\\"it\\\"\",\"path\":\"/a\\tb\",\"status\":-404,\"took\":0.25,"
                                   "\"ok\":true}\n";
        CHECK(strcmp(rest, want) == 0, "line: %s", cap.line);
    }
}

static void check_span(void)
{
    lumen_span_exporter *exp = NULL;
    lumen_span_processor *bp = NULL;
    lumen_tracer_provider *tp = NULL;
    int rc = lumen_memory_exporter_new(&exp);
    CHECK(rc == LUMEN_OK, "memory_exporter_new: %s", lumen_strerror(rc));
    if (rc == LUMEN_OK) {
        rc = lumen_batch_processor_new(&bp, exp, NULL);
        CHECK(rc == LUMEN_OK, "batch_processor_new: %s", lumen_strerror(rc));
    }
    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.service_name = "port";
    if (rc == LUMEN_OK) {
        rc = lumen_tracer_provider_new(&tp, &po);
        CHECK(rc == LUMEN_OK, "tracer_provider_new: %s", lumen_strerror(rc));
        if (rc != LUMEN_OK)
            lumen_span_processor_free(bp);
    }
    if (rc == LUMEN_OK) {
        rc = lumen_tracer_provider_add_processor(tp, bp);
        CHECK(rc == LUMEN_OK, "add_processor: %s", lumen_strerror(rc));
    }
    if (rc == LUMEN_OK) {
        lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "port", NULL);
        lumen_span *s = lumen_span_start(tr, "work", NULL);
        lumen_span_set_int(s, "n", 7);
        lumen_span_end(s);
        /* The worker sleeps up to the schedule delay (5 s); the flush
         * wakes it through the futex, so this returns long before its
         * deadline when the wake works. */
        rc = lumen_tracer_provider_force_flush(tp, 60000);
        CHECK(rc == LUMEN_OK, "force_flush: %s", lumen_strerror(rc));
        size_t n = lumen_memory_exporter_count(exp);
        CHECK(n == 1, "%zu spans exported, expected 1", n);
        const lumen_span *got = n == 1 ? lumen_memory_exporter_get(exp, 0) : NULL;
        CHECK(got != NULL && strcmp(lumen_span_get_name(got), "work") == 0, "span name %s",
              got != NULL ? lumen_span_get_name(got) : "(none)");
    }
    lumen_tracer_provider_free(tp);
}

int main(void)
{
    check_metrics();
    check_log();
    check_span();
    if (failures) {
        fprintf(stderr, "port_smoke: %d check(s) failed\n", failures);
        return 1;
    }
    printf("port_smoke: lumen %s: metrics, log and trace as expected\n", lumen_version());
    return 0;
}
