/*
 * http/console.c: see console.h. The sampler thread renders the registries
 * every interval into a reused buffer and feeds the history; rendering
 * takes no lock that the program's hot paths take, so a console costs the
 * program one render per interval.
 */
#include "http/console.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/hex.h"
#include "http/console_assets.h"
#include "http/console_hist.h"

struct lumen__console {
    lumen_registry **regs;
    size_t nregs;
    int interval_ms;
    lumen__mhist *hist;
    lumen__buf scratch;      /* the render buffer, reused; guarded by tick_mu */
    pthread_mutex_t tick_mu; /* one sample at a time (sampler thread, tests) */
    pthread_mutex_t mu;      /* guards providers and the stop flag */
    pthread_cond_t cv;
    bool stop, thread_started;
    pthread_t thread;
    lumen__console_provider traces, logs;
    void *traces_ud, *logs_ud;
};

static int to_buf(const char *data, size_t len, void *ud)
{
    lumen__buf *b = ud;
    lumen__buf_add(b, data, len);
    return b->oom ? -1 : 0;
}

void lumen__console_tick(lumen__console *c)
{
    pthread_mutex_lock(&c->tick_mu);
    c->scratch.len = 0;
    c->scratch.oom = false;
    lumen_registry *def = NULL;
    lumen_registry *const *regs = c->regs;
    size_t n = c->nregs;
    if (n == 0) {
        def = lumen_registry_default();
        regs = &def;
        n = 1;
    }
    if (lumen_registries_render(regs, n, LUMEN_FORMAT_PROMETHEUS, to_buf, &c->scratch) == LUMEN_OK)
        lumen__mhist_add(c->hist, lumen_now_ns() / 1000000, c->scratch.p, c->scratch.len);
    pthread_mutex_unlock(&c->tick_mu);
}

static void *sampler(void *arg)
{
    lumen__console *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        pthread_mutex_unlock(&c->mu);
        lumen__console_tick(c);
        pthread_mutex_lock(&c->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += c->interval_ms / 1000;
        ts.tv_nsec += (long)(c->interval_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int lumen__console_new(lumen__console **out, const lumen__console_opts *opts)
{
    lumen__console_opts o = {0};
    if (out == NULL)
        return LUMEN_EINVAL;
    if (opts)
        o = *opts;
    lumen__console *c = lumen__calloc(1, sizeof *c);
    if (c == NULL)
        return LUMEN_ENOMEM;
    int rc = LUMEN_ENOMEM;
    c->interval_ms = o.interval_ms > 0 ? o.interval_ms : 2000;
    if (o.registry_count) {
        c->regs = lumen__calloc(o.registry_count, sizeof *c->regs);
        if (c->regs == NULL)
            goto fail;
        memcpy(c->regs, o.registries, o.registry_count * sizeof *c->regs);
        c->nregs = o.registry_count;
    }
    rc = lumen__mhist_new(&c->hist, o.max_series ? o.max_series : 5000, o.points ? o.points : 180);
    if (rc != LUMEN_OK)
        goto fail;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->tick_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!o.no_thread) {
        if (pthread_create(&c->thread, NULL, sampler, c) != 0) {
            rc = LUMEN_ESYS;
            pthread_cond_destroy(&c->cv);
            pthread_mutex_destroy(&c->mu);
            pthread_mutex_destroy(&c->tick_mu);
            goto fail;
        }
        c->thread_started = true;
    }
    *out = c;
    return LUMEN_OK;
fail:
    lumen__mhist_free(c->hist);
    lumen__free(c->regs, 0);
    lumen__free(c, sizeof *c);
    return rc;
}

void lumen__console_free(lumen__console *c)
{
    if (c == NULL)
        return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->tick_mu);
    lumen__mhist_free(c->hist);
    lumen__buf_free(&c->scratch);
    lumen__free(c->regs, 0);
    lumen__free(c, sizeof *c);
}

void lumen__console_set_traces(lumen__console *c, lumen__console_provider fn, void *ud)
{
    pthread_mutex_lock(&c->mu);
    c->traces = fn;
    c->traces_ud = ud;
    pthread_mutex_unlock(&c->mu);
}

void lumen__console_set_logs(lumen__console *c, lumen__console_provider fn, void *ud)
{
    pthread_mutex_lock(&c->mu);
    c->logs = fn;
    c->logs_ud = ud;
    pthread_mutex_unlock(&c->mu);
}

/* ---- query strings ------------------------------------------------------- */

const char *lumen__query_param(const char *query, const char *name, char *out, size_t cap,
                               const char *from)
{
    if (query == NULL || cap == 0)
        return NULL;
    size_t nl = strlen(name);
    const char *p = from ? from : query;
    while (*p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) >= nl && memcmp(p, name, nl) == 0 &&
            (p[nl] == '=' || p + nl == end)) {
            const char *v = p[nl] == '=' ? p + nl + 1 : end;
            /* Cut at cap - 1 bytes, the rest dropped. */
            lumen__buf b;
            lumen__buf_fixed(&b, out, cap);
            lumen__pct_decode(&b, v, (size_t)(end - v), LUMEN__PCT_PLUS_SPACE);
            return amp ? amp + 1 : end;
        }
        p = amp ? amp + 1 : end;
    }
    return NULL;
}

