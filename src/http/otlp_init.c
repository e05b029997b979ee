/*
 * http/otlp_init.c: lumen_otlp_tracing_init, which builds tracing from the
 * environment alone: a tracer provider with a batch processor and the
 * exporter OTEL_TRACES_EXPORTER names (otlp, the default; console; none),
 * set as the global provider.
 */
#include <string.h>

#include "core/env.h"
#include "lumen/http_otlp.h"

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
