// watchabr.mjs — the watch page's quality menu over WebRTC (web/watch.js):
// once the page plays over WebRTC, the menu must list "auto" and each
// rung lsp-rtc offers ("rtc:NAME"); choosing each --pick NAME in turn must
// bring the decoded picture to HEIGHT lines (NAME=HEIGHT), with the page
// still on WebRTC; then "auto" is chosen again.
// Usage: node watchabr.mjs WATCH_URL --pick NAME=HEIGHT [--pick …] [--timeout S]
// Prints one JSON line {options, picks: [{name, height, ms}], transport};
// exit 0 when every pick landed, 1 otherwise, 2 on usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const picks = args.flatMap((a, i) => a === '--pick' ? [args[i + 1].split('=')] : []);
if (!url || url.startsWith('--') || !picks.length) { console.error('usage: node watchabr.mjs WATCH_URL --pick NAME=HEIGHT [--pick …] [--timeout S]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 30) * 1000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1;
const out = { picks: [] };
const state = page => page.evaluate(() => ({
  transport: document.body.dataset.transport || null,
  height: document.querySelector('video').videoHeight,
  options: [...document.getElementById('quality').options].map(o => o.value),
  value: document.getElementById('quality').value,
  level: document.body.dataset.level || null,
}));
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const t0 = Date.now();
  let st = await state(page);
  const want = picks.map(p => 'rtc:' + p[0]);
  while (Date.now() - t0 < timeoutMs && !(st.transport === 'webrtc' && want.every(w => st.options.includes(w)))) {
    await page.waitForTimeout(250);
    st = await state(page);
  }
  out.options = st.options;
  out.transport = st.transport;
  if (st.transport !== 'webrtc' || !want.every(w => st.options.includes(w))) throw new Error('no WebRTC rungs in the menu: ' + JSON.stringify(st));
  if (!st.options.includes('rtc')) throw new Error('no auto entry over WebRTC');
  let ok = true;
  for (const [name, h] of picks) {
    const tp = Date.now();
    await page.selectOption('#quality', 'rtc:' + name);
    st = await state(page);
    while (Date.now() - tp < 20000 && st.height !== Number(h)) { await page.waitForTimeout(100); st = await state(page); }
    out.picks.push({ name, height: st.height, ms: Date.now() - tp, transport: st.transport, value: st.value });
    if (st.height !== Number(h) || st.transport !== 'webrtc') { ok = false; break; }
  }
  if (ok) {
    await page.selectOption('#quality', 'rtc');
    await page.waitForTimeout(1000);
    st = await state(page);
    out.auto = { transport: st.transport, value: st.value };
    ok = st.transport === 'webrtc' && st.value === 'rtc';
  }
  if (ok) rc = 0;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
