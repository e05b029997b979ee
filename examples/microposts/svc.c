/*
 * examples/microposts/svc.c: see svc.h. libmicrohttpd calls the access
 * handler several times per request: once with the headers, then with each
 * piece of the body, then once more with nothing left; the request is
 * dispatched on that last call.
 */
#include "svc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/random.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs.h"

#define MAX_BODY (64 * 1024)
#define MAX_PARAMS 4

struct svc {
    struct MHD_Daemon *d;
    char *name;
    const svc_route *routes;
    size_t nroutes;
    void *ud;
    int port;
};

struct svc_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    char *body;
    size_t len;
    int too_big;
    char id[33];
    struct timespec start;
};

const char *svc_req_body(const svc_req *r, size_t *len)
{
    *len = r->len;
    return r->body ? r->body : "";
}

const char *svc_req_header(const svc_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *svc_req_query(const svc_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *svc_req_id(const svc_req *r)
{
    return r->id;
}

void svc_json(svc_resp *resp, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(resp->body);
    resp->status = s ? status : 500;
    resp->body = s;
}

void svc_error(svc_resp *resp, int status, const char *message)
{
    char *m = json_escape(message);
    svc_json(resp, status, "{\"error\":%s}", m);
    free(m);
}

/* Match "/users/:id/posts" against a path; ":x" segments are captured. */
static int match(const char *pattern, const char *path, char params[MAX_PARAMS][64], size_t *np)
{
    *np = 0;
    while (*pattern && *path) {
        if (*pattern == ':') {
            while (*pattern && *pattern != '/')
                pattern++;
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= 64 || *np == MAX_PARAMS)
                return 0;
            memcpy(params[*np], path, n);
            params[(*np)++][n] = '\0';
            path += n;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* Incoming headers for trace propagation: every line named `name`. */
typedef struct header_walk {
    const char *name;
    lumen_carrier_emit_fn emit;
    void *ctx;
} header_walk;

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    header_walk *w = cls;
    if (value != NULL && strcasecmp(key, w->name) == 0)
        w->emit(value, strlen(value), w->ctx);
    return MHD_YES;
}

static void get_header(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    header_walk w = {name, emit, ctx};
    MHD_get_connection_values(carrier, MHD_HEADER_KIND, on_header, &w);
}

/* Route the request, then run its handler inside the instrumentation
 * middleware: every route, matched or not, gets a span, a count, a latency
 * observation and a log line. */
static void dispatch(svc *s, svc_req *req, svc_resp *resp)
{
    char params[MAX_PARAMS][64];
    const char *ptrs[MAX_PARAMS];
    size_t np = 0;
    int path_matched = 0;
    const svc_route *route = NULL;
    for (size_t i = 0; i < s->nroutes && route == NULL; i++) {
        if (!match(s->routes[i].pattern, req->url, params, &np))
            continue;
        path_matched = 1;
        if (strcmp(s->routes[i].method, req->method) == 0)
            route = &s->routes[i];
    }
    obs_request obs;
    lumen_carrier incoming = LUMEN_CARRIER_INIT;
    incoming.get = get_header;
    incoming.carrier = req->conn;
    obs_request_begin(&obs, req->method, route ? route->name : "unmatched", req->id, &incoming);
    if (req->too_big) {
        svc_error(resp, 413, "request body too large");
    } else if (route == NULL) {
        svc_error(resp, path_matched ? 405 : 404,
                  path_matched ? "method not allowed" : "not found");
    } else {
        for (size_t k = 0; k < np; k++)
            ptrs[k] = params[k];
        route->fn(req, ptrs, np, resp, s->ud);
        if (resp->status == 0)
            resp->status = 200;
    }
    obs_request_end(&obs, resp->status);
}

/* The caller's X-Request-Id when it sent a sane one (so that one request
 * keeps one id across services), else a new random one. */
static void request_id(struct MHD_Connection *conn, char *out, size_t cap)
{
    const char *in = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = in ? strlen(in) : 0;
    int ok = n > 0 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = (in[i] >= '0' && in[i] <= '9') || (in[i] >= 'a' && in[i] <= 'z') ||
             (in[i] >= 'A' && in[i] <= 'Z') || in[i] == '-' || in[i] == '_';
    if (ok) {
        memcpy(out, in, n + 1);
        return;
    }
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        memset(r, 0, sizeof r);
    for (size_t i = 0; i < sizeof r && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    svc *s = cls;
    svc_req *req = *con_cls;
    if (req == NULL) {
        req = calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        req->conn = conn;
        req->method = method;
        req->url = url;
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        request_id(conn, req->id, sizeof req->id);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (req->len + *upload_size > MAX_BODY) {
            req->too_big = 1;
        } else {
            char *b = realloc(req->body, req->len + *upload_size + 1);
            if (b == NULL)
                return MHD_NO;
            memcpy(b + req->len, upload_data, *upload_size);
            req->body = b;
            req->len += *upload_size;
            b[req->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    svc_resp resp = {0, NULL};
    dispatch(s, req, &resp);
    const char *body = resp.body ? resp.body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Request-Id", req->id);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    free(resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    svc_req *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

svc *svc_start(const char *service_name, int port, const svc_route *routes, size_t nroutes,
               void *ud)
{
    svc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->name = strdup(service_name);
    s->routes = routes;
    s->nroutes = nroutes;
    s->ud = ud;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->d == NULL) {
        free(s->name);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

int svc_port(const svc *s)
{
    return s->port;
}

void svc_stop(svc *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    free(s->name);
    free(s);
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void svc_serve(svc *s, const char *ready_file)
{
    /* Block the signals, then wait for them with sigsuspend: a signal
     * arriving between the flag check and the wait cannot be missed. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    obs_ready(svc_port(s), ready_file);
    while (!g_stop)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    svc_stop(s);
    obs_shutdown();
}
