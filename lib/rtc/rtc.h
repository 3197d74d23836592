/* rtc.h — the lsp-rtc server: WHEP playback and WHIP ingest over one UDP
 * port (ICE-lite, DTLS-SRTP) with HTTP signalling, one thread, one poll() per worker.
 *
 *   viewer ──POST /whep/C (SDP offer)──▶ HTTP ──201 + answer, Location /whep/C/ID
 *   viewer ──STUN Binding (ICE)────────▶ UDP :8189 ──Binding success
 *   viewer ──DTLS ClientHello … ───────▶ UDP ──handshake, SRTP keys exported
 *   ring /dev/shm/lsp-ring-C ──H.264 AUs──▶ RTP (single NAL / FU-A) ──SRTP──▶ viewer
 *                           ──AAC──▶ Opus (once per channel) ──SRTP──▶ viewer
 *   viewer ──SRTCP NACK / PLI / RR──▶ retransmit from history / wait for key
 *   viewer ──DELETE /whep/C/ID, or silence past the consent timeout──▶ reaped
 *
 *   publisher ──POST /whip/C, Authorization: Bearer KEY──▶ key checked via
 *   cfg->auth ──201 + answer── then SRTP H.264 + Opus in ──▶ MPEG-TS to
 *   cfg->whip_exec (the channel pipeline) and the ring of C (lib/rtc/whip.c)
 *
 *   edge mode (cfg->origin / cfg->origin_route): a channel's access units
 *   come from the origin lsp-rtc instead of a local ring, over one long
 *   HTTP GET /relay/C per channel however many viewers it has
 *   (lib/rtcrelay framing), reconnected with backoff; a new generation at
 *   the origin makes viewers resume at the next keyframe.  Every lsp-rtc
 *   answers GET /relay/C for its edges (cfg->relay_secret: with a signed
 *   token, lib/rtc/rtcauth.h), from its rings or, in edge mode, from what
 *   its own origin sends: --origin chains to a relay tree of any depth.
 *
 *   periodic PLI: a WHIP publisher is asked for a keyframe every
 *   cfg->pli_interval_ms, and at once when a viewer or an edge joins.
 *
 * Per channel: one ring reader, one packetizer with a short history of
 * video packets (NACK retransmission, and the last GOP so a new viewer
 * starts on a keyframe), one Opus encoder.  Per viewer: ICE/DTLS/SRTP
 * state, sequence/timestamp offsets, a cursor into the channel history.
 *
 * Bad input (STUN, DTLS, RTP, RTCP, SDP, HTTP) is dropped and counted,
 * never fatal.  The server owns every socket, session and channel it
 * creates; the library never prints: what happens goes to cfg->event as
 * events (core/event.h), "channel" a field of each that has one:
 *
 *   listening                  ready: http, udp, tcp (ICE-TCP, "" off), candidate
 *                              ("host:port"), origin
 *   play offer, publish offer  an answered offer: id, video_pt, audio_pt (play: peer)
 *   viewer connected, publisher connected         DTLS done: id, transport (udp/tcp)
 *   ice-tcp unavailable (warn) ice_tcp 2: the port could not be bound: port, reason
 *   ice-tcp connection (debug) a TCP connection to the ICE-TCP port: peer
 *   ice-tcp closed             peer, reason, id (of the session it carried), bytes_in,
 *                              bytes_out, dropped; info when it carried a session,
 *                              warn for a bad frame (one a second), else debug
 *   viewer gone, publisher gone   id, reason, connected (it had gone live),
 *                              video_pkts, audio_pkts, nacks, rtx, plis
 *   publish refused (warn)     reason (a bad key, or "webhook refused: <status>
 *                              <the receiver's first line>", or "webhook
 *                              unavailable (fail closed)")
 *   webhook failed (warn)      the admission webhook gave no 2xx/4xx: reason,
 *                              status (-1: no answer), duration_s, url_source
 *                              (global/channel), and whether it was admitted
 *   webhook busy (warn)        hook_max_pending offers held already: 503
 *   offer refused (warn)       a WHEP offer answered 429: peer (address), reason,
 *                              pending, suppressed (debug since the last warning:
 *                              one a second at most is a warning)
 *   publisher pipeline failed to start (error), publisher pipeline failed,
 *   dtls session failed, dtls handshake failed, opus encoder unavailable;
 *   video only (warn)          reason (and id)
 *   source has B-frames: … (warn)
 *   source has no H.264 video  channel: its ring gave no video for 2 s (an
 *                              HEVC source); the tallest rung is served
 *   rung switched              a WHEP viewer's video moved to another rung (rtcabr.c):
 *                              id, from, to, reason (pin, loss, estimate, probe)
 *   rung chosen                POST <session>/layer: id, rung (a name, or auto)
 *   rung switch abandoned (debug)  no keyframe of the rung in 5 s: id, to
 *   relay client connected     origin: an edge reads the channel: peer
 *   relay refused (warn)       origin: GET /relay answered 401: peer, reason
 *                              (never the token)
 *   relay client gone          peer, reason, bytes, frames, skips
 *   relay bytes out (debug)    origin: bytes sent to an edge since the last: peer, bytes
 *   origin connected           edge: url, reconnect (not the first), detail "url=…"
 *   origin lost, channel not at the origin, origin unavailable
 *                              url, reason, retry_ms (the first of a run of
 *                              failures info/warn, the rest debug)
 *   origin generation          generation, ring; origin stream ended;
 *   origin moved               from, to
 *   relay bytes in (debug)     edge: bytes from the origin since the last: bytes
 *   viewers (debug)            every second per channel: viewers (WHEP
 *                              sessions connected here), for presence
 *   relay keyframe request (debug)  origin: an edge asked for a keyframe: peer
 *   keyframe request sent up (debug)  edge: to the origin: url
 *   ice servers failed (error) GET /whep/ice-servers could not be answered
 *                              (answered 500): reason
 *
 *
 * With workers > 1 (rtcwork.c) lsp_rtc_run is a supervisor: it binds the
 * HTTP listener and one UDP port per worker (udp_port + i, or each its own
 * free port when udp_port is 0), forks and execs the workers (cfg->argv) —
 * each the loop above,
 * with its own sessions, channels, relay connections and UDP port — hands
 * each request's connection to the worker it belongs to, and restarts a
 * worker that dies.  Workers' events reach cfg->event in the supervisor,
 * with a "worker" field (the index); the supervisor adds:
 *
 *   listening                  as above, and workers, udp_ports ("P0,P1,…"), tcp_ports
 *   worker started             worker, pid, udp, tcp, restart (0 the first time)
 *   worker died (error)        worker, pid, reason ("exit N" / "signal N"),
 *                              viewers, publishers (connected ones lost)
 *   worker unavailable (error) worker, reason (fork failed; retried)
 *
 * A level of warn or above is a failure worth counting.  lsp_rtc_run
 * returns 0 when stopfd becomes readable, negative on a setup failure;
 * a worker process runs lsp_rtc_worker instead. */
