/* rtcadmit.c — the admission webhook for WHIP publishes, asked off the
 * loop.  The exchange (rtc.h, lsp_rtc_cfg hook_*):
 *
 *   publisher ──POST /whip/C, Bearer KEY──▶ key good, SDP good
 *        held (k->admit_id)       ──job──▶ core/hookpool thread ──POST──▶ receiver
 *        loop serves the others   ◀─eventfd── answer (or the deadline passes)
 *   2xx, or no answer / 5xx with fail open ─▶ the request is handled again
 *                                             (admit_ok: not asked twice) → 201
 *   4xx ──────────────────────────────────────▶ 403 {"error":…,"reason":…}
 *   no answer / 5xx with fail closed ─────────▶ 503 {"error":"webhook unavailable"}
 *   hook_max_pending held already ────────────▶ 503, Retry-After: 1
 *
 * The body is lsp-ingest's "publish" event with protocol "whip"; the URL
 * is the channel's own (cfg->hook_route) or else cfg->hook_url.  Each job
 * carries the deadline now + timeout; the pool never answers later, and
 * the loop itself gives a held offer up ADMIT_GRACE_MS after it (the
 * policy decides), so a hung thread cannot hold a publisher either.  An
 * answer for a connection that went (closed, evicted, given up) finds no
 * admit_id and is dropped.  Neither the secret nor a signature is in any
 * event; the URL is not logged either (it may carry a token). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hookpool.h"
#include "core/log.h"
#include "rtc/rtc_int.h"

#define ADMIT_THREADS 4        /* POSTs in flight at once (per worker) */
#define ADMIT_PENDING_DEF 32   /* offers held at once, by default */
#define ADMIT_GRACE_MS 1000    /* the loop's own limit past a job's deadline */
#define ADMIT_TIMEOUT_DEF 2000

static int timeout_ms(const struct rtc *r)
{
	return r->cfg->hook_timeout_ms > 0 ? r->cfg->hook_timeout_ms : ADMIT_TIMEOUT_DEF;
}

/* A JSON answer: status, {"error":error,"reason":reason} (reason escaped). */
static void json_answer(struct resp *rs, int status, const char *error, const char *reason, char *ans, size_t anscap)
{
	char esc[2 * LSP_WEBHOOK_REASON_CAP + 64];
	int n;
	lsp_json_escape(esc, sizeof esc, reason ? reason : "");
	n = snprintf(ans, anscap, "{\"error\":\"%s\",\"reason\":\"%s\"}\n", error, esc);
	rs->status = status;
	rs->ctype = "application/json";
	rs->body = ans;
	rs->blen = n > 0 && (size_t)n < anscap ? (size_t)n : 0;
}

int rtc_admit_fd(const struct rtc *r)
{
	return r->hooks ? lsp_hookpool_fd(r->hooks) : -1;
}

/* No answer came (pool, post or deadline): warn, then the policy.  0
 * admit, -1 answered 503 in rs. */
static int failed(struct rtc *r, const char *ch, int status, const char *err, double took, struct resp *rs, char *ans,
		  size_t anscap)
{
	char why[320];
	const lsp_rtc_cfg *cf = r->cfg;
	snprintf(why, sizeof why, "%s; %s", err, cf->hook_fail_closed ? "refused (fail closed)" : "admitted (fail open)");
	RTC_EMIT(r, LSP_WARN, "webhook failed", "channel", LSV_S(ch), "reason", LSV_S(why), "status",
		 LSV_I(status > 0 ? status : -1), "duration_s", LSV_D(took));
	if (!cf->hook_fail_closed)
		return 0;
	RTC_EMIT(r, LSP_WARN, "publish refused", "channel", LSV_S(ch), "reason", LSV_S("webhook unavailable (fail closed)"));
	json_answer(rs, 503, "webhook unavailable", "the admission webhook did not answer", ans, anscap);
	rs->retry_after = 5;
	return -1;
}

