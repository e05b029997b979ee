/*
 * bench/http/bench_scrape_http.c: scrape_10k_series_http for lumen: wrk
 * (1 thread, 2 connections) requests /metrics from the built-in server
 * while two threads keep incrementing the 10k series (100 counter families
 * x 100 series, labels path and code, as render_10k_series).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lumen/http.h"
#include "wrk_run.h"

#define FAMILIES 100
#define SERIES 100

static lumen_counter *g_series[FAMILIES * SERIES];
static atomic_int g_stop;

static void *incrementer(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg * 7919;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        for (int k = 0; k < 1000; k++)
            lumen_counter_inc(g_series[i++ % (FAMILIES * SERIES)]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    lumen_registry *reg;
    if (lumen_registry_new(&reg) != LUMEN_OK)
        return 1;
    static const char *const labels[] = {"path", "code"};
    for (int f = 0; f < FAMILIES; f++) {
        char name[64], path[64];
        snprintf(name, sizeof name, "bench_requests_%d", f);
        lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
        o.help = "Requests handled, by path and code.";
        o.label_names = labels;
        o.label_count = 2;
        lumen_family *fam;
        if (lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, name, &o) != LUMEN_OK)
            return 1;
        for (int s = 0; s < SERIES; s++) {
            snprintf(path, sizeof path, "/api/v1/item/%d", s);
            const char *v[] = {path, "200"};
            if (lumen_family_counter(&g_series[f * SERIES + s], fam, v, 2) != LUMEN_OK)
                return 1;
        }
    }
    lumen_http_server *srv;
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.registries = &reg;
    so.registry_count = 1;
    so.flags = LUMEN_HTTP_NO_SELF_METRICS; /* the same 10k series as the others */
    if (lumen_http_server_start(&srv, &so) != LUMEN_OK)
        return 1;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)lumen_http_server_port(srv));

    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, incrementer, (void *)(uintptr_t)i);
    bench_wrk(url, 1); /* warm up */
    double rps = bench_wrk(url, seconds);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    lumen_http_server_stop(srv);
    lumen_registry_free(reg);
    if (rps < 0) {
        fprintf(stderr, "# wrk failed\n");
        return 1;
    }
    printf("lumen scrape_10k_series_http %.0f req/s\n", rps);
    return 0;
}
