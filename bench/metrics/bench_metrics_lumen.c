/*
 * bench/metrics/bench_metrics_lumen.c: the metrics workloads of
 * bench-spec.md for lumen, through its public API only. Prints
 * "lumen <workload> <value> <unit>"; bench_metrics_prometheus_cpp.cc and
 * bench_metrics_golang.go measure the anchors the same way (see there).
 * Arguments name workloads to run (default: all; "name*" a prefix); the
 * memory workloads run in a child process so that they measure a fresh
 * heap.
 *
 * Timed workloads (one thread and N threads) run BENCH_TRIALS short
 * trials after a warm-up; the printed figure is the minimum per-op time of
 * the trials, followed by "# trials ..." (every trial, for bench/run.sh)
 * and a comment with the median (bench_report in bench_common.h).
 *
 * Thread-count workloads (<workload>_<N>threads, N = 1, 2, 8, 32, 128,
 * 256): N threads released together each do the same number of
 * operations, a number chosen so that a trial lasts about BENCH_TRIAL_S
 * (0.05 s); the figure is wall ns per op per thread (the trial's wall time
 * divided by the operations each thread did), the unit of
 * counter_inc_2threads in bench-spec.md, so that counter_inc_2threads is
 * one row of counter_inc_Nthreads. Total throughput is N / that figure.
 * Every total is checked to be exact.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench_common.h"
#include "lumen/metrics.h"
#include "lumen/otlp.h"

#define LIB "lumen"

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s: %s\n", what, lumen_strerror(rc));
    exit(1);
}

static int failures;

/* A total that is not exact voids the workload: it is reported, its figure
 * is not printed, the other workloads go on and the exit status is 1. */
static int check(int ok, const char *what, double got, double want)
{
    if (!ok) {
        printf("# FAILED " LIB " %s: got %.17g, want %.17g; no figure\n", what, got, want);
        fprintf(stderr, "bench: %s: got %.17g, want %.17g\n", what, got, want);
        failures++;
    }
    return ok;
}

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const codes[] = {"200", "404", "500", "503"};

static lumen_family *labeled_family(lumen_registry *r)
{
    lumen_family *f;
    const char *names[] = {"method", "code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "B.";
    o.label_names = names;
    o.label_count = 2;
    int rc = lumen_family_new(&f, r, LUMEN_METRIC_COUNTER, "bench_requests_total", &o);
    if (rc)
        die("family", rc);
    return f;
}

static void labeled_once(lumen_family *f, long i)
{
    const char *v[] = {methods[i & 3], codes[(i >> 2) & 3]};
    lumen_counter *c;
    if (lumen_family_counter(&c, f, v, 2) == LUMEN_OK)
        lumen_counter_inc(c);
}

static double labeled_total(lumen_family *f)
{
    double s = 0;
    for (int i = 0; i < 16; i++) {
        const char *v[] = {methods[i & 3], codes[i >> 2]};
        lumen_counter *c;
        if (lumen_family_counter(&c, f, v, 2) == LUMEN_OK)
            s += lumen_counter_value(c);
    }
    return s;
}

static double histogram_count(lumen_registry *r)
{
    char *s;
    if (lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS) != LUMEN_OK)
        return -1;
    double v = bench_sample(s, "bench_seconds_count");
    lumen_free(s);
    return v;
}

/* ---- one thread ------------------------------------------------------------ */

/* Each workload's loop, k operations, for bench_single (bench_common.h):
 * a warm-up, then BENCH_TRIALS short trials; min and median reported. */
static void loop_counter(void *p, long k)
{
    lumen_counter *c = p;
    for (long i = 0; i < k; i++)
        lumen_counter_inc(c);
}

static void loop_histogram(void *p, long k)
{
    lumen_histogram *h = p;
    for (long i = 0; i < k; i++)
        lumen_histogram_observe(h, (double)(i & 1023) * 0.01);
}

static double summary_vals[1024];

