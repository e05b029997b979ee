/*
 * examples/microposts/obs.c: see obs.h. Everything a service does to be
 * observable is here, as a user of lumen would write it.
 */
#include "obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lumen/http.h"
#include "lumen/http_console.h"
#include "lumen/http_otlp.h"

static struct {
    const char *service;
    lumen_tracer_provider *tp;
    lumen_tracer *tracer;
    lumen_logger *log;
    lumen_family *requests, *duration, *db_duration, *client_requests;
    lumen_gauge *in_flight;
    lumen_http_server *server;
    lumen_otlp_metrics_reader *reader;
} g;

/* The request this thread is serving, for the X-Request-Id of its calls. */
static __thread char tls_request_id[65];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* True when a collector is configured for `signal` (TRACES, LOGS,
 * METRICS): OTEL_EXPORTER_OTLP_ENDPOINT or its per-signal variable. */
static int otlp_wanted(const char *signal)
{
    char name[64];
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal);
    return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != NULL || getenv(name) != NULL;
}

static int setup_tracing(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.service_name = g.service;
    int rc = lumen_tracer_provider_new(&g.tp, &o);
    if (rc != LUMEN_OK)
        return rc;
    /* The console keeps the recent traces, always. */
    lumen_span_exporter *exp;
    lumen_span_processor *p;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 200; /* the console should show a trace quickly */
    if ((rc = lumen_console_span_exporter_new(&exp, g.service)) != LUMEN_OK ||
        (rc = lumen_batch_processor_new(&p, exp, &bo)) != LUMEN_OK ||
        (rc = lumen_tracer_provider_add_processor(g.tp, p)) != LUMEN_OK)
        return rc;
    /* A collector, when one is configured (OTEL_EXPORTER_OTLP_ENDPOINT). */
    if (otlp_wanted("TRACES")) {
        if ((rc = lumen_otlp_http_exporter_new(&exp, NULL)) != LUMEN_OK ||
            (rc = lumen_batch_processor_new(&p, exp, NULL)) != LUMEN_OK ||
            (rc = lumen_tracer_provider_add_processor(g.tp, p)) != LUMEN_OK)
            return rc;
    }
    lumen_tracer_provider_set_global(g.tp);
    g.tracer = lumen_tracer_provider_get_tracer(g.tp, "microposts", "1.0");
    return LUMEN_OK;
}

static int setup_logs(void)
{
    /* JSON lines on stdout (the default handler) and the console's recent
     * lines. LUMEN_LOG_LEVEL and LUMEN_LOG_FORMAT still apply. */
    lumen_log_handler *out, *console;
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    int rc = lumen_log_handler_new(&out, &o);
    if (rc == LUMEN_OK)
        rc = lumen_console_log_handler_new(&console, LUMEN_LOG_DEBUG);
    if (rc != LUMEN_OK)
        return rc;
    lumen_log_handler *hs[] = {out, console};
    rc = lumen_logger_set_handlers(lumen_logger_get(""), hs, 2);
    g.log = lumen_logger_get(g.service);
    return rc;
}

static int setup_metrics(void)
{
    static const char *req_labels[] = {"method", "route", "code"};
    static const char *route_label[] = {"route"};
    static const char *query_label[] = {"query"};
    static const char *code_label[] = {"code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "HTTP requests served, by method, route and status code.";
    o.label_names = req_labels;
    o.label_count = 3;
    int rc = lumen_family_new(&g.requests, NULL, LUMEN_METRIC_COUNTER, "http_requests", &o);
    if (rc != LUMEN_OK)
        return rc;

    static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5};
    o = (lumen_family_options)LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "HTTP request latency by route; exemplars link to traces.";
    o.unit = "seconds";
    o.label_names = route_label;
    o.label_count = 1;
    o.buckets = buckets;
    o.bucket_count = sizeof buckets / sizeof buckets[0];
    o.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
    if ((rc = lumen_family_new(&g.duration, NULL, LUMEN_METRIC_HISTOGRAM,
                               "http_request_duration_seconds", &o)) != LUMEN_OK)
        return rc;

    o.help = "Database query latency by query.";
    o.label_names = query_label;
    if ((rc = lumen_family_new(&g.db_duration, NULL, LUMEN_METRIC_HISTOGRAM,
                               "db_query_duration_seconds", &o)) != LUMEN_OK)
        return rc;

    o = (lumen_family_options)LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Outgoing HTTP calls by status code (0: no answer).";
    o.label_names = code_label;
    o.label_count = 1;
    if ((rc = lumen_family_new(&g.client_requests, NULL, LUMEN_METRIC_COUNTER,
                               "http_client_requests", &o)) != LUMEN_OK)
        return rc;
    return lumen_gauge_new(&g.in_flight, NULL, "http_requests_in_flight",
                           "HTTP requests being served now.");
}