#ifndef LSP_RTC_H
#define LSP_RTC_H
#include <stddef.h>

#include "rtc/rtclayer.h"
#include "core/event.h"
#include "rtc/turn.h"

typedef struct {
	const char *http_host;   /* signalling listen address */
	const char *udp_host;    /* media listen address */
	int http_port;
	int udp_port;
	/* ICE-TCP (RFC 6544 passive candidates, RFC 4571 framing; rtctcp.c):
	 * a TCP listener on udp_host:tcp_port (worker i: tcp_port + i, or each
	 * its own free port when 0), put in every answer after the UDP
	 * candidates at a lower priority, for viewers whose UDP is blocked.
	 * 1: a port that cannot be bound is a start-up error; 2 (the default
	 * of the tool): a warning ("ice-tcp unavailable"), and that worker
	 * answers without a TCP candidate; 0: off */
	int ice_tcp;
	int tcp_port;
	const char *cand_ip;     /* addresses put in ICE host candidates, comma-separated
				  * (LSP_RTC_CAND_MAX at most); replies leave from the
				  * address each peer sent to (IP_PKTINFO) */
	int max_sessions;        /* viewers + publishers at most */
	int consent_s;           /* silence after which a session is reaped */
	int opus_bitrate;        /* bits/s */
	const char *whip_exec;   /* WHIP: command per publish ({channel}), TS on stdin; NULL: none */
	long whip_bitrate;       /* WHIP: video bitrate offered to publishers (REMB), bits/s */
	int whip_ring;           /* WHIP: also write the channel's ring */
	int pli_interval_ms;     /* WHIP: PLI to each publisher this often; 0: only when needed */
	/* Edge mode: channels come from an origin lsp-rtc ("http://host:port"),
	 * or, with origin_route set, from the URL it fills per channel (0, or
	 * negative when the channel has no origin now).  Both NULL: local rings. */
	const char *origin;
	int (*origin_route)(void *ctx, const char *channel, char *url, size_t cap);
	/* Relay auth (lib/rtc/rtcauth.h): the secret GET /relay tokens are
	 * signed with, as an edge, and checked with, as an origin; NULL: an
	 * edge sends none and /relay answers loopback peers only. */
	const unsigned char *relay_secret;
	size_t relay_secret_len;
	/* Playback tokens (rtcauth.h lsp_rtcauth_play): WHEP offers for a
	 * channel with the .signed marker under hls_root need a token good
	 * under play_secret.  hls_root NULL: no channel is guarded. */
	const char *hls_root;
	const unsigned char *play_secret;
	size_t play_secret_len;
	/* WHIP key check: 0 and the channel's name, or negative and a reason. */
	int (*auth)(void *ctx, const char *key, char *channel, size_t cap, const char **reason);
	/* WHIP admission webhook (core/webhook.h; rtcadmit.c): once its key
	 * is good, a WHIP offer is held while a thread POSTs
	 * {"event":"publish","channel":C,"protocol":"whip","remote_addr":A,
	 * "time":T} signed with hook_secret to the channel's own URL
	 * (hook_route) or else hook_url; 2xx admits, 4xx refuses (403), no
	 * answer within hook_timeout_ms or a 5xx admits (fail open) or refuses
	 * (hook_fail_closed: 503).  The loop never waits: at most
	 * hook_max_pending offers are held, one more is 503 with Retry-After.
	 * hook_url NULL and no hook_route (or no secret): no webhook. */
	const char *hook_url;
	const unsigned char *hook_secret;
	size_t hook_secret_len;
	int hook_timeout_ms;     /* 0: 2000 */
	int hook_fail_closed;
	int hook_max_pending;    /* 0: 32 */
	int argc;                /* entries of argv (below) */
	/* The channel's own webhook URL into url ("" when it has none): 0, or
	 * negative when it cannot be read (then hook_url serves). NULL: none. */
	int (*hook_route)(void *ctx, const char *channel, char *url, size_t cap);
	lsp_event_fn event;      /* what happened (the list above); NULL: nothing */
	void *event_ctx;
	void *ctx;               /* for origin_route and auth */
	int workers;             /* worker processes; 0 or 1: this process alone */
	int gso;                 /* send a viewer's runs of equal-sized packets as UDP GSO */
	/* WHEP sessions answered whose ICE has not completed, per client
	 * address, at most (loopback never capped); one more offer is 429.
	 * 0: no cap (rtcpend.c) */
	int max_pending_per_addr;
	/* TURN servers for the pages (turn.h): GET /whep/ice-servers and
	 * /whip/ice-servers answer lsp_turn_json's document, fresh
	 * credentials each time; urls NULL: {"iceServers":[]} */
	lsp_turn_cfg turn;
	/* With workers > 1: this process's argv (argc entries, no positional
	 * arguments).  Each worker is forked and at once exec'd as
	 * /proc/self/exe argv[0] --rtc-worker SPEC argv[1..], inheriting only
	 * its UDP socket, ICE-TCP listener and control socket — no thread or
	 * lock of the supervisor's; that program calls lsp_rtc_worker with the
	 * same settings and SPEC.  Required for workers > 1 (-EINVAL). */
	char *const *argv;
	/* ABR (rtcabr.c): a WHEP viewer in "auto" starts on the tallest rung
	 * at most abr_start lines tall (0: the channel's own video) and moves
	 * between rungs on its REMB and RR loss */
	int abr_start;
} lsp_rtc_cfg;

#define LSP_RTC_CAND_MAX 8      /* candidate addresses (lsp_sdp_local's LSP_SDP_CAND_MAX) */
#define LSP_RTC_WORKER_DONE 1   /* lsp_rtc_worker: its loop ended (exit 0) */
#define LSP_RTC_WORKER_FAILED 2 /* lsp_rtc_worker: it could not run (exit 111) */
#define LSP_RTC_WORKERS_MAX 62  /* one session-id letter per worker */

int lsp_rtc_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap);

/* The WHEP layer request body: rtc/rtclayer.h (included above). */

/* In a worker exec'd by a supervisor run with cfg->argv: serve as worker
 * SPEC names (its index, control socket, UDP socket and port, ICE-TCP
 * listener and port, the supervisor's pid — the descriptors inherited
 * across the exec) until stopfd is readable or the supervisor goes.
 * LSP_RTC_WORKER_DONE or LSP_RTC_WORKER_FAILED, or -EINVAL with err for
 * a bad SPEC. */
int lsp_rtc_worker(const lsp_rtc_cfg *cfg, const char *spec, int stopfd, char *err, size_t errcap);

#endif
