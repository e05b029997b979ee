#!/usr/bin/env python3
"""End to end, for about ten seconds: the real Prometheus server scrapes
both microposts services (up == 1, request rate above 0, error ratio equal
to the injected failure rate within tolerance) under the names lumen's
adapters give the OpenTelemetry metrics (http_server_request_duration_seconds,
http_server_active_requests, http_client_request_duration_seconds,
db_client_operation_duration_seconds); one trace spans both services with
the right parent links and the conventions' attributes; every log line of
both services parses as JSON, and its trace and span ids are those of
recorded spans; with OTEL_EXPORTER_OTLP_ENDPOINT alone set, a (fake) OTLP
collector receives the spans, log records and metrics of both services.
Prints 'N passed, N failed' and exits non-zero on any failure."""
import argparse
import json
import sys
import time
import urllib.parse

from harness import Demo, get_json

FAIL_RATE = 0.10
SERVER = 'http_server_request_duration_seconds'
CLIENT = 'http_client_request_duration_seconds'
DB = 'db_client_operation_duration_seconds'
checks = []


def check(name, ok, detail=''):
    checks.append(ok)
    print(f'{"ok  " if ok else "FAIL"} {name}' + (f': {detail}' if detail else ''), flush=True)


def promql(demo, q):
    url = f'http://127.0.0.1:{demo.prom}/api/v1/query?' + urllib.parse.urlencode({'query': q})
    return get_json(url)['data']['result']


def wait_up(demo, seconds=30):
    end = time.time() + seconds
    up = {}
    while time.time() < end:
        try:
            up = {r['metric']['service']: r['value'][1] for r in promql(demo, 'up')}
            if len(up) == 2 and set(up.values()) == {'1'}:
                break
        except OSError:
            pass
        time.sleep(0.5)
    return up


def value(demo, q):
    """The single value of an instant query, or -1 without one."""
    res = promql(demo, q)
    return float(res[0]['value'][1]) if len(res) == 1 else -1


