/*
 * http/server.c: the /metrics server's life cycle and request routing on
 * libmicrohttpd.
 *
 * Threads: a pool of `threads` libmicrohttpd threads, each running its own
 * epoll loop, and an accept thread of our own (http/conns.c). An idle or
 * slow connection costs a socket and a small memory pool, never a thread.
 * A render runs on the pool thread that received the request; the scrape
 * limit keeps renders from taking every thread, so /healthz and refusals
 * stay quick.
 *
 * Limits, each set explicitly rather than inherited from the library:
 * connections in total and per client IP, the deadline for a request's
 * headers and room for new connections (http/conns.c, which owns the
 * listening socket and hands connections to libmicrohttpd), the idle
 * timeout, and the per-connection memory pool, which bounds the request
 * line and headers (libmicrohttpd answers 431 or 414 when they do not fit).
 */
#include "core/common.h"

#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/versioned.h"
#include "http/addr.h"
#include "http/conns.h"
#include "http/console_store.h"
#include "http/reply.h"
#include "http/server.h"

static enum MHD_Result reply_unauthorized(struct MHD_Connection *c)
{
    static const char msg[] = "Unauthorized.\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)(uintptr_t)msg,
                                                             MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Basic realm=\"metrics\", charset=\"UTF-8\"");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the console ----------------------------------------------------------------- */

/* The raw query string of a request, kept from libmicrohttpd's URI log
 * callback (which runs before the URI is split) for the console's
 * parameter parser; it becomes the request's closure. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    const char *q = strchr(uri, '?');
    return q != NULL ? lumen__strdup(q + 1) : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    lumen_http_server *srv = cls;
    (void)code;
    lumen__http_conns_request_done(srv->conns, c);
    char *q = *req_cls;
    if (q != NULL)
        lumen__free(q, strlen(q) + 1);
    *req_cls = NULL;
}

static void free_buf_body(void *cls)
{
    lumen__buf *b = cls;
    lumen__buf_free(b);
    lumen__free(b, sizeof *b);
}

static enum MHD_Result serve_console(lumen_http_server *srv, struct MHD_Connection *c,
                                     const char *url, const char *query)
{
    lumen__console_resp r;
    if (!lumen__console_handle(srv->console, url, query, &r)) {
        lumen__buf_free(&r.body);
        return lumen__http_reply(c, MHD_HTTP_NOT_FOUND, "Not found.\n", NULL);
    }
    struct MHD_Response *resp = NULL;
    if (r.static_body != NULL) {
        resp = MHD_create_response_from_buffer(r.static_len, (void *)(uintptr_t)r.static_body,
                                               MHD_RESPMEM_PERSISTENT);
        lumen__buf_free(&r.body);
    } else {
        lumen__buf *b = lumen__malloc(sizeof *b);
        if (b == NULL) {
            lumen__buf_free(&r.body);
            return MHD_NO;
        }
        *b = r.body;
        resp =
            MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->p, free_buf_body, b);
        if (resp == NULL)
            free_buf_body(b);
    }
    if (resp == NULL)
        return MHD_NO;
    if (r.content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
    MHD_add_response_header(resp, "Content-Security-Policy", LUMEN__CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r.cache ? "max-age=3600" : "no-store");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- routing ------------------------------------------------------------------- */

/* RFC 9110 5.1: a field name is a token. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static enum MHD_Result check_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind, (void)value;
    const unsigned char *k = (const unsigned char *)key;
    bool ok = *k != '\0';
    for (; ok && *k; k++)
        ok = is_tchar(*k);
    if (!ok)
        *(bool *)cls = true;
    return ok ? MHD_YES : MHD_NO;
}

/* Whether a header name is not a token. libmicrohttpd 0.9.75 keeps the
 * spaces of "Name : value" in the name (its own check runs only in its
 * permissive mode), so the rule of RFC 9112 5.1 that a server must answer
 * whitespace between a field name and its colon with 400 is kept here. */
static bool bad_header_name(struct MHD_Connection *c)
{
    bool bad = false;
    MHD_get_connection_values(c, MHD_HEADER_KIND, check_name, &bad);
    return bad;
}

