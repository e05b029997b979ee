"""Walk an ExportTraceServiceRequest with a minimal protobuf reader (no
schema, no dependency) and print how many ResourceSpans, ScopeSpans and
Spans it holds; fails on any malformed length or wire type."""
import sys

from pbwire import fields


data = sys.stdin.buffer.read()
rs = ss = sp = 0
for f, r in fields(data):
    assert f == 1
    rs += 1
    for f2, s in fields(r):
        if f2 == 2:
            ss += 1
            for f3, span in fields(s):
                if f3 == 2:
                    sp += 1
                    d = dict(fields(span))
                    assert len(d[1]) == 16 and len(d[2]) == 8
print("resource_spans=%d scope_spans=%d spans=%d" % (rs, ss, sp))
