// bench/metrics/bench_metrics_prometheus_cpp.cc: the metrics workloads of
// bench-spec.md for prometheus-cpp (core library), measured by the same
// code as bench_metrics_lumen.c (bench_common.h) and with the same shapes;
// see that file for the definitions of the workloads and their units.
// Prints "prometheus-cpp <workload> <value> <unit>".
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace prometheus;

#define LIB "prometheus-cpp"

static int failures;

// A total that is not exact voids the workload: it is reported, its figure
// is not printed, the other workloads go on and the exit status is 1.
static bool check(bool ok, const char *what, double got, double want)
{
    if (!ok) {
        std::printf("# FAILED " LIB " %s: got %.17g, want %.17g; no figure\n", what, got, want);
        std::fprintf(stderr, "bench: %s: got %.17g, want %.17g\n", what, got, want);
        failures++;
    }
    return ok;
}

static const Histogram::BucketBoundaries bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};
static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const codes[] = {"200", "404", "500", "503"};

static void labeled_once(Family<Counter> &fam, long i)
{
    fam.Add({{"method", methods[i & 3]}, {"code", codes[(i >> 2) & 3]}}).Increment();
}

static double labeled_total(Family<Counter> &fam)
{
    double s = 0;
    for (int i = 0; i < 16; i++)
        s += fam.Add({{"method", methods[i & 3]}, {"code", codes[i >> 2]}}).Value();
    return s;
}

// ---- one thread -------------------------------------------------------------

// The loops, k operations each, for bench_single (bench_common.h): a
// warm-up, then BENCH_TRIALS short trials; min and median reported.
static void loop_counter(void *p, long k)
{
    Counter &c = *static_cast<Counter *>(p);
    for (long i = 0; i < k; i++)
        c.Increment();
}

static void loop_histogram(void *p, long k)
{
    Histogram &h = *static_cast<Histogram *>(p);
    for (long i = 0; i < k; i++)
        h.Observe((double)(i & 1023) * 0.01);
}

static void loop_labeled(void *p, long k)
{
    Family<Counter> &fam = *static_cast<Family<Counter> *>(p);
    for (long i = 0; i < k; i++)
        labeled_once(fam, i);
}

static void counter_inc()
{
    Registry reg;
    auto &fam = BuildCounter().Name("bench_total").Help("B.").Register(reg);
    Counter &c = fam.Add({});
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_counter, &c, ns);
    if (check(c.Value() == want, "counter_inc total", c.Value(), want))
        bench_report(LIB, "counter_inc", "ns/op", 2, ns, BENCH_TRIALS);
}

static void histogram_observe()
{
    Registry reg;
    auto &fam = BuildHistogram().Name("bench_seconds").Help("B.").Register(reg);
    Histogram &h = fam.Add({}, bounds);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_histogram, &h, ns);
    double got = (double)h.Collect().histogram.sample_count;
    if (check(got == want, "histogram_observe total", got, want))
        bench_report(LIB, "histogram_observe", "ns/op", 2, ns, BENCH_TRIALS);
}

static void labeled_inc()
{
    Registry reg;
    auto &fam = BuildCounter().Name("bench_requests_total").Help("B.").Register(reg);
    double ns[BENCH_TRIALS];
    double want = bench_single(loop_labeled, &fam, ns);
    if (check(labeled_total(fam) == want, "labeled_inc total", labeled_total(fam), want))
        bench_report(LIB, "labeled_inc", "ns/op", 2, ns, BENCH_TRIALS);
}

// ---- N threads ----------------------------------------------------------------

struct nctx {
    Counter *c = nullptr;
    Histogram *h = nullptr;
    Family<Counter> *f = nullptr;
};

static void n_counter(bench_team *t, int, void *p)
{
    Counter *c = static_cast<nctx *>(p)->c;
    for (long i = 0; i < t->per; i++)
        c->Increment();
}

static void n_histogram(bench_team *t, int, void *p)
{
    Histogram *h = static_cast<nctx *>(p)->h;
    for (long i = 0; i < t->per; i++)
        h->Observe((double)(i & 1023) * 0.01);
}

