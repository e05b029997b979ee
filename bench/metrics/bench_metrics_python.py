"""bench/metrics/bench_metrics_python.py: the metrics workloads of
bench-spec.md for the Python client (Debian python3-prometheus-client),
printed as "client_python <workload> <value> <unit>". Run with
/usr/bin/python3 (bench/run.sh does). LUMEN_BENCH_SCALE scales the counts.
"""
import os
import resource
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

SCALE = float(os.environ.get("LUMEN_BENCH_SCALE", "1") or 1)


def n(k):
    return max(1, int(k * SCALE))


def median_ns(fn, count, trials=3):
    r = []
    for _ in range(trials):
        t0 = time.perf_counter()
        fn(count)
        r.append((time.perf_counter() - t0) * 1e9 / count)
    r.sort()
    return r[len(r) // 2]


def counter_inc():
    reg = CollectorRegistry()
    c = Counter("bench", "B.", registry=reg)

    def run(k):
        inc = c.inc
        for _ in range(k):
            inc()
    print("client_python counter_inc %.1f ns/op" % median_ns(run, n(200000)))


def counter_inc_2threads():
    reg = CollectorRegistry()
    c = Counter("bench", "B.", registry=reg)
    k = n(100000)

    def work():
        for _ in range(k):
            c.inc()
    t0 = time.perf_counter()
    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    assert c._value.get() == 2 * k
    # wall ns per op per thread, the unit of the other N-thread workloads
    print("client_python counter_inc_2threads %.1f ns/op/thread" % (dt * 1e9 / k))


def histogram_observe():
    reg = CollectorRegistry()
    h = Histogram("bench_seconds", "B.", registry=reg,
                  buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

    def run(k):
        obs = h.observe
        for i in range(k):
            obs((i & 1023) * 0.01)
    print("client_python histogram_observe %.1f ns/op" % median_ns(run, n(100000)))


def labeled_inc():
    reg = CollectorRegistry()
    c = Counter("bench_requests", "B.", ["method", "code"], registry=reg)
    methods = ("GET", "POST", "PUT", "DELETE")
    codes = ("200", "404", "500", "503")

    def run(k):
        for i in range(k):
            c.labels(methods[i & 3], codes[(i >> 2) & 3]).inc()
    print("client_python labeled_inc %.1f ns/op" % median_ns(run, n(100000)))


def series(reg, fams, per):
    for f in range(fams):
        c = Counter("bench_family_%d" % f, "Requests served.", ["path", "code"], registry=reg)
        for k in range(per):
            c.labels("/api/v1/item/%d" % k, "200").inc(k)


def render_10k_series():
    reg = CollectorRegistry()
    series(reg, 100, 100)
    r = []
    for _ in range(3):
        t0 = time.perf_counter()
        generate_latest(reg)
        r.append(time.perf_counter() - t0)
    r.sort()
    print("client_python render_10k_series %.1f us/render" % (r[1] * 1e6))


def memory_per_series():
    # 100k series (1M takes minutes in Python); the per-series cost is flat.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reg = CollectorRegistry()
    series(reg, 100, 1000)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("client_python memory_per_series %.1f bytes" % ((after - before) * 1024 / 100000))


counter_inc()
counter_inc_2threads()
histogram_observe()
labeled_inc()
render_10k_series()
memory_per_series()
