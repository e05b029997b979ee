/*
 * bench/instrument: the cost of one instrumented HTTP server request.
 *
 *   instrumented_request   lumen_server_request_begin + _end: the SERVER
 *                          span (batch processor, exporter that discards),
 *                          http_server_request_duration_seconds and
 *                          http_server_active_requests, the request id, one
 *                          JSON access line to /dev/null
 *   hand_written_request   the same signals with the metrics, trace and log
 *                          APIs called directly, as a program without the
 *                          instrumentation writes them (label lookup by
 *                          value, a status-code table, no snprintf)
 *
 * Both in one process, alternating BENCH_TRIALS (30) short trials after a
 * warm-up; the fastest trial is the figure, the median a comment
 * (bench_report, bench/metrics/bench_common.h); each trial ends when
 * the batch processor has exported every span it timed (none dropped: the
 * queue holds a trial's spans, and the drops are printed).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../metrics/bench_common.h"
#include "lumen/instrument.h"
#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#define TRIAL 20000

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The calling thread's CPU time: on a loaded machine, what the loop itself
 * cost, printed as a comment beside the wall-clock figure. */
static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double loop_cpu[2][BENCH_TRIALS];

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int discard(void *ud, const lumen_span *const *s, size_t n, int64_t dl)
{
    (void)ud, (void)s, (void)n, (void)dl;
    return LUMEN_OK;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_instrument: %s: %s\n", what, lumen_strerror(rc));
    exit(1);
}

static lumen_tracer_provider *tp;
static lumen_span_processor *proc;
static lumen_tracer *tracer;
static lumen_logger *access_log;

static void setup(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    int rc = lumen_tracer_provider_new(&tp, &o);
    if (rc != LUMEN_OK)
        die("provider", rc);
    static const lumen_span_exporter_ops ops = {LUMEN_SPAN_EXPORTER_OPS_VERSION, discard, NULL,
                                                NULL, NULL};
    lumen_span_exporter *e;
    if ((rc = lumen_span_exporter_new(&e, &ops, NULL)) != LUMEN_OK)
        die("exporter", rc);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.max_queue_size = TRIAL * 2;
    if ((rc = lumen_batch_processor_new(&proc, e, &bo)) != LUMEN_OK)
        die("batch processor", rc);
    lumen_tracer_provider_add_processor(tp, proc);
    tracer = lumen_tracer_provider_get_tracer(tp, "bench", NULL);

    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.sink = LUMEN_LOG_SINK_FILE;
    ho.path = "/dev/null";
    ho.format = LUMEN_LOG_FORMAT_JSON;
    lumen_log_handler *h;
    if ((rc = lumen_log_handler_new(&h, &ho)) != LUMEN_OK)
        die("log handler", rc);
    access_log = lumen_logger_get("http.access");
    lumen_logger_set_handlers(access_log, &h, 1);
    lumen_logger_set_handlers(lumen_logger_get(""), &h, 1);
}

static void flush(void)
{
    int rc = lumen_tracer_provider_force_flush(tp, LUMEN_WAIT_FOREVER);
    if (rc != LUMEN_OK)
        die("force_flush", rc);
}

/* ---- with lumen/instrument.h ----------------------------------------------- */

static lumen_server_instrument *ins;

static double instrumented(int n, double *cpu)
{
    lumen_server_request_options ro = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    ro.method = "GET";
    ro.path = "/api/items/42";
    ro.route = "/api/items/{id}";
    double a = now_ns(), c = cpu_ns();
    for (int i = 0; i < n; i++) {
        lumen_server_request rq;
        lumen_server_request_begin(&rq, ins, &ro);
        lumen_server_request_end(&rq, 200, NULL);
    }
    *cpu = (cpu_ns() - c) / n;
    flush();
    return (now_ns() - a) / n;
}

/* ---- by hand ----------------------------------------------------------------- */

static lumen_family *hand_duration, *hand_active;

