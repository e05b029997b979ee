"""Drive examples/tracecontext_service the way the W3C Trace Context test
harness does (a POST with traceparent/tracestate header lines and a JSON
list of callbacks; the service must call each back, propagating), and check
what the callbacks receive against the rules of the Recommendation.

Usage: tracecontext_check.py SERVICE_BINARY
Exit status: the number of failed cases (their names on stdout).
"""
import http.client
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import threading

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"

received = {}
lock = threading.Lock()


class Callback(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        json.loads(body)  # the service must send valid JSON
        with lock:
            received[self.path] = [(k.lower(), v) for k, v in self.headers.items()]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


cb = Server(("127.0.0.1", 0), Callback)
threading.Thread(target=cb.serve_forever, daemon=True).start()
env = dict(os.environ, OTEL_TRACES_EXPORTER="none")
svc = subprocess.Popen([sys.argv[1], "0"], stdout=subprocess.PIPE, env=env)
port = int(svc.stdout.readline())


def run(name, headers, calls=1):
    """POST to the service; return the header lists the callbacks got."""
    urls = ["/%s.%d" % (name, i) for i in range(calls)]
    body = json.dumps([{"url": "http://127.0.0.1:%d%s" % (cb.server_address[1], u), "arguments": []}
                       for u in urls]).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest("POST", "/test")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(len(body)))
    for k, v in headers:
        c.putheader(k, v)
    c.endheaders()
    c.send(body)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    return [received.get(u, []) for u in urls]


def values(hdrs, name):
    return [v for k, v in hdrs if k == name]


def tp(hdrs):
    v = values(hdrs, "traceparent")
    assert len(v) == 1, "exactly one traceparent: %r" % v
    m = TP_RE.match(v[0])
    assert m, "malformed traceparent out: %r" % v[0]
    return m.groups()


def ts(hdrs):
    v = values(hdrs, "tracestate")
    return ",".join(v)


failures = []


def case(fn):
    try:
        fn()
    except Exception as e:  # report every failing case, not just the first
        failures.append("%s: %r" % (fn.__name__, e))
    return fn


@case
def no_headers_new_trace():
    t, p, f = tp(run("none", [])[0])
    assert t != "0" * 32 and p != "0" * 16


@case
def valid_parent_continues_trace():
    t, p, f = tp(run("valid", [("traceparent", "00-%s-%s-01" % (TID, SID))])[0])
    assert t == TID and p != SID and f == "01"


@case
def three_calls_three_parent_ids():
    out = [tp(h) for h in run("three", [("traceparent", "00-%s-%s-01" % (TID, SID))], calls=3)]
    assert all(o[0] == TID for o in out)
    assert len({o[1] for o in out} | {SID}) == 4


@case
def header_name_any_case():
    for name in ("TraceParent", "TRACEPARENT"):
        t, _, _ = tp(run("case", [(name, "00-%s-%s-01" % (TID, SID))])[0])
        assert t == TID, name


@case
def wrong_header_name_ignored():
    t, _, _ = tp(run("wrong", [("trace-parent", "00-%s-%s-01" % (TID, SID))])[0])
    assert t != TID


@case
def two_traceparents_restart():
    t, _, _ = tp(run("two", [("traceparent", "00-%s-%s-01" % (TID, SID)),
                             ("traceparent", "00-%s-%s-01" % (TID, SID))])[0])
    assert t != TID


@case
def unsampled_stays_unsampled():
    t, _, f = tp(run("unsampled", [("traceparent", "00-%s-%s-00" % (TID, SID))])[0])
    assert t == TID and f == "00"


@case
def invalid_forms_restart():
    for v in ("00-%s-%s-01." % (TID, SID), "ff-%s-%s-01" % (TID, SID), "00-%s-%s-01" % (TID.upper(), SID),
              "00-%s-%s-01" % ("0" * 32, SID), "00-%s-%s-01" % (TID, "0" * 16), "00-%s-%s-1" % (TID, SID),
              "cc-%s-%s-01.x" % (TID, SID)):
        t, _, _ = tp(run("invalid", [("traceparent", v)])[0])
        assert t != TID, v


@case
def future_version_accepted():
    t, p, f = tp(run("future", [("traceparent", "cc-%s-%s-01-what-the-future-will-be-like" % (TID, SID))])[0])
    assert t == TID and p != SID


@case
def ows_around_value():
    t, _, _ = tp(run("ows", [("traceparent", " \t00-%s-%s-01\t ".replace("\t", " ") % (TID, SID))])[0])
    assert t == TID


@case
def tracestate_kept_and_combined():
    h = run("ts", [("traceparent", "00-%s-%s-01" % (TID, SID)), ("tracestate", "foo=1,bar=2"),
                   ("TraceState", "rojo=1,congo=2"), ("tracestate", "baz=3")])[0]
    assert ts(h) == "foo=1,bar=2,rojo=1,congo=2,baz=3", ts(h)


@case
def tracestate_without_traceparent_dropped():
    h = run("tsonly", [("tracestate", "foo=1")])[0]
    tp(h)
    assert ts(h) == "", ts(h)


@case
def invalid_tracestate_discarded():
    for v in ("foo=1,foo=2", "FOO=1", "foo=bar=baz", "foo@@bar=1"):
        h = run("tsbad", [("traceparent", "00-%s-%s-01" % (TID, SID)), ("tracestate", v)])[0]
        t, _, _ = tp(h)
        assert t == TID and ts(h) == "", (v, ts(h))


@case
def thirty_two_members_survive():
    lines = [",".join("k%d=%d" % (l * 8 + k, k) for k in range(8)) for l in range(4)]
    h = run("ts32", [("traceparent", "00-%s-%s-01" % (TID, SID))] + [("tracestate", x) for x in lines])[0]
    assert len(ts(h).split(",")) == 32, ts(h)


svc.terminate()
svc.wait(timeout=10)
for f in failures:
    print(f)
sys.exit(len(failures))
