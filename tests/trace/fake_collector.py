"""A fake OTLP/HTTP collector for the trace tests, on 127.0.0.1.

Usage: fake_collector.py LOGFILE [SCRIPT [CERT KEY]]
With CERT and KEY (PEM files) it speaks https.
SCRIPT is a comma-separated list of answers, one per request, in order;
after it runs out every request gets 200. An answer is:
  200 / 400 / 413 / 500 / 502 / 503 / 504  that status, empty body
  429:ra=N        429 with "Retry-After: N" (seconds)
  503:date=N      503 with Retry-After as the HTTP date N seconds ahead
  partial=N       200 with an ExportTraceServiceResponse rejecting N spans
  hang            never answer (sleep 60 s)
  big             200 with a 1 MiB body (the exporter must cap its read)
  reset           read the request, then reset the connection (RST)
The first line on stdout is the port. Each request appends one JSON line
to LOGFILE: time, path, answer, headers, and the spans the body holds
(protobuf or JSON, gzip undone) as {traceId, spanId, parentSpanId, name},
or for /v1/logs the log records as {scope, severity, body}, or for
/v1/metrics the metrics as {scope, name, kind, points} (kind the Metric
data field's number: 5 gauge, 7 sum, 9 histogram, 10 exponential, 11
summary; points the number of data points; "temporality": "delta" added
when the Sum or Histogram is DELTA).
"""
import gzip
import http.server
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import email.utils

from pbwire import fields

LOG = sys.argv[1]
SCRIPT = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else []
lock = threading.Lock()
state = {"n": 0}


def spans_pb(body):
    out = []
    for f, rs in fields(body):
        for f2, ss in fields(rs):
            if f2 != 2:
                continue
            for f3, sp in fields(ss):
                if f3 != 2:
                    continue
                d = {}
                for f4, v in fields(sp):
                    d.setdefault(f4, v)
                out.append({"traceId": d[1].hex(), "spanId": d[2].hex(),
                            "parentSpanId": d.get(4, b"").hex(), "name": d.get(5, b"").decode()})
    return out


def spans_json(body):
    out = []
    for rs in json.loads(body)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                out.append({"traceId": s["traceId"].lower(), "spanId": s["spanId"].lower(),
                            "parentSpanId": s.get("parentSpanId", "").lower(), "name": s["name"]})
    return out


def logs_pb(body):
    out = []
    for f, rl in fields(body):
        for f2, sl in fields(rl):
            if f2 != 2:
                continue
            scope = ""
            for f3, v in fields(sl):
                if f3 == 1:
                    scope = dict(fields(v)).get(1, b"").decode()
                elif f3 == 2:
                    d = {}
                    for f4, x in fields(v):
                        d.setdefault(f4, x)
                    out.append({"scope": scope, "severity": d.get(2, 0),
                                "body": dict(fields(d.get(5, b""))).get(1, b"").decode()})
    return out


def logs_json(body):
    out = []
    for rl in json.loads(body)["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for r in sl["logRecords"]:
                out.append({"scope": sl["scope"]["name"], "severity": r["severityNumber"],
                            "body": r["body"]["stringValue"]})
    return out


def metrics_pb(body):
    out = []
    for f, rm in fields(body):
        for f2, sm in fields(rm):
            if f2 != 2:
                continue
            scope = ""
            for f3, v in fields(sm):
                if f3 == 1:
                    scope = dict(fields(v)).get(1, b"").decode()
                elif f3 == 2:
                    name, kind, points, temp = "", 0, 0, 0
                    for f4, x in fields(v):
                        if f4 == 1:
                            name = x.decode()
                        elif f4 in (5, 7, 9, 10, 11):
                            kind = f4
                            points = sum(1 for f5, _ in fields(x) if f5 == 1)
                            temp = sum(t for f5, t in fields(x) if f5 == 2 and f4 != 11)
                    rec = {"scope": scope, "name": name, "kind": kind, "points": points}
                    if temp == 1:
                        rec["temporality"] = "delta"
                    out.append(rec)
    return out


def metrics_json(body):
    kinds = {"gauge": 5, "sum": 7, "histogram": 9, "exponentialHistogram": 10, "summary": 11}
    out = []
    for rm in json.loads(body)["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                k = [x for x in kinds if x in m][0]
                rec = {"scope": sm["scope"]["name"], "name": m["name"], "kind": kinds[k],
                       "points": len(m[k]["dataPoints"])}
                if m[k].get("aggregationTemporality") == 1:
                    rec["temporality"] = "delta"
                out.append(rec)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with lock:
            i = state["n"]
            state["n"] += 1
        answer = SCRIPT[i] if i < len(SCRIPT) else "200"
        rec = {"t": time.time(), "path": self.path, "answer": answer,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "len": n}
        try:
            raw = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
            is_json = "json" in self.headers.get("Content-Type", "")
            if self.path.endswith("/v1/metrics"):
                rec["metrics"] = metrics_json(raw) if is_json else metrics_pb(raw)
            elif self.path.endswith("/v1/logs"):
                rec["logs"] = logs_json(raw) if is_json else logs_pb(raw)
            elif is_json:
                rec["spans"] = spans_json(raw)
            else:
                rec["spans"] = spans_pb(raw)
        except Exception as e:  # a malformed body is recorded, not fatal
            rec["error"] = repr(e)
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if answer == "hang":
            time.sleep(60)
            return
        if answer == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        payload = b""
        headers = []
        if answer == "big":
            payload = b"\x00" * (1 << 20)
            code = 200
        elif answer.startswith("partial="):
            k = int(answer.split("=")[1])
            msg = b"too old"
            inner = bytes([0x08, k]) + bytes([0x12, len(msg)]) + msg
            payload = bytes([0x0A, len(inner)]) + inner
            code = 200
        elif ":ra=" in answer:
            code = int(answer.split(":")[0])
            headers.append(("Retry-After", answer.split("=")[1]))
        elif ":date=" in answer:
            code = int(answer.split(":")[0])
            when = time.time() + int(answer.split("=")[1])
            headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
        else:
            code = int(answer)
        self.send_response(code)
        ctype = self.headers.get("Content-Type", "application/x-protobuf")
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (capped reads, resets) are expected


srv = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) > 4:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