static enum MHD_Result reply_bad_request(struct MHD_Connection *c)
{
    static const char msg[] = "Bad request: a header name is not a token.\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)(uintptr_t)msg,
                                                             MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    /* The message's framing cannot be trusted: close after answering. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_BAD_REQUEST, r);
    MHD_destroy_response(r);
    return ret;
}

/* LUMEN__AUTH_OK when the request may proceed. */
static int authenticate(lumen_http_server *srv, struct MHD_Connection *c)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    int r = lumen__http_auth_check(srv->auth, user, pass);
    if (pass != NULL) {
        explicit_bzero(pass, strlen(pass));
        MHD_free(pass);
    }
    if (user != NULL)
        MHD_free(user);
    return r;
}

static enum MHD_Result route(lumen_http_server *srv, struct MHD_Connection *c, const char *url,
                             const char *method, void **req_cls)
{
    if (bad_header_name(c))
        return reply_bad_request(c);

    bool metrics = strcmp(url, "/metrics") == 0;
    bool healthz = strcmp(url, "/healthz") == 0;
    if (!metrics && !healthz && srv->console == NULL)
        return lumen__http_reply(c, MHD_HTTP_NOT_FOUND, "Not found. Try /metrics.\n", NULL);
    /* We never read a request body: answering before it arrives makes
     * libmicrohttpd close the connection after the response instead. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return lumen__http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.\n",
                                 "GET, HEAD");

    if (srv->auth != NULL && (!healthz || (srv->flags & LUMEN_HTTP_AUTH_HEALTHZ))) {
        int a = authenticate(srv, c);
        if (a != LUMEN__AUTH_OK) {
            if (metrics) {
                lumen_counter_inc(a == LUMEN__AUTH_BUSY ? srv->scrape.self.code_429
                                                        : srv->scrape.self.code_401);
                lumen_counter_inc(srv->scrape.self.err_auth);
            }
            if (a == LUMEN__AUTH_BUSY)
                return lumen__http_reply(c, MHD_HTTP_TOO_MANY_REQUESTS,
                                         "Too many authentication attempts at once.\n", NULL);
            return reply_unauthorized(c);
        }
    }
    if (healthz)
        return lumen__http_reply(c, MHD_HTTP_OK, "ok\n", NULL);
    if (metrics)
        return lumen__http_scrape(&srv->scrape, c);
    return serve_console(srv, c, url, *req_cls);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    lumen_http_server *srv = cls;
    (void)version, (void)upload_data, (void)upload_data_size;
    /* The headers are complete: the connection is no longer one that can
     * be closed to make room for another, and while the answer is made
     * (a render can take a while) new connections go to other threads. */
    int worker = lumen__http_conns_request(srv->conns, c);
    enum MHD_Result r = route(srv, c, url, method, req_cls);
    lumen__http_conns_handler_done(srv->conns, worker);
    return r;
}

/* libmicrohttpd's own messages go to the diagnostics hook, never stderr. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!lumen__diag_enabled(LUMEN_DIAG_DEBUG))
        return;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    lumen__diag(LUMEN_DIAG_DEBUG, "http: libmicrohttpd: %s", msg);
}

/* ---- life cycle ------------------------------------------------------------------ */

static int read_pem(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: cannot open TLS file '%s'", path);
        return LUMEN_ECONFIG;
    }
    char *p = NULL;
    size_t n = 0, cap = 0;
    int rc = LUMEN_OK;
    for (;;) {
        if (cap - n < 4097) {
            size_t nc = cap ? cap * 2 : 8192;
            if (nc > (1u << 20)) { /* no certificate chain is a megabyte */
                rc = LUMEN_ECONFIG;
                break;
            }
            char *q = lumen__realloc(p, cap, nc);
            if (q == NULL) {
                rc = LUMEN_ENOMEM;
                break;
            }
            p = q;
            cap = nc;
        }
        size_t got = fread(p + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (rc != LUMEN_OK) {
        lumen__free(p, cap);
        return rc;
    }
    p[n] = '\0';
    *out = p;
    *len = cap;
    return LUMEN_OK;
}

static int setup_tls(lumen_http_server *srv, const lumen_http_server_options *o)
{
    bool have_pem = o->tls_cert_pem || o->tls_key_pem;
    bool have_file = o->tls_cert_file || o->tls_key_file;
    if (!have_pem && !have_file)
        return LUMEN_OK;
    if (have_pem && have_file)
        return LUMEN_EINVAL;
    if (have_pem ? !(o->tls_cert_pem && o->tls_key_pem) : !(o->tls_cert_file && o->tls_key_file))
        return LUMEN_EINVAL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: libmicrohttpd was built without TLS");
        return LUMEN_ENOTSUP;
    }
    if (have_pem) {
        srv->tls_cert_len = strlen(o->tls_cert_pem) + 1;
        srv->tls_key_len = strlen(o->tls_key_pem) + 1;
        srv->tls_cert = lumen__strdup(o->tls_cert_pem);
        srv->tls_key = lumen__strdup(o->tls_key_pem);
        return srv->tls_cert && srv->tls_key ? LUMEN_OK : LUMEN_ENOMEM;
    }
    int rc = read_pem(o->tls_cert_file, &srv->tls_cert, &srv->tls_cert_len);
    if (rc == LUMEN_OK)
        rc = read_pem(o->tls_key_file, &srv->tls_key, &srv->tls_key_len);
    return rc;
}

