// watchrtc.mjs — open the watch page in headless Chromium and wait until it
// plays over WebRTC: <body data-transport="webrtc">, the "mode" stat says
// WebRTC, a latency is shown and the <video> advances by 1 s.
// Usage: node watchrtc.mjs WATCH_URL [--timeout S]
// Prints one JSON line {transport, mode, latency, advanced, state}; exits 0
// when it plays over WebRTC, 1 otherwise, 2 on usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || url.startsWith('--')) { console.error('usage: node watchrtc.mjs WATCH_URL [--timeout S]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 20) * 1000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1, last = {};
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const t0 = Date.now();
  let first = null;
  while (Date.now() - t0 < timeoutMs) {
    last = await page.evaluate(() => ({
      transport: document.body.dataset.transport || null,
      mode: (document.getElementById('mode') || {}).textContent || null,
      latency: document.body.dataset.latency || null,
      state: document.body.dataset.state || null,
      currentTime: document.querySelector('video').currentTime,
    }));
    if (last.transport === 'webrtc' && first === null && last.currentTime > 0) first = last.currentTime;
    last.advanced = first === null ? 0 : last.currentTime - first;
    if (last.transport === 'webrtc' && last.mode === 'WebRTC' && last.latency && last.advanced >= 1) { rc = 0; break; }
    await page.waitForTimeout(250);
  }
} catch (e) {
  last.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(last));
process.exit(rc);