static void n_labeled(bench_team *t, int idx, void *p)
{
    Family<Counter> &f = *static_cast<nctx *>(p)->f;
    for (long i = 0; i < t->per; i++)
        labeled_once(f, i + idx);
}

static void nthreads(const char *name, bench_team_fn fn, int argc, char **argv)
{
    for (int k = 0; k < BENCH_NTHREADS; k++) {
        int n = bench_threads[k];
        char full[96];
        std::snprintf(full, sizeof full, "%s_%dthreads", name, n);
        if (!bench_want(argc, argv, full))
            continue;
        Registry reg;
        nctx x;
        if (fn == n_counter)
            x.c = &BuildCounter().Name("bench_total").Help("B.").Register(reg).Add({});
        else if (fn == n_histogram)
            x.h = &BuildHistogram().Name("bench_seconds").Help("B.").Register(reg).Add({}, bounds);
        else
            x.f = &BuildCounter().Name("bench_requests_total").Help("B.").Register(reg);
        double want = 0;
        long per = bench_team_calibrate(n, fn, &x, &want);
        double ns[BENCH_TRIALS], cpu[BENCH_TRIALS];
        for (int t = 0; t < BENCH_TRIALS; t++) {
            double c;
            ns[t] = bench_team_run(n, per, fn, &x, &c) * 1e9 / (double)per;
            cpu[t] = c * 1e9 / (double)per / n;
            want += (double)per * n;
        }
        double got = fn == n_counter     ? x.c->Value()
                     : fn == n_histogram ? (double)x.h->Collect().histogram.sample_count
                                         : labeled_total(*x.f);
        if (check(got == want, full, got, want))
            bench_report(LIB, full, "ns/op/thread", 2, ns, BENCH_TRIALS);
        std::printf("# " LIB " %s thread CPU time %.2f ns/op (min %.2f)\n", full,
                    bench_median(cpu, BENCH_TRIALS), bench_min(cpu, BENCH_TRIALS));
    }
}

// ---- series and renders -------------------------------------------------------

struct series_set {
    Registry reg;
    std::vector<Family<Counter> *> fam;
    std::vector<Counter *> c;
    int fams = 0, per = 0;
};

// Handles are kept only when `keep` (memory_per_series measures without).
static void series_new(series_set &s, int fams, int per, bool keep)
{
    s.fams = fams;
    s.per = per;
    for (int i = 0; i < fams; i++) {
        auto &fam = BuildCounter()
                        .Name("bench_family_" + std::to_string(i) + "_total")
                        .Help("Requests served.")
                        .Register(s.reg);
        s.fam.push_back(&fam);
        for (int k = 0; k < per; k++) {
            Counter &c = fam.Add({{"path", "/api/v1/item/" + std::to_string(k)}, {"code", "200"}});
            c.Increment(k);
            if (keep)
                s.c.push_back(&c);
        }
    }
}

static double render_once(Registry &reg, std::string *keep = nullptr)
{
    TextSerializer ser;
    double t0 = bench_now();
    std::string s = ser.Serialize(reg.Collect());
    double t1 = bench_now();
    if (keep != nullptr)
        *keep = std::move(s);
    return t1 - t0;
}

static void render(int fams, int per, int reps, const char *name, double scale, const char *unit)
{
    series_set s;
    series_new(s, fams, per, false);
    render_once(s.reg);
    std::vector<double> t;
    for (int i = 0; i < reps; i++)
        t.push_back(render_once(s.reg));
    std::printf(LIB " %s %.3f %s\n", name, bench_median(t.data(), reps) * scale, unit);
}

static void render_cold()
{
    const int reps = 11;
    series_set s;
    series_new(s, 100, 100, false);
    render_once(s.reg);
    double t[reps];
    for (int i = 0; i < reps; i++) {
        s.fam[i % 100]
            ->Add({{"path", "/api/v1/new/" + std::to_string(i)}, {"code", "200"}})
            .Increment();
        t[i] = render_once(s.reg);
    }
    std::printf(LIB " render_10k_series_cold %.3f ms/render\n", bench_median(t, reps) * 1e3);
}

