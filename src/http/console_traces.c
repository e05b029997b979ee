/*
 * http/console_traces.c: the console's recent traces and the span exporter
 * that fills them (see console_store.h).
 *
 * Each exported span is rendered to JSON once, here, on the processor's
 * thread, and kept as that text; traces are kept in arrival order in a
 * fixed ring of LUMEN__CT_TRACES records, and the oldest trace goes first
 * when either limit is reached. Lookups scan from the newest trace: spans
 * of one trace arrive close together, so the scan is short in practice and
 * bounded by the ring size in the worst case.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/escape.h"
#include "core/hex.h"
#include "core/utf8.h"
#include "http/console.h"
#include "http/console_store.h"
#include "lumen/http_console.h"
#include "lumen/trace.h"

typedef struct ct_span {
    struct ct_span *next;
    size_t len;
    char json[]; /* the span's JSON object */
} ct_span;

typedef struct ct_trace {
    uint8_t id[16];
    bool used, error, has_root;
    int64_t start_ns, end_ns;
    char root_name[128];
    char services[4][64];
    int nservices;
    size_t nspans;
    ct_span *head, *tail;
} ct_trace;

static struct {
    pthread_mutex_t mu;
    ct_trace traces[LUMEN__CT_TRACES];
    size_t next;   /* ring slot of the next new trace */
    size_t nspans; /* spans kept in all traces */
} g_ct = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void trace_clear(ct_trace *t)
{
    for (ct_span *s = t->head, *n; s != NULL; s = n) {
        n = s->next;
        lumen__free(s, 0);
    }
    g_ct.nspans -= t->nspans;
    memset(t, 0, sizeof *t);
}

static ct_trace *find_trace(const uint8_t id[16])
{
    for (size_t k = 1; k <= LUMEN__CT_TRACES; k++) {
        ct_trace *t = &g_ct.traces[(g_ct.next + LUMEN__CT_TRACES - k) % LUMEN__CT_TRACES];
        if (!t->used)
            return NULL; /* slots older than an unused one were never used */
        if (memcmp(t->id, id, 16) == 0)
            return t;
    }
    return NULL;
}

static ct_trace *new_trace(const uint8_t id[16])
{
    ct_trace *t = &g_ct.traces[g_ct.next];
    trace_clear(t);
    g_ct.next = (g_ct.next + 1) % LUMEN__CT_TRACES;
    memcpy(t->id, id, 16);
    t->used = true;
    return t;
}

/* Evict the oldest traces until the span budget has room. */
static void make_room(void)
{
    for (size_t k = 0; g_ct.nspans >= LUMEN__CT_SPANS && k < LUMEN__CT_TRACES; k++) {
        ct_trace *t = &g_ct.traces[(g_ct.next + k) % LUMEN__CT_TRACES];
        if (t->used)
            trace_clear(t);
    }
}

/* ---- rendering one span ---------------------------------------------------- */

static void json_key(lumen__buf *b, const char *k)
{
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, k, strlen(k), LUMEN__JSON_HTML_SAFE);
    lumen__buf_add(b, "\":", 2);
}

static void json_strv(lumen__buf *b, const char *s, size_t n)
{
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, n, LUMEN__JSON_HTML_SAFE);
    lumen__buf_putc(b, '"');
}

static void json_num(lumen__buf *b, double d)
{
    /* JSON has no NaN or infinities: write them as strings. */
    if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
        lumen__buf_putc(b, '"');
        lumen__buf_double(b, d);
        lumen__buf_putc(b, '"');
    } else {
        lumen__buf_double(b, d);
    }
}

