// whepwatch.mjs — N WHEP viewers of one URL in one headless Chromium page
// (web/whep.js), each sampled every 100 ms for a fixed time, to see a
// stream stall and recover.
// Usage: node whepwatch.mjs WHEP_URL [--viewers N] [--seconds S]
// Writes "playing" on stderr once every viewer has decoded a frame; prints
// one JSON line {ok, viewers: [{samples: [[epoch_ms, framesDecoded], ...],
// width, height, error}]}; exits 0 when every viewer decoded frames, 1
// otherwise, 2 on usage.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const url = args[0];
const opt = n => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
if (!url || url.startsWith('--')) { console.error('usage: node whepwatch.mjs WHEP_URL [--viewers N] [--seconds S]'); process.exit(2); }
const viewers = Number(opt('--viewers') || 1);
const seconds = Number(opt('--seconds') || 20);
const here = path.dirname(fileURLToPath(import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--disable-dev-shm-usage'],
});
let out = { ok: false }, rc = 1;
try {
  const page = await browser.newPage();
  page.on('console', m => {
    if (m.type() === 'error') console.error('page:', m.text());
    else if (m.text() === 'lsp:playing') console.error('playing');
  });
  let html = '';
  for (let i = 0; i < viewers; i++) html += `<video id="v${i}" autoplay muted playsinline></video>`;
  await page.setContent(html);
  await page.addScriptTag({ path: path.join(here, '../../web/whep.js') });
  out = await page.evaluate(async ({ url, viewers, seconds }) => {
    const vs = [];
    for (let i = 0; i < viewers; i++) {
      const v = { samples: [], error: null, s: null };
      try { v.s = await window.lspWhep.play(document.getElementById('v' + i), url, { timeoutMs: 10000 }); }
      catch (e) { v.error = String(e); }
      vs.push(v);
    }
    const t0 = Date.now();
    let said = false;
    while (Date.now() - t0 < seconds * 1000) {
      for (const v of vs) {
        if (!v.s) continue;
        const st = await v.s.stats();
        v.samples.push([Date.now(), st.framesDecoded || 0]);
        v.width = st.width; v.height = st.height;
      }
      if (!said && vs.every(v => v.samples.length && v.samples[v.samples.length - 1][1] > 0)) {
        said = true;
        console.log('lsp:playing');
      }
      await new Promise(r => setTimeout(r, 100));
    }
    for (const v of vs) if (v.s) { v.resource = v.s.resource; await v.s.stop(); }
    return { ok: vs.every(v => v.samples.length && v.samples[v.samples.length - 1][1] > 0),
      viewers: vs.map(v => ({ samples: v.samples, width: v.width, height: v.height, error: v.error })) };
  }, { url, viewers, seconds });
  if (out.ok) rc = 0;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(rc);
