// Decode an OTLP ExportMetricsServiceRequest from stdin with the
// OpenTelemetry JS definitions and print it as JSON lines: first
// {service, scope, version}, then one line per data point {metric, desc,
// unit, kind, temporality, monotonic, attrs, start, time, and the point's
// values}. With the argument `json` stdin is an OTLP/JSON body: its hex
// trace and span ids are turned into the bytes protobufjs expects and the
// message built with fromObject, so that both encodings print the same
// lines when they carry the same data.
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const Req = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const json = process.argv[2] === 'json';
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const buf = Buffer.concat(chunks);
  let msg;
  if (json) {
    const obj = JSON.parse(buf.toString('utf8'));
    const ids = (x) => {
      if (Array.isArray(x)) return x.forEach(ids);
      if (x === null || typeof x !== 'object') return;
      for (const k of Object.keys(x)) {
        if ((k === 'traceId' || k === 'spanId') && typeof x[k] === 'string') {
          x[k] = Buffer.from(x[k], 'hex').toString('base64');
        } else {
          ids(x[k]);
        }
      }
    };
    ids(obj);
    msg = Req.fromObject(obj);
    const err = Req.verify(msg);
    if (err) throw new Error(err);
  } else {
    msg = Req.decode(buf);
    const err = Req.verify(msg);
    if (err) throw new Error(err);
  }
  const req = Req.toObject(msg, { longs: String, bytes: String, defaults: false, oneofs: false });
  const hex = (b64) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');
  const val = (v) => (v && v.stringValue !== undefined ? v.stringValue : JSON.stringify(v));
  const kv = (list) => Object.fromEntries((list || []).map((a) => [a.key, val(a.value)]));
  const ex = (list) => (list || []).map((e) => ({
    attrs: kv(e.filteredAttributes), time: e.timeUnixNano, value: e.asDouble,
    traceId: hex(e.traceId), spanId: hex(e.spanId),
  }));
  for (const rm of req.resourceMetrics || []) {
    const resource = kv(rm.resource && rm.resource.attributes);
    for (const sm of rm.scopeMetrics || []) {
      console.log(JSON.stringify({ service: resource['service.name'], scope: sm.scope.name,
        version: sm.scope.version }));
      for (const m of sm.metrics || []) {
        const kind = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']
          .find((k) => m[k] !== undefined);
        const data = m[kind];
        for (const p of data.dataPoints || []) {
          const line = { metric: m.name, desc: m.description || '', unit: m.unit || '', kind,
            temporality: data.aggregationTemporality || 0, monotonic: data.isMonotonic || false,
            attrs: kv(p.attributes), start: p.startTimeUnixNano || '0', time: p.timeUnixNano };
          if (kind === 'gauge' || kind === 'sum') {
            line.value = p.asDouble !== undefined ? p.asDouble : 'int:' + p.asInt;
            line.exemplars = ex(p.exemplars);
          } else if (kind === 'histogram') {
            Object.assign(line, { count: p.count, sum: p.sum, buckets: p.bucketCounts || [],
              bounds: p.explicitBounds || [], exemplars: ex(p.exemplars) });
          } else if (kind === 'exponentialHistogram') {
            const b = (x) => ({ offset: (x && x.offset) || 0, counts: (x && x.bucketCounts) || [] });
            Object.assign(line, { count: p.count, sum: p.sum, scale: p.scale || 0,
              zeroCount: p.zeroCount || '0', zeroThreshold: p.zeroThreshold || 0,
              positive: b(p.positive), negative: b(p.negative), exemplars: ex(p.exemplars) });
          } else {
            Object.assign(line, { count: p.count, sum: p.sum,
              quantiles: (p.quantileValues || []).map((q) => [q.quantile || 0, q.value || 0]) });
          }
          console.log(JSON.stringify(line));
        }
      }
    }
  }
});
