/*
 * http/console.h: the live console served beside /metrics: pages (/,
 * /traces, /logs and their assets under /console/) and the JSON endpoints
 * behind them (/api/...). It knows nothing of the server that carries it:
 * the server hands it a method, path and query, and writes back the
 * response it fills.
 *
 * Metrics come from sampling the registries every `interval_ms` into a
 * bounded history (console_hist.h). Traces and logs come from providers
 * that the program's trace and log layers register (see
 * lumen__console_set_traces and lumen__console_set_logs); without one the
 * endpoint answers an empty list.
 */
#ifndef LUMEN_SRC_HTTP_CONSOLE_H
#define LUMEN_SRC_HTTP_CONSOLE_H

#include "core/buf.h"
#include "lumen/metrics.h"

typedef struct lumen__console lumen__console;

typedef struct lumen__console_opts {
    lumen_registry *const *registries; /* NULL: the default registry */
    size_t registry_count;
    int interval_ms;   /* sampling period; 0: 2000 */
    size_t max_series; /* 0: 5000 */
    size_t points;     /* history length; 0: 180 */
    bool no_thread;    /* tests: sample only when lumen__console_tick is called */
} lumen__console_opts;

typedef struct lumen__console_resp {
    int status;
    const char *content_type;
    lumen__buf body;                  /* heap buffer, freed by the caller with lumen__buf_free */
    const unsigned char *static_body; /* or a static body (assets) */
    size_t static_len;
    bool cache; /* may be cached (static assets) */
} lumen__console_resp;

/* A provider answers one JSON endpoint: it appends a JSON document for
 * `query` (the raw query string, may be NULL) and `arg` (the path part
 * after the endpoint, e.g. a trace id, or NULL) to `out`, and returns an
 * HTTP status (200, 400 or 404). Called from server threads. */
typedef int (*lumen__console_provider)(void *ud, const char *arg, const char *query,
                                       lumen__buf *out);

int lumen__console_new(lumen__console **out, const lumen__console_opts *opts);
void lumen__console_free(lumen__console *c);

/* Take one sample now. */
void lumen__console_tick(lumen__console *c);

/* /api/traces (arg NULL) and /api/traces/<id> (arg the id). */
void lumen__console_set_traces(lumen__console *c, lumen__console_provider fn, void *ud);
/* /api/logs. */
void lumen__console_set_logs(lumen__console *c, lumen__console_provider fn, void *ud);

/* If `path` belongs to the console, fill `resp` and return true. Only GET
 * and HEAD reach it (the server answers 405 to other methods). */
bool lumen__console_handle(lumen__console *c, const char *path, const char *query,
                           lumen__console_resp *resp);

/* The security headers every console response carries. */
#define LUMEN__CONSOLE_CSP                                                                         \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Append JSON text s[0..n) with every '<', '>' and '&' written as
 * \u003c, \u003e, \u0026, as every console answer has them. In JSON
 * these bytes can only stand inside strings, where the escape means the
 * same character, so the text reads the same and cannot close a script
 * element. For text already in JSON form: stored log lines, peers'
 * answers. */
void lumen__console_json_html_safe(lumen__buf *b, const char *s, size_t n);

/* Find query parameter `name` (URL-decoded into out, NUL-terminated, at
 * most cap-1 bytes). Returns true if present. `from` lets a caller iterate
 * repeated parameters: pass NULL first, then the returned position. */
const char *lumen__query_param(const char *query, const char *name, char *out, size_t cap,
                               const char *from);

#endif
