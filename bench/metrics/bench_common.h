/* bench/metrics/bench_common.h: timing, memory and thread helpers shared by
 * the metrics benchmarks (C and C++), so that lumen and prometheus-cpp are
 * measured by the same code. */
#ifndef LUMEN_BENCH_METRICS_COMMON_H
#define LUMEN_BENCH_METRICS_COMMON_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread, in seconds. */
static inline double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (every thread, user and system), in
 * seconds. */
static inline double bench_process_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size in bytes. */
static inline long bench_rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Iteration counts scale with LUMEN_BENCH_SCALE (default 1). */
static inline long bench_n(long n)
{
    const char *s = getenv("LUMEN_BENCH_SCALE");
    double k = s ? atof(s) : 1.0;
    if (k <= 0)
        k = 1;
    return (long)((double)n * k) > 0 ? (long)((double)n * k) : 1;
}

/* Median of `n` values (sorts them). */
static inline double bench_median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/*
 * Trials. This VM alternates between fast and slow phases over seconds
 * (the same loop at 2.6 or 5.3 ns/op, even in one pinned process), so one
 * long trial measures whichever phase it landed in. Every timed workload
 * therefore runs BENCH_TRIALS short trials after a warm-up and reports the
 * minimum per-op time of the trials (the floor the code reaches on this
 * machine: the headline figure, in the spec's "<library> <workload>
 * <value> <unit>" line) and their median (a comment line); bench/run.sh
 * pools the trials of interleaved runs (see bench_report).
 */
#define BENCH_TRIALS 30
/* A single-thread trial lasts about this long (times LUMEN_BENCH_SCALE),
 * after a warm-up of BENCH_WARMUP_S. */
#define BENCH_SHORT_TRIAL_S 0.02
#define BENCH_WARMUP_S 0.05

static inline double bench_min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

/* The spec's line with the minimum of the trials, then the trials
 * themselves ("# trials <library> <workload> <unit> <v>...", read by
 * bench/run.sh) and a comment with their median, `prec` digits after the
 * point. Sorts `v`. */
static inline void bench_report(const char *lib, const char *name, const char *unit, int prec,
                                double *v, int n)
{
    double lo = bench_min(v, n);
    printf("%s %s %.*f %s\n", lib, name, prec, lo, unit);
    printf("# trials %s %s %s", lib, name, unit);
    for (int i = 0; i < n; i++)
        printf(" %.4g", v[i]);
    printf("\n# %s %s: min %.*f, median %.*f %s of %d trials\n", lib, name, prec, lo, prec,
           bench_median(v, n), unit, n);
}

/* One thread: fn(ctx, k) does k operations. A warm-up of about
 * BENCH_WARMUP_S also sizes the trials (BENCH_SHORT_TRIAL_S each); then
 * BENCH_TRIALS trials, ns[i] the per-op time of trial i. Returns every
 * operation done, warm-up included, for the caller's exact totals. */
static inline double bench_single(void (*fn)(void *ctx, long k), void *ctx, double *ns)
{
    double target = BENCH_SHORT_TRIAL_S * (double)bench_n(1000) / 1000.0;
    double warm = BENCH_WARMUP_S * (double)bench_n(1000) / 1000.0;
    double done = 0, w0 = bench_now(), per_op = 0;
    long k = 1000;
    for (;;) {
        double t0 = bench_now();
        fn(ctx, k);
        double t = bench_now() - t0;
        done += (double)k;
        if (t >= target / 4) {
            double p = t / (double)k;
            per_op = per_op == 0 || p < per_op ? p : per_op;
            if (bench_now() - w0 >= warm)
                break;
        } else
            k *= 4;
    }
    k = (long)(target / per_op) > 0 ? (long)(target / per_op) : 1;
    for (int i = 0; i < BENCH_TRIALS; i++) {
        double t0 = bench_now();
        fn(ctx, k);
        ns[i] = (bench_now() - t0) * 1e9 / (double)k;
        done += (double)k;
    }
    return done;
}

/* The value of the sample whose line starts with `key` (name and labels,
 * exactly as rendered) followed by a space, in a text exposition; -1 when
 * there is no such line. Used to check that a render holds every update. */
static inline double bench_sample(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = strstr(text, key); p != NULL; p = strstr(p + 1, key))
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* The thread counts of the thread-count workloads (bench-spec.md, "shapes
 * that hurt"), and those of render_10k_series_Nthreads. */
static const int bench_threads[] = {1, 2, 8, 32, 128, 256};
static const int bench_render_threads[] = {1, 8, 32, 128, 256};
#define BENCH_NTHREADS (int)(sizeof bench_threads / sizeof bench_threads[0])
#define BENCH_NRENDER (int)(sizeof bench_render_threads / sizeof bench_render_threads[0])

/* A workload selected by the arguments, or all with none. An argument
 * matches a workload's name exactly, or is a prefix of it ending in '*'. */
static inline int bench_want(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n > 0 && argv[i][n - 1] == '*' ? strncmp(argv[i], name, n - 1) == 0
                                           : strcmp(argv[i], name) == 0)
            return 1;
    }
    return 0;
}