void lumen__console_json_html_safe(lumen__buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = s[i] == '<'   ? "\\u003c"
                        : s[i] == '>' ? "\\u003e"
                        : s[i] == '&' ? "\\u0026"
                                      : NULL;
        if (e == NULL)
            continue;
        lumen__buf_add(b, s + run, i - run);
        lumen__buf_add(b, e, 6);
        run = i + 1;
    }
    lumen__buf_add(b, s + run, n - run);
}

/* ---- routing ------------------------------------------------------------- */

static bool serve_asset(const char *name, lumen__console_resp *r)
{
    for (const lumen__asset *a = lumen__console_assets; a->name; a++) {
        if (strcmp(a->name, name) == 0) {
            r->status = 200;
            r->content_type = a->content_type;
            r->static_body = a->data;
            r->static_len = a->len;
            r->cache = true;
            return true;
        }
    }
    return false;
}

static void json_resp(lumen__console_resp *r, int status)
{
    r->status = r->body.oom ? 500 : status;
    r->content_type = "application/json";
}

#define MAX_FAMILY_PARAMS 64

static void series_endpoint(lumen__console *c, const char *query, lumen__console_resp *r)
{
    char names[MAX_FAMILY_PARAMS][256];
    const char *ptrs[MAX_FAMILY_PARAMS];
    size_t n = 0, ignored = 0;
    const char *pos = NULL;
    char extra[256];
    while ((pos = lumen__query_param(query, "family", n < MAX_FAMILY_PARAMS ? names[n] : extra,
                                     sizeof extra, pos)) != NULL) {
        if (n < MAX_FAMILY_PARAMS) {
            ptrs[n] = names[n];
            n++;
        } else {
            ignored++; /* said in the answer: the page asks again for those */
        }
    }
    char lim[16];
    size_t limit = 2000;
    if (lumen__query_param(query, "limit", lim, sizeof lim, NULL)) {
        long v = strtol(lim, NULL, 10);
        if (v > 0 && v < 100000)
            limit = (size_t)v;
    }
    if (n == 0) {
        /* Without a filter the answer could be every series: refuse, the
         * pages always name the families they chart. */
        lumen__buf_puts(&r->body, "{\"error\":\"name at least one family parameter\"}");
        json_resp(r, 400);
        return;
    }
    lumen__mhist_series_json(c->hist, ptrs, n, limit, ignored, &r->body);
    json_resp(r, 200);
}

static bool call_provider(lumen__console *c, bool traces, const char *arg, const char *query,
                          lumen__console_resp *r)
{
    pthread_mutex_lock(&c->mu);
    lumen__console_provider fn = traces ? c->traces : c->logs;
    void *ud = traces ? c->traces_ud : c->logs_ud;
    pthread_mutex_unlock(&c->mu);
    if (fn == NULL) {
        if (arg != NULL) {
            lumen__buf_puts(&r->body, "{\"error\":\"not found\"}");
            json_resp(r, 404);
        } else {
            lumen__buf_puts(&r->body, traces ? "{\"traces\":[]}" : "{\"logs\":[]}");
            json_resp(r, 200);
        }
        return true;
    }
    int status = fn(ud, arg, query, &r->body);
    json_resp(r, status);
    return true;
}

bool lumen__console_handle(lumen__console *c, const char *path, const char *query,
                           lumen__console_resp *r)
{
    memset(r, 0, sizeof *r);
    if (strcmp(path, "/") == 0 || strcmp(path, "/console") == 0)
        return serve_asset("index.html", r);
    if (strcmp(path, "/traces") == 0)
        return serve_asset("traces.html", r);
    if (strcmp(path, "/logs") == 0)
        return serve_asset("logs.html", r);
    if (strncmp(path, "/console/", 9) == 0)
        return serve_asset(path + 9, r);
    if (strcmp(path, "/api/metrics/families") == 0) {
        lumen__mhist_families_json(c->hist, &r->body);
        json_resp(r, 200);
        return true;
    }
    if (strcmp(path, "/api/metrics/series") == 0) {
        series_endpoint(c, query, r);
        return true;
    }
    if (strcmp(path, "/api/traces") == 0)
        return call_provider(c, true, NULL, query, r);
    if (strncmp(path, "/api/traces/", 12) == 0)
        return call_provider(c, true, path + 12, query, r);
    if (strcmp(path, "/api/logs") == 0)
        return call_provider(c, false, NULL, query, r);
    return false;
}
