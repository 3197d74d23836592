/* kick.c — the kick message on NATS; see kick.h.  Holds no state. */
#include "api/kick.h"

#include <stdio.h>

#include "bus/subjects.h"
#include "core/key.h"

#define FLUSH_MS 500

int lsp_kick_send(void *ctx, const char *channel)
{
	lsp_kick *k = ctx;
	char subj[LSP_SUBJ_CAP], body[LSP_NAME_MAX + 64], err[256];
	if (!k || !k->bus || lsp_subject(subj, sizeof subj, LSP_SUBJ_KICK, channel) < 0)
		return -1;
	snprintf(body, sizeof body, "{\"channel\":\"%s\",\"action\":\"kick\"}", channel);
	if (lsp_bus_publish(k->bus, subj, body, err, sizeof err) < 0 ||
	    lsp_bus_flush(k->bus, FLUSH_MS, err, sizeof err) < 0) {
		lsp_event_emit(k->event, k->event_ctx, LSP_WARN, "kick not sent", "channel", LSV_S(channel), "reason",
			       LSV_S(err), NULL);
		return -1;
	}
	lsp_event_emit(k->event, k->event_ctx, LSP_INFO, "kick sent", "channel", LSV_S(channel), NULL);
	return 0;
}

int lsp_kick_revoke(void *ctx, const lsp_revoke *r)
{
	lsp_kick *k = ctx;
	char err[256] = "no NATS configured";
	const char *why = lsp_revoke_reason_name(r->reason);
	if (!k || !k->bus || lsp_revoke_publish(k->bus, r, FLUSH_MS, err, sizeof err) < 0) {
		if (k && k->bus) /* without a bus lsp-chat's periodic re-check is the path: nothing to warn about */
			lsp_event_emit(k->event, k->event_ctx, LSP_WARN, "revocation not sent", "cause", LSV_S(why ? why : ""),
				       "user", LSV_S(r->user), "channel", LSV_S(r->channel), "reason", LSV_S(err), NULL);
		return -1;
	}
	lsp_event_emit(k->event, k->event_ctx, LSP_INFO, "revocation sent", "cause", LSV_S(why ? why : ""), "user",
		       LSV_S(r->user), "channel", LSV_S(r->channel), NULL);
	return 0;
}
