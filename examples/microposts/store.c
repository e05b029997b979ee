/*
 * examples/microposts/store.c: microposts-store, the demo's data service.
 * Users and their short posts in SQLite (a real database in a data
 * directory), behind a small JSON API that microposts-api calls. It can
 * inject failures and slow calls at configurable rates so that the demo
 * has errors and a latency tail to look at.
 *
 *   microposts-store --data DIR [--port N] [--fail-rate F] [--slow-rate F]
 *                    [--slow-ms MS] [--ready-file PATH]
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lumen/sqlite.h"
#include "obs.h"
#include "svc.h"

typedef struct store {
    sqlite3 *db;
    pthread_mutex_t mu; /* one connection, used by one request at a time */
    double fail_rate, slow_rate;
    int slow_ms;
} store;

static double uniform(void)
{
    static __thread unsigned seed;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    return rand_r(&seed) / ((double)RAND_MAX + 1);
}

/* Injected faults, decided before the handler touches the database. */
static int inject(store *st, svc_resp *resp)
{
    if (uniform() < st->slow_rate) {
        obs_event("injected slow call", "--slow-rate");
        struct timespec ts = {st->slow_ms / 1000, (long)(st->slow_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (uniform() < st->fail_rate) {
        svc_error(resp, 500, "injected failure");
        return 1;
    }
    return 0;
}

/* Run one statement with the connection held. lumen's SQLite adapter
 * records each one (a span, the duration histogram); a failure is logged
 * here with the query's name. */
typedef int (*row_fn)(sqlite3_stmt *stmt, void *ud);

static int query(store *st, const char *name, const char *sql, const char *bind_text,
                 long long bind_a, long long bind_b, row_fn fn, void *ud, long long *last_id)
{
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    int idx = 1;
    if (rc == SQLITE_OK && bind_a >= 0)
        rc = sqlite3_bind_int64(stmt, idx++, bind_a);
    if (rc == SQLITE_OK && bind_b >= 0)
        rc = sqlite3_bind_int64(stmt, idx++, bind_b);
    if (rc == SQLITE_OK && bind_text)
        rc = sqlite3_bind_text(stmt, idx++, bind_text, -1, SQLITE_TRANSIENT);
    int rows = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            rows++;
            if (fn && fn(stmt, ud) != 0)
                break;
        }
    }
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (ok && last_id)
        *last_id = sqlite3_last_insert_rowid(st->db);
    if (!ok)
        LUMEN_LOG_ERROR(lumen_logger_get("microposts-store"), "query failed",
                        LUMEN_STR("query", name), LUMEN_STR("error", sqlite3_errmsg(st->db)));
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&st->mu);
    return ok ? rows : -1;
}

/* ---- rows to JSON ---------------------------------------------------------- */

typedef struct jsonbuf {
    char *p;
    size_t len, cap;
} jsonbuf;

static void jb_add(jsonbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static int post_row(sqlite3_stmt *stmt, void *ud)
{
    jsonbuf *b = ud;
    char *text = json_escape((const char *)sqlite3_column_text(stmt, 2));
    char head[160];
    snprintf(head, sizeof head,
             "%s{\"id\":%lld,\"user_id\":%lld,\"created_ms\":%lld,\"text\":", b->len > 1 ? "," : "",
             (long long)sqlite3_column_int64(stmt, 0), (long long)sqlite3_column_int64(stmt, 1),
             (long long)sqlite3_column_int64(stmt, 3));
    jb_add(b, head);
    jb_add(b, text);
    jb_add(b, "}");
    free(text);
    return 0;
}

static int user_row(sqlite3_stmt *stmt, void *ud)
{
    jsonbuf *b = ud;
    char *name = json_escape((const char *)sqlite3_column_text(stmt, 1));
    char head[64];
    snprintf(head, sizeof head, "{\"id\":%lld,\"name\":", (long long)sqlite3_column_int64(stmt, 0));
    jb_add(b, head);
    jb_add(b, name);
    jb_add(b, "}");
    free(name);
    return 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- handlers ------------------------------------------------------------- */

static void create_user(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)p;
    (void)np;
    store *st = ud;
    if (inject(st, resp))
        return;
    size_t len;
    const char *body = svc_req_body(req, &len);
    char name[256];
    if (!json_get_string(body, len, "name", name, sizeof name) || name[0] == '\0') {
        svc_error(resp, 400, "body must be {\"name\": \"...\"}");
        return;
    }
    long long id;
    if (query(st, "insert_user", "INSERT INTO users(created_ms, name) VALUES(?, ?)", name, now_ms(),
              -1, NULL, NULL, &id) < 0) {
        svc_error(resp, 500, "database error");
        return;
    }
    char *n = json_escape(name);
    svc_json(resp, 201, "{\"id\":%lld,\"name\":%s}", id, n);
    free(n);
}

static void get_user(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)req;
    (void)np;
    store *st = ud;
    if (inject(st, resp))
        return;
    jsonbuf b = {0};
    jb_add(&b, "");
    int rows = query(st, "select_user", "SELECT id, name FROM users WHERE id = ?", NULL,
                     atoll(p[0]), -1, user_row, &b, NULL);
    if (rows < 0)
        svc_error(resp, 500, "database error");
    else if (rows == 0)
        svc_error(resp, 404, "no such user");
    else
        svc_json(resp, 200, "%s", b.p);
    free(b.p);
}

