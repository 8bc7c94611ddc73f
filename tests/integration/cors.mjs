// CORS in real Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), run by tests/integration/test_cors_browser.sh:
//   node cors.mjs PLAYWRIGHT_DIR API_URL ORIGIN_A ORIGIN_B IMAGE
// A page on ORIGIN_A (allowed by --cors-origins) and one on ORIGIN_B (not
// allowed) call the API with fetch(): POST /predict with a multipart image
// and an X-Request-Id header (so the browser sends a preflight first),
// GET /health, GET /metrics. Prints TAP lines.
import fs from 'node:fs';
import path from 'node:path';

const [pwDir, api, originA, originB, image] = process.argv.slice(2);
const { chromium } = await import(path.resolve(pwDir, 'node_modules/playwright-core/index.mjs'));
let failed = 0;
function check(cond, name) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) failed++;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});

// Everything the page does, from inside the page (its origin).
async function calls(origin) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(origin + '/');
  const png = fs.readFileSync(image).toString('base64');
  return page.evaluate(async ([api, png]) => {
    const out = {};
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    async function attempt(name, url, init) {
      try {
        const r = await fetch(url, init);
        out[name] = { status: r.status, rid: r.headers.get('X-Request-Id'), body: await r.text() };
      } catch (e) {
        out[name] = { error: String(e) };
      }
    }
    const fd = new FormData();
    fd.append('file', new Blob([bytes], { type: 'image/png' }), 'digit.png');
    await attempt('predict', api + '/predict', {
      method: 'POST', body: fd, headers: { 'X-Request-Id': 'cors-' + location.port },
    });
    await attempt('health', api + '/health', {});
    await attempt('metrics', api + '/metrics', {});
    return out;
  }, [api, png]);
}

const a = await calls(originA);
check(a.predict && a.predict.status === 200 && /"digit":6/.test(a.predict.body),
  `origin A (allowed): POST /predict after its preflight reads the answer ${JSON.stringify(a.predict)}`);
check(a.predict && a.predict.rid === 'cors-' + new URL(originA).port,
  'origin A: the exposed X-Request-Id header is readable');
check(a.health && a.health.status === 200, 'origin A: GET /health succeeds');
check(a.metrics && a.metrics.error, `origin A: /metrics stays closed to other origins (${a.metrics && a.metrics.error})`);
const b = await calls(originB);
check(b.predict && b.predict.error, `origin B (not allowed): POST /predict is blocked (${b.predict && b.predict.error})`);
check(b.health && b.health.error, 'origin B: GET /health is blocked');
await browser.close();
process.exit(failed ? 1 : 0);
