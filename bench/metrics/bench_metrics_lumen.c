/*
 * bench/metrics/bench_metrics_lumen.c: the metrics workloads of
 * bench-spec.md for lumen. Prints "lumen <workload> <value> <unit>".
 * Arguments name workloads to run (default: all); memory_per_series runs
 * in a child process so that it measures a fresh heap.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "bench_common.h"
#include "lumen/metrics.h"

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s: %s\n", what, lumen_strerror(rc));
    exit(1);
}

static void counter_inc(void)
{
    lumen_registry *r;
    lumen_counter *c;
    lumen_registry_new(&r);
    int rc = lumen_counter_new(&c, r, "bench_total", "B.");
    if (rc)
        die("counter", rc);
    long n = bench_n(20000000);
    lumen_counter_inc(c); /* first touch allocates the thread's page */
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++)
            lumen_counter_inc(c);
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    if (lumen_counter_value(c) != (double)n * BENCH_TRIALS + 1)
        die("counter_inc total", -1);
    printf("lumen counter_inc %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
    lumen_registry_free(r);
}

typedef struct targ {
    lumen_counter *c;
    long n;
    int cpu;
    double cpu_s; /* the thread's CPU time for its loop */
} targ;

static void *inc_thread(void *p)
{
    targ *a = p;
    bench_pin(a->cpu);
    double t0 = bench_thread_cpu();
    for (long i = 0; i < a->n; i++)
        lumen_counter_inc(a->c);
    a->cpu_s = bench_thread_cpu() - t0;
    return NULL;
}

static void counter_inc_2threads(void)
{
    lumen_registry *r;
    lumen_counter *c;
    lumen_registry_new(&r);
    lumen_counter_new(&c, r, "bench_total", "B.");
    long n = bench_n(20000000);
    targ a[2] = {{c, n, 0, 0}, {c, n, 1, 0}};
    double ns[BENCH_TRIALS], cpu[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        pthread_t t[2];
        double t0 = bench_now();
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, inc_thread, &a[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
        cpu[k] = (a[0].cpu_s + a[1].cpu_s) / 2 * 1e9 / (double)n;
    }
    if (lumen_counter_value(c) != 2.0 * (double)n * BENCH_TRIALS)
        die("counter_inc_2threads total", -1);
    printf("lumen counter_inc_2threads %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
    /* On a busy machine the two threads may not get two cores at once;
     * their own CPU time per op shows what an increment costs each. */
    printf("# lumen counter_inc_2threads thread CPU time %.2f ns/op\n",
           bench_median(cpu, BENCH_TRIALS));
    lumen_registry_free(r);
}

static void histogram_observe(void)
{
    lumen_registry *r;
    lumen_histogram *h;
    lumen_registry_new(&r);
    double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    int rc = lumen_histogram_new(&h, r, "bench_seconds", "B.", b, 11);
    if (rc)
        die("histogram", rc);
    long n = bench_n(10000000);
    lumen_histogram_observe(h, 0);
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++)
            lumen_histogram_observe(h, (double)(i & 1023) * 0.01);
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    printf("lumen histogram_observe %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
    lumen_registry_free(r);
}

static void labeled_inc(void)
{
    lumen_registry *r;
    lumen_family *f;
    lumen_registry_new(&r);
    const char *names[] = {"method", "code"};
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = "B.";
    o.label_names = names;
    o.label_count = 2;
    int rc = lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "bench_requests_total", &o);
    if (rc)
        die("family", rc);
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *const codes[] = {"200", "404", "500", "503"};
    long n = bench_n(4000000);
    for (int i = 0; i < 16; i++) {
        const char *v[] = {methods[i & 3], codes[i >> 2]};
        lumen_counter *c;
        lumen_family_counter(f, v, 2, &c);
    }
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++) {
            const char *v[] = {methods[i & 3], codes[(i >> 2) & 3]};
            lumen_counter *c;
            if (lumen_family_counter(f, v, 2, &c) == LUMEN_OK)
                lumen_counter_inc(c);
        }
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    printf("lumen labeled_inc %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
    lumen_registry_free(r);
}

static lumen_registry *series_registry(int fams, int per)
{
    lumen_registry *r;
    lumen_registry_new(&r);
    const char *names[] = {"path", "code"};
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = "Requests served.";
    o.label_names = names;
    o.label_count = 2;
    o.series_limit = (size_t)per + 1;
    for (int i = 0; i < fams; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench_family_%d_total", i);
        lumen_family *f;
        int rc = lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, name, &o);
        if (rc)
            die("family", rc);
        for (int k = 0; k < per; k++) {
            char path[64];
            snprintf(path, sizeof path, "/api/v1/item/%d", k);
            const char *v[] = {path, "200"};
            lumen_counter *c;
            if ((rc = lumen_family_counter(f, v, 2, &c)) != LUMEN_OK)
                die("series", rc);
            lumen_counter_add(c, k);
        }
    }
    return r;
}

static double render_once(lumen_registry *r, size_t *bytes)
{
    char *s;
    size_t len;
    double t0 = bench_now();
    int rc = lumen_registry_render_string(r, LUMEN_FORMAT_PROMETHEUS, &s, &len);
    double t1 = bench_now();
    if (rc)
        die("render", rc);
    *bytes = len;
    lumen_free(s);
    return t1 - t0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void render(int fams, int per, int reps, const char *name, double scale, const char *unit)
{
    lumen_registry *r = series_registry(fams, per);
    size_t bytes;
    render_once(r, &bytes); /* warm: builds the sorted snapshots once */
    double t[32];
    for (int i = 0; i < reps; i++)
        t[i] = render_once(r, &bytes);
    qsort(t, (size_t)reps, sizeof t[0], cmp_d);
    printf("lumen %s %.3f %s\n", name, t[reps / 2] * scale, unit);
    lumen_registry_free(r);
}

static void memory_per_series(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        long before = bench_rss();
        lumen_registry *r = series_registry(1000, 1000);
        long after = bench_rss();
        printf("lumen memory_per_series %.1f bytes\n", (double)(after - before) / 1e6);
        fflush(stdout);
        (void)r;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* First, in a child forked from a heap that holds nothing freed yet:
     * later it would reuse memory earlier workloads freed. */
    if (bench_want(argc, argv, "memory_per_series"))
        memory_per_series();
    if (bench_want(argc, argv, "counter_inc"))
        counter_inc();
    if (bench_want(argc, argv, "counter_inc_2threads"))
        counter_inc_2threads();
    if (bench_want(argc, argv, "histogram_observe"))
        histogram_observe();
    if (bench_want(argc, argv, "labeled_inc"))
        labeled_inc();
    if (bench_want(argc, argv, "render_10k_series"))
        render(100, 100, 21, "render_10k_series", 1e6, "us/render");
    if (bench_want(argc, argv, "render_100k_series"))
        render(100, 1000, 7, "render_100k_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "render_1m_series"))
        render(1000, 1000, 3, "render_1m_series", 1e3, "ms/render");
    return 0;
}
