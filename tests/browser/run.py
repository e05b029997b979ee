#!/usr/bin/env python3
"""Start the microposts demo under load and the hostile-strings fixture,
then drive Chromium through their consoles (console.test.js)."""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'demo'))
from harness import Demo, get_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def cross_service_trace(demo):
    for _ in range(100):
        for t in get_json(f'http://127.0.0.1:{demo.api_admin}/api/traces?limit=100')['traces']:
            if not t['has_root']:
                continue
            spans = get_json(f'http://127.0.0.1:{demo.api_admin}/api/traces/{t["trace_id"]}')['spans']
            if {s['service'] for s in spans} == {'microposts-api', 'microposts-store'}:
                return t['trace_id']
        time.sleep(0.2)
    return None


def console_samples(demo, want=4, seconds=60):
    """Wait until the console holds `want` samples of the request histogram
    (one every two seconds), so that rates have points to draw."""
    url = (f'http://127.0.0.1:{demo.api_admin}/api/metrics/series'
           '?family=http_server_request_duration_seconds')
    end = time.time() + seconds
    while time.time() < end:
        if len(get_json(url)['timestamps']) >= want:
            return True
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--fixture', required=True)
    ap.add_argument('--artifacts', required=True)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(HERE, 'node_modules', 'playwright-core')):
        print('FAIL playwright-core is not installed (scripts/deps.sh test installs it)')
        print('0 passed, 1 failed')
        return 1
    os.makedirs(a.artifacts, exist_ok=True)
    fixture = subprocess.Popen([a.fixture], stdout=subprocess.PIPE, text=True)
    try:
        line = fixture.stdout.readline()
        fixture_port = int(line.strip().split('=')[1])
        with Demo(a.bin, fail_rate=0.1, slow_rate=0.05) as demo:
            load = threading.Thread(target=demo.load, args=(40, 30), daemon=True)
            load.start()
            if not console_samples(demo):
                print('FAIL the console took more than 60 s to take 4 samples')
                print('0 passed, 1 failed')
                return 1
            tid = cross_service_trace(demo)
            env = dict(os.environ, NODE_PATH=os.path.join(HERE, 'node_modules'))
            r = subprocess.run(['node', os.path.join(HERE, 'console.test.js'),
                                f'http://127.0.0.1:{demo.api_admin}',
                                f'http://127.0.0.1:{fixture_port}', tid or '', a.artifacts],
                               env=env, timeout=240)
            return r.returncode
    finally:
        fixture.terminate()
        fixture.wait(timeout=10)


if __name__ == '__main__':
    sys.exit(main())