def trace_spans(admin, trace_id, local=False):
    q = '?local=1' if local else ''
    return get_json(f'http://127.0.0.1:{admin}/api/traces/{trace_id}{q}')['spans']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--seconds', type=float, default=10)
    a = ap.parse_args()
    with Demo(a.bin, fail_rate=FAIL_RATE, prometheus=True, otlp=True) as demo:
        up = wait_up(demo)
        check('Prometheus scrapes both services (up == 1)',
              up == {'microposts-api': '1', 'microposts-store': '1'}, str(up))
        statuses = demo.load(a.seconds)
        total = sum(statuses.values())
        check('the load generator got answers', total > 100, str(statuses))
        # Until Prometheus has scraped both services since the last request
        # (the histogram's count shows every request), with a deadline. The
        # API calls the store once per request it passes on, so the API's
        # client histogram counts what the store's server histogram does.
        q_total = f'sum({SERVER}_count{{service="microposts-api"}})'
        q_store = f'sum({SERVER}_count{{service="microposts-store"}})'
        q_calls = f'sum({CLIENT}_count{{service="microposts-api"}})'
        end = time.time() + 30
        while time.time() < end:
            if value(demo, q_total) >= total and value(demo, q_store) == value(demo, q_calls) > 0:
                break
            time.sleep(0.25)

        # Over a minute, not the load's 10 s: on a busy machine the wait
        # above can outlast the load by more than a short window, and the
        # rate of a counter that stopped rising within it is 0.
        rate = promql(demo, f'sum by (service) (rate({SERVER}_count[1m]))')
        rates = {r['metric']['service']: float(r['value'][1]) for r in rate}
        check('request rate above 0 for both services',
              len(rates) == 2 and all(v > 0 for v in rates.values()), str(rates))

        q = (f'sum({SERVER}_count{{service="microposts-api",http_response_status_code=~"5.."}}) / '
             f'sum({SERVER}_count{{service="microposts-api"}})')
        ratio = value(demo, q)
        check(f'error ratio equals the injected rate ({FAIL_RATE}) within 0.05',
              abs(ratio - FAIL_RATE) <= 0.05, f'{ratio:.3f}')
        n_scraped = value(demo, q_total)
        check('Prometheus saw every request the load generator made', n_scraped == total,
              f'{n_scraped} vs {total}')
        n_calls, n_store = value(demo, q_calls), value(demo, q_store)
        check('the API\'s client histogram counts every request the store served',
              n_calls > 0 and n_calls == n_store, f'{n_calls} calls vs {n_store} served')
        routes = {r['metric'].get('http_route') for r in
                  promql(demo, f'sum by (http_route) ({SERVER}_count{{service="microposts-api"}})')}
        check('requests are labelled by route template',
              {'/api/users', '/api/users/:id/posts', '/api/posts/:id'} <= routes, str(routes))
        ops = {r['metric'].get('db_operation_name') for r in
               promql(demo, f'sum by (db_operation_name) ({DB}_count{{service="microposts-store",'
                            'db_system_name="sqlite"}) > 0')}
        check('the store\'s SQLite statements are timed by operation', {'SELECT', 'INSERT'} <= ops,
              str(ops))
        # A request leaves the gauge just after its duration is observed:
        # wait for a scrape after that, with a deadline.
        end = time.time() + 10
        while True:
            active = promql(demo, 'http_server_active_requests')
            if time.time() > end or (len({r['metric']['service'] for r in active}) == 2
                                     and all(r['value'][1] == '0' for r in active)):
                break
            time.sleep(0.25)
        check('http_server_active_requests of both services is scraped, 0 after the load',
              {r['metric']['service'] for r in active} == {'microposts-api', 'microposts-store'}
              and all(float(r['value'][1]) == 0 for r in active),
              str([(r['metric']['service'], r['metric'].get('http_request_method'),
                    r['value'][1]) for r in active if r['value'][1] != '0'][:5]))

        # One trace across both services with the right parent links.
        traces = get_json(f'http://127.0.0.1:{demo.api_admin}/api/traces?limit=200')['traces']
        good = None
        for t in traces:
            if not t['has_root'] or t['error']:
                continue
            spans = trace_spans(demo.api_admin, t['trace_id'])
            by = {s['span_id']: s for s in spans}
            services = {s['service'] for s in spans}
            if services != {'microposts-api', 'microposts-store'}:
                continue
            root = [s for s in spans if s['parent_span_id'] is None]
            client = [s for s in spans if s['kind'] == 3 and s['service'] == 'microposts-api']
            store = [s for s in spans if s['kind'] == 2 and s['service'] == 'microposts-store']
            db = [s for s in spans if s['attributes'].get('db.system.name') == 'sqlite']
            ok = (len(root) == 1 and root[0]['kind'] == 2 and root[0]['service'] == 'microposts-api'
                  and root[0]['name'] == '{} {}'.format(root[0]['attributes'].get('http.request.method'),
                                                        root[0]['attributes'].get('http.route'))
                  and len(client) == 1 and client[0]['parent_span_id'] == root[0]['span_id']
                  and client[0]['attributes'].get('url.full', '').startswith(
                      f'http://127.0.0.1:{demo.store}/')
                  and len(store) == 1 and store[0]['parent_span_id'] == client[0]['span_id']
                  and db and all(d['parent_span_id'] == store[0]['span_id'] for d in db)
                  and all(s['trace_id'] == t['trace_id'] for s in spans)
                  and all(s['parent_span_id'] is None or s['parent_span_id'] in by for s in spans))
            if ok:
                good = (t['trace_id'], [(s['service'], s['name']) for s in spans])
                break
        check('one trace spans both services with the right parent links', good is not None,
              str(good))

        # Every log line is JSON; its ids are those of recorded spans.
        recorded = set()
        for admin in (demo.api_admin, demo.store_admin):
            listing = get_json(f'http://127.0.0.1:{admin}/api/traces?limit=1000')['traces']
            for t in listing:
                for s in trace_spans(admin, t['trace_id'], local=True):
                    recorded.add((s['trace_id'], s['span_id']))
        bad_json, unmatched, stamped = [], [], 0
        for name in ('api.log', 'store.log'):
            for line in demo.log_lines(name):
                try:
                    rec = json.loads(line)
                except ValueError:
                    bad_json.append(line)
                    continue
                if 'trace_id' in rec:
                    stamped += 1
                    if (rec['trace_id'], rec['span_id']) not in recorded:
                        unmatched.append(line)
        check('every log line of both services parses as JSON', not bad_json, str(bad_json[:3]))
        check('log lines carry trace ids', stamped >= total, f'{stamped} stamped lines')
        check('every stamped log line names a recorded span', not unmatched, str(unmatched[:3]))

        # All three signals of both services reached the collector, from the
        # one variable. Metrics are exported every second: wait for an
        # export that counts the requests, with a deadline.
        services = {'microposts-api', 'microposts-store'}
        want = {'spans': set(), 'logs': set(), 'metrics': set()}
        end = time.time() + 30
        while time.time() < end:
            recs = demo.collector_records()
            span_names = {sp['name'] for r in recs for sp in r.get('spans', [])}
            log_scopes = {lg['scope'] for r in recs for lg in r.get('logs', [])}
            metric_names = {m['name'] for r in recs for m in r.get('metrics', [])
                            if m['points'] > 0}
            if ({SERVER, CLIENT, DB} <= metric_names and services <= log_scopes
                    and len(span_names) >= 3):
                break
            time.sleep(0.25)
        errors = [r['error'] for r in recs if 'error' in r]
        check('the collector decoded every OTLP request', not errors and recs, str(errors[:3]))
        check('spans of both services reached the collector over OTLP', len(span_names) >= 3,
              str(sorted(span_names)[:8]))
        check('log records of both services reached the collector over OTLP',
              services <= log_scopes, str(sorted(log_scopes)))
        check('metrics of both services reached the collector over OTLP (the adapters\' histograms)',
              {SERVER, CLIENT, DB} <= metric_names, str(sorted(metric_names)[:12]))
    # Stopped: both services shut down cleanly (under ASan, a leak or an
    # error at exit makes the status non-zero).
    codes = {k: demo.exit_codes.get(k) for k in ('api.log', 'store.log')}
    check('both services exit with status 0 on SIGTERM', codes == {'api.log': 0, 'store.log': 0},
          str(codes))
    failed = checks.count(False)
    print(f'\n{len(checks) - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
