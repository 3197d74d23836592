/* transcode_shed.c — the ladder engine never falls behind real time (see
 * transcode_int.h for the pieces).
 *
 *   measure (once a second, window of SHED_WIN s)      act (at a grid keyframe)
 *   speed    = media / wall      (1.0 when live)        level 0: as configured
 *   capacity = media / busy      (× real time we        level 1: faster preset (if one)
 *              could do: busy = wall - blocked in read)  level 2..: drop the top encoded rung,
 *   lag      = (wall - pts) - lowest (wall - pts) seen            then the next (never src, never
 *                                                                 the last encoded rung)
 *   capacity < 1.05 or lag > GOP + 0.5 s    → one level up, then hold 2 s
 *   predicted capacity one level down ≥ 1.3
 *   and lag < 0.5 s, held CLIMB s           → one level down (CLIMB doubles each
 *                                             time a climb is shed again within 30 s)
 *   lag > GOP + 1 s → drop input packets (undecoded) up to the first source
 *                     keyframe whose lag is within one GOP
 *
 * The lag is measured against the lowest (wall - pts) seen, which creeps
 * up by 1 ms a second so a slow source clock is not taken for a backlog.
 *
 * Only with cfg->realtime (a live input): a file read faster than real
 * time is never shed or dropped.  A level change is decided here and
 * applied on the next grid keyframe by transcode_shed_apply(), so every
 * rung's GOPs stay whole: a dropped rung's last GOP ends on the grid, a
 * restored rung starts on it, a preset change reopens encoders there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "media/transcode_int.h"

#define SHED_BELOW 1.05    /* capacity under this: shed */
#define CLIMB_ABOVE 1.3    /* predicted capacity after climbing: at least this */
#define HOLD_US (2 * 1000000LL)
#define CLIMB_US (10 * 1000000LL)
#define MIN_SPAN_US (2 * 1000000LL)

static const char *const presets[] = { "ultrafast", "superfast", "veryfast", "faster", "fast",
				       "medium",    "slow",      "slower",   "veryslow", "placebo" };
enum { NPRESETS = sizeof presets / sizeof presets[0], VERYFAST = 2, SUPERFAST = 1 };

/* The shed preset: veryfast for anything slower, superfast for veryfast;
 * none (-1) when already superfast or faster (ultrafast changes the H.264
 * profile, which a rung must keep). */
static int faster_preset(const char *p)
{
	int i;
	for (i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i], p) == 0)
			return i > VERYFAST ? VERYFAST : i == VERYFAST ? SUPERFAST : -1;
	return -1;
}

void transcode_shed_plan(lsp_transcode *t)
{
	struct shed *s = &t->shed;
	int i, n = 0, last = -1, fp = faster_preset(t->preset);
	snprintf(s->preset0, sizeof s->preset0, "%s", t->preset);
	s->pending = -1;
	if (fp >= 0) {
		snprintf(s->fast, sizeof s->fast, "%s", presets[fp]);
		s->step[++n] = -1;
	}
	for (i = 0; i < t->nr; i++)
		if (!t->rungs[i].r.passthrough)
			last = i;
	for (i = 0; i < t->nr; i++) /* rungs are tallest first */
		if (!t->rungs[i].r.passthrough && i != last && n < LSP_LADDER_MAX)
			s->step[++n] = i;
	s->max_level = n;
	s->changed = transcode_now_us();
	s->climbed = s->changed - 3600 * 1000000LL; /* no climb yet */
}

/* ---- input: lag and dropping ---------------------------------------------- */

int transcode_shed_input(lsp_transcode *t, const AVPacket *pkt, int video)
{
	struct shed *s = &t->shed;
	int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
	int key = video && (pkt->flags & AV_PKT_FLAG_KEY);
	double lag;
	if (!t->cfg.realtime || !t->opened)
		return 0;
	if (video && ts != AV_NOPTS_VALUE) {
		lag = transcode_now_us() / 1e6 - ts * av_q2d(t->vtb);
		if (!s->have_base || lag < s->lag_base) {
			s->lag_base = lag;
			s->have_base = 1;
		}
		s->lag = lag - s->lag_base;
	}
	if (!s->dropping) {
		if (!video || ts == AV_NOPTS_VALUE || key || s->lag <= t->cfg.gop_s + 1.0)
			return 0;
		s->dropping = 1; /* behind by more than a GOP: skip to a keyframe we can keep up from */
		s->drops++;
		s->drop_from = ts * av_q2d(t->vtb);
		s->dropped_pkts = 1;
		return 1;
	}
	/* resume on a source keyframe that is within one GOP of live: dropping
	 * costs nothing, so a backlog is read through at once */
	if (!key || ts == AV_NOPTS_VALUE || s->lag > t->cfg.gop_s) {
		s->dropped_pkts++;
		return 1;
	}
	s->dropping = 0;
	s->skipped += ts * av_q2d(t->vtb) - s->drop_from;
	avcodec_flush_buffers(t->vdec);
	if (t->adec)
		avcodec_flush_buffers(t->adec);
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "input dropped", "dropped_ms",
		       LSV_I((long long)((ts * av_q2d(t->vtb) - s->drop_from) * 1000)), "packets",
		       LSV_I(s->dropped_pkts), "lag_ms", LSV_I((long long)(s->lag * 1000)), "drops", LSV_I(s->drops),
		       NULL);
	return 0;
}

/* ---- measure and decide ------------------------------------------------------ */

/* Capacity if one level were given back: the encode time of the rung (by
 * its pixels against the rungs encoded now) or of the slower preset. */
