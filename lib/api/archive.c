/* archive.c — chat messages from NATS into the DSAR archive; see
 * archive.h.  Holds no state of its own. */
#include "api/archive.h"

#include "bus/subjects.h"
#include "core/key.h"
#include "state/dsar.h"

void lsp_archive_on_msg(void *ctx, const char *subject, const char *data, size_t len)
{
	lsp_archive *a = ctx;
	char ch[LSP_NAME_MAX + 1], err[256];
	if (!a || !a->st || lsp_subject_parse(subject, ch, sizeof ch) != LSP_SUBJ_CHAT)
		return;
	if (lsp_dsar_chat_event(a->st, data, len, err, sizeof err) < 0)
		lsp_event_emit(a->event, a->event_ctx, LSP_WARN, "chat message not archived", "channel", LSV_S(ch),
			       "reason", LSV_S(err), NULL);
}
