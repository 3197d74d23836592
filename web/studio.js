// studio.js — the lsp creator studio (/studio).
//
// Sign in to lsp-api (name + password, or a creator token), pick a channel,
// choose camera and microphone (live preview, mic level meter), compose a
// scene on a <canvas> (camera, screen share, text and image overlays,
// picture-in-picture; scenes saved in localStorage), go live over WHIP to
// lsp-rtc with the channel's stream key, and watch the stream's health
// every second: lsp-api's channel health (the lsp.stream.<ch>.health report
// of an RTMP publish) when it has one, else the WebRTC sender's own stats;
// viewers and chat rate from lsp-chat's presence over its WebSocket.
// Endpoints: the page's own origin (lsp-edge, the front door, forwards
// /api/v1/, /whip/, /ws/ to lsp-api, lsp-rtc, lsp-chat); a deployment that
// runs them on separate origins names them with ?api= / window.LSP_API_URL,
// ?rtc= / window.LSP_RTC_URL, ?chat= / window.LSP_CHAT_URL.
// State for tests and tools: window.lspStudio.
const $ = id => document.getElementById(id);
const q = new URLSearchParams(location.search);
const API = (q.get('api') || window.LSP_API_URL || '').replace(/\/+$/, '');
const RTC = (q.get('rtc') || window.LSP_RTC_URL || '').replace(/\/+$/, '');
const CHAT = q.get('chat') || window.LSP_CHAT_URL ||
  (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/{channel}';

const st = {
  token: sessionStorage.getItem('lsp-studio-token') || '',
  user: null,
  cam: null, mic: null, screen: null,
  camVideo: document.createElement('video'),
  screenVideo: document.createElement('video'),
  image: null, imageURL: '',
  pc: null, whipLocation: '', live: false, lastStats: null,
  viewers: null, chatTimes: [], ws: null, wsChannel: '',
  health: {},
};
window.lspStudio = st;
for (const v of [st.camVideo, st.screenVideo]) { v.muted = true; v.playsInline = true; }

const channel = () => $('channel').value.trim();
function say(id, text) { $(id).textContent = text; }
function authHeaders() { return st.token ? { Authorization: 'Bearer ' + st.token } : {}; }
async function api(method, path, body) {
  const r = await fetch(API + '/api/v1' + path, {
    method, headers: { ...authHeaders(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let j = null;
  try { j = await r.json(); } catch (e) { /* empty body */ }
  if (!r.ok) throw new Error((j && (j.error || j.message)) || ('HTTP ' + r.status));
  return j;
}

// ---- sign in and channels ---------------------------------------------------
async function loadChannels() {
  try {
    const me = await api('GET', '/me');
    st.user = me.user || me;
    const list = await api('GET', '/channels');
    const mine = (list.channels || []).filter(c => c.owner === st.user.name || st.user.role === 'admin');
    $('channel-list').replaceChildren(...mine.map(c => {
      const o = document.createElement('option'); o.value = c.name; o.label = c.title || c.name; return o;
    }));
    if (!channel() && mine.length) { $('channel').value = mine[0].name; channelChanged(); }
    say('signin-status', 'signed in as ' + st.user.name + ' (' + st.user.role + '); ' + mine.length + ' channel(s)');
  } catch (e) {
    say('signin-status', 'sign-in: ' + e.message);
  }
}
$('signin').addEventListener('submit', async ev => {
  ev.preventDefault();
  try {
    const s = await api('POST', '/signin', { name: $('si-name').value.trim(), password: $('si-pass').value });
    st.token = s.token; sessionStorage.setItem('lsp-studio-token', st.token);
    $('si-pass').value = '';
    await loadChannels();
  } catch (e) { say('signin-status', 'sign-in failed: ' + e.message); }
});
$('tokenform').addEventListener('submit', async ev => {
  ev.preventDefault();
  st.token = $('si-token').value.trim(); sessionStorage.setItem('lsp-studio-token', st.token);
  $('si-token').value = '';
  await loadChannels();
});

function channelChanged() {
  const ch = channel();
  const enc = encodeURIComponent(ch || 'CHANNEL');
  // ingest ports: lsp-up's defaults, or ?rtmp_port= / ?srt_port= (window.LSP_RTMP_PORT / LSP_SRT_PORT)
  const h = location.hostname.includes(':') ? '[' + location.hostname + ']' : location.hostname;
  const rtmpPort = q.get('rtmp_port') || window.LSP_RTMP_PORT || 1935;
  const srtPort = q.get('srt_port') || window.LSP_SRT_PORT || 9000;
  say('url-rtmp', 'rtmp://' + h + ':' + rtmpPort + '/live  (stream key: the key above)');
  say('url-srt', 'srt://' + h + ':' + srtPort + '?streamid=KEY  (KEY: the stream key above)');
  say('url-whip', new URL(RTC + '/whip/' + enc, location.href).href);
  $('watch-link').href = '/watch/' + enc;
  connectChat();
}
$('channel').addEventListener('change', channelChanged);
$('channel').value = q.get('channel') || localStorage.getItem('lsp-studio-channel') || '';
$('channel').addEventListener('change', () => localStorage.setItem('lsp-studio-channel', channel()));

// ---- stream key -------------------------------------------------------------
$('key-show').addEventListener('click', () => {
  const k = $('streamkey'), show = k.type === 'password';
  k.type = show ? 'text' : 'password';
  $('key-show').textContent = show ? 'Hide' : 'Show';
  $('key-show').setAttribute('aria-pressed', String(show));
});
$('key-rotate').addEventListener('click', async () => {
  if (!channel()) { say('live-status', 'choose a channel first'); return; }
  if (!confirm('Rotate the stream key of ' + channel() + '? The old key stops working.')) return;
  try {
    const r = await api('POST', '/channels/' + encodeURIComponent(channel()) + '/key');
    $('streamkey').value = r.key || '';
    say('live-status', 'new key shown once — copy it now');
  } catch (e) { say('live-status', 'rotate failed: ' + e.message); }
});

// ---- devices ----------------------------------------------------------------
async function listDevices() {
  const devs = await navigator.mediaDevices.enumerateDevices();
  for (const [sel, kind] of [[$('camera'), 'videoinput'], [$('mic'), 'audioinput']]) {
    const keep = sel.value;
    sel.replaceChildren(...devs.filter(d => d.kind === kind).map((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId; o.textContent = d.label || (kind === 'videoinput' ? 'camera ' : 'microphone ') + (i + 1);
      return o;
    }));
    if ([...sel.options].some(o => o.value === keep)) sel.value = keep;
  }
  st.devices = devs.map(d => ({ kind: d.kind, label: d.label }));
}
let meterCtx = null, meterRaf = 0;
async function openCamera() {
  if (st.cam) st.cam.getTracks().forEach(t => t.stop());
  const id = $('camera').value;
  st.cam = await navigator.mediaDevices.getUserMedia({
    video: { deviceId: id ? { exact: id } : undefined, width: 1280, height: 720, frameRate: 30 } });
  st.camVideo.srcObject = st.cam; st.camVideo.play().catch(() => {});
  $('cam-preview').srcObject = st.cam;
  replaceTrack('video', null); // canvas track stays; nothing to swap
}
async function openMic() {
  if (st.mic) st.mic.getTracks().forEach(t => t.stop());
  const id = $('mic').value;
  st.mic = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: id ? { exact: id } : undefined } });
  if (meterCtx) meterCtx.close();
  meterCtx = new AudioContext();
  const an = meterCtx.createAnalyser(); an.fftSize = 1024;
  meterCtx.createMediaStreamSource(st.mic).connect(an);
  const buf = new Float32Array(an.fftSize);
  cancelAnimationFrame(meterRaf);
  const tick = () => {
    an.getFloatTimeDomainData(buf);
    let sum = 0; for (const x of buf) sum += x * x;
    $('mic-level').value = Math.min(1, Math.sqrt(sum / buf.length) * 3);
    meterRaf = requestAnimationFrame(tick);
  };
  tick();
  replaceTrack('audio', st.mic.getAudioTracks()[0]);
}
async function initDevices() {
  try {
    // labels appear only after permission: ask once for both, then list
    const s = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    s.getTracks().forEach(t => t.stop());
    await listDevices();
    await openCamera();
    await openMic();
    say('live-status', 'devices ready');
  } catch (e) { say('live-status', 'devices: ' + e.message); }
}
$('devices-refresh').addEventListener('click', initDevices);
$('camera').addEventListener('change', () => openCamera().catch(e => say('live-status', e.message)));
$('mic').addEventListener('change', () => openMic().catch(e => say('live-status', e.message)));
navigator.mediaDevices.addEventListener('devicechange', () => listDevices().catch(() => {}));

// ---- scene ------------------------------------------------------------------
const canvas = $('scene'), g = canvas.getContext('2d');
$('screen').addEventListener('click', async () => {
  if (st.screen) {
    st.screen.getTracks().forEach(t => t.stop()); st.screen = null;
  } else {
    try {
      st.screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 } });
      st.screenVideo.srcObject = st.screen; st.screenVideo.play().catch(() => {});
      st.screen.getVideoTracks()[0].addEventListener('ended', () => { st.screen = null; screenButton(); });
      if ($('layout').value === 'camera') $('layout').value = 'pip';
    } catch (e) { say('live-status', 'screen share: ' + e.message); }
  }
  screenButton();
});
function screenButton() {
  $('screen').textContent = st.screen ? 'Stop sharing' : 'Share screen';
  $('screen').setAttribute('aria-pressed', String(!!st.screen));
}
$('overlay-image').addEventListener('change', () => {
  const f = $('overlay-image').files[0];
  if (!f) return;
  const r = new FileReader();
  r.onload = () => setImage(String(r.result));
  r.readAsDataURL(f);
});
$('overlay-image-clear').addEventListener('click', () => { setImage(''); $('overlay-image').value = ''; });
function setImage(url) {
  st.imageURL = url; st.image = null;
  if (!url) return;
  const im = new Image(); im.onload = () => { st.image = im; }; im.src = url;
}
function fit(src, x, y, w, h) {
  const sw = src.videoWidth || src.naturalWidth || src.width, sh = src.videoHeight || src.naturalHeight || src.height;
  if (!sw || !sh) return;
  const s = Math.min(w / sw, h / sh), dw = sw * s, dh = sh * s;
  g.drawImage(src, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh);
}
function draw() {
  const W = canvas.width, H = canvas.height, lay = $('layout').value;
  g.fillStyle = '#101218'; g.fillRect(0, 0, W, H);
  const cam = st.cam && st.camVideo.readyState >= 2 ? st.camVideo : null;
  const scr = st.screen && st.screenVideo.readyState >= 2 ? st.screenVideo : null;
  if (lay === 'camera' || !scr) {
    if (cam) fit(cam, 0, 0, W, H);
  } else {
    fit(scr, 0, 0, W, H);
    if (lay === 'pip' && cam) {
      const w = W * 0.28, h = w * 9 / 16, x = W - w - W * 0.025, y = H - h - H * 0.04;
      g.fillStyle = '#000'; g.fillRect(x - 3, y - 3, w + 6, h + 6);
      fit(cam, x, y, w, h);
    }
  }
  if (st.image) {
    const w = W * 0.18, h = w * (st.image.naturalHeight / st.image.naturalWidth || 1);
    g.drawImage(st.image, W * 0.02, H * 0.03, w, h);
  }
  const text = $('overlay-text').value;
  if (text) {
    const fs = Math.round(H / 16);
    g.font = '600 ' + fs + 'px system-ui, sans-serif';
    const tw = g.measureText(text).width;
    g.fillStyle = 'rgba(0,0,0,.6)'; g.fillRect(W * 0.02, H - fs * 2.1, tw + fs, fs * 1.6);
    g.fillStyle = '#fff'; g.fillText(text, W * 0.02 + fs / 2, H - fs * 0.9);
  }
}
setInterval(draw, 1000 / 30); // a timer, not rAF: keeps drawing when the tab is in the background