int rtc_admit_ask(struct rtc *r, struct conn *k, const char *ch, struct resp *rs, char *ans, size_t anscap)
{
	const lsp_rtc_cfg *cf = r->cfg;
	char remote[160];
	lsp_hookjob *j;
	int n, rc, max = cf->hook_max_pending > 0 ? cf->hook_max_pending : ADMIT_PENDING_DEF;
	if (k->admit_ok || !cf->hook_secret || !cf->hook_secret_len)
		return 0;
	if (!(j = calloc(1, sizeof *j)))
		return failed(r, ch, -1, "out of memory", 0, rs, ans, anscap);
	if (!cf->hook_route || cf->hook_route(cf->ctx, ch, j->url, sizeof j->url) < 0 || !j->url[0]) {
		if (!cf->hook_url || !*cf->hook_url || strlen(cf->hook_url) >= sizeof j->url) {
			free(j);
			return 0;
		}
		snprintf(j->url, sizeof j->url, "%s", cf->hook_url);
	}
	if (!r->hooks && (rc = lsp_hookpool_new(&r->hooks, ADMIT_THREADS, max, cf->hook_secret, cf->hook_secret_len)) < 0) {
		r->hooks = NULL;
		free(j);
		return failed(r, ch, -1, rc == -ENOMEM ? "out of memory" : "no webhook threads", 0, rs, ans, anscap);
	}
	lsp_json_escape(remote, sizeof remote, k->peer);
	n = snprintf(j->body, sizeof j->body,
		     "{\"event\":\"publish\",\"channel\":\"%s\",\"protocol\":\"whip\",\"remote_addr\":\"%s\","
		     "\"time\":%.3f}",
		     ch, remote, lsp_clock_wall_s());
	j->blen = n > 0 && (size_t)n < sizeof j->body ? (size_t)n : 0;
	snprintf(j->event, sizeof j->event, "publish");
	j->id = ++r->admit_seq;
	j->deadline_ms = lsp_clock_mono_ms() + timeout_ms(r);
	if ((rc = lsp_hookpool_submit(r->hooks, j)) < 0) {
		free(j);
		if (rc != -EAGAIN)
			return failed(r, ch, -1, "request too long", 0, rs, ans, anscap);
		RTC_EMIT(r, LSP_WARN, "webhook busy", "channel", LSV_S(ch), "pending", LSV_I(max));
		json_answer(rs, 503, "busy", "too many publishes waiting for the admission webhook", ans, anscap);
		rs->retry_after = 1;
		return -1;
	}
	k->admit_id = j->id;
	k->admit_deadline = r->now + timeout_ms(r) + ADMIT_GRACE_MS;
	snprintf(k->admit_ch, sizeof k->admit_ch, "%s", ch);
	rs->admit = 1;
	return 1;
}

/* The answer for held connection i: admit (handled again) or refuse. */
static void decide(struct rtc *r, int i, int status, const char *reason, const char *err, double took)
{
	struct conn *k = r->conns[i];
	struct resp rs = { 0 };
	char why[320];
	k->admit_id = 0;
	if (status >= 200 && status < 300) {
		k->admit_ok = 1;
	} else if (status >= 400 && status < 500) {
		snprintf(why, sizeof why, "webhook refused: %d%s%s", status, reason[0] ? " " : "", reason);
		RTC_EMIT(r, LSP_WARN, "publish refused", "channel", LSV_S(k->admit_ch), "reason", LSV_S(why));
		json_answer(&rs, 403, "publish refused", reason[0] ? reason : "refused by the admission webhook", r->ans,
			    sizeof r->ans);
	} else {
		char e[300];
		if (status > 0)
			snprintf(e, sizeof e, "HTTP %d", status);
		else
			snprintf(e, sizeof e, "%s", err[0] ? err : "no answer");
		if (failed(r, k->admit_ch, status, e, took, &rs, r->ans, sizeof r->ans) == 0)
			k->admit_ok = 1;
	}
	if (k->admit_ok) {
		rtc_conn_input(r, i); /* the request again, this time to its end */
		return;
	}
	rtc_http_answer(k->fd, &rs);
	rtc_conn_close(r, i);
}

void rtc_admit_collect(struct rtc *r)
{
	lsp_hookjob *d = r->hooks ? lsp_hookpool_done(r->hooks) : NULL;
	while (d) {
		lsp_hookjob *next = d->next;
		for (int i = 0; i < MAX_CONN; i++)
			if (r->conns[i] && r->conns[i]->admit_id == d->id) {
				decide(r, i, d->status, d->reason, d->err, d->took_s);
				break;
			}
		free(d);
		d = next;
	}
}

void rtc_admit_tick(struct rtc *r)
{
	for (int i = 0; i < MAX_CONN; i++) {
		struct conn *k = r->conns[i];
		if (k && k->admit_id && r->now > k->admit_deadline)
			decide(r, i, -ETIMEDOUT, "", "no answer in time",
			       (double)(timeout_ms(r) + ADMIT_GRACE_MS) / 1000.0);
	}
}

void rtc_admit_free(struct rtc *r)
{
	lsp_hookpool_free(r->hooks);
	r->hooks = NULL;
}
