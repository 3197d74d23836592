/* kick.h — how lsp-api cuts a live publisher: one message on the NATS
 * subject lsp.ctl.<channel>.kick, which lsp-ingest and lsp-rtc obey.  Sent
 * after a suspension, a key rotation, a channel's deletion or its owner's
 * erasure.  The caller owns the lsp_kick and its bus. */
#ifndef LSP_KICK_H
#define LSP_KICK_H

#include "bus/bus.h"
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

#endif
