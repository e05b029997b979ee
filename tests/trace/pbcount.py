"""Walk an ExportTraceServiceRequest with a minimal protobuf reader (no
schema, no dependency) and print how many ResourceSpans, ScopeSpans and
Spans it holds; fails on any malformed length or wire type."""
import sys


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        f, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
            assert i <= len(b), "length past end"
        else:
            raise ValueError("wire type %d" % wt)
        yield f, v


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