/*
 * A team: `n` threads that start together and may meet the main thread
 * again before they exit. The threads are not pinned: the kernel places
 * them, as it places a program's own threads (with 256 threads on 2 CPUs
 * most wait for a CPU at any moment; that is the shape being measured).
 *
 *     team = bench_team_start(n, per, fn, ctx); // threads wait to be released
 *     t0 = bench_team_go(team);                 // release; returns the time
 *     ... bench_team_meet(team) ...             // both sides, as often as agreed
 *     t1 = bench_team_join(team);               // join; returns the time
 *
 * fn(team, i, ctx) runs on thread i and does team->per operations (when
 * the workload has a count); each thread's CPU time for fn is summed into
 * bench_team_cpu (read it before bench_team_join).
 */
typedef struct bench_team bench_team;
typedef void (*bench_team_fn)(bench_team *team, int index, void *ctx);

typedef struct bench_member {
    bench_team *team;
    int index;
    double cpu_s;
    double end; /* bench_now() when fn returned */
} bench_member;

struct bench_team {
    int n;
    long per;
    bench_team_fn fn;
    void *ctx;
    int ready;              /* threads waiting to be released (__atomic) */
    pthread_barrier_t meet; /* n threads + the main thread */
    pthread_t *tid;
    bench_member *member;
};

static inline void bench_team_meet(bench_team *t)
{
    pthread_barrier_wait(&t->meet);
}

static inline void *bench_team_main(void *p)
{
    bench_member *m = (bench_member *)p;
    __atomic_fetch_add(&m->team->ready, 1, __ATOMIC_RELEASE);
    bench_team_meet(m->team);
    double c0 = bench_thread_cpu();
    m->team->fn(m->team, m->index, m->team->ctx);
    m->cpu_s = bench_thread_cpu() - c0;
    m->end = bench_now();
    return NULL;
}

static inline bench_team *bench_team_start(int n, long per, bench_team_fn fn, void *ctx)
{
    bench_team *t = (bench_team *)calloc(1, sizeof *t);
    if (t == NULL)
        abort();
    t->n = n;
    t->per = per;
    t->fn = fn;
    t->ctx = ctx;
    t->tid = (pthread_t *)calloc((size_t)n, sizeof *t->tid);
    t->member = (bench_member *)calloc((size_t)n, sizeof *t->member);
    if (t->tid == NULL || t->member == NULL)
        abort();
    pthread_barrier_init(&t->meet, NULL, (unsigned)n + 1);
    /* 256 KiB stacks: 256 threads of the default 8 MiB would reserve 2 GiB
     * of address space for nothing; the workloads use a few hundred bytes. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < n; i++) {
        t->member[i].team = t;
        t->member[i].index = i;
        if (pthread_create(&t->tid[i], &attr, bench_team_main, &t->member[i]) != 0) {
            fprintf(stderr, "bench: cannot start thread %d of %d\n", i, n);
            exit(1);
        }
    }
    pthread_attr_destroy(&attr);
    return t;
}

/* The start time is read once every thread waits at the barrier and
 * before the main thread releases them: read after the release, it could
 * come late, when a descheduled main thread runs again after the workers
 * did their work. */
static inline double bench_team_go(bench_team *t)
{
    while (__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) < t->n) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    double t0 = bench_now();
    bench_team_meet(t);
    return t0;
}

/* Sum of the threads' CPU time in fn, in seconds, once fn has returned on
 * every thread. */
static inline double bench_team_cpu(bench_team *t)
{
    double s = 0;
    for (int i = 0; i < t->n; i++)
        s += t->member[i].cpu_s;
    return s;
}

static inline double bench_team_join(bench_team *t)
{
    for (int i = 0; i < t->n; i++)
        pthread_join(t->tid[i], NULL);
    double now = bench_now();
    pthread_barrier_destroy(&t->meet);
    free(t->tid);
    free(t->member);
    free(t);
    return now;
}

/* Run fn on n threads released together, `per` operations each; the wall
 * time from the release to the moment the last thread finished (read by
 * that thread, not by the joining one), in seconds. *cpu_s (if not NULL)
 * gets the sum of the threads' CPU time. */
static inline double bench_team_run(int n, long per, bench_team_fn fn, void *ctx, double *cpu_s)
{
    bench_team *t = bench_team_start(n, per, fn, ctx);
    double t0 = bench_team_go(t), t1 = t0;
    for (int i = 0; i < t->n; i++) {
        pthread_join(t->tid[i], NULL);
        t1 = t->member[i].end > t1 ? t->member[i].end : t1;
    }
    if (cpu_s != NULL)
        *cpu_s = bench_team_cpu(t);
    t->n = 0; /* joined already */
    bench_team_join(t);
    return t1 - t0;
}

/* Wall seconds one trial of a thread-count workload should last (times
 * LUMEN_BENCH_SCALE): long enough that waking the threads and the
 * scheduler's time slices are a small part of it, short enough that
 * BENCH_TRIALS of them sample the machine's phases. */
#define BENCH_TRIAL_S 0.05

/* Operations per thread for a trial of about BENCH_TRIAL_S, found by
 * running the workload with growing counts; *done gets the operations
 * those runs did, so that the caller can check its totals. */
static inline long bench_team_calibrate(int n, bench_team_fn fn, void *ctx, double *done)
{
    double target = BENCH_TRIAL_S * (double)bench_n(1000) / 1000.0;
    long per = 1000;
    for (;;) {
        double w = bench_team_run(n, per, fn, ctx, NULL);
        *done += (double)per * n;
        if (w >= target / 2 || per >= (1L << 30))
            return w >= target || w <= 0 ? per : (long)((double)per * target / w);
        per *= w > target / 10 ? (long)(target / w) + 1 : 10;
    }
}

#endif
