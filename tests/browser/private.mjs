// private.mjs — the watch page of a private or age-gated channel in headless
// Chromium: with --bearer TOKEN the page finds an lsp-api session (the
// studio's, in sessionStorage) and must play (currentTime advances >= 2 s);
// without one, or for a viewer who may not watch, it must say why.
// Usage: node private.mjs URL [--bearer TOKEN] [--timeout S]
// Prints one JSON line {played, denied, message, transport, vods (entries in
// the page's recording list)}; exits 0 played,
// 3 refused with a message, 1 neither before the timeout, 2 usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const url = args[0];
if (!url || url.startsWith('--')) { console.error('usage: node private.mjs URL [--bearer TOKEN] [--timeout S]'); process.exit(2); }
const bearer = opt('--bearer');
const timeoutMs = Number(opt('--timeout') || 40) * 1000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1, out = { played: 0, denied: null, message: null, transport: null, vods: 0 };
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  if (bearer) await page.addInitScript(t => sessionStorage.setItem('lsp-studio-token', t), bearer);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const t0 = Date.now();
  let first = null;
  while (Date.now() - t0 < timeoutMs) {
    const s = await page.evaluate(() => ({
      t: document.getElementById('video').currentTime,
      denied: document.body.dataset.denied || null,
      message: document.querySelector('#offline p').textContent,
      hidden: document.getElementById('offline').hidden,
      transport: document.body.dataset.transport || null,
      vods: document.querySelectorAll('#vodlist li').length,
    }));
    out.transport = s.transport;
    out.vods = s.vods;
    if (s.denied) { out.denied = s.denied; out.message = s.message; rc = 3; break; }
    if (first === null && s.t > 0) first = s.t;
    if (first !== null) out.played = s.t - first;
    if (out.played >= 2) { rc = 0; break; }
    await page.waitForTimeout(250);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
