// lumen console. Served with a Content-Security-Policy that allows only
// this script: no inline code, no external assets. Every string that comes
// from the program (metric names, label values, span names, attributes, log
// fields) reaches the page through textContent or setAttribute, never
// through markup parsing, so it is always shown as text.
'use strict';

const PALETTE = ['#5fb3f9', '#7fd17f', '#f2c14e', '#f26d6d', '#c792ea', '#4dd0c8', '#ff9e64', '#a0a8b8'];
const REFRESH_MS = 2000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}

function setStatus(text) {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

function fmtNum(v, unit) {
  if (v == null || !isFinite(v)) return '–';
  if (unit === 'bytes') {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  if (unit === 's') {
    if (v < 1e-3) return (v * 1e6).toFixed(0) + ' µs';
    if (v < 1) return (v * 1e3).toFixed(v < 0.01 ? 2 : 1) + ' ms';
    return v.toFixed(2) + ' s';
  }
  if (unit === '%') return (v * 100).toFixed(v < 0.1 ? 2 : 1) + ' %';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return (v / 1e3).toFixed(2) + 'k';
  if (a >= 100 || v === Math.round(v)) return v.toFixed(0);
  return v.toPrecision(3);
}

function fmtDur(ns) {
  return fmtNum(ns / 1e9, 's');
}

function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

// ---- charts ---------------------------------------------------------------

// Draw lines into an <svg class="chart">. lines: [{label, values}], values
// aligned with ts (ms); null values break the line.
function drawChart(card, ts, lines, unit) {
  const svg = card.querySelector('svg.chart');
  const legend = card.querySelector('.legend');
  svg.replaceChildren();
  legend.replaceChildren();
  const W = svg.clientWidth || 360, H = svg.clientHeight || 150;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const pad = { l: 52, r: 6, t: 6, b: 16 };
  let max = 0, points = 0;
  for (const l of lines) for (const v of l.values) if (v != null && isFinite(v)) { max = Math.max(max, v); points++; }
  if (points === 0 || ts.length < 2) {
    const t = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' });
    t.textContent = ts.length < 2 ? 'collecting…' : 'no data';
    svg.append(t);
    svg.dataset.points = '0';
    return;
  }
  if (max === 0) max = 1;
  max *= 1.1;
  const t0 = ts[0], t1 = ts[ts.length - 1] || t0 + 1;
  const x = t => pad.l + (W - pad.l - pad.r) * ((t - t0) / Math.max(1, t1 - t0));
  const y = v => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  for (let i = 0; i <= 3; i++) {
    const v = max * i / 3;
    svg.append(svgEl('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid-line' }));
    const lab = svgEl('text', { x: pad.l - 4, y: y(v) + 3, 'text-anchor': 'end', class: 'axis' });
    lab.textContent = fmtNum(v, unit);
    svg.append(lab);
  }
  const tl = svgEl('text', { x: W - pad.r, y: H - 3, 'text-anchor': 'end', class: 'axis' });
  tl.textContent = fmtTime(t1);
  svg.append(tl);
  lines.forEach((l, i) => {
    const color = PALETTE[i % PALETTE.length];
    let d = '', pen = false;
    l.values.forEach((v, k) => {
      if (v == null || !isFinite(v)) { pen = false; return; }
      d += (pen ? 'L' : 'M') + x(ts[k]).toFixed(1) + ' ' + y(v).toFixed(1);
      pen = true;
    });
    if (d) svg.append(svgEl('path', { d, class: 'series', stroke: color }));
    const item = el('span', { text: l.label });
    item.style.setProperty('--c', color);
    legend.append(item);
  });
  svg.dataset.points = String(points);
}

// ---- computing rates and quantiles from history -------------------------

function rate(ts, values) {
  const out = [null];
  for (let k = 1; k < values.length; k++) {
    // A series absent from the previous sample was created since: a
    // counter starts at zero, so its whole value is the increase.
    const a = values[k - 1] == null ? 0 : values[k - 1], b = values[k];
    if (b == null) { out.push(null); continue; }
    const dt = (ts[k] - ts[k - 1]) / 1000;
    out.push(dt > 0 ? (b >= a ? b - a : b) / dt : null); // a drop is a counter reset
  }
  return out;
}

function sumArrays(arrays, n) {
  const out = new Array(n).fill(null);
  for (const a of arrays) a.forEach((v, k) => { if (v != null) out[k] = (out[k] || 0) + v; });
  return out;
}

function labelKey(labels, skip) {
  return Object.keys(labels).filter(k => !skip.includes(k)).sort().map(k => k + '=' + labels[k]).join(',');
}

// Quantile from cumulative bucket counts [(le, count)] the way PromQL's
// histogram_quantile interpolates inside a bucket.
function bucketQuantile(q, buckets) {
  if (buckets.length === 0) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1][1];
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const [le, c] of buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = c - prevCount;
      return inBucket > 0 ? prevLe + (le - prevLe) * ((rank - prevCount) / inBucket) : le;
    }
    prevLe = le; prevCount = c;
  }
  return prevLe;
}

