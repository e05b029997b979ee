/* tests/sqlite/test_sqlite_threads.c: lumen/sqlite.h says its calls are
 * safe on distinct objects. Threads each open, instrument, use and close
 * their own connection at once, all sharing one tracer and one registry
 * (the histogram family is made by the first and found by the others);
 * every statement must come out as a CLIENT span under its thread's parent
 * and as one observation. Labelled "threads": it runs under TSan. */
#include "support/support.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lumen/sqlite.h"
#include "lumen/trace.h"

#define THREADS 4
#define ROWS 100

static lumen_tracer *tracer;
static lumen_registry *reg;
static atomic_int client_spans, orphan_spans, failures;

static int count_spans(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline_ns)
{
    (void)ud;
    (void)deadline_ns;
    for (size_t i = 0; i < n; i++) {
        if (lumen_span_get_kind(spans[i]) != LUMEN_SPAN_CLIENT)
            continue;
        atomic_fetch_add(&client_spans, 1);
        uint8_t parent[8];
        if (!lumen_span_get_parent_id(parent, spans[i]))
            atomic_fetch_add(&orphan_spans, 1);
    }
    return LUMEN_OK;
}

static void *worker(void *arg)
{
    (void)arg;
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        lumen_sqlite_instrument(db, tracer, reg) != LUMEN_OK) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    lumen_span *parent = lumen_span_start(tracer, "work", NULL);
    lumen_span_enter(parent);
    if (sqlite3_exec(db, "CREATE TABLE t(a INTEGER, b TEXT)", NULL, NULL, NULL) != SQLITE_OK)
        atomic_fetch_add(&failures, 1);
    for (int i = 0; i < ROWS; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES(%d, 'row %d')", i, i);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            atomic_fetch_add(&failures, 1);
    }
    lumen_span_leave(parent);
    lumen_span_end(parent);
    if (sqlite3_close(db) != SQLITE_OK)
        atomic_fetch_add(&failures, 1);
    return NULL;
}

static void test_sqlite_threads__distinct_connections(void **state)
{
    (void)state;
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = count_spans;
    lumen_span_exporter *exp;
    assert_int_equal(lumen_span_exporter_new(&exp, &ops, NULL), LUMEN_OK);
    lumen_span_processor *p;
    assert_int_equal(lumen_simple_processor_new(&p, exp, NULL), LUMEN_OK);
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_add_processor(tp, p), LUMEN_OK);
    tracer = lumen_tracer_provider_get_tracer(tp, "test", NULL);
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);

    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&client_spans), THREADS * (ROWS + 1));
    assert_int_equal(atomic_load(&orphan_spans), 0);

    char *text = NULL;
    assert_int_equal(lumen_registry_render_string(&text, NULL, reg, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    char want[200];
    snprintf(want, sizeof want,
             "db_client_operation_duration_seconds_count{db_system_name=\"sqlite\","
             "db_namespace=\":memory:\",db_operation_name=\"INSERT\"} %d\n",
             THREADS * ROWS);
    if (strstr(text, want) == NULL)
        fprintf(stderr, "no line %s in:\n%s\n", want, text);
    assert_non_null(strstr(text, want));
    lumen_free(text);
    lumen_registry_free(reg);
    lumen_tracer_provider_free(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_threads__distinct_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
