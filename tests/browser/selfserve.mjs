// selfserve.mjs — self-service in headless Chromium, all through lsp-edge's
// front door (relative URLs only), with no NATS anywhere:
//   1. the studio signs in (an account that owns CHANNEL through
//      `lsp-ctl channel add --owner`), goes live over WHIP with a publish
//      token from its session (no stream key typed, none rotated) and shows
//      LIVE once ICE is connected and frames go out; while it is live the
//      channel's stream key (OBS's) is still accepted by lsp-rtc (409
//      "already has a publisher", not 401);
//   2. a viewer signs up in the watch page's chat panel and sends a message
//      that a second, anonymous viewer receives; the chat token is traded
//      again on demand (refresh) and chat still works with the new one; a
//      reload keeps the viewer signed in (localStorage); sign-out ends the
//      session on the server (its token then answers 401) and in the panel;
//   3. an OBS-like ffmpeg RTMP publisher with B-frames (-bf 2) makes the
//      studio show the B-frame warning (from lsp-api's channel health, read
//      from the ingest's status file), and LIVE from lsp-api's live state;
//      one without (-bf 0) does not.
// Usage: node selfserve.mjs BASE CHANNEL STREAM_KEY RTMP_PORT --user NAME --password PW [--shots DIR]
// Prints one JSON line; exits 0 when every check passed, 1 otherwise.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const [base, ch, key, rtmpPort] = args;
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const user = opt('--user'), password = opt('--password'), shots = opt('--shots') || '';
const out = { ok: false, checks: {} };
const check = (k, v) => { out.checks[k] = v; };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
});
const newPage = async () => (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
let stage = '', ff = null;
const t0 = Date.now();

// an OBS-like RTMP publisher: H.264 with or without B-frames, AAC
function publish(bf, seconds) {
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', String(bf), '-g', '25',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${key}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  p.done = new Promise(r => p.on('exit', r));
  return p;
}

try {
  // ---- 1. the studio goes live with its session
  stage = 'studio sign-in';
  const studio = await newPage();
  studio.on('console', m => { if (m.type() === 'error') console.error('studio:', m.text()); });
  await studio.goto(base + '/studio');
  await studio.waitForFunction(() => window.lspStudio && window.lspStudio.cam, null, { timeout: 15000 });
  await studio.fill('#si-name', user);
  await studio.fill('#si-pass', password);
  await studio.click('#signin button[type=submit]');
  await studio.waitForFunction(c => document.getElementById('channel').value === c &&
    /signed in as/.test(document.getElementById('signin-status').textContent), ch, { timeout: 10000 });
  check('studio_signin', await studio.textContent('#signin-status'));
  if (await studio.inputValue('#streamkey')) throw new Error('a stream key was filled in');
  stage = 'studio go live';
  await studio.click('#golive');
  await studio.waitForFunction(() => window.lspStudio.pc && window.lspStudio.pc.connectionState === 'connected',
    null, { timeout: 20000 });
  await studio.waitForFunction(() => document.getElementById('live-badge').textContent === 'LIVE' &&
    window.lspStudio.onAir === true, null, { timeout: 20000 });
  const live = await studio.evaluate(() => ({ by: window.lspStudio.authBy, whip: window.lspStudio.whipLocation,
    key: document.getElementById('streamkey').value, sent: window.lspStudio.sent }));
  check('studio_live', live);
  if (live.by !== 'session' || live.key !== '' || !(live.sent > 0)) throw new Error('not live by session: ' + JSON.stringify(live));
  if (!live.whip.startsWith(new URL(base).origin + '/whip/')) throw new Error('WHIP not on the front door: ' + live.whip);
  // OBS's key still works: lsp-rtc checks it (409: the channel has a publisher), it does not refuse it (401)
  const r = await fetch(base + '/whip/' + ch, { method: 'POST', headers: { 'Content-Type': 'application/sdp',
    Authorization: 'Bearer ' + key }, body: 'v=0\r\n' });
  check('obs_key_while_live', r.status);
  if (r.status !== 409) throw new Error('the stream key while the studio is live answered ' + r.status);
  if (shots) await studio.screenshot({ path: shots + '/selfserve-studio-live.png', fullPage: true });

  // ---- 2. a viewer signs up in the chat panel; another viewer reads
  stage = 'viewer sign-up';
  const va = await newPage(), vb = await newPage();
  for (const p of [va, vb]) await p.goto(base + '/watch/' + encodeURIComponent(ch));
  await va.waitForSelector('.lsp-chat-account:not([hidden])', { timeout: 10000 });
  const vname = 'viewer' + (Date.now() % 100000);
  await va.fill('.lsp-chat-account input[name=username]', vname);
  await va.fill('.lsp-chat-account input[name=password]', 'viewer-pass-1');
  await va.fill('.lsp-chat-account .lsp-chat-age', '30');
  await va.click('.lsp-chat-signup');
  await va.waitForSelector('.lsp-chat-form:not([hidden]) input', { timeout: 10000 });
  const stored = await va.evaluate(() => JSON.parse(localStorage.getItem('lsp-session')));
  check('viewer_signed_up', { user: stored.user.name, role: stored.user.role, chat_exp: await va.evaluate(() => window.lspChat.tokenExpires()) });
  if (stored.user.name !== vname) throw new Error('session not stored');
  stage = 'chat round-trip';
  const say = async (p, text) => {
    await p.fill('.lsp-chat-form input:not([type=number])', text);
    await p.press('.lsp-chat-form input:not([type=number])', 'Enter');
    await vb.waitForFunction(m => document.querySelector('.lsp-chat-list').textContent.includes(m), text, { timeout: 10000 });
  };
  await say(va, 'hello from a new account ' + Date.now());
  check('chat_received', true);
  stage = 'chat token refresh';
  const exp1 = await va.evaluate(() => window.lspChat.tokenExpires());
  await va.waitForTimeout(1100); // a new token's expiry is a later second
  await va.evaluate(() => window.lspChat.refresh());
  const exp2 = await va.evaluate(() => window.lspChat.tokenExpires());
  check('chat_refresh', { before: exp1, after: exp2 });
  if (!(exp2 > exp1)) throw new Error('the chat token was not renewed');
  await say(va, 'after the refresh ' + Date.now());
  stage = 'reload keeps the session';
  await va.reload();
  await va.waitForSelector('.lsp-chat-form:not([hidden]) input', { timeout: 10000 });
  await say(va, 'after a reload ' + Date.now());
  check('reload_signed_in', true);
  stage = 'sign-out';
  const oldToken = stored.token;
  await va.click('.lsp-chat-signout');
  await va.waitForSelector('.lsp-chat-account:not([hidden])', { timeout: 10000 });
  const after = await va.evaluate(async t => ({
    stored: localStorage.getItem('lsp-session'),
    me: (await fetch('/api/v1/me', { headers: { Authorization: 'Bearer ' + t } })).status,
    form: document.querySelector('.lsp-chat-form').hidden,
  }), oldToken);
  check('signed_out', after);
  if (after.stored !== null || after.me !== 401 || !after.form) throw new Error('sign-out: ' + JSON.stringify(after));
  if (shots) await vb.screenshot({ path: shots + '/selfserve-watch.png' });
  await va.close(); await vb.close();

  stage = 'studio stop';
  await studio.click('#stop');
  await studio.waitForFunction(() => !window.lspStudio.pc && document.getElementById('live-badge').textContent !== 'LIVE',
    null, { timeout: 15000 });

  // ---- 3. B-frames from an OBS-like publisher
  stage = 'B-frames warning (-bf 2)';
  ff = publish(2, 40);
  await studio.waitForFunction(() => !document.getElementById('bframes-warning').hidden &&
    window.lspStudio.health.bframes === true, null, { timeout: 25000 });
  await studio.waitForFunction(() => document.getElementById('live-badge').textContent === 'LIVE', null, { timeout: 25000 });
  check('bframes_2', await studio.evaluate(() => ({ warning: document.getElementById('bframes-warning').textContent.trim().slice(0, 60),
    badge: document.getElementById('live-badge').textContent, source: document.getElementById('health-source').textContent })));
  if (shots) await studio.screenshot({ path: shots + '/selfserve-bframes.png', fullPage: true });
  ff.kill('SIGINT'); await ff.done; ff = null;
  stage = 'B-frames warning gone after the publish';
  await studio.waitForFunction(() => document.getElementById('bframes-warning').hidden, null, { timeout: 20000 });
  stage = 'no warning (-bf 0)';
  ff = publish(0, 40);
  // the ingest's report arrives (bframes false), then stays so for a few seconds
  await studio.waitForFunction(() => window.lspStudio.health.bframes === false, null, { timeout: 25000 });
  const quiet = [];
  for (let i = 0; i < 4; i++) {
    await studio.waitForTimeout(1000);
    quiet.push(await studio.evaluate(() => document.getElementById('bframes-warning').hidden &&
      window.lspStudio.health.bframes === false));
  }
  check('bframes_0', quiet);
  if (quiet.includes(false)) throw new Error('the warning showed for -bf 0');
  ff.kill('SIGINT'); await ff.done; ff = null;
  out.ok = true;
} catch (e) {
  out.error = stage + ': ' + String(e.message || e).split('\n')[0];
} finally {
  if (ff) ff.kill('SIGKILL');
  out.seconds = (Date.now() - t0) / 1000;
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