static void attr_value(lumen__buf *b, const lumen_attr *a)
{
    switch (a->type) {
    case LUMEN_ATTR_STRING:
        json_strv(b, a->v.s, a->len == (size_t)-1 ? strlen(a->v.s) : a->len);
        return;
    case LUMEN_ATTR_BOOL:
        lumen__buf_puts(b, a->v.b ? "true" : "false");
        return;
    case LUMEN_ATTR_INT:
        lumen__buf_i64(b, a->v.i);
        return;
    case LUMEN_ATTR_DOUBLE:
        json_num(b, a->v.d);
        return;
    default:
        break;
    }
    lumen__buf_putc(b, '[');
    for (size_t i = 0; i < a->len; i++) {
        if (i)
            lumen__buf_putc(b, ',');
        if (a->type == LUMEN_ATTR_STRING_ARRAY)
            json_strv(b, a->v.sa[i], strlen(a->v.sa[i]));
        else if (a->type == LUMEN_ATTR_BOOL_ARRAY)
            lumen__buf_puts(b, a->v.ba[i] ? "true" : "false");
        else if (a->type == LUMEN_ATTR_INT_ARRAY)
            lumen__buf_i64(b, a->v.ia[i]);
        else
            json_num(b, a->v.da[i]);
    }
    lumen__buf_putc(b, ']');
}

/* `sc`: the exporter's context, filled with the span's. */
static void render_span(lumen__buf *b, const lumen_span *s, const char *service,
                        lumen_span_context *sc)
{
    uint8_t trace_id[16], span_id[8];
    lumen_span_get_context(sc, s);
    lumen_span_context_ids(trace_id, span_id, sc);
    uint8_t parent[8];
    bool has_parent = lumen_span_get_parent_id(parent, s);
    const char *desc = NULL;
    lumen_span_status code = lumen_span_get_status(&desc, s);
    lumen__buf_puts(b, "{\"trace_id\":\"");
    lumen__buf_hex(b, trace_id, 16);
    lumen__buf_puts(b, "\",\"span_id\":\"");
    lumen__buf_hex(b, span_id, 8);
    lumen__buf_puts(b, "\",\"parent_span_id\":");
    if (has_parent) {
        lumen__buf_putc(b, '"');
        lumen__buf_hex(b, parent, 8);
        lumen__buf_putc(b, '"');
    } else {
        lumen__buf_puts(b, "null");
    }
    lumen__buf_puts(b, ",\"name\":");
    const char *name = lumen_span_get_name(s);
    json_strv(b, name, strlen(name));
    lumen__buf_puts(b, ",\"service\":");
    json_strv(b, service, strlen(service));
    lumen__buf_puts(b, ",\"kind\":");
    lumen__buf_i64(b, lumen_span_get_kind(s));
    lumen__buf_puts(b, ",\"start_ns\":");
    lumen__buf_i64(b, lumen_span_get_start_ns(s));
    lumen__buf_puts(b, ",\"end_ns\":");
    lumen__buf_i64(b, lumen_span_get_end_ns(s));
    lumen__buf_puts(b, ",\"status\":{\"code\":");
    lumen__buf_i64(b, code);
    if (desc != NULL && *desc) {
        lumen__buf_puts(b, ",\"message\":");
        json_strv(b, desc, strlen(desc));
    }
    lumen__buf_puts(b, "},\"attributes\":{");
    size_t na = lumen_span_get_attr_count(s);
    for (size_t i = 0; i < na; i++) {
        lumen_attr a;
        if (!lumen_span_get_attr(&a, s, i))
            continue;
        if (b->p[b->len - 1] != '{')
            lumen__buf_putc(b, ',');
        json_key(b, a.key);
        attr_value(b, &a);
    }
    lumen__buf_puts(b, "},\"events\":[");
    size_t ne = lumen_span_get_event_count(s);
    for (size_t i = 0; i < ne; i++) {
        const char *en = lumen_span_get_event_name(s, i);
        if (i)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"name\":");
        json_strv(b, en ? en : "", en ? strlen(en) : 0);
        lumen__buf_putc(b, '}');
    }
    lumen__buf_puts(b, "]}");
}

static void add_service(ct_trace *t, const char *service)
{
    for (int i = 0; i < t->nservices; i++)
        if (strcmp(t->services[i], service) == 0)
            return;
    if (t->nservices < 4) {
        size_t n = lumen__utf8_cut(service, strlen(service), sizeof t->services[0] - 1);
        memcpy(t->services[t->nservices], service, n);
        t->services[t->nservices++][n] = '\0';
    }
}

