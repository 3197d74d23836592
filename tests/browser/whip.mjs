// whip.mjs — publish to lsp-rtc over WHIP from headless Chromium with the
// fake camera and microphone (H.264 + Opus), hold for a while, then stop.
// Usage: node whip.mjs WHIP_URL STREAM_KEY [--hold S] [--until FILE] [--expect-status N]
//                     [--ice] [--policy relay|all]
// (--until: the hold ends early once FILE exists, so a test publishes
// exactly while its checks run, however long a loaded box makes them;
// --ice: the ICE servers lsp-rtc hands out beside WHIP_URL, as the studio
// asks for them; --policy relay: TURN relay candidates only)
// Prints one JSON line {ok, status, connected, bytesSent, framesEncoded};
// exits 0 when connected and media was sent (or, with --expect-status, when
// the POST answered N), 1 otherwise, 2 on usage.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const args = process.argv.slice(2);
const [url, key] = args;
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || !key) { console.error('usage: node whip.mjs WHIP_URL STREAM_KEY [--hold S] [--until FILE] [--expect-status N] [--ice] [--policy relay|all]'); process.exit(2); }
const holdMs = Number(opt('--hold') || 5) * 1000;
const until = opt('--until');
const expect = opt('--expect-status') ? Number(opt('--expect-status')) : null;
const ice = args.includes('--ice');
const policy = opt('--policy') || 'all';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--unsafely-treat-insecure-origin-as-secure=' + new URL(url).origin],
});
let out = { ok: false };
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.exposeFunction('lspHoldDone', () => !!until && fs.existsSync(until));
  // getUserMedia needs a secure context: localhost http is one, about:blank is
  // not (another http origin is treated as one by the flag above)
  await page.goto(new URL('/healthz', url).href);
  out = await page.evaluate(async ({ url, key, holdMs, ice, policy }) => {
    const ms = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 30 }, audio: true });
    let iceServers = [];
    if (ice) {
      const r = await fetch(new URL('ice-servers', url).href, { cache: 'no-store' });
      iceServers = (await r.json()).iceServers;
    }
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers, iceTransportPolicy: policy });
    for (const t of ms.getTracks()) {
      const tr = pc.addTransceiver(t, { direction: 'sendonly', streams: [ms] });
      if (t.kind === 'video') {
        const h264 = RTCRtpSender.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/H264');
        tr.setCodecPreferences(h264);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + key }, body: pc.localDescription.sdp });
    if (r.status !== 201) { pc.close(); return { ok: false, status: r.status }; }
    const loc = new URL(r.headers.get('Location'), url).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    const t0 = performance.now();
    while (pc.connectionState !== 'connected' && performance.now() - t0 < 10000) await new Promise(r => setTimeout(r, 50));
    const connected = pc.connectionState === 'connected';
    const t1 = performance.now();
    while (performance.now() - t1 < holdMs && !(await window.lspHoldDone())) await new Promise(r => setTimeout(r, 200));
    let bytesSent = 0, framesEncoded = 0, codec = '', path = null;
    const rep = await pc.getStats();
    rep.forEach(s => {
      if (s.type === 'outbound-rtp') { bytesSent += s.bytesSent || 0; if (s.kind === 'video') framesEncoded = s.framesEncoded || 0; }
      if (s.type === 'codec' && s.mimeType.startsWith('video/')) codec = s.mimeType;
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const p = rep.get(s.selectedCandidatePairId), l = p && rep.get(p.localCandidateId);
        if (l) path = l.candidateType + ' ' + l.protocol + (l.relayProtocol ? ' via ' + l.relayProtocol : '');
      }
    });
    const del = await fetch(loc, { method: 'DELETE' });
    pc.close();
    ms.getTracks().forEach(t => t.stop());
    return { ok: connected && framesEncoded > 0, status: 201, connected, bytesSent, framesEncoded, codec, path, deleted: del.status };
  }, { url, key, holdMs, ice, policy });
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(expect !== null ? (out.status === expect ? 0 : 1) : (out.ok ? 0 : 1));
