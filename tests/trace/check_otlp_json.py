"""Check an OTLP/JSON trace request (stdin) against the OTLP/JSON rules:
lowerCamelCase keys, hex ids, integer enums, 64-bit integers as decimal
strings, AnyValue shapes; and the content test_trace_otlp wrote."""
import json
import re
import sys

req = json.loads(sys.stdin.read())


def keys(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            if k not in ("key",):
                yield from keys(v)
    elif isinstance(o, list):
        for v in o:
            yield from keys(v)


for k in keys(req):
    assert "_" not in k and k[0].islower(), "key not lowerCamelCase: " + k

rs = req["resourceSpans"]
assert len(rs) == 1
res = {a["key"]: a["value"]["stringValue"] for a in rs[0]["resource"]["attributes"]}
assert res["service.name"] == "test-svc", res
ss = rs[0]["scopeSpans"]
assert ss[0]["scope"] == {"name": "test.scope", "version": "1.2.3"}, ss[0]["scope"]
spans = ss[0]["spans"]
assert len(spans) == 2
child, root = spans
for s in spans:
    assert re.fullmatch(r"[0-9a-f]{32}", s["traceId"]), s["traceId"]
    assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"])
    assert isinstance(s["kind"], int)
    assert isinstance(s["startTimeUnixNano"], str) and s["startTimeUnixNano"].isdigit()
assert root["traceId"] == "TRACEID_0123456A".encode().hex()
assert root["spanId"] == "SPANID_R".encode().hex()
assert "parentSpanId" not in root
assert child["parentSpanId"] == root["spanId"]
assert root["kind"] == 2 and child["kind"] == 1
assert root["startTimeUnixNano"] == "1000000000000000000"
assert root["endTimeUnixNano"] == "1000000000000000500"
attrs = {a["key"]: a["value"] for a in root["attributes"]}
assert attrs["http.method"] == {"stringValue": "GET"}
assert attrs["http.status_code"] == {"intValue": "200"}
assert attrs["neg"] == {"intValue": "-1"}
assert attrs["ratio"] == {"doubleValue": "NaN"}, attrs["ratio"]
assert attrs["ok"] == {"boolValue": True}
assert attrs["ints"] == {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}]}}
assert "x" not in attrs
assert root["status"] == {"code": 2, "message": "bad"}
ev = root["events"][0]
assert ev["name"] == "ev" and ev["timeUnixNano"] == "1000000000000000123"
assert ev["attributes"] == [{"key": "k", "value": {"stringValue": "v"}}]
link = child["links"][0]
assert link["traceId"] == "LINKTRACEIDXXXXX".encode().hex()
assert link["traceState"] == "a=b" and link["flags"] == 1
assert child["status"] == {}
assert root["flags"] == 0x103  # sampled, random (a root lumen started), local parent
