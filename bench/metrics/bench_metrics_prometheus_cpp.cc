// bench/metrics/bench_metrics_prometheus_cpp.cc: the metrics workloads of
// bench-spec.md for prometheus-cpp (core library), measured the same way
// as bench_metrics_lumen.c. Prints "prometheus-cpp <workload> <value> <unit>".
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace prometheus;

static void counter_inc()
{
    Registry reg;
    auto &fam = BuildCounter().Name("bench_total").Help("B.").Register(reg);
    Counter &c = fam.Add({});
    long n = bench_n(20000000);
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++)
            c.Increment();
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    if (c.Value() != (double)n * BENCH_TRIALS)
        std::abort();
    std::printf("prometheus-cpp counter_inc %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
}

static void counter_inc_2threads()
{
    Registry reg;
    auto &fam = BuildCounter().Name("bench_total").Help("B.").Register(reg);
    Counter &c = fam.Add({});
    long n = bench_n(4000000);
    double ns[BENCH_TRIALS], cpu[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        double ca = 0, cb = 0;
        std::thread a([&] {
            bench_pin(0);
            double c0 = bench_thread_cpu();
            for (long i = 0; i < n; i++)
                c.Increment();
            ca = bench_thread_cpu() - c0;
        });
        std::thread b([&] {
            bench_pin(1);
            double c0 = bench_thread_cpu();
            for (long i = 0; i < n; i++)
                c.Increment();
            cb = bench_thread_cpu() - c0;
        });
        a.join();
        b.join();
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
        cpu[k] = (ca + cb) / 2 * 1e9 / (double)n;
    }
    if (c.Value() != 2.0 * (double)n * BENCH_TRIALS)
        std::abort();
    std::printf("prometheus-cpp counter_inc_2threads %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
    std::printf("# prometheus-cpp counter_inc_2threads thread CPU time %.2f ns/op\n",
                bench_median(cpu, BENCH_TRIALS));
}

static void histogram_observe()
{
    Registry reg;
    auto &fam = BuildHistogram().Name("bench_seconds").Help("B.").Register(reg);
    Histogram &h = fam.Add(
        {}, Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    long n = bench_n(4000000);
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++)
            h.Observe((double)(i & 1023) * 0.01);
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    std::printf("prometheus-cpp histogram_observe %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
}

static void labeled_inc()
{
    Registry reg;
    auto &fam = BuildCounter().Name("bench_requests_total").Help("B.").Register(reg);
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *const codes[] = {"200", "404", "500", "503"};
    long n = bench_n(1000000);
    double ns[BENCH_TRIALS];
    for (int k = 0; k < BENCH_TRIALS; k++) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++)
            fam.Add({{"method", methods[i & 3]}, {"code", codes[(i >> 2) & 3]}}).Increment();
        ns[k] = (bench_now() - t0) * 1e9 / (double)n;
    }
    std::printf("prometheus-cpp labeled_inc %.2f ns/op\n", bench_median(ns, BENCH_TRIALS));
}

static void fill(Registry &reg, int fams, int per)
{
    for (int i = 0; i < fams; i++) {
        auto &fam = BuildCounter()
                        .Name("bench_family_" + std::to_string(i) + "_total")
                        .Help("Requests served.")
                        .Register(reg);
        for (int k = 0; k < per; k++)
            fam.Add({{"path", "/api/v1/item/" + std::to_string(k)}, {"code", "200"}}).Increment(k);
    }
}

static void render(int fams, int per, int reps, const char *name, double scale, const char *unit)
{
    Registry reg;
    fill(reg, fams, per);
    TextSerializer ser;
    std::vector<double> t;
    for (int i = 0; i < reps + 1; i++) {
        double t0 = bench_now();
        std::string s = ser.Serialize(reg.Collect());
        double t1 = bench_now();
        if (i > 0)
            t.push_back(t1 - t0);
    }
    std::sort(t.begin(), t.end());
    std::printf("prometheus-cpp %s %.3f %s\n", name, t[t.size() / 2] * scale, unit);
}

static void memory_per_series()
{
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        long before = bench_rss();
        auto *reg = new Registry;
        fill(*reg, 1000, 1000);
        long after = bench_rss();
        std::printf("prometheus-cpp memory_per_series %.1f bytes\n",
                    (double)(after - before) / 1e6);
        std::fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
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
        render(100, 100, 11, "render_10k_series", 1e6, "us/render");
    if (bench_want(argc, argv, "render_100k_series"))
        render(100, 1000, 5, "render_100k_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "render_1m_series"))
        render(1000, 1000, 3, "render_1m_series", 1e3, "ms/render");
    return 0;
}
