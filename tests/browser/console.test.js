// The lumen console in headless Chromium (Debian's, driven by
// playwright-core): the charts have data points, a trace across both demo
// services renders as one tree, the log filters work, and hostile strings
// from metrics, spans and logs show as text — no script runs, no element is
// injected, and the Content-Security-Policy is never violated.
// Usage: node console.test.js API_CONSOLE FIXTURE_CONSOLE TRACE_ID ARTIFACT_DIR
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

const [apiUrl, fixtureUrl, traceId, artifacts] = process.argv.slice(2);
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined ? ': ' + detail : ''}`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const dialogs = [], errors = [];
  page.on('dialog', d => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', e => errors.push(String(e)));
  const shot = name => page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });

  // ---- metrics: every overview chart has points -----------------------------
  await page.goto(apiUrl + '/');
  const cards = ['card-rate', 'card-errors', 'card-latency', 'card-cpu', 'card-mem'];
  try {
    await page.waitForFunction(ids => ids.every(id => {
      const svg = document.querySelector('#' + id + ' svg.chart');
      return svg && Number(svg.dataset.points) > 0;
    }), cards, { timeout: 30000 });
  } catch (e) { /* reported below */ }
  const points = await page.evaluate(ids => ids.map(id => Number(document.querySelector('#' + id + ' svg.chart').dataset.points || 0)), cards);
  check('metrics page: every chart has data points', points.every(p => p > 0), cards.map((c, i) => c + '=' + points[i]).join(' '));
  const lines = await page.locator('#card-rate path.series').count();
  check('metrics page: the request-rate chart draws a line', lines > 0, lines);
  // The demo counts requests with lumen's server instrumentation only: the
  // rate comes from its histogram's _count, the latency from that histogram
  // (not the client or database ones beside it).
  const rateFrom = await page.$eval('#card-rate .sub', e => e.textContent);
  check('metrics page: the request rate comes from http_server_request_duration_seconds',
    rateFrom.includes('http_server_request_duration_seconds'), rateFrom);
  const latencyFrom = await page.$eval('#card-latency .sub', e => e.textContent);
  check('metrics page: the latency percentiles come from http_server_request_duration_seconds',
    latencyFrom.startsWith('http_server_request_duration_seconds,'), latencyFrom);
  await shot('metrics');

  // ---- traces: one tree with both services ------------------------------------
  check('a trace across both services was found to open', /^[0-9a-f]{32}$/.test(traceId), traceId);
  await page.goto(apiUrl + '/traces#' + traceId);
  try { await page.waitForSelector('.span-row', { timeout: 15000 }); } catch (e) { /* below */ }
  const services = await page.$$eval('.span-row', rows => rows.map(r => r.dataset.service));
  check('traces page: the tree holds both services\' spans',
    services.includes('microposts-api') && services.includes('microposts-store'), services.join(','));
  const depth = await page.$$eval('.span-row .indent', els => Math.max(...els.map(e => e.getBoundingClientRect().width)));
  check('traces page: child spans are indented under their parents', depth >= 32, depth);
  const listed = await page.locator('#traces tbody tr').count();
  check('traces page: the recent traces list has rows', listed > 0, listed);
  await shot('traces');

  // ---- logs: level and trace filters --------------------------------------------
  await page.goto(apiUrl + '/logs');
  await page.waitForSelector('#logs tbody tr', { timeout: 15000 });
  await page.selectOption('#level', 'error');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#logs tbody tr')];
    return rows.length > 0 && rows.every(r => r.dataset.level === 'error' || r.dataset.level === 'fatal');
  }, null, { timeout: 15000 }).catch(() => {});
  const levels = await page.$$eval('#logs tbody tr', rows => rows.map(r => r.dataset.level));
  check('logs page: the level filter keeps only errors', levels.length > 0 && levels.every(l => l === 'error' || l === 'fatal'),
    `${levels.length} rows: ${[...new Set(levels)].join(',')}`);
  const tid = levels.length ? await page.$eval('#logs tbody tr', r => r.dataset.traceId) : '';
  await page.selectOption('#level', 'trace');
  await page.fill('#trace-id', tid);
  await page.waitForFunction(t => {
    const rows = [...document.querySelectorAll('#logs tbody tr')];
    return rows.length > 0 && rows.every(r => r.dataset.traceId === t);
  }, tid, { timeout: 15000 }).catch(() => {});
  const ids = await page.$$eval('#logs tbody tr', rows => rows.map(r => r.dataset.traceId));
  check('logs page: the trace filter keeps only that trace\'s lines', tid && ids.length > 0 && ids.every(x => x === tid), `${ids.length} rows for ${tid}`);
  const link = await page.$eval('#logs tbody tr a', a => a.getAttribute('href')).catch(() => null);
  check('logs page: each line links to its trace', link === '/traces#' + tid, link);
  await shot('logs');

  // ---- hostile strings are text -------------------------------------------------
  await page.goto(fixtureUrl + '/');
  await page.waitForSelector('#families tbody tr', { timeout: 15000 });
  await page.locator('#families tbody tr', { hasText: 'hostile_requests' }).first().click();
  await page.waitForSelector('#picked .legend span', { timeout: 15000 }).catch(() => {});
  const legend = await page.$$eval('#picked .legend span', s => s.map(x => x.textContent));
  check('a label value <script>alert(1)</script> shows as text', legend.some(t => t.includes('<script>alert(1)</script>')), JSON.stringify(legend));
  const help = await page.$$eval('#families td', tds => tds.map(t => t.textContent).filter(t => t.includes('bold')));
  check('HELP text with markup shows as text', help.some(t => t.includes('</script><b>bold</b>')), JSON.stringify(help));
  await shot('hostile-metrics');

  // ---- the metrics page's limits ------------------------------------------------
  // A 10,000-character HELP without a space wraps: the page is no wider
  // than the window, in the table and in the family's card.
  const widths = async () =>
      page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  let w = await widths();
  check('a 10,000-character HELP wraps in the families table', w[0] <= w[1], w.join(' > '));
  await page.locator('#families tbody tr', {hasText : 'long_help_total'}).first().click();
  await page.waitForSelector('#picked .card[data-family="long_help_total"]', {timeout : 15000})
      .catch(() => {});
  w = await widths();
  check('... and in its chart card', w[0] <= w[1], w.join(' > '));
  // 70 more families picked (71 with long_help, plus the overview's own):
  // more than the 64 one series request takes. Every card is charted.
  // Each click is confirmed by its card before the next: on a loaded
  // machine a click can land while the table is being redrawn and be lost
  // (one of 70 was, once); a click whose card did not come is made again.
  for (let i = 0; i < 70; i++) {
      const name = 'many_' + String(i).padStart(2, '0');
      for (let attempt = 0; attempt < 3; attempt++) {
          await page.locator('#families tbody tr', {hasText : name}).first().click();
          const came = await page
                           .waitForSelector(`#picked .card[data-family="${name}"]`,
                                            {timeout : 5000})
                           .then(() => true, () => false);
          if (came)
              break;
      }
  }
  const allCharted = () => {
      const cards = [...document.querySelectorAll('#picked .card') ];
      return cards.length === 72 &&
             cards.every(c => Number(c.querySelector('svg.chart').dataset.points) > 0);
  };
  await page.waitForFunction(allCharted, null, {timeout : 30000}).catch(() => {});
  const charted = await page.$$eval(
      '#picked .card',
      cs => cs.map(c => [c.dataset.family, Number(c.querySelector('svg.chart').dataset.points)]));
  const blank = charted.filter(([, p ]) => !(p > 0)).map(([ f ]) => f);
  check('72 picked families are all charted (the page asks 64 at a time)',
        charted.length === 72 && blank.length === 0,
        `${charted.length} cards, not charted: ${blank.join(',')}`);
  const notice = await page.$eval('#not-charted', e => e.textContent).catch(() => null);
  check('the page says what it did not chart (nothing here)', notice === '',
        JSON.stringify(notice));
  await shot('many-families');

  await page.goto(fixtureUrl + '/traces');
  await page.waitForSelector('#traces tbody tr', { timeout: 15000 });
  await page.locator('#traces tbody tr').first().click();
  await page.waitForSelector('.span-row', { timeout: 15000 });
  await page.locator('.span-row').first().click();
  const spanText = await page.$eval('#tree', t => t.textContent);
  check('a span name and attribute with markup show as text',
    spanText.includes('<img src=x onerror=alert(3)>') && spanText.includes('<script>alert(4)</script>'), spanText.slice(0, 200));
  await shot('hostile-traces');

  await page.goto(fixtureUrl + '/logs');
  await page.waitForSelector('#logs tbody tr', { timeout: 15000 });
  const logText = await page.$eval('#logs tbody', t => t.textContent);
  check('a log message and field with markup show as text',
    logText.includes('<script>alert(5)</script>') && logText.includes('field<i>='), logText.slice(0, 200));
  await shot('hostile-logs');

  const injected = await page.evaluate(() => ({ scripts: document.scripts.length, imgs: document.images.length, b: document.querySelectorAll('main b, main i').length }));
  check('no element was injected into the page', injected.scripts === 1 && injected.imgs === 0 && injected.b === 0, JSON.stringify(injected));
  check('no script from the data ran (no dialog opened)', dialogs.length === 0, JSON.stringify(dialogs));
  check('no CSP violation or script error on any page', errors.length === 0, JSON.stringify(errors.slice(0, 5)));
  await browser.close();
}

main().catch(e => { check('browser run', false, e.stack); }).finally(() => {
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