static void loop_summary(void *p, long k)
{
    lumen_summary *s = p;
    for (long i = 0; i < k; i++)
        lumen_summary_observe(s, summary_vals[i & 1023]);
}

static void loop_labeled(void *p, long k)
{
    lumen_family *f = p;
    for (long i = 0; i < k; i++)
        labeled_once(f, i);
}

static void counter_inc(void)
{
    lumen_registry *r;
    lumen_counter *c;
    lumen_registry_new(&r);
    int rc = lumen_counter_new(&c, r, "bench_total", "B.");
    if (rc)
        die("counter", rc);
    lumen_counter_inc(c); /* first touch allocates the thread's page */
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_counter, c, ns) + 1;
    if (check(lumen_counter_value(c) == want, "counter_inc total", lumen_counter_value(c), want))
        bench_report(LIB, "counter_inc", "ns/op", 2, ns, BENCH_TRIALS);
    lumen_registry_free(r);
}

static void histogram_observe(void)
{
    lumen_registry *r;
    lumen_histogram *h;
    lumen_registry_new(&r);
    int rc = lumen_histogram_new(&h, r, "bench_seconds", "B.", bounds, 11);
    if (rc)
        die("histogram", rc);
    lumen_histogram_observe(h, 0);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_histogram, h, ns) + 1;
    if (check(histogram_count(r) == want, "histogram_observe total", histogram_count(r), want))
        bench_report(LIB, "histogram_observe", "ns/op", 2, ns, BENCH_TRIALS);
    lumen_registry_free(r);
}

/* A summary with quantiles: values over six decades (1 us .. 1 s) so that
 * the sketch runs at the scale it keeps on latencies; the per-series lock
 * is uncontended here. */
static void summary_observe(void)
{
    static const double qs[] = {0.5, 0.9, 0.99, 0.999};
    lumen_registry *r;
    lumen_registry_new(&r);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.quantiles = qs;
    o.quantile_count = 4;
    lumen_family *f;
    lumen_summary *s;
    int rc = lumen_family_new(&f, r, LUMEN_METRIC_SUMMARY, "bench_summary_seconds", &o);
    if (rc == LUMEN_OK)
        rc = lumen_family_summary(&s, f, NULL, 0);
    if (rc)
        die("summary", rc);
    for (int i = 0; i < 1024; i++)
        summary_vals[i] = 1e-6 * pow(10, 6.0 * ((i * 389) % 1024) / 1024);
    lumen_summary_observe(s, 0);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_summary, s, ns) + 1;
    char *text = NULL;
    double got = -1;
    if (lumen_registry_render_string(&text, NULL, r, LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK) {
        const char *at = strstr(text, "bench_summary_seconds_count ");
        if (at != NULL)
            got = strtod(at + strlen("bench_summary_seconds_count "), NULL);
    }
    lumen_free(text);
    if (check(got == want, "summary_observe total", got, want))
        bench_report(LIB, "summary_observe", "ns/op", 2, ns, BENCH_TRIALS);
    lumen_registry_free(r);
}

/* The same values into a native (exponential) histogram: 0 in the zero
 * bucket, 0.01..10.23 over 10 octaves at scale 4, the layout widened by
 * the first observation of each range before the timing starts. */
static void exponential_histogram_observe(void)
{
    lumen_registry *r;
    lumen_family *f;
    lumen_histogram *h;
    lumen_registry_new(&r);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "B.";
    o.histogram_kind = LUMEN_HISTOGRAM_NATIVE;
    int rc = lumen_family_new(&f, r, LUMEN_METRIC_HISTOGRAM, "bench_seconds", &o);
    if (rc == LUMEN_OK)
        rc = lumen_family_histogram(&h, f, NULL, 0);
    if (rc)
        die("exponential histogram", rc);
    for (int i = 0; i < 1024; i++)
        lumen_histogram_observe(h, (double)i * 0.01);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_histogram, h, ns) + 1024;
    if (check(histogram_count(r) == want, "exponential_histogram_observe total", histogram_count(r),
              want))
        bench_report(LIB, "exponential_histogram_observe", "ns/op", 2, ns, BENCH_TRIALS);
    lumen_registry_free(r);
}

