// Decode an OTLP ExportTraceServiceRequest (protobuf, stdin) with the
// OpenTelemetry JS definitions and print its spans as JSON lines
// {resource, scope, traceId, spanId, parentSpanId, name, kind, attrs, events, status}.
// otlp_collector.js requires it for decodeSpans(buf).
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

function decodeSpans(buf) {
  const err = Req.verify(Req.decode(buf));
  if (err) throw new Error(err);
  const req = Req.toObject(Req.decode(buf), { longs: String, bytes: String, defaults: false });
  const hex = (b64) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');
  const val = (v) => {
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.intValue !== undefined) return Number(v.intValue);
    if (v.doubleValue !== undefined) return v.doubleValue;
    if (v.boolValue !== undefined) return v.boolValue;
    if (v.arrayValue) return (v.arrayValue.values || []).map(val);
    return null;
  };
  const kv = (list) => Object.fromEntries((list || []).map((a) => [a.key, val(a.value)]));
  const out = [];
  for (const rs of req.resourceSpans || []) {
    const resource = kv(rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        out.push({
          service: resource['service.name'], scope: ss.scope.name, version: ss.scope.version,
          traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId),
          name: s.name, kind: s.kind, start: s.startTimeUnixNano, end: s.endTimeUnixNano,
          attrs: kv(s.attributes), events: (s.events || []).map((e) => e.name),
          status: s.status || {},
        });
      }
    }
  }
  return out;
}

module.exports = { decodeSpans };

if (require.main === module) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    for (const s of decodeSpans(Buffer.concat(chunks))) console.log(JSON.stringify(s));
  });
}
