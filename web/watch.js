// watch.js — the LL-HLS watch page: /watch/<channel> plays
// /hls/<channel>/master.m3u8 with hls.js in low-latency mode (or Safari's
// own HLS), shows LIVE/OFFLINE from /api/channels/<channel>, the current
// latency and the rendition.  Tests read window.lspPlayer and the
// data-* attributes on <body>.
//
// Rewind (DVR): the LL playlists only hold a few seconds, so seeking back
// switches the source to /hls/<channel>/master-dvr.m3u8 (long plain
// playlists written by lsp-package --dvr) and "LIVE" switches back.  The
// position is kept as "seconds behind live" via EXT-X-PROGRAM-DATE-TIME.
// Recordings: /watch/<channel>?vod=<id> plays /vod/<channel>/<id>/, and the
// list from /api/channels/<channel>/vods is shown below the player.
(function () {
  'use strict';
  const parts = location.pathname.split('/').filter(Boolean);
  const channel = decodeURIComponent(parts[1] || '');
  let base = '/hls/' + encodeURIComponent(channel) + '/';
  let src = base + 'master.m3u8';
  let dvrSrc = base + 'master-dvr.m3u8';
  let tokenQuery = ''; // "?token=…" for a private or age-gated channel (playbackAccess)
  let vodBase = '/vod/' + encodeURIComponent(channel) + '/'; // + "~<token>/" likewise
  const vodId = new URLSearchParams(location.search).get('vod');
  const video = document.getElementById('video');
  const badge = document.getElementById('badge');
  const offline = document.getElementById('offline');
  const $lat = document.getElementById('latency');
  const $lvl = document.getElementById('level');
  const $buf = document.getElementById('buffer');
  const $dvr = document.getElementById('dvr');
  const $seek = document.getElementById('seek');
  const $golive = document.getElementById('golive');
  const $behind = document.getElementById('behind');
  const player = {
    hls: null, video: video, channel: channel, state: 'connecting', latency: null, level: null,
    mode: vodId ? 'vod' : 'live', behind: null, dvr: false, dvrWindow: 0, edgeJumps: 0, farSince: 0, layerTicks: 0,
  };
  window.lspPlayer = player;
  document.getElementById('title').textContent = channel + (vodId ? ' — ' + vodId : '');
  document.title = channel + ' — lsp';

  function setState(s) {
    player.state = s;
    document.body.dataset.state = s;
    badge.textContent = s === 'live' ? 'LIVE' : s === 'offline' ? 'OFFLINE' : '…';
    badge.className = 'badge ' + (s === 'live' ? 'on' : 'off');
    offline.hidden = s !== 'offline' || player.mode === 'vod';
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
    whepGen++;
    if (player.whep) { player.whep.stop(); player.whep = null; }
    player.whepStats = null;
    // A WHEP attempt that failed after its tracks arrived leaves a MediaStream
    // in srcObject, which outranks src: clear it or LL-HLS plays black.
    video.srcObject = null;
    video.removeAttribute('src');
    video.load();
  }

  // Media position (seconds, hls.js timeline) that is `behind` seconds
  // behind the newest fragment of the loaded playlist, via its dates.
  function positionFor(details, behind) {
    const frags = details && details.fragments;
    if (!frags || !frags.length) return null;
    const last = frags[frags.length - 1];
    if (!last.programDateTime) return Math.max(frags[0].start, last.start + last.duration - behind);
    const edgeWall = last.programDateTime + last.duration * 1000;
    const want = Date.now() - behind * 1000;
    const pos = last.start + last.duration - (edgeWall - want) / 1000;
    return Math.min(Math.max(pos, frags[0].start), last.start + last.duration - 1);
  }

  // WebRTC first at the live edge (WHEP to lsp-rtc, web/whep.js): sub-second.
  // Any failure (no lsp-rtc, channel not in its ring, UDP blocked) falls back
  // to LL-HLS for the rest of the visit; ?hls=1 forces LL-HLS, ?rtc=URL (or
  // window.LSP_RTC_URL) names lsp-rtc.
  let whepGen = 0;
  player.hlsOnly = !window.lspWhep || !window.RTCPeerConnection ||
    new URLSearchParams(location.search).get('hls') === '1';
  function startWhep() {
    const gen = whepGen;
    player.transport = 'webrtc';
    window.lspWhep.play(video, window.lspWhep.url(channel) + tokenQuery,
      { timeoutMs: 5000, rung: player.rtcRung || undefined }).then(function (s) {
      if (gen !== whepGen || player.mode !== 'live') { s.stop(); return; }
      player.whep = s;
      if ($q) $q.value = player.rtcRung ? 'rtc:' + player.rtcRung : 'rtc';
      player.level = player.rtcRung || 'src';
      $lvl.textContent = player.level;
      rtcLayer(s);
      video.play().catch(function () {});
      s.pc.addEventListener('connectionstatechange', function () {
        if (player.whep === s && (s.pc.connectionState === 'failed' || s.pc.connectionState === 'closed')) whepFailed();
      });
    }).catch(function () { if (gen === whepGen) whepFailed(); });
  }
  function whepFailed() {
    player.hlsOnly = true;
    if (player.mode === 'live' && player.state === 'live') start('live');
  }

  // The rungs lsp-rtc may serve this WebRTC session and the one it serves
  // (GET of the session's layer control): the menu lists them, the rung
  // field shows the one playing.
  function rtcLayer(s) {
    s.layer().then(function (l) {
      if (player.whep !== s || !l) return;
      const names = l.rungs && l.rungs.length > 1 ? l.rungs.map(function (r) { return r.name; }) : null;
      if (String(names) !== String(player.rtcRungs)) { player.rtcRungs = names; qualityOptions(null); }
      if (l.current) { player.level = l.current; $lvl.textContent = l.current; }
    });
  }

  // Quality selector.  Over LL-HLS: "rtc" = WebRTC at the live edge, "-1" =
  // LL-HLS adaptive, N = LL-HLS pinned to rendition N.  Over WebRTC, when the
  // channel has a ladder: "rtc" = lsp-rtc picks the rung (auto), "rtc:NAME" =
  // that rung pinned through the session's layer control, "-1" = LL-HLS.
  // Choosing an LL-HLS rendition leaves WebRTC.
  const $q = document.getElementById('quality');
  player.quality = -1;
  player.rtcRung = null;  // the rung pinned over WebRTC; null: auto
  player.rtcRungs = null; // the rungs the WebRTC session may have
  function qualityOptions(hls) {
    if (!$q) return;
    const keep = $q.value;
    let opts = [['rtc', 'lowest latency (WebRTC)'], ['-1', 'auto']];
    if (player.whep && player.rtcRungs) {
      opts = [['rtc', 'auto (WebRTC)']].concat(player.rtcRungs.map(function (n) { return ['rtc:' + n, n + ' (WebRTC)']; }));
      opts.push(['-1', 'LL-HLS']);
    }
    if (hls) hls.levels.forEach(function (l, i) { opts.push([String(i), rungOf(l) || 'rendition ' + (i + 1)]); });
    $q.replaceChildren.apply($q, opts.map(function (o) {
      const e = document.createElement('option'); e.value = o[0]; e.textContent = o[1]; return e;
    }));
    $q.value = [].some.call($q.options, function (o) { return o.value === keep; }) ? keep : (player.whep ? 'rtc' : '-1');
  }
  if ($q) {
    qualityOptions(null);
    $q.addEventListener('change', function () {
      if ($q.value === 'rtc' || $q.value.indexOf('rtc:') === 0) {
        // a WebRTC rung (or auto): pinned on the playing session at the
        // rung's next keyframe, or the session started on it
        const name = $q.value === 'rtc' ? null : $q.value.slice(4);
        player.rtcRung = name;
        player.hlsOnly = false;
        player.quality = -1;
        if (player.whep) {
          const s = player.whep;
          s.setLayer(name || 'auto').then(function () { rtcLayer(s); }).catch(function () {});
        } else if (player.mode === 'live') start('live');
        return;
      }
      player.quality = Number($q.value);
      if (player.mode === 'live' && !player.hls) { player.hlsOnly = true; start('live'); return; }
      // nextLevel: switch at the next fragment, no buffer flush (no stall waiting
      // for a key frame).  Always assign it: that is what turns automatic
      // switching off, even when the chosen rendition is the one playing.
      if (player.hls) player.hls.nextLevel = player.quality;
    });
  }

  let retryTimer = null;
  // mode: 'live' (LL master), 'dvr' (DVR master, seek to opts.behind), 'vod'
  function start(mode, opts) {
    stop();
    mode = mode || 'live';
    player.mode = mode;
    if (mode === 'live' && !player.hlsOnly) { startWhep(); return; }
    player.transport = 'll-hls';
    const url = mode === 'dvr' ? dvrSrc : mode === 'vod'
      ? vodBase + encodeURIComponent(vodId) + '/index.m3u8' : src;
    if (window.Hls && window.Hls.isSupported()) {
      const cfg = mode === 'live'
        // A stall raises hls.js's target latency; its default (+1 s per stall,
        // up to a segment) left players a whole second behind after one hiccup
        // at start-up.  +0.2 s per stall still backs off on a bad network, and
        // the 1.5x catch-up rate brings the player back to PART-HOLD-BACK.
        ? { lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5, liveSyncOnStallIncrease: 0.2,
            manifestLoadingMaxRetry: 4 }
        : { lowLatencyMode: false, backBufferLength: 30, manifestLoadingMaxRetry: 4 };
      if (mode === 'dvr') { // start that far behind the live edge, and never jump back to it
        cfg.liveSyncDuration = Math.max(3, (opts && opts.behind) || 0);
        cfg.liveMaxLatencyDuration = 1e9;
        cfg.maxLiveSyncPlaybackRate = 1;
      }
      const hls = new window.Hls(cfg);
      player.hls = hls;
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        qualityOptions(hls);
        if (player.quality >= 0 && player.quality < hls.levels.length) hls.currentLevel = player.quality;
        video.play().catch(function () {});
      });
      hls.on(window.Hls.Events.LEVEL_LOADED, function (_, d) {
        if (mode === 'dvr') player.dvrWindow = d.details.totalduration || player.dvrWindow;
      });
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
        retryTimer = setTimeout(function () {
          if (player.mode === 'vod' || player.state === 'live') start(player.mode === 'dvr' ? 'live' : player.mode);
        }, 2000);
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url; // Safari plays LL-HLS natively (and seeks in its own window)
      video.play().catch(function () {});
    } else {
      offline.hidden = false;
      offline.firstElementChild.textContent = 'This browser cannot play HLS.';
    }
  }

  // ---- rewind ----------------------------------------------------------
  function seekTo(behind) {
    behind = Math.max(0, behind);
    if (behind < 2) { goLive(); return; }
    const hls = player.hls;
    if (player.mode === 'dvr' && hls && hls.levels.length && hls.levels[Math.max(hls.currentLevel, 0)].details) {
      const pos = positionFor(hls.levels[Math.max(hls.currentLevel, 0)].details, behind);
      if (pos != null) { video.currentTime = pos; video.play().catch(function () {}); }
      return;
    }
    start('dvr', { behind: behind });
  }
  function goLive() { if (player.mode !== 'live') start('live'); }
  player.seekTo = seekTo;
  player.seekBack = function (s) { seekTo((player.behind || 0) + s); };
  player.goLive = goLive;

  async function checkDvr() {
    let ok = false;
    try { ok = (await fetch(dvrSrc, { method: 'HEAD', cache: 'no-store' })).ok; } catch (e) { /* none */ }
    player.dvr = ok;
    $dvr.hidden = !ok || player.mode === 'vod';
  }
  document.getElementById('back10').addEventListener('click', function () { player.seekBack(10); });
  $golive.addEventListener('click', goLive);
  $seek.addEventListener('change', function () { seekTo(Number($seek.max) - Number($seek.value)); });

  // ---- recordings -----------------------------------------------------
  function fmtDur(s) {
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(x).padStart(2, '0');
  }
  async function listVods() {
    let list = [];
    try {
      const r = await fetch('/api/channels/' + encodeURIComponent(channel) + '/vods' + tokenQuery, { cache: 'no-store' });
      if (r.ok) list = await r.json();
    } catch (e) { /* none */ }
    const ul = document.getElementById('vodlist');
    ul.textContent = '';
    for (const v of list) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '/watch/' + encodeURIComponent(channel) + '?vod=' + encodeURIComponent(v.id);
      if (v.id === vodId) a.className = 'current';
      const when = new Date(v.started * 1000);
      const t = document.createElement('span');
      t.textContent = isNaN(when.getTime()) ? v.id : when.toLocaleString();
      const d = document.createElement('span');
      d.className = 'muted';
      d.textContent = fmtDur(v.duration) + (v.state === 'recording' ? ' · recording' : '');
      a.append(t, d);
      li.append(a);
      ul.append(li);
    }
    document.getElementById('vods').hidden = list.length === 0;
    player.vods = list.map(function (v) { return v.id; });
  }

  async function poll() {
    let live = false;
    try {
      const r = await fetch('/api/channels/' + encodeURIComponent(channel), { cache: 'no-store' });
      if (r.ok) live = !!(await r.json()).live;
    } catch (e) { /* edge unreachable: treat as offline and keep polling */ }
    if (player.mode === 'vod') { setState(live ? 'live' : 'offline'); return; }
    if (live && player.state !== 'live') { setState('live'); start('live'); checkDvr(); }
    else if (!live && player.state !== 'offline') { setState('offline'); stop(); $dvr.hidden = true; listVods(); }
  }

  // hls.js speeds up toward its target latency only while within one target
  // duration of it; further behind it takes the playback for DVR and stays
  // there at 1x.  A stall at start-up or under load once left live viewers
  // 6-20 s behind for good.  The live view (not a rewind) jumps back to the
  // live edge after 3 s that far behind.
  function keepLive(hls) {
    const lvl = hls && hls.levels && hls.levels[Math.max(hls.currentLevel, 0)];
    const td = (lvl && lvl.details && lvl.details.targetduration) || 1;
    const far = player.mode === 'live' && hls && !video.paused && isFinite(hls.latency) &&
      isFinite(hls.targetLatency) && hls.latency - hls.targetLatency > td + 0.5;
    if (!far) { player.farSince = 0; return; }
    if (!player.farSince) { player.farSince = Date.now(); return; }
    if (Date.now() - player.farSince < 3000 || !isFinite(hls.liveSyncPosition)) return;
    video.currentTime = hls.liveSyncPosition;
    player.farSince = 0;
    player.edgeJumps++;
    document.body.dataset.edgeJumps = String(player.edgeJumps);
  }

  function tick() {
    const hls = player.hls;
    let lat = null;
    if (player.whep) player.whep.stats().then(function (st) { player.whepStats = st; }).catch(function () {});
    if (player.whep && ++player.layerTicks % 8 === 0) rtcLayer(player.whep);
    // A recording has no live edge: no latency to show.
    if (player.mode === 'vod') lat = null;
    else if (player.whep) lat = player.whepStats ? player.whepStats.latency : null;
    else if (hls && hls.playingDate) lat = (Date.now() - hls.playingDate.getTime()) / 1000;
    else if (hls && isFinite(hls.latency) && hls.latency > 0) lat = hls.latency;
    else if (video.getStartDate && !isNaN(video.getStartDate().getTime()))
      lat = (Date.now() - video.getStartDate().getTime()) / 1000 - video.currentTime;
    player.latency = lat;
    player.behind = player.mode === 'vod' ? null : lat;
    player.edgeLatency = hls && isFinite(hls.latency) ? hls.latency : null;
    keepLive(hls);
    $lat.textContent = lat == null ? '–' : lat.toFixed(2) + ' s';
    const b = video.buffered;
    $buf.textContent = b.length ? (b.end(b.length - 1) - video.currentTime).toFixed(2) + ' s' : '–';
    if (!$dvr.hidden) {
      const win = Math.max(60, Math.ceil(player.dvrWindow || 0));
      const behind = player.mode === 'dvr' && lat != null ? lat : 0;
      $seek.max = String(win);
      if (document.activeElement !== $seek) $seek.value = String(Math.max(0, win - behind));
      $golive.classList.toggle('at-live', player.mode === 'live');
      $behind.textContent = player.mode === 'dvr' && lat != null ? '−' + fmtDur(lat) : '';
    }
    document.body.dataset.latency = lat == null ? '' : lat.toFixed(3);
    document.body.dataset.level = player.level || '';
    document.body.dataset.mode = player.mode;
    document.body.dataset.transport = player.whep ? 'webrtc' : player.transport || '';
    const $mode = document.getElementById('mode');
    if ($mode) $mode.textContent = player.whep ? 'WebRTC' : player.transport === 'webrtc' ? 'WebRTC…' : 'LL-HLS';
    document.body.dataset.currentTime = video.currentTime.toFixed(3);
  }

  // ---- private and age-gated channels ----------------------------------
  // Such a channel plays only with a playback token from lsp-api, which the
  // signed-in viewer asks for (the API's session cookie + its CSRF cookie,
  // or the studio's bearer token).  The token goes in the path
  // (/hls/<ch>/~<token>/master.m3u8): every URI in the playlists is
  // relative, so hls.js and Safari carry it to every playlist, part and
  // segment; recordings likewise (/vod/<ch>/~<token>/<id>/index.m3u8), the
  // recording list and WHEP get it as ?token=.  1: play; 0: a message is
  // shown.  Nothing is fetched from /hls/ or /vod/ before this answers.
  async function playbackAccess() {
    let ch = null;
    try {
      const r = await fetch('/api/v1/channels/' + encodeURIComponent(channel), { cache: 'no-store' });
      if (r.ok) ch = await r.json();
    } catch (e) { /* no lsp-api behind this edge: the channel is public as far as we know */ }
    if (!ch || (ch.visibility !== 'private' && !ch.age_gate)) return 1;
    const headers = { 'Content-Type': 'application/json' };
    const csrf = /(?:^|;\s*)lsp_csrf=([^;]+)/.exec(document.cookie);
    const bearer = sessionStorage.getItem('lsp-studio-token');
    if (csrf) headers['X-CSRF-Token'] = csrf[1];
    else if (bearer) headers.Authorization = 'Bearer ' + bearer;
    let r = null, body = {};
    try {
      r = await fetch('/api/v1/channels/' + encodeURIComponent(channel) + '/playback-token',
        { method: 'POST', headers: headers, credentials: 'same-origin', body: '{}' });
      body = await r.json().catch(function () { return {}; });
    } catch (e) { /* shown below */ }
    if (r && r.ok && body.token) {
      base = '/hls/' + encodeURIComponent(channel) + '/~' + body.token + '/';
      src = base + 'master.m3u8';
      dvrSrc = base + 'master-dvr.m3u8';
      tokenQuery = '?token=' + encodeURIComponent(body.token);
      vodBase = '/vod/' + encodeURIComponent(channel) + '/~' + body.token + '/';
      return 1;
    }
    const why = !r ? 'The server could not be reached.'
      : r.status === 401 ? (ch.age_gate && ch.visibility !== 'private'
        ? 'This channel is for adults: sign in to watch it.' : 'This channel is private: sign in to watch it.')
      : body.error === 'age_gate' ? 'This channel is for signed-in adults (18+) only.'
      : body.error === 'private' ? 'This channel is private: only its owner and moderators can watch it.'
      : 'This channel cannot be played: ' + (body.message || r.status);
    player.denied = body.error || String(r ? r.status : 0);
    document.body.dataset.denied = player.denied;
    offline.hidden = false;
    offline.firstElementChild.textContent = why;
    offline.lastElementChild.textContent = '';
    return 0;
  }

  playbackAccess().then(function (ok) {
    if (!ok) return;
    if (vodId) start('vod');
    listVods();
    poll();
    setInterval(poll, 3000);
  });
  setInterval(tick, 500);
})();