int obs_init(const char *service)
{
    g.service = service;
    int rc = setup_logs();
    if (rc == LUMEN_OK)
        rc = setup_tracing();
    if (rc == LUMEN_OK)
        rc = setup_metrics();
    /* With a collector configured, logs and metrics go to it too (traces
     * in setup_tracing): one variable, OTEL_EXPORTER_OTLP_ENDPOINT, sends
     * all three signals. Stdout and /metrics stay. */
    if (rc == LUMEN_OK && otlp_wanted("LOGS"))
        rc = lumen_otlp_logging_init(NULL, g.tp);
    if (rc == LUMEN_OK && otlp_wanted("METRICS"))
        rc = lumen_otlp_metrics_init(&g.reader, g.tp);
    if (rc != LUMEN_OK) {
        LUMEN_LOG_FATAL(lumen_logger_get(service), "instrumentation setup failed",
                        LUMEN_STATUS("error", rc));
        lumen_log_flush(0);
    }
    return rc;
}

void obs_ready(int api_port, const char *ready_file)
{
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.flags = LUMEN_HTTP_CONSOLE;
    lumen_http_server_options_from_env(&o); /* LUMEN_METRICS_ADDR and friends */
    int rc = lumen_http_server_start(&g.server, &o);
    int admin = rc == LUMEN_OK ? lumen_http_server_port(g.server) : 0;
    if (rc != LUMEN_OK)
        LUMEN_LOG_ERROR(g.log, "metrics endpoint failed to start", LUMEN_STATUS("error", rc));
    LUMEN_LOG_INFO(g.log, "service ready", LUMEN_INT("port", api_port),
                   LUMEN_INT("admin_port", admin));
    lumen_log_flush(0);
    if (ready_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "api=%d admin=%d\n", api_port, admin);
            fclose(f);
            rename(tmp, ready_file);
        }
    }
}

void obs_shutdown(void)
{
    LUMEN_LOG_INFO(g.log, "shutting down");
    lumen_http_server_stop(g.server);
    lumen_otlp_metrics_reader_free(g.reader); /* one last export, bounded */
    lumen_tracer_provider_shutdown(g.tp, 2000);
    lumen_log_shutdown(1000);
}

void obs_fatal(const char *msg, const char *detail)
{
    LUMEN_LOG_FATAL(g.log ? g.log : lumen_logger_get(""), msg, LUMEN_STR("detail", detail));
    lumen_log_flush(0);
}

void obs_event(const char *name)
{
    lumen_span_add_event(lumen_span_current(), name, 0, NULL, 0);
    LUMEN_LOG_WARN(g.log, name);
}

/* ---- requests -------------------------------------------------------------- */

void obs_request_begin(obs_request *r, const char *method, const char *route,
                       const char *request_id, const lumen_carrier *incoming)
{
    r->start_ns = now_ns();
    r->method = method;
    r->route = route;
    lumen_span_context *parent = NULL;
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_SERVER;
    if (lumen_span_context_new(&parent) == LUMEN_OK &&
        lumen_propagation_extract(parent, NULL, lumen_propagators_from_env(), incoming) == LUMEN_OK)
        so.parent_context = parent;
    else
        so.root = true;
    char name[160];
    snprintf(name, sizeof name, "%s %s", method, route);
    r->span = lumen_span_start(g.tracer, name, &so);
    lumen_span_context_free(parent); /* the span keeps what it needs */
    lumen_span_enter(r->span);
    lumen_span_set_str(r->span, "http.request.method", method);
    lumen_span_set_str(r->span, "http.route", route);
    lumen_log_set_request_id(request_id);
    snprintf(tls_request_id, sizeof tls_request_id, "%s", request_id);
    lumen_gauge_inc(g.in_flight);
}