// Quantiles over a sliding window (in points) of a histogram family's
// series, summed across all label sets.
function histogramQuantiles(data, family, qs, window) {
  const n = data.timestamps.length;
  const byLe = new Map();
  for (const s of data.series) {
    if (s.family !== family || !s.name.endsWith('_bucket')) continue;
    const le = s.labels.le === '+Inf' ? Infinity : parseFloat(s.labels.le);
    if (!byLe.has(le)) byLe.set(le, []);
    byLe.get(le).push(s.values);
  }
  const sums = [...byLe.entries()].map(([le, arrs]) => [le, sumArrays(arrs, n)]);
  return qs.map(q => {
    const out = [];
    for (let k = 0; k < n; k++) {
      const j = Math.max(0, k - window);
      if (k === j) { out.push(null); continue; }
      const b = [];
      for (const [le, vals] of sums) {
        if (vals[k] == null) continue;
        // A bucket created inside the window started at zero.
        b.push([le, Math.max(0, vals[k] - (vals[j] == null ? 0 : vals[j]))]);
      }
      out.push(bucketQuantile(q, b));
    }
    return out;
  });
}

const CODE_LABELS = ['code', 'status', 'status_code', 'http_status_code', 'http_response_status_code'];
function isErrorSeries(labels) {
  for (const k of CODE_LABELS) if (labels[k] != null && /^5\d\d$/.test(labels[k])) return true;
  return labels.error === 'true' || labels.outcome === 'error';
}

function last(a) {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] != null) return a[i];
  return null;
}

// ---- metrics page -----------------------------------------------------------

const metricsState = { families: [], picked: new Set() };

// The server takes at most this many family parameters in one request
// (it says how many it ignored): the page asks in chunks, so every picked
// family is charted however many there are.
const FAMILIES_PER_REQUEST = 64;
// The console keeps at most this many series, so a request for this many
// is never cut; if an answer still says it was, the page says so.
const SERIES_LIMIT = 5000;

async function fetchSeries(names)
{
    const chunks = [];
    for (let i = 0; i < names.length; i += FAMILIES_PER_REQUEST)
        chunks.push(names.slice(i, i + FAMILIES_PER_REQUEST));
    const parts = await Promise.all(
        chunks.map(c => getJSON('/api/metrics/series?limit=' + SERIES_LIMIT + '&' +
                                c.map(n => 'family=' + encodeURIComponent(n)).join('&'))));
    // A sample may land between two answers: line every series up on the
    // newest answer's timestamps.
    let ts = [];
    for (const p of parts) {
        const t = p.timestamps;
        if (t.length && (!ts.length || t[t.length - 1] > ts[ts.length - 1]))
            ts = t;
    }
    const at = new Map(ts.map((t, i) => [t, i]));
    const out = {timestamps : ts, series : [], series_cut : 0, families_ignored : 0};
    for (const p of parts) {
        out.series_cut += p.series_cut || 0;
        out.families_ignored += p.families_ignored || 0;
        const same = p.timestamps.length === ts.length && p.timestamps.every((t, i) => t === ts[i]);
        for (const s of p.series) {
            if (!same) {
                const v = new Array(ts.length).fill(null);
                p.timestamps.forEach((t, i) => {
                    const j = at.get(t);
                    if (j !== undefined)
                        v[j] = s.values[i];
                });
                s.values = v;
            }
            out.series.push(s);
        }
    }
    return out;
}

