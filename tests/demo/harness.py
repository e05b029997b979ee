"""Start and stop the microposts services (and Prometheus) for the tests."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def get_json(url, timeout=5):
    return json.loads(get(url, timeout))


class Demo:
    """The store, the API (whose console merges the store's spans) and,
    optionally, Prometheus scraping both."""

    def __init__(self, bindir, fail_rate=0.1, slow_rate=0.05, prometheus=False, otlp=False):
        self.otlp = otlp
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix='lumen-demo-test-')
        self.procs = []
        self.logs = {}  # process -> its log's name
        self.exit_codes = {}  # log name -> exit status, after stop()
        self.fail_rate = fail_rate
        self.slow_rate = slow_rate
        self.prometheus = prometheus

    def _wait_ready(self, path, proc, seconds=15):
        end = time.time() + seconds
        while time.time() < end:
            if os.path.exists(path):
                fields = dict(kv.split('=') for kv in open(path).read().split())
                return int(fields['api']), int(fields['admin'])
            if proc.poll() is not None:
                raise RuntimeError(f'{proc.args[0]} exited with {proc.returncode}')
            time.sleep(0.05)
        raise RuntimeError(f'timed out waiting for {path}')

    def _start(self, args, log, env=None):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(args, stdout=open(os.path.join(self.dir, log), 'w'),
                             stderr=subprocess.STDOUT, env=e)
        self.procs.append(p)
        self.logs[p] = log
        return p

    def start(self):
        env = {}
        if self.otlp:
            # tests/trace's fake OTLP/HTTP collector: one JSON line per request
            # in collector.jsonl; its port is the first line it prints.
            self.collector_log = os.path.join(self.dir, 'collector.jsonl')
            fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'trace',
                                'fake_collector.py')
            c = subprocess.Popen([sys.executable, fake, self.collector_log],
                                 stdout=subprocess.PIPE, text=True)
            self.procs.append(c)
            port = int(c.stdout.readline())
            # One variable sends all three signals; exports every second.
            env = {'OTEL_EXPORTER_OTLP_ENDPOINT': f'http://127.0.0.1:{port}',
                   'OTEL_METRIC_EXPORT_INTERVAL': '1000', 'OTEL_BLRP_SCHEDULE_DELAY': '200',
                   'OTEL_BSP_SCHEDULE_DELAY': '200'}
        ready = os.path.join(self.dir, 'store.ready')
        p = self._start([os.path.join(self.bindir, 'microposts-store'), '--data', self.dir,
                         '--ready-file', ready, '--fail-rate', str(self.fail_rate),
                         '--slow-rate', str(self.slow_rate), '--slow-ms', '150'], 'store.log',
                        env)
        self.store, self.store_admin = self._wait_ready(ready, p)
        ready = os.path.join(self.dir, 'api.ready')
        p = self._start([os.path.join(self.bindir, 'microposts-api'),
                         '--store', f'http://127.0.0.1:{self.store}', '--ready-file', ready],
                        'api.log',
                        dict(env, LUMEN_CONSOLE_PEERS=f'http://127.0.0.1:{self.store_admin}'))
        self.api, self.api_admin = self._wait_ready(ready, p)
        if self.prometheus:
            self.prom = free_port()
            cfg = os.path.join(self.dir, 'prometheus.yml')
            with open(cfg, 'w') as f:
                f.write('global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
                        'scrape_configs:\n  - job_name: microposts\n    static_configs:\n'
                        f"      - targets: ['127.0.0.1:{self.api_admin}']\n"
                        '        labels: {service: microposts-api}\n'
                        f"      - targets: ['127.0.0.1:{self.store_admin}']\n"
                        '        labels: {service: microposts-store}\n')
            self._start(['prometheus', f'--config.file={cfg}',
                         f'--storage.tsdb.path={self.dir}/prom',
                         f'--web.listen-address=127.0.0.1:{self.prom}'], 'prometheus.log')
        return self

    def load(self, seconds, rate=40):
        out = subprocess.run([os.path.join(self.bindir, 'microposts-load'), '--api',
                              f'http://127.0.0.1:{self.api}', '--seconds', str(seconds),
                              '--rate', str(rate)], capture_output=True, text=True,
                             timeout=seconds + 60, check=True).stdout
        return {int(l.split()[1].rstrip(':')): int(l.split()[2])
                for l in out.splitlines() if l.startswith('status ')}

    def collector_records(self):
        """The fake collector's requests so far, one dict each."""
        if not os.path.exists(self.collector_log):
            return []
        out = []
        for line in open(self.collector_log):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line being written
        return out

    def log_lines(self, name):
        return open(os.path.join(self.dir, name)).read().splitlines()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.exit_codes = {self.logs[p]: p.returncode for p in self.procs if p in self.logs}
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
