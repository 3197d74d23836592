// index.mjs — open the lsp channel directory (/) in headless Chromium and
// wait until it lists channel NAME as live and its inline preview plays.  Usage: node index.mjs URL NAME
// Prints the card's text; exits 1 when it does not appear within 10 s.
import { chromium } from 'playwright-core';

const [url, name] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
let rc = 1;
try {
  const p = await b.newPage();
  await p.goto(url);
  const sel = `li.card.live a[href="/watch/${encodeURIComponent(name)}"]`;
  await p.waitForSelector(sel, { timeout: 10000 });
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
