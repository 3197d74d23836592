// studio.mjs — the lsp web app end to end in headless Chromium with the fake
// camera and microphone: the creator studio (/studio) lists devices,
// composes and saves/switches scenes, goes live over WHIP; the watch page
// (/watch/CH) then plays the stream in two browser contexts and a chat
// message round-trips between them; the directory (/) lists CH as live and
// its search filters and its card shows the viewer count (lsp-chat GET
// /presence); axe-core checks /, /watch/CH and /studio.
// With --api URL --user NAME --password PW the studio signs in to lsp-api,
// finds CHANNEL among the creator's channels, rotates its key (shown once)
// and goes live with the new key (STREAM_KEY is then "-"); the directory
// shows the channel's title from lsp-api.
// Usage: node studio.mjs BASE CHANNEL STREAM_KEY --rtc URL --chat WSURL
//        --tokens TOKEN_A,TOKEN_B --shots DIR [--api URL --user NAME --password PW]
// Prints one JSON line; exits 0 when every check passed, 1 otherwise.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const [base, ch, key] = args;
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const rtc = opt('--rtc'), chat = opt('--chat'), shots = opt('--shots') || '.', apiURL = opt('--api') || '';
const [tokA, tokB] = (opt('--tokens') || ',').split(',');
const axeSrc = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const out = { ok: false, checks: {} };
const check = (name, v) => { out.checks[name] = v; };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
    '--auto-select-desktop-capture-source=Entire screen'],
});
async function ctx(token) {
  const c = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await c.addInitScript(({ rtc, chat, token, apiURL }) => {
    window.LSP_RTC_URL = rtc; window.LSP_CHAT_URL = chat;
    if (apiURL) window.LSP_API_URL = apiURL;
    if (token) sessionStorage.setItem('lsp-chat-token', token);
  }, { rtc, chat, token, apiURL });
  return c;
}
async function axe(page, name) {
  await page.addScriptTag({ content: axeSrc });
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map(v => ({ id: v.id, impact: v.impact, n: v.nodes.length,
      target: v.nodes.slice(0, 3).map(x => x.target.join(' ')) }));
  });
  const bad = r.filter(v => v.impact === 'serious' || v.impact === 'critical');
  check('axe_' + name, { serious_or_critical: bad.length, minor: r.length - bad.length });
  if (bad.length) console.error('axe ' + name + ':', JSON.stringify(bad));
  return bad.length === 0;
}
const t0 = Date.now();
let pass = true, stage = '', vbPage = null;
try {
  // ---- studio: devices, scene, go live
  const sc = await ctx('');
  const studio = await sc.newPage();
  studio.on('console', m => { if (m.type() === 'error') console.error('studio:', m.text()); });
  await studio.goto(base + '/studio');
  await studio.waitForFunction(() => document.querySelectorAll('#camera option').length > 0 &&
    document.querySelectorAll('#mic option').length > 0 && window.lspStudio.cam, null, { timeout: 10000 });
  check('devices', await studio.evaluate(() => ({
    cameras: [...document.querySelectorAll('#camera option')].map(o => o.textContent),
    mics: [...document.querySelectorAll('#mic option')].map(o => o.textContent) })));
  if (apiURL) {
    await studio.fill('#si-name', opt('--user'));
    await studio.fill('#si-pass', opt('--password'));
    await studio.click('#signin button[type=submit]');
    await studio.waitForFunction(c => document.getElementById('channel').value === c &&
      /signed in as/.test(document.getElementById('signin-status').textContent), ch, { timeout: 8000 });
    check('signin', await studio.textContent('#signin-status'));
    studio.once('dialog', dlg => dlg.accept());
    await studio.click('#key-rotate');
    await studio.waitForFunction(() => document.getElementById('streamkey').value.length > 10, null, { timeout: 8000 });
    check('rotated', (await studio.inputValue('#streamkey')).startsWith(ch + '_'));
    pass = pass && out.checks.rotated;
  } else {
    await studio.fill('#channel', ch);
    await studio.dispatchEvent('#channel', 'change');
    await studio.fill('#streamkey', key);
  }
  // two scenes: "Intro" (text overlay, camera) and "Talk" (pip, another text); switch back to Intro
  await studio.fill('#overlay-text', 'Starting soon');
  await studio.fill('#scene-name', 'Intro');
  await studio.click('#scene-save');
  await studio.selectOption('#layout', 'pip');
  await studio.fill('#overlay-text', 'Live from the studio');
  await studio.fill('#scene-name', 'Talk');
  await studio.click('#scene-save');
  await studio.selectOption('#scenes', 'Intro');
  const scene = await studio.evaluate(() => ({ layout: document.getElementById('layout').value,
    text: document.getElementById('overlay-text').value,
    saved: [...document.querySelectorAll('#scenes option')].map(o => o.value) }));
  check('scene', scene);
  pass = pass && scene.layout === 'camera' && scene.text === 'Starting soon' && scene.saved.length === 2;
  // the canvas has camera pixels: the fake camera is not a flat colour
  // the canvas shows the camera: most of it is not the empty scene's background (#101218)
  const painted = await studio.evaluate(() => {
    const c = document.getElementById('scene'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0, all = 0;
    for (let i = 0; i < d.length; i += 4 * 101) { all++; if (Math.abs(d[i] - 16) + Math.abs(d[i + 1] - 18) + Math.abs(d[i + 2] - 24) > 24) n++; }
    return n / all;
  });
  check('canvas_painted', Number(painted.toFixed(3)));
  pass = pass && painted > 0.5;
  // screen share (Chromium's fake capture picks the screen by itself): picture-in-picture layout
  await studio.click('#screen');
  await studio.waitForFunction(() => window.lspStudio.screen, null, { timeout: 5000 }).catch(() => {});
  check('screen_share', await studio.evaluate(() => window.lspStudio.screen
    ? { layout: document.getElementById('layout').value, track: window.lspStudio.screen.getVideoTracks()[0].label }
    : document.getElementById('live-status').textContent));
  await studio.waitForTimeout(300);
  await studio.screenshot({ path: shots + '/app-studio-pip.png' });
  if (await studio.evaluate(() => !!window.lspStudio.screen)) await studio.click('#screen'); // stop sharing
  await studio.selectOption('#scenes', 'Intro');
  await studio.click('#golive');
  await studio.waitForFunction(() => window.lspStudio.live && window.lspStudio.pc &&
    window.lspStudio.pc.connectionState === 'connected', null, { timeout: 15000 });
  // health widgets fill in within a few seconds
  await studio.waitForFunction(() => /kb\/s/.test(document.getElementById('h-bitrate').textContent) &&
    /fps/.test(document.getElementById('h-fps').textContent), null, { timeout: 8000 });
  check('health', await studio.evaluate(() => Object.fromEntries(['h-bitrate', 'h-fps', 'h-dropped', 'h-keyint',
    'h-viewers', 'h-chat'].map(id => [id, document.getElementById(id).textContent]))));

  // ---- two viewers on the watch page; chat round-trip
  const va = await (await ctx(tokA)).newPage(), vb = await (await ctx(tokB)).newPage();
  vbPage = vb;
  for (const p of [va, vb]) await p.goto(base + '/watch/' + encodeURIComponent(ch));
  await va.waitForFunction(() => { const v = document.getElementById('video'); return v && v.currentTime > 2; },
    null, { timeout: 20000 });
  check('watch', await va.evaluate(() => ({ t: document.getElementById('video').currentTime,
    mode: document.getElementById('mode').textContent, w: document.getElementById('video').videoWidth })));
  await va.waitForSelector('.lsp-chat-form:not([hidden]) input', { timeout: 8000 });
  await vb.waitForSelector('.lsp-chat-form:not([hidden]) input', { timeout: 8000 });
  const msg = 'hello from A ' + Date.now();
  await va.fill('.lsp-chat-form input:not([type=number])', msg);
  await va.press('.lsp-chat-form input:not([type=number])', 'Enter');
  await vb.waitForFunction(m => document.querySelector('.lsp-chat-list').textContent.includes(m), msg, { timeout: 8000 });
  const back = 'reply from B ' + Date.now();
  await vb.fill('.lsp-chat-form input:not([type=number])', back);
  await vb.press('.lsp-chat-form input:not([type=number])', 'Enter');
  await va.waitForFunction(m => document.querySelector('.lsp-chat-list').textContent.includes(m), back, { timeout: 8000 });
  check('chat_roundtrip', true);
  // quality selector: leave WebRTC for adaptive LL-HLS, then pin the one rendition
  await vb.selectOption('#quality', '-1');
  stage = 'quality';
  await vb.waitForFunction(() => document.getElementById('mode').textContent === 'LL-HLS' &&
    document.querySelectorAll('#quality option').length >= 3, null, { timeout: 10000 });
  const t1 = await vb.evaluate(() => document.getElementById('video').currentTime);
  await vb.selectOption('#quality', '0');
  await vb.waitForFunction(t => document.getElementById('video').currentTime > t + 1, t1, { timeout: 10000 });
  check('quality', await vb.evaluate(() => ({ mode: document.getElementById('mode').textContent,
    options: [...document.querySelectorAll('#quality option')].map(o => o.textContent),
    level: window.lspPlayer.hls && window.lspPlayer.hls.currentLevel })));
  // the studio's viewer count and chat rate come from lsp-chat presence
  await studio.waitForFunction(() => Number(document.getElementById('h-viewers').textContent) >= 2 &&
    parseInt(document.getElementById('h-chat').textContent, 10) >= 2, null, { timeout: 8000 });
  check('studio_viewers', await studio.textContent('#h-viewers'));
  await va.screenshot({ path: shots + '/app-watch.png' });
  await studio.screenshot({ path: shots + '/app-studio.png', fullPage: true });
  const m = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  await m.addInitScript(({ rtc, chat }) => { window.LSP_RTC_URL = rtc; window.LSP_CHAT_URL = chat; }, { rtc, chat });
  await m.goto(base + '/watch/' + encodeURIComponent(ch));
  await m.waitForFunction(() => document.getElementById('video').currentTime > 1, null, { timeout: 15000 });
  check('manifest', await m.evaluate(async () => {
    const l = document.querySelector('link[rel=manifest]'); if (!l) return null;
    const j = await (await fetch(l.href)).json(); return j.display;
  }));
  await m.screenshot({ path: shots + '/app-watch-phone.png' });
  pass = await axe(va, 'watch') && pass;

  // ---- directory: lists the live channel, search filters it
  const d = await (await ctx('')).newPage();
  await d.goto(base + '/');
  await d.waitForSelector(`li.card.live a[href="/watch/${encodeURIComponent(ch)}"]`, { timeout: 10000 });
  await d.fill('#search', ch);
  const shown = await d.$$eval('#channels li.card:not([hidden])', l => l.length);
  await d.fill('#search', 'no-such-channel-zz');
  const none = await d.$$eval('#channels li.card:not([hidden])', l => l.length);
  await d.fill('#search', '');
  // the card's thumbnail (lsp-package --thumb) loads
  const thumb = `li.card.live a[href="/watch/${encodeURIComponent(ch)}"] img.thumb`;
  await d.waitForFunction(s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; },
    thumb, { timeout: 8000 }).catch(() => {});
  const thumbWidth = await d.$eval(thumb, i => i.naturalWidth).catch(() => 0);
  const title = await d.$eval(`li.card.live a[href="/watch/${encodeURIComponent(ch)}"] .ctitle`, e => e.textContent);
  // the card's viewer count (lsp-chat GET /presence): the watch pages' chat sockets are still open
  const vsel = `li.card.live[data-channel="${ch}"] .viewers`;
  await d.waitForFunction(s => { const e = document.querySelector(s); return e && Number(e.dataset.count) >= 2; },
    vsel, { timeout: 10000 }).catch(() => {});
  const viewers = await d.$eval(vsel, e => ({ count: Number(e.dataset.count || -1), text: e.textContent }));
  check('directory', { shown, none, thumb_width: thumbWidth, title, viewers });
  pass = pass && shown >= 1 && none === 0;
  await d.waitForFunction(() => document.getElementById('preview').currentTime > 1, null, { timeout: 15000 });
  await d.screenshot({ path: shots + '/app-directory.png' });
  pass = await axe(d, 'directory') && pass;
  pass = await axe(studio, 'studio') && pass;

  await studio.click('#stop');
  await studio.waitForFunction(() => !window.lspStudio.live, null, { timeout: 5000 });
  check('stopped', true);
  out.ok = pass;
} catch (e) {
  out.error = String(e).split('\n')[0];
  if (stage === 'quality' && vbPage) out.debug = await vbPage.evaluate(() => ({ mode: document.getElementById('mode').textContent,
    q: [...document.querySelectorAll('#quality option')].map(o => o.value), t: document.getElementById('video').currentTime,
    state: window.lspPlayer.state, transport: window.lspPlayer.transport, hlsOnly: window.lspPlayer.hlsOnly })).catch(x => String(x));
} finally {
  out.seconds = (Date.now() - t0) / 1000;
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