static void labeled_inc(void)
{
    lumen_registry *r;
    lumen_registry_new(&r);
    lumen_family *f = labeled_family(r);
    for (int i = 0; i < 16; i++)
        labeled_once(f, i);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_labeled, f, ns) + 16;
    if (check(labeled_total(f) == want, "labeled_inc total", labeled_total(f), want))
        bench_report(LIB, "labeled_inc", "ns/op", 2, ns, BENCH_TRIALS);
    lumen_registry_free(r);
}

/* ---- N threads --------------------------------------------------------------- */

typedef struct nctx {
    lumen_counter *c;
    lumen_histogram *h;
    lumen_family *f;
} nctx;

static void n_counter(bench_team *t, int idx, void *p)
{
    (void)idx;
    nctx *x = p;
    for (long i = 0; i < t->per; i++)
        lumen_counter_inc(x->c);
}

static void n_histogram(bench_team *t, int idx, void *p)
{
    (void)idx;
    nctx *x = p;
    for (long i = 0; i < t->per; i++)
        lumen_histogram_observe(x->h, (double)(i & 1023) * 0.01);
}

static void n_labeled(bench_team *t, int idx, void *p)
{
    nctx *x = p;
    for (long i = 0; i < t->per; i++)
        labeled_once(x->f, i + idx);
}

/* One workload at every thread count, BENCH_TRIALS trials of about
 * BENCH_TRIAL_S each (after the calibration, which warms up); min and
 * median of the trials' wall ns per op per thread. */
static void nthreads(const char *name, bench_team_fn fn, int argc, char **argv)
{
    for (int k = 0; k < BENCH_NTHREADS; k++) {
        int n = bench_threads[k];
        char full[96];
        snprintf(full, sizeof full, "%s_%dthreads", name, n);
        if (!bench_want(argc, argv, full))
            continue;
        lumen_registry *r;
        lumen_registry_new(&r);
        nctx x = {NULL, NULL, NULL};
        int rc = LUMEN_OK;
        if (fn == n_counter)
            rc = lumen_counter_new(&x.c, r, "bench_total", "B.");
        else if (fn == n_histogram)
            rc = lumen_histogram_new(&x.h, r, "bench_seconds", "B.", bounds, 11);
        else
            x.f = labeled_family(r);
        if (rc)
            die(full, rc);
        double want = 0;
        long per = bench_team_calibrate(n, fn, &x, &want);
        double ns[BENCH_TRIALS], cpu[BENCH_TRIALS];
        for (int t = 0; t < BENCH_TRIALS; t++) {
            double c;
            ns[t] = bench_team_run(n, per, fn, &x, &c) * 1e9 / (double)per;
            cpu[t] = c * 1e9 / (double)per / n;
            want += (double)per * n;
        }
        double got = fn == n_counter     ? lumen_counter_value(x.c)
                     : fn == n_histogram ? histogram_count(r)
                                         : labeled_total(x.f);
        if (check(got == want, full, got, want))
            bench_report(LIB, full, "ns/op/thread", 2, ns, BENCH_TRIALS);
        /* On a busy machine the threads may not get the CPUs they could;
         * their own CPU time per op shows what an operation costs each. */
        printf("# " LIB " %s thread CPU time %.2f ns/op (min %.2f)\n", full,
               bench_median(cpu, BENCH_TRIALS), bench_min(cpu, BENCH_TRIALS));
        lumen_registry_free(r);
    }
}

/* ---- series and renders ------------------------------------------------------ */

/* `fams` counter families of `per` series each (labels path, code; series k
 * holds k), with room for `extra` more series per family. */
typedef struct series_set {
    lumen_registry *r;
    int fams, per;
    lumen_family **fam;
    lumen_counter **c; /* fams * per handles, or NULL */
} series_set;

