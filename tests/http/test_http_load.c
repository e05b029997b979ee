/* tests/http/test_http_load.c: scrapes under load. Scraper threads (and
 * wrk, when installed) hit /metrics continuously while writer threads
 * increment a counter and observe a histogram: every scrape answers 200,
 * the counter never goes back, and after the writers stop a scrape shows
 * the exact totals. Runs under ASan (leaks) and TSan (races) too. */
#include "http/http_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen/http.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define OPS 200000
#else
#define OPS 2000000
#endif
#define WRITERS 2
#define SCRAPERS 2

static lumen_counter *g_ops;
static lumen_histogram *g_lat;
static char g_url[128];
static atomic_int g_writing;
static atomic_int g_stop;

typedef struct scraper {
    atomic_long scrapes; /* read by the main thread while it runs */
    long bad, backwards;
} scraper;

static double sample(const char *body, const char *name)
{
    const char *p = strstr(body, name);
    return p ? strtod(p + strlen(name), NULL) : -1;
}

static void *writer(void *arg)
{
    (void)arg;
    for (long i = 0; i < OPS; i++) {
        lumen_counter_inc(g_ops);
        lumen_histogram_observe(g_lat, (double)(i % 100) / 100.0);
    }
    atomic_fetch_sub(&g_writing, 1);
    return NULL;
}

static void *scrape_loop(void *arg)
{
    scraper *s = arg;
    double last = 0;
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    while (!atomic_load(&g_stop)) {
        th_resp r;
        /* Every other scrape asks for gzip: curl does not decode it, so
         * only the status is checked then. */
        int zip = (s->scrapes & 1) != 0;
        long st = th_http("GET", g_url, zip ? gz : NULL, NULL, NULL, 10000, &r);
        atomic_fetch_add(&s->scrapes, 1);
        if (st != 200) {
            s->bad++;
        } else if (!zip) {
            double v = sample(r.body, "\nload_test_ops_total ");
            if (v < last)
                s->backwards++;
            last = v;
        }
        th_resp_free(&r);
    }
    return NULL;
}

static void test_http_load__scrapes_while_incrementing(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_ops, reg, "load_test_ops", "Operations."), LUMEN_OK);
    assert_int_equal(
        lumen_histogram_new(&g_lat, reg, "load_test_latency_seconds", "Latency.", NULL, 0),
        LUMEN_OK);
    /* Bulk, so that a scrape has real work: 2000 labelled series. */
    static const char *const ln[] = {"id"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = ln;
    o.label_count = 1;
    lumen_family *fam;
    assert_int_equal(lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, "load_test_bulk", &o),
                     LUMEN_OK);
    for (int i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        const char *v[] = {id};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, fam, v, 1), LUMEN_OK);
        lumen_counter_add(c, i);
    }

    lumen_http_server *srv;
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.registries = &reg;
    so.registry_count = 1;
    so.max_concurrent_scrapes = 8; /* wrk and the scrapers must never see 503 */
    assert_int_equal(lumen_http_server_start(&srv, &so), LUMEN_OK);
    snprintf(g_url, sizeof g_url, "http://127.0.0.1:%u/metrics",
             (unsigned)lumen_http_server_port(srv));

    atomic_store(&g_writing, WRITERS);
    atomic_store(&g_stop, 0);
    pthread_t w[WRITERS], s[SCRAPERS];
    scraper st[SCRAPERS];
    memset(st, 0, sizeof st);
    for (int i = 0; i < SCRAPERS; i++)
        pthread_create(&s[i], NULL, scrape_loop, &st[i]);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, NULL);

    /* wrk from another process meanwhile, two connections. */
    char *wrk_out = NULL;
    int wrk_rc = -2;
    if (lt_have("wrk")) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "wrk -t1 -c2 -d2s %s", g_url);
        wrk_rc = lt_run(cmd, NULL, 0, &wrk_out);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    /* Every scraper has answers to show before they stop. */
    int64_t deadline = th_now_ms() + 30000;
    for (int i = 0; i < SCRAPERS; i++)
        while (atomic_load(&st[i].scrapes) == 0 && th_now_ms() < deadline)
            usleep(10000);
    atomic_store(&g_stop, 1);
    long scrapes = 0;
    for (int i = 0; i < SCRAPERS; i++) {
        pthread_join(s[i], NULL);
        scrapes += atomic_load(&st[i].scrapes);
        assert_int_equal(st[i].bad, 0);
        assert_int_equal(st[i].backwards, 0);
    }
    print_message("%ld scrapes by the threads during %d increments\n", scrapes, WRITERS * OPS);
    assert_true(scrapes >= SCRAPERS);
    if (wrk_rc != -2) {
        print_message("%s", wrk_out);
        assert_int_equal(wrk_rc, 0);
        assert_null(strstr(wrk_out, "Non-2xx"));
        assert_null(strstr(wrk_out, "Socket errors"));
        assert_non_null(strstr(wrk_out, "requests in"));
    }
    free(wrk_out);

    /* Exact totals once the writers are done. */
    th_resp r;
    assert_int_equal(th_http("GET", g_url, NULL, NULL, NULL, 10000, &r), 200);
    assert_true(sample(r.body, "\nload_test_ops_total ") == (double)WRITERS * OPS);
    assert_true(sample(r.body, "\nload_test_latency_seconds_count ") == (double)WRITERS * OPS);
    assert_true(sample(r.body, "\nload_test_latency_seconds_bucket{le=\"+Inf\"} ") ==
                (double)WRITERS * OPS);
    /* i % 100 / 100 over OPS: each writer's sum is OPS/100 * 49.5. */
    double sum = sample(r.body, "\nload_test_latency_seconds_sum ");
    double want = (double)WRITERS * (OPS / 100) * 49.5;
    assert_true(sum > want * (1 - 1e-9) && sum < want * (1 + 1e-9));
    assert_true(sample(r.body, "\nload_test_bulk_total{id=\"1999\"} ") == 1999);
    assert_true(sample(r.body, "\nlumen_http_scrapes_total{code=\"503\"} ") == 0);
    assert_true(sample(r.body, "\nlumen_http_scrapes_total{code=\"500\"} ") == 0);
    th_resp_free(&r);
    lumen_http_server_stop(srv);
    lumen_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_load__scrapes_while_incrementing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
