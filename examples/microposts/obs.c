/*
 * examples/microposts/obs.c: see obs.h. Where the three signals go, set up
 * as a user of lumen would write it; lumen's adapters record the rest.
 */
#include "obs.h"

#include <stdio.h>
#include <stdlib.h>

#include "lumen/http_console.h"
#include "lumen/http_otlp.h"

static struct {
    lumen_logger *log;
    lumen_tracer_provider *tp;
    lumen_http_server *admin;
    lumen_otlp_metrics_reader *reader;
} g;

/* A collector is configured for `signal` (TRACES, LOGS, METRICS). */
static int otlp_wanted(const char *signal)
{
    char name[64];
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal);
    return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != NULL || getenv(name) != NULL;
}

static int add_batch(lumen_span_exporter *exp, const lumen_batch_processor_options *bo)
{
    lumen_span_processor *p;
    int rc = lumen_batch_processor_new(&p, exp, bo);
    return rc == LUMEN_OK ? lumen_tracer_provider_add_processor(g.tp, p) : rc;
}

int obs_init(const char *service)
{
    /* Logs: JSON lines on stdout (LUMEN_LOG_LEVEL applies), and the console's. */
    g.log = lumen_logger_get(service);
    lumen_log_handler *hs[2];
    int rc = lumen_log_handler_new(&hs[0], NULL);
    if (rc == LUMEN_OK && (rc = lumen_console_log_handler_new(&hs[1], LUMEN_LOG_DEBUG)) == LUMEN_OK)
        rc = lumen_logger_set_handlers(lumen_logger_get(""), hs, 2);
    /* Traces: the console's recent ones (shown quickly), and a collector's. */
    lumen_tracer_provider_options to = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    to.service_name = service;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 200;
    lumen_span_exporter *exp;
    if (rc == LUMEN_OK && (rc = lumen_tracer_provider_new(&g.tp, &to)) == LUMEN_OK &&
        (rc = lumen_console_span_exporter_new(&exp, service)) == LUMEN_OK)
        rc = add_batch(exp, &bo);
    if (rc == LUMEN_OK && otlp_wanted("TRACES") &&
        (rc = lumen_otlp_http_exporter_new(&exp, NULL)) == LUMEN_OK)
        rc = add_batch(exp, NULL);
    if (rc == LUMEN_OK)
        lumen_tracer_provider_set_global(g.tp);
    /* OTEL_EXPORTER_OTLP_ENDPOINT alone sends all three signals there. */
    if (rc == LUMEN_OK && otlp_wanted("LOGS"))
        rc = lumen_otlp_logging_init(NULL, g.tp);
    if (rc == LUMEN_OK && otlp_wanted("METRICS"))
        rc = lumen_otlp_metrics_init(&g.reader, g.tp);
    if (rc != LUMEN_OK)
        obs_fatal("instrumentation setup failed", lumen_strerror(rc));
    return rc;
}

int obs_start_endpoint(void)
{
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.flags = LUMEN_HTTP_CONSOLE;
    lumen_http_server_options_from_env(&o); /* LUMEN_METRICS_ADDR and friends */
    int rc = lumen_http_server_start(&g.admin, &o);
    if (rc != LUMEN_OK)
        LUMEN_LOG_ERROR(g.log, "metrics endpoint failed to start", LUMEN_STATUS("error", rc));
    return rc == LUMEN_OK ? lumen_http_server_port(g.admin) : 0;
}

void obs_shutdown(void)
{
    LUMEN_LOG_INFO(g.log, "shutting down");
    lumen_http_server_stop(g.admin);
    lumen_otlp_metrics_reader_free(g.reader); /* one last export, bounded */
    lumen_tracer_provider_shutdown(g.tp, 2000);
    lumen_log_shutdown(1000);
}

void obs_fatal(const char *msg, const char *detail)
{
    LUMEN_LOG_FATAL(g.log, msg, LUMEN_STR("detail", detail));
    lumen_log_flush(0);
}

void obs_event(const char *name, const char *detail)
{
    lumen_span_add_event(lumen_span_current(), name, 0, NULL, 0);
    LUMEN_LOG_WARN(g.log, name, LUMEN_STR("detail", detail));
}
