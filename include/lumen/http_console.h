/*
 * lumen/http_console.h: the live console of liblumen-http. Served by the
 * built-in endpoint beside /metrics when its options ask for it (the
 * LUMEN_HTTP_CONSOLE flag of lumen_http_server_options): `/` charts the program's metrics,
 * `/traces` shows recent traces as span trees, `/logs` shows recent log
 * lines, and the JSON endpoints behind them live under `/api/` (see
 * docs/console.md). Everything it needs is compiled in: it works offline.
 *
 * The console remembers only recent data, in bounded memory: the last six
 * minutes of at most 5000 series, the last 1000 traces (20000 spans) and
 * the last 2000 log lines. At scale, Prometheus and a trace collector keep
 * the history; the console is for looking at one process now.
 */
#ifndef LUMEN_HTTP_CONSOLE_H
#define LUMEN_HTTP_CONSOLE_H

#include "lumen/common.h"
#include "lumen/http.h"
#include "lumen/log.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A span exporter that keeps ended spans for the console's /traces page.
 * Add it to a tracer provider through a processor (a batch processor keeps
 * the cost off the program's threads). `service_name` labels the spans in
 * the page (NULL: OTEL_SERVICE_NAME, else the program's name; copied).
 * Returns LUMEN_OK, LUMEN_EINVAL or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_console_span_exporter_new(lumen_span_exporter **out, const char *service_name);

/**
 * A log handler that keeps the last lines at `min_level` or above for the
 * console's /logs page. Attach it to a logger (for example the root
 * logger) beside the program's own handlers. Returns LUMEN_OK,
 * LUMEN_EINVAL or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_console_log_handler_new(lumen_log_handler **out, lumen_log_level min_level);

/**
 * The consoles of other processes (base URLs such as
 * "http://127.0.0.1:9464", at most LUMEN_CONSOLE_MAX_PEERS; copied) whose spans this console adds
 * to a trace when one is opened, so that a request that crossed several
 * services shows as one tree. Replaces any earlier list; n == 0 clears it.
 * Without a call, LUMEN_CONSOLE_PEERS (comma-separated URLs) is read once.
 * Returns LUMEN_OK, LUMEN_EINVAL (not an http(s) URL, too many) or
 * LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_console_set_peers(const char *const *urls, size_t n);

#ifdef __cplusplus
}
#endif

#endif