static void server_free(lumen_http_server *srv)
{
    /* No new connections first, then libmicrohttpd closes the open ones
     * (telling the table each), then the table goes. */
    lumen__http_conns_stop(srv->conns);
    for (unsigned i = 0; i < srv->ndaemons; i++)
        if (srv->daemons[i] != NULL)
            MHD_stop_daemon(srv->daemons[i]);
    lumen__free(srv->daemons, srv->ndaemons * sizeof *srv->daemons);
    lumen__http_conns_free(srv->conns);
    lumen__console_free(srv->console);
    lumen__http_auth_free(srv->auth);
    lumen__http_self_free(&srv->scrape.self);
    lumen__free(srv->scrape.regs, srv->scrape.nregs * sizeof *srv->scrape.regs);
    if (srv->tls_key != NULL)
        explicit_bzero(srv->tls_key, strlen(srv->tls_key));
    lumen__free(srv->tls_cert, srv->tls_cert_len);
    lumen__free(srv->tls_key, srv->tls_key_len);
    lumen__free(srv, sizeof *srv);
}

#define PICK(v, def) ((v) ? (v) : (def))

static const size_t options_sizes[] = {0, sizeof(lumen_http_server_options)};

int lumen_http_server_options_init(lumen_http_server_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_http_server_start(lumen_http_server **out, const lumen_http_server_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_http_server_options full;
    const lumen_http_server_options *o = &full;
    int vrc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    if ((o->registries == NULL) != (o->registry_count == 0))
        return LUMEN_EINVAL;
    if (o->max_header_bytes != 0 && o->max_header_bytes < 1024)
        return LUMEN_EINVAL;

    lumen__http_addr addr;
    int rc = lumen__http_addr_parse(PICK(o->addr, LUMEN_HTTP_DEFAULT_ADDR), &addr);
    if (rc != LUMEN_OK)
        return rc;

    lumen_http_server *srv = lumen__calloc(1, sizeof *srv);
    if (srv == NULL)
        return LUMEN_ENOMEM;
    srv->flags = o->flags;
    lumen__http_scraper *sc = &srv->scrape;
    sc->gzip = !(o->flags & LUMEN_HTTP_NO_GZIP);
    sc->max_scrapes = PICK(o->max_concurrent_scrapes, LUMEN_HTTP_DEFAULT_MAX_SCRAPES);
    sc->scrape_timeout_ms = PICK(o->scrape_timeout_ms, LUMEN_HTTP_DEFAULT_SCRAPE_TIMEOUT_MS);

    rc = LUMEN_ENOMEM;
    size_t nuser = o->registry_count ? o->registry_count : 1;
    sc->nregs = nuser + ((o->flags & LUMEN_HTTP_NO_SELF_METRICS) ? 0 : 1);
    sc->regs = lumen__calloc(sc->nregs, sizeof *sc->regs);
    if (sc->regs == NULL)
        goto fail;
    for (size_t i = 0; i < nuser; i++) {
        sc->regs[i] = o->registry_count ? o->registries[i] : lumen_registry_default();
        if (sc->regs[i] == NULL)
            goto fail;
    }
    if (!(o->flags & LUMEN_HTTP_NO_SELF_METRICS)) {
        if ((rc = lumen__http_self_init(&sc->self)) != LUMEN_OK)
            goto fail;
        sc->regs[nuser] = sc->self.reg;
    }
    if ((rc = lumen__http_auth_new(&srv->auth, o->basic_auth_users, o->basic_auth_file)) !=
        LUMEN_OK)
        goto fail;
    if ((rc = setup_tls(srv, o)) != LUMEN_OK)
        goto fail;
    if (o->flags & LUMEN_HTTP_CONSOLE) {
        lumen__console_opts co = {0};
        co.registries = o->registries;
        co.registry_count = o->registry_count;
        if ((rc = lumen__console_new(&srv->console, &co)) != LUMEN_OK)
            goto fail;
        lumen__console_set_traces(srv->console, lumen__console_traces_json, NULL);
        lumen__console_set_logs(srv->console, lumen__console_logs_json, NULL);
    }

    lumen__http_conns_opts cno = {0};
    cno.max_total = PICK(o->max_connections, LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS);
    cno.max_per_client = PICK(o->max_connections_per_client, LUMEN_HTTP_DEFAULT_MAX_PER_CLIENT);
    cno.header_timeout_ms = PICK(o->header_timeout_ms, LUMEN_HTTP_DEFAULT_HEADER_TIMEOUT_MS);
    cno.closed_timeout = srv->scrape.self.closed_timeout;
    cno.closed_evicted = srv->scrape.self.closed_evicted;
    cno.refused = srv->scrape.self.closed_refused;
    cno.open = srv->scrape.self.conns_open;
    unsigned threads = PICK(o->threads, LUMEN_HTTP_DEFAULT_THREADS);
    if ((rc = lumen__http_conns_new(&srv->conns, &addr, &cno, threads)) != LUMEN_OK) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: cannot listen on %s",
                    PICK(o->addr, LUMEN_HTTP_DEFAULT_ADDR));
        goto fail;
    }
    srv->port = lumen__http_conns_port(srv->conns);

    /* One daemon with one thread per server thread, and no listening
     * socket of libmicrohttpd's own: http/conns.c accepts and picks the
     * daemon for each connection (MHD_USE_ITC wakes its thread). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (srv->tls_cert != NULL)
        flags |= MHD_USE_TLS;

    struct MHD_OptionItem mo[16];
    size_t k = 0;
    /* In an option array a function pointer travels in `value`, its
     * closure in `ptr_value`. */
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                      (intptr_t)lumen__http_conns_notify, srv->conns};
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    /* The limits that count are the table's (http/conns.c). */
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                      lumen__http_conns_mhd_limit(srv->conns), NULL};
    mo[k++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_TIMEOUT,
        /* whole seconds for libmicrohttpd, rounded up */
        ((intptr_t)PICK(o->connection_timeout_ms, LUMEN_HTTP_DEFAULT_CONNECTION_TIMEOUT_MS) + 999) /
            1000,
        NULL};
    mo[k++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (intptr_t)PICK(o->max_header_bytes, LUMEN_HTTP_DEFAULT_MAX_HEADER_BYTES), NULL};
    /* Refuse requests that bend HTTP/1.1 (bare LF, spaces in odd places). */
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
    if (srv->console != NULL)
        mo[k++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL};
    if (srv->tls_cert != NULL) {
        mo[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        mo[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
        /* TLS 1.2 and 1.3 only, as exporter-toolkit's default min_version. */
        mo[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                          (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
    }
    mo[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    rc = LUMEN_ENOMEM;
    if ((srv->daemons = lumen__calloc(threads, sizeof *srv->daemons)) == NULL)
        goto fail;
    srv->ndaemons = threads;
    for (unsigned i = 0; i < threads; i++) {
        srv->daemons[i] = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY,
                                           mo, MHD_OPTION_END);
        if (srv->daemons[i] == NULL) {
            lumen__diag(LUMEN_DIAG_ERROR, "http: cannot start the server on %s",
                        PICK(o->addr, LUMEN_HTTP_DEFAULT_ADDR));
            /* The address is bound already, so with TLS the cause is a
             * certificate or key that GnuTLS refused. */
            rc = srv->tls_cert != NULL ? LUMEN_ECONFIG : LUMEN_ESYS;
            goto fail;
        }
        lumen__http_conns_set_daemon(srv->conns, i, srv->daemons[i]);
    }
    if ((rc = lumen__http_conns_run(srv->conns)) != LUMEN_OK)
        goto fail;
    *out = srv;
    return LUMEN_OK;
fail:
    server_free(srv);
    return rc;
}

uint16_t lumen_http_server_port(const lumen_http_server *srv)
{
    return srv ? srv->port : 0;
}

void lumen_http_server_stop(lumen_http_server *srv)
{
    if (srv == NULL)
        return;
    server_free(srv);
}