static void series_new(series_set *s, int fams, int per, int extra, lumen_counter **handles)
{
    s->fams = fams;
    s->per = per;
    s->c = handles;
    s->fam = calloc((size_t)fams, sizeof *s->fam);
    if (s->fam == NULL || lumen_registry_new(&s->r) != LUMEN_OK)
        die("registry", LUMEN_ENOMEM);
    const char *names[] = {"path", "code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests served.";
    o.label_names = names;
    o.label_count = 2;
    o.series_limit = (size_t)(per + extra);
    for (int i = 0; i < fams; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench_family_%d_total", i);
        int rc = lumen_family_new(&s->fam[i], s->r, LUMEN_METRIC_COUNTER, name, &o);
        if (rc)
            die("family", rc);
        for (int k = 0; k < per; k++) {
            char path[64];
            snprintf(path, sizeof path, "/api/v1/item/%d", k);
            const char *v[] = {path, "200"};
            lumen_counter *c;
            if ((rc = lumen_family_counter(&c, s->fam[i], v, 2)) != LUMEN_OK)
                die("series", rc);
            lumen_counter_add(c, k);
            if (handles != NULL)
                handles[(size_t)i * (size_t)per + (size_t)k] = c;
        }
    }
}

static void series_free(series_set *s)
{
    lumen_registry_free(s->r);
    free(s->fam);
}

static double render_once(lumen_registry *r, char **keep)
{
    char *s;
    size_t len;
    double t0 = bench_now();
    int rc = lumen_registry_render_string(&s, &len, r, LUMEN_FORMAT_PROMETHEUS);
    double t1 = bench_now();
    if (rc)
        die("render", rc);
    if (keep != NULL)
        *keep = s;
    else
        lumen_free(s);
    return t1 - t0;
}

/* Steady state: the render of a registry scraped before and unchanged
 * since (the first render is not counted). */
static void render(int fams, int per, int reps, const char *name, double scale, const char *unit)
{
    series_set s;
    series_new(&s, fams, per, 1, NULL);
    render_once(s.r, NULL);
    double t[32];
    for (int i = 0; i < reps; i++)
        t[i] = render_once(s.r, NULL);
    printf(LIB " %s %.3f %s\n", name, bench_median(t, reps) * scale, unit);
    series_free(&s);
}

/* otlp_metrics_export_10k_series: the registry of render_10k_series
 * encoded as one OTLP protobuf ExportMetricsServiceRequest (the reader's
 * work per export, without the network), after a first one. */
static void otlp_export(void)
{
    series_set s;
    series_new(&s, 100, 100, 1, NULL);
    double t[32];
    for (int i = 0; i <= 21; i++) {
        char *body;
        size_t len, points;
        double t0 = bench_now();
        int rc = lumen_otlp_encode_metrics(&body, &len, &points, LUMEN_OTLP_PROTOBUF, &s.r, 1, NULL,
                                           NULL);
        double t1 = bench_now();
        if (rc)
            die("otlp encode", rc);
        if (points != 10000)
            die("otlp points", (int)points);
        lumen_free(body);
        if (i > 0)
            t[i - 1] = t1 - t0;
    }
    printf(LIB " otlp_metrics_export_10k_series %.3f us/export\n", bench_median(t, 21) * 1e6);
    series_free(&s);
}

/* render_10k_series_cold: the first render after one series was added
 * (each trial adds a new series to another family, then renders once). */
static void render_cold(void)
{
    enum { REPS = 11 };
    series_set s;
    series_new(&s, 100, 100, 16, NULL);
    render_once(s.r, NULL);
    double t[REPS];
    for (int i = 0; i < REPS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/new/%d", i);
        const char *v[] = {path, "200"};
        lumen_counter *c;
        int rc = lumen_family_counter(&c, s.fam[i % 100], v, 2);
        if (rc)
            die("render_10k_series_cold series", rc);
        lumen_counter_inc(c);
        t[i] = render_once(s.r, NULL);
    }
    printf(LIB " render_10k_series_cold %.3f ms/render\n", bench_median(t, REPS) * 1e3);
    series_free(&s);
}

/* render_10k_series_churn: renders back to back while another thread adds
 * a series (path "/api/v1/churn"), increments it and removes it again,
 * then sleeps 100 us, in a loop over the 100 families: about one add and
 * one remove every 100 us, so that every render finds the registry changed
 * since the last one, at a pace that leaves the CPUs to the render. */
typedef struct churn {
    series_set *s;
    atomic_int stop;
    atomic_long pairs;
} churn;

static void *churn_thread(void *p)
{
    churn *ch = p;
    const char *v[] = {"/api/v1/churn", "200"};
    struct timespec pause = {0, 100000};
    for (long i = 0; !atomic_load(&ch->stop); i++) {
        lumen_family *f = ch->s->fam[i % ch->s->fams];
        lumen_counter *c;
        if (lumen_family_counter(&c, f, v, 2) == LUMEN_OK) {
            lumen_counter_inc(c);
            lumen_family_remove(f, v, 2);
        }
        atomic_fetch_add(&ch->pairs, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void render_churn(void)
{
    enum { REPS = 21 };
    series_set s;
    series_new(&s, 100, 100, 1, NULL);
    render_once(s.r, NULL);
    churn ch = {&s, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, churn_thread, &ch);
    while (atomic_load(&ch.pairs) == 0)
        sched_yield();
    long p0 = atomic_load(&ch.pairs);
    double t[REPS];
    for (int i = 0; i < REPS; i++)
        t[i] = render_once(s.r, NULL);
    long pairs = atomic_load(&ch.pairs) - p0;
    atomic_store(&ch.stop, 1);
    pthread_join(th, NULL);
    printf(LIB " render_10k_series_churn %.3f ms/render\n", bench_median(t, REPS) * 1e3);
    printf("# " LIB " render_10k_series_churn: renders while another thread adds, increments and "
           "removes a series every 100 us: %ld add/remove pairs during %d renders\n",
           pairs, REPS);
    series_free(&s);
}

/* render_10k_series_Nthreads: N live threads each increment every one of
 * the 10k series once (each from its own starting point), then wait while
 * the main thread renders; the steady-state render is reported (the first
 * render after the updates as a comment). The render must show every
 * update: series k of a family holds k + N. */
static void touch_all(bench_team *t, int idx, void *p)
{
    series_set *s = p;
    size_t total = (size_t)s->fams * (size_t)s->per;
    size_t start = (size_t)idx * 7919 % total;
    for (size_t k = 0; k < total; k++)
        lumen_counter_inc(s->c[(start + k) % total]);
    bench_team_meet(t); /* updated */
    bench_team_meet(t); /* rendered */
}

static void render_nthreads(int argc, char **argv)
{
    enum { REPS = 7 };
    static lumen_counter *handles[100 * 100];
    for (int k = 0; k < BENCH_NRENDER; k++) {
        int n = bench_render_threads[k];
        char name[64];
        snprintf(name, sizeof name, "render_10k_series_%dthreads", n);
        if (!bench_want(argc, argv, name))
            continue;
        series_set s;
        series_new(&s, 100, 100, 1, handles);
        bench_team *team = bench_team_start(n, 0, touch_all, &s);
        bench_team_go(team);
        bench_team_meet(team);
        char *text;
        double cold = render_once(s.r, &text);
        const char *keys[] = {"bench_family_0_total{path=\"/api/v1/item/7\",code=\"200\"}",
                              "bench_family_99_total{path=\"/api/v1/item/99\",code=\"200\"}"};
        double want[] = {7 + n, 99 + n};
        int ok = 1;
        for (int i = 0; i < 2; i++)
            ok &= check(bench_sample(text, keys[i]) == want[i], name, bench_sample(text, keys[i]),
                        want[i]);
        lumen_free(text);
        double t[REPS];
        for (int i = 0; i < REPS; i++)
            t[i] = render_once(s.r, NULL);
        bench_team_meet(team);
        bench_team_join(team);
        if (ok)
            printf(LIB " %s %.3f ms/render\n", name, bench_median(t, REPS) * 1e3);
        printf("# " LIB " %s first render %.3f ms\n", name, cold * 1e3);
        series_free(&s);
    }
}

/* ---- memory ------------------------------------------------------------------- */

#define MEM_FAMS 1000
#define MEM_PER 1000
#define MEM_SERIES ((size_t)MEM_FAMS * MEM_PER)

/* Run fn in a child process, forked from this heap as it is now; a child
 * that fails or crashes counts as a failure here. */
static void in_child(void (*fn)(void), const char *name)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("# FAILED " LIB " %s: its process ended with status %d\n", name, st);
        failures++;
    }
}

static void memory_per_series(void)
{
    long before = bench_rss();
    series_set s;
    series_new(&s, MEM_FAMS, MEM_PER, 1, NULL);
    long after = bench_rss();
    printf(LIB " memory_per_series %.1f bytes\n", (double)(after - before) / MEM_SERIES);
}

/* memory_per_series_64threads: 1M series, each incremented once by each of
 * 64 live threads; the RSS added (series and whatever the threads' updates
 * cost) per series, measured while the threads are still alive. The
 * handle array is allocated and touched before the first reading. */
static void memory_64threads(void)
{
    lumen_counter **h = calloc(MEM_SERIES, sizeof *h);
    if (h == NULL)
        die("handles", LUMEN_ENOMEM);
    memset(h, 0, MEM_SERIES * sizeof *h);
    long before = bench_rss();
    series_set s;
    series_new(&s, MEM_FAMS, MEM_PER, 1, h);
    long created = bench_rss();
    bench_team *team = bench_team_start(64, 0, touch_all, &s);
    bench_team_go(team);
    bench_team_meet(team);
    long after = bench_rss();
    double last = lumen_counter_value(h[MEM_SERIES - 1]);
    int ok = check(last == MEM_PER - 1 + 64, "memory_per_series_64threads total", last,
                   MEM_PER - 1 + 64);
    bench_team_meet(team);
    bench_team_join(team);
    if (ok)
        printf(LIB " memory_per_series_64threads %.1f bytes\n",
               (double)(after - before) / MEM_SERIES);
    printf("# " LIB " memory_per_series_64threads: %.1f bytes of it added by the threads\n",
           (double)(after - created) / MEM_SERIES);
}

/* ---- thread churn ------------------------------------------------------------- */

/* thread_churn: threads created and joined one after the other, as a
 * thread-per-request program does; each increments 8 of 10k series (thread
 * k the series (8k + j) * 37 mod 10000, j < 8), against the same threads
 * doing nothing, interleaved. The figure is the mean difference in the
 * process's CPU time (every thread, user and system: creation, the work,
 * the exit and its destructors) per thread in a round of 1000 of each, the
 * median over 7 rounds. CPU time rather than the wall clock: the
 * difference is a few microseconds beside a create+join of 15 to 200 us,
 * and on a busy machine the wall clock's noise exceeds it (it even came
 * out negative); the wall-clock difference is printed as a comment. */
static lumen_counter *churn_series[100 * 100];
static long churn_next;

static void *churn_idle(void *p)
{
    return p;
}

static void *churn_work(void *p)
{
    long k = churn_next++; /* one thread at a time: joined before the next */
    for (long j = 0; j < 8; j++)
        lumen_counter_inc(churn_series[((k * 8 + j) * 37) % 10000]);
    return p;
}

/* One thread's create, run and join, in seconds. */
/* One thread's create, run and join: the wall time, in seconds; the
 * process's CPU time for it is added to *cpu. */
static double churn_one(void *(*fn)(void *), double *cpu)
{
    pthread_t t;
    double c0 = bench_process_cpu(), t0 = bench_now();
    if (pthread_create(&t, NULL, fn, NULL) != 0)
        die("thread_churn: pthread_create", LUMEN_ESYS);
    pthread_join(t, NULL);
    double t1 = bench_now();
    *cpu += bench_process_cpu() - c0;
    return t1 - t0;
}

/* A round: k idle threads and k working ones, interleaved one by one so
 * that a change in the machine's load hits both alike; the mean extra wall
 * time of a working thread, and the mean time of an idle one (*idle) and
 * the mean extra CPU time of a working one (*cpu). */
static double churn_round(int k, double *idle, double *cpu)
{
    double work = 0, rest = 0, cpu_work = 0, cpu_rest = 0;
    for (int i = 0; i < k; i++) {
        rest += churn_one(churn_idle, &cpu_rest);
        work += churn_one(churn_work, &cpu_work);
    }
    *idle = rest / k;
    *cpu = (cpu_work - cpu_rest) / k;
    return (work - rest) / k;
}

static double series_sum(void)
{
    double s = 0;
    for (int i = 0; i < 10000; i++)
        s += lumen_counter_value(churn_series[i]);
    return s;
}

static void thread_churn(void)
{
    enum { ROUNDS = 7 };
    int k = (int)bench_n(1000);
    series_set s;
    series_new(&s, 100, 100, 1, churn_series);
    double sum0 = series_sum();
    double unused = 0;
    churn_one(churn_idle, &unused); /* glibc's stack cache, warm */
    long rss0 = bench_rss();
    double d[ROUNDS], idle[ROUNDS], cpu[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        d[r] = churn_round(k, &idle[r], &cpu[r]) * 1e6;
        idle[r] *= 1e6;
        cpu[r] *= 1e6;
    }
    long rss1 = bench_rss();
    double want = sum0 + 8.0 * k * ROUNDS;
    if (check(series_sum() == want, "thread_churn total", series_sum(), want))
        printf(LIB " thread_churn %.3f us/thread\n", bench_median(cpu, ROUNDS));
    printf("# " LIB " thread_churn: %.3f us/thread by the wall clock; an idle thread's create+join "
           "%.1f us; RSS %+ld KiB over %d threads\n",
           bench_median(d, ROUNDS), bench_median(idle, ROUNDS), (rss1 - rss0) / 1024,
           2 * k * ROUNDS);
    series_free(&s);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* First, in children forked from a heap that holds nothing freed yet:
     * later they would reuse memory earlier workloads freed. */
    if (bench_want(argc, argv, "memory_per_series"))
        in_child(memory_per_series, "memory_per_series");
    if (bench_want(argc, argv, "memory_per_series_64threads"))
        in_child(memory_64threads, "memory_per_series_64threads");
    if (bench_want(argc, argv, "counter_inc"))
        counter_inc();
    if (bench_want(argc, argv, "histogram_observe"))
        histogram_observe();
    if (bench_want(argc, argv, "exponential_histogram_observe"))
        exponential_histogram_observe();
    if (bench_want(argc, argv, "summary_observe"))
        summary_observe();
    if (bench_want(argc, argv, "labeled_inc"))
        labeled_inc();
    nthreads("counter_inc", n_counter, argc, argv);
    nthreads("histogram_observe", n_histogram, argc, argv);
    nthreads("labeled_inc", n_labeled, argc, argv);
    if (bench_want(argc, argv, "render_10k_series"))
        render(100, 100, 21, "render_10k_series", 1e6, "us/render");
    if (bench_want(argc, argv, "otlp_metrics_export_10k_series"))
        otlp_export();
    if (bench_want(argc, argv, "render_10k_series_cold"))
        render_cold();
    if (bench_want(argc, argv, "render_10k_series_churn"))
        render_churn();
    render_nthreads(argc, argv);
    if (bench_want(argc, argv, "render_100k_series"))
        render(100, 1000, 7, "render_100k_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "render_1m_series"))
        render(1000, 1000, 3, "render_1m_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "thread_churn"))
        thread_churn();
    return failures ? 1 : 0;
}
