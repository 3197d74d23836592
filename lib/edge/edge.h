/* edge.h — the lsp-edge HTTP/1.1 and HTTP/2 server: one thread, one epoll loop.
 *
 * Serves an LL-HLS package directory under /hls/ and the web pages at /,
 * with blocking playlist reload and held part requests driven by inotify.
 * The server owns every connection, watch and buffer it creates; the caller
 * owns the configuration strings (they must outlive the server) and the
 * stop flag.  Library rules: it never prints or exits; what happened goes
 * to cfg->event (lsp_event, may be NULL), errors come back as negative errno
 * with a message in err.
 *
 *   accept ─▶ [TLS handshake] ─▶ READ head ─┬─▶ WRITE ─▶ READ (keep-alive) | close
 *                                           └─▶ HOLD (playlist / part) ─▶ WRITE
 *   every state has a deadline: head 10 s, idle 30 s, playlist hold
 *   3 x target duration (then 503), part hold 3 s (then 404), write 30 s.
 *
 * Recordings (cfg->vod_root, lib/state/vod.h): /vod/<channel>/<id>/<file> with
 * byte ranges ("/vod/<channel>/<id>/" is its index.m3u8) and
 * /api/channels/<channel>/vods, the JSON list.
 *
 * Relay mode (cfg->origin): /hls/ and /api/ come from an origin lsp-edge
 * instead of the file system; identical requests in flight share one
 * upstream request, answers are kept for their max-age.  With cfg->route
 * the origin is chosen per request (per channel); cache entries are keyed
 * by origin and target, so a channel that moves never mixes bytes.
 *
 * Front door (cfg->upstream): /api/v1/ goes to lsp-api, /ws/ and /presence
 * to lsp-chat, /whep/ and /whip/ to lsp-rtc, so the pages need one origin
 * (and one certificate).  A forwarded request gets its own upstream
 * connection; bytes are spliced both ways through bounded buffers, a
 * WebSocket becomes a tunnel after the upstream's 101; an upstream that is
 * down or silent is answered 502 / 504 with a JSON body. */
#ifndef LSP_EDGE_H
#define LSP_EDGE_H
#include <signal.h>
#include <stddef.h>

#include "core/event.h"

typedef struct lsp_edge lsp_edge;

typedef struct {
	const char *host;        /* listen address, "0.0.0.0" / "::" */
	int port;                /* 0 picks a free one (see lsp_edge_port) */
	const char *hls_root;    /* served at /hls/ */
	const char *web_root;    /* served at / */
	const char *vod_root;    /* recordings served at /vod/ (may be NULL or missing) */
	const char *cert, *key;  /* PEM files: TLS when both are set */
	int max_conns;           /* open connections at most */
	int part_hold_ms;        /* how long a missing part is waited for */
	const char *origin;      /* relay mode: "http://host:port" serving /hls/ and /api/ */
	/* relay mode with an origin per request (lsp-edge --origin auto): fill
	 * url ("http://host:port", < 128 bytes) for a decoded path, 0, or
	 * -ENOENT (answered 404).  Called on the loop's thread; must not block. */
	int (*route)(void *ctx, const char *path, char *url, size_t cap);
	/* with route: the directory (GET /api/channels) answered here, the
	 * channels live on any origin as JSON into out; length or -errno. */
	int (*list)(void *ctx, char *out, size_t cap);
	void *route_ctx;
	/* front door: "http://host:port" of lsp-api, lsp-chat, lsp-rtc (in
	 * that order); NULL, "" or "off" answers that route 404 */
	const char *upstream[3];
	int upstream_timeout_ms; /* connect + response head (default 10000), then 504 */
	/* playback tokens (core/sigtok.h) checked for channels with the .signed
	 * marker (state/chandir.h); NULL: such channels are refused (403) */
	const unsigned char *play_secret;
	size_t play_secret_len;
	/* events: "accept: out of descriptors" (warn), "playback refused"
	 * (channel, reason; warn) */
	lsp_event_fn event;
	void *event_ctx;
} lsp_edge_cfg;

/* Bind, listen and set up TLS and inotify.  0 or -errno (message in err). */
int lsp_edge_open(lsp_edge **out, const lsp_edge_cfg *cfg, char *err, size_t errcap);

/* The bound TCP port. */
int lsp_edge_port(const lsp_edge *e);

/* Serve until *stop becomes non-zero.  0, or -errno on a loop failure. */
int lsp_edge_run(lsp_edge *e, const volatile sig_atomic_t *stop, char *err, size_t errcap);

/* Close every connection and free everything.  NULL is fine. */
void lsp_edge_close(lsp_edge *e);

#endif
