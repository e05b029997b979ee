/*
 * tests/prefork/test_prefork_prometheus.c: the example pre-forked server
 * (examples/prefork_server.c: a master, 4 workers, each recycled after
 * 250 requests) under a steady load, scraped every second by the real
 * Prometheus server (Debian prometheus) through the master's endpoint.
 *
 * The load generator (four threads in this test, paced to 400 requests a
 * second for 24 s) records when each response arrived. Through
 * Prometheus's HTTP API:
 * - at three moments of the run, rate(http_requests_total[10s]) matches
 *   the generator's own rate over the same samples' interval within 1 %;
 * - resets(http_requests_total[...]) over the whole run is 0, while
 *   lumen_prefork_workers_reclaimed_total shows the workers were recycled
 *   dozens of times;
 * - the last value equals the number of responses the generator got;
 * and the master's console (/api/metrics/series) charts the family's
 * counter.
 */
#include <curl/curl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "http/http_test.h"
#include "prefork/prefork_test.h"

#define RATE 400
#define SECONDS 24
#define THREADS 4
#define RECYCLE 250

static char g_prom[64];
static uint16_t g_port, g_mport;
static pid_t g_server = -1, g_prometheus = -1;
static char *g_dir;

/* ---- Prometheus's API ------------------------------------------------------- */

static char *api(const char *promql, double at)
{
    char *esc = curl_easy_escape(NULL, promql, 0);
    char url[1024];
    if (at > 0)
        snprintf(url, sizeof url, "%s/api/v1/query?query=%s&time=%.3f", g_prom, esc, at);
    else
        snprintf(url, sizeof url, "%s/api/v1/query?query=%s", g_prom, esc);
    curl_free(esc);
    th_resp r;
    long s = th_http("GET", url, NULL, NULL, NULL, 5000, &r);
    char *body = s == 200 && r.body != NULL ? strdup(r.body) : NULL;
    if (body == NULL)
        print_message("query %s: %ld %s\n", promql, s, r.body ? r.body : "");
    th_resp_free(&r);
    return body;
}

/* The value of an instant query's first result; NAN without one. */
static double instant(const char *promql, double at)
{
    char *b = api(promql, at);
    double v = NAN;
    const char *p = b ? strstr(b, "\"value\":[") : NULL;
    if (p != NULL && (p = strchr(p, ',')) != NULL && p[1] == '"')
        v = strtod(p + 2, NULL);
    free(b);
    return v;
}

/* The samples of a range vector selector's first series: timestamps and
 * values into ts[], v[] (at most cap); how many. */
static int samples(const char *promql, double at, double *ts, double *v, int cap)
{
    char *b = api(promql, at);
    int n = 0;
    const char *p = b ? strstr(b, "\"values\":[") : NULL;
    if (p != NULL) {
        p += strlen("\"values\":[");
        while (n < cap && *p == '[') {
            char *end;
            ts[n] = strtod(p + 1, &end);
            if (*end != ',' || end[1] != '"')
                break;
            v[n] = strtod(end + 2, &end);
            n++;
            p = strchr(end, ']');
            if (p == NULL)
                break;
            p++;
            if (*p == ',')
                p++;
        }
    }
    free(b);
    return n;
}

/* ---- the load generator ---------------------------------------------------- */

typedef struct gen {
    double start; /* wall clock, seconds */
    double *done[THREADS];
    int n[THREADS], failed[THREADS];
} gen;

static gen g_gen;

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int request(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    static const char req[] = "GET / HTTP/1.0\r\nHost: test\r\n\r\n";
    int ok = write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1);
    char buf[512];
    size_t got = 0;
    ssize_t r;
    while (ok && got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    return ok && strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\r\n\r\nok\n") != NULL;
}

/* One thread: RATE / THREADS requests a second on absolute deadlines, so
 * that the pace does not drift with the time each request takes. */
static void *load(void *p)
{
    int t = (int)(intptr_t)p;
    int total = RATE / THREADS * SECONDS;
    double step = (double)THREADS / RATE;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < total; i++) {
        if (request())
            g_gen.done[t][g_gen.n[t]++] = wall();
        else
            g_gen.failed[t]++;
        long ns = next.tv_nsec + (long)(step * 1e9);
        next.tv_sec += ns / 1000000000;
        next.tv_nsec = ns % 1000000000;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
    }
    return NULL;
}

/* Responses the generator got in (from, to]. */
static int answered(double from, double to)
{
    int k = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < g_gen.n[t]; i++)
            k += g_gen.done[t][i] > from && g_gen.done[t][i] <= to;
    return k;
}

