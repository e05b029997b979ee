/*
 * http/conns.h: the server's connections before and around libmicrohttpd:
 * the listening socket, the accept loop, the connection limits, the
 * deadline for a request's headers, and room for a new connection made by
 * closing the ones that have sent no complete request.
 */
#ifndef LUMEN_HTTP_CONNS_H
#define LUMEN_HTTP_CONNS_H

#include <microhttpd.h>

#include "core/common.h"
#include "http/addr.h"
#include "lumen/metrics.h"

typedef struct lumen__http_conns lumen__http_conns;

typedef struct lumen__http_conns_opts {
    unsigned max_total;      /* open connections in total */
    unsigned max_per_client; /* open connections from one IP address */
    unsigned header_timeout_ms;
    /* Counted when a connection is closed by the deadline, closed to make
     * room, or refused because every slot holds a request in progress.
     * Each may be NULL. */
    lumen_counter *closed_timeout, *closed_evicted, *refused;
    lumen_gauge *open; /* set to the open connections (NULL: none) */
} lumen__http_conns_opts;

/*
 * Bind and listen on `addr` and set up the table for `workers`
 * libmicrohttpd daemons. Errors: LUMEN_ESYS (the address cannot be bound),
 * LUMEN_ENOMEM.
 */
int lumen__http_conns_new(lumen__http_conns **out, const lumen__http_addr *addr,
                          const lumen__http_conns_opts *o, unsigned workers);
/* The port bound (the chosen one when the address asked for 0). */
uint16_t lumen__http_conns_port(const lumen__http_conns *t);
/* The connection limit to give libmicrohttpd: above every count the table
 * can reach, so that only the table's limits ever apply. */
unsigned lumen__http_conns_mhd_limit(const lumen__http_conns *t);
/* Daemon i (0 <= i < workers), started with MHD_USE_NO_LISTEN_SOCKET, one
 * internal thread, and lumen__http_conns_notify. */
void lumen__http_conns_set_daemon(lumen__http_conns *t, unsigned i, struct MHD_Daemon *d);
/* Start the accept thread, which hands connections to the daemons. */
int lumen__http_conns_run(lumen__http_conns *t);
/* Stop accepting (joins the accept thread, closes the listening socket).
 * Call before MHD_stop_daemon; lumen__http_conns_free after it. */
void lumen__http_conns_stop(lumen__http_conns *t);
void lumen__http_conns_free(lumen__http_conns *t);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls is the table. */
void lumen__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code);
/* A request's headers are complete and the access handler runs: the
 * connection is no longer evictable, and its daemon's thread is busy until
 * lumen__http_conns_handler_done(t, the value returned). */
int lumen__http_conns_request(lumen__http_conns *t, struct MHD_Connection *c);
void lumen__http_conns_handler_done(lumen__http_conns *t, int worker);
/* The request's answer is sent (MHD_OPTION_NOTIFY_COMPLETED): the
 * connection waits for its next request, under a new header deadline. */
void lumen__http_conns_request_done(lumen__http_conns *t, struct MHD_Connection *c);

#endif