// Request families: counters of requests, and the server request-duration
// histograms (lumen/instrument.h's http_server_request_duration_seconds),
// whose _count counts requests. Latency comes from the first duration
// histogram, a server request one if there is one.
function pickFamilies(fams) {
  const counters = fams.filter(f => f.type === 'counter' && /requests?(_total)?$/.test(f.name) && !/client/.test(f.name));
  const served = fams.filter(f => f.type === 'histogram' && /server_request_duration_seconds$/.test(f.name));
  const hists = fams.filter(f => f.type === 'histogram' && /(duration|latency)/.test(f.name) && /seconds/.test(f.name))
    .sort((a, b) => served.includes(b) - served.includes(a));
  return { counters: [...counters, ...served], hists };
}

function isRequestCount(f, s) {
  return s.family === f.name && (f.type === 'counter' ? !s.name.endsWith('_created') : s.name.endsWith('_count'));
}

async function refreshMetrics() {
  const fams = (await getJSON('/api/metrics/families')).families;
  metricsState.families = fams;
  const { counters, hists } = pickFamilies(fams);
  const wanted = [...new Set([
      ...counters.map(f => f.name), ...hists.map(f => f.name), 'process_cpu_seconds',
      'process_cpu_seconds_total', 'process_resident_memory_bytes', ...metricsState.picked
  ]) ];
  const data = await fetchSeries(wanted);
  const ts = data.timestamps, n = ts.length;

  // Request and error rates, per request-counter family.
  const rateLines = [], errLines = [];
  let totalRate = null, totalErr = null;
  for (const f of counters) {
    const series = data.series.filter(s => isRequestCount(f, s));
    const all = sumArrays(series.map(s => rate(ts, s.values)), n);
    const errs = sumArrays(series.filter(s => isErrorSeries(s.labels)).map(s => rate(ts, s.values)), n);
    const ratio = all.map((v, k) => v ? (errs[k] || 0) / v : (v === 0 ? 0 : null));
    rateLines.push({ label: f.name, values: all });
    errLines.push({ label: f.name + ' (5xx share)', values: ratio });
    totalRate = (totalRate || 0) + (last(all) || 0);
    totalErr = last(ratio);
  }
  const rc = document.getElementById('card-rate');
  rc.querySelector('.sub').textContent = counters.length ? 'per second, from ' + counters.map(f => f.name).join(', ') : 'no *_requests_total counter or *_server_request_duration_seconds histogram registered';
  rc.querySelector('.big').textContent = counters.length ? fmtNum(totalRate) + ' req/s' : '';
  drawChart(rc, ts, rateLines, '');
  const ec = document.getElementById('card-errors');
  ec.querySelector('.sub').textContent = counters.length ? 'share of requests with a 5xx status' : '';
  ec.querySelector('.big').textContent = counters.length ? fmtNum(totalErr, '%') : '';
  drawChart(ec, ts, errLines, '%');

  // Latency percentiles of the first latency histogram.
  const lc = document.getElementById('card-latency');
  if (hists.length) {
    const h = hists[0].name;
    const [p50, p95, p99] = histogramQuantiles(data, h, [0.5, 0.95, 0.99], 5);
    lc.querySelector('.sub').textContent = h + ', over 10 s windows';
    lc.querySelector('.big').textContent = 'p99 ' + fmtNum(last(p99), 's');
    drawChart(lc, ts, [{ label: 'p50', values: p50 }, { label: 'p95', values: p95 }, { label: 'p99', values: p99 }], 's');
  } else {
    lc.querySelector('.sub').textContent = 'no *_duration_seconds histogram registered';
    drawChart(lc, ts, [], 's');
  }

  const cpu = data.series.filter(s => s.family.startsWith('process_cpu_seconds'));
  const cpuRate = sumArrays(cpu.map(s => rate(ts, s.values)), n);
  const cc = document.getElementById('card-cpu');
  cc.querySelector('.big').textContent = cpu.length ? fmtNum(last(cpuRate)) + ' cores' : '';
  drawChart(cc, ts, cpu.length ? [{ label: 'cpu', values: cpuRate }] : [], '');
  const mem = data.series.filter(s => s.family === 'process_resident_memory_bytes');
  const mc = document.getElementById('card-mem');
  mc.querySelector('.big').textContent = mem.length ? fmtNum(last(mem[0].values), 'bytes') : '';
  drawChart(mc, ts, mem.map(s => ({ label: 'resident', values: s.values })), 'bytes');

  renderPicked(data);
  renderFamilyTable();
  // Whatever was not charted is said, never dropped silently.
  const missing = [];
  if (data.series_cut)
      missing.push(data.series_cut + ' series over the limit of ' + SERIES_LIMIT);
  if (data.families_ignored)
      missing.push(data.families_ignored + ' families the server did not take');
  document.getElementById('not-charted').textContent =
      missing.length ? 'Not charted: ' + missing.join(', ') : '';
  setStatus('updated ' + fmtTime(Date.now()) + ' · ' + n + ' points' +
            (missing.length ? ' · some series not charted' : ''));
}

