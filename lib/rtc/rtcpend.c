/* rtcpend.c — half-open WHEP sessions capped per client address
 * (cfg->max_pending_per_addr).  A WHEP offer answered 201 holds a session
 * slot until ICE completes (viewer connected) or the session is reaped
 * (consent, 30 s at most); one address could otherwise fill every slot
 * with offers it never follows up.  An offer from an address that already
 * holds the cap of such sessions is answered 429 with a JSON body, and
 * the refusal is logged once a second at most (core/ratelim: the others
 * are debug events) with a count of what was held back.  Loopback (core/peercap: lsp-edge's front door,
 * this machine's tools) is never capped.
 *
 * Counted where the sessions are: a lone lsp-rtc counts its session table
 * (rtc_pend_count); with --workers the supervisor, which hands offers to
 * workers, keeps a table of the pending sessions of all of them from
 * their events ("play offer" with its peer, then "viewer connected" or
 * "viewer gone" with the same id), so the cap holds whatever worker an
 * offer lands on (struct pendtab below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/peercap.h"
#include "rtc/rtcwork_int.h"

void rtc_peer_addr(const char *peer, char *out, size_t cap)
{
	const char *end;
	size_t l;
	if (peer[0] == '[') { /* "[v6]:port" */
		peer++;
		end = strchr(peer, ']');
	} else
		end = strrchr(peer, ':');
	l = end ? (size_t)(end - peer) : strlen(peer);
	if (l >= cap)
		l = cap - 1;
	memcpy(out, peer, l);
	out[l] = 0;
}

int rtc_pend_exempt(const lsp_rtc_cfg *cfg, const char *addr)
{
	return cfg->max_pending_per_addr <= 0 || lsp_peercap_exempt(addr);
}

int rtc_pend_count(const struct rtc *r, const char *addr)
{
	int n = 0;
	for (int i = 0; i < r->nsess_max; i++) {
		const struct sess *s = &r->sess[i];
		n += s->state == S_NEW && !s->whip && !strcmp(s->peer, addr);
	}
	return n;
}

void rtc_pend_refuse(const lsp_rtc_cfg *cfg, lsp_ratelim *rl, int fd, const char *addr, int pending)
{
	char body[160];
	long long held = 0;
	struct resp rs = { 429, "application/json", "", body, 0, NULL, 0, 0, 0, "" };
	int n = snprintf(body, sizeof body,
			 "{\"error\":\"too many pending sessions from this address\",\"pending\":%d,\"limit\":%d}\n",
			 pending, cfg->max_pending_per_addr);
	rs.blen = n > 0 && (size_t)n < sizeof body ? (size_t)n : 0;
	rtc_http_answer(fd, &rs);
	/* every refusal is an event (the metrics count them), one a second
	 * at most a warning: the rest are debug, below the usual log level */
	lsp_event_emit(cfg->event, cfg->event_ctx, lsp_ratelim_ok(rl, lsp_clock_mono_ms(), 1000, &held) ? LSP_WARN : LSP_DEBUG,
		       "offer refused", "peer", LSV_S(addr), "reason", LSV_S("too many pending sessions"), "pending",
		       LSV_I(pending), "suppressed", LSV_I(held), NULL);
}

/* ------------------------------------------- the supervisor's table */

#define PT_MAX 8192    /* pending sessions remembered (all workers) */
#define PT_TTL 60000   /* forget one not heard of for this long (workers reap at 30 s) */

struct pendtab {
	struct pt_ent {
		char id[24];       /* "" free */
		char addr[48];
		int worker;
		long long t;
	} e[PT_MAX];
	int used;
};

int rtc_pt_new(struct super *s)
{
	return (s->pt = calloc(1, sizeof *s->pt)) ? 0 : -1;
}

void rtc_pt_free(struct super *s)
{
	free(s->pt);
	s->pt = NULL;
}

int rtc_pt_count(struct super *s, const char *addr)
{
	int n = 0;
	if (!s->pt)
		return 0;
	for (int i = 0, seen = 0; i < PT_MAX && seen < s->pt->used; i++) {
		struct pt_ent *e = &s->pt->e[i];
		if (!e->id[0])
			continue;
		seen++;
		if (s->now - e->t > PT_TTL) {
			e->id[0] = 0;
			s->pt->used--;
		} else
			n += !strcmp(e->addr, addr);
	}
	return n;
}

static void pt_del(struct super *s, const char *id, int worker)
{
	for (int i = 0; i < PT_MAX && s->pt->used > 0; i++) {
		struct pt_ent *e = &s->pt->e[i];
		if (e->id[0] && e->worker == worker && (!id || !strcmp(e->id, id))) {
			e->id[0] = 0;
			s->pt->used--;
			if (id)
				return;
		}
	}
}

void rtc_pt_event(struct super *s, int worker, const lsp_event *ev)
{
	const char *id = lsp_event_str(ev, "id"), *peer;
	if (!s->pt || !id || !*id || strlen(id) >= sizeof s->pt->e[0].id)
		return;
	if (lsp_event_is(ev, "viewer connected") || lsp_event_is(ev, "viewer gone")) {
		pt_del(s, id, worker);
		return;
	}
	if (!lsp_event_is(ev, "play offer") || !(peer = lsp_event_str(ev, "peer")) || !*peer)
		return;
	for (int i = 0; i < PT_MAX; i++) {
		struct pt_ent *e = &s->pt->e[i];
		if (e->id[0])
			continue;
		rtc_peer_addr(peer, e->addr, sizeof e->addr);
		if (rtc_pend_exempt(s->cfg, e->addr))
			return;
		snprintf(e->id, sizeof e->id, "%s", id);
		e->worker = worker;
		e->t = s->now;
		s->pt->used++;
		return;
	}
}

void rtc_pt_worker_gone(struct super *s, int worker)
{
	if (s->pt)
		pt_del(s, NULL, worker);
}
