// watch.js — the LL-HLS watch page: /watch/<channel> plays
// /hls/<channel>/master.m3u8 with hls.js in low-latency mode (or Safari's
// own HLS), shows LIVE/OFFLINE from /api/channels/<channel>, the current
// latency and the rendition.  Tests read window.lspPlayer and the
// data-* attributes on <body>.
(function () {
  'use strict';
  const parts = location.pathname.split('/').filter(Boolean);
  const channel = decodeURIComponent(parts[1] || '');
  const src = '/hls/' + encodeURIComponent(channel) + '/master.m3u8';
  const video = document.getElementById('video');
  const badge = document.getElementById('badge');
  const offline = document.getElementById('offline');
  const $lat = document.getElementById('latency');
  const $lvl = document.getElementById('level');
  const $buf = document.getElementById('buffer');
  const player = { hls: null, video: video, channel: channel, state: 'connecting', latency: null, level: null };
  window.lspPlayer = player;
  document.getElementById('title').textContent = channel;
  document.title = channel + ' — lsp';

  function setState(s) {
    player.state = s;
    document.body.dataset.state = s;
    badge.textContent = s === 'live' ? 'LIVE' : s === 'offline' ? 'OFFLINE' : '…';
    badge.className = 'badge ' + (s === 'live' ? 'on' : 'off');
    offline.hidden = s !== 'offline';
  }

  function rungOf(level) {
    if (!level) return null;
    const url = Array.isArray(level.url) ? level.url[0] : level.url;
    const m = /\/([^/]+)\/[^/]*\.m3u8/.exec(url || '');
    if (m) return m[1];
    return level.height ? level.height + 'p' : (level.name || null);
  }

  function stop() {
    if (player.hls) { player.hls.destroy(); player.hls = null; }
    video.removeAttribute('src');
    video.load();
  }

  let retryTimer = null;
  function start() {
    stop();
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({
        lowLatencyMode: true,
        backBufferLength: 30,
        maxLiveSyncPlaybackRate: 1.5,
        manifestLoadingMaxRetry: 4,
      });
      player.hls = hls;
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () { video.play().catch(function () {}); });
      hls.on(window.Hls.Events.LEVEL_SWITCHED, function (_, d) {
        player.level = rungOf(hls.levels[d.level]);
        $lvl.textContent = player.level || '–';
      });
      hls.on(window.Hls.Events.ERROR, function (_, d) {
        if (!d.fatal) return;
        if (d.type === window.Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
        // network or other fatal error: start again shortly (the poll decides live/offline)
        stop();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(function () { if (player.state === 'live') start(); }, 2000);
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src; // Safari plays LL-HLS natively
      video.play().catch(function () {});
    } else {
      offline.hidden = false;
      offline.firstElementChild.textContent = 'This browser cannot play HLS.';
    }
  }

  async function poll() {
    let live = false;
    try {
      const r = await fetch('/api/channels/' + encodeURIComponent(channel), { cache: 'no-store' });
      if (r.ok) live = !!(await r.json()).live;
    } catch (e) { /* edge unreachable: treat as offline and keep polling */ }
    if (live && player.state !== 'live') { setState('live'); start(); }
    else if (!live && player.state !== 'offline') { setState('offline'); stop(); }
  }

  function tick() {
    const hls = player.hls;
    let lat = null;
    if (hls && hls.playingDate) lat = (Date.now() - hls.playingDate.getTime()) / 1000;
    else if (hls && isFinite(hls.latency) && hls.latency > 0) lat = hls.latency;
    else if (video.getStartDate && !isNaN(video.getStartDate().getTime()))
      lat = (Date.now() - video.getStartDate().getTime()) / 1000 - video.currentTime;
    player.latency = lat;
    player.edgeLatency = hls && isFinite(hls.latency) ? hls.latency : null;
    $lat.textContent = lat == null ? '–' : lat.toFixed(2) + ' s';
    const b = video.buffered;
    $buf.textContent = b.length ? (b.end(b.length - 1) - video.currentTime).toFixed(2) + ' s' : '–';
    document.body.dataset.latency = lat == null ? '' : lat.toFixed(3);
    document.body.dataset.level = player.level || '';
    document.body.dataset.currentTime = video.currentTime.toFixed(3);
  }

  poll();
  setInterval(poll, 3000);
  setInterval(tick, 500);
})();
