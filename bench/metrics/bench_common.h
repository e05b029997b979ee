/* bench/metrics/bench_common.h: timing and memory helpers shared by the
 * metrics benchmarks (C and C++). */
#ifndef LUMEN_BENCH_METRICS_COMMON_H
#define LUMEN_BENCH_METRICS_COMMON_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Pin the calling thread to CPU `cpu` modulo the CPUs available, so that
 * the two threads of a two-thread workload run side by side rather than
 * migrate; ignored where it fails. */
static inline void bench_pin(int cpu)
{
    cpu_set_t set;
    int n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(&set);
    CPU_SET(cpu % (n > 0 ? n : 1), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
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

#define BENCH_TRIALS 5

/* A workload selected by the first argument, or all with none. */
static inline int bench_want(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == '\0' && *b == '\0')
            return 1;
    }
    return 0;
}

#endif
