// whep.mjs — play an lsp channel over WHEP in headless Chromium (web/whep.js)
// and wait until video frames are decoded.
// Usage: node whep.mjs WHEP_URL [--timeout S] [--frames N] [--hold S] [--until FILE]
//                     [--policy relay|all] [--ice-servers JSON]
// (--until: the hold ends early once FILE exists, so a test keeps a viewer
// playing exactly while its other checks run; --policy relay: only TURN
// relay candidates; --ice-servers: these instead of what lsp-rtc hands out)
// Prints one JSON line (the player's stats plus "ok"); exits 0 when at least
// N frames (default 30) were decoded, 1 on timeout, 2 on usage.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || url.startsWith('--')) { console.error('usage: node whep.mjs WHEP_URL [--timeout S] [--frames N] [--hold S] [--until FILE] [--policy relay|all] [--ice-servers JSON]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 20) * 1000;
const want = Number(opt('--frames') || 30);
const holdMs = Number(opt('--hold') || 0) * 1000;
const until = opt('--until');
const policy = opt('--policy');
const servers = opt('--ice-servers') ? JSON.parse(opt('--ice-servers')) : undefined;
const here = path.dirname(fileURLToPath(import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1, out = { ok: false };
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.exposeFunction('lspHoldDone', () => !!until && fs.existsSync(until));
  await page.setContent('<video id="v" autoplay muted playsinline></video>');
  await page.addScriptTag({ path: path.join(here, '../../web/whep.js') });
  const t0 = Date.now();
  out = await page.evaluate(async ({ url, want, timeoutMs, holdMs, policy, servers }) => {
    const v = document.getElementById('v');
    let s;
    try { s = await window.lspWhep.play(v, url, { timeoutMs: Math.min(timeoutMs, 10000), iceTransportPolicy: policy, iceServers: servers }); }
    catch (e) { return { ok: false, error: String(e) }; }
    const t0 = performance.now();
    let st = await s.stats(), firstFrameMs = null;
    while (performance.now() - t0 < timeoutMs) {
      st = await s.stats();
      if (st.framesDecoded > 0 && firstFrameMs === null) firstFrameMs = Math.round(performance.now() - t0);
      if (st.framesDecoded >= want && (performance.now() - t0 >= holdMs || await window.lspHoldDone())) break;
      await new Promise(r => setTimeout(r, 100));
    }
    let rvfc = 0;
    if (v.requestVideoFrameCallback) {
      rvfc = await new Promise(res => { let n = 0; const cb = () => { if (++n >= 3) res(n); else v.requestVideoFrameCallback(cb); }; v.requestVideoFrameCallback(cb); setTimeout(() => res(n), 2000); });
    }
    const resource = s.resource;
    await s.stop();
    return { ok: st.framesDecoded >= want, firstFrameMs, playedMs: Math.round(performance.now() - t0), rvfc, resource, ...st };
  }, { url, want, timeoutMs, holdMs, policy, servers });
  out.wallMs = Date.now() - t0;
  if (out.ok) rc = 0;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
