/* tests/trace/helpers.h: a provider with an in-memory exporter, and a
 * header carrier over a small array, shared by the trace tests. */
#ifndef LUMEN_TESTS_TRACE_HELPERS_H
#define LUMEN_TESTS_TRACE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lumen/trace.h"
/* White-box: the tests read a context's fields (they check what the
 * accessors and parsers store). */
#include "trace/span_context.h"

/* A cleared span context for the test at hand: one of a ring of 64 per
 * file, made on first use and kept for the process (still reachable, so
 * leak checkers stay quiet), reused once 64 more were handed out. */
static inline lumen_span_context *th_ctx(void)
{
    static lumen_span_context *ring[64];
    static unsigned next;
    lumen_span_context **slot = &ring[next++ % 64];
    if (*slot == NULL && lumen_span_context_new(slot) != LUMEN_OK)
        abort();
    lumen__span_context_clear(*slot);
    return *slot;
}

typedef struct th_env {
    lumen_tracer_provider *tp;
    lumen_span_exporter *mem; /* owned by the processor */
    lumen_tracer *tracer;
} th_env;

static inline void th_setup(th_env *e, lumen_sampler sampler)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.service_name = "test-svc";
    o.sampler = sampler;
    assert_int_equal(lumen_tracer_provider_new(&e->tp, &o), LUMEN_OK);
    assert_int_equal(lumen_memory_exporter_new(&e->mem), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, e->mem, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(e->tp, p), LUMEN_OK);
    e->tracer = lumen_tracer_provider_get_tracer(e->tp, "test.scope", "1.2.3");
}

static inline void th_teardown(th_env *e)
{
    lumen_tracer_provider_free(e->tp);
}

/* A carrier: up to 16 header lines. */
typedef struct th_headers {
    char name[16][64];
    char value[16][20000];
    int n;
} th_headers;

static inline void th_get(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    th_headers *h = carrier;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            emit(h->value[i], strlen(h->value[i]), ctx);
}

static inline void th_set(void *carrier, const char *name, const char *value)
{
    th_headers *h = carrier;
    for (int i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            snprintf(h->value[i], sizeof h->value[i], "%s", value);
            return;
        }
    }
    if (h->n < 16) {
        snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
        snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
        h->n++;
    }
}

static inline void th_add(th_headers *h, const char *name, const char *value)
{
    snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
}

static inline const char *th_find(th_headers *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static inline lumen_carrier th_carrier(th_headers *h)
{
    lumen_carrier c = LUMEN_CARRIER_INIT;
    c.get = th_get;
    c.set = th_set;
    c.carrier = h;
    return c;
}

static inline void th_hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

#endif
