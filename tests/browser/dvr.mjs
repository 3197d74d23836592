// dvr.mjs — rewind on the watch page in headless Chromium: play live, click
// "−10 s" (the page switches to the DVR playlists), check the video plays
// from about 10 s behind live, move the seek bar to 6 s behind, click "LIVE"
// and check it is back near the live edge.  Before the rewind, the live
// view is set 3.5 s back (as a long stall would leave it): the page must
// jump back to the live edge on its own (hls.js alone stays behind).  With --vod ID also plays /watch/<channel>?vod=ID and checks
// the recordings list names it (instead of the live checks).
// Usage: node dvr.mjs URL [--timeout S] [--vod ID] [--screenshot FILE]
// Prints one JSON line {live, rewound, slider, back, vod}; exits 1 on failure, 2 on usage.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args.find(a => !a.startsWith('--') && !args[args.indexOf(a) - 1]?.startsWith('--'));
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url) { console.error('usage: node dvr.mjs URL [--timeout S] [--vod ID] [--screenshot FILE]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 20) * 1000;
const vod = opt('--vod');
const shot = opt('--screenshot');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
const state = page => page.evaluate(() => {
  const p = window.lspPlayer || {};
  return { t: p.video ? p.video.currentTime : 0, latency: p.latency ?? null, mode: p.mode ?? null,
           state: p.state ?? null, dvr: !!p.dvr, vods: p.vods || [], jumps: p.edgeJumps || 0 };
});
// wait until cond(state) holds and currentTime then advances by `adv` s
async function playing(page, cond, adv) {
  const t0 = Date.now();
  let first = null, s = null;
  while (Date.now() - t0 < timeoutMs) {
    s = await state(page);
    if (cond(s)) {
      if (first === null) first = s.t;
      else if (s.t - first >= adv) return s;
    } else first = null;
    await page.waitForTimeout(250);
  }
  throw new Error('timed out: ' + JSON.stringify(s));
}
const out = {};
let rc = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  if (!vod) await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (!vod) out.live = await playing(page, s => s.mode === 'live' && s.state === 'live' && s.dvr && s.t > 0, 1);
  if (!vod) {
    // 3.5 s back: well inside the live playlist's window and the buffer
    // (hls.js itself moves a position before the window to its start, which
    // would prove nothing), and past hls.js's own catch-up range
    await playing(page, s => s.mode === 'live' && s.t > 11, 0);
    out.set_behind = await page.evaluate(() => { const v = window.lspPlayer.video; v.currentTime -= 3.5; return v.currentTime; });
    out.caught_up = await playing(page, s => s.mode === 'live' && s.jumps >= 1 && s.latency !== null && s.latency < 4, 1);
    await page.click('#back10');
    out.rewound = await playing(page, s => s.mode === 'dvr' && s.latency !== null && s.latency > 5, 2);
    if (shot) await page.screenshot({ path: shot });
    // drag the seek bar to 6 s behind live: a seek inside the DVR playlist
    await page.evaluate(() => {
      const s = document.getElementById('seek');
      s.value = String(Number(s.max) - 6);
      s.dispatchEvent(new Event('change'));
    });
    await page.waitForTimeout(500);
    out.slider = await playing(page, s => s.mode === 'dvr' && s.latency !== null && s.latency < 9.5, 1);
    await page.click('#golive');
    out.back = await playing(page, s => s.mode === 'live' && s.latency !== null && s.latency < 6, 1);
  }
  if (vod) {
    const u = new URL(url);
    await page.goto(u.origin + u.pathname + '?vod=' + encodeURIComponent(vod), { waitUntil: 'domcontentloaded' });
    out.vod = await playing(page, s => s.mode === 'vod' && s.t > 0, 2);
    if (!out.vod.vods.includes(vod)) throw new Error('recordings list lacks ' + vod + ': ' + out.vod.vods);
  }
  rc = 0;
} catch (e) {
  console.error(String(e));
} finally {
  console.log(JSON.stringify(out));
  await browser.close();
}
process.exit(rc);
