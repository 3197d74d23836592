/* transcode_demand.c — encode only the rungs someone watches, and decode
 * nothing while no rung is encoded (see transcode_int.h for the pieces).
 *
 *   viewer ─▶ lsp-edge (/hls/CH/RUNG/…) ─┐  touch <ring dir>/lsp-want-CH~RUNG
 *   viewer ─▶ lsp-rtc (ring CH~RUNG)  ───┘  (at most once a second each)
 *                                          │
 *   lsp-transcode --on-demand S ◀── stat every 250 ms ──┘
 *   policy (lsp_transcode_set_policy) ─────┘  on-demand | always | off
 *
 * Which rungs run.  Under on-demand (cfg->idle_s > 0 and cfg->ring_prefix
 * naming the channel) an encoded rung whose want file is older than idle_s
 * seconds — or missing idle_s seconds after the output opened — is "idle";
 * under always none is; under off every encoded rung is.  A rung that
 * turns idle stops on the next grid keyframe ("rung idle"); one wanted
 * again restarts on the next grid keyframe ("rung wanted").  The
 * passthrough "src" always runs, so a channel nobody watches still has a
 * picture for the directory, thumbnails and the first viewer; a ladder
 * without an H.264 "src" (none asked for, or an HEVC source, whose src
 * few browsers play) keeps its cheapest encoded rung running too.  An idle rung's
 * program and ring go silent as a whole, exactly like a shed one
 * (lsp-package starts a new segment with EXT-X-DISCONTINUITY, numbered on
 * the other rungs' grid, when it resumes).
 *
 * Decoding.  While no encoded rung runs and none is wanted, packets are not
 * decoded at all (transcode_demand_decode): "src" is a copy, and its audio
 * is the source's AAC copied (otherwise the shared AAC encoder keeps
 * running for it, and audio keeps being decoded).  The video decoder is
 * flushed as it stops; the timeline (last_vpts) and the keyframe grid
 * (next_key) follow the undecoded packets, so a rung restarting lands on
 * the same grid as if everything had been decoded:
 *
 *   rung wanted ──▶ next source keyframe: flush, decode again ("decoding
 *                   resumed") ──▶ next grid keyframe: the rung restarts
 *
 * With a source whose keyframes are on the grid (the usual case: a
 * publisher's GOP equal to the segment) the two keyframes are the same
 * frame; otherwise the frames between are decoded and not encoded. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "media/transcode_int.h"

#define POLL_US (250 * 1000LL)

static const char *const policy_names[] = { "on-demand", "always", "off" };

const char *lsp_transcode_policy_name(int policy)
{
	return policy >= 0 && policy <= LSP_LADDER_OFF ? policy_names[policy] : NULL;
}

int lsp_transcode_policy_parse(const char *name)
{
	for (int i = 0; name && i <= LSP_LADDER_OFF; i++)
		if (strcmp(name, policy_names[i]) == 0)
			return i;
	return -1;
}

int lsp_transcode_set_policy(lsp_transcode *t, int policy)
{
	if (!lsp_transcode_policy_name(policy))
		return -EINVAL;
	if (policy == t->policy)
		return 0;
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "ladder policy", "policy",
		       LSV_S(lsp_transcode_policy_name(policy)), "from", LSV_S(lsp_transcode_policy_name(t->policy)),
		       NULL);
	t->policy = policy;
	t->demand_polled = 0; /* decide again on the next packet */
	return 0;
}

/* Seconds since the rung's want file was touched; a large number when none. */
static double want_age(const lsp_transcode *t, const struct rung *r)
{
	char name[160];
	snprintf(name, sizeof name, "%s~%s", t->cfg.ring_prefix, r->r.name);
	return lsp_ring_want_age(name);
}

/* The rung that always runs: none when an H.264 "src" runs, else the last
 * (smallest) encoded one (an HEVC src plays in few browsers). */
static int always_rung(const lsp_transcode *t)
{
	int i, last = -1;
	if (t->has_src && t->src_h264)
		return -1;
	for (i = 0; i < t->nr; i++)
		if (!t->rungs[i].r.passthrough)
			last = i;
	return last;
}