static double climb_capacity(lsp_transcode *t, double dm, double busy, double enc)
{
	struct shed *s = &t->shed;
	int step = s->step[s->level], i;
	double px = 0, extra;
	if (step < 0) {
		extra = enc * 0.5; /* veryfast costs ~1.5x superfast; slower presets more */
	} else {
		for (i = 0; i < t->nr; i++)
			if (!t->rungs[i].r.passthrough && !t->rungs[i].off)
				px += (double)t->rungs[i].r.width * t->rungs[i].r.height;
		extra = px > 0 ? enc * (double)t->rungs[step].r.width * t->rungs[step].r.height / px : enc;
	}
	return busy + extra > 0 ? dm / (busy + extra) : 99;
}

void transcode_shed_tick(lsp_transcode *t)
{
	struct shed *s = &t->shed;
	struct shed_sample *a, *b;
	int64_t now = transcode_now_us();
	double dm, dw, busy, enc;
	if (!t->opened || t->first_vpts == AV_NOPTS_VALUE)
		return;
	if (s->ns > 0 && now - s->s[s->ns - 1].wall < 1000000)
		return;
	if (s->have_base && s->lag > 0.001)
		s->lag_base += 0.001; /* a source clock up to 1000 ppm slower than ours is not lag */
	if (s->ns == SHED_WIN) {
		memmove(s->s, s->s + 1, sizeof s->s[0] * (SHED_WIN - 1));
		s->ns--;
	}
	s->s[s->ns++] = (struct shed_sample){ now, now - s->idle, s->enc,
					     (t->last_vpts - t->first_vpts) * av_q2d(t->vtb) - s->skipped };
	a = &s->s[0];
	b = &s->s[s->ns - 1];
	dw = (b->wall - a->wall) / 1e6;
	if (b->wall - a->wall < MIN_SPAN_US)
		return;
	dm = b->media - a->media;
	busy = (b->busy - a->busy) / 1e6;
	enc = (b->enc - a->enc) / 1e6;
	s->speed = dm / dw;
	s->capacity = busy > 0 ? dm / busy : 99;
	if (!t->cfg.realtime || s->pending >= 0 || now - s->changed < HOLD_US)
		return;
	if ((s->capacity < SHED_BELOW || s->lag > t->cfg.gop_s + 0.5) && s->level < s->max_level) {
		s->pending = s->level + 1;
		if (now - s->climbed < 30 * 1000000LL && s->backoff < 4)
			s->backoff++; /* the last climb did not hold: wait longer next time */
	} else if (s->level > 0 && s->capacity >= SHED_BELOW && s->lag < 0.5 &&
		   now - s->changed >= CLIMB_US << s->backoff && climb_capacity(t, dm, busy, enc) >= CLIMB_ABOVE) {
		s->pending = s->level - 1;
	}
}

/* ---- act (on a grid keyframe) -------------------------------------------------- */

static int close_rung_encoder(lsp_transcode *t, struct rung *r, char *err, size_t errcap)
{
	int rc;
	if (!r->enc)
		return 0;
	avcodec_send_frame(r->enc, NULL); /* end its last GOP: whatever the encoder holds goes out */
	rc = transcode_drain_video(t, r, err, errcap);
	avcodec_free_context(&r->enc);
	return rc;
}

static int set_preset(lsp_transcode *t, const char *preset, char *err, size_t errcap)
{
	int i, rc;
	snprintf(t->preset, sizeof t->preset, "%s", preset);
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		if (r->r.passthrough || r->off)
			continue;
		if ((rc = close_rung_encoder(t, r, err, errcap)) < 0 ||
		    (rc = transcode_open_rung_encoder(t, r, err, errcap)) < 0)
			return rc;
	}
	return 0;
}

int transcode_rung_update(lsp_transcode *t, struct rung *r, char *err, size_t errcap)
{
	int off = r->shed_off || r->idle, rc;
	if (off == r->off)
		return 0;
	rc = off ? close_rung_encoder(t, r, err, errcap) : transcode_open_rung_encoder(t, r, err, errcap);
	if (rc < 0)
		return rc;
	r->off = off;
	return transcode_cascade(t, err, errcap); /* rungs below it scale from elsewhere now */
}

int transcode_shed_apply(lsp_transcode *t, char *err, size_t errcap)
{
	struct shed *s = &t->shed;
	int up, step, rc;
	struct rung *r = NULL;
	if (s->pending < 0 || s->pending == s->level)
		return 0;
	up = s->pending > s->level;
	step = s->step[up ? s->pending : s->level];
	if (step >= 0)
		r = &t->rungs[step];
	if (step < 0) {
		rc = set_preset(t, up ? s->fast : s->preset0, err, errcap);
	} else {
		r->shed_off = up;
		rc = transcode_rung_update(t, r, err, errcap);
	}
	if (rc < 0)
		return rc;
	s->level = s->pending;
	s->pending = -1;
	s->changed = transcode_now_us();
	if (!up)
		s->climbed = s->changed;
	s->ns = 0; /* measure the new level afresh */
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, up ? LSP_WARN : LSP_INFO,
		       up ? "transcode shed" : "transcode restored", "level", LSV_I(s->level), "step",
		       LSV_S(step < 0 ? "preset" : "rung"), "preset", LSV_S(t->preset), "rung",
		       LSV_S(r ? r->r.name : ""), "speed", LSV_D(s->speed), "capacity", LSV_D(s->capacity),
		       "lag_ms", LSV_I((long long)(s->lag * 1000)), NULL);
	return 0;
}
