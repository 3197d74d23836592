// studio.js — the lsp creator studio (/studio).
//
// Sign up or sign in to lsp-api (name + password, or a session token; the
// session is web/session.js's, shared with the watch pages), pick or create
// a channel, choose camera and microphone (live preview, mic level meter),
// compose a scene on a <canvas> (camera, screen share, text and image
// overlays, picture-in-picture; scenes saved in localStorage), go live over
// WHIP to lsp-rtc with a publish token lsp-api gives the signed-in owner
// (POST /api/v1/channels/NAME/publish-token; the stream key OBS uses is not
// touched) or, when one is typed in, a stream key; and watch the stream's
// health every second: lsp-api's channel health (live state from the HLS
// tree, and the ingest's report — over NATS or from its status file — of an
// RTMP/SRT publish, with a warning when the source has B-frames), else the
// WebRTC sender's own stats; viewers and chat rate from lsp-chat's presence
// over its WebSocket.  The badge says LIVE only once media flows: for a
// WHIP publish, ICE connected and frames going out (RTCPeerConnection
// stats); otherwise, lsp-api's live state.
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

const S = window.lspSession;
const st = {
  get token() { const s = S.get(); return s ? s.token : ''; },
  user: null,
  cam: null, mic: null, screen: null,
  camVideo: document.createElement('video'),
  screenVideo: document.createElement('video'),
  image: null, imageURL: '',
  pc: null, whipLocation: '', live: false, lastStats: null,
  viewers: null, chatTimes: [], ws: null, wsChannel: '',
  health: {}, apiLive: false, bframes: false, sent: null,
};
window.lspStudio = st;
for (const v of [st.camVideo, st.screenVideo]) { v.muted = true; v.playsInline = true; }

