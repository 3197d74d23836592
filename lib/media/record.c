/* record.c — the broadcast recorder; see record.h for the contract and
 * record_int.h for the pieces (the directory, playlist and rec.state are
 * record_dir.c's).
 *
 *   open: probe TS, pick one program (video + audio tracks)
 *   step: packet ─▶ timestamps fixed ─▶ per-track queue ─▶ released in
 *         decode-time order across tracks (the TS's audio lags its video)
 *       ─▶ [before start: keep audio, wait for a key frame]
 *                   first key frame ─▶ pick/reopen <id>, lock, init section
 *                   held frame ──(duration = next dts - held dts)──▶ fmp4
 *                   key frame past the segment target ─▶ cut:
 *                        seg<N>.m4s ─▶ index.m3u8 ─▶ rec.state ─▶ fsync(dir)
 *   finish: flush held frames, last segment, PLAYLIST-TYPE:VOD
 *
 * Ordering is what makes it crash-safe: a segment is durable before the
 * playlist names it, the playlist before the state counts it. */
#include "media/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fsio.h"
#include "core/key.h"
#include "media/averr.h"
#include "media/record_int.h"
#include "media/tsin.h"

static const AVRational q90 = { 1, 90000 };

static int interrupted(void *opaque)
{
	lsp_record *r = opaque;
	return r->o.stop && *r->o.stop;
}

/* ---- input ----------------------------------------------------------- */

/* The streams of one program: its first H.264 or HEVC and its first usable
 * AAC or Opus (as lsp-package takes them). */
static void program_av(AVFormatContext *ic, const unsigned *idx, unsigned n, int *v, int *a)
{
	*v = *a = -1;
	for (unsigned i = 0; i < n; i++) {
		AVCodecParameters *par = ic->streams[idx[i]]->codecpar;
		if ((par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC) && *v < 0)
			*v = (int)idx[i];
		else if (*a < 0 && ((par->codec_id == AV_CODEC_ID_AAC && lsp_fmp4_aac_asc(par) == 0) ||
				    (par->codec_id == AV_CODEC_ID_OPUS && par->extradata_size >= 19)))
			*a = (int)idx[i];
	}
}

static int pick_program(lsp_record *r, char *err, size_t errcap)
{
	AVFormatContext *ic = r->ic;
	int v = -1, a = -1, fa = -1;
	if (ic->nb_programs == 0) {
		unsigned idx[64], n = 0;
		for (unsigned i = 0; i < ic->nb_streams && n < 64; i++)
			idx[n++] = i;
		program_av(ic, idx, n, &v, &a);
	} else {
		for (unsigned k = 0; k < ic->nb_programs; k++) {
			AVProgram *pg = ic->programs[k];
			AVDictionaryEntry *e = av_dict_get(pg->metadata, "service_name", NULL, 0);
			int pv, pa;
			if (r->o.program && (!e || strcmp(e->value, r->o.program) != 0))
				continue;
			program_av(ic, pg->stream_index, pg->nb_stream_indexes, &pv, &pa);
			if (pv >= 0) {
				v = pv;
				a = pa;
				break;
			}
			if (pa >= 0 && fa < 0)
				fa = pa; /* audio-only fallback */
		}
		if (v < 0 && a < 0)
			a = fa;
	}
	if (v < 0 && a < 0) {
		snprintf(err, errcap, r->o.program ? "no H.264/AAC program named %s" : "input has no H.264 or AAC stream",
			 r->o.program);
		return -EINVAL;
	}
	if (v >= 0) {
		r->tr[r->ntr++] = (track){ .in_idx = v, .tb = ic->streams[v]->time_base, .par = ic->streams[v]->codecpar };
		r->video = 1;
	}
	if (a >= 0)
		r->tr[r->ntr++] = (track){ .in_idx = a, .tb = ic->streams[a]->time_base, .par = ic->streams[a]->codecpar };
	for (int i = 0; i < r->ntr; i++) {
		r->tr[i].last_dts = r->tr[i].last_in = AV_NOPTS_VALUE;
		if (!(r->tr[i].hold = av_packet_alloc())) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		r->map[r->tr[i].in_idx] = i;
	}
	r->drive = 0;
	return 0;
}

