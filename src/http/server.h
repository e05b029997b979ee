/*
 * http/server.h: the /metrics server's state (server.c: life cycle,
 * routing, limits); what a scrape needs of it is its lumen__http_scraper
 * (scrape.h).
 */
#ifndef LUMEN_HTTP_SERVER_H
#define LUMEN_HTTP_SERVER_H

#include <microhttpd.h>

#include "core/common.h"
#include "http/auth.h"
#include "http/console.h"
#include "http/conns.h"
#include "http/scrape.h"
#include "lumen/http.h"

struct lumen_http_server {
    struct MHD_Daemon **daemons; /* one per server thread */
    unsigned ndaemons;
    uint16_t port;
    unsigned flags;
    lumen__http_scraper scrape; /* /metrics: registries, limits, own metrics */
    lumen__http_auth *auth;     /* NULL: no authentication */
    lumen__console *console;    /* NULL: /metrics and /healthz only */
    lumen__http_conns *conns;   /* the listening socket, limits, deadlines */
    char *tls_cert, *tls_key;   /* kept for the daemon's life */
    size_t tls_cert_len, tls_key_len;
};

#endif
