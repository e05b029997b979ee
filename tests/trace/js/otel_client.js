// An OpenTelemetry JS client (the real SDK: @opentelemetry/sdk-trace-node,
// exporter-trace-otlp-proto): one CLIENT span around an HTTP GET of URL,
// its context injected by the SDK's W3C propagator (traceparent), the span
// exported over OTLP/HTTP protobuf to TRACES_URL.
// Usage: node otel_client.js URL TRACES_URL
// Prints one JSON line {traceId, spanId, traceparent, status, body};
// exits 1 when the request or the export fails, 2 after 30 s.
const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { Resource } = require('@opentelemetry/resources');
const http = require('http');

const [url, tracesUrl] = process.argv.slice(2);
setTimeout(() => { console.error('otel_client: no answer in 30 s'); process.exit(2); }, 30000).unref();
api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.ERROR);

const provider = new NodeTracerProvider({ resource: new Resource({ 'service.name': 'js-client' }) });
let exportFailed = null;
const exporter = new OTLPTraceExporter({ url: tracesUrl, timeoutMillis: 10000 });
const origExport = exporter.export.bind(exporter);
exporter.export = (spans, done) => origExport(spans, (r) => {
  if (r.code !== 0) exportFailed = r.error || new Error('export failed');
  done(r);
});
provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
provider.register(); // AsyncLocalStorage context, W3C tracecontext + baggage propagators

const tracer = api.trace.getTracer('lumen-test-client', '1');
const u = new URL(url);
tracer.startActiveSpan('GET', {
  kind: api.SpanKind.CLIENT,
  attributes: { 'http.request.method': 'GET', 'url.full': url, 'server.address': u.hostname,
    'server.port': Number(u.port) },
}, (span) => {
  const headers = {};
  api.propagation.inject(api.context.active(), headers);
  const finish = async (out, code) => {
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    if (exportFailed) { console.error('otel_client: export failed:', String(exportFailed)); code = 1; }
    console.log(JSON.stringify({ ...out, traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId, traceparent: headers.traceparent }));
    process.exit(code);
  };
  const req = http.get(url, { headers, timeout: 20000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 400) span.setStatus({ code: api.SpanStatusCode.ERROR });
      finish({ status: res.statusCode, body }, 0);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => {
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(e) });
    finish({ status: 0, error: String(e) }, 1);
  });
});