/* ---- the exporter ---------------------------------------------------------- */

typedef struct ct_exporter {
    char *service;
    lumen__buf scratch;
    lumen_span_context *sc; /* reused for every span: exports never overlap */
} ct_exporter;

static int ct_export(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    (void)deadline_ns;
    ct_exporter *e = ud;
    for (size_t i = 0; i < n; i++) {
        const lumen_span *s = spans[i];
        e->scratch.len = 0;
        e->scratch.oom = false;
        render_span(&e->scratch, s, e->service, e->sc);
        if (e->scratch.oom)
            continue;
        ct_span *cs = lumen__malloc(sizeof *cs + e->scratch.len + 1);
        if (cs == NULL)
            continue;
        cs->next = NULL;
        cs->len = e->scratch.len;
        memcpy(cs->json, e->scratch.p, e->scratch.len + 1);

        uint8_t trace_id[16];
        lumen_span_context_ids(trace_id, NULL, e->sc); /* render_span filled it */
        uint8_t parent[8];
        bool root = !lumen_span_get_parent_id(parent, s);
        const char *desc;
        int64_t st = lumen_span_get_start_ns(s), en = lumen_span_get_end_ns(s);

        pthread_mutex_lock(&g_ct.mu);
        make_room();
        ct_trace *t = find_trace(trace_id);
        if (t == NULL)
            t = new_trace(trace_id);
        if (t->tail)
            t->tail->next = cs;
        else
            t->head = cs;
        t->tail = cs;
        t->nspans++;
        g_ct.nspans++;
        if (t->start_ns == 0 || st < t->start_ns)
            t->start_ns = st;
        if (en > t->end_ns)
            t->end_ns = en;
        if (lumen_span_get_status(&desc, s) == LUMEN_SPAN_STATUS_ERROR)
            t->error = true;
        if (root || !t->has_root) {
            const char *nm = lumen_span_get_name(s);
            size_t k = lumen__utf8_cut(nm, strlen(nm), sizeof t->root_name - 1);
            memcpy(t->root_name, nm, k);
            t->root_name[k] = '\0';
            t->has_root = t->has_root || root;
        }
        add_service(t, e->service);
        pthread_mutex_unlock(&g_ct.mu);
    }
    return LUMEN_OK;
}

static void ct_destroy(void *ud)
{
    ct_exporter *e = ud;
    lumen_span_context_free(e->sc);
    lumen__buf_free(&e->scratch);
    lumen__free(e->service, 0);
    lumen__free(e, sizeof *e);
}

int lumen_console_span_exporter_new(lumen_span_exporter **out, const char *service_name)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    ct_exporter *e = lumen__calloc(1, sizeof *e);
    if (e == NULL)
        return LUMEN_ENOMEM;
    const char *svc = service_name;
    if (svc == NULL)
        svc = lumen__env("OTEL_SERVICE_NAME");
    if (svc == NULL)
        svc = program_invocation_short_name;
    e->service = lumen__strdup(svc);
    if (e->service == NULL || lumen_span_context_new(&e->sc) != LUMEN_OK) {
        ct_destroy(e);
        return LUMEN_ENOMEM;
    }
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = ct_export;
    ops.destroy = ct_destroy;
    int rc = lumen_span_exporter_new(out, &ops, e);
    if (rc != LUMEN_OK)
        ct_destroy(e);
    return rc;
}

/* ---- JSON endpoints -------------------------------------------------------- */

static bool parse_trace_id(const char *s, uint8_t out[16])
{
    /* Lowercase only, as trace ids are written everywhere. */
    return strnlen(s, 33) == 32 && lumen__unhex(s, 16, out, LUMEN__HEX_LOWER_ONLY);
}

/* The spans of one trace as comma-separated JSON objects (no brackets),
 * appended to out; returns how many. Used to merge peers' spans. */
