/*
 * http/mhd.c: the libmicrohttpd adapter of the server instrumentation
 * (lumen/http_mhd.h). It uses liblumen's public API only.
 *
 * Each connection owns one slot, made when MHD accepts the connection and
 * freed when it closes; MHD handles one request of a connection at a time
 * (it does not pipeline), so the slot holds that request. The URI log
 * callback marks the start (state URI), the first access-handler call
 * begins the request (state LIVE), completion ends it (state IDLE). The
 * request is made current around every call of the program's handler and
 * left when it returns, since with MHD's internal polling thread one
 * thread serves many connections' requests interleaved.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "lumen/http_mhd.h"

enum { IDLE = 0, URI = 1, LIVE = 2 };

struct lumen_mhd {
    lumen_server_instrument *ins;
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    /* Requests that went unrecorded (lumen_mhd_unrecorded): relaxed, a
     * count read by the program, ordering nothing. */
    _Atomic uint64_t unrecorded;
};

typedef struct slot {
    lumen_mhd *m;
    int state;
    unsigned int status; /* the status the handler queued, 0 before */
    int64_t start_ns;
    void *user_cls; /* the program's *req_cls */
    lumen_server_request rq;
} slot;

int lumen_mhd_options_init(lumen_mhd_options *opts, unsigned int version)
{
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > LUMEN_MHD_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return LUMEN_OK;
}

int lumen_mhd_new(lumen_mhd **out, const lumen_mhd_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (opts->version == 0 || opts->version > LUMEN_MHD_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    if (opts->instrument == NULL || opts->handler == NULL)
        return LUMEN_EINVAL;
    lumen_mhd *m = lumen__calloc(1, sizeof *m);
    if (m == NULL)
        return LUMEN_ENOMEM;
    m->ins = opts->instrument;
    m->handler = opts->handler;
    m->handler_cls = opts->handler_cls;
    m->completed = opts->completed;
    m->completed_cls = opts->completed_cls;
    *out = m;
    return LUMEN_OK;
}

void lumen_mhd_free(lumen_mhd *m)
{
    if (m != NULL)
        lumen__free(m, sizeof *m);
}

static slot *slot_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        c != NULL ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    return ci != NULL ? ci->socket_context : NULL;
}

/* ---- the carrier --------------------------------------------------------- */

typedef struct get_ctx {
    const char *name;
    lumen_carrier_emit_fn emit;
    void *emit_ctx;
} get_ctx;

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    get_ctx *g = cls;
    (void)kind;
    if (key != NULL && value != NULL && strcasecmp(key, g->name) == 0)
        g->emit(value, strlen(value), g->emit_ctx);
    return MHD_YES;
}

static void carrier_get(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    get_ctx g = {name, emit, ctx};
    MHD_get_connection_values(carrier, MHD_HEADER_KIND, each_header, &g);
}

static void carrier_set(void *carrier, const char *name, const char *value)
{
    (void)carrier, (void)name, (void)value; /* a request's headers are read only */
}

int lumen_mhd_carrier(lumen_carrier *out, struct MHD_Connection *connection)
{
    if (out == NULL || connection == NULL)
        return LUMEN_EINVAL;
    lumen_carrier c = LUMEN_CARRIER_INIT;
    c.get = carrier_get;
    c.set = carrier_set;
    c.carrier = connection;
    *out = c;
    return LUMEN_OK;
}

/* ---- the callbacks -------------------------------------------------------- */

void lumen_mhd_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    lumen_mhd *m = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        slot *s = m != NULL ? lumen__calloc(1, sizeof *s) : NULL;
        if (s != NULL) {
            s->m = m;
        } else if (m != NULL) {
            /* The connection's requests go unrecorded, counted as they come
             * (the access handler passes them through). */
            lumen__diag(LUMEN_DIAG_WARN, "lumen_mhd: out of memory for a connection's request "
                                         "slot: its requests are not recorded");
        }
        *socket_context = s;
        return;
    }
    slot *s = *socket_context;
    if (s == NULL)
        return;
    if (s->state == LIVE) /* closed without a completion notice */
        lumen_server_request_end(&s->rq, (int)s->status, s->status != 0 ? NULL : "client_abort");
    else if (s->state == URI) /* MHD answered before the handler saw the request */
        atomic_fetch_add_explicit(&s->m->unrecorded, 1, memory_order_relaxed);
    *socket_context = NULL;
    (void)connection;
    lumen__free(s, sizeof *s);
}

void *lumen_mhd_uri_log(void *cls, const char *uri, struct MHD_Connection *connection)
{
    lumen_mhd *m = cls;
    (void)uri;
    slot *s = slot_of(connection);
    if (s == NULL) { /* no slot: out of memory, or no connection callback */
        if (m != NULL)
            atomic_fetch_add_explicit(&m->unrecorded, 1, memory_order_relaxed);
        return NULL;
    }
    if (s->state == LIVE) /* cannot happen with one request per connection at a time */
        lumen_server_request_end(&s->rq, (int)s->status, "error");
    s->state = URI;
    s->status = 0;
    s->user_cls = NULL;
    s->start_ns = lumen_now_ns();
    return s;
}

