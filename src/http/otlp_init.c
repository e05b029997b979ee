/*
 * http/otlp_init.c: lumen_otlp_tracing_init, which builds tracing from the
 * environment alone: a tracer provider with a batch processor and the
 * exporter OTEL_TRACES_EXPORTER names (otlp, the default; console; none),
 * set as the global provider; and lumen_otlp_logging_init, which adds a
 * batch handler of log records with the exporter OTEL_LOGS_EXPORTER names
 * (otlp, the default; console; none) to the root logger, beside stdout.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/env.h"
#include "core/sigpipe.h"
#include "lumen/http_otlp.h"
#include "lumen/otlp.h"

int lumen_otlp_tracing_init(lumen_tracer_provider **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_tracer_provider *tp = NULL;
    int rc = lumen_tracer_provider_new(&tp, NULL);
    if (rc != LUMEN_OK)
        return rc;
    const char *which = lumen__env("OTEL_TRACES_EXPORTER");
    size_t n = which ? strlen(which) : 0;
    if (which)
        which = lumen__trim(which, &n);
    lumen_span_exporter *exp = NULL;
    if (which == NULL || lumen__strieq(which, n, "otlp")) {
        rc = lumen_otlp_http_exporter_new(&exp, NULL);
    } else if (lumen__strieq(which, n, "console") || lumen__strieq(which, n, "logging")) {
        rc = lumen_console_exporter_new(&exp, NULL);
    } else if (lumen__strieq(which, n, "none")) {
        rc = LUMEN_OK;
    } else {
        lumen__env_invalid("OTEL_TRACES_EXPORTER", lumen__env("OTEL_TRACES_EXPORTER"),
                           "expected otlp, console or none; using otlp");
        rc = lumen_otlp_http_exporter_new(&exp, NULL);
    }
    if (rc == LUMEN_OK && exp != NULL) {
        lumen_span_processor *p;
        rc = lumen_batch_processor_new(&p, exp, NULL);
        if (rc == LUMEN_OK)
            rc = lumen_tracer_provider_add_processor(tp, p);
    }
    if (rc != LUMEN_OK) {
        lumen_tracer_provider_free(tp);
        return rc;
    }
    lumen_tracer_provider_set_global(tp);
    *out = tp;
    return LUMEN_OK;
}

/* ---- logs ------------------------------------------------------------------ */

/* OTEL_LOGS_EXPORTER=console: each batch as one OTLP/JSON request on one
 * line of standard output, whole in one write where the pipe allows. */
static int console_export(void *ud, const lumen_log_record *const *recs, size_t n, int64_t dl)
{
    (void)dl;
    char *body = NULL;
    size_t len = 0;
    int rc = lumen_otlp_encode_logs(&body, &len, LUMEN_OTLP_JSON, recs, n, ud);
    if (rc != LUMEN_OK)
        return rc;
    /* The line and its newline in one writev; what a pipe takes in part
     * is finished by the next. */
    struct iovec iov[2] = {{body, len}, {(void *)"\n", 1}};
    rc = lumen__write_guarded(1, iov, 2);
    lumen_free(body);
    return rc;
}

static void console_destroy(void *ud)
{
    lumen_tracer_provider_free(ud);
}

static int console_new(lumen_log_exporter **out, lumen_tracer_provider *resource_from)
{
    lumen_tracer_provider *tp = NULL;
    int rc = lumen_tracer_provider_new(&tp, NULL);
    if (rc != LUMEN_OK)
        return rc;
    /* The resource of the given provider is what the records carry; the
     * private one only when none is given (it is freed with the exporter). */
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    ops.export_records = console_export;
    ops.destroy = console_destroy;
    if (resource_from != NULL) {
        lumen_tracer_provider_free(tp);
        tp = NULL;
        ops.destroy = NULL;
    }
    rc = lumen_log_exporter_new(out, &ops, resource_from != NULL ? resource_from : tp);
    if (rc != LUMEN_OK)
        lumen_tracer_provider_free(tp);
    return rc;
}

int lumen_otlp_logging_init(lumen_log_handler **out, lumen_tracer_provider *resource_from)
{
    if (out != NULL)
        *out = NULL;
    const char *which = lumen__env("OTEL_LOGS_EXPORTER");
    size_t n = which ? strlen(which) : 0;
    if (which)
        which = lumen__trim(which, &n);
    lumen_log_exporter *exp = NULL;
    int rc;
    if (which == NULL || lumen__strieq(which, n, "otlp")) {
        rc = lumen_otlp_http_log_exporter_new(&exp, NULL, resource_from);
    } else if (lumen__strieq(which, n, "console")) {
        rc = console_new(&exp, resource_from);
    } else if (lumen__strieq(which, n, "none")) {
        return LUMEN_OK;
    } else {
        lumen__env_invalid("OTEL_LOGS_EXPORTER", lumen__env("OTEL_LOGS_EXPORTER"),
                           "expected otlp, console or none; using otlp");
        rc = lumen_otlp_http_log_exporter_new(&exp, NULL, resource_from);
    }
    if (rc != LUMEN_OK)
        return rc;
    lumen_log_handler *h = NULL;
    rc = lumen_log_batch_handler_new(&h, exp, NULL); /* takes exp */
    if (rc == LUMEN_OK)
        rc = lumen_logger_add_handler(lumen_logger_get(NULL), h);
    if (rc == LUMEN_OK && out != NULL)
        *out = h;
    return rc;
}
