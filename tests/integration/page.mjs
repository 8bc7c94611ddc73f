// The drawing page at / in real Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core; never a downloaded browser). Run by
// tests/integration/test_page_browser.sh, which starts the service.
//   node page.mjs PLAYWRIGHT_DIR URL STROKES_JSON IMAGES_DIR SHOTS_DIR
// Prints TAP lines ("ok - ...", "not ok - ...") and "# ..." notes.
//
// It draws every digit with the mouse from pen strokes traced from real TEST
// samples (tests/page/strokes.json), uploads photos (picked and dropped) and
// a GIF, draws one digit by touch on a phone-sized screen, and watches that
// nothing leaves 127.0.0.1, nothing breaks the Content-Security-Policy, and
// nothing is logged as an error.
import fs from 'node:fs';
import path from 'node:path';

const [pwDir, url, strokesPath, imagesDir, shotsDir] = process.argv.slice(2);
const { chromium } = await import(path.resolve(pwDir, 'node_modules/playwright-core/index.mjs'));
const origin = new URL(url).origin;
const strokes = JSON.parse(fs.readFileSync(strokesPath, 'utf8')).digits;
const manifest = Object.fromEntries(fs.readFileSync(path.join(imagesDir, 'MANIFEST'), 'utf8')
  .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/)));

let failed = 0;
function check(cond, name) {
  if (cond) console.log(`ok - ${name}`);
  else { failed++; console.log(`not ok - ${name}`); }
  return cond;
}
const note = (s) => console.log(`# ${s}`);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});

// What every page of the run saw: requests elsewhere, console errors, CSP.
const offsite = [];
const problems = [];
let inflight = 0;
let maxInflight = 0;
let predicts = 0;
// Chromium logs every 4xx response as a console error; the GIF's 400 is the
// one the test asks for, so it is expected (once) while that step runs.
let expect400 = false;
let seen400 = 0;

async function newPage(options) {
  const context = await browser.newContext({ reducedMotion: 'reduce', ...options });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + '/') || u.startsWith('data:') || u.startsWith('blob:')) {
      return route.continue();
    }
    offsite.push(u);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on('console', (m) => {
    if (expect400 && m.type() === 'error' && /status of 400/.test(m.text()) &&
        new URL(m.location().url).pathname === '/predict') {
      seen400++;
      return;
    }
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/predict') {
      predicts++;
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
    }
  });
  const done = (r) => { if (new URL(r.url()).pathname === '/predict') inflight--; };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  return { context, page };
}

// The shown answer is for what is on the canvas now, and nothing is pending.
async function settled(page) {
  await page.waitForFunction(() => {
    const r = document.getElementById('result');
    return r.getAttribute('aria-busy') === 'false' &&
      r.dataset.version === document.getElementById('pad').dataset.version;
  }, null, { timeout: 30000 });
}

async function answer(page) {
  return page.evaluate(() => {
    const bars = Array.from(document.querySelectorAll('#bars li'));
    const img = document.getElementById('model-input');
    const err = document.getElementById('error');
    return {
      digit: document.getElementById('digit').textContent.trim(),
      confidence: document.getElementById('confidence').textContent.trim(),
      bars: bars.map((li) => ({ d: li.dataset.digit, p: parseFloat(li.dataset.p), win: li.classList.contains('win') })),
      seen: !img.hidden && img.complete && img.naturalWidth === 28 && img.naturalHeight === 28 &&
        img.src.startsWith('data:image/png;base64,'),
      seenBox: img.getBoundingClientRect().width,
      pixelated: getComputedStyle(img).imageRendering,
      error: err.hidden ? '' : err.textContent,
      status: document.getElementById('status').textContent,
      meta: document.getElementById('meta').textContent,
    };
  });
}

// Draw one digit's strokes with the mouse, scaled to the canvas box.
async function drawMouse(page, digit, { release = true } = {}) {
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (let i = 0; i < digit.strokes.length; i++) {
    const pts = digit.strokes[i].map(at);
    await page.mouse.move(...pts[0]);
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(...p, { steps: 2 });
    if (release || i < digit.strokes.length - 1) await page.mouse.up();
  }
}

function barsOk(a) {
  const sum = a.bars.reduce((s, b) => s + b.p, 0);
  const order = a.bars.every((b, i) => b.d === String(i));
  const win = a.bars.filter((b) => b.win);
  return a.bars.length === 10 && order && a.bars.every((b) => b.p >= 0 && b.p <= 1) &&
    Math.abs(sum - 1) < 0.01 && win.length === 1 && win[0].d === a.digit;
}