/* The client's address as text into buf ("" when unknown). */
static const char *client_address(char *buf, size_t cap, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    buf[0] = '\0';
    if (ci == NULL || ci->client_addr == NULL)
        return NULL;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
    return buf[0] != '\0' ? buf : NULL;
}

/* server.address and server.port: the Host header's name ("[::1]:80"
 * gives "::1"), cut to the buffer, and its port (0 when absent or not a
 * number from 1 to 65535). */
static const char *host_name(char *buf, size_t cap, uint16_t *port, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    *port = 0;
    if (h == NULL || h[0] == '\0')
        return NULL;
    size_t n;
    const char *rest;
    if (h[0] == '[') {
        const char *e = strchr(h, ']');
        h++;
        n = e != NULL ? (size_t)(e - h) : strlen(h);
        rest = e != NULL ? e + 1 : h + n;
    } else {
        const char *e = strchr(h, ':');
        n = e != NULL ? (size_t)(e - h) : strlen(h);
        rest = h + n;
    }
    if (rest[0] == ':' && rest[1] != '\0') {
        unsigned long p = 0;
        const char *d = rest + 1;
        while (*d >= '0' && *d <= '9' && p <= 65535)
            p = p * 10 + (unsigned long)(*d++ - '0');
        if (*d == '\0' && p >= 1 && p <= 65535)
            *port = (uint16_t)p;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return n > 0 ? buf : NULL;
}

static void begin(slot *s, struct MHD_Connection *c, const char *url, const char *method,
                  const char *version)
{
    lumen_carrier carrier;
    lumen_mhd_carrier(&carrier, c);
    char addr[INET6_ADDRSTRLEN], host[256];
    lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
    o.method = method;
    o.path = url;
    o.headers = &carrier;
    o.client_address = client_address(addr, sizeof addr, c);
    o.user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
    o.server_address = host_name(host, sizeof host, &o.server_port, c);
    /* network.protocol.version: "HTTP/1.1" gives "1.1". */
    if (version != NULL && strncmp(version, "HTTP/", 5) == 0 && version[5] != '\0')
        o.protocol_version = version + 5;
    o.start_ns = s->start_ns;
    if (lumen_server_request_begin(&s->rq, s->m->ins, &o) == LUMEN_OK) {
        lumen_server_request_leave(&s->rq); /* entered again around each handler call */
        s->state = LIVE;
    } else {
        s->state = IDLE;
    }
}

static void note_status(slot *s, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    if (ci != NULL && ci->http_status != 0)
        s->status = ci->http_status;
}

enum MHD_Result lumen_mhd_access_handler(void *cls, struct MHD_Connection *connection,
                                         const char *url, const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **req_cls)
{
    lumen_mhd *m = cls;
    /* *req_cls is the slot only when it is this connection's: without a
     * slot it is the program's own pointer, never to be read here. */
    slot *s = slot_of(connection);
    if (s == NULL || *req_cls != s || s->m != m) { /* no slot: pass through */
        return m->handler(m->handler_cls, connection, url, method, version, upload_data,
                          upload_data_size, req_cls);
    }
    if (s->state == URI)
        begin(s, connection, url, method, version);
    bool live = s->state == LIVE;
    if (live)
        lumen_server_request_enter(&s->rq);
    enum MHD_Result rc = m->handler(m->handler_cls, connection, url, method, version, upload_data,
                                    upload_data_size, &s->user_cls);
    if (live) {
        note_status(s, connection);
        lumen_server_request_leave(&s->rq);
    }
    return rc;
}

static const char *termination_error(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "daemon_shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    default:
        return "error";
    }
}

void lumen_mhd_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    lumen_mhd *m = cls;
    slot *s = slot_of(connection);
    if (s == NULL || req_cls == NULL || *req_cls != s || s->m != m) {
        if (m != NULL && m->completed != NULL)
            m->completed(m->completed_cls, connection, req_cls, toe);
        return;
    }
    bool saw_handler = s->state == LIVE;
    if (s->state == URI)
        atomic_fetch_add_explicit(&m->unrecorded, 1, memory_order_relaxed);
    if (saw_handler) {
        note_status(s, connection);
        lumen_server_request_end(&s->rq, (int)s->status, termination_error(toe));
    }
    s->state = IDLE;
    if (saw_handler && m->completed != NULL)
        m->completed(m->completed_cls, connection, &s->user_cls, toe);
    s->user_cls = NULL;
    *req_cls = NULL;
}

uint64_t lumen_mhd_unrecorded(const lumen_mhd *m)
{
    return m != NULL ? atomic_load_explicit(&m->unrecorded, memory_order_relaxed) : 0;
}

lumen_server_request *lumen_mhd_request(struct MHD_Connection *connection)
{
    slot *s = slot_of(connection);
    return s != NULL && s->state == LIVE ? &s->rq : NULL;
}
