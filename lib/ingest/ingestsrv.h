/* ingestsrv.h — the lsp-ingest server: RTMP, RTMPS and SRT listeners, one
 * forked child per publisher connection, and a graceful stop.
 *
 *   signalfd (SIGCHLD SIGTERM SIGINT) ─┐
 *   RTMP listener  ── accept ──────────┤
 *   RTMPS listener ── accept ──────────┼─ poll ─▶ fork ─▶ child: lib/ingest's
 *   lib/srtin fd   ── take (plain fd) ─┘            │      protocol entry serves
 *                                                   │      the fd, then returns
 *                                                   ▼      LSP_INGESTSRV_CHILD
 *                                    parent: keeps the pid (at most max_conn)
 *   SIGCHLD: reap.  SIGTERM/SIGINT: close the listeners, stop SRT, SIGTERM
 *   every child and wait; children still there after 10 s get SIGKILL.
 *
 * Stream keys are checked with lib/streamauth (the store from the
 * environment): in the child for RTMP(S), in libsrt's handshake for SRT.
 * When every publish shares one output (no --exec, no {channel} in -o),
 * publishes are serialised with the lock file RUN_DIR/output-PID.lock,
 * removed on close.
 *
 * Ownership: the server owns its listeners, the signalfd, the TLS context,
 * the SRT transport, the child table and its copy of the configuration;
 * the caller owns the strings the configuration points to and the metrics
 * registry, which must outlive the server.  The server never prints or
 * exits: what is worth logging goes to cfg->event (lib/core/event.h),
 * never with a stream key.  cfg->event is called from the server's loop,
 * from forked children and from libsrt's threads.  Its own events:
 *   "listening" (info)     once, when lsp_ingestsrv_run starts: ready to
 *                          serve (fields port, app, rtmps_port, srt_port,
 *                          srt_encrypted "yes"/"no")
 *   "connection refused" (warn)  too many connections (proto, remote, reason)
 *   "connection failed" (error)  a child's system failure (proto, remote, reason)
 *   "fork failed" (error), "stopping" (info, connections),
 *   "killing connections that did not stop" (warn, connections),
 *   "srt library", "srt handshake refused: wrong or missing passphrase"
 *                          (warn/error: libsrt's own words, proto, detail)
 * and, passed through, every connection's (ingest.h) and SRT's (srtin.h).
 * The metrics (lsp_ingestsrv_metrics) count the connections' events by
 * name: publish started, publish stopped, publish refused, and every
 * warning or error by its name. */
#ifndef LSP_INGESTSRV_H
#define LSP_INGESTSRV_H
#include <signal.h>
#include <stddef.h>

#include "ingest/ingest.h"
#include "core/event.h"
#include "core/metrics.h"
#include "ingest/srtin.h"

#define LSP_INGESTSRV_CHILD 1 /* lsp_ingestsrv_run: returned in a forked child */

typedef struct lsp_ingestsrv lsp_ingestsrv;

typedef struct {
	const char *host;     /* RTMP listener address, "" for any */
	int port;
	const char *tls_host; /* RTMPS listener, when tls_port > 0 (cert and key then required) */
	int tls_port;
	const char *cert;     /* PEM certificate chain for RTMPS */
	const char *key;      /* PEM private key for RTMPS */
	long max_conn;        /* connections served at once; then the oldest not publishing yet makes room */
	long max_per_addr;    /* connections from one client address (<= 0: no cap; loopback never) */
	const sigset_t *mask; /* SIGCHLD, SIGTERM, SIGINT, blocked by the caller before any thread */
	/* Per-connection settings (app, timeouts, out_tmpl, exec_tmpl, run_dir,
	 * nats_url).  The server sets auth, ctx, event, event_ctx, remote, tls
	 * and out_lock. */
	lsp_ingest_cfg conn;
	lsp_event_fn event;   /* every event (see above); may be NULL */
	void *event_ctx;
	/* Exec'd children: this process's argv (argc entries, no positional
	 * arguments).  Each connection's child is then forked and at once
	 * exec'd as /proc/self/exe argv[0] CHILD_FLAG SPEC argv[1..], so it
	 * inherits no lock and no thread of the parent; that program must call
	 * lsp_ingestsrv_child with the same configuration and SPEC.  NULL: the
	 * child is only forked and lsp_ingestsrv_run returns in it. */
	char *const *argv;
	int argc;
	const char *child_flag; /* default "--serve-child" */
} lsp_ingestsrv_cfg;

/* Open the signalfd, the RTMP listener and, with tls_port, the RTMPS
 * listener and its TLS context.  0, or -1 with err; nothing is left. */
int lsp_ingestsrv_open(lsp_ingestsrv **out, const lsp_ingestsrv_cfg *cfg, char *err, size_t errcap);

/* Start SRT (lib/srtin) from srt's addresses and options; the server sets
 * its check, ctx, event, event_ctx and backlog (max_conn) and routes
 * libsrt's own warnings to cfg->event.  srt's strings must outlive the server.  0, or
 * negative with err (the server stays usable without SRT). */
int lsp_ingestsrv_srt(lsp_ingestsrv *s, const lsp_srtin_cfg *srt, char *err, size_t errcap);

/* Count into mx (a lsp_metrics_new_shared registry, so the children count
 * into it too): declares lsp_ingest_{live_channels,connections,
 * publishes_total,refused_total,bytes_in_total,errors_total,
 * connections_refused_total,connections_evicted_total}. */
void lsp_ingestsrv_metrics(lsp_ingestsrv *s, lsp_metrics *mx);

/* Serve until a stop signal and every child is reaped: 0, or -errno if
 * poll fails (children are left running).  In a forked child, once its
 * connection has ended: LSP_INGESTSRV_CHILD with *status its exit status
 * (0 a publish ran, 1 refused or never published, 111 a failure); the
 * caller must then _exit(*status) at once — the listeners, SRT threads,
 * lock file and metrics responder are the parent's. */
int lsp_ingestsrv_run(lsp_ingestsrv *s, int *status);

/* In a child exec'd by a server opened with cfg->argv: serve the one
 * connection SPEC names (its descriptor, slot and shared flags, the
 * parent's metrics memfd, a pipe with the SRT stream id, the client's
 * address — all inherited across the exec) with cfg's per-connection
 * settings, as the forked child would.  *mx gets the parent's registry
 * (or NULL): lsp_metrics_detach it when done.  0 with *status the exit
 * status (as lsp_ingestsrv_run's child), or negative with err for a bad
 * SPEC (exit LSP_EXIT_USAGE). */
int lsp_ingestsrv_child(const lsp_ingestsrv_cfg *cfg, lsp_metrics **mx, const char *spec, int *status, char *err,
			size_t errcap);

/* Stop SRT (waiting up to 2 s for its pumps), free the TLS context, close
 * everything, remove the shared-output lock file.  NULL is a no-op. */
void lsp_ingestsrv_close(lsp_ingestsrv *s);

#endif
