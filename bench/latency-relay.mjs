// bench/latency-relay.mjs K SECONDS JOINS URL... — one Chromium, one page per
// WHEP URL (the tiers of a relay tree), all playing at once: each reads the
// publisher's clock strip off every displayed frame (bench/clockstrip.js).
// Prints per-tier glass-to-glass percentiles, what each tier adds to the one
// above it (p50 and p95 differences), then JOINS fresh joins on the last URL:
// ms from the WHEP answer (the 201 arriving) to the first displayed frame.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const require = createRequire(new URL('../tests/browser/', import.meta.url));
const { chromium } = require('playwright-core');
const [K, secs, joins] = [Number(process.argv[2]), Number(process.argv[3] || 20), Number(process.argv[4] || 5)];
const urls = process.argv.slice(5);
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : NaN; };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'] });
async function page() {
  const p = await browser.newPage();
  await p.setContent('<video id="v" autoplay muted playsinline></video>');
  await p.addScriptTag({ path: fileURLToPath(new URL('../web/whep.js', import.meta.url)) });
  await p.addScriptTag({ path: fileURLToPath(new URL('./clockstrip.js', import.meta.url)) });
  // the moment the WHEP answer arrives (the 201 to the POST)
  await p.evaluate(() => {
    const f = window.fetch;
    window.fetch = async (...a) => { const r = await f(...a); if (r.status === 201) window.answerAt = performance.now(); return r; };
  });
  return p;
}
let rc = 1;
try {
  const pages = await Promise.all(urls.map(page));
  const runs = await Promise.all(pages.map((p, i) => p.evaluate(async ([url, K, secs]) => {
    const v = document.getElementById('v');
    const s = await window.lspWhep.play(v, url);
    await new Promise(res => setTimeout(res, 3000)); // warm-up
    const c = document.createElement('canvas');
    const out = [];
    const t1 = Date.now() + secs * 1000;
    while (Date.now() < t1) {
      await new Promise(res => v.requestVideoFrameCallback(() => res()));
      const lat = window.lspClockStrip(v, c, K);
      if (lat !== null) out.push(lat);
    }
    const st = await s.stats();
    await s.stop();
    return { out, framesDecoded: st.framesDecoded, framesDropped: st.framesDropped };
  }, [urls[i], K, secs])));
  const tiers = runs.map((r, i) => ({ tier: i, url: urls[i], samples: r.out.length, p50_ms: pct(r.out, 0.5),
    p95_ms: pct(r.out, 0.95), max_ms: pct(r.out, 1), framesDecoded: r.framesDecoded, framesDropped: r.framesDropped }));
  for (let i = 1; i < tiers.length; i++) {
    tiers[i].added_p50_ms = tiers[i].p50_ms - tiers[i - 1].p50_ms;
    tiers[i].added_p95_ms = tiers[i].p95_ms - tiers[i - 1].p95_ms;
  }
  const join = [];
  for (let j = 0; j < joins; j++) {
    const p = await page();
    join.push(await p.evaluate(async url => {
      const v = document.getElementById('v');
      const s = await window.lspWhep.play(v, url);
      await new Promise(res => v.requestVideoFrameCallback(() => res()));
      const ms = Math.round(performance.now() - window.answerAt);
      await s.stop();
      return ms;
    }, urls[urls.length - 1]));
    await p.close();
  }
  const res = { tiers, join_ms: join, join_p50_ms: pct(join, 0.5), join_max_ms: pct(join, 1) };
  console.log(JSON.stringify(res));
  for (const t of tiers)
    console.log(`tier ${t.tier}: p50 ${t.p50_ms} ms, p95 ${t.p95_ms} ms (${t.samples} samples)` +
      (t.tier ? `; added by this relay link: p50 ${t.added_p50_ms} ms, p95 ${t.added_p95_ms} ms` : ' (origin)'));
  console.log(`join through ${urls.length - 1} relay link(s): answer → first frame ${join.join(', ')} ms`);
  rc = tiers.every(t => t.samples > 10) && join.length === joins ? 0 : 1;
} finally {
  await browser.close();
}
process.exitCode = rc;
