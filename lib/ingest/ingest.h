/* ingest.h — one publisher connection, start to end, for each ingest
 * protocol in the lsp_ingest_protos table: "rtmp" and "rtmps" (RTMP over
 * TLS, OpenSSL, cfg->tls) drive lib/rtmp; "srt" takes MPEG-TS already
 * carried off the SRT socket (lib/srtin) on a plain fd, with the stream
 * key from the streamid, and passes it through unchanged, watched by
 * lib/tsscan for health.  For RTMP(S): drives the
 * sans-I/O lib/rtmp state machine over a socket with poll() and a timeout
 * on every stage, checks the app and the stream key (through the caller's
 * auth hook), takes the per-channel publish lock, muxes the media to
 * MPEG-TS (lib/tsmux) into a file, stdout or a per-channel command, and
 * announces live/health/ended on NATS (lib/bus) when a URL is given.
 *
 * Runs in a forked child that owns the socket; returns when the connection
 * ends.  It never logs: it reports events (lib/core/event.h) to
 * cfg->event, and stream keys never appear in any field.  Every event
 * carries the same fields, in this order: channel ("" before the key is
 * checked), remote, reason, stage (the RTMP stage, or the protocol name
 * for SRT), bytes (received so far), duration_s (of the publish), status
 * (the --exec command's exit status, -1 if none).  The events:
 *   "publish started" (info)         the key is good, media may flow
 *   "publish stopped" (info)         reason: unpublished, disconnect, timeout,
 *                                    shutdown, kicked, downstream closed, …
 *   "publish refused" (warn/error)   reason: unknown key, channel busy,
 *                                    webhook refused: <status> <answer>, …
 *   "webhook failed" (warn)          the admission webhook gave no 2xx/4xx
 *                                    answer: reason (and the policy applied),
 *                                    duration_s (of the wait), status (HTTP
 *                                    status, -1 for none)
 *   "publish kicked" (warn)          lsp.ctl.<channel>.kick arrived
 *   "connect refused" (warn)         reason: bad app
 *   "timeout", "protocol error", "tls handshake failed" (warn)
 *   "mux failed", "output failed" (error)
 *   "exec command exited" (info, or warn when status is not 0)
 *   "health file not written" (warn, once a publish: the status file
 *                                    <run_dir>/<channel>.health.json, see ingest_bus.c)
 *   and warnings about NATS, codecs and the TS trailer.
 * Returns 0 when a publish ran and ended normally (unpublish, disconnect,
 * timeout, shutdown), 1 when the publisher was refused or never
 * published, negative on a system failure (err says which). */
#ifndef LSP_INGEST_H
#define LSP_INGEST_H
#include <stddef.h>

#include "core/event.h"

/* The event names a caller counts by (see above). */
#define LSP_INGEST_EV_STARTED "publish started"
#define LSP_INGEST_EV_STOPPED "publish stopped"
#define LSP_INGEST_EV_REFUSED "publish refused"
#define LSP_INGEST_EV_KICKED "publish kicked"
#define LSP_INGEST_EV_CODEC "codec refused" /* reason: what lsp accepts, what the stream is */

typedef struct {
	const char *app;            /* required RTMP app, "live" */
	int hs_timeout_s;           /* handshake */
	int cmd_timeout_s;          /* connect .. publish */
	int media_timeout_s;        /* idle media while publishing */
	const char *out_tmpl;       /* -o FILE ({channel} expanded); NULL: see exec/stdout */
	const char *exec_tmpl;      /* --exec COMMAND ({channel} expanded), TS on its stdin */
	const char *run_dir;        /* where <channel>.lock files live */
	const char *out_lock;       /* lock file serialising publishes when every channel
				     * shares one output (stdout, -o without {channel}); NULL if not */
	const char *nats_url;       /* NULL or "": no bus */
	const char *remote;         /* publisher address, for events */
	/* Check a stream key: 0 and the channel name in channel, or negative
	 * with *reason ("unknown key", "revoked key", …). */
	int (*auth)(void *ctx, const char *key, char *channel, size_t cap, const char **reason);
	void *ctx;                  /* for auth */
	lsp_event_fn event;         /* what happened (may be NULL) */
	void *event_ctx;
	void *tls;                  /* SSL_CTX for "rtmps" (lsp_net_tls_server) */
	/* Admission webhook (ingest_hook.c; NULL or "" url: none): asked after
	 * the key check and the channel lock, before any output opens. */
	const char *hook_url;
	const void *hook_secret;    /* core/webhook.h; never in an event */
	size_t hook_secret_len;
	int hook_timeout_ms;        /* the whole request (default 2000) */
	int hook_fail_closed;       /* no answer or 5xx: refuse (else admit) */
	/* 1: a channel's own webhook URL (state/chanhook.h, read from the
	 * store at publish) is asked instead of hook_url, which may then be
	 * NULL; a store that cannot answer leaves hook_url.  0: hook_url only. */
	int hook_per_channel;
} lsp_ingest_cfg;

/* An ingest protocol: serve one connection on fd (key: the stream key the
 * transport already carried, for "srt"; NULL otherwise).  Same returns as
 * lsp_ingest_serve. */
typedef struct {
	const char *name;
	int (*serve)(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap);
} lsp_ingest_proto;

extern const lsp_ingest_proto lsp_ingest_protos[]; /* ends with { NULL, NULL } */
const lsp_ingest_proto *lsp_ingest_proto_find(const char *name);

/* Plain RTMP (the "rtmp" entry of the table). */
int lsp_ingest_serve(const lsp_ingest_cfg *cfg, int fd, int stopfd, char *err, size_t errcap);

/* Expand {channel} in tmpl into out. -ENAMETOOLONG if it does not fit.
 * (lsp_spawn_expand, kept under this name for callers.) */
int lsp_ingest_expand(const char *tmpl, const char *channel, char *out, size_t cap);

#endif