// ---- desktop: every digit by mouse --------------------------------------
{
  const { context, page } = await newPage({ viewport: { width: 1280, height: 800 } });
  const res = await page.goto(url + '/');
  const csp = res.headers()['content-security-policy'] || '';
  check(res.status() === 200, 'GET / answers 200');
  check(/script-src 'self'/.test(csp) && /style-src 'self'(;|$)/.test(csp) && !/unsafe/.test(csp) &&
    /default-src 'self'/.test(csp), `the page has a strict Content-Security-Policy (${csp})`);
  check(!/<script>|<style>|\sstyle=|\son[a-z]+=/i.test(await res.text()),
    'the page has no inline script, style or handler');

  // A prediction arrives while the pen is still down.
  await drawMouse(page, strokes[0], { release: false });
  await page.waitForFunction(() => /^\d$/.test(document.getElementById('digit').textContent),
    null, { timeout: 30000 }).then(() => true, () => false)
    .then((v) => check(v, 'a prediction shows while drawing, before the stroke ends'));
  await page.mouse.up();

  let right = 0;
  for (const d of strokes) {
    await page.keyboard.press('Escape'); // clear
    await drawMouse(page, d);
    await settled(page);
    const a = await answer(page);
    const okDigit = a.digit === String(d.digit);
    if (okDigit) right++;
    note(`drew ${d.digit} (TEST sample ${d.test_index}, ${d.strokes.length} strokes): read ${a.digit}, ${a.confidence}, ${a.meta}`);
    check(barsOk(a), `digit ${d.digit}: ten bars sum to 1, the winner highlighted`);
    check(a.seen, `digit ${d.digit}: the model's 28x28 input is shown`);
    if (d.digit === 5) {
      await page.waitForTimeout(200);
      await page.screenshot({ path: path.join(shotsDir, 'page-desktop.png') });
    }
  }
  check(right >= 9, `at least 9 of 10 drawn digits read correctly (${right}/10)`);
  console.log(`# digits read: ${right}/10`);
  const a = await answer(page);
  check(a.pixelated === 'pixelated' && a.seenBox >= 56, `the model input is enlarged and pixelated (${a.seenBox}px, ${a.pixelated})`);
  check(/^\d+ ms/.test(a.meta), `the time the answer took is shown (${a.meta})`);
  check(/^Read as \d, /.test(a.status) && await page.getAttribute('#status', 'aria-live') === 'polite',
    `a live region announces the result ("${a.status}")`);
  check(maxInflight === 1 && predicts >= 20, `at most one request in flight (max ${maxInflight}, ${predicts} requests)`);

  // Undo removes the last stroke, Clear empties the page.
  await page.keyboard.press('Escape');
  const four = strokes[4];
  await drawMouse(page, four);
  await settled(page);
  const v0 = await page.getAttribute('#pad', 'data-version');
  await page.click('#undo');
  await settled(page);
  check(await page.getAttribute('#pad', 'data-version') !== v0 && /^\d$/.test((await answer(page)).digit),
    'Undo takes back a stroke and the answer follows');
  for (let i = 1; i < four.strokes.length; i++) await page.keyboard.press('Control+z');
  check(await page.isDisabled('#undo'), 'Ctrl+Z undoes every stroke');
  await drawMouse(page, four);
  await settled(page);
  await page.click('#clear');
  const cleared = await answer(page);
  check(cleared.digit === '\u2013' && cleared.bars.every((b) => isNaN(b.p)) && !cleared.seen,
    'Clear empties the canvas and the answer');

  // Keyboard: the controls are reachable with Tab.
  await drawMouse(page, four);
  await settled(page);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const reached = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
  }
  check(['undo', 'clear', 'file'].every((id) => reached.includes(id)), `Tab reaches Undo, Clear and Photo (${reached.join(' ')})`);
  check(!(await page.isVisible('label[for=camera]')), 'no Camera button with a mouse');

  // Photos: picked with the file input.
  for (const f of ['photo_paper0.jpg', 'photo_paper1.jpg', 'photo_paper2.jpg', 'photo_paper3.jpg', 'photo_board0.jpg']) {
    await page.setInputFiles('#file', path.join(imagesDir, f));
    await settled(page);
    const a = await answer(page);
    check(a.digit === manifest[f] && barsOk(a) && a.seen && !a.error,
      `photo ${f} reads ${manifest[f]} (read ${a.digit}, ${a.confidence})`);
  }
  check(await page.isVisible('#photo') && !(await page.isVisible('#pad')), 'the photo is shown in place of the canvas');

  // A photo dropped on the page.
  const bytes = fs.readFileSync(path.join(imagesDir, 'photo_board1.jpg')).toString('base64');
  await page.evaluate((b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bin], 'photo_board1.jpg', { type: 'image/jpeg' }));
    const target = document.getElementById('drop');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await settled(page);
  const dropped = await answer(page);
  check(dropped.digit === manifest['photo_board1.jpg'] && dropped.seen,
    `a dropped photo is read (photo_board1.jpg: ${dropped.digit}, want ${manifest['photo_board1.jpg']})`);

  // A GIF: the API's own error text.
  expect400 = true;
  await page.setInputFiles('#file', path.join(imagesDir, 'bad_gif.gif'));
  await settled(page);
  const gif = await answer(page);
  expect400 = false;
  check(seen400 <= 1, `the GIF's 400 is the only console error Chromium logs for it (${seen400})`);
  check(/^Invalid file type: image\/gif\. Only JPEG and PNG are supported\. \(HTTP 400\)$/.test(gif.error) &&
    gif.digit === '\u2013' && !gif.seen, `a GIF shows the API's error ("${gif.error}")`);
  check(/^Error: Invalid file type/.test(gif.status), 'the live region announces the error');

  const csp1 = await page.evaluate(() => window.__csp);
  check(csp1.length === 0, `no Content-Security-Policy violation (${csp1.join('; ')})`);
  await context.close();
}