const SCENES = 'lsp-studio-scenes';
function scenes() { try { return JSON.parse(localStorage.getItem(SCENES)) || {}; } catch (e) { return {}; } }
function listScenes(sel) {
  const all = scenes();
  $('scenes').replaceChildren(...Object.keys(all).sort().map(n => {
    const o = document.createElement('option'); o.value = n; o.textContent = n; return o;
  }));
  if (sel) $('scenes').value = sel;
}
$('scene-save').addEventListener('click', () => {
  const name = $('scene-name').value.trim() || 'scene ' + (Object.keys(scenes()).length + 1);
  const all = scenes();
  all[name] = { layout: $('layout').value, text: $('overlay-text').value,
    image: st.imageURL.length < 1500000 ? st.imageURL : '' };
  localStorage.setItem(SCENES, JSON.stringify(all));
  listScenes(name);
  say('live-status', 'scene "' + name + '" saved');
});
$('scenes').addEventListener('change', () => applyScene($('scenes').value));
$('scene-delete').addEventListener('click', () => {
  const all = scenes(); delete all[$('scenes').value];
  localStorage.setItem(SCENES, JSON.stringify(all)); listScenes();
});
function applyScene(name) {
  const s = scenes()[name];
  if (!s) return;
  $('layout').value = s.layout; $('overlay-text').value = s.text || ''; setImage(s.image || '');
  $('scene-name').value = name;
  st.scene = name;
}
st.applyScene = applyScene;
listScenes();