/* ---- setup -------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    if (!lt_have("prometheus"))
        return 0;
    g_dir = lt_tempdir();
    g_port = th_free_port();
    g_mport = th_free_port();
    while (g_mport == g_port)
        g_mport = th_free_port();
    char port[16], mport[16], recycle[16], log[512];
    snprintf(port, sizeof port, "%u", (unsigned)g_port);
    snprintf(mport, sizeof mport, "%u", (unsigned)g_mport);
    snprintf(recycle, sizeof recycle, "%d", RECYCLE);
    snprintf(log, sizeof log, "%s/server.log", g_dir);
    char *argv[] = {PREFORK_SERVER, "--port",    port, "--metrics-port",
                    mport,          "--workers", "4",  "--recycle",
                    recycle,        "--console", NULL};
    g_server = th_spawn(argv, log);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)g_mport);
    if (g_server <= 0 || !th_wait_ready(url, 30000)) {
        char *l = lt_read_file(log, NULL);
        print_error("prefork_server did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }

    char cfg[512], plog[512], data[512], listen[64], cfgarg[600], dataarg[600];
    snprintf(cfg, sizeof cfg, "%s/prom.yml", g_dir);
    snprintf(plog, sizeof plog, "%s/prometheus.log", g_dir);
    snprintf(data, sizeof data, "%s/data", g_dir);
    FILE *f = fopen(cfg, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: prefork\n"
            "    static_configs: [{targets: ['127.0.0.1:%u']}]\n",
            (unsigned)g_mport);
    fclose(f);
    uint16_t pp = th_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)pp);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    char *pargv[] = {"prometheus", cfgarg, dataarg, listen, NULL};
    g_prometheus = th_spawn(pargv, plog);
    snprintf(g_prom, sizeof g_prom, "http://127.0.0.1:%u", (unsigned)pp);
    char ready[128];
    snprintf(ready, sizeof ready, "%s/-/ready", g_prom);
    if (!th_wait_ready(ready, 30000)) {
        char *l = lt_read_file(plog, NULL);
        print_error("prometheus did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_prometheus > 0)
        th_stop(g_prometheus);
    if (g_server > 0)
        th_stop(g_server);
    if (g_dir != NULL) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        lt_run(cmd, NULL, 0, NULL);
        free(g_dir);
    }
    for (int t = 0; t < THREADS; t++)
        free(g_gen.done[t]);
    return 0;
}

/* ---- the test ------------------------------------------------------------- */

static void test_prefork_prometheus__rate_and_no_resets_across_recycling(void **state)
{
    (void)state;
    if (g_prometheus <= 0)
        skip();
    int64_t deadline = th_now_ms() + 30000;
    while (th_now_ms() < deadline && instant("up{job=\"prefork\"}", 0) != 1)
        usleep(250000);
    assert_true(instant("up{job=\"prefork\"}", 0) == 1);

    /* The load. */
    for (int t = 0; t < THREADS; t++)
        assert_non_null(g_gen.done[t] = calloc(RATE / THREADS * SECONDS, sizeof(double)));
    g_gen.start = wall();
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, load, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    double end = wall();
    int ok = 0, failed = 0;
    for (int t = 0; t < THREADS; t++) {
        ok += g_gen.n[t];
        failed += g_gen.failed[t];
    }
    print_message("%d responses, %d failed, in %.1f s\n", ok, failed, end - g_gen.start);
    assert_int_equal(failed, 0);

    /* Prometheus has the last value once it scraped after the load. */
    deadline = th_now_ms() + 15000;
    double last = NAN;
    while (th_now_ms() < deadline && (last = instant("sum(http_requests_total)", 0)) != ok)
        usleep(250000);
    assert_true(last == ok);

    /* rate() against the generator, over the interval of the samples
     * rate() used: from the first to the last scrape in the window. */
    for (int k = 0; k < 3; k++) {
        double at = g_gen.start + 12 + 5 * k; /* windows inside the load */
        double ts[32], v[32];
        int n = samples("http_requests_total[10s]", at, ts, v, 32);
        assert_true(n >= 5);
        double rate = instant("sum(rate(http_requests_total[10s]))", at);
        double mine = answered(ts[0], ts[n - 1]) / (ts[n - 1] - ts[0]);
        double err = fabs(rate - mine) / mine;
        print_message("at +%.0f s: rate() %.2f/s, generator %.2f/s over %d scrapes (%.3f %%)\n",
                      at - g_gen.start, rate, mine, n, 100 * err);
        assert_true(err < 0.01);
    }

    /* No counter reset across the run, with workers recycled all along. */
    char q[128];
    snprintf(q, sizeof q, "resets(http_requests_total[%ds])", SECONDS + 10);
    double resets = instant(q, end + 2);
    snprintf(q, sizeof q, "increase(lumen_prefork_workers_reclaimed_total[%ds])", SECONDS + 10);
    double recycled = instant(q, end + 2);
    print_message("resets %.0f, workers reclaimed during the run %.0f\n", resets, recycled);
    assert_true(resets == 0);
    assert_true(recycled >= (double)ok / RECYCLE - 8);
    assert_true(instant("lumen_prefork_lock_recoveries_total", 0) == 0);

    /* The master's console charts the family's counter. */
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/metrics/series?family=http_requests_total",
             (unsigned)g_mport);
    deadline = th_now_ms() + 10000;
    bool seen = false;
    while (!seen && th_now_ms() < deadline) {
        th_resp r;
        if (th_http("GET", url, NULL, NULL, NULL, 5000, &r) == 200 && r.body != NULL) {
            char *out = NULL;
            char cmd[512];
            snprintf(cmd, sizeof cmd,
                     "%s -c 'import json,sys; d=json.load(sys.stdin); "
                     "print(max(max(v for v in x[\"values\"] if v is not None) "
                     "for x in d[\"series\"] if x[\"labels\"].get(\"code\")==\"200\"))'",
                     lt_python());
            if (lt_run(cmd, r.body, r.body_len, &out) == 0 && out != NULL && atof(out) == ok)
                seen = true;
            free(out);
        }
        th_resp_free(&r);
        if (!seen)
            usleep(500000);
    }
    assert_true(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork_prometheus__rate_and_no_resets_across_recycling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