// ---- phone, dark: one digit by touch --------------------------------------
{
  const { context, page } = await newPage({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    colorScheme: 'dark',
  });
  await page.goto(url + '/');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 360, `no horizontal scrolling at 360 px (page is ${overflow} px wide)`);
  const paper = await page.evaluate(() => {
    const c = document.getElementById('pad').getContext('2d').getImageData(2, 2, 1, 1).data;
    return c[0] + c[1] + c[2];
  });
  check(paper < 100, `the dark scheme paints a dark canvas (rgb sum ${paper})`);
  const cdp = await context.newCDPSession(page);
  const box = await page.locator('#pad').boundingBox();
  const seven = strokes[7];
  for (const s of seven.strokes) {
    const pts = s.map(([x, y]) => ({ x: box.x + x * box.width, y: box.y + y * box.height }));
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [pts[0]] });
    for (const p of pts.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
  await settled(page);
  const a = await answer(page);
  check(a.digit === '7' && barsOk(a) && a.seen, `a 7 drawn by touch on a 360 px phone reads 7 (read ${a.digit}, ${a.confidence})`);
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(shotsDir, 'page-phone-dark.png') });

  // The camera button: a capture input, shown on a touch screen.
  const cam = await page.evaluate(() => {
    const i = document.getElementById('camera');
    const label = document.querySelector('label[for=camera]');
    return { capture: i.getAttribute('capture'), accept: i.accept, shown: label.offsetWidth > 0 };
  });
  check(cam.capture === 'environment' && cam.accept === 'image/*' && cam.shown,
    `a Camera button (capture=environment) on the phone (${JSON.stringify(cam)})`);
  await page.setInputFiles('#camera', path.join(imagesDir, 'photo_paper1.jpg'));
  await settled(page);
  const c = await answer(page);
  check(c.digit === manifest['photo_paper1.jpg'] && c.seen, `a camera photo is read (${c.digit})`);
  await context.close();
}

// ---- phone, light (screenshot) ----------------------------------------------
{
  const { context, page } = await newPage({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    colorScheme: 'light',
  });
  await page.goto(url + '/');
  await drawMouse(page, strokes[2]);
  await settled(page);
  const a = await answer(page);
  check(a.digit === '2', `a 2 drawn on a 360 px phone reads 2 (read ${a.digit})`);
  check(/^\d+ ms \u00b7 model [0-9a-f]{12}$/.test(a.meta), `the service's X-Model-Version is shown ("${a.meta}")`);
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(shotsDir, 'page-phone.png') });

  // Whatever X-Model-Version the answer carries is what the page shows:
  // the real answer, with the header replaced on its way to the page.
  await page.route('**/predict?*', async (route) => {
    const r = await route.fetch();
    await route.fulfill({ response: r, headers: { ...r.headers(), 'x-model-version': 'v-test-7' } });
  });
  await page.keyboard.press('Escape');
  await drawMouse(page, strokes[2]);
  await settled(page);
  const v = await answer(page);
  check(/^\d+ ms \u00b7 model v-test-7$/.test(v.meta), `the model version is shown when the response has one ("${v.meta}")`);
  await page.unroute('**/predict?*');
  const csp2 = await page.evaluate(() => window.__csp);
  check(csp2.length === 0, `no CSP violation on the phone (${csp2.join('; ')})`);
  await context.close();
}

check(offsite.length === 0, `no request leaves the service (${offsite.join(' ')})`);
check(problems.length === 0, `no console error, page error or failed request (${problems.join(' | ')})`);
await browser.close();
process.exit(failed ? 1 : 0);