const channel = () => $('channel').value.trim();
function say(id, text) { $(id).textContent = text; }
const api = (method, path, body) => S.api(method, path, body);

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
    if ((!channel() || !mine.some(c => c.name === channel())) && mine.length) {
      $('channel').value = mine[0].name; channelChanged();
    }
    st.mine = mine.map(c => c.name);
    say('signin-status', 'signed in as ' + st.user.name + ' (' + st.user.role + '); ' + mine.length + ' channel(s)');
    signedIn(true);
  } catch (e) {
    say('signin-status', 'sign-in: ' + e.message);
    if (e.status === 401) signedIn(false);
  }
}
function signedIn(on) {
  $('signin').hidden = on; $('tokenform').hidden = on;
  $('signout').hidden = !on;
  // creating a channel is for creator accounts (an operator can give any account one: lsp-ctl --owner)
  $('chan-create').hidden = !(on && st.user && (st.user.role === 'creator' || st.user.role === 'admin'));
}
async function account(up) {
  const name = $('si-name').value.trim(), pw = $('si-pass').value, age = parseInt($('si-age').value, 10);
  if (up && !(age >= 0)) { say('signin-status', 'sign-up asks your age (in years)'); $('si-age').focus(); return; }
  try {
    if (up) await S.signup(name, pw, age, true); // a studio sign-up is a creator account
    else await S.signin(name, pw);
    $('si-pass').value = '';
    await loadChannels();
  } catch (e) { say('signin-status', (up ? 'sign-up' : 'sign-in') + ' failed: ' + e.message); }
}
$('signin').addEventListener('submit', ev => { ev.preventDefault(); account(false); });
$('signup').addEventListener('click', () => account(true));
$('tokenform').addEventListener('submit', async ev => {
  ev.preventDefault();
  // a session token from elsewhere (lsp-api's sign-in): kept as the session once /me accepts it
  const token = $('si-token').value.trim();
  $('si-token').value = '';
  try {
    const r = await fetch(API + '/api/v1/me', { headers: { Authorization: 'Bearer ' + token } });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const me = await r.json();
    localStorage.setItem('lsp-session', JSON.stringify({ token, user: me.user || me, expires_at: 0 }));
    await loadChannels();
  } catch (e) { say('signin-status', 'token refused: ' + e.message); }
});
$('signout').addEventListener('click', async () => {
  if (st.pc) await stopLive();
  await S.signout();
  st.user = null; st.mine = [];
  signedIn(false);
  say('signin-status', 'signed out');
});
$('chan-create').addEventListener('click', async () => {
  const ch = channel();
  if (!ch) { say('signin-status', 'type a channel name first'); return; }
  try {
    const r = await api('POST', '/channels', { name: ch, title: ch });
    $('streamkey').value = r.key || ''; // for an encoder (OBS): shown once; the studio itself uses the session
    await loadChannels();
    say('signin-status', 'channel ' + ch + ' created; its stream key for OBS is shown once, below');
  } catch (e) { say('signin-status', 'create failed: ' + e.message); }
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
// The WHIP bearer: for the signed-in owner (or an admin) a publish token
// from lsp-api, so OBS's key is never shown or rotated to go live here;
// else the stream key typed in.
async function bearer(ch) {
  const key = $('streamkey').value.trim();
  if (S.get() && st.user && ((st.mine || []).includes(ch) || st.user.role === 'admin'))
    return { auth: (await S.publishToken(ch)).token, how: 'session' };
  if (key) return { auth: key, how: 'key' };
  throw new Error(S.get() ? 'not your channel: type its stream key' : 'sign in (or type the stream key)');
}
// The TURN servers lsp-rtc hands out (GET /whip/ice-servers, beside the
// WHIP URL; credentials good for a while): [] when there are none or the
// request fails, and the publisher goes on without a relay.
async function iceServers(url) {
  let t;
  try {
    const ctl = new AbortController();
    t = setTimeout(() => ctl.abort(), 4000);
    const r = await fetch(new URL('ice-servers', new URL(url, location.href)).href, { cache: 'no-store', signal: ctl.signal });
    const d = r.ok ? await r.json() : {};
    return Array.isArray(d.iceServers) ? d.iceServers : [];
  } catch (e) {
    return [];
  } finally { clearTimeout(t); }
}
function peer(servers) {
  try { return new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: servers }); }
  catch (e) { return new RTCPeerConnection({ bundlePolicy: 'max-bundle' }); } // a malformed entry: no TURN
}
async function goLive() {
  const ch = channel();
  if (!ch) { say('live-status', 'choose a channel first'); return; }
  $('golive').disabled = true;
  say('live-status', 'connecting…');
  try {
    const b = await bearer(ch);
    st.authBy = b.how;
    outStream = canvas.captureStream(30);
    if (st.mic) outStream.addTrack(st.mic.getAudioTracks()[0]);
    const url = RTC + '/whip/' + encodeURIComponent(ch);
    const pc = peer(await iceServers(url)); // TURN when lsp-rtc hands it out
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
    const r = await fetch(url, { method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + b.auth }, body: pc.localDescription.sdp });
    if (r.status !== 201) throw new Error(r.status === 401 ? (b.how === 'key' ? 'stream key refused' : 'not allowed to publish') :
      r.status === 409 ? 'the channel already has a publisher' : 'WHIP answered ' + r.status);
    st.whipLocation = new URL(r.headers.get('Location'), new URL(url, location.href)).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    pc.addEventListener('connectionstatechange', () => {
      say('live-status', 'WebRTC ' + pc.connectionState);
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') stopLive();
    });
    st.live = true; st.onAir = false; st.sent = null;
    $('stop').disabled = false;
    // LIVE only once media flows: ICE connected and frames going out (mediaFlowing())
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
  const pc = st.pc; st.pc = null; st.live = false; st.onAir = false; st.sent = null;
  if (st.whipLocation) fetch(st.whipLocation, { method: 'DELETE' }).catch(() => {});
  st.whipLocation = '';
  pc.close();
  $('golive').disabled = false; $('stop').disabled = true;
  badge();
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
// A WHIP publish is on air once ICE is connected and video frames go out:
// the sender's framesSent (else packetsSent) grew since the last look.
async function mediaFlowing() {
  const pc = st.pc;
  if (!pc || pc.connectionState !== 'connected') return false;
  let o = null;
  (await pc.getStats()).forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video') o = s; });
  if (!o || pc !== st.pc) return false;
  const n = o.framesSent != null ? o.framesSent : o.packetsSent || 0, prev = st.sent;
  st.sent = n;
  return prev != null && n > prev;
}
// The badge: a WHIP publish from here by its own media; otherwise what
// lsp-api says of the channel (its HLS tree: works without NATS).
function badge() {
  const on = st.pc ? st.onAir : st.apiLive;
  const el = $('live-badge');
  el.textContent = on ? 'LIVE' : st.pc ? 'STARTING' : 'OFFLINE';
  el.className = 'badge ' + (on ? 'on' : 'off');
}
async function onAir(ch) {
  if (!st.pc || !ch) return;
  const live = await mediaFlowing().catch(() => false);
  if (!st.pc || live === st.onAir) return;
  st.onAir = live;
  badge();
  say('live-status', live ? 'live on ' + ch : 'connected to ' + ch + '; waiting for media');
}
// B-frames in the source (ingest health "bframes"): say so, with the fix.
function bframes(on) {
  st.bframes = on;
  $('bframes-warning').hidden = !on;
}
async function health() {
  const ch = channel();
  let h = null, src = '', bf = false;
  await onAir(ch);
  if (ch && st.token && st.user) {
    try {
      const j = await api('GET', '/channels/' + encodeURIComponent(ch) + '/health');
      st.apiLive = j.live === true;
      if (j.ingest) {
        h = j.ingest; src = 'the encoder\'s ingest report (lsp-ingest)';
        bf = j.ingest.bframes === true;
      }
    } catch (e) { st.apiLive = false; /* not the owner, or lsp-api not reachable */ }
  } else st.apiLive = false;
  if (ch !== channel()) return; // the channel changed meanwhile
  bframes(bf);
  badge();
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
signedIn(false);
if (st.token) loadChannels();
S.onchange(s => { if (!s && st.user) { st.user = null; signedIn(false); say('signin-status', 'signed out'); } });
initDevices();
