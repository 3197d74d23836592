// bench/clockstrip.js — the read side of the latency benches' clock strip,
// injected into the page (page.addInitScript) by latency-llhls.mjs and
// latency-webrtc.mjs so both read frames the same way.  The publisher paints
// ms since K (00:00 UTC) as 32 black/white blocks, 20 px wide on a 640 px
// frame, at y = 12 of 360.  lspClockStrip(video, canvas, K) returns the
// latency in ms of the frame on screen now, or null when none is readable.
window.lspClockStrip = function (v, c, K) {
  const now = Date.now();
  const w = v.videoWidth, h = v.videoHeight;
  if (!w || !h) return null;
  const g = c.getContext('2d', { willReadFrequently: true });
  c.width = w; c.height = h;
  g.drawImage(v, 0, 0, w, h);
  const row = g.getImageData(0, Math.floor(12 * h / 360), w, 1).data;
  let ms = 0;
  for (let i = 0; i < 32; i++)
    if (row[4 * Math.floor((i * 20 + 10) * w / 640)] > 128) ms += 2 ** i;
  const lat = (now - K * 1000) - ms;
  return lat > -100 && lat < 60000 ? lat : null;
};
