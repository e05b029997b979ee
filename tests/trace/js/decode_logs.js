// Decode an OTLP ExportLogsServiceRequest (protobuf, stdin) with the
// OpenTelemetry JS definitions and print its log records as JSON lines
// {service, scope, time, observed, severity, text, body, attrs, traceId,
// spanId, flags}; an attribute's value is {type: value}.
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const Req = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const buf = Buffer.concat(chunks);
  const err = Req.verify(Req.decode(buf));
  if (err) throw new Error(err);
  const req = Req.toObject(Req.decode(buf), { longs: String, bytes: String, defaults: false });
  const hex = (b64) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');
  const val = (v) => {
    if (v.stringValue !== undefined) return { s: v.stringValue };
    if (v.intValue !== undefined) return { i: String(v.intValue) };
    if (v.doubleValue !== undefined) return { d: v.doubleValue };
    if (v.boolValue !== undefined) return { b: v.boolValue };
    if (v.bytesValue !== undefined) return { x: hex(v.bytesValue) };
    return null;
  };
  const kv = (list) => Object.fromEntries((list || []).map((a) => [a.key, val(a.value)]));
  for (const rl of req.resourceLogs) {
    const resource = kv(rl.resource.attributes);
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        console.log(JSON.stringify({
          service: (resource['service.name'] || {}).s, scope: (sl.scope || {}).name || '',
          time: r.timeUnixNano, observed: r.observedTimeUnixNano,
          severity: r.severityNumber, text: r.severityText, body: val(r.body),
          attrs: kv(r.attributes), traceId: hex(r.traceId), spanId: hex(r.spanId),
          flags: r.flags || 0,
        }));
      }
    }
  }
});
