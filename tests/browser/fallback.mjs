// fallback.mjs — open the watch page where WebRTC cannot connect (lsp-rtc
// answers, but offers a candidate nobody can reach) and check the page falls
// back to LL-HLS *with a picture*: body data-transport="ll-hls", the <video>
// advances by 2 s, a frame drawn from it is not black, and the latency shown
// is LL-HLS's.  Then pins the rendition that is already playing and checks
// that automatic switching is really off.
// Usage: node fallback.mjs WATCH_URL [--timeout S] [--screenshot FILE]
// Prints one JSON line; exits 0 when all holds, 1 otherwise, 2 on usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || url.startsWith('--')) { console.error('usage: node fallback.mjs WATCH_URL [--timeout S] [--screenshot FILE]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 30) * 1000;
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
  let first = null, sawWebrtcTry = false;
  while (Date.now() - t0 < timeoutMs) {
    last = await page.evaluate(() => {
      const v = document.querySelector('video');
      const c = document.createElement('canvas');
      c.width = 64; c.height = 36;
      let mean = 0, spread = 0;
      try {
        const g = c.getContext('2d');
        g.drawImage(v, 0, 0, c.width, c.height);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const lum = [];
        for (let i = 0; i < d.length; i += 4) lum.push(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
        mean = lum.reduce((a, b) => a + b, 0) / lum.length;
        spread = Math.sqrt(lum.reduce((a, b) => a + (b - mean) * (b - mean), 0) / lum.length);
      } catch (e) { /* not drawable yet */ }
      return {
        transport: document.body.dataset.transport || null,
        mode: (document.getElementById('mode') || {}).textContent || null,
        latency: document.body.dataset.latency || null,
        shown: (document.getElementById('latency') || {}).textContent || null,
        srcObject: !!v.srcObject,
        currentTime: v.currentTime,
        mean: Math.round(mean), spread: Math.round(spread),
      };
    });
    if (last.transport === 'webrtc') sawWebrtcTry = true;
    if (last.transport === 'll-hls' && first === null && last.currentTime > 0) first = last.currentTime;
    last.advanced = first === null ? 0 : +(last.currentTime - first).toFixed(2);
    last.triedWebrtc = sawWebrtcTry;
    if (last.transport === 'll-hls' && !last.srcObject && last.advanced >= 2 && last.mean > 20 && last.spread > 10 &&
        last.latency && Number(last.latency) > 0 && Number(last.latency) < 10) { rc = 0; break; }
    await page.waitForTimeout(250);
  }
  if (opt('--screenshot')) await page.screenshot({ path: opt('--screenshot') });
  if (rc === 0) {
    // pin the rendition hls.js is playing now: automatic switching must stop
    const pin = await page.evaluate(async () => {
      const p = window.lspPlayer, q = document.getElementById('quality');
      if (!p || !p.hls || !q) return { error: 'no player/hls/quality menu' };
      const cur = String(p.hls.currentLevel < 0 ? 0 : p.hls.currentLevel);
      q.value = cur;
      q.dispatchEvent(new Event('change'));
      await new Promise(r => setTimeout(r, 500));
      return { pinned: cur, auto: p.hls.autoLevelEnabled, manual: p.hls.manualLevel };
    });
    last.pin = pin;
    if (pin.error || pin.auto !== false || String(pin.manual) !== pin.pinned) rc = 1;
  }
} catch (e) {
  last.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(last));
process.exit(rc);
