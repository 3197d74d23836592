// whepabr.mjs — a WHEP viewer in headless Chromium (web/whep.js) that
// changes rungs: each --pin NAME is posted to the session's layer control
// in turn, and the viewer waits (20 s at most) until the decoded picture
// has that rung's height, then plays on for --hold S; with --watch S it
// then only watches (the rung lsp-rtc picks, auto) for S seconds,
// touching --ready FILE once frames are decoded (so a test can throttle the
// link then) and ending early when the height falls below the first one
// seen after FILE appeared.
// Usage: node whepabr.mjs WHEP_URL [--pin NAME]... [--hold S] [--watch S] [--ready FILE] [--rung NAME]
// Prints one JSON line: the ladder, per switch {to, from_h, to_h, ms,
// gap_ms (the longest wait between two decoded frames from 1 s before the
// POST to 1 s after the new height), freezes (freezeCount added)}, and for
// --watch the heights seen with their times; exit 0 when every pin landed.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const pins = args.flatMap((a, i) => a === '--pin' ? [args[i + 1]] : []);
if (!url || url.startsWith('--')) { console.error('usage: node whepabr.mjs WHEP_URL [--pin NAME]... [--hold S] [--watch S] [--ready FILE] [--rung NAME]'); process.exit(2); }
const holdMs = Number(opt('--hold') || 3) * 1000;
const watchMs = Number(opt('--watch') || 0) * 1000;
const ready = opt('--ready');
const rung = opt('--rung');
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
  await page.exposeFunction('lspReady', () => { if (ready) fs.writeFileSync(ready, 'playing\n'); });
  await page.exposeFunction('lspLog', (s) => console.error(s));
  await page.setContent('<video id="v" autoplay muted playsinline></video>');
  await page.addScriptTag({ path: path.join(here, '../../web/whep.js') });
  out = await page.evaluate(async ({ url, pins, holdMs, watchMs, rung }) => {
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    const v = document.getElementById('v');
    let s;
    try { s = await window.lspWhep.play(v, url, { timeoutMs: 10000, rung }); }
    catch (e) { return { ok: false, error: String(e) }; }
    // every decoded frame's time (the decoder's output, as the page sees it)
    const frames = [];
    let lastFd = 0;
    const poll = setInterval(async () => {
      const st = await s.stats();
      if (st.framesDecoded !== lastFd) { frames.push([performance.now(), st.framesDecoded, st.height]); lastFd = st.framesDecoded; }
    }, 20);
    const rvfc = [];
    if (v.requestVideoFrameCallback) {
      const cb = (now, md) => { rvfc.push([now, md.height]); v.requestVideoFrameCallback(cb); };
      v.requestVideoFrameCallback(cb);
    }
    const t0 = performance.now();
    let st = await s.stats();
    while (st.framesDecoded < 30 && performance.now() - t0 < 20000) { await sleep(100); st = await s.stats(); }
    if (st.framesDecoded < 30) { clearInterval(poll); return { ok: false, error: 'no video', st }; }
    const tb = performance.now(), fb = await s.stats();
    await sleep(3000);
    const fa = await s.stats();
    let bgap = 0;
    { const fs1 = frames.filter(f => f[0] >= tb); for (let i = 1; i < fs1.length; i++) bgap = Math.max(bgap, fs1[i][0] - fs1[i - 1][0]); }
    const baseline = { gap_ms: Math.round(bgap), freezes: fa.freezeCount - fb.freezeCount, decoded: fa.framesDecoded - fb.framesDecoded };
    const ladder = await s.layer();
    const heightOf = n => { const r = ladder && ladder.rungs.find(x => x.name === n); return r ? r.height : 0; };
    const switches = [];
    let ok = true;
    for (const to of pins) {
      const before = await s.stats(), tPost = performance.now();
      let lay = null, err = null;
      try { lay = await s.setLayer(to); } catch (e) { err = String(e); }
      const want = heightOf(to);
      let now = before, tLand = null;
      while (performance.now() - tPost < 20000) {
        now = await s.stats();
        if (want && now.height === want) { tLand = performance.now(); break; }
        await sleep(50);
      }
      if (tLand === null) { ok = false; switches.push({ to, error: err || 'height ' + now.height + ' never became ' + want, lay }); break; }
      await sleep(1000);
      const fs2 = frames.filter(f => f[0] >= tPost - 1000 && f[0] <= tLand + 1000);
      let gap = 0;
      for (let i = 1; i < fs2.length; i++) gap = Math.max(gap, fs2[i][0] - fs2[i - 1][0]);
      const rs = rvfc.filter(f => f[0] >= tPost - 1000 && f[0] <= tLand + 1000);
      let rgap = 0;
      for (let i = 1; i < rs.length; i++) rgap = Math.max(rgap, rs[i][0] - rs[i - 1][0]);
      const after = await s.stats();
      switches.push({ to, from_h: before.height, to_h: now.height, ms: Math.round(tLand - tPost), gap_ms: Math.round(gap),
        rvfc_gap_ms: Math.round(rgap), freezes: after.freezeCount - before.freezeCount,
        freeze_ms: Math.round((after.totalFreezesDuration - before.totalFreezesDuration) * 1000),
        decoded: after.framesDecoded - before.framesDecoded });
      await sleep(Math.max(0, holdMs - 1000));
    }
    const watch = [];
    if (ok && watchMs) {
      if (pins.length) await s.setLayer('auto');
      await window.lspReady();
      const tw = performance.now();
      let first = 0;
      while (performance.now() - tw < watchMs) {
        const w = await s.stats();
        if (!watch.length || watch[watch.length - 1].h !== w.height) {
          watch.push({ t: Math.round(performance.now() - tw), h: w.height, fd: w.framesDecoded });
          window.lspLog('watch ' + JSON.stringify(watch[watch.length - 1]));
        }
        if (!first && w.height) first = w.height;
        if (first && w.height && w.height < first) { await sleep(1500); break; }
        await sleep(200);
      }
    }
    clearInterval(poll);
    const end = await s.stats();
    const lay = await s.layer();
    await s.stop();
    return { ok, ladder, baseline, switches, watch, layer: lay, framesDecoded: end.framesDecoded, freezeCount: end.freezeCount,
      totalFreezesDuration: end.totalFreezesDuration, height: end.height, packetsLost: end.packetsLost };
  }, { url, pins, holdMs, watchMs, rung });
  if (out.ok) rc = 0;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
