/*
 * lumen/sqlite.h: SQLite instrumentation (liblumen-sqlite, built when
 * SQLite's development files are found; it links liblumen and libsqlite3
 * only). One call per connection records every statement it runs, as the
 * OpenTelemetry database semantic conventions say:
 *
 * - a CLIENT span per statement, named "<operation> <namespace>" ("SELECT
 *   app.db"), a child of the span current on the thread that ran it, with
 *   db.system.name and db.system ("sqlite"), db.namespace (the database
 *   file's name), db.operation.name (the statement's first keyword) and
 *   db.query.text: the statement's SQL as written (sqlite3_sql, never the
 *   text with its parameters expanded) with every literal (strings,
 *   numbers, blobs) replaced by `?` and comments removed;
 * - the histogram db.client.operation.duration in seconds, exposed to
 *   Prometheus as db_client_operation_duration_seconds with the labels
 *   db_system_name, db_namespace and db_operation_name and the
 *   conventions' buckets (1 ms to 10 s).
 *
 * The duration runs from the statement's first step (SQLITE_TRACE_STMT) to
 * its reset or finalize (SQLITE_TRACE_PROFILE), on the monotonic clock.
 * See docs/instrumentation.md.
 */
#ifndef LUMEN_SQLITE_H
#define LUMEN_SQLITE_H

#include "lumen/common.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sqlite3;

/** Bytes of a recorded db.query.text: longer text is cut between tokens. */
#define LUMEN_SQLITE_QUERY_TEXT_MAX 4096
/** Bytes of a recorded db.namespace (the database file's name). */
#define LUMEN_SQLITE_NAMESPACE_MAX 255

/**
 * Instrument the connection `db`: spans from `tracer` (NULL: the global
 * provider's tracer "lumen.sqlite", looked up at each statement, so a
 * provider installed later is used) and the duration histogram in `reg`
 * (NULL: the default registry; a second connection shares the family). It
 * takes the connection's sqlite3_trace_v2 callback, replacing any other.
 * The instrumentation ends when the connection closes or with
 * lumen_sqlite_uninstrument. Instrumenting a connection again replaces its
 * tracer.
 *
 * Returns LUMEN_OK, LUMEN_EINVAL (db NULL), LUMEN_EEXIST (`reg` has a
 * family of that name that is not this histogram), LUMEN_ENOMEM, or
 * LUMEN_ESYS (SQLite refused the trace callback). Safe on distinct
 * objects: it must not run alongside a statement of the same connection.
 */
LUMEN_API int lumen_sqlite_instrument(struct sqlite3 *db, lumen_tracer *tracer,
                                      lumen_registry *reg);

/**
 * Stop instrumenting `db` and remove its trace callback. Returns LUMEN_OK,
 * LUMEN_EINVAL (db NULL) or LUMEN_ENOENT (not instrumented). Safe on
 * distinct objects: it must not run alongside a statement of the same
 * connection.
 */
LUMEN_API int lumen_sqlite_uninstrument(struct sqlite3 *db);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_SQLITE_H */
