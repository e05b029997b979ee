// An OTLP/HTTP trace receiver on 127.0.0.1 that decodes each request with
// the OpenTelemetry JS protobuf definitions (decode.js).
// Usage: node otlp_collector.js SPANS_FILE
// Prints "port N" on stdout once listening. Each span of each POST
// /v1/traces is appended to SPANS_FILE as one JSON line (decode.js's
// fields plus contentType, the request's Content-Type). A request it
// cannot decode gets 400 and a line {"error": ...}.
const fs = require('fs');
const http = require('http');
const zlib = require('zlib');
const { decodeSpans } = require('./decode');

const file = process.argv[2];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let lines;
    try {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`${req.method} ${req.url}`);
      const contentType = req.headers['content-type'] || '';
      lines = decodeSpans(body).map((s) => JSON.stringify({ ...s, contentType }));
    } catch (e) {
      fs.appendFileSync(file, JSON.stringify({ error: String(e) }) + '\n');
      res.writeHead(400).end();
      return;
    }
    if (lines.length) fs.appendFileSync(file, lines.join('\n') + '\n');
    // An empty ExportTraceServiceResponse: full success.
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
