#!/usr/bin/env python3
"""Print what the demo's three signals saw: requests by status code and
latency percentiles from the API's metrics, the span tree of one slow trace
across both services (from the consoles), that trace's log lines, and, with
--prometheus, a PromQL query answered by the real Prometheus server."""
import argparse
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def samples(text):
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = dict(LABEL.findall(m.group(2) or ''))
            yield m.group(1), labels, float(m.group(3))


def quantile(q, buckets):
    """histogram_quantile over cumulative (le, count) pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if math.isinf(le):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 1)
        prev_le, prev_c = le, c
    return prev_le


def fmt_s(s):
    return f'{s * 1e3:.1f} ms' if s >= 1e-3 else f'{s * 1e6:.0f} µs'


def report_metrics(api_admin):
    text = get(api_admin + '/metrics')
    by_code, buckets = {}, {}
    for name, labels, value in samples(text):
        if name == 'http_server_request_duration_seconds_count':
            code = labels['http_response_status_code']
            by_code[code] = by_code.get(code, 0) + value
        elif name == 'http_server_request_duration_seconds_bucket':
            le = float(labels['le'].replace('+Inf', 'inf'))
            buckets[le] = buckets.get(le, 0) + value
    total = sum(by_code.values())
    print('\nrequests served by microposts-api, by status code (from /metrics):')
    for code in sorted(by_code):
        print(f'  {code}  {int(by_code[code]):6d}  {by_code[code] / total:6.1%}' if total else f'  {code} 0')
    b = list(buckets.items())
    print('\nlatency of microposts-api (from the http_server_request_duration_seconds histogram):')
    print('  ' + '   '.join(f'p{int(q * 100)} {fmt_s(quantile(q, b))}' for q in (0.5, 0.95, 0.99)))


def span_tree(spans):
    by_id = {s['span_id']: s for s in spans}
    kids = {}
    roots = []
    for s in spans:
        p = s.get('parent_span_id')
        if p and p in by_id:
            kids.setdefault(p, []).append(s)
        else:
            roots.append(s)
    t0 = min(s['start_ns'] for s in spans)
    lines = []

    def walk(s, depth):
        dur = (s['end_ns'] - s['start_ns']) / 1e9
        off = (s['start_ns'] - t0) / 1e9
        status = '  ERROR' if s.get('status', {}).get('code') == 2 else ''
        events = ''.join(f'  [{e["name"]}]' for e in s.get('events', []))
        lines.append(f'  {"  " * depth}{s["name"]:<{40 - 2 * depth}} {s["service"]:<17} '
                     f'+{fmt_s(off):>9} {fmt_s(dur):>10}{status}{events}')
        for k in sorted(kids.get(s['span_id'], []), key=lambda x: x['start_ns']):
            walk(k, depth + 1)

    for r in sorted(roots, key=lambda x: x['start_ns']):
        walk(r, 0)
    return lines


def report_trace(api_admin, store_admin):
    listing = json.loads(get(api_admin + '/api/traces?min_ms=100&limit=50'))['traces']
    listing = [t for t in listing if t['has_root']] or \
        [t for t in json.loads(get(api_admin + '/api/traces?limit=50'))['traces'] if t['has_root']]
    if not listing:
        print('\nno trace recorded')
        return
    chosen = None
    for t in sorted(listing, key=lambda t: -t['duration_ns']):
        spans = json.loads(get(f'{api_admin}/api/traces/{t["trace_id"]}'))['spans']
        if len({s['service'] for s in spans}) > 1:
            chosen = (t, spans)
            break
    if chosen is None:
        t = listing[0]
        chosen = (t, json.loads(get(f'{api_admin}/api/traces/{t["trace_id"]}'))['spans'])
    t, spans = chosen
    tid = t['trace_id']
    print(f'\na slow trace across both services: {tid} ({fmt_s(t["duration_ns"] / 1e9)}, '
          f'{len(spans)} spans)')
    print(f'  {api_admin}/traces#{tid}')
    print('\n'.join(span_tree(spans)))
    lines = []
    for admin in (api_admin, store_admin):
        lines += json.loads(get(f'{admin}/api/logs?level=trace&limit=2000&local=1&trace_id={tid}'))['logs']
    print(f'\nits log lines ({len(lines)}, from both services):')
    for l in sorted(lines, key=lambda l: l['ts']):
        print('  ' + json.dumps(l, ensure_ascii=False))


def report_prometheus(prom):
    query = ('sum by (service) (rate(http_server_request_duration_seconds_count'
             '{http_response_status_code=~"5.."}[30s])) / '
             'sum by (service) (rate(http_server_request_duration_seconds_count[30s]))')
    up = {}
    for _ in range(60):
        try:
            res = json.loads(get(prom + '/api/v1/query?query=up'))['data']['result']
            up = {r['metric'].get('service'): r['value'][1] for r in res}
            if len(up) == 2 and all(v == '1' for v in up.values()):
                break
        except OSError:
            pass
        time.sleep(0.5)
    print(f'\nPrometheus scrapes both services: up = {up}')
    print(f'PromQL: {query}')
    res = json.loads(get(prom + '/api/v1/query?' + urllib.parse.urlencode({'query': query})))
    for r in res['data']['result']:
        print(f'  {r["metric"].get("service")}: error ratio {float(r["value"][1]):.3f}')
    q99 = ('histogram_quantile(0.99, sum by (le, service) '
           '(rate(http_server_request_duration_seconds_bucket[30s])))')
    res = json.loads(get(prom + '/api/v1/query?' + urllib.parse.urlencode({'query': q99})))
    print(f'PromQL: {q99}')
    for r in res['data']['result']:
        print(f'  {r["metric"].get("service")}: p99 {fmt_s(float(r["value"][1]))}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--api-admin', required=True)
    ap.add_argument('--store-admin', required=True)
    ap.add_argument('--load')
    ap.add_argument('--prometheus')
    a = ap.parse_args()
    if a.load:
        print('\nmicroposts-load: ' + ', '.join(open(a.load).read().split('\n')).strip(', '))
    time.sleep(0.5)  # let the batch processors hand over the last spans
    report_metrics(a.api_admin)
    report_trace(a.api_admin, a.store_admin)
    if a.prometheus:
        report_prometheus(a.prometheus)


if __name__ == '__main__':
    sys.exit(main())
