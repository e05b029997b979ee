/*
 * examples/microposts/obs.h: how the demo services are instrumented with
 * lumen. Here: where the signals go (the console, stdout, /metrics, and a
 * collector when OTEL_EXPORTER_OTLP_ENDPOINT is set). lumen's adapters
 * record the rest where the instrumented thing is made: the requests where
 * svc.c starts its libmicrohttpd daemon (lumen/http_mhd.h), the calls to
 * the store where api.c uses libcurl (lumen/http_curl.h), the queries
 * where store.c opens its SQLite connection (lumen/sqlite.h).
 */
#ifndef MICROPOSTS_OBS_H
#define MICROPOSTS_OBS_H

#include "lumen/lumen.h"

/* Set up tracing (the console's recent traces always, OTLP when a
 * collector is configured), JSON logs to stdout and the console, and, with
 * a collector, OTLP logs and metrics. */
int obs_init(const char *service);
/* Start the metrics endpoint and its console; returns its port (0 if it
 * failed to start, which is logged). */
int obs_start_endpoint(void);
void obs_shutdown(void);
void obs_fatal(const char *msg, const char *detail);
/* An event on the current span and a warning line (detail may be NULL). */
void obs_event(const char *name, const char *detail);

#endif
