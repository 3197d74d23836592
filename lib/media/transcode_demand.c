/* transcode_demand.c — encode only the rungs someone watches (see
 * transcode_int.h for the pieces).
 *
 *   viewer ─▶ lsp-edge (/hls/CH/RUNG/…) ─┐  touch <ring dir>/lsp-want-CH~RUNG
 *   viewer ─▶ lsp-rtc (ring CH~RUNG)  ───┘  (at most once a second each)
 *                                          │
 *   lsp-transcode --on-demand S ◀── stat every 250 ms ──┘
 *
 * With cfg->idle_s > 0 (and cfg->ring_prefix naming the channel), an
 * encoded rung whose want file is older than idle_s seconds — or missing
 * idle_s seconds after the output opened — stops being encoded on the next
 * grid keyframe ("rung idle"); a want file touched since brings it back on
 * the next grid keyframe ("rung wanted"), at most a GOP after the request
 * plus one poll.  The cheapest encoded rung and a passthrough "src" always
 * run, so a channel nobody watches still has a picture for the directory,
 * thumbnails and the first viewer.  An idle rung's program and ring go
 * silent as a whole, exactly like a shed one (lsp-package starts a new
 * segment with EXT-X-DISCONTINUITY when it resumes). */
#include <errno.h>
#include <stdio.h>

#include "media/transcode_int.h"

#define POLL_US (250 * 1000LL)

/* Seconds since the rung's want file was touched; a large number when none. */
static double want_age(const lsp_transcode *t, const struct rung *r)
{
	char name[160];
	snprintf(name, sizeof name, "%s~%s", t->cfg.ring_prefix, r->r.name);
	return lsp_ring_want_age(name);
}

/* The rung that always runs: the last (smallest) encoded one. */
static int always_rung(const lsp_transcode *t)
{
	int i, last = -1;
	for (i = 0; i < t->nr; i++)
		if (!t->rungs[i].r.passthrough)
			last = i;
	return last;
}

void transcode_demand_tick(lsp_transcode *t)
{
	int64_t now = transcode_now_us();
	int i, keep;
	if (t->cfg.idle_s <= 0 || !t->cfg.ring_prefix || !t->opened)
		return;
	if (now - t->demand_polled < POLL_US)
		return;
	t->demand_polled = now;
	keep = always_rung(t);
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		double age;
		if (r->r.passthrough || i == keep)
			continue;
		age = want_age(t, r);
		if (age > t->cfg.idle_s && (now - t->opened_us) / 1e6 < t->cfg.idle_s)
			age = 0; /* everything runs for idle_s after the start */
		r->want_idle = age > t->cfg.idle_s;
	}
}

int transcode_demand_apply(lsp_transcode *t, char *err, size_t errcap)
{
	int i, rc;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		if (r->r.passthrough || r->want_idle == r->idle)
			continue;
		r->idle = r->want_idle;
		if ((rc = transcode_rung_update(t, r, err, errcap)) < 0)
			return rc;
		if (r->idle) {
			t->st.rungs_idle++;
		} else {
			t->st.rungs_idle--;
			t->st.demand_starts++;
		}
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, r->idle ? "rung idle" : "rung wanted",
			       "rung", LSV_S(r->r.name), "idle_s", LSV_D(t->cfg.idle_s), NULL);
	}
	return 0;
}