static size_t trace_spans(const uint8_t trace_id[16], lumen__buf *out)
{
    size_t n = 0;
    pthread_mutex_lock(&g_ct.mu);
    ct_trace *t = find_trace(trace_id);
    for (ct_span *s = t ? t->head : NULL; s != NULL; s = s->next) {
        if (n++)
            lumen__buf_putc(out, ',');
        lumen__buf_add(out, s->json, s->len);
    }
    pthread_mutex_unlock(&g_ct.mu);
    return n;
}

int lumen__console_traces_json(void *ud, const char *arg, const char *query, lumen__buf *out)
{
    (void)ud;
    if (arg != NULL) {
        uint8_t id[16];
        if (!parse_trace_id(arg, id)) {
            lumen__buf_puts(out, "{\"error\":\"a trace id is 32 lowercase hex digits\"}");
            return 400;
        }
        lumen__buf_puts(out, "{\"trace_id\":\"");
        lumen__buf_hex(out, id, 16);
        lumen__buf_puts(out, "\",\"spans\":[");
        size_t n = trace_spans(id, out);
        /* A peer asking on behalf of its own console passes local=1, so
         * that two consoles naming each other do not ask back and forth. */
        char local[4];
        if (!lumen__query_param(query, "local", local, sizeof local, NULL)) {
            char pq[64];
            snprintf(pq, sizeof pq, "/api/traces/%.32s?local=1", arg);
            n += lumen__console_peer_array(pq, "spans", n, out);
        }
        lumen__buf_puts(out, "]}");
        return n ? 200 : 404;
    }
    char v[32];
    bool errors = lumen__query_param(query, "errors", v, sizeof v, NULL) && v[0] == '1';
    double min_ms = 0;
    if (lumen__query_param(query, "min_ms", v, sizeof v, NULL))
        min_ms = strtod(v, NULL);
    long limit = 100;
    if (lumen__query_param(query, "limit", v, sizeof v, NULL))
        limit = strtol(v, NULL, 10);
    if (limit <= 0 || limit > LUMEN__CT_TRACES)
        limit = 100;
    lumen__buf_puts(out, "{\"traces\":[");
    long emitted = 0;
    pthread_mutex_lock(&g_ct.mu);
    for (size_t k = 1; k <= LUMEN__CT_TRACES && emitted < limit; k++) {
        ct_trace *t = &g_ct.traces[(g_ct.next + LUMEN__CT_TRACES - k) % LUMEN__CT_TRACES];
        if (!t->used)
            break;
        if ((errors && !t->error) || (double)(t->end_ns - t->start_ns) < min_ms * 1e6)
            continue;
        if (emitted++)
            lumen__buf_putc(out, ',');
        lumen__buf_puts(out, "{\"trace_id\":\"");
        lumen__buf_hex(out, t->id, 16);
        lumen__buf_puts(out, "\",\"root_name\":");
        json_strv(out, t->root_name, strlen(t->root_name));
        lumen__buf_puts(out, ",\"has_root\":");
        lumen__buf_puts(out, t->has_root ? "true" : "false");
        lumen__buf_puts(out, ",\"start_ns\":");
        lumen__buf_i64(out, t->start_ns);
        lumen__buf_puts(out, ",\"duration_ns\":");
        lumen__buf_i64(out, t->end_ns - t->start_ns);
        lumen__buf_puts(out, ",\"spans\":");
        lumen__buf_u64(out, t->nspans);
        lumen__buf_puts(out, ",\"error\":");
        lumen__buf_puts(out, t->error ? "true" : "false");
        lumen__buf_puts(out, ",\"services\":[");
        for (int i = 0; i < t->nservices; i++) {
            if (i)
                lumen__buf_putc(out, ',');
            json_strv(out, t->services[i], strlen(t->services[i]));
        }
        lumen__buf_puts(out, "]}");
    }
    pthread_mutex_unlock(&g_ct.mu);
    lumen__buf_puts(out, "]}");
    return 200;
}
