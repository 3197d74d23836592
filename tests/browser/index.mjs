// index.mjs — open the lsp channel directory (/) in headless Chromium and
// wait until it lists channel NAME as live and its inline preview plays.
// With --chat WSURL (lsp-chat's ws://host:port/ws/{channel}) and --viewers N
// the card must also show N viewers, counted by lsp-chat's GET /presence.
// Usage: node index.mjs URL NAME [--chat WSURL --viewers N]
// Prints the card's text; exits 1 when it does not appear within 10 s.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const [url, name] = args;
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const chat = opt('--chat'), viewers = opt('--viewers');
const b = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
let rc = 1;
try {
  const p = await b.newPage();
  if (chat) await p.addInitScript(c => { window.LSP_CHAT_URL = c; }, chat);
  await p.goto(url);
  const sel = `li.card.live a[href="/watch/${encodeURIComponent(name)}"]`;
  await p.waitForSelector(sel, { timeout: 10000 });
  if (viewers !== undefined) {
    // the count arrives from lsp-chat within a poll or two (every 3 s)
    const v = `li.card.live[data-channel="${name}"] .viewers`;
    await p.waitForFunction(([s, n]) => { const e = document.querySelector(s); return e && e.dataset.count === n; },
      [v, viewers], { timeout: 10000 }).catch(async e => {
      throw new Error(`no "${viewers} viewers" on the card: shown "${await p.textContent(v).catch(() => '?')}" (${e.message.split('\n')[0]})`);
    });
    const text = await p.textContent(v);
    if (text !== `${viewers} ${viewers === '1' ? 'viewer' : 'viewers'}`) throw new Error(`viewer text "${text}"`);
    console.log(`viewers shown: ${text}`);
  }
  console.log((await p.textContent(sel)).trim());
  // the first live channel plays inline on the front page
  await p.waitForFunction(() => { const v = document.getElementById('preview'); return v && v.currentTime > 1; },
    null, { timeout: 20000 });
  console.log('front-page preview playing');
  rc = 0;
} catch (e) {
  console.error(String(e));
} finally {
  await b.close();
}
process.exit(rc);