function seriesLabel(s) {
  const keys = Object.keys(s.labels).filter(k => k !== 'le');
  return keys.length ? keys.map(k => k + '=' + s.labels[k]).join(' ') : s.name;
}

const MAX_LINES = 8;

function renderPicked(data) {
  const box = document.getElementById('picked');
  box.replaceChildren();
  const ts = data.timestamps;
  for (const name of metricsState.picked) {
    const fam = metricsState.families.find(f => f.name === name);
    if (!fam) continue;
    const card = el(
        'div', {class : 'card', 'data-family' : name}, el('h2', {text : name}),
        el('div', {class : 'sub', text : fam.type + (fam.help ? ' · ' + fam.help : '')}),
        el('div', {class : 'big'}), svgEl('svg', {class : 'chart'}), el('div', {class : 'legend'}));
    box.append(card);
    const series = data.series.filter(s => s.family === name);
    let lines;
    if (fam.type === 'histogram') {
      const q = histogramQuantiles(data, name, [0.5, 0.95, 0.99], 5);
      lines = [
          {label : 'p50', values : q[0]}, {label : 'p95', values : q[1]},
          {label : 'p99', values : q[2]}
      ];
    } else {
        // At most MAX_LINES lines a card; the card says when there are more.
        const all = fam.type === 'counter'
                        ? series.filter(s => !s.name.endsWith('_created'))
                        : series.filter(s => !/_(sum|count|created)$/.test(s.name));
        lines = all.slice(0, MAX_LINES)
                    .map(s => fam.type === 'counter'
                                  ? {label : seriesLabel(s) + ' /s', values : rate(ts, s.values)}
                                  : {label : seriesLabel(s), values : s.values});
        if (all.length > MAX_LINES)
            card.append(
                el('div',
                   {class : 'sub more', text : MAX_LINES + ' of ' + all.length + ' series drawn'}));
    }
    drawChart(card, ts, lines, /bytes/.test(name) ? 'bytes' : (/seconds/.test(name) && fam.type !== 'counter' ? 's' : ''));
  }
}

function renderFamilyTable() {
  const tbody = document.querySelector('#families tbody');
  const f = (document.getElementById('filter').value || '').toLowerCase();
  const rows = metricsState.families.filter(x => x.name.toLowerCase().includes(f));
  tbody.replaceChildren(...rows.map(x => el('tr', {
    class: 'clickable', title: 'chart this family',
    onclick: () => { metricsState.picked.has(x.name) ? metricsState.picked.delete(x.name) : metricsState.picked.add(x.name); refreshMetrics().catch(showError); }
  }, el('td', { class: 'mono', text: x.name }), el('td', { text: x.type }), el('td', { text: String(x.series) }), el('td', { text: x.help }))));
  document.getElementById('fam-count').textContent = rows.length + ' of ' + metricsState.families.length + ' families';
}

