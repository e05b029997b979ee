/*
 * examples/tracecontext_service: a participant for the W3C Trace Context
 * test harness (https://github.com/w3c/trace-context, test/).
 *
 *   tracecontext_service [PORT]     (default 5000; 0 picks a free port)
 *
 * It listens on 127.0.0.1:PORT. A POST (any path) carries traceparent and
 * tracestate headers and a JSON body: a list of {"url": ..., "arguments": ...}.
 * The service extracts the context (and the W3C baggage), starts a server
 * span under it, and for each item, in order, POSTs `arguments` (as JSON)
 * to `url` from a new client span, injecting traceparent, tracestate and
 * baggage; then it answers 200.
 * Spans go where OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_* say (OTLP/HTTP
 * by default). The first line on stdout is the port. SIGTERM or SIGINT
 * stops it, flushing the spans.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lumen/http_otlp.h"
#include "lumen/trace.h"

#define MAX_BODY (1 << 20)

static lumen_tracer *g_tracer;

/* ---- a small JSON scanner: enough to walk a list of objects and keep the
 * raw text of each "arguments" value ---- */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Skip one JSON value; NULL when malformed. */
static const char *skip_value(const char *p, const char *e, int depth)
{
    p = ws(p, e);
    if (p >= e || depth > 64)
        return NULL;
    if (*p == '"') {
        for (p++; p < e; p++) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                return p + 1;
        }
        return NULL;
    }
    if (*p == '[' || *p == '{') {
        char close = *p == '[' ? ']' : '}';
        p = ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_value(p, e, depth + 1); /* key */
                if (p == NULL || (p = ws(p, e)) >= e || *p != ':')
                    return NULL;
                p++;
            }
            p = skip_value(p, e, depth + 1);
            if (p == NULL || (p = ws(p, e)) >= e)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    while (p < e && (strchr("-+.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
        p++;
    return p;
}

typedef struct item {
    char url[2048];
    const char *args;
    size_t args_len;
} item;

/* Read one {"url": "...", "arguments": ...} object at p. */
static const char *read_item(const char *p, const char *e, item *it)
{
    it->url[0] = '\0';
    it->args = "[]";
    it->args_len = 2;
    p = ws(p, e);
    if (p >= e || *p != '{')
        return NULL;
    p = ws(p + 1, e);
    while (p < e && *p != '}') {
        const char *k = p;
        if ((p = skip_value(p, e, 0)) == NULL || (p = ws(p, e)) >= e || *p != ':')
            return NULL;
        size_t kn = (size_t)(p - k);
        const char *v = ws(p + 1, e);
        if ((p = skip_value(v, e, 0)) == NULL)
            return NULL;
        if (kn == 5 && memcmp(k, "\"url\"", 5) == 0 && *v == '"') {
            size_t n = (size_t)(p - v) - 2;
            if (n >= sizeof it->url)
                return NULL;
            memcpy(it->url, v + 1, n); /* URLs in the harness carry no escapes */
            it->url[n] = '\0';
        } else if (kn == 11 && memcmp(k, "\"arguments\"", 11) == 0) {
            it->args = v;
            it->args_len = (size_t)(p - v);
        }
        p = ws(p, e);
        if (p < e && *p == ',')
            p = ws(p + 1, e);
    }
    return p < e ? p + 1 : NULL;
}

/* ---- carriers ---- */

typedef struct get_ctx {
    const char *name;
    lumen_carrier_emit_fn emit;
    void *ctx;
} get_ctx;

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    get_ctx *g = cls;
    (void)kind;
    if (strcasecmp(key, g->name) == 0)
        g->emit(value ? value : "", value ? strlen(value) : 0, g->ctx);
    return MHD_YES;
}

static void mhd_get(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    get_ctx g = {name, emit, ctx};
    MHD_get_connection_values((struct MHD_Connection *)carrier, MHD_HEADER_KIND, each_header, &g);
}

static void curl_set(void *carrier, const char *name, const char *value)
{
    struct curl_slist **l = carrier;
    /* Sized to the header: a baggage value may be 8192 bytes, and a
     * header cut short would carry a partial member. */
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(n);
    if (line == NULL)
        return;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *added = curl_slist_append(*l, line);
    if (added != NULL)
        *l = added;
    free(line);
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static void call(const item *it, lumen_span *server, const lumen_baggage *bag)
{
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.kind = LUMEN_SPAN_CLIENT;
    o.parent = server;
    lumen_span *s = lumen_span_start(g_tracer, "POST", &o);
    lumen_span_set_str(s, "url.full", it->url);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    lumen_span_context *sc;
    if (lumen_span_context_new(&sc) == LUMEN_OK) {
        lumen_span_get_context(sc, s);
        lumen_carrier c = LUMEN_CARRIER_INIT;
        c.set = curl_set;
        c.carrier = &hdrs;
        lumen_propagation_inject(&c, LUMEN_PROPAGATE_DEFAULT, sc, bag);
        lumen_span_context_free(sc);
    }
    CURL *h = curl_easy_init();
    if (h != NULL) {
        curl_easy_setopt(h, CURLOPT_URL, it->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->args);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)it->args_len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        lumen_span_set_int(s, "http.response.status_code", status);
        if (rc != CURLE_OK)
            lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, curl_easy_strerror(rc));
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdrs);
    lumen_span_end(s);
}

