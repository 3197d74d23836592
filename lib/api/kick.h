/* kick.h — how lsp-api cuts a live publisher: one message on the NATS
 * subject lsp.ctl.<channel>.kick, which lsp-ingest and lsp-rtc obey.  Sent
 * after a suspension, a key rotation, a channel's deletion or its owner's
 * erasure.  Its sibling, the revocation event on lsp.auth.revoke, tells
 * lsp-chat to re-check open sockets.  The caller owns the lsp_kick and its
 * bus. */
#ifndef LSP_KICK_H
#define LSP_KICK_H

#include "bus/bus.h"
#include "bus/revoke.h"
#include "core/event.h"

typedef struct {
	lsp_bus *bus;          /* NULL: no NATS, nothing is sent */
	/* "kick sent" (channel), "kick not sent" (channel, reason; warn); may be NULL */
	lsp_event_fn event;
	void *event_ctx;
} lsp_kick;

/* Publish {"channel":…,"action":"kick"} on lsp.ctl.<channel>.kick and
 * flush (500 ms at most).  ctx is the lsp_kick; fits lsp_api_cfg.kick.
 * 0 sent, -1 not (no bus, a bad channel name, or NATS failed). */
int lsp_kick_send(void *ctx, const char *channel);

/* Publish the revocation event r on lsp.auth.revoke (bus/revoke.h) and
 * flush (500 ms at most): "revocation sent" (cause, user, channel) or
 * "revocation not sent" (cause, user, channel, reason; warn).  ctx is the
 * lsp_kick; fits lsp_api_cfg.revoke.  0 sent, -1 not (no bus, NATS
 * failed). */
int lsp_kick_revoke(void *ctx, const lsp_revoke *r);

#endif
