// bench/latency-webrtc.mjs WHEP_URL K SECONDS — play over WHEP (web/whep.js)
// in Chromium, read the publisher's clock strip off each displayed frame and
// print glass-to-glass latency percentiles.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const require = createRequire(new URL('../tests/browser/', import.meta.url));
const { chromium } = require('playwright-core');
const [url, K, secs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 20)];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
try {
  const page = await browser.newPage();
  await page.setContent('<video id="v" autoplay muted playsinline></video>');
  if (process.env.ICE === 'tcp') // ICE-TCP only: every UDP candidate struck from the answer
    await page.addScriptTag({ content: `(() => { const srd = RTCPeerConnection.prototype.setRemoteDescription;
      RTCPeerConnection.prototype.setRemoteDescription = function (d) {
        if (d && d.type === 'answer') d = { type: 'answer', sdp: d.sdp.split('\\r\\n').filter(l => !(l.startsWith('a=candidate:') && / udp /i.test(l))).join('\\r\\n') };
        return srd.call(this, d); }; })();` });
  await page.addScriptTag({ path: fileURLToPath(new URL('../web/whep.js', import.meta.url)) });
  await page.addScriptTag({ path: fileURLToPath(new URL('./clockstrip.js', import.meta.url)) });
  const r = await page.evaluate(async ([url, K, secs]) => {
    const v = document.getElementById('v');
    const s = await window.lspWhep.play(v, url);
    await new Promise(res => setTimeout(res, 3000)); // warm-up
    const c = document.createElement('canvas');
    const out = [], est = [];
    const t1 = Date.now() + secs * 1000;
    while (Date.now() < t1) {
      await new Promise(res => v.requestVideoFrameCallback(() => res()));
      const lat = window.lspClockStrip(v, c, K);
      if (lat !== null) out.push(lat);
      const st = await s.stats();
      if (st.latency !== null) est.push(st.latency * 1000);
    }
    const st = await s.stats();
    await s.stop();
    return { out, est, st };
  }, [url, K, secs]);
  const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : NaN; };
  const res = { samples: r.out.length, p50_ms: pct(r.out, 0.5), p95_ms: pct(r.out, 0.95), min_ms: pct(r.out, 0),
    max_ms: pct(r.out, 1), sr_estimate_p50_ms: pct(r.est, 0.5), framesDecoded: r.st.framesDecoded,
    framesDropped: r.st.framesDropped, jitterBuffer_ms: r.st.jitterBuffer === null ? null : Math.round(r.st.jitterBuffer * 1000) };
  console.log(JSON.stringify(res));
  console.log(`glass-to-glass WebRTC: p50 ${res.p50_ms} ms, p95 ${res.p95_ms} ms (${res.samples} samples; ring→playout estimate p50 ${res.sr_estimate_p50_ms} ms)`);
  process.exitCode = res.samples > 10 ? 0 : 1;
} finally {
  await browser.close();
}
