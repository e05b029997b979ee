"""The same spans, encoded as OTLP protobuf and OTLP/JSON, must carry the
same text, all of it valid UTF-8.

Usage: otlp_utf8_check.py BODY.pb BODY.json SCHEMA.proto

The protobuf body is decoded by `protoc --decode` against SCHEMA.proto (the
OTLP messages with proto3 string fields): protoc refuses a request with
any string that is not UTF-8, as a collector's generated code does. The
JSON body is read by Python's json. Every string field of both (names,
versions, attribute keys and string values, status messages, tracestates)
is collected and the two collections must be equal. Prints the strings
(one JSON string a line, sorted) for the caller to check.
"""
import codecs
import json
import os
import re
import subprocess
import sys

pb_path, json_path, schema = sys.argv[1:4]
with open(pb_path, "rb") as f:
    r = subprocess.run(["protoc", "--decode=otlp.ExportTraceServiceRequest", "-I",
                        os.path.dirname(os.path.abspath(schema)), os.path.basename(schema)],
                       stdin=f, capture_output=True)
if r.returncode != 0:
    sys.exit("protoc --decode failed: " + r.stderr.decode(errors="replace"))

TEXT_FIELDS = {"name", "version", "key", "string_value", "message", "trace_state"}
LINE = re.compile(r'^\s*([a-z_]+): "(.*)"$')
from_pb = []
for line in r.stdout.decode("ascii").splitlines():
    m = LINE.match(line)
    if m and m.group(1) in TEXT_FIELDS:
        # protoc writes C escapes (octal for non-ASCII bytes): undo them,
        # then the bytes must be UTF-8.
        from_pb.append(codecs.escape_decode(m.group(2).encode())[0].decode("utf-8"))

JSON_FIELDS = {"name", "version", "key", "stringValue", "message", "traceState"}


def walk(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in JSON_FIELDS and isinstance(v, str):
                out.append(v)
            else:
                walk(v, out)
    elif isinstance(o, list):
        for v in o:
            walk(v, out)


from_json = []
with open(json_path, "rb") as f:
    walk(json.loads(f.read().decode("utf-8", errors="strict")), from_json)
from_json = [s for s in from_json if s != ""]  # proto3 omits empty strings

if sorted(from_pb) != sorted(from_json):
    only_pb = sorted(set(from_pb) - set(from_json))
    only_json = sorted(set(from_json) - set(from_pb))
    sys.exit("encoders disagree:\n protobuf only: %r\n json only: %r" % (only_pb, only_json))
for s in sorted(from_pb):
    print(json.dumps(s))
