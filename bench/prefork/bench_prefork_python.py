"""bench/prefork/bench_prefork_python.py: the pre-forked workloads of
bench/prefork/bench_prefork.c for the Python client's multiprocess mode
(Debian python3-prometheus-client), the one other client with an answer
to pre-forked servers: each process keeps its values in an mmap'd file of
PROMETHEUS_MULTIPROC_DIR, and a render reads and merges every file.
Prints "client_python <workload> <value> <unit>"; run with /usr/bin/python3
(bench/run.sh does). LUMEN_BENCH_SCALE scales the counts.

  prefork_counter_inc            a counter's inc in a worker (a forked child)
  prefork_histogram_observe      a histogram's observe in a worker
  prefork_render_16x10k_series   the master renders 100 counter families x 100
                                 series, each incremented by each of 16 workers
"""
import os
import shutil
import sys
import tempfile
import time

SCALE = float(os.environ.get("LUMEN_BENCH_SCALE", "1") or 1)
WORKERS = 16
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def n(k):
    return max(1, int(k * SCALE))


def in_child(fn):
    """Run fn in a forked child; its figure comes back through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, ("%r" % fn()).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return float(data)


def median_ns(fn, count, trials=3):
    r = []
    for _ in range(trials):
        t0 = time.perf_counter()
        fn(count)
        r.append((time.perf_counter() - t0) * 1e9 / count)
    r.sort()
    return r[len(r) // 2]


def main():
    tmp = tempfile.mkdtemp(prefix="lumen-bench-multiproc-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tmp
    # Imported after the variable is set: the client picks its mode then.
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client import multiprocess
    try:
        reg = CollectorRegistry()
        c = Counter("bench_shared", "B.", registry=reg)
        h = Histogram("bench_shared_seconds", "B.", buckets=BOUNDS, registry=reg)

        def counter_loop(k):
            inc = c.inc
            for _ in range(k):
                inc()

        def histogram_loop(k):
            obs = h.observe
            for i in range(k):
                obs((i & 1023) * 0.01)

        kc, kh = n(200000), n(100000)
        ns = in_child(lambda: median_ns(counter_loop, kc))
        print("client_python prefork_counter_inc %.1f ns/op" % ns)
        ns = in_child(lambda: median_ns(histogram_loop, kh))
        print("client_python prefork_histogram_observe %.1f ns/op" % ns)
        sys.stdout.flush()

        families = []
        for i in range(100):
            families.append(Counter("bench_requests_%d" % i, "Requests.", ["path", "code"],
                                    registry=reg))
        pids = []
        for _ in range(WORKERS):
            pid = os.fork()
            if pid == 0:
                for f in families:
                    for k in range(100):
                        f.labels("/api/v1/item/%d" % k, "200").inc()
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        col = CollectorRegistry()
        multiprocess.MultiProcessCollector(col)
        times = []
        text = b""
        for _ in range(3):
            t0 = time.perf_counter()
            text = generate_latest(col)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        key = b'bench_requests_99_total{code="200",path="/api/v1/item/99"} 16.0'
        if key in text:
            print("client_python prefork_render_16x10k_series %.1f ms/render" % times[1])
        else:
            print("# FAILED client_python prefork_render_16x10k_series: wrong total; no figure")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
