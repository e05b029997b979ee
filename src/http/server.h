/*
 * http/server.h: the /metrics server's state, shared by server.c (life
 * cycle, routing, limits) and scrape.c (rendering a scrape).
 */
#ifndef LUMEN_HTTP_SERVER_H
#define LUMEN_HTTP_SERVER_H

#include <microhttpd.h>

#include "core/common.h"
#include "http/auth.h"
#include "http/console.h"
#include "http/conns.h"
#include "lumen/http.h"

/* The endpoint's own metrics, in a registry of the server's own. */
typedef struct lumen__http_self {
    lumen_registry *reg;
    lumen_family *scrapes; /* lumen_http_scrapes_total{code} */
    lumen_counter *code_200, *code_401, *code_429, *code_500, *code_503;
    lumen_family *errors; /* lumen_http_scrape_errors_total{cause} */
    lumen_counter *err_render, *err_timeout, *err_overload, *err_auth;
    lumen_gauge *in_flight;     /* lumen_http_scrapes_in_flight */
    lumen_histogram *duration;  /* lumen_http_scrape_duration_seconds */
    lumen_family *conns_closed; /* lumen_http_connections_closed_total{reason} */
    lumen_counter *closed_timeout, *closed_evicted, *closed_refused;
    lumen_gauge *conns_open; /* lumen_http_connections_open */
} lumen__http_self;

struct lumen_http_server {
    struct MHD_Daemon **daemons; /* one per server thread */
    unsigned ndaemons;
    uint16_t port;
    unsigned flags;
    unsigned max_scrapes;
    unsigned scrape_timeout_ms;
    /* The registries rendered on /metrics, the server's own last. */
    lumen_registry **regs;
    size_t nregs;
    lumen__http_self self;
    lumen__http_auth *auth;   /* NULL: no authentication */
    lumen__console *console;  /* NULL: /metrics and /healthz only */
    lumen__http_conns *conns; /* the listening socket, limits, deadlines */
    char *tls_cert, *tls_key; /* kept for the daemon's life */
    size_t tls_cert_len, tls_key_len;
    /* Scrapes rendering now: the in-flight limit is checked against it. */
    atomic_uint scrapes_now;
    /* The size of the last render, to reserve the next buffer at once. */
    atomic_size_t last_size;
};

/* Create the server's own metrics (when not disabled). */
int lumen__http_self_init(lumen_http_server *srv);
void lumen__http_self_free(lumen_http_server *srv);

/* Answer a GET or HEAD /metrics that passed routing and authentication. */
enum MHD_Result lumen__http_scrape(lumen_http_server *srv, struct MHD_Connection *c);

/* Queue a small fixed response. */
enum MHD_Result lumen__http_reply(struct MHD_Connection *c, unsigned status, const char *body,
                                  const char *allow);

#endif
