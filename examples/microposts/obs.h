/*
 * examples/microposts/obs.h: how the demo services are instrumented with
 * lumen, in one place: setup (tracing, logs, metrics, the endpoint and its
 * console), the request middleware the service framework calls around
 * every handler, outgoing HTTP calls, and database queries.
 */
#ifndef MICROPOSTS_OBS_H
#define MICROPOSTS_OBS_H

#include <curl/curl.h>
#include <stdint.h>

#include "lumen/lumen.h"

/* Set up tracing (OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and the
 * console's recent traces always), JSON logs to stdout, and the metrics. */
int obs_init(const char *service);
/* Start the metrics endpoint and console, log that the service is ready,
 * and write "api=PORT admin=PORT" to ready_file (if not NULL). */
void obs_ready(int api_port, const char *ready_file);
void obs_shutdown(void);
void obs_fatal(const char *msg, const char *detail);
/* An event on the current span (and a log line). */
void obs_event(const char *name);

/* Request middleware: begin after routing, end after the handler. */
typedef struct obs_request {
    lumen_span *span;
    int64_t start_ns;
    const char *method, *route;
} obs_request;
/* get_header(ud, name, emit, ctx) lists incoming header lines for
 * propagation (see lumen_carrier). */
void obs_request_begin(obs_request *r, const char *method, const char *route,
                       const char *request_id, const lumen_carrier *incoming);
void obs_request_end(obs_request *r, int status);

/* Outgoing call: a client span and its traceparent added to headers. */
typedef struct obs_client_call {
    lumen_span *span;
} obs_client_call;
struct curl_slist *obs_client_begin(obs_client_call *c, const char *method, const char *url,
                                    struct curl_slist *headers);
void obs_client_end(obs_client_call *c, int status, const char *error);

/* Database query: a span and an observation of the query histogram. */
typedef struct obs_db_span {
    lumen_span *span;
    const char *name;
    int64_t start_ns;
} obs_db_span;
void obs_db_begin(obs_db_span *d, const char *name, const char *sql);
void obs_db_end(obs_db_span *d, const char *error);

#endif
