/* ingest_hook.c — admission control: before a publish starts (its key
 * checked, its channel locked, no output open yet) the child POSTs
 *
 *   {"event":"publish","channel":"c","protocol":"rtmp","remote_addr":"a:p","time":<unix s>}
 *
 * signed as core/webhook.h says, to the channel's own URL (state/chanhook.h,
 * with cfg->hook_per_channel) or else cfg->hook_url, and waits at most
 * cfg->hook_timeout_ms:
 *   2xx                   admitted
 *   4xx                   refused ("publish refused", reason "webhook
 *                         refused: <status> <first line of the answer>")
 *   no answer, 5xx, other the policy: admitted with a "webhook failed"
 *                         warning (fail open, the default), or refused
 *                         (cfg->hook_fail_closed)
 * Only this connection's child waits; other publishers never do.  The
 * secret and the signature appear in no event. */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/webhook.h"
#include "state/chanhook.h"

int ingest_admit(struct sess *s)
{
	const lsp_ingest_cfg *c = s->cfg;
	lsp_webhook *w = NULL;
	char body[512], remote[160], reason[LSP_WEBHOOK_REASON_CAP], err[256], why[320], own[1024] = "";
	const char *url = c->hook_url;
	int64_t t0 = lsp_clock_mono_ms();
	int status, n;
	double took;

	if (!c->hook_secret_len)
		return 0;
	if (c->hook_per_channel && lsp_chanhook_get(NULL, s->channel, own, sizeof own, err, sizeof err) > 0 && own[0])
		url = own;
	if (!url || !*url)
		return 0;
	lsp_json_escape(remote, sizeof remote, c->remote ? c->remote : "");
	n = snprintf(body, sizeof body,
		     "{\"event\":\"publish\",\"channel\":\"%s\",\"protocol\":\"%s\",\"remote_addr\":\"%s\","
		     "\"time\":%.3f}",
		     s->channel, s->proto, remote, lsp_clock_wall_s());
	err[0] = reason[0] = 0;
	if (n < 0 || (size_t)n >= sizeof body) {
		snprintf(err, sizeof err, "request too long");
		status = -EINVAL;
	} else if ((status = lsp_webhook_new(&w, url, c->hook_secret, c->hook_secret_len,
					     c->hook_timeout_ms > 0 ? c->hook_timeout_ms : 2000, err, sizeof err)) == 0) {
		status = lsp_webhook_post(w, "publish", NULL, body, (size_t)n, reason, sizeof reason, err, sizeof err);
	}
	lsp_webhook_free(w);
	took = (lsp_clock_mono_ms() - t0) / 1000.0;
	if (status >= 200 && status < 300)
		return 0;
	if (status >= 400 && status < 500) {
		snprintf(why, sizeof why, "webhook refused: %d%s%s", status, reason[0] ? " " : "", reason);
		ingest_note(s, LSP_WARN, LSP_INGEST_EV_REFUSED, why);
		if (s->r)
			lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", "refused by webhook");
		return 1;
	}
	if (status > 0)
		snprintf(err, sizeof err, "HTTP %d", status);
	snprintf(why, sizeof why, "%s; %s", err, c->hook_fail_closed ? "refused (fail closed)" : "admitted (fail open)");
	ingest_emit(c, LSP_WARN, "webhook failed", s->channel, why, s->proto, s->bytes_in, took,
		    status > 0 ? status : -1);
	if (!c->hook_fail_closed)
		return 0;
	ingest_note(s, LSP_WARN, LSP_INGEST_EV_REFUSED, "webhook unavailable (fail closed)");
	if (s->r)
		lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", "webhook unavailable");
	return 1;
}