void obs_request_end(obs_request *r, int status)
{
    double seconds = (double)(now_ns() - r->start_ns) / 1e9;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    lumen_span_set_int(r->span, "http.response.status_code", status);
    if (status >= 500)
        lumen_span_set_status(r->span, LUMEN_SPAN_STATUS_ERROR, "server error");

    const char *req_values[] = {r->method, r->route, code};
    lumen_counter *c;
    if (lumen_family_counter(&c, g.requests, req_values, 3) == LUMEN_OK)
        lumen_counter_inc(c);
    /* Observed while the request's span is current, so that the bucket's
     * exemplar carries this trace id. */
    lumen_histogram *h;
    if (lumen_family_histogram(&h, g.duration, &r->route, 1) == LUMEN_OK)
        lumen_histogram_observe(h, seconds);

    LUMEN_LOG(g.log, status >= 500 ? LUMEN_LOG_ERROR : LUMEN_LOG_INFO, "request served",
              LUMEN_STR("method", r->method), LUMEN_STR("route", r->route),
              LUMEN_INT("status", status), LUMEN_FLOAT("duration_s", seconds));
    lumen_log_clear_request_id();
    tls_request_id[0] = '\0';
    lumen_gauge_dec(g.in_flight);
    lumen_span_end(r->span);
}

/* ---- outgoing calls -------------------------------------------------------- */

static void set_header(void *carrier, const char *name, const char *value)
{
    struct curl_slist **h = carrier;
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", name, value);
    *h = curl_slist_append(*h, line);
}

struct curl_slist *obs_client_begin(obs_client_call *c, const char *method, const char *url,
                                    struct curl_slist *headers)
{
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_CLIENT;
    char name[64];
    snprintf(name, sizeof name, "%s", method);
    c->span = lumen_span_start(g.tracer, name, &so);
    lumen_span_set_str(c->span, "http.request.method", method);
    lumen_span_set_str(c->span, "url.full", url);
    lumen_span_context *sc;
    if (lumen_span_context_new(&sc) == LUMEN_OK) {
        lumen_span_get_context(sc, c->span);
        lumen_carrier carrier = LUMEN_CARRIER_INIT;
        carrier.set = set_header;
        carrier.carrier = &headers;
        lumen_propagation_inject(&carrier, lumen_propagators_from_env(), sc, NULL);
        lumen_span_context_free(sc);
    }
    if (tls_request_id[0])
        set_header(&headers, "X-Request-Id", tls_request_id);
    return headers;
}

void obs_client_end(obs_client_call *c, int status, const char *error)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *v[] = {code};
    lumen_counter *ctr;
    if (lumen_family_counter(&ctr, g.client_requests, v, 1) == LUMEN_OK)
        lumen_counter_inc(ctr);
    if (status)
        lumen_span_set_int(c->span, "http.response.status_code", status);
    if (error || status >= 500)
        lumen_span_set_status(c->span, LUMEN_SPAN_STATUS_ERROR, error ? error : "server error");
    if (error)
        LUMEN_LOG_WARN(g.log, "call failed", LUMEN_STR("error", error));
    lumen_span_end(c->span);
}

/* ---- database ---------------------------------------------------------------- */

void obs_db_begin(obs_db_span *d, const char *name, const char *sql)
{
    d->name = name;
    d->start_ns = now_ns();
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_CLIENT;
    char span_name[96];
    snprintf(span_name, sizeof span_name, "sqlite %s", name);
    d->span = lumen_span_start(g.tracer, span_name, &so);
    lumen_span_set_str(d->span, "db.system", "sqlite");
    lumen_span_set_str(d->span, "db.operation.name", name);
    lumen_span_set_str(d->span, "db.query.text", sql);
}

void obs_db_end(obs_db_span *d, const char *error)
{
    lumen_histogram *h;
    if (lumen_family_histogram(&h, g.db_duration, &d->name, 1) == LUMEN_OK)
        lumen_histogram_observe(h, (double)(now_ns() - d->start_ns) / 1e9);
    if (error) {
        lumen_span_set_status(d->span, LUMEN_SPAN_STATUS_ERROR, error);
        LUMEN_LOG_ERROR(g.log, "query failed", LUMEN_STR("query", d->name),
                        LUMEN_STR("error", error));
    }
    lumen_span_end(d->span);
}
