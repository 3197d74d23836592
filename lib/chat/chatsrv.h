/* chatsrv.h — the lsp-chat node: an epoll WebSocket server for
 * /ws/<channel>, with fan-out over NATS, history, presence, tips and
 * moderation.  One thread runs the loop; nats.c delivers on its own
 * threads into a locked queue that wakes the loop through an eventfd.
 *
 *   browser ──ws──▶ node A ──publish lsp.chat.<ch>──▶ NATS ──▶ node A, B …
 *                     │                                          │
 *                     └── store (tips, bans, audit)              └──▶ local sockets
 *
 * The same port answers GET /presence?channels=a,b (lib/chat/chatpres.h) with
 * {"a":12,"b":0}: the viewer count each channel's presence messages carry,
 * summed over nodes (Redis, else NATS reports) — for the directory page.
 *
 * Without a NATS URL a node delivers in-process.  The server owns its
 * sockets, channels, bus and Redis connections; the store and the secret
 * are the caller's and must outlive it.  The library never logs: it
 * reports events (core/event.h) through cfg->event, by these names:
 *
 *   info   "listening"        port (int), node, bus ("nats"|"local"),
 *                             presence ("redis"|"local") — once, when
 *                             lsp_chatsrv_run starts serving: ready
 *          "tip"              channel, user, txn, amount (int) — a tip recorded
 *          "moderation"       channel, action, actor, target
 *          "auth refused"     channel, code
 *          "sockets revoked"  channel, cause, closed (int)[, user] — sockets
 *                             closed because rights were revoked (chatauth.c)
 *          "role downgraded"  channel, user, role, cause
 *   warn   "slow reader dropped", "flooding client closed" (channel)
 *          "nats flush failed", "no history from jetstream",
 *          "redis presence failed", "redis rate limit failed; local bucket used"
 *          "bad revocation event" (reason), "re-check failed" (subject,
 *          reason, suppressed: once a second at most)
 *   error  "unable to subscribe" (subject, reason), "publish failed",
 *          "unable to load moderation state", "tip failed",
 *          "moderation not recorded" (channel, reason)
 *   debug  "max clients"      max (int) — a connection refused at --max-clients
 *
 * The library updates the traffic series in cfg->metrics itself
 * (connections, accepted, bytes, messages, /presence requests); the tool
 * counts lsp_chat_tips_total / lsp_chat_tip_amount_total off "tip" and
 * lsp_chat_errors_total{kind=<event name>} off warnings, errors and
 * "max clients". */
#ifndef LSP_CHATSRV_H
#define LSP_CHATSRV_H
#include <signal.h>
#include <stddef.h>

#include "core/event.h"
#include "core/metrics.h"
#include "state/store.h"

typedef struct lsp_chatsrv lsp_chatsrv;

typedef struct {
	const char *host;          /* bind address, default 0.0.0.0 */
	int port;                  /* default 8081 */
	const char *nats_url;      /* NULL/"": one node alone */
	const char *redis_url;     /* NULL/"": presence and rate limits local */
	const char *node;          /* node id (default: host name + pid) */
	int history;               /* messages kept per channel (default 50) */
	int max_clients;           /* default 100000 */
	size_t max_msg;            /* largest client message in bytes (default 4096) */
	double rate;               /* chat messages per second per user (default 1) */
	int burst;                 /* bucket size (default 5) */
	double flood;              /* any messages per second per connection (default 20,
				      burst twice that); beyond: errors, then close 1008 */
	lsp_store *st;
	const unsigned char *secret;
	size_t secretlen;
	lsp_event_fn event;        /* optional: what happened (see above) */
	void *event_ctx;
	lsp_metrics *metrics;       /* optional: lsp_chat_* series (see lsp_chatsrv_metrics_def) */
	int recheck_s;              /* re-check open sockets' rights against the store every
				       this many seconds: 0 default (30 alone, 300 with NATS,
				       where lsp.auth.revoke does it at once), < 0 never */
} lsp_chatsrv_cfg;

/* Close codes of a socket whose rights were revoked (chatauth.c); the
 * close reason is the text beside each. */
#define LSP_CHAT_CLOSE_ERASED 4001    /* "account erased" */
#define LSP_CHAT_CLOSE_SUSPENDED 4003 /* "channel suspended" */
#define LSP_CHAT_CLOSE_DELETED 4004   /* "channel deleted" */

int lsp_chatsrv_open(lsp_chatsrv **out, const lsp_chatsrv_cfg *cfg, char *err, size_t errcap);
/* Run until *stop becomes non-zero; 0, or negative on a fatal error. */
int lsp_chatsrv_run(lsp_chatsrv *s, const volatile sig_atomic_t *stop, char *err, size_t errcap);
void lsp_chatsrv_close(lsp_chatsrv *s);

/* Declare the lsp_chat_* families: those the server updates in
 * cfg->metrics (connections, accepted, bytes in/out, messages per channel,
 * /presence requests) and those the tool counts off events (tips and tip
 * amounts per channel, errors by kind). */
void lsp_chatsrv_metrics_def(lsp_metrics *m);

#endif
