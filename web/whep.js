// whep.js — WebRTC playback of an lsp channel over WHEP (lsp-rtc).
//
//   const s = await lspWhep.play(videoElement, '/whep/CHANNEL');
//   const st = await s.stats();   // {framesDecoded, latency (s) or null, rtt, ...}
//   await s.stop();               // DELETE the session resource
//   await s.layer()               // {rung: 'auto'|NAME, current, pending, rungs: [{name, height, kbps}]}
//   await s.setLayer('360p')      // pin a rung (switched at its next keyframe); 'auto': lsp-rtc's choice
//   lspWhep.url('demo')           // ?rtc=URL or window.LSP_RTC_URL, else this origin, + /whep/demo
//   await lspWhep.iceServers(url) // GET /whep/ice-servers beside url: [] without TURN
//
// The offer asks for one video (H.264) and one audio (Opus) track,
// receive-only; lsp-rtc is ICE-lite, so no candidates need to be sent:
// the answer carries the server's one and the connectivity checks find
// the path.  Latency is the age of the frame being played, from the
// sender reports' NTP ↔ RTP mapping (inbound-rtp estimatedPlayoutTimestamp).
// Before the peer connection is made, lsp-rtc is asked for the TURN servers
// of this deployment (GET ice-servers beside the WHEP URL, credentials good
// for a while, LSP_TURN_URLS): a viewer whose network drops UDP to lsp-rtc
// then plays through the relay.  No answer, or none configured: no TURN,
// as before.  opts.iceServers skips the request; opts.iceTransportPolicy
// ('relay') forces the relay.  opts.rung starts on that rung (?rung=).
// The rung control is the session's layer resource (the answer's Link
// rel="urn:ietf:params:whep:ext:core:layer", else <session>/layer).
(function (g) {
  'use strict';
  const NTP_EPOCH_MS = 2208988800000;

  // The ICE servers lsp-rtc hands out for the WHEP (or WHIP) endpoint url:
  // a list for RTCPeerConnection, [] when there are none or on any failure.
  async function iceServers(url) {
    let t;
    try {
      const ctl = new AbortController();
      t = setTimeout(() => ctl.abort(), 4000);
      const r = await fetch(new URL('ice-servers', new URL(url, g.location.href)).href, { cache: 'no-store', signal: ctl.signal });
      if (!r.ok) return [];
      const d = await r.json();
      return Array.isArray(d.iceServers) ? d.iceServers : [];
    } catch (e) {
      return [];
    } finally { clearTimeout(t); }
  }

  // A peer connection with these ICE servers, or without any when the
  // browser refuses them (a malformed entry must not stop playback).
  function peer(servers, policy) {
    try {
      return new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: servers, iceTransportPolicy: policy || 'all' });
    } catch (e) {
      return new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    }
  }

  async function play(video, url, opts) {
    opts = opts || {};
    const pc = peer(opts.iceServers || await iceServers(url), opts.iceTransportPolicy);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const ms = new MediaStream();
    pc.ontrack = (e) => {
      ms.addTrack(e.track);
      if (video && video.srcObject !== ms) video.srcObject = ms;
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let r;
    try {
      const u = opts.rung ? url + (url.indexOf('?') >= 0 ? '&' : '?') + 'rung=' + encodeURIComponent(opts.rung) : url;
      r = await fetch(u, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    } catch (e) { pc.close(); throw e; }
    if (r.status !== 201) { pc.close(); throw new Error('WHEP ' + r.status + ': ' + (await r.text()).trim()); }
    const loc = r.headers.get('Location');
    const resource = loc ? new URL(loc, new URL(url, g.location.href)).href : null;
    const lk = /<([^>]+)>\s*;\s*rel="?urn:ietf:params:whep:ext:core:layer"?/.exec(r.headers.get('Link') || '');
    const layerUrl = lk ? new URL(lk[1], new URL(url, g.location.href)).href : resource ? resource + '/layer' : null;
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    if (video) { video.muted = opts.muted !== false; video.play().catch(() => {}); }
    const timeout = opts.timeoutMs || 8000;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('WHEP: not connected after ' + timeout + ' ms')), timeout);
      const check = () => {
        if (pc.connectionState === 'connected') { clearTimeout(t); resolve(); }
        else if (pc.connectionState === 'failed') { clearTimeout(t); reject(new Error('WHEP: connection failed')); }
      };
      pc.addEventListener('connectionstatechange', check);
      check();
    }).catch(async (e) => {
      pc.close();
      if (video && video.srcObject === ms) video.srcObject = null; // leave the element to the fallback
      if (resource) fetch(resource, { method: 'DELETE' }).catch(() => {});
      throw e;
    });

    async function stats() {
      const out = { path: null, framesDecoded: 0, framesDropped: 0, packetsLost: 0, nackCount: 0, pliCount: 0,
        audioPackets: 0, audioSamples: 0, audioConcealed: 0, audioLevel: 0, latency: null, jitterBuffer: null, rtt: null, width: 0, height: 0 };
      const rep = await pc.getStats();
      rep.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.framesDecoded = s.framesDecoded || 0;
          out.framesDropped = s.framesDropped || 0;
          out.packetsLost = s.packetsLost || 0;
          out.nackCount = s.nackCount || 0;
          out.pliCount = s.pliCount || 0;
          out.width = s.frameWidth || 0;
          out.height = s.frameHeight || 0;
          out.freezeCount = s.freezeCount || 0;
          out.totalFreezesDuration = s.totalFreezesDuration || 0;
          if (s.jitterBufferEmittedCount) out.jitterBuffer = s.jitterBufferDelay / s.jitterBufferEmittedCount;
          if (s.estimatedPlayoutTimestamp) out.latency = (Date.now() - (s.estimatedPlayoutTimestamp - NTP_EPOCH_MS)) / 1000;
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.audioPackets = s.packetsReceived || 0;
          out.audioSamples = s.totalSamplesReceived || 0;
          out.audioConcealed = s.concealedSamples || 0;
          out.audioLevel = s.audioLevel || 0;
        } else if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
          out.rtt = s.currentRoundTripTime;
        } else if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = rep.get(s.selectedCandidatePairId), l = p && rep.get(p.localCandidateId);
          if (l) out.path = l.candidateType + ' ' + l.protocol + (l.relayProtocol ? ' via ' + l.relayProtocol : '');
        }
      });
      return out;
    }
    async function stop() {
      if (resource) await fetch(resource, { method: 'DELETE' }).catch(() => {});
      pc.close();
    }
    // The rungs this session may be served and the one it is: null when
    // lsp-rtc cannot tell.
    async function layer() {
      if (!layerUrl) return null;
      try {
        const x = await fetch(layerUrl, { cache: 'no-store' });
        return x.ok ? await x.json() : null;
      } catch (e) { return null; }
    }
    // Pin rung name ('auto': let lsp-rtc choose): the layer state, or an Error.
    async function setLayer(name) {
      if (!layerUrl) throw new Error('WHEP: no layer control');
      const x = await fetch(layerUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ rung: String(name) }) });
      if (!x.ok) throw new Error('WHEP layer ' + x.status);
      return x.json();
    }
    return { pc, resource, stats, stop, layer, setLayer };
  }

  // The WHEP endpoint of a channel: /whep/ on the page's own origin (lsp-edge
  // forwards it to lsp-rtc), or ?rtc= / window.LSP_RTC_URL for an lsp-rtc
  // on an origin of its own.
  function url(channel) {
    const q = g.location.search ? new URLSearchParams(g.location.search).get('rtc') : null;
    const base = q || g.LSP_RTC_URL || '';
    return base.replace(/\/+$/, '') + '/whep/' + encodeURIComponent(channel);
  }

  g.lspWhep = { play, url, iceServers, peer };
})(typeof window !== 'undefined' ? window : globalThis);
