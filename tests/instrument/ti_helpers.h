/* tests/instrument/ti_helpers.h: an instrument over a private registry, an
 * in-memory span exporter and a logger whose JSON lines are kept, for the
 * instrumentation tests. */
#ifndef LUMEN_TESTS_INSTRUMENT_HELPERS_H
#define LUMEN_TESTS_INSTRUMENT_HELPERS_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lumen/instrument.h"
#include "trace/helpers.h"

/* Every line the test loggers write, in order. */
typedef struct ti_lines {
    pthread_mutex_t mu;
    char *text;
    size_t len, cap;
    size_t count;
} ti_lines;

static ti_lines ti_log = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

static void ti_line(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)level, (void)ud;
    pthread_mutex_lock(&ti_log.mu);
    if (ti_log.len + len + 1 > ti_log.cap) {
        size_t cap = (ti_log.cap + len + 1) * 2;
        char *p = realloc(ti_log.text, cap);
        if (p == NULL)
            abort();
        ti_log.text = p;
        ti_log.cap = cap;
    }
    memcpy(ti_log.text + ti_log.len, line, len);
    ti_log.len += len;
    ti_log.text[ti_log.len] = '\0';
    ti_log.count++;
    pthread_mutex_unlock(&ti_log.mu);
}

static void ti_log_reset(void)
{
    pthread_mutex_lock(&ti_log.mu);
    ti_log.len = 0;
    ti_log.count = 0;
    if (ti_log.text != NULL)
        ti_log.text[0] = '\0';
    pthread_mutex_unlock(&ti_log.mu);
}

/* The loggers "ti.access" (the instrument's) and "ti.app" (the program's)
 * write JSON lines, unbuffered, to ti_line. */
static void ti_loggers(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.format = LUMEN_LOG_FORMAT_JSON;
    ho.sink = LUMEN_LOG_SINK_CALLBACK;
    ho.callback = ti_line;
    ho.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &ho), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(lumen_logger_get("ti"), &h, 1), LUMEN_OK);
    assert_int_equal(lumen_logger_set_level(lumen_logger_get("ti"), LUMEN_LOG_INFO), LUMEN_OK);
}

typedef struct ti_env {
    th_env t;
    lumen_registry *reg;
    lumen_server_instrument *ins;
} ti_env;

static void ti_setup(ti_env *e, uint32_t flags, size_t series_limit)
{
    ti_loggers();
    ti_log_reset();
    th_setup(&e->t, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    assert_int_equal(lumen_registry_new(&e->reg), LUMEN_OK);
    lumen_server_instrument_options o = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    o.registry = e->reg;
    o.tracer = e->t.tracer;
    o.logger = lumen_logger_get("ti.access");
    o.flags = flags;
    o.series_limit = series_limit;
    o.server_address = "svc.example";
    o.server_port = 8080;
    o.propagators = LUMEN_PROPAGATE_TRACECONTEXT;
    assert_int_equal(lumen_server_instrument_new(&e->ins, &o), LUMEN_OK);
}

static void ti_teardown(ti_env *e)
{
    lumen_server_instrument_free(e->ins);
    lumen_registry_free(e->reg);
    th_teardown(&e->t);
}

/* The registry's text exposition (malloc'd by lumen; lumen_free it). */
static inline char *ti_render(ti_env *e)
{
    char *out;
    size_t n;
    assert_int_equal(lumen_registry_render_string(&out, &n, e->reg, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    return out;
}

/* The value of the sample line that starts with `prefix` followed by a
 * space, or -1. */
static inline double ti_sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* A string attribute's value, copied into a ring of buffers; NULL when
 * the span has no such string attribute. */
static inline const char *ti_attr_str(const lumen_span *s, const char *key)
{
    static char ring[8][512];
    static unsigned next;
    lumen_attr a;
    if (!lumen_span_find_attr(&a, s, key) || a.type != LUMEN_ATTR_STRING)
        return NULL;
    char *b = ring[next++ % 8];
    size_t n = a.len < 511 ? a.len : 511;
    memcpy(b, a.v.s, n);
    b[n] = '\0';
    return b;
}

static inline int64_t ti_attr_int(const lumen_span *s, const char *key)
{
    lumen_attr a;
    if (!lumen_span_find_attr(&a, s, key) || a.type != LUMEN_ATTR_INT)
        return -1;
    return a.v.i;
}

#endif
