/*
 * examples/microposts/svc.c: see svc.h. libmicrohttpd calls the access
 * handler several times per request: once with the headers, then with each
 * piece of the body, then once more with nothing left; the request is
 * dispatched on that last call. lumen's libmicrohttpd adapter sits in front
 * of it and records every request: a server span, the request metrics and
 * an access line (lumen/http_mhd.h).
 */
#include "svc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumen/http_mhd.h"
#include "obs.h"

#define MAX_BODY (64 * 1024)
#define MAX_PARAMS 4

struct svc {
    struct MHD_Daemon *d;
    lumen_server_instrument *ins;
    lumen_mhd *mhd;
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
    return lumen_server_request_id(lumen_mhd_request(r->conn));
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

/* Route the request, then run its handler. The adapter records every
 * request, matched or not; a matched one gets its route template. */
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
    if (route)
        lumen_server_request_set_route(lumen_mhd_request(req->conn), route->name);
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
    /* The caller's X-Request-Id, or the one the adapter made. */
    MHD_add_response_header(r, "X-Request-Id", svc_req_id(req));
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
    /* The request instrumentation, its access lines under the service's
     * name, and its adapter in front of on_request and on_completed. */
    lumen_server_instrument_options io = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    io.logger = lumen_logger_get(service_name);
    lumen_mhd_options mo = LUMEN_MHD_OPTIONS_INIT;
    mo.handler = on_request;
    mo.handler_cls = s;
    mo.completed = on_completed;
    mo.completed_cls = s;
    if (s->name == NULL || lumen_server_instrument_new(&s->ins, &io) != LUMEN_OK ||
        (mo.instrument = s->ins, lumen_mhd_new(&s->mhd, &mo)) != LUMEN_OK) {
        svc_stop(s);
        return NULL;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        lumen_mhd_access_handler, s->mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, s->mhd,
        MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, s->mhd, MHD_OPTION_NOTIFY_COMPLETED,
        lumen_mhd_completed, s->mhd, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, 4u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (s->d == NULL) {
        svc_stop(s);
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
    if (s->d)
        MHD_stop_daemon(s->d);
    lumen_mhd_free(s->mhd);
    lumen_server_instrument_free(s->ins);
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
    int admin = obs_start_endpoint();
    LUMEN_LOG_INFO(lumen_logger_get(s->name), "service ready", LUMEN_INT("port", s->port),
                   LUMEN_INT("admin_port", admin));
    lumen_log_flush(0);
    if (ready_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "api=%d admin=%d\n", s->port, admin);
            fclose(f);
            rename(tmp, ready_file);
        }
    }
    while (!g_stop)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* The last metrics export (obs_shutdown) still sees the request
     * families; svc_stop then unregisters them with the instrument. */
    MHD_stop_daemon(s->d);
    s->d = NULL;
    obs_shutdown();
    svc_stop(s);
}
