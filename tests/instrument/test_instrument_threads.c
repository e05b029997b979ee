/* tests/instrument/test_instrument_threads.c: many requests on many
 * threads through one instrument (ctest label `threads`, run under TSan by
 * `make test`): the histogram's counts per label set, the spans, the
 * access lines and the active-requests gauge come out exact, and every
 * line logged inside a request carries that request's own id. */
#include "support/support.h"

#include <pthread.h>
#include <stdio.h>

#include "instrument/ti_helpers.h"

#define THREADS 8
#define PER_THREAD 1500

static ti_env g_env;
static const char *const routes[] = {"/a", "/b/{id}", "/c", "/d"};
static const int statuses[] = {200, 404, 500};
static _Atomic int g_wrong_ids;

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[32];
        snprintf(id, sizeof id, "t%d-%d", t, i);
        lumen_server_request rq;
        lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
        o.method = (i & 1) ? "POST" : "GET";
        o.path = "/p";
        o.request_id = id;
        if (lumen_server_request_begin(&rq, g_env.ins, &o) != LUMEN_OK)
            abort();
        lumen_server_request_set_route(&rq, routes[i % 4]);
        if (strcmp(lumen_server_request_id(&rq), id) != 0)
            g_wrong_ids++;
        lumen_server_request_end(&rq, statuses[i % 3], NULL);
    }
    return NULL;
}

static void test_instrument_threads__exact_counts(void **state)
{
    (void)state;
    ti_setup(&g_env, LUMEN_SERVER_INSTRUMENT_NO_ACCESS_LOG, 0);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(g_wrong_ids, 0);
    assert_int_equal(lumen_memory_exporter_count(g_env.t.mem), THREADS * PER_THREAD);

    /* Per label set: i runs over PER_THREAD (a multiple of 12) on each
     * thread; method by i % 2, route by i % 4, status by i % 3. */
    char *t = ti_render(&g_env);
    double total = 0;
    for (int i = 0; i < 12; i++) {
        char k[512];
        int st = statuses[i % 3];
        snprintf(k, sizeof k,
                 "http_server_request_duration_seconds_count{http_request_method=\"%s\","
                 "http_route=\"%s\",http_response_status_code=\"%d\",error_type=\"%s\"}",
                 (i & 1) ? "POST" : "GET", routes[i % 4], st, st == 500 ? "500" : "");
        double v = ti_sample(t, k);
        if (v != THREADS * PER_THREAD / 12)
            fail_msg("%s: %g, want %d\n%s", k, v, THREADS * PER_THREAD / 12, t);
        total += v;
    }
    assert_true(total == THREADS * PER_THREAD);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"GET\"}") == 0);
    assert_true(ti_sample(t, "http_server_active_requests{http_request_method=\"POST\"}") == 0);
    assert_int_equal(lumen_server_instrument_overflows(g_env.ins), 0);
    lumen_free(t);
    ti_teardown(&g_env);
}

/* With the access log on: one line per request, each carrying its own
 * request's id (the thread's context is per request, never another's). */
static void *logging_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD / 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "t%d-%d", t, i);
        lumen_server_request rq;
        lumen_server_request_options o = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
        o.method = "GET";
        o.path = id; /* the path names the request too */
        o.route = "/r";
        o.request_id = id;
        if (lumen_server_request_begin(&rq, g_env.ins, &o) != LUMEN_OK)
            abort();
        lumen_server_request_end(&rq, 200, NULL);
    }
    return NULL;
}

static void test_instrument_threads__access_lines(void **state)
{
    (void)state;
    ti_setup(&g_env, LUMEN_SERVER_INSTRUMENT_NO_SPANS, 0);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, logging_worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(ti_log.count, THREADS * (PER_THREAD / 10));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys,json\n"
             "L=[json.loads(l) for l in sys.stdin.read().splitlines()]\n"
             "assert len(L)==%d, len(L)\n"
             "bad=[l for l in L if l[\"request_id\"]!=l[\"path\"]]\n"
             "assert not bad, bad[:3]\n"
             "assert len(set(l[\"request_id\"] for l in L))==len(L)\n'",
             lt_python(), THREADS * (PER_THREAD / 10));
    char *out = NULL;
    int rc = lt_run(cmd, ti_log.text, ti_log.len, &out);
    if (rc != 0)
        fail_msg("python rc %d: %s", rc, out);
    free(out);
    ti_teardown(&g_env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instrument_threads__exact_counts),
        cmocka_unit_test(test_instrument_threads__access_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
