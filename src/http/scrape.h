/*
 * http/scrape.h: one /metrics scrape (scrape.c) and what it needs of the
 * server: the registries, the limits and the endpoint's own metrics. The
 * server (server.c) embeds one lumen__http_scraper and routes GET and HEAD
 * /metrics to it.
 */
#ifndef LUMEN_HTTP_SCRAPE_H
#define LUMEN_HTTP_SCRAPE_H

#include <microhttpd.h>

#include "core/common.h"
#include "lumen/metrics.h"

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

typedef struct lumen__http_scraper {
    /* The registries rendered on /metrics, the server's own last. */
    lumen_registry **regs;
    size_t nregs;
    lumen__http_self self; /* all NULL when self metrics are off */
    bool gzip;             /* gzip when the client accepts it */
    unsigned max_scrapes;
    unsigned scrape_timeout_ms;
    /* Scrapes rendering now: the in-flight limit is checked against it. */
    atomic_uint scrapes_now;
    /* The size of the last render, to reserve the next buffer at once. */
    atomic_size_t last_size;
} lumen__http_scraper;

/* Create the endpoint's own metrics in a new registry; free them. */
int lumen__http_self_init(lumen__http_self *s);
void lumen__http_self_free(lumen__http_self *s);

/* Answer a GET or HEAD /metrics that passed routing and authentication. */
enum MHD_Result lumen__http_scrape(lumen__http_scraper *sc, struct MHD_Connection *c);

#endif