// ---- go live (WHIP) ---------------------------------------------------------
let outStream = null;
function replaceTrack(kind, track) {
  if (!st.pc || !track) return;
  const s = st.pc.getSenders().find(x => x.track && x.track.kind === kind);
  if (s) s.replaceTrack(track);
}
async function goLive() {
  const ch = channel(), key = $('streamkey').value.trim();
  if (!ch || !key) { say('live-status', 'a channel and its stream key are needed'); return; }
  $('golive').disabled = true;
  say('live-status', 'connecting…');
  try {
    outStream = canvas.captureStream(30);
    if (st.mic) outStream.addTrack(st.mic.getAudioTracks()[0]);
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    st.pc = pc;
    for (const t of outStream.getTracks()) {
      const tr = pc.addTransceiver(t, { direction: 'sendonly', streams: [outStream] });
      if (t.kind === 'video') {
        const h264 = RTCRtpSender.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/H264');
        if (h264.length) tr.setCodecPreferences(h264);
        const p = tr.sender.getParameters();
        p.encodings = p.encodings && p.encodings.length ? p.encodings : [{}];
        p.encodings[0].maxBitrate = 2500000;
        tr.sender.setParameters(p).catch(() => {});
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    const url = RTC + '/whip/' + encodeURIComponent(ch);
    const r = await fetch(url, { method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + key }, body: pc.localDescription.sdp });
    if (r.status !== 201) throw new Error(r.status === 401 ? 'stream key refused' :
      r.status === 409 ? 'the channel already has a publisher' : 'WHIP answered ' + r.status);
    st.whipLocation = new URL(r.headers.get('Location'), new URL(url, location.href)).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    pc.addEventListener('connectionstatechange', () => {
      say('live-status', 'WebRTC ' + pc.connectionState);
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') stopLive();
    });
    st.live = true; st.onAir = false;
    $('stop').disabled = false;
    // LIVE only once media flows: the edge's channel state says so (onAir())
    $('live-badge').textContent = 'STARTING'; $('live-badge').className = 'badge off';
    say('live-status', 'connected to ' + ch + '; waiting for media');
  } catch (e) {
    say('live-status', 'go live failed: ' + e.message);
    if (st.pc) { st.pc.close(); st.pc = null; }
    $('golive').disabled = false;
  }
}
async function stopLive() {
  if (!st.pc) return;
  const pc = st.pc; st.pc = null; st.live = false; st.onAir = false;
  if (st.whipLocation) fetch(st.whipLocation, { method: 'DELETE' }).catch(() => {});
  st.whipLocation = '';
  pc.close();
  $('golive').disabled = false; $('stop').disabled = true;
  $('live-badge').textContent = 'OFFLINE'; $('live-badge').className = 'badge off';
  say('live-status', 'stream ended');
}
$('golive').addEventListener('click', goLive);
$('stop').addEventListener('click', stopLive);
addEventListener('pagehide', () => { if (st.whipLocation) fetch(st.whipLocation, { method: 'DELETE', keepalive: true }).catch(() => {}); });

// ---- viewers and chat rate (lsp-chat) -------------------------------------------
function connectChat() {
  const ch = channel();
  if (!ch || ch === st.wsChannel) return;
  if (st.ws) { st.ws.onclose = null; st.ws.close(); }
  st.wsChannel = ch; st.viewers = null; st.chatTimes = [];
  let ws;
  try { ws = new WebSocket(CHAT.replace('{channel}', encodeURIComponent(ch))); } catch (e) { return; }
  st.ws = ws;
  ws.onmessage = ev => {
    let m; try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (m.type === 'presence') st.viewers = m.viewers;
    else if (m.type === 'say' || m.type === 'tip') st.chatTimes.push(Date.now());
  };
  ws.onclose = () => { if (st.wsChannel === ch) { st.wsChannel = ''; setTimeout(connectChat, 3000); } };
}

// ---- health, every second ---------------------------------------------------------
function fmt(v, unit, digits = 0) { return v == null || Number.isNaN(v) ? '–' : Number(v).toFixed(digits) + unit; }
async function localStats() {
  if (!st.pc) return null;
  let o = null, ms = null;
  (await st.pc.getStats()).forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') o = s;
    if (s.type === 'media-source' && s.kind === 'video') ms = s;
  });
  if (!o) return null;
  const now = o.timestamp, prev = st.lastStats;
  st.lastStats = { t: now, bytes: o.bytesSent, frames: o.framesEncoded, keys: o.keyFramesEncoded };
  if (!prev || now <= prev.t) return null;
  const dt = (now - prev.t) / 1000;
  if (o.keyFramesEncoded > prev.keys) { // WebRTC sends keyframes on demand: time between the last two
    if (st.lastKeyAt) st.keyInterval = (now - st.lastKeyAt) / 1000 / (o.keyFramesEncoded - prev.keys);
    st.lastKeyAt = now;
  }
  return {
    bitrate_kbps: (o.bytesSent - prev.bytes) * 8 / 1000 / dt,
    fps: (o.framesEncoded - prev.frames) / dt,
    dropped: ms && ms.frames != null ? Math.max(0, ms.frames - o.framesEncoded) : null, // captured, never encoded
    keyframe_interval_s: st.keyInterval != null ? st.keyInterval : null,
    since_keyframe_s: st.lastKeyAt ? (now - st.lastKeyAt) / 1000 : null,
    framesEncoded: o.framesEncoded,
  };
}
// The channel is on air when the edge packages it: GET /api/channels (the
// edge's own directory, no NATS needed) lists it "live" once media flows.
async function onAir(ch) {
  if (!st.pc || !ch) return;
  let live = false;
  try {
    // the whole directory (always 200): a channel not packaged yet is simply absent
    const r = await fetch('/api/channels', { cache: 'no-store' });
    live = r.ok && (await r.json()).some(c => c.name === ch && c.live === true);
  } catch (e) { /* edge not reachable: not on air */ }
  if (!st.pc || live === st.onAir) return;
  st.onAir = live;
  $('live-badge').textContent = live ? 'LIVE' : 'STARTING';
  $('live-badge').className = live ? 'badge on' : 'badge off';
  say('live-status', live ? 'live on ' + ch : 'connected to ' + ch + '; waiting for media');
}
async function health() {
  const ch = channel();
  let h = null, src = '';
  onAir(ch);
  if (ch && st.token) {
    try {
      const j = await api('GET', '/channels/' + encodeURIComponent(ch) + '/health');
      if (j.ingest) { h = j.ingest; src = 'ingest report (lsp.stream.' + ch + '.health)'; }
    } catch (e) { /* not signed in as the owner, or lsp-api not reachable */ }
  }
  const loc = await localStats().catch(() => null);
  if (!h && loc) { h = loc; src = 'this browser\'s WebRTC sender'; }
  st.health = h || {};
  st.framesEncoded = loc ? loc.framesEncoded : st.framesEncoded;
  const now = Date.now();
  st.chatTimes = st.chatTimes.filter(t => now - t < 60000);
  say('h-bitrate', h ? fmt(h.bitrate_kbps, ' kb/s') : '–');
  say('h-fps', h ? fmt(h.fps, ' fps', 1) : '–');
  say('h-dropped', h && h.dropped != null ? String(h.dropped) : '–');
  say('h-keyint', h && h.keyframe_interval_s ? fmt(h.keyframe_interval_s, ' s', 1)
    : h && h.since_keyframe_s != null ? 'on demand (last ' + fmt(h.since_keyframe_s, ' s ago') + ')' : '–');
  // presence counts this page's own connection too
  say('h-viewers', st.viewers == null ? '–' : String(Math.max(0, st.viewers - 1)));
  say('h-chat', st.wsChannel ? st.chatTimes.length + ' / min' : '–');
  say('health-source', src ? 'source: ' + src : 'not live');
}
setInterval(health, 1000);

channelChanged();
if (st.token) loadChannels();
initDevices();
