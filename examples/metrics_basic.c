/*
 * examples/metrics_basic.c: register a counter, a labelled counter, a
 * gauge and a histogram, update them from a few threads, and print the
 * exposition in the Prometheus text format (or OpenMetrics with
 * --openmetrics).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lumen/metrics.h"

static lumen_counter *requests;
static lumen_family *by_code;
static lumen_gauge *in_flight;
static lumen_histogram *latency;

static void *worker(void *arg)
{
    int id = *(int *)arg;
    static const char *const codes[] = {"200", "404", "500"};
    for (int i = 0; i < 100000; i++) {
        lumen_gauge_inc(in_flight);
        lumen_counter_inc(requests);
        const char *values[] = {i % 2 ? "GET" : "POST", codes[(i + id) % 3]};
        lumen_counter *c;
        if (lumen_family_counter(&c, by_code, values, 2) == LUMEN_OK)
            lumen_counter_inc(c);
        lumen_histogram_observe(latency, (double)(i % 1000) / 1000.0);
        lumen_gauge_dec(in_flight);
    }
    return NULL;
}

static int print(const char *data, size_t len, void *ud)
{
    return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

int main(int argc, char **argv)
{
    lumen_format fmt = argc > 1 && strcmp(argv[1], "--openmetrics") == 0 ? LUMEN_FORMAT_OPENMETRICS
                                                                         : LUMEN_FORMAT_PROMETHEUS;
    int rc = lumen_counter_new(&requests, NULL, "demo_requests_total", "Requests handled.");
    const char *labels[] = {"method", "code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests by method and status code.";
    o.label_names = labels;
    o.label_count = 2;
    if (rc == LUMEN_OK)
        rc = lumen_family_new(&by_code, NULL, LUMEN_METRIC_COUNTER, "demo_responses_total", &o);
    if (rc == LUMEN_OK)
        rc = lumen_gauge_new(&in_flight, NULL, "demo_in_flight", "Requests being handled.");
    if (rc == LUMEN_OK)
        rc = lumen_histogram_new(&latency, NULL, "demo_latency_seconds", "Handling time.", NULL, 0);
    lumen_label build[] = {{"version", lumen_version()}, {"variant", "demo"}};
    if (rc == LUMEN_OK)
        rc = lumen_info_new(NULL, NULL, "demo_build", "Build information.", build, 2);
    if (rc != LUMEN_OK) {
        fprintf(stderr, "metrics_basic: %s\n", lumen_strerror(rc));
        return 1;
    }
    pthread_t t[4];
    int ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = i;
        pthread_create(&t[i], NULL, worker, &ids[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    rc = lumen_registry_render(NULL, fmt, print, stdout);
    if (rc != LUMEN_OK) {
        fprintf(stderr, "metrics_basic: render: %s\n", lumen_strerror(rc));
        return 1;
    }
    return 0;
}