static void render_churn()
{
    const int reps = 21;
    series_set s;
    series_new(s, 100, 100, false);
    render_once(s.reg);
    std::atomic<bool> stop{false};
    std::atomic<long> pairs{0};
    std::thread th([&] {
        struct timespec pause = {0, 100000};
        for (long i = 0; !stop.load(); i++) {
            auto *f = s.fam[i % s.fams];
            Counter &c = f->Add({{"path", "/api/v1/churn"}, {"code", "200"}});
            c.Increment();
            f->Remove(&c);
            pairs++;
            nanosleep(&pause, nullptr);
        }
    });
    while (pairs.load() == 0)
        sched_yield();
    long p0 = pairs.load();
    double t[reps];
    for (int i = 0; i < reps; i++)
        t[i] = render_once(s.reg);
    long done = pairs.load() - p0;
    stop = true;
    th.join();
    std::printf(LIB " render_10k_series_churn %.3f ms/render\n", bench_median(t, reps) * 1e3);
    std::printf("# " LIB " render_10k_series_churn: renders while another thread adds, increments "
                "and removes a series every 100 us: %ld add/remove pairs during %d renders\n",
                done, reps);
}

static void touch_all(bench_team *t, int idx, void *p)
{
    series_set &s = *static_cast<series_set *>(p);
    size_t total = s.c.size();
    size_t start = (size_t)idx * 7919 % total;
    for (size_t k = 0; k < total; k++)
        s.c[(start + k) % total]->Increment();
    bench_team_meet(t); // updated
    bench_team_meet(t); // rendered
}

static void render_nthreads(int argc, char **argv)
{
    const int reps = 7;
    for (int k = 0; k < BENCH_NRENDER; k++) {
        int n = bench_render_threads[k];
        char name[64];
        std::snprintf(name, sizeof name, "render_10k_series_%dthreads", n);
        if (!bench_want(argc, argv, name))
            continue;
        series_set s;
        series_new(s, 100, 100, true);
        bench_team *team = bench_team_start(n, 0, touch_all, &s);
        bench_team_go(team);
        bench_team_meet(team);
        std::string text;
        double cold = render_once(s.reg, &text);
        // prometheus-cpp sorts the labels by name.
        const char *keys[] = {"bench_family_0_total{code=\"200\",path=\"/api/v1/item/7\"}",
                              "bench_family_99_total{code=\"200\",path=\"/api/v1/item/99\"}"};
        double want[] = {7.0 + n, 99.0 + n};
        bool ok = true;
        for (int i = 0; i < 2; i++)
            ok &= check(bench_sample(text.c_str(), keys[i]) == want[i], name,
                        bench_sample(text.c_str(), keys[i]), want[i]);
        double t[reps];
        for (int i = 0; i < reps; i++)
            t[i] = render_once(s.reg);
        bench_team_meet(team);
        bench_team_join(team);
        if (ok)
            std::printf(LIB " %s %.3f ms/render\n", name, bench_median(t, reps) * 1e3);
        std::printf("# " LIB " %s first render %.3f ms\n", name, cold * 1e3);
    }
}

// ---- memory ------------------------------------------------------------------

static const size_t mem_series = 1000 * 1000;

// Run fn in a child process, forked from this heap as it is now; a child
// that fails or crashes counts as a failure here.
static void in_child(void (*fn)(), const char *name)
{
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        std::fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::printf("# FAILED " LIB " %s: its process ended with status %d\n", name, st);
        failures++;
    }
}

// The series sets are left to the child's exit: freeing 1M series would
// only cost time.
static void memory_per_series()
{
    long before = bench_rss();
    auto *s = new series_set;
    series_new(*s, 1000, 1000, false);
    long after = bench_rss();
    std::printf(LIB " memory_per_series %.1f bytes\n", (double)(after - before) / mem_series);
}

static void memory_64threads()
{
    auto *s = new series_set;
    s->c.resize(mem_series); // allocated and touched before the first reading
    s->c.clear();
    long before = bench_rss();
    series_new(*s, 1000, 1000, true);
    long created = bench_rss();
    bench_team *team = bench_team_start(64, 0, touch_all, s);
    bench_team_go(team);
    bench_team_meet(team);
    long after = bench_rss();
    double last = s->c[mem_series - 1]->Value();
    bool ok = check(last == 999 + 64, "memory_per_series_64threads total", last, 999 + 64);
    bench_team_meet(team);
    bench_team_join(team);
    if (ok)
        std::printf(LIB " memory_per_series_64threads %.1f bytes\n",
                    (double)(after - before) / mem_series);
    std::printf("# " LIB " memory_per_series_64threads: %.1f bytes of it added by the threads\n",
                (double)(after - created) / mem_series);
}