int lsp_record_open(lsp_record **out, const lsp_record_opts *o, char *err, size_t errcap)
{
	lsp_record *r;
	int rc;

	*out = NULL;
	if (!o->root || !o->channel || !lsp_name_valid(o->channel)) {
		snprintf(err, errcap, "bad channel name");
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	r->lockfd = -1;
	if (r->o.segment <= 0)
		r->o.segment = 4;
	if (snprintf(r->chdir, sizeof r->chdir, "%s/%s", o->root, o->channel) >= (int)sizeof r->chdir) {
		snprintf(err, errcap, "recording path too long");
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (!(r->pkt = av_packet_alloc())) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if ((rc = lsp_tsin_open(&r->ic, o->input, (AVIOInterruptCB){ interrupted, r }, err, errcap)) < 0)
		goto fail;
	if ((rc = r->nmap = lsp_tsin_map(r->ic, &r->map, err, errcap)) < 0)
		goto fail;
	if ((rc = pick_program(r, err, errcap)) < 0)
		goto fail;
	for (int i = 0; i < r->nmap; i++)
		if (r->map[i] < 0)
			r->ic->streams[i]->discard = AVDISCARD_ALL;
	*out = r;
	return 0;
fail:
	lsp_record_close(r);
	return rc;
}

/* ---- recording ------------------------------------------------------- */

static int start(lsp_record *r, AVPacket *key, char *err, size_t errcap)
{
	const AVCodecParameters *par[2];
	AVRational tb[2];
	const uint8_t *init;
	size_t len;
	int rc;
	track *d = &r->tr[r->drive];

	if ((rc = lsp_fsio_mkdirs(r->chdir, err, errcap)) < 0)
		return rc;
	if (!(r->o.grace > 0 && record_try_reopen(r)) && (rc = record_new_broadcast(r, err, errcap)) < 0)
		return rc;
	if (r->video && (rc = lsp_fmp4_ps_extradata(d->par, key)) < 0)
		return lsp_averr(err, errcap, "no SPS/PPS in the first key frame", rc);
	/* continue the recording's timeline, or keep the input's */
	if (r->reopened) {
		int64_t first90 = av_rescale_q(key->dts, d->tb, q90);
		for (int i = 0; i < r->ntr; i++)
			r->tr[i].shift = av_rescale_q(r->next_dts90 - first90, q90, r->tr[i].tb);
		/* the anchor was taken on the input's time; cuts are in shifted time */
		r->anchor -= (double)(r->next_dts90 - first90) / 90000.0;
		r->session++;
		snprintf(r->init_name, sizeof r->init_name, "init-%d.mp4", r->session);
	} else {
		snprintf(r->init_name, sizeof r->init_name, "init.mp4");
	}
	for (int i = 0; i < r->ntr; i++) {
		par[i] = r->tr[i].par;
		tb[i] = r->tr[i].tb;
	}
	if ((rc = lsp_fmp4_open(&r->mux, par, tb, r->ntr, err, errcap)) < 0)
		return rc;
	init = lsp_fmp4_init(r->mux, &len);
	if ((rc = lsp_fsio_publish(r->dir, r->init_name, init, len, r->o.nosync ? 0 : LSP_FSIO_SYNC, err,
				   errcap)) < 0)
		return rc;
	r->started = 1;
	lsp_event_emit(r->o.event, r->o.event_ctx, LSP_INFO, r->reopened ? "reopened" : "started", "id", LSV_S(r->id),
		       "session", LSV_I(r->session), "dir", LSV_S(r->dir), NULL);
	return 0;
}

static int flush_held(lsp_record *r, int k, int64_t d, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int rc;
	if (!tr->hold->data)
		return 0;
	if (d > 0)
		tr->last_dur = d;
	tr->hold->duration = tr->last_dur > 0 ? tr->last_dur : 1;
	rc = lsp_fmp4_write(r->mux, k, tr->hold, err, errcap);
	av_packet_unref(tr->hold);
	return rc;
}

/* Close the open fragment as segment next_seq ending at drive time end. */
static int cut(lsp_record *r, int64_t end, char *err, size_t errcap)
{
	track *d = &r->tr[r->drive];
	const uint8_t *b;
	size_t len;
	item x;
	int rc;
	int first = r->nitems == 0 || r->sess_dur == 0;

	if ((rc = lsp_fmp4_cut(r->mux, &b, &len, err, errcap)) < 0)
		return rc;
	if (len == 0)
		return 0;
	memset(&x, 0, sizeof x);
	snprintf(x.uri, sizeof x.uri, "seg%llu.m4s", (unsigned long long)r->next_seq);
	x.dur = (double)(end - r->seg_start) * av_q2d(d->tb);
	x.pdt = r->anchor + (double)r->seg_start * av_q2d(d->tb);
	if (first) {
		snprintf(x.map, sizeof x.map, "%s", r->init_name);
		x.disc = r->reopened;
	}
	if ((rc = lsp_fsio_publish(r->dir, x.uri, b, len, r->o.nosync ? 0 : LSP_FSIO_SYNC, err, errcap)) < 0)
		return rc;
	if ((rc = record_add_item(r, &x, err, errcap)) < 0)
		return rc;
	r->next_seq++;
	r->bytes += (long long)len;
	r->total_dur += x.dur;
	r->sess_dur += x.dur;
	r->next_dts90 = av_rescale_q(end, d->tb, q90);
	r->seg_start = end;
	if ((rc = record_write_playlist(r, 0, err, errcap)) < 0 || (rc = record_write_state(r, 0, err, errcap)) < 0)
		return rc;
	if (!r->o.nosync)
		record_sync_dir(r->dir);
	lsp_event_emit(r->o.event, r->o.event_ctx, LSP_DEBUG, "segment", "id", LSV_S(r->id), "seq",
		       LSV_I(r->next_seq - 1), "duration", LSV_D(x.dur), "bytes", LSV_I(len), NULL);
	return 0;
}

static int feed(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap);
/* Give pkt usable timestamps (in input order); 0: drop it. */
static int normalize(lsp_record *r, int k, AVPacket *pkt)
{
	track *tr = &r->tr[k];
	if (!lsp_tsin_fill_ts(pkt, tr->par, tr->tb, tr->last_in, tr->in_dur) || pkt->size == 0)
		return 0;
	if (pkt->pts == AV_NOPTS_VALUE)
		pkt->pts = pkt->dts;
	if (tr->last_in != AV_NOPTS_VALUE && pkt->dts > tr->last_in)
		tr->in_dur = pkt->dts - tr->last_in;
	tr->last_in = pkt->dts;
	return 1;
}

/* A packet in decode-time order across tracks (see release()). */
static int process(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int rc;
	if (!r->have_anchor) {
		r->have_anchor = 1;
		r->anchor = lsp_clock_wall_s() - (double)pkt->dts * av_q2d(tr->tb);
	}
	if (!r->started) {
		if (k != r->drive) {
			if (r->npreq == PREQ) { /* keep the newest */
				av_packet_free(&r->preq[0]);
				memmove(r->preq, r->preq + 1, sizeof(AVPacket *) * (PREQ - 1));
				r->npreq--;
			}
			if (!(r->preq[r->npreq] = av_packet_clone(pkt))) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			r->npreq++;
			return 0;
		}
		if (r->video && !(pkt->flags & AV_PKT_FLAG_KEY))
			return 0;
		if ((rc = start(r, pkt, err, errcap)) < 0)
			return rc;
		/* audio joins at the key frame's presentation time (feed()) */
		r->sync = pkt->pts;
		if ((rc = feed(r, k, pkt, err, errcap)) < 0)
			return rc;
		for (int i = 0; i < r->npreq; i++) {
			AVPacket *q = r->preq[i];
			if (rc >= 0)
				rc = feed(r, r->map[q->stream_index], q, err, errcap);
			av_packet_free(&r->preq[i]);
		}
		r->npreq = 0;
		r->sess_dur = 0;
		return rc < 0 ? rc : 0;
	}
	return feed(r, k, pkt, err, errcap);
}

/* A packet of a started recording (timestamps not yet shifted). */
static int feed(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0, rc;
	int64_t t;
	if (k != r->drive && tr->last_dts == AV_NOPTS_VALUE &&
	    av_compare_ts(pkt->pts, tr->tb, r->sync, r->tr[r->drive].tb) < 0)
		return 0; /* before the first picture */
	pkt->dts += tr->shift;
	pkt->pts += tr->shift;
	if (k != r->drive && r->tr[r->drive].last_dts == AV_NOPTS_VALUE)
		return 0; /* cannot happen: the drive's key frame comes first */
	if (tr->last_dts != AV_NOPTS_VALUE && pkt->dts <= tr->last_dts) {
		r->dropped++;
		return 0;
	}
	t = pkt->dts;
	if (tr->last_dts == AV_NOPTS_VALUE && k == r->drive) {
		r->seg_start = r->last_drive = t;
	}
	if (tr->hold->data && (rc = flush_held(r, k, t - tr->hold->dts, err, errcap)) < 0)
		return rc;
	if (k == r->drive) {
		double since = (double)(t - r->seg_start) * av_q2d(tr->tb);
		if (since >= r->o.segment - 0.001 && (key || !r->video)) {
			for (int j = 0; j < r->ntr; j++)
				if (j != k && r->tr[j].hold->data &&
				    av_compare_ts(r->tr[j].hold->dts, r->tr[j].tb, t, tr->tb) < 0 &&
				    (rc = flush_held(r, j, 0, err, errcap)) < 0)
					return rc;
			if ((rc = cut(r, t, err, errcap)) < 0)
				return rc;
		}
		r->last_drive = t;
	}
	tr->last_dts = t;
	return av_packet_ref(tr->hold, pkt);
}

/* Interleave: the TS carries audio in PES runs that lag the video by up to
 * ~0.7 s, so packets are processed in decode-time order across tracks,
 * otherwise a segment would end with its audio short of its video.  The
 * oldest queued packet goes when every track has one queued, when a queue
 * is full or spans QSPAN_S (the other track stalled or ended), or (all)
 * at the end of input. */
static int release(lsp_record *r, int all, char *err, size_t errcap)
{
	for (;;) {
		int best = -1, have = 0, rc;
		for (int k = 0; k < r->ntr; k++) {
			if (!r->nq[k])
				continue;
			have++;
			if (best < 0 || av_compare_ts(r->q[k][0]->dts, r->tr[k].tb, r->q[best][0]->dts, r->tr[best].tb) < 0)
				best = k;
		}
		if (!have)
			return 0;
		if (have < r->ntr && !all) {
			int go = 0;
			for (int k = 0; k < r->ntr; k++)
				if (r->nq[k] && (r->nq[k] == QMAX ||
						 (double)(r->q[k][r->nq[k] - 1]->dts - r->q[k][0]->dts) * av_q2d(r->tr[k].tb) > QSPAN_S))
					go = 1;
			if (!go)
				return 0;
		}
		AVPacket *p = r->q[best][0];
		memmove(r->q[best], r->q[best] + 1, sizeof(AVPacket *) * (size_t)(r->nq[best] - 1));
		r->nq[best]--;
		rc = process(r, best, p, err, errcap);
		av_packet_free(&p);
		if (rc < 0)
			return rc;
	}
}

int lsp_record_step(lsp_record *r, char *err, size_t errcap)
{
	int k, rc = lsp_tsin_read(r->ic, r->pkt, r->map, r->nmap, r->o.stop, &k, err, errcap);
	if (rc <= 0)
		return rc;
	rc = 0;
	if (k >= 0 && normalize(r, k, r->pkt)) {
		if (r->nq[k] == QMAX && (rc = release(r, 1, err, errcap)) < 0) /* cannot happen: released at QMAX */
			goto out;
		if (!(r->q[k][r->nq[k]] = av_packet_clone(r->pkt))) {
			snprintf(err, errcap, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		r->nq[k]++;
		rc = release(r, 0, err, errcap);
	}
out:
	av_packet_unref(r->pkt);
	return rc < 0 ? rc : 1;
}

int lsp_record_finish(lsp_record *r, char *err, size_t errcap)
{
	track *d = &r->tr[r->drive];
	int64_t end;
	int rc;
	if (!r->finished) {
		/* a cut input stops the lagging audio first: the video queued
		 * past the last audio frame would end the recording without sound */
		for (int k = 0; k < r->ntr; k++) {
			track *a = &r->tr[k];
			if (k == r->drive || a->last_in == AV_NOPTS_VALUE)
				continue;
			while (r->nq[r->drive] > 0 &&
			       av_compare_ts(r->q[r->drive][r->nq[r->drive] - 1]->dts, d->tb, a->last_in + a->in_dur, a->tb) >= 0)
				av_packet_free(&r->q[r->drive][--r->nq[r->drive]]);
		}
		if ((rc = release(r, 1, err, errcap)) < 0)
			return rc;
	}
	if (!r->started || r->finished)
		return 0;
	end = d->hold->data ? d->hold->dts + (d->last_dur > 0 ? d->last_dur : 0) : r->last_drive;
	/* the audio end may pass the video end by a frame: count the longer */
	for (int k = 0; k < r->ntr; k++) {
		track *tr = &r->tr[k];
		if (k != r->drive && tr->hold->data) {
			int64_t ae = av_rescale_q(tr->hold->dts + (tr->last_dur > 0 ? tr->last_dur : 0), tr->tb, d->tb);
			if (ae > end && ae - end < av_rescale_q(1, (AVRational){ 1, 10 }, d->tb))
				end = ae;
		}
		if ((rc = flush_held(r, k, 0, err, errcap)) < 0)
			return rc;
	}
	if ((rc = cut(r, end, err, errcap)) < 0)
		return rc;
	r->finished = 1;
	if ((rc = record_write_playlist(r, 1, err, errcap)) < 0 || (rc = record_write_state(r, lsp_clock_wall_s(), err, errcap)) < 0)
		return rc;
	if (!r->o.nosync)
		record_sync_dir(r->dir);
	if (r->dropped)
		lsp_event_emit(r->o.event, r->o.event_ctx, LSP_INFO, "dropped", "id", LSV_S(r->id), "packets",
			       LSV_I(r->dropped), "reason", LSV_S("packets with non-increasing dts"), NULL);
	lsp_event_emit(r->o.event, r->o.event_ctx, LSP_INFO, "finished", "id", LSV_S(r->id), "segments",
		       LSV_I(r->nitems), "duration", LSV_D(r->total_dur), NULL);
	return 0;
}

const char *lsp_record_id(const lsp_record *r)
{
	return r->id;
}

const char *lsp_record_dir(const lsp_record *r)
{
	return r->started ? r->dir : "";
}

int lsp_record_reopened(const lsp_record *r)
{
	return r->reopened;
}

double lsp_record_seconds(const lsp_record *r)
{
	return r->sess_dur;
}

void lsp_record_close(lsp_record *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->ntr; i++)
		av_packet_free(&r->tr[i].hold);
	for (int i = 0; i < r->npreq; i++)
		av_packet_free(&r->preq[i]);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < r->nq[k]; i++)
			av_packet_free(&r->q[k][i]);
	lsp_fmp4_close(r->mux);
	avformat_close_input(&r->ic);
	av_packet_free(&r->pkt);
	if (r->lockfd >= 0)
		close(r->lockfd);
	free(r->map);
	free(r->items);
	free(r->pl);
	free(r);
}