// ---- traces page -------------------------------------------------------------

const SERVICE_COLORS = new Map();
function serviceColor(svc) {
  if (!SERVICE_COLORS.has(svc)) SERVICE_COLORS.set(svc, PALETTE[SERVICE_COLORS.size % PALETTE.length]);
  return SERVICE_COLORS.get(svc);
}

async function refreshTraces() {
  const errorsOnly = document.getElementById('errors-only').checked;
  const minMs = parseFloat(document.getElementById('min-ms').value) || 0;
  const want = (document.getElementById('trace-id').value || '').trim().toLowerCase();
  const params = new URLSearchParams({ limit: '100' });
  if (errorsOnly) params.set('errors', '1');
  if (minMs > 0) params.set('min_ms', String(minMs));
  const data = await getJSON('/api/traces?' + params);
  const tbody = document.querySelector('#traces tbody');
  tbody.replaceChildren(...data.traces.filter(t => !want || t.trace_id.startsWith(want)).map(t => el('tr', {
    class: 'clickable', 'data-trace-id': t.trace_id, onclick: () => showTrace(t.trace_id)
  },
  el('td', { class: 'mono', text: fmtTime(t.start_ns / 1e6) }),
  el('td', { text: t.root_name }),
  el('td', { text: (t.services || []).join(', ') }),
  el('td', { text: String(t.spans) }),
  el('td', { text: fmtDur(t.duration_ns) }),
  el('td', {}, el('span', { class: 'pill ' + (t.error ? 'err' : 'ok'), text: t.error ? 'error' : 'ok' })),
  el('td', { class: 'mono', text: t.trace_id }))));
  setStatus('updated ' + fmtTime(Date.now()) + ' · ' + data.traces.length + ' recent traces');
}

async function showTrace(id) {
  if (!/^[0-9a-f]{32}$/.test(id)) return;
  const data = await getJSON('/api/traces/' + id);
  const view = document.getElementById('trace-view');
  view.hidden = false;
  if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
  const spans = data.spans;
  const byId = new Map(spans.map(s => [s.span_id, s]));
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id)) {
      if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
      kids.get(s.parent_span_id).push(s);
    } else roots.push(s);
  }
  const t0 = Math.min(...spans.map(s => s.start_ns)), t1 = Math.max(...spans.map(s => s.end_ns));
  const services = [...new Set(spans.map(s => s.service))];
  document.getElementById('trace-title').textContent = 'Trace ' + id;
  document.getElementById('trace-sub').textContent = spans.length + ' spans · ' + services.join(', ') + ' · ' + fmtDur(t1 - t0);
  const tree = document.getElementById('tree');
  tree.replaceChildren();
  const walk = (s, depth) => {
    const left = ((s.start_ns - t0) / Math.max(1, t1 - t0)) * 100;
    const width = Math.max(0.3, ((s.end_ns - s.start_ns) / Math.max(1, t1 - t0)) * 100);
    const bar = el('div', { class: 'bar' });
    bar.style.left = left + '%';
    bar.style.width = width + '%';
    bar.style.background = s.status && s.status.code === 2 ? 'var(--err)' : serviceColor(s.service);
    const details = el('dl', { class: 'details', hidden: '' });
    const add = (k, v) => details.append(el('dt', { text: k }), el('dd', { text: v }));
    add('span id', s.span_id);
    add('parent', s.parent_span_id || '(root)');
    add('kind', String(s.kind));
    if (s.status && s.status.code) add('status', (s.status.code === 2 ? 'error' : 'ok') + (s.status.message ? ': ' + s.status.message : ''));
    for (const [k, v] of Object.entries(s.attributes || {})) add(k, typeof v === 'string' ? v : JSON.stringify(v));
    for (const e of s.events || []) add('event', e.name);
    // Indentation through the CSSOM: the page's CSP refuses style attributes.
    const indent = el('span', { class: 'indent' });
    indent.style.width = depth * 16 + 'px';
    const row = el('div', { class: 'span-row', 'data-span-id': s.span_id, 'data-service': s.service, onclick: () => { details.hidden = !details.hidden; } },
      el('div', { class: 'name' }, indent, el('span', { class: 'svc', text: s.service }), el('span', { text: s.name })),
      el('div', { class: 'bar-wrap' }, bar),
      el('div', { class: 'dur', text: fmtDur(s.end_ns - s.start_ns) }));
    tree.append(row, details);
    (kids.get(s.span_id) || []).sort((a, b) => a.start_ns - b.start_ns).forEach(c => walk(c, depth + 1));
  };
  roots.sort((a, b) => a.start_ns - b.start_ns).forEach(r => walk(r, 0));
  view.scrollIntoView({ block: 'nearest' });
}

