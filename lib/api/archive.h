/* archive.h — lsp-api's chat archiver: every message lsp-chat publishes
 * on lsp.chat.<channel> is kept in the store's chat_messages table
 * (lib/state/dsar.c), so a data-subject export can include a user's chat
 * and an erasure can remove it.
 *
 * lsp_archive_on_msg runs on the bus's thread, so the archiver has a
 * store connection of its own (st), used from that thread only.  The
 * caller owns the lsp_archive and its store. */
#ifndef LSP_ARCHIVE_H
#define LSP_ARCHIVE_H
#include <stddef.h>

#include "core/event.h"
#include "state/store.h"

typedef struct {
	lsp_store *st;         /* the archiver's own connection */
	/* "chat message not archived" (channel, reason; warn); may be NULL */
	lsp_event_fn event;
	void *event_ctx;
} lsp_archive;

/* An lsp_bus_msg_fn (ctx is the lsp_archive): archives a chat event
 * published on lsp.chat.<channel> (other event types and other subjects
 * are ignored; a repeated message id is kept once). */
void lsp_archive_on_msg(void *ctx, const char *subject, const char *data, size_t len);

#endif
