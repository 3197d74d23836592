// wheptcp.mjs — play an lsp channel over WHEP in headless Chromium with
// every UDP candidate struck from the answer before setRemoteDescription,
// so the only path left is lsp-rtc's passive ICE-TCP candidate (RFC 6544):
// as a viewer whose UDP is blocked would, without root or a firewall.
// Usage: node wheptcp.mjs WHEP_URL [--timeout S] [--frames N] [--hold S] [--hold-until FILE]
// (--hold-until: keep playing until FILE exists, within --timeout.)
// Prints one JSON line: frames decoded, the video's currentTime at two
// moments (it must advance), the answer's candidates kept/struck, the
// selected pair's protocol; exits 0 when N frames (default 30) decoded over
// TCP and the picture advances, 1 otherwise, 2 on usage.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || url.startsWith('--')) { console.error('usage: node wheptcp.mjs WHEP_URL [--timeout S] [--frames N] [--hold S]'); process.exit(2); }
const timeoutMs = Number(opt('--timeout') || 20) * 1000;
const want = Number(opt('--frames') || 30);
const holdMs = Number(opt('--hold') || 0) * 1000;
const holdFile = opt('--hold-until') || '';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 1, out = { ok: false };
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('page:', m.text()); });
  await page.exposeFunction('lspHoldDone', () => !holdFile || existsSync(holdFile));
  await page.setContent('<video id="v" autoplay muted playsinline></video>');
  out = await page.evaluate(async ({ url, want, timeoutMs, holdMs }) => {
    const v = document.getElementById('v');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const ms = new MediaStream();
    pc.ontrack = e => { ms.addTrack(e.track); v.srcObject = ms; };
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (r.status !== 201) return { ok: false, error: 'WHEP ' + r.status };
    const resource = new URL(r.headers.get('Location'), url).href;
    const answer = await r.text();
    // UDP blocked: only the TCP candidates stay
    let kept = 0, struck = 0;
    const sdp = answer.split('\r\n').filter(l => {
      if (!l.startsWith('a=candidate:')) return true;
      if (/ udp /i.test(l)) { struck++; return false; }
      kept++; return true;
    }).join('\r\n');
    await pc.setRemoteDescription({ type: 'answer', sdp });
    v.play().catch(() => {});
    const t0 = performance.now();
    while (pc.connectionState !== 'connected' && performance.now() - t0 < timeoutMs) {
      if (pc.connectionState === 'failed') break;
      await new Promise(res => setTimeout(res, 100));
    }
    const res = { kept, struck, state: pc.connectionState, framesDecoded: 0 };
    if (pc.connectionState !== 'connected') { pc.close(); return { ok: false, ...res, error: 'not connected' }; }
    let t1 = null;
    while (performance.now() - t0 < timeoutMs) {
      const rep = await pc.getStats();
      rep.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') res.framesDecoded = s.framesDecoded || 0; });
      if (res.framesDecoded > 0 && t1 === null) t1 = v.currentTime;
      if (res.framesDecoded >= want && performance.now() - t0 >= holdMs && await window.lspHoldDone()) break;
      await new Promise(res => setTimeout(res, 100));
    }
    await new Promise(res => setTimeout(res, 1000));
    res.currentTime = [t1, v.currentTime];
    const rep = await pc.getStats();
    let pair = null;
    rep.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = rep.get(s.selectedCandidatePairId); });
    if (pair) {
      const rem = rep.get(pair.remoteCandidateId), loc = rep.get(pair.localCandidateId);
      res.remote = rem ? rem.protocol + ' ' + (rem.tcpType || '') + ' ' + rem.port : null;
      res.local = loc ? loc.protocol + ' ' + (loc.tcpType || '') : null;
      res.rtt = pair.currentRoundTripTime;
    }
    rep.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') { res.framesDecoded = s.framesDecoded || 0; res.width = s.frameWidth; } });
    await fetch(resource, { method: 'DELETE' }).catch(() => {});
    pc.close();
    res.ok = res.framesDecoded >= want && t1 !== null && v.currentTime > t1 && res.remote !== null &&
      res.remote.startsWith('tcp');
    return res;
  }, { url, want, timeoutMs, holdMs });
  if (out.ok) rc = 0;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
