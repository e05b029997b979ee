"""bench/metrics/bench_metrics_python.py: the metrics workloads of
bench-spec.md for the Python client (Debian python3-prometheus-client),
printed as "client_python <workload> <value> <unit>". Run with
/usr/bin/python3 (bench/run.sh does). LUMEN_BENCH_SCALE scales the counts
and the trials' length. The update workloads run many short trials after
a warm-up and print their minimum (see report).
"""
import os
import resource
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

SCALE = float(os.environ.get("LUMEN_BENCH_SCALE", "1") or 1)


def n(k):
    return max(1, int(k * SCALE))


TRIALS = 30
TRIAL_S = 0.02 * SCALE   # one trial
WARMUP_S = 0.05 * SCALE


def report(name, unit, v):
    """The minimum of the trials in the spec's form, the trials ("# trials",
    read by bench/run.sh) and their median, as bench_report in
    bench/metrics/bench_common.h prints them."""
    v = sorted(v)
    print("client_python %s %.1f %s" % (name, v[0], unit))
    print("# trials client_python %s %s %s" % (name, unit, " ".join("%.4g" % x for x in v)))
    print("# client_python %s: min %.1f, median %.1f %s of %d trials"
          % (name, v[0], v[len(v) // 2], unit, len(v)))


def trials_ns(fn):
    """fn(k) does k operations and returns its wall seconds. A warm-up of
    about WARMUP_S sizes the trials; then TRIALS trials of about TRIAL_S;
    their per-op times in ns, and every operation done."""
    k, done, per_op, w0 = 100, 0, None, time.perf_counter()
    while True:
        t = fn(k)
        done += k
        if t >= TRIAL_S / 4:
            per_op = t / k if per_op is None else min(per_op, t / k)
            if time.perf_counter() - w0 >= WARMUP_S:
                break
        else:
            k *= 4
    k = max(1, int(TRIAL_S / per_op))
    r = []
    for _ in range(TRIALS):
        r.append(fn(k) * 1e9 / k)
        done += k
    return r, done


def timed(body):
    def run(k):
        t0 = time.perf_counter()
        body(k)
        return time.perf_counter() - t0
    return run


def counter_inc():
    reg = CollectorRegistry()
    c = Counter("bench", "B.", registry=reg)

    def run(k):
        inc = c.inc
        for _ in range(k):
            inc()
    r, done = trials_ns(timed(run))
    assert c._value.get() == done
    report("counter_inc", "ns/op", r)


def counter_inc_2threads():
    """Two threads released together, k increments each; the wall time
    from the release to the last one's end per op per thread, the unit of
    the other N-thread workloads."""
    reg = CollectorRegistry()
    c = Counter("bench", "B.", registry=reg)

    def run(k):
        go, ends = threading.Barrier(3), []

        def work():
            go.wait()
            inc = c.inc
            for _ in range(k):
                inc()
            ends.append(time.perf_counter())
        ts = [threading.Thread(target=work) for _ in range(2)]
        for t in ts:
            t.start()
        t0 = time.perf_counter()
        go.wait()
        for t in ts:
            t.join()
        return max(ends) - t0
    r, done = trials_ns(run)
    assert c._value.get() == 2 * done
    report("counter_inc_2threads", "ns/op/thread", r)


def histogram_observe():
    reg = CollectorRegistry()
    h = Histogram("bench_seconds", "B.", registry=reg,
                  buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

    def run(k):
        obs = h.observe
        for i in range(k):
            obs((i & 1023) * 0.01)
    r, done = trials_ns(timed(run))
    assert sum(b.get() for b in h._buckets) == done
    report("histogram_observe", "ns/op", r)


def labeled_inc():
    reg = CollectorRegistry()
    c = Counter("bench_requests", "B.", ["method", "code"], registry=reg)
    methods = ("GET", "POST", "PUT", "DELETE")
    codes = ("200", "404", "500", "503")

    def run(k):
        for i in range(k):
            c.labels(methods[i & 3], codes[(i >> 2) & 3]).inc()
    r, done = trials_ns(timed(run))
    report("labeled_inc", "ns/op", r)


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
