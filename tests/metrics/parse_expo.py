"""tests/metrics/parse_expo.py: parse an exposition from stdin with
prometheus_client's parser and print one line per sample, for tests to
compare with what they recorded.

Usage: parse_expo.py text|openmetrics
Output lines: "<name> <label>=<hex of UTF-8 value>... <value>", labels
sorted by name, values as NaN/+Inf/-Inf, integers without a point, other
numbers in Python's shortest repr. _created samples are left out (their
values are clock readings). An exemplar adds " # <labels> <value>".
Exits non-zero (with the parser's traceback) when the input is refused.
"""
import math
import sys


def num(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def labels(d):
    return " ".join("%s=%s" % (k, d[k].encode("utf-8").hex()) for k in sorted(d))


def main():
    data = sys.stdin.buffer.read().decode("utf-8")
    if sys.argv[1] == "openmetrics":
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families
    out = []
    for fam in text_string_to_metric_families(data):
        for s in fam.samples:
            if s.name.endswith("_created"):
                continue
            line = "%s %s %s" % (s.name, labels(s.labels), num(s.value))
            if s.exemplar is not None:
                line += " # %s %s" % (labels(s.exemplar.labels), num(s.exemplar.value))
            out.append(line)
    sys.stdout.write("".join(l + "\n" for l in sorted(out)))


main()