// ---- logs page ---------------------------------------------------------------

// The console keeps log lines as the JSON formatter wrote them, with
// lumen's field names; everything that is not one of the record's own
// fields is the event's data.
const RECORD_KEYS = new Set(['ts', 'level', 'logger', 'msg', 'trace_id', 'span_id', 'trace_flags', 'request_id', 'src', 'suppressed']);

async function refreshLogs() {
  const params = new URLSearchParams({ limit: '500', level: document.getElementById('level').value });
  const tid = (document.getElementById('trace-id').value || '').trim().toLowerCase();
  if (tid) params.set('trace_id', tid);
  const text = (document.getElementById('text').value || '').toLowerCase();
  const data = await getJSON('/api/logs?' + params);
  const tbody = document.querySelector('#logs tbody');
  // Lines from peer consoles (for one trace) arrive after the local ones.
  data.logs.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const rows = data.logs.filter(l => !text || JSON.stringify(l).toLowerCase().includes(text));
  tbody.replaceChildren(...rows.reverse().map(l => {
    const fields = Object.entries(l).filter(([k]) => !RECORD_KEYS.has(k))
      .map(([k, v]) => k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
    const trace = l.trace_id ? el('a', { class: 'mono', href: '/traces#' + l.trace_id, text: l.trace_id.slice(0, 16) + '…' }) : '';
    return el('tr', { class: 'log-line', 'data-level': l.level, 'data-trace-id': l.trace_id || '' },
      el('td', { class: 'mono', text: (l.ts || '').replace('T', ' ').replace('Z', '') }),
      el('td', { class: 'lv-' + l.level, text: l.level }),
      el('td', { class: 'mono', text: l.logger || '' }),
      el('td', { class: 'msg' }, el('span', { text: l.msg || '' }), fields ? el('div', { class: 'fields', text: fields }) : null,
        l.request_id ? el('div', { class: 'fields', text: 'request_id=' + l.request_id }) : null),
      el('td', {}, trace));
  }));
  setStatus('updated ' + fmtTime(Date.now()) + ' · ' + rows.length + ' lines, newest first');
}

// ---- wiring --------------------------------------------------------------------

function showError(e) {
  setStatus('error: ' + e.message);
}

function loop(fn) {
  const run = () => fn().catch(showError);
  run();
  setInterval(run, REFRESH_MS);
  return run;
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  if (page === 'metrics') {
    const run = loop(refreshMetrics);
    document.getElementById('filter').addEventListener('input', renderFamilyTable);
    window.addEventListener('resize', run);
  } else if (page === 'traces') {
    const run = loop(refreshTraces);
    for (const id of ['errors-only', 'min-ms', 'trace-id']) document.getElementById(id).addEventListener('change', run);
    const h = location.hash.slice(1);
    if (/^[0-9a-f]{32}$/.test(h)) {
      document.getElementById('trace-id').value = h;
      showTrace(h).catch(showError);
    }
  } else if (page === 'logs') {
    const run = loop(refreshLogs);
    for (const id of ['level', 'trace-id', 'text']) document.getElementById(id).addEventListener('input', run);
    const q = new URLSearchParams(location.search);
    if (q.get('trace_id')) { document.getElementById('trace-id').value = q.get('trace_id'); run(); }
  }
});