void transcode_demand_tick(lsp_transcode *t)
{
	int64_t now = transcode_now_us();
	int i, keep, watch;
	if (!t->opened)
		return;
	if (t->demand_polled && now - t->demand_polled < POLL_US)
		return;
	t->demand_polled = now;
	keep = always_rung(t);
	watch = t->policy == LSP_LADDER_ON_DEMAND && t->cfg.idle_s > 0 && t->cfg.ring_prefix;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		double age;
		if (r->r.passthrough)
			continue;
		if (i == keep || (t->policy != LSP_LADDER_OFF && !watch)) {
			r->want_idle = 0;
			continue;
		}
		if (t->policy == LSP_LADDER_OFF) {
			r->want_idle = 1;
			continue;
		}
		age = want_age(t, r);
		if (age > t->cfg.idle_s && (now - t->opened_us) / 1e6 < t->cfg.idle_s)
			age = 0; /* everything runs for idle_s after the start */
		r->want_idle = age > t->cfg.idle_s;
	}
}

int transcode_demand_apply(lsp_transcode *t, char *err, size_t errcap)
{
	int i, rc;
	transcode_demand_tick(t); /* the first keyframe follows the output's opening at once */
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
			       "rung", LSV_S(r->r.name), "idle_s", LSV_D(t->cfg.idle_s), "policy",
			       LSV_S(lsp_transcode_policy_name(t->policy)), NULL);
	}
	return 0;
}

/* ---- decoding only while something is encoded -------------------------------- */

/* An encoded rung that runs or is to run: wanted and not shed, or shed
 * with a climb pending (which needs decoded frames to apply). */
static const struct rung *wanted_rung(const lsp_transcode *t)
{
	int climb = t->shed.pending >= 0 && t->shed.pending < t->shed.level;
	for (int i = 0; i < t->nr; i++) {
		const struct rung *r = &t->rungs[i];
		if (!r->r.passthrough && (!r->off || (!r->want_idle && (!r->shed_off || climb))))
			return r;
	}
	return NULL;
}

/* "src" needs the shared AAC encoder: the source audio is not AAC. */
static int src_needs_audio(const lsp_transcode *t)
{
	for (int i = 0; i < t->nr; i++)
		if (t->rungs[i].r.passthrough && t->rungs[i].ast && !t->rungs[i].copy_audio)
			return 1;
	return 0;
}

static void stop_decoding(lsp_transcode *t)
{
	int audio = t->adec && !src_needs_audio(t);
	t->dec_off = 1;
	t->dec_off_us = transcode_now_us();
	t->skip_gop = 0;
	t->st.decode_stops++;
	avcodec_flush_buffers(t->vdec); /* frames it holds belong to no rung */
	if (audio) {
		avcodec_flush_buffers(t->adec);
		swr_free(&t->swr); /* rebuilt on the next decoded frame */
		if (t->fifo)
			av_audio_fifo_reset(t->fifo);
	}
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "decoding stopped", "audio", LSV_I(audio), "stops",
		       LSV_I(t->st.decode_stops), NULL);
}

int transcode_demand_decode(lsp_transcode *t, const AVPacket *pkt, int video)
{
	const struct rung *w;
	int64_t ts;
	if (!t->opened)
		return 1;
	if (!video)
		return !t->dec_off || src_needs_audio(t);
	w = wanted_rung(t);
	if (!t->dec_off) {
		if (w)
			return 1;
		stop_decoding(t);
	} else if (w && (pkt->flags & AV_PKT_FLAG_KEY)) {
		t->dec_off = 0;
		avcodec_flush_buffers(t->vdec);
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "decoding resumed", "rung", LSV_S(w->r.name),
			       "stopped_ms", LSV_I((transcode_now_us() - t->dec_off_us) / 1000), NULL);
		return 1;
	}
	/* undecoded: the timeline and the keyframe grid move on as if it were */
	ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	if (ts != AV_NOPTS_VALUE && (t->last_vpts == AV_NOPTS_VALUE || ts > t->last_vpts))
		t->last_vpts = ts;
	if (t->next_key != AV_NOPTS_VALUE && t->last_vpts != AV_NOPTS_VALUE)
		while (t->next_key <= t->last_vpts)
			t->next_key += t->gop_ticks;
	return 0;
}
