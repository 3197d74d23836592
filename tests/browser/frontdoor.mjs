// frontdoor.mjs — the studio through lsp-edge's front door, in headless
// Chromium with the fake camera and microphone, on an address other than
// localhost: over HTTPS the page is a secure context (camera allowed), goes
// live over WHIP on its own origin (/whip/, forwarded to lsp-rtc), reaches
// LIVE once media flows (the edge's /api/channels), and its chat socket
// is wss:// on the same origin.  With --plain URL the same page over plain
// HTTP on that address is checked NOT to be a secure context (the control:
// why the front door needs TLS).
// The certificate is self-signed: Chromium runs with --ignore-certificate-errors;
// --resolve NAME=IP maps a host name (--host-resolver-rules).
// Usage: node frontdoor.mjs HTTPS_BASE CHANNEL STREAM_KEY [--plain HTTP_BASE] [--resolve NAME=IP] [--shot FILE]
// Prints one JSON line; exits 0 when every check passed, 1 otherwise.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const [base, ch, key] = args;
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const plain = opt('--plain'), resolve = opt('--resolve'), shot = opt('--shot');
const flags = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--ignore-certificate-errors'];
if (resolve) { const [n, ip] = resolve.split('='); flags.push(`--host-resolver-rules=MAP ${n} ${ip}`); }
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: flags });
const out = { ok: false, checks: {} };
const check = (k, v) => { out.checks[k] = v; };
let stage = '';
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
  if (plain) {
    stage = 'plain http control';
    const p = await ctx.newPage();
    await p.goto(plain + '/studio');
    const c = await p.evaluate(() => ({ secure: window.isSecureContext,
      gum: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) }));
    check('plain', c);
    if (c.secure || c.gum) throw new Error('plain HTTP on a non-localhost address is a secure context?');
    await p.close();
  }
  stage = 'studio over https';
  const page = await ctx.newPage();
  page.on('console', m => { if (m.type() === 'error') console.error('studio:', m.text()); });
  await page.goto(base + '/studio');
  const sec = await page.evaluate(() => ({ protocol: location.protocol, host: location.hostname,
    secure: window.isSecureContext, gum: typeof (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) }));
  check('https', sec);
  if (sec.protocol !== 'https:' || !sec.secure || sec.gum !== 'function') throw new Error('not a secure context');
  if (/^(localhost|127\.)/.test(sec.host)) throw new Error('the page is on localhost: proves nothing');
  stage = 'devices';
  await page.waitForFunction(() => window.lspStudio && window.lspStudio.cam &&
    document.querySelectorAll('#camera option').length > 0, null, { timeout: 15000 });
  await page.fill('#channel', ch);
  await page.dispatchEvent('#channel', 'change');
  await page.fill('#streamkey', key);
  stage = 'go live';
  await page.click('#golive');
  await page.waitForFunction(() => window.lspStudio.live && window.lspStudio.pc &&
    window.lspStudio.pc.connectionState === 'connected', null, { timeout: 20000 });
  const early = await page.textContent('#live-badge');
  stage = 'LIVE';
  await page.waitForFunction(() => document.getElementById('live-badge').textContent === 'LIVE' &&
    window.lspStudio.onAir === true, null, { timeout: 30000 });
  const st = await page.evaluate(() => ({ whip: window.lspStudio.whipLocation,
    chat: window.lspStudio.ws ? window.lspStudio.ws.url : '', chatState: window.lspStudio.ws ? window.lspStudio.ws.readyState : -1,
    whipShown: document.getElementById('url-whip').textContent, rtmp: document.getElementById('url-rtmp').textContent,
    srt: document.getElementById('url-srt').textContent, status: document.getElementById('live-status').textContent }));
  st.badge_before_media = early;
  check('live', st);
  const origin = new URL(base).origin, wssOrigin = origin.replace(/^https:/, 'wss:');
  if (!st.whip.startsWith(origin + '/whip/')) throw new Error('WHIP resource not on the front door: ' + st.whip);
  if (!st.chat.startsWith(wssOrigin + '/ws/')) throw new Error('chat socket not wss on the front door: ' + st.chat);
  if (!st.whipShown.startsWith(origin + '/whip/')) throw new Error('WHIP URL shown: ' + st.whipShown);
  if (!/^rtmp:\/\/[^/]+:\d+\/live/.test(st.rtmp) || !/^srt:\/\/[^/]+:\d+\?streamid=/.test(st.srt))
    throw new Error('ingest URLs without ports: ' + st.rtmp + ' / ' + st.srt);
  stage = 'chat socket open';
  await page.waitForFunction(() => window.lspStudio.ws && window.lspStudio.ws.readyState === 1, null, { timeout: 10000 });
  // The studio's API and WHIP requests went over HTTP/2 (forwarded from
  // streams, not refused: a refusal would leave Chromium speaking
  // HTTP/1.1 to the whole origin), and a request after them still does.
  stage = 'http/2';
  const proto = await page.evaluate(async () => {
    await (await fetch('/healthz?after', { cache: 'no-store' })).text();
    await new Promise(r => setTimeout(r, 200)); // the timing entry lands after the body
    const by = {};
    for (const e of performance.getEntriesByType('resource')) {
      const u = new URL(e.name);
      const k = u.pathname.startsWith('/api/') ? 'api' : u.pathname.startsWith('/whip/') ? 'whip'
        : u.search === '?after' ? 'after' : null;
      if (k) (by[k] = by[k] || new Set()).add(e.nextHopProtocol);
    }
    return Object.fromEntries(Object.entries(by).map(([k, v]) => [k, [...v].join(',')]));
  });
  check('protocols', proto);
  for (const k of ['whip', 'after'])
    if (proto[k] !== 'h2') throw new Error(k + ' requests not on HTTP/2: ' + JSON.stringify(proto));
  if (proto.api && proto.api !== 'h2') throw new Error('API requests not on HTTP/2: ' + JSON.stringify(proto));
  if (shot) await page.screenshot({ path: shot });
  stage = 'stop';
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('live-badge').textContent === 'OFFLINE', null, { timeout: 5000 });
  out.ok = true;
} catch (e) {
  out.error = stage + ': ' + e.message;
}
await browser.close();
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