// ---- thread churn ------------------------------------------------------------

static std::vector<Counter *> churn_series;
static long churn_next;

static void *churn_idle(void *p)
{
    return p;
}

static void *churn_work(void *p)
{
    long k = churn_next++; // one thread at a time: joined before the next
    for (long j = 0; j < 8; j++)
        churn_series[((k * 8 + j) * 37) % 10000]->Increment();
    return p;
}

// One thread's create, run and join: the wall time, in seconds; the
// process's CPU time for it is added to *cpu.
static double churn_one(void *(*fn)(void *), double *cpu)
{
    pthread_t t;
    double c0 = bench_process_cpu(), t0 = bench_now();
    if (pthread_create(&t, nullptr, fn, nullptr) != 0)
        std::abort();
    pthread_join(t, nullptr);
    double t1 = bench_now();
    *cpu += bench_process_cpu() - c0;
    return t1 - t0;
}

// A round: k idle threads and k working ones, interleaved one by one; the
// mean extra wall time of a working thread, the mean time of an idle one
// (*idle) and the mean extra CPU time of a working one (*cpu).
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

static double series_sum()
{
    double s = 0;
    for (Counter *c : churn_series)
        s += c->Value();
    return s;
}

static void thread_churn()
{
    const int rounds = 7;
    int k = (int)bench_n(1000);
    series_set s;
    series_new(s, 100, 100, true);
    churn_series = s.c;
    double sum0 = series_sum();
    double unused = 0;
    churn_one(churn_idle, &unused); // glibc's stack cache, warm
    long rss0 = bench_rss();
    double d[rounds], idle[rounds], cpu[rounds];
    for (int r = 0; r < rounds; r++) {
        d[r] = churn_round(k, &idle[r], &cpu[r]) * 1e6;
        idle[r] *= 1e6;
        cpu[r] *= 1e6;
    }
    long rss1 = bench_rss();
    double want = sum0 + 8.0 * k * rounds;
    if (check(series_sum() == want, "thread_churn total", series_sum(), want))
        std::printf(LIB " thread_churn %.3f us/thread\n", bench_median(cpu, rounds));
    std::printf(
        "# " LIB " thread_churn: %.3f us/thread by the wall clock; an idle thread's create+join "
        "%.1f us; RSS %+ld KiB over %d threads\n",
        bench_median(d, rounds), bench_median(idle, rounds), (rss1 - rss0) / 1024, 2 * k * rounds);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    // First, in children forked from a heap that holds nothing freed yet:
    // later they would reuse memory earlier workloads freed.
    if (bench_want(argc, argv, "memory_per_series"))
        in_child(memory_per_series, "memory_per_series");
    if (bench_want(argc, argv, "memory_per_series_64threads"))
        in_child(memory_64threads, "memory_per_series_64threads");
    if (bench_want(argc, argv, "counter_inc"))
        counter_inc();
    if (bench_want(argc, argv, "histogram_observe"))
        histogram_observe();
    if (bench_want(argc, argv, "labeled_inc"))
        labeled_inc();
    nthreads("counter_inc", n_counter, argc, argv);
    nthreads("histogram_observe", n_histogram, argc, argv);
    nthreads("labeled_inc", n_labeled, argc, argv);
    if (bench_want(argc, argv, "render_10k_series"))
        render(100, 100, 11, "render_10k_series", 1e6, "us/render");
    if (bench_want(argc, argv, "render_10k_series_cold"))
        render_cold();
    if (bench_want(argc, argv, "render_10k_series_churn"))
        render_churn();
    render_nthreads(argc, argv);
    if (bench_want(argc, argv, "render_100k_series"))
        render(100, 1000, 5, "render_100k_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "render_1m_series"))
        render(1000, 1000, 3, "render_1m_series", 1e3, "ms/render");
    if (bench_want(argc, argv, "thread_churn"))
        thread_churn();
    return failures ? 1 : 0;
}
