/*
 * instrument/server.c: HTTP server instrumentation (lumen/instrument.h).
 * It sits above metrics, trace and log and knows nothing of any HTTP
 * library: a server hands it the method, path, route and a header carrier.
 *
 * The hot path (begin, set_route, end) allocates nothing of its own: the
 * request lives in the caller's lumen_server_request, the label values
 * come from tables (the status codes are formatted once, when the
 * instrument is made) or from the request, the active-requests gauges of
 * the ten method forms are looked up once, and the histogram child is
 * found by the family's lock-free lookup. Only lumen_span_start may take
 * a span from its pool, and a new label set allocates its series once.
 */
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/fastclock.h"
#include "core/hex.h"
#include "core/rand.h"
#include "core/tctx.h"
#include "lumen/instrument.h"
#include "lumen/limits.h"
#include "metrics/internal.h"
#include "trace/attr.h"
#include "trace/span_context.h"

#define NMETHODS 10 /* the nine methods of the conventions, and _OTHER */
#define OTHER NMETHODS - 1
#define STATUS_MIN 100
#define STATUS_MAX 599
#define SPAN_NAME_MAX LUMEN_SERVER_SPAN_NAME_MAX
#define PATH_KEEP LUMEN_SERVER_REQUEST_PATH_MAX
#define REQ_MAGIC 0x6c72716du

static const char *const methods[NMETHODS] = {"CONNECT", "DELETE", "GET", "HEAD",  "OPTIONS",
                                              "PATCH",   "POST",   "PUT", "TRACE", "_OTHER"};

/* The conventions' default boundaries of http.server.request.duration. */
static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                          0.5,   0.75, 1,     2.5,  5,     7.5, 10};

struct lumen_server_instrument {
    uint64_t id; /* names the instrument in the series caches; never reused */
    lumen_registry *reg;
    lumen_family *duration;
    lumen_family *active_fam;
    lumen_gauge *active[NMETHODS];
    lumen_tracer *tracer;
    lumen_logger *logger;
    uint32_t flags;
    uint32_t propagators;
    char *scheme;
    unsigned scheme_flags; /* STATIC: scheme is the literal "http" or "https" */
    char *server_address;
    uint16_t server_port;
    /* "100".."599", so a status label costs no formatting per request. */
    char status_str[STATUS_MAX - STATUS_MIN + 1][4];
};

/* Each thread's cache of duration series: a request whose (instrument,
 * method, route, status) was seen before on the thread observes through
 * the handle it found then, without hashing four label values and
 * searching the family. The route is compared by content (a server may
 * build it in a buffer it reuses); a handle that died (its series removed,
 * its family unregistered) is looked up again; a lookup that overflowed
 * the series limit is not kept, so each such request is counted as before.
 * Requests with an error type of the caller's take the lookup. */
#define HCACHE 16
#define HCACHE_ROUTE 48

typedef struct hcache_ent {
    uint64_t ins_id; /* 0: empty */
    lumen_histogram *h;
    int status;
    uint8_t method;
    char route[HCACHE_ROUTE];
} hcache_ent;

static LUMEN_TLS hcache_ent hcache[HCACHE];
static _Atomic uint64_t next_id = 1;

/* The layout behind lumen_server_request's opaque storage. */
typedef struct req_state {
    uint32_t magic; /* REQ_MAGIC while live; anything else is inert */
    uint8_t method;
    uint8_t entered;
    uint8_t has_bytes;
    uint8_t rid_len;
    lumen_server_instrument *ins;
    lumen_span *span;
    const char *route;
    lumen__stamp start; /* the duration's start (monotonic) */
    int64_t pre_ns;     /* time before begin: start_ns given by the caller */
    int64_t span_start; /* the span's start, wall clock */
    uint64_t bytes;
    char rid[LUMEN_LOG_REQUEST_ID_MAX + 1];
    uint16_t path_len;
    char path[PATH_KEEP];
} req_state;