static void hand_setup(lumen_registry *r)
{
    static const double b[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                               0.5,   0.75, 1,     2.5,  5,     7.5, 10};
    static const char *labels[] = {"http_request_method", "http_route",
                                   "http_response_status_code"};
    static const char *mlabel[] = {"http_request_method"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Duration of HTTP server requests.";
    o.label_names = labels;
    o.label_count = 3;
    o.buckets = b;
    o.bucket_count = sizeof b / sizeof b[0];
    o.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
    int rc = lumen_family_new(&hand_duration, r, LUMEN_METRIC_HISTOGRAM,
                              "hand_request_duration_seconds", &o);
    if (rc != LUMEN_OK)
        die("family", rc);
    o = (lumen_family_options)LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Active HTTP server requests.";
    o.label_names = mlabel;
    o.label_count = 1;
    if ((rc = lumen_family_new(&hand_active, r, LUMEN_METRIC_GAUGE, "hand_active_requests", &o)) !=
        LUMEN_OK)
        die("family", rc);
}

static const char *status_text(int s)
{
    static const char *const t[] = {"200", "404", "500"};
    return s == 200 ? t[0] : s == 404 ? t[1] : t[2];
}

static double hand_written(int n, double *cpu)
{
    double a = now_ns(), c = cpu_ns();
    for (int i = 0; i < n; i++) {
        int64_t t0 = lumen_now_ns();
        const char *m[] = {"GET"};
        lumen_gauge *g;
        if (lumen_family_gauge(&g, hand_active, m, 1) == LUMEN_OK)
            lumen_gauge_inc(g);
        lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
        so.kind = LUMEN_SPAN_SERVER;
        lumen_span *s = lumen_span_start(tracer, "GET /api/items/{id}", &so);
        lumen_span_set_str(s, "http.request.method", "GET");
        lumen_span_set_str(s, "url.path", "/api/items/42");
        lumen_span_set_str(s, "url.scheme", "http");
        lumen_span_set_str(s, "http.route", "/api/items/{id}");
        lumen_span_enter(s);
        lumen_log_set_request_id("0123456789abcdef");
        int status = 200;
        lumen_span_set_int(s, "http.response.status_code", status);
        double secs = (double)(lumen_now_ns() - t0) / 1e9;
        const char *v[] = {"GET", "/api/items/{id}", status_text(status)};
        lumen_histogram *h;
        if (lumen_family_histogram(&h, hand_duration, v, 3) == LUMEN_OK)
            lumen_histogram_observe(h, secs);
        LUMEN_LOG_INFO(access_log, "request", LUMEN_STR("method", "GET"),
                       LUMEN_STR("route", "/api/items/{id}"), LUMEN_STR("path", "/api/items/42"),
                       LUMEN_INT("status", status),
                       LUMEN_INT("duration_us", (int64_t)(secs * 1e6)));
        lumen_log_clear_request_id();
        lumen_span_end(s);
        if (g != NULL)
            lumen_gauge_dec(g);
    }
    *cpu = (cpu_ns() - c) / n;
    flush();
    return (now_ns() - a) / n;
}

int main(void)
{
    setup();
    lumen_registry *r;
    int rc = lumen_registry_new(&r);
    if (rc != LUMEN_OK)
        die("registry", rc);
    lumen_server_instrument_options io = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    io.registry = r;
    io.tracer = tracer;
    io.logger = access_log;
    if ((rc = lumen_server_instrument_new(&ins, &io)) != LUMEN_OK)
        die("instrument", rc);
    hand_setup(r);
    double warm;
    instrumented(TRIAL / 10, &warm); /* warm: series, exemplar slots, span pool */
    hand_written(TRIAL / 10, &warm);
    double a[BENCH_TRIALS], b[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        a[k] = instrumented(TRIAL, &loop_cpu[0][k]);
        b[k] = hand_written(TRIAL, &loop_cpu[1][k]);
    }
    qsort(loop_cpu[0], BENCH_TRIALS, sizeof loop_cpu[0][0], cmp);
    qsort(loop_cpu[1], BENCH_TRIALS, sizeof loop_cpu[1][0], cmp);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, proc);
    bench_report("lumen", "instrumented_request", "ns/req", 1, a, BENCH_TRIALS);
    bench_report("lumen", "hand_written_request", "ns/req", 1, b, BENCH_TRIALS);
    printf("# the requesting thread's CPU time (median): instrumented_request %.1f ns/req, "
           "hand_written_request %.1f ns/req\n",
           loop_cpu[0][BENCH_TRIALS / 2], loop_cpu[1][BENCH_TRIALS / 2]);
    printf("# instrumented_request: spans %llu ended, %llu exported, %llu dropped\n",
           (unsigned long long)st.ended, (unsigned long long)st.exported,
           (unsigned long long)st.dropped);
    lumen_server_instrument_free(ins);
    lumen_tracer_provider_shutdown(tp, 5000);
    lumen_tracer_provider_free(tp);
    lumen_registry_free(r);
    return st.dropped == 0 ? 0 : 1;
}
