/*
 * sqlite/sqlite.c: lumen_sqlite_instrument. A connection's
 * SQLITE_TRACE_PROFILE callback turns each finished statement into a
 * CLIENT span and an observation of db.client.operation.duration; its
 * SQLITE_TRACE_CLOSE callback frees the connection's state.
 *
 * The per-connection state is one small struct from malloc: the
 * allocator hook (lumen_set_allocator) reaches lumen's internals through
 * LUMEN_INTERNAL_1, which is liblumen-http's alone.
 *
 * The state of each instrumented connection is kept in a list under a
 * mutex, only for lumen_sqlite_uninstrument and re-instrumenting to find
 * it: the callback gets its state directly and takes no lock. SQLite calls
 * a connection's callback on the thread that runs the statement, one
 * statement at a time per connection (its own mutex), so the state needs
 * no other synchronisation.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lumen/sqlite.h"
#include "sqlite/strip.h"

#define QUERY_TEXT_MAX LUMEN_SQLITE_QUERY_TEXT_MAX
#define NAMESPACE_MAX LUMEN_SQLITE_NAMESPACE_MAX
#define FAMILY "db_client_operation_duration_seconds"

/* Statements of one connection whose start this adapter saw and whose end
 * it has not: SQLite's own duration (SQLITE_TRACE_PROFILE) counts whole
 * milliseconds of its VFS clock, too coarse for the conventions' 1 ms
 * bucket, so the adapter times statements itself on the monotonic clock
 * from SQLITE_TRACE_STMT. A program steps few statements at once on one
 * connection; beyond these slots SQLite's value is used. */
#define RUNNING_SLOTS 8

typedef struct conn {
    sqlite3 *db;
    struct {
        sqlite3_stmt *st;
        int64_t start_ns; /* lumen_monotonic_ns */
    } running[RUNNING_SLOTS];
    lumen_tracer *tracer; /* NULL: the global provider's, per statement */
    lumen_family *fam;
    unsigned strip_flags;
    char ns[NAMESPACE_MAX + 1];
    struct conn *next;
} conn;

static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static conn *conns;