_Static_assert(sizeof(req_state) <= sizeof(lumen_server_request),
               "lumen_server_request's storage holds a request");
_Static_assert(_Alignof(req_state) <= _Alignof(lumen_server_request),
               "lumen_server_request's storage is aligned for a request");

static req_state *state_of(const lumen_server_request *r)
{
    return (req_state *)(void *)r;
}

static int method_index(const char *m)
{
    if (m == NULL)
        return OTHER;
    /* GET and POST first: most requests are one of them. */
    if (m[0] == 'G' && m[1] == 'E' && m[2] == 'T' && m[3] == '\0')
        return 2;
    for (int i = 0; i < OTHER; i++)
        if (m[0] == methods[i][0] && strcmp(m, methods[i]) == 0)
            return i;
    return OTHER;
}

const char *lumen_http_method_normalize(const char *method)
{
    return methods[method_index(method)];
}

int lumen_server_instrument_options_init(lumen_server_instrument_options *opts,
                                         unsigned int version)
{
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > LUMEN_SERVER_INSTRUMENT_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return LUMEN_OK;
}

int lumen_server_request_options_init(lumen_server_request_options *opts, unsigned int version)
{
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > LUMEN_SERVER_REQUEST_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return LUMEN_OK;
}

static int make_families(lumen_server_instrument *ins, size_t limit)
{
    static const char *const hist_labels[] = {"http_request_method", "http_route",
                                              "http_response_status_code", "error_type"};
    static const char *const gauge_labels[] = {"http_request_method"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Duration of HTTP server requests.";
    o.unit = "seconds";
    o.label_names = hist_labels;
    o.label_count = 4;
    o.series_limit = limit;
    o.buckets = duration_buckets;
    o.bucket_count = sizeof duration_buckets / sizeof duration_buckets[0];
    o.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
    int rc = lumen_family_new(&ins->duration, ins->reg, LUMEN_METRIC_HISTOGRAM,
                              "http_server_request_duration_seconds", &o);
    if (rc != LUMEN_OK)
        return rc;
    lumen_family_options g = LUMEN_FAMILY_OPTIONS_INIT;
    g.help = "Number of active HTTP server requests.";
    g.label_names = gauge_labels;
    g.label_count = 1;
    rc = lumen_family_new(&ins->active_fam, ins->reg, LUMEN_METRIC_GAUGE,
                          "http_server_active_requests", &g);
    if (rc != LUMEN_OK)
        return rc;
    for (int i = 0; i < NMETHODS; i++) {
        rc = lumen_family_gauge(&ins->active[i], ins->active_fam, &methods[i], 1);
        if (rc != LUMEN_OK)
            return rc;
    }
    return LUMEN_OK;
}

int lumen_server_instrument_new(lumen_server_instrument **out,
                                const lumen_server_instrument_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_server_instrument_options o = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    if (opts != NULL) {
        if (opts->version == 0 || opts->version > LUMEN_SERVER_INSTRUMENT_OPTIONS_VERSION)
            return LUMEN_EVERSION;
        o = *opts;
    }
    lumen_server_instrument *ins = lumen__calloc(1, sizeof *ins);
    if (ins == NULL)
        return LUMEN_ENOMEM;
    int rc = LUMEN_ENOMEM;
    ins->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    ins->reg = o.registry != NULL ? o.registry : lumen_registry_default();
    ins->tracer = o.tracer != NULL ? o.tracer : lumen_tracer_get("lumen.http.server", NULL);
    ins->logger = o.logger != NULL ? o.logger : lumen_logger_get("http.access");
    ins->flags = o.flags;
    ins->propagators = o.propagators != 0 ? o.propagators : LUMEN_PROPAGATE_DEFAULT;
    ins->server_port = o.server_port;
    ins->scheme = lumen__strdup(o.scheme != NULL ? o.scheme : "http");
    if (ins->scheme == NULL)
        goto fail;
    /* The common schemes go into spans by pointer, without a copy each. */
    if (strcmp(ins->scheme, "http") == 0 || strcmp(ins->scheme, "https") == 0)
        ins->scheme_flags = LUMEN__KNOWN_STATIC_VALUE;
    if (o.server_address != NULL && (ins->server_address = lumen__strdup(o.server_address)) == NULL)
        goto fail;
    for (int s = STATUS_MIN; s <= STATUS_MAX; s++) {
        char *p = ins->status_str[s - STATUS_MIN];
        p[0] = (char)('0' + s / 100);
        p[1] = (char)('0' + s / 10 % 10);
        p[2] = (char)('0' + s % 10);
        p[3] = '\0';
    }
    if (!(o.flags & LUMEN_SERVER_INSTRUMENT_NO_METRICS) &&
        (rc = make_families(ins, o.series_limit)) != LUMEN_OK)
        goto fail;
    *out = ins;
    return LUMEN_OK;
fail:
    lumen_server_instrument_free(ins);
    return rc;
}

void lumen_server_instrument_free(lumen_server_instrument *ins)
{
    if (ins == NULL)
        return;
    if (ins->duration != NULL)
        lumen_registry_unregister(ins->reg, "http_server_request_duration_seconds");
    if (ins->active_fam != NULL)
        lumen_registry_unregister(ins->reg, "http_server_active_requests");
    if (ins->scheme != NULL)
        lumen__free(ins->scheme, strlen(ins->scheme) + 1);
    if (ins->server_address != NULL)
        lumen__free(ins->server_address, strlen(ins->server_address) + 1);
    lumen__free(ins, sizeof *ins);
}

uint64_t lumen_server_instrument_overflows(const lumen_server_instrument *ins)
{
    return ins != NULL && ins->duration != NULL ? lumen_family_overflows(ins->duration) : 0;
}

/* ---- the request id ------------------------------------------------------ */

typedef struct rid_ctx {
    req_state *st;
    bool done;
} rid_ctx;

/* A request id is 1 to LUMEN_LOG_REQUEST_ID_MAX visible ASCII characters:
 * anything else (a control character could forge a log line in a text
 * format, a long value could fill the line) is not taken. */
static bool rid_valid(const char *v, size_t n)
{
    if (n == 0 || n > LUMEN_LOG_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

static void rid_emit(const char *value, size_t len, void *ctx)
{
    rid_ctx *c = ctx;
    if (c->done)
        return; /* the first header line decides */
    c->done = true;
    if (rid_valid(value, len)) {
        memcpy(c->st->rid, value, len);
        c->st->rid[len] = '\0';
        c->st->rid_len = (uint8_t)len;
    }
}

static void take_request_id(req_state *st, const lumen_server_request_options *o)
{
    st->rid_len = 0;
    if (o->headers != NULL && o->headers->version >= 1 && o->headers->get != NULL) {
        rid_ctx c = {st, false};
        o->headers->get(o->headers->carrier, "X-Request-Id", rid_emit, &c);
        if (st->rid_len > 0)
            return;
    }
    if (o->request_id != NULL && rid_valid(o->request_id, strlen(o->request_id))) {
        size_t n = strlen(o->request_id);
        memcpy(st->rid, o->request_id, n + 1);
        st->rid_len = (uint8_t)n;
        return;
    }
    uint64_t r = lumen__rand64();
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(r >> (56 - 8 * i));
    lumen__hex(st->rid, be, 8);
    st->rid[16] = '\0';
    st->rid_len = 16;
}

/* ---- begin --------------------------------------------------------------- */

/* "METHOD route", or "METHOD"; the conventions name a span of an unknown
 * method "HTTP". At most SPAN_NAME_MAX bytes, out[] one more. */
static void span_name(char *out, int method, const char *route)
{
    const char *m = method == OTHER ? "HTTP" : methods[method];
    size_t n = strlen(m);
    memcpy(out, m, n);
    if (route != NULL && route[0] != '\0') {
        size_t r = strlen(route);
        if (r > SPAN_NAME_MAX - 1 - n)
            r = SPAN_NAME_MAX - 1 - n;
        out[n++] = ' ';
        memcpy(out + n, route, r);
        n += r;
    }
    out[n] = '\0';
}

/* Attribute setters for the span: the keys are literals here, kept by
 * pointer (trace/attr.h), and the values copied as by lumen_span_set_*. */
static void set_str(lumen_span *s, const char *key, const char *v, size_t n, unsigned flags)
{
    lumen_attr a = {key, LUMEN_ATTR_STRING, n, {.s = v}};
    lumen__span_set_known(s, key, &a, flags);
}

static void set_int(lumen_span *s, const char *key, int64_t v, unsigned flags)
{
    lumen_attr a = {key, LUMEN_ATTR_INT, 0, {.i = v}};
    lumen__span_set_known(s, key, &a, flags);
}

#define STR_ALL ((size_t)-1)
/* At begin the span is fresh (started without attributes: lumen's samplers
 * add none) and every key below is set once: no search for a duplicate. */
#define NEW LUMEN__KNOWN_NEW
#define STATIC LUMEN__KNOWN_STATIC_VALUE

static void start_span(req_state *st, lumen_server_instrument *ins,
                       const lumen_server_request_options *o, size_t path_len)
{
    /* The parent lives on the stack for the call: lumen_span_start copies
     * what it needs, so extraction allocates nothing. */
    lumen_span_context parent;
    lumen__span_context_clear(&parent);
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_SERVER;
    so.start_ns = st->span_start;
    so.root = true; /* a server request starts its own trace unless its headers continue one */
    if (o->headers != NULL && o->headers->get != NULL &&
        lumen_propagation_extract(&parent, NULL, ins->propagators, o->headers) == LUMEN_OK)
        so.parent_context = &parent;
    char name[SPAN_NAME_MAX + 1];
    span_name(name, st->method, o->route);
    lumen_span *s = lumen_span_start(ins->tracer, name, &so);
    st->span = s;
    if (!lumen_span_is_recording(s))
        return;
    set_str(s, "http.request.method", methods[st->method], STR_ALL, NEW | STATIC);
    if (st->method == OTHER && o->method != NULL)
        set_str(s, "http.request.method_original", o->method, STR_ALL, NEW);
    if (o->path != NULL)
        set_str(s, "url.path", o->path, path_len, NEW);
    set_str(s, "url.scheme", ins->scheme_flags ? (ins->scheme[4] ? "https" : "http") : ins->scheme,
            STR_ALL, NEW | ins->scheme_flags);
    if (o->route != NULL)
        set_str(s, "http.route", o->route, STR_ALL, NEW);
    const char *host = o->server_address != NULL ? o->server_address : ins->server_address;
    if (host != NULL)
        set_str(s, "server.address", host, STR_ALL, NEW);
    uint16_t port = o->server_port != 0 ? o->server_port : ins->server_port;
    if (port != 0)
        set_int(s, "server.port", port, NEW);
    if (o->protocol_version != NULL)
        set_str(s, "network.protocol.version", o->protocol_version, STR_ALL, NEW);
    if (o->user_agent != NULL)
        set_str(s, "user_agent.original", o->user_agent, STR_ALL, NEW);
    if (o->client_address != NULL)
        set_str(s, "client.address", o->client_address, STR_ALL, NEW);
}

int lumen_server_request_begin(lumen_server_request *out, lumen_server_instrument *ins,
                               const lumen_server_request_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    req_state *st = state_of(out);
    st->magic = 0;
    if (ins == NULL || opts == NULL)
        return LUMEN_EINVAL;
    if (opts->version == 0 || opts->version > LUMEN_SERVER_REQUEST_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    lumen_server_request_options o = *opts; /* version 1 is the only one yet */
    st->ins = ins;
    st->method = (uint8_t)method_index(o.method);
    st->entered = 0;
    st->has_bytes = 0;
    st->bytes = 0;
    st->route = o.route;
    st->span = NULL;
    /* Two clock reads per request in all: the wall clock here, for the
     * span's start (the span's end is start plus the duration), and a
     * monotonic stamp at each end for the duration. */
    st->start = lumen__stamp_now();
    int64_t wall = lumen__now_fast();
    st->pre_ns = o.start_ns != 0 && o.start_ns < wall ? wall - o.start_ns : 0;
    st->span_start = o.start_ns != 0 ? o.start_ns : wall;
    size_t path_len = o.path != NULL ? strlen(o.path) : 0;
    size_t pl = path_len > PATH_KEEP ? PATH_KEEP : path_len;
    memcpy(st->path, o.path != NULL ? o.path : "", pl);
    st->path_len = (uint16_t)pl;
    take_request_id(st, &o);
    if (!(ins->flags & LUMEN_SERVER_INSTRUMENT_NO_SPANS))
        start_span(st, ins, &o, path_len);
    if (ins->active_fam != NULL)
        lumen_gauge_inc(ins->active[st->method]);
    st->magic = REQ_MAGIC;
    lumen_server_request_enter(out);
    return LUMEN_OK;
}

static req_state *live(const lumen_server_request *r)
{
    req_state *st = r != NULL ? state_of(r) : NULL;
    return st != NULL && st->magic == REQ_MAGIC ? st : NULL;
}

void lumen_server_request_set_route(lumen_server_request *req, const char *route)
{
    req_state *st = live(req);
    if (st == NULL || route == NULL)
        return;
    st->route = route;
    if (lumen_span_is_recording(st->span)) {
        char name[SPAN_NAME_MAX + 1];
        span_name(name, st->method, route);
        lumen_span_update_name(st->span, name);
        set_str(st->span, "http.route", route, STR_ALL, 0);
    }
}

void lumen_server_request_set_response_bytes(lumen_server_request *req, uint64_t bytes)
{
    req_state *st = live(req);
    if (st == NULL)
        return;
    st->bytes = bytes;
    st->has_bytes = 1;
}

void lumen_server_request_enter(lumen_server_request *req)
{
    req_state *st = live(req);
    if (st == NULL || st->entered)
        return;
    st->entered = 1;
    lumen_span_enter(st->span);
    lumen__tctx *c = lumen__tctx_get();
    memcpy(c->request_id, st->rid, (size_t)st->rid_len + 1);
    c->request_id_len = st->rid_len;
}

void lumen_server_request_leave(lumen_server_request *req)
{
    req_state *st = live(req);
    if (st == NULL || !st->entered)
        return;
    st->entered = 0;
    lumen__tctx *c = lumen__tctx_get();
    c->request_id_len = 0;
    c->request_id[0] = '\0';
    lumen_span_leave(st->span);
}

const char *lumen_server_request_id(const lumen_server_request *req)
{
    req_state *st = live(req);
    return st != NULL ? st->rid : "";
}

lumen_span *lumen_server_request_span(const lumen_server_request *req)
{
    req_state *st = live(req);
    return st != NULL ? st->span : NULL;
}

/* ---- end ----------------------------------------------------------------- */

static void access_line(req_state *st, int status, const char *err, int64_t ns)
{
    lumen_logger *lg = st->ins->logger;
    /* A failed request (5xx, an error, no response) is an error; a 4xx is
     * the client's mistake, worth a warning. */
    lumen_log_level lvl = err != NULL || status >= 500 ? LUMEN_LOG_ERROR
                          : status >= 400              ? LUMEN_LOG_WARN
                                                       : LUMEN_LOG_INFO;
    if (!LUMEN_LOG_ENABLED(lg, lvl))
        return;
    static const lumen_log_src src = {__FILE__, __LINE__, "lumen_server_request_end"};
    lumen_field f[7];
    size_t n = 0;
    f[n++] = lumen_field_str("method", methods[st->method]);
    f[n++] = lumen_field_str("route", st->route != NULL ? st->route : "");
    f[n++] = lumen_field_strn("path", st->path, st->path_len);
    f[n++] = lumen_field_int("status", status);
    /* Whole microseconds: a double would cost a shortest round-trip
     * formatting per line, a quarter of a request's time (measured). */
    f[n++] = lumen_field_int("duration_us", ns / 1000);
    if (st->has_bytes)
        f[n++] = lumen_field_uint("bytes", st->bytes);
    if (err != NULL)
        f[n++] = lumen_field_str("error_type", err);
    lumen_log_write(lg, lvl, &src, "request", f, n, 0);
}

static void observe_duration(lumen_server_instrument *ins, const req_state *st, int status,
                             const char *status_s, const char *err, bool cacheable, double seconds)
{
    const char *route = st->route != NULL ? st->route : "";
    hcache_ent *e = NULL;
    if (cacheable) {
        uintptr_t k = (uintptr_t)route;
        e = &hcache[((k >> 4) ^ (k >> 12) ^ (unsigned)status * 7u ^ st->method * 131u) &
                    (HCACHE - 1)];
        if (e->ins_id == ins->id && e->status == status && e->method == st->method &&
            strcmp(e->route, route) == 0 && lumen__histogram_observe_cached(e->h, seconds))
            return;
    }
    const char *values[4] = {methods[st->method], route, status_s, err != NULL ? err : ""};
    uint64_t overflows = e != NULL ? lumen_family_overflows(ins->duration) : 0;
    lumen_histogram *h;
    if (lumen_family_histogram(&h, ins->duration, values, 4) != LUMEN_OK)
        return;
    lumen_histogram_observe(h, seconds);
    size_t rl;
    if (e != NULL && (rl = strlen(route)) < HCACHE_ROUTE &&
        lumen_family_overflows(ins->duration) == overflows) {
        e->ins_id = ins->id;
        e->h = h;
        e->status = status;
        e->method = st->method;
        memcpy(e->route, route, rl + 1);
    }
}

void lumen_server_request_end(lumen_server_request *req, int status, const char *error_type)
{
    req_state *st = live(req);
    if (st == NULL)
        return;
    lumen_server_instrument *ins = st->ins;
    int64_t ns = lumen__stamp_elapsed(st->start) + st->pre_ns;
    double seconds = (double)ns / 1e9;
    bool known = status >= STATUS_MIN && status <= STATUS_MAX;
    const char *status_s = known ? ins->status_str[status - STATUS_MIN] : "";
    /* error.type: the caller's error, else the status code of a 5xx, else
     * "_OTHER" when no response was sent at all. */
    const char *err = error_type;
    if (err == NULL && status >= 500 && known)
        err = status_s;
    else if (err == NULL && !known)
        err = "_OTHER";

    /* The access line first, while the request's ids are current. */
    bool was_entered = st->entered;
    if (!was_entered)
        lumen_server_request_enter(req);
    if (!(ins->flags & LUMEN_SERVER_INSTRUMENT_NO_ACCESS_LOG))
        access_line(st, status, err, ns);

    if (ins->duration != NULL) {
        /* Without the caller's error type, error.type follows from the
         * status: the cache's key holds it. */
        observe_duration(ins, st, status, status_s, err, error_type == NULL, seconds);
        lumen_gauge_dec(ins->active[st->method]);
    }
    lumen_server_request_leave(req);

    lumen_span *s = st->span;
    if (lumen_span_is_recording(s)) {
        if (known)
            set_int(s, "http.response.status_code", status, 0);
        if (err != NULL) {
            set_str(s, "error.type", err, STR_ALL, 0);
            lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, err);
        }
    }
    st->magic = 0;
    lumen_span_end_at(s, st->span_start + ns);
}
