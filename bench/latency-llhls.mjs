// bench/latency-llhls.mjs URL K SECONDS — read the publisher's clock strip
// off the playing <video> in Chromium and print glass-to-glass latency.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const require = createRequire(new URL('../tests/browser/', import.meta.url));
const { chromium } = require('playwright-core');
// With a 5th argument "stock", URL is a multivariant playlist played by a
// bare hls.js with its default configuration on an empty page of the same
// origin (the watch page's copy of hls.js), as a third-party page would.
const [url, K, secs, stock] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 30),
  process.argv[5] === 'stock'];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
try {
  const page = await browser.newPage();
  if (stock) {
    const origin = new URL(url).origin;
    await page.goto(origin + '/robots.txt'); // any page of the origin: no CORS in the way
    await page.setContent('<video muted autoplay playsinline></video>');
    await page.addScriptTag({ url: origin + '/vendor/hls.min.js' });
    await page.evaluate((u) => {
      const hls = new window.Hls(); // the defaults: lowLatencyMode on, target from the playlist
      window.lspPlayer = { hls };
      hls.loadSource(u);
      hls.attachMedia(document.querySelector('video'));
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => document.querySelector('video').play().catch(() => {}));
    }, url);
  } else {
    await page.goto(url);
  }
  await page.addScriptTag({ path: fileURLToPath(new URL('./clockstrip.js', import.meta.url)) });
  await page.waitForFunction(() => { const v = document.querySelector('video'); return v && v.currentTime > 1; },
    null, { timeout: 30000 });
  await page.waitForTimeout(8000); // warm-up: let the player settle at its live edge
  const r = await page.evaluate(async ([K, secs]) => {
    const v = document.querySelector('video');
    const c = document.createElement('canvas');
    const out = [], hlsLat = [];
    const t1 = Date.now() + secs * 1000;
    while (Date.now() < t1) {
      await new Promise(res => (v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => res()) : setTimeout(res, 33)));
      const lat = window.lspClockStrip(v, c, K);
      if (lat !== null) out.push(lat);
      const hls = window.lspPlayer && window.lspPlayer.hls;
      if (hls && Number.isFinite(hls.latency)) hlsLat.push(hls.latency * 1000);
      await new Promise(res => setTimeout(res, 100));
    }
    return { out, hlsLat, jumps: Number(document.body.dataset.edgeJumps || 0),
      transport: document.body.dataset.transport || '' };
  }, [K, secs]);
  const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : NaN; };
  const res = { samples: r.out.length, p50_ms: pct(r.out, 0.5), p95_ms: pct(r.out, 0.95),
    min_ms: pct(r.out, 0), max_ms: pct(r.out, 1), hlsjs_latency_p50_ms: pct(r.hlsLat, 0.5), edge_jumps: r.jumps,
    transport: r.transport };
  console.log(JSON.stringify(res));
  console.log(`glass-to-glass (${r.transport || 'll-hls'}): p50 ${res.p50_ms} ms, p95 ${res.p95_ms} ms (${res.samples} samples; hls.js estimate p50 ${res.hlsjs_latency_p50_ms} ms)`);
  process.exitCode = res.samples > 10 ? 0 : 1;
} finally {
  await browser.close();
}