static void create_post(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)np;
    store *st = ud;
    if (inject(st, resp))
        return;
    size_t len;
    const char *body = svc_req_body(req, &len);
    char text[1024];
    if (!json_get_string(body, len, "text", text, sizeof text) || text[0] == '\0') {
        svc_error(resp, 400, "body must be {\"text\": \"...\"} of at most 1000 bytes");
        return;
    }
    long long uid = atoll(p[0]);
    int rows = query(st, "select_user", "SELECT id, name FROM users WHERE id = ?", NULL, uid, -1,
                     NULL, NULL, NULL);
    if (rows == 0) {
        svc_error(resp, 404, "no such user");
        return;
    }
    long long id;
    if (rows < 0 ||
        query(st, "insert_post", "INSERT INTO posts(user_id, created_ms, text) VALUES(?, ?, ?)",
              text, uid, now_ms(), NULL, NULL, &id) < 0) {
        svc_error(resp, 500, "database error");
        return;
    }
    char *t = json_escape(text);
    svc_json(resp, 201, "{\"id\":%lld,\"user_id\":%lld,\"text\":%s}", id, uid, t);
    free(t);
}

static void list_posts(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)np;
    store *st = ud;
    if (inject(st, resp))
        return;
    const char *lim = svc_req_query(req, "limit");
    long long limit = lim ? atoll(lim) : 20;
    if (limit <= 0 || limit > 100)
        limit = 20;
    jsonbuf b = {0};
    jb_add(&b, "[");
    int rows = query(st, "select_posts_by_user",
                     "SELECT id, user_id, text, created_ms FROM posts WHERE user_id = ? "
                     "ORDER BY id DESC LIMIT ?",
                     NULL, atoll(p[0]), limit, post_row, &b, NULL);
    jb_add(&b, "]");
    if (rows < 0)
        svc_error(resp, 500, "database error");
    else
        svc_json(resp, 200, "{\"posts\":%s}", b.p);
    free(b.p);
}

static void get_post(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)req;
    (void)np;
    store *st = ud;
    if (inject(st, resp))
        return;
    jsonbuf b = {0};
    jb_add(&b, "[");
    int rows =
        query(st, "select_post", "SELECT id, user_id, text, created_ms FROM posts WHERE id = ?",
              NULL, atoll(p[0]), -1, post_row, &b, NULL);
    if (rows < 0)
        svc_error(resp, 500, "database error");
    else if (rows == 0)
        svc_error(resp, 404, "no such post");
    else
        svc_json(resp, 200, "%s", b.p + 1);
    free(b.p);
}

static void healthz(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)req;
    (void)p;
    (void)np;
    (void)ud;
    svc_json(resp, 200, "{\"status\":\"ok\"}");
}

static const svc_route routes[] = {
    {"POST", "/users", "/users", create_user},
    {"GET", "/users/:id", "/users/:id", get_user},
    {"POST", "/users/:id/posts", "/users/:id/posts", create_post},
    {"GET", "/users/:id/posts", "/users/:id/posts", list_posts},
    {"GET", "/posts/:id", "/posts/:id", get_post},
    {"GET", "/healthz", "/healthz", healthz},
};

static int open_db(store *st, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/microposts.db", dir);
    if (sqlite3_open(path, &st->db) != SQLITE_OK)
        return -1;
    const char *schema =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS posts(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL"
        " REFERENCES users(id), text TEXT NOT NULL, created_ms INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS posts_by_user ON posts(user_id, id);";
    if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    /* From here on every statement is recorded (the schema's are not). */
    return lumen_sqlite_instrument(st->db, NULL, NULL) == LUMEN_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    store st = {0};
    pthread_mutex_init(&st.mu, NULL);
    const char *data = NULL, *ready = NULL;
    int port = 0;
    st.fail_rate = 0.05;
    st.slow_rate = 0.05;
    st.slow_ms = 250;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--fail-rate") == 0)
            st.fail_rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--slow-rate") == 0)
            st.slow_rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--slow-ms") == 0)
            st.slow_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ready-file") == 0)
            ready = argv[i + 1];
    }
    if (data == NULL) {
        fprintf(stderr, "usage: microposts-store --data DIR [--port N] [--fail-rate F] "
                        "[--slow-rate F] [--slow-ms MS] [--ready-file PATH]\n");
        return 2;
    }
    if (obs_init("microposts-store") != 0)
        return 1;
    if (open_db(&st, data) != 0) {
        obs_fatal("cannot open the database", data);
        return 1;
    }
    svc *s = svc_start("microposts-store", port, routes, sizeof routes / sizeof routes[0], &st);
    if (s == NULL) {
        obs_fatal("cannot listen", "127.0.0.1");
        return 1;
    }
    svc_serve(s, ready);
    sqlite3_close(st.db);
    return 0;
}
