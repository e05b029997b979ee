/*
 * http/console_store.h: what the console remembers of traces and logs.
 *
 * One process-wide store each, so that a program can add the console's
 * span exporter and log handler before or after it starts its server:
 *  - recent traces: spans grouped by trace id, at most `LUMEN__CT_TRACES`
 *    traces and `LUMEN__CT_SPANS` spans, oldest trace evicted first; each
 *    span is kept as its JSON, rendered once when it is exported;
 *  - recent log lines: the last `LUMEN__CL_LINES` JSON lines with their
 *    level and trace id.
 * Both are filled off the program's hot paths (the exporter runs on the
 * batch processor's thread; the log handler is a callback sink) and guarded
 * by one mutex each.
 */
#ifndef LUMEN_HTTP_CONSOLE_STORE_H
#define LUMEN_HTTP_CONSOLE_STORE_H

#include "core/buf.h"

#define LUMEN__CT_TRACES 1000
#define LUMEN__CT_SPANS 20000
#define LUMEN__CL_LINES 2000

/* /api/traces provider: ?errors=1&min_ms=N&limit=N; /api/traces/<id>. */
int lumen__console_traces_json(void *ud, const char *arg, const char *query, lumen__buf *out);
/* /api/logs provider: ?level=NAME&trace_id=HEX&limit=N. */
int lumen__console_logs_json(void *ud, const char *arg, const char *query, lumen__buf *out);

/* Ask every peer console for `path_query` (e.g. "/api/traces/ID?local=1")
 * and append the elements of the array `key` of each answer (a comma
 * first when `have` elements were already written); returns how many
 * peers contributed. Each peer gets LUMEN__PEER_TIMEOUT_MS. */
#define LUMEN__PEER_TIMEOUT_MS 1000
size_t lumen__console_peer_array(const char *path_query, const char *key, size_t have,
                                 lumen__buf *out);

#endif
