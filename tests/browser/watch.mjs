// watch.mjs — open an lsp watch page in headless Chromium and wait until the
// <video> plays: currentTime must advance by at least 2 s.
// Usage: node watch.mjs URL [--timeout S] [--screenshot FILE] [--mobile-shot FILE]
// Prints one JSON line {currentTime, advanced, latency, level, state}; exits
// 1 on timeout, 2 on usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args.find(a => !a.startsWith('--') && !args[args.indexOf(a) - 1]?.startsWith('--'));
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url) { console.error('usage: node watch.mjs URL [--timeout S] [--screenshot FILE] [--mobile-shot FILE]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 30) * 1000;
const shot = opt('--screenshot');
const mshot = opt('--mobile-shot');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const t0 = Date.now();
  let first = null, last = null;
  while (Date.now() - t0 < timeoutMs) {
    last = await page.evaluate(() => {
      const p = window.lspPlayer || {};
      const v = p.video || document.querySelector('video');
      return { currentTime: v ? v.currentTime : 0, latency: p.latency ?? null, edgeLatency: p.edgeLatency ?? null, level: p.level ?? null, state: p.state ?? null };
    });
    if (first === null && last.currentTime > 0) first = last.currentTime;
    if (first !== null && last.currentTime - first >= 2) { rc = 0; break; }
    await page.waitForTimeout(250);
  }
  last.advanced = first === null ? 0 : last.currentTime - first;
  if (shot) await page.screenshot({ path: shot });
  if (mshot) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: mshot });
  }
  console.log(JSON.stringify(last));
} finally {
  await browser.close();
}
process.exit(rc);