/* The conventions' buckets for db.client.operation.duration (seconds). */
static const double BUCKETS[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

static void unlink_conn(conn *c)
{
    pthread_mutex_lock(&conns_mu);
    for (conn **p = &conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&conns_mu);
}

static void record(conn *c, sqlite3_stmt *st, int64_t dur_ns)
{
    const char *sql = sqlite3_sql(st);
    size_t len = sql != NULL ? strlen(sql) : 0;
    char op[16];
    lumen__sql_operation(op, sql != NULL ? sql : "", len);

    const char *values[2] = {c->ns, op};
    lumen_histogram *h = NULL;
    if (c->fam != NULL && lumen_family_histogram(&h, c->fam, values, 2) == LUMEN_OK)
        lumen_histogram_observe(h, (double)dur_ns / 1e9);

    lumen_tracer *t = c->tracer != NULL ? c->tracer : lumen_tracer_get("lumen.sqlite", NULL);
    int64_t end = lumen_now_ns();
    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_CLIENT;
    so.start_ns = end - dur_ns;
    /* "{db.operation.name} {target}", the target being the namespace. */
    char name[sizeof op + NAMESPACE_MAX + 1];
    size_t ol = strlen(op), nl = strlen(c->ns);
    if (ol > 0) {
        memcpy(name, op, ol);
        name[ol] = ' ';
        memcpy(name + ol + 1, c->ns, nl + 1);
    } else {
        memcpy(name, c->ns, nl + 1);
    }
    lumen_span *s = lumen_span_start(t, name, &so);
    if (lumen_span_is_recording(s)) {
        char text[QUERY_TEXT_MAX];
        lumen__sql_strip(text, sizeof text, sql != NULL ? sql : "", len, c->strip_flags, NULL);
        lumen_attr a[5];
        size_t n = 0;
        a[n++] = lumen_attr_str("db.system.name", "sqlite");
        a[n++] = lumen_attr_str("db.system", "sqlite");
        a[n++] = lumen_attr_str("db.namespace", c->ns);
        if (ol > 0)
            a[n++] = lumen_attr_str("db.operation.name", op);
        a[n++] = lumen_attr_str("db.query.text", text);
        lumen_span_set_attrs(s, a, n);
    }
    lumen_span_end_at(s, end);
}

static void started(conn *c, sqlite3_stmt *st, const char *x)
{
    /* SQLite also reports each trigger program it starts, with its text
     * as an SQL comment: the statement is already running. */
    if (x != NULL && x[0] == '-' && x[1] == '-')
        return;
    int free_slot = -1;
    for (int i = 0; i < RUNNING_SLOTS; i++) {
        if (c->running[i].st == st)
            return;
        if (c->running[i].st == NULL && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        c->running[free_slot].st = st;
        c->running[free_slot].start_ns = lumen_monotonic_ns();
    }
}

static int64_t finished(conn *c, sqlite3_stmt *st, int64_t sqlite_ns)
{
    for (int i = 0; i < RUNNING_SLOTS; i++) {
        if (c->running[i].st == st) {
            c->running[i].st = NULL;
            int64_t d = lumen_monotonic_ns() - c->running[i].start_ns;
            return d >= 0 ? d : sqlite_ns;
        }
    }
    return sqlite_ns;
}

static int on_trace(unsigned type, void *ud, void *p, void *x)
{
    conn *c = ud;
    if (type == SQLITE_TRACE_STMT) {
        started(c, p, x);
    } else if (type == SQLITE_TRACE_PROFILE) {
        record(c, p, finished(c, p, *(const sqlite3_int64 *)x));
    } else if (type == SQLITE_TRACE_CLOSE) {
        unlink_conn(c);
        free(c);
    }
    return 0;
}

/* The database file's name (its last path component); ":memory:" for an
 * in-memory or temporary database, which has none. */
static void namespace_of(char *out, sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");
    if (f == NULL || f[0] == '\0')
        f = ":memory:";
    const char *slash = strrchr(f, '/');
    if (slash != NULL && slash[1] != '\0')
        f = slash + 1;
    size_t n = strlen(f);
    if (n > NAMESPACE_MAX)
        n = NAMESPACE_MAX;
    memcpy(out, f, n);
    out[n] = '\0';
}

static int family_get(lumen_family **out, lumen_registry *reg)
{
    static const char *const labels[] = {"db_namespace", "db_operation_name"};
    static const lumen_label sys[] = {{"db_system_name", "sqlite"}};
    lumen_family_options fo = LUMEN_FAMILY_OPTIONS_INIT;
    fo.help = "Duration of database client operations.";
    fo.unit = "seconds";
    fo.label_names = labels;
    fo.label_count = 2;
    fo.const_labels = sys;
    fo.const_label_count = 1;
    fo.buckets = BUCKETS;
    fo.bucket_count = sizeof BUCKETS / sizeof BUCKETS[0];
    int rc = lumen_family_new(out, reg, LUMEN_METRIC_HISTOGRAM, FAMILY, &fo);
    if (rc == LUMEN_EEXIST) {
        /* Another connection made it: share it when it is the same kind. */
        rc = lumen_family_lookup(out, reg, FAMILY);
        if (rc == LUMEN_OK && lumen_family_type(*out) != LUMEN_METRIC_HISTOGRAM) {
            *out = NULL;
            rc = LUMEN_EEXIST;
        }
    }
    return rc;
}

int lumen_sqlite_instrument(sqlite3 *db, lumen_tracer *tracer, lumen_registry *reg)
{
    if (db == NULL)
        return LUMEN_EINVAL;
    lumen_family *fam = NULL;
    int rc = family_get(&fam, reg);
    if (rc != LUMEN_OK)
        return rc;
    /* SQLite is called without conns_mu held: its close callback takes
     * conns_mu with the connection's mutex held, so the other order could
     * deadlock. The connection itself is not used by anyone else
     * meanwhile (the documented contract). */
    pthread_mutex_lock(&conns_mu);
    conn *c = conns;
    while (c != NULL && c->db != db)
        c = c->next;
    pthread_mutex_unlock(&conns_mu);
    bool fresh = c == NULL;
    if (fresh) {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return LUMEN_ENOMEM;
        c->db = db;
    }
    c->tracer = tracer;
    c->fam = fam;
    namespace_of(c->ns, db);
    /* With SQLite's double-quoted string literals on (the default of
     * most builds), "..." may be data: strip it too. */
    int dqs = 1;
    c->strip_flags = 0;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, -1, &dqs) != SQLITE_OK || dqs != 0)
        c->strip_flags |= LUMEN__SQL_DQ_STRINGS;
    if (sqlite3_trace_v2(db, SQLITE_TRACE_STMT | SQLITE_TRACE_PROFILE | SQLITE_TRACE_CLOSE,
                         on_trace, c) != SQLITE_OK) {
        if (fresh)
            free(c);
        return LUMEN_ESYS;
    }
    if (fresh) {
        pthread_mutex_lock(&conns_mu);
        c->next = conns;
        conns = c;
        pthread_mutex_unlock(&conns_mu);
    }
    return LUMEN_OK;
}

int lumen_sqlite_uninstrument(sqlite3 *db)
{
    if (db == NULL)
        return LUMEN_EINVAL;
    pthread_mutex_lock(&conns_mu);
    conn **p = &conns;
    while (*p != NULL && (*p)->db != db)
        p = &(*p)->next;
    conn *c = *p;
    if (c != NULL)
        *p = c->next;
    pthread_mutex_unlock(&conns_mu);
    if (c == NULL)
        return LUMEN_ENOENT;
    sqlite3_trace_v2(db, 0, NULL, NULL);
    free(c);
    return LUMEN_OK;
}