typedef struct request {
    char *body;
    size_t len;
    bool too_big;
} request;

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
    (void)cls, (void)version;
    request *rq = *state;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        *state = rq;
        return MHD_YES;
    }
    if (*size > 0) {
        if (rq->len + *size > MAX_BODY) {
            rq->too_big = true;
        } else {
            char *nb = realloc(rq->body, rq->len + *size + 1);
            if (nb == NULL)
                return MHD_NO;
            rq->body = nb;
            memcpy(rq->body + rq->len, data, *size);
            rq->len += *size;
        }
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    if (rq->too_big)
        return answer(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too big\n");

    lumen_carrier c = LUMEN_CARRIER_INIT;
    c.get = mhd_get;
    c.carrier = conn;
    lumen_span_context *parent = NULL;
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.kind = LUMEN_SPAN_SERVER;
    o.root = true;
    lumen_baggage *bag = NULL;
    lumen_baggage_new(&bag); /* NULL on failure: then no baggage is passed on */
    if (lumen_span_context_new(&parent) == LUMEN_OK &&
        lumen_propagation_extract(parent, bag, LUMEN_PROPAGATE_DEFAULT, &c) == LUMEN_OK)
        o.parent_context = parent;
    lumen_span *server = lumen_span_start(g_tracer, "POST", &o);
    lumen_span_context_free(parent); /* the span keeps what it needs */
    lumen_span_set_str(server, "url.path", url);
    lumen_span_enter(server);
    const char *p = rq->body ? rq->body : "", *e = p + rq->len;
    p = ws(p, e);
    unsigned code = MHD_HTTP_OK;
    if (p < e && *p == '[') {
        p = ws(p + 1, e);
        while (p < e && *p != ']') {
            item it;
            if ((p = read_item(p, e, &it)) == NULL) {
                code = MHD_HTTP_BAD_REQUEST;
                break;
            }
            if (it.url[0] != '\0')
                call(&it, server, bag);
            p = ws(p, e);
            if (p < e && *p == ',')
                p = ws(p + 1, e);
        }
    } else if (rq->len > 0) {
        code = MHD_HTTP_BAD_REQUEST;
    }
    lumen_span_leave(server);
    lumen_span_set_int(server, "http.response.status_code", code);
    lumen_span_end(server);
    lumen_baggage_free(bag);
    return answer(conn, code, code == MHD_HTTP_OK ? "ok\n" : "bad request\n");
}

static void done(void *cls, struct MHD_Connection *conn, void **state,
                 enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)conn, (void)t;
    request *rq = *state;
    if (rq != NULL) {
        free(rq->body);
        free(rq);
    }
    *state = NULL;
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 5000;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits the mask */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lumen_tracer_provider *tp;
    if (lumen_otlp_tracing_init(&tp) != LUMEN_OK) {
        fprintf(stderr, "tracing setup failed\n");
        return 1;
    }
    g_tracer = lumen_tracer_provider_get_tracer(tp, "tracecontext_service", "1.0");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)port, NULL, NULL,
        handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%u\n", port);
        lumen_tracer_provider_free(tp);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? info->port : port);
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    lumen_tracer_provider_free(tp); /* flushes the batch processor */
    curl_global_cleanup();
    return 0;
}
