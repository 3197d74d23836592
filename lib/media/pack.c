/* pack.c — the LL-HLS packager; see pack.h for the contract and
 * pack_int.h for the pieces (playlists are written by pack_publish.c).
 *
 * Per rung, for every packet of the driving stream (video, else audio):
 *
 *   held frame ──(duration = this dts - held dts)──▶ fmp4
 *   boundary?  ──▶ cut fragment ─▶ seg<N>.<P>.m4s ─▶ [segment done: seg<N>.m4s]
 *                                                 ─▶ index.m3u8 ─▶ [master.m3u8]
 *   this frame becomes the held frame
 *
 * Holding one frame per track gives exact sample durations and lets a part
 * be published the moment the first frame of the next part arrives. */
#include "media/pack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fsio.h"
#include "media/averr.h"
#include "media/pack_int.h"
#include "media/tsin.h"

static int interrupted(void *opaque)
{
	lsp_pack *p = opaque;
	return p->o.stop && *p->o.stop;
}

/* ---- rung setup ----------------------------------------------------- */

static int name_ok(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return n > 0 && n < 32;
}

static void rung_free(rung *r)
{
	if (!r)
		return;
	for (int i = 0; i < 2; i++)
		av_packet_free(&r->tr[i].hold);
	lsp_fmp4_close(r->mux);
	free(r->segbuf);
	free(r->hist);
	free(r->pl);
	free(r->dvr);
	free(r->dvrpl);
	free(r);
}

/* A previous run's segments: this run numbers past them, so they would
 * never be reclaimed. */
static void remove_stale(rung *r)
{
	DIR *d = opendir(r->dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)))
		if (lsp_m3u8_seg_number(de->d_name, NULL) >= 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Highest segment number in any rung directory under out, or -1. */
static long long max_seq_on_disk(const char *out)
{
	DIR *d = opendir(out), *sd;
	struct dirent *de, *se;
	long long max = -1, n;
	int fd;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (!(sd = fdopendir(fd))) {
			close(fd);
			continue;
		}
		while ((se = readdir(sd)))
			if ((n = lsp_m3u8_seg_number(se->d_name, NULL)) > max)
				max = n;
		closedir(sd);
	}
	closedir(d);
	return max;
}

static int add_rung(lsp_pack *p, const char *name, const unsigned *idx, unsigned n, char *err,
		    size_t errcap)
{
	AVFormatContext *ic = p->ic;
	int v = -1, a = -1, rc;
	rung *r;

	for (unsigned i = 0; i < n; i++) {
		AVStream *st = ic->streams[idx[i]];
		if ((st->codecpar->codec_id == AV_CODEC_ID_H264 || st->codecpar->codec_id == AV_CODEC_ID_HEVC) &&
		    v < 0)
			v = (int)idx[i];
		else if (a < 0 && ((st->codecpar->codec_id == AV_CODEC_ID_AAC &&
				    pack_aac_freq_index(st->codecpar->sample_rate) >= 0) ||
				   (st->codecpar->codec_id == AV_CODEC_ID_OPUS && st->codecpar->extradata_size >= 19)))
			a = (int)idx[i];
	}
	if (v < 0 && a < 0)
		return 0;
	if (p->nr >= LSP_PACK_MAX_RUNGS) {
		snprintf(err, errcap, "more than %d programs", LSP_PACK_MAX_RUNGS);
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof *r)) || !(r->hist = calloc(MAXHIST, sizeof *r->hist)) ||
	    !(r->pl = malloc(PL_CAP))) {
		rung_free(r);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	snprintf(r->name, sizeof r->name, "%s", name);
	for (int i = 0; i < p->nr; i++)
		if (strcmp(p->r[i]->name, r->name) == 0)
			snprintf(r->name, sizeof r->name, "%s-%d", name, p->nr);
	if (snprintf(r->dir, sizeof r->dir, "%s/%s", p->o.out, r->name) >= (int)sizeof r->dir) {
		rung_free(r);
		snprintf(err, errcap, "output path too long");
		return -ENAMETOOLONG;
	}
	if (v >= 0) {
		AVStream *st = ic->streams[v];
		r->tr[r->ntr++] = (track){ .in_idx = v, .tb = st->time_base, .par = st->codecpar,
					   .last_raw = AV_NOPTS_VALUE };
		r->video = 1;
		r->width = st->codecpar->width;
		r->height = st->codecpar->height;
		if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
			r->fps = av_q2d(st->avg_frame_rate);
		else if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
			r->fps = av_q2d(st->r_frame_rate);
		pack_video_codec(st->codecpar->codec_id, st->codecpar->extradata, st->codecpar->extradata_size,
				 r->codecs, sizeof r->codecs);
	}
	if (a >= 0) {
		AVStream *st = ic->streams[a];
		size_t l = strlen(r->codecs);
		if (st->codecpar->codec_id == AV_CODEC_ID_AAC && (rc = lsp_fmp4_aac_asc(st->codecpar)) < 0) {
			rung_free(r);
			return lsp_averr(err, errcap, "aac config", rc);
		}
		r->tr[r->ntr++] = (track){ .in_idx = a, .tb = st->time_base, .par = st->codecpar,
					   .last_raw = AV_NOPTS_VALUE };
		if (st->codecpar->codec_id == AV_CODEC_ID_OPUS)
			snprintf(r->codecs + l, sizeof r->codecs - l, "%sopus", l ? "," : "");
		else
			snprintf(r->codecs + l, sizeof r->codecs - l, "%smp4a.40.%d", l ? "," : "",
				 pack_aac_aot(st->codecpar));
	}
	r->drive = 0;
	for (int i = 0; i < r->ntr; i++) {
		if (!(r->tr[i].hold = av_packet_alloc())) {
			rung_free(r);
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		p->map[r->tr[i].in_idx] = p->nr * 2 + i;
	}
	r->target = (int)lround(p->o.segment) < 1 ? 1 : (int)lround(p->o.segment);
	r->target_fixed = !r->video; /* audio cuts on time: the target is the configured one */
	r->key_dts = AV_NOPTS_VALUE;
	p->r[p->nr++] = r;
	if ((rc = lsp_fsio_mkdirs(r->dir, err, errcap)) < 0)
		return rc;
	r->cur.seq = p->seq0;
	remove_stale(r);
	lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "rung", "rung", LSV_S(r->name), "height",
		       LSV_I(r->height), "codecs", LSV_S(r->codecs), NULL);
	return 0;
}

int lsp_pack_open(lsp_pack **out, const lsp_pack_opts *o, char *err, size_t errcap)
{
	lsp_pack *p;
	int rc;

	*out = NULL;
	if (!(p = calloc(1, sizeof *p))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	p->o = *o;
	if (p->o.part <= 0)
		p->o.part = 0.2;
	if (p->o.segment <= 0)
		p->o.segment = 1;
	if (p->o.window < 1)
		p->o.window = 6;
	if (p->o.window > LSP_PACK_MAX_WINDOW)
		p->o.window = LSP_PACK_MAX_WINDOW;
	if (p->o.dvr < 0)
		p->o.dvr = 0;
	if (p->o.dvr > LSP_PACK_MAX_DVR)
		p->o.dvr = LSP_PACK_MAX_DVR;
	if ((rc = lsp_fsio_mkdirs(o->out, err, errcap)) < 0)
		goto fail;
	if (o->first_seq >= 0)
		p->seq0 = (uint64_t)o->first_seq;
	else {
		long long disk = max_seq_on_disk(o->out);
		p->seq0 = (uint64_t)(lsp_clock_wall_s() / p->o.segment);
		if (disk >= 0 && (uint64_t)disk + 1 > p->seq0)
			p->seq0 = (uint64_t)disk + 1;
	}
	if (!(p->pkt = av_packet_alloc())) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if ((rc = lsp_tsin_open(&p->ic, o->input, (AVIOInterruptCB){ interrupted, p }, err, errcap)) < 0)
		goto fail;
	if ((rc = p->nmap = lsp_tsin_map(p->ic, &p->map, err, errcap)) < 0)
		goto fail;
	if (p->ic->nb_programs <= 1) {
		AVProgram *pg = p->ic->nb_programs ? p->ic->programs[0] : NULL;
		AVDictionaryEntry *e = pg ? av_dict_get(pg->metadata, "service_name", NULL, 0) : NULL;
		unsigned idx[64], n = 0;
		for (unsigned i = 0; i < p->ic->nb_streams && n < 64; i++)
			idx[n++] = i;
		if ((rc = add_rung(p, e && name_ok(e->value) ? e->value : "src", idx, n, err, errcap)) < 0)
			goto fail;
	} else {
		for (unsigned k = 0; k < p->ic->nb_programs; k++) {
			AVProgram *pg = p->ic->programs[k];
			AVDictionaryEntry *e = av_dict_get(pg->metadata, "service_name", NULL, 0);
			char nm[32];
			if (e && name_ok(e->value))
				snprintf(nm, sizeof nm, "%s", e->value);
			else
				snprintf(nm, sizeof nm, "p%d", pg->id);
			if ((rc = add_rung(p, nm, pg->stream_index, pg->nb_stream_indexes, err, errcap)) < 0)
				goto fail;
		}
	}
	if (p->nr == 0) {
		snprintf(err, errcap, "input has no H.264, HEVC, AAC or Opus stream");
		rc = -EINVAL;
		goto fail;
	}
	for (int i = 0; i < p->nmap; i++)
		if (p->map[i] < 0)
			p->ic->streams[i]->discard = AVDISCARD_ALL;
	*out = p;
	return 0;
fail:
	lsp_pack_close(p);
	return rc;
}

static double pdt_of(const lsp_pack *p, const rung *r, int64_t t)
{
	return p->anchor + (double)t * av_q2d(r->tr[r->drive].tb);
}

/* The date of the segment after s: s's date plus its duration, slewed
 * towards the capture clock (the anchor) by at most a tenth of s, so
 * program date-times follow the media without ever jumping. */
static double next_pdt(lsp_pack *p, rung *r, const seginfo *s, int64_t end)
{
	double cont = s->pdt + s->dur, wall = pdt_of(p, r, end), lim = s->dur / 10;
	if (s->pdt <= 0)
		return wall;
	return cont + fmax(-lim, fmin(lim, wall - cont));
}

/* Declare r's EXT-X-TARGETDURATION, once for the life of its playlist:
 * the configured segment, or the source's GOP (gop seconds) with a tenth
 * to spare when that is longer.  The spec's rounding rule (an EXTINF
 * rounded to the nearest second must not exceed it) then holds for every
 * segment cut at a key frame of a GOP up to that long. */
static void fix_target(lsp_pack *p, rung *r, double gop)
{
	int want = (int)lround(gop * 1.1);
	if (r->target_fixed)
		return;
	if (want > r->target)
		r->target = want;
	r->target_fixed = 1;
	lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "target", "rung", LSV_S(r->name), "target",
		       LSV_I(r->target), "gop", LSV_D(gop), NULL);
}

/* Close the open part at drive time end (and the segment if close_seg). */
/* A complete segment into the low-latency window, the oldest out. */
static void hist_push(lsp_pack *p, rung *r, const seginfo *seg)
{
	if (r->nhist == MAXHIST || r->nhist >= p->o.window + LSP_PACK_GRACE) {
		r->disc_gone += (uint64_t)r->hist[0].disc;
		pack_remove_segment(r, &r->hist[0]);
		memmove(&r->hist[0], &r->hist[1], sizeof r->hist[0] * (size_t)(r->nhist - 1));
		r->nhist--;
	}
	r->hist[r->nhist++] = *seg;
}

static int cut(lsp_pack *p, rung *r, int64_t end, int close_seg, char *err, size_t errcap)
{
	const uint8_t *b;
	size_t len;
	char name[64];
	double dur = (double)(end - r->part_start) * av_q2d(r->tr[r->drive].tb);
	int rc;

	if ((rc = lsp_fmp4_cut(r->mux, &b, &len, err, errcap)) < 0)
		return rc;
	if (len > 0) {
		if (r->cur.nparts >= MAXPARTS) {
			snprintf(err, errcap, "%s: more than %d parts in a segment", r->name, MAXPARTS);
			return -E2BIG;
		}
		snprintf(name, sizeof name, "seg%llu.%d.m4s", (unsigned long long)r->cur.seq, r->cur.nparts);
		if ((rc = pack_publish(r, name, b, len, err, errcap)) < 0)
			return rc;
		if (r->seglen + len > r->segcap) {
			size_t ncap = r->segcap ? r->segcap : 1 << 20;
			uint8_t *nb;
			while (ncap < r->seglen + len)
				ncap *= 2;
			if (!(nb = realloc(r->segbuf, ncap))) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			r->segbuf = nb;
			r->segcap = ncap;
		}
		memcpy(r->segbuf + r->seglen, b, len);
		r->seglen += len;
		r->cur.parts[r->cur.nparts++] = (lsp_m3u8_part){ dur, r->part_indep };
		r->cur.dur += dur;
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_DEBUG, "part", "rung", LSV_S(r->name), "seq",
			       LSV_I(r->cur.seq), "part", LSV_I(r->cur.nparts - 1), "bytes", LSV_I(len), NULL);
	}
	r->part_start = end;
	if (close_seg && r->cur.nparts > 0) {
		double bps;
		snprintf(name, sizeof name, "seg%llu.m4s", (unsigned long long)r->cur.seq);
		if ((rc = pack_publish(r, name, r->segbuf, r->seglen, err, errcap)) < 0)
			return rc;
		r->cur.bytes = r->seglen;
		hist_push(p, r, &r->cur);
		if (p->o.dvr > 0 && (rc = pack_dvr_add(p, r, &r->cur, err, errcap)) < 0)
			return rc;
		if (!r->target_fixed) /* the input ended before a second key frame */
			fix_target(p, r, r->cur.dur);
		if ((int)lround(r->cur.dur) > r->target) {
			r->long_segs++;
			lsp_event_emit(p->o.event, p->o.event_ctx, LSP_WARN, "long segment", "rung", LSV_S(r->name),
				       "seq", LSV_I(r->cur.seq), "duration", LSV_D(r->cur.dur), "target",
				       LSV_I(r->target), NULL);
		}
		bps = r->cur.dur > 0.05 ? (double)r->seglen * 8 / r->cur.dur : 0;
		if (bps > r->peak_bps)
			r->peak_bps = lround(bps);
		r->tot_bytes += (double)r->seglen;
		r->tot_dur += r->cur.dur;
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_DEBUG, "segment", "rung", LSV_S(r->name), "seq",
			       LSV_I(r->cur.seq), "duration", LSV_D(r->cur.dur), "bytes", LSV_I(r->seglen), NULL);
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_DEBUG, "bitrate", "rung", LSV_S(r->name), "bps",
			       LSV_I(lround(bps)), NULL);
		r->cur.seq++;
		r->cur.nparts = 0;
		r->cur.disc = 0;
		r->cur.pdt = next_pdt(p, r, &r->cur, end);
		r->cur.dur = 0;
		r->seglen = 0;
		r->seg_start = end;
	}
	if ((rc = pack_write_playlist(p, r, err, errcap)) < 0)
		return rc;
	return pack_maybe_master(p, err, errcap);
}

static int start_rung(lsp_pack *p, rung *r, const AVPacket *pkt, char *err, size_t errcap)
{
	const AVCodecParameters *par[2];
	AVRational tb[2];
	const uint8_t *init;
	size_t len;
	int64_t t = pkt->dts;
	int rc;

	if (r->video && r->tr[0].par->extradata_size == 0) {
		AVCodecParameters *vp = (AVCodecParameters *)r->tr[0].par; /* the demuxer's, ours to fill */
		char c[64], *comma = strchr(r->codecs, ',');
		if ((rc = lsp_fmp4_ps_extradata(vp, pkt)) < 0)
			return lsp_averr(err, errcap, "no parameter sets in the first key frame", rc);
		if (vp->width <= 0 || vp->height <= 0) {
			pack_video_size_from(vp, pkt);
			r->width = vp->width;
			r->height = vp->height;
		}
		pack_video_codec(vp->codec_id, vp->extradata, vp->extradata_size, c, sizeof c);
		if (comma) /* the audio part follows unchanged */
			snprintf(c + strlen(c), sizeof c - strlen(c), "%s", comma);
		snprintf(r->codecs, sizeof r->codecs, "%s", c);
	}
	for (int i = 0; i < r->ntr; i++) {
		par[i] = r->tr[i].par;
		tb[i] = r->tr[i].tb;
	}
	if ((rc = lsp_fmp4_open(&r->mux, par, tb, r->ntr, err, errcap)) < 0)
		return rc;
	init = lsp_fmp4_init(r->mux, &len);
	if ((rc = pack_publish(r, "init.mp4", init, len, err, errcap)) < 0)
		return rc;
	r->started = 1;
	r->part_start = r->seg_start = t;
	r->cur.pdt = pdt_of(p, r, t);
	lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "start", "rung", LSV_S(r->name), NULL);
	return 0;
}

/* Write the held packet of track k with duration d (if it has one). */
static int flush_held(rung *r, int k, int64_t d, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int rc;
	if (!tr->hold->data && !tr->hold->side_data_elems)
		return 0;
	if (d > 0)
		tr->last_dur = d;
	tr->hold->duration = tr->last_dur > 0 ? tr->last_dur : 1;
	rc = lsp_fmp4_write(r->mux, k, tr->hold, err, errcap);
	av_packet_unref(tr->hold);
	return rc;
}

/* Keep each track's decode times increasing across an input timeline
 * reset (a new publisher session, a wrap): a jump back of more than a
 * second or forward of more than ten starts a new epoch whose offset
 * continues the timeline; every track of the rung adopts the epoch's
 * offset at its own jump.
 *
 * MPEG-TS times are 33-bit (90 kHz, wrapping every 26.5 h): a track whose
 * first packet lies on the other side of a wrap from every track seen so
 * far (more than 2^32 ticks away) is moved by 2^33 ticks to join them, so
 * no stream's time — and no program date-time — is a wrap away.  Returns 0
 * to drop the packet. */
static int repair_time(lsp_pack *p, rung *r, track *tr, AVPacket *pkt)
{
	static const AVRational q90 = { 1, 90000 };
	const int64_t wrap = INT64_C(1) << 33;
	int64_t raw = pkt->dts, step;
	if (tr->last_raw == AV_NOPTS_VALUE && p->have90) {
		int64_t d = av_rescale_q(raw, tr->tb, q90) - p->last90;
		if (d > wrap / 2 || d < -wrap / 2)
			tr->off = av_rescale_q(d > 0 ? -wrap * ((d + wrap / 2) / wrap) : wrap * ((-d + wrap / 2) / wrap),
					       q90, tr->tb);
	}
	if (tr->last_raw != AV_NOPTS_VALUE) {
		step = av_rescale_q(raw - tr->last_raw, tr->tb, q90);
		if (step > 10 * 90000 && p->have90 &&
		    llabs(av_rescale_q(raw + tr->off, tr->tb, q90) - p->last90) <= 3 * 90000) {
			/* back where the other rungs are: a rung that was shed or
			 * idle resumes (on_packet starts a discontinuity) */
		} else if (step < -90000 || step > 10 * 90000) {
			int64_t want = tr->last_raw + tr->off + (tr->last_dur > 0 ? tr->last_dur : 1);
			if (tr->epoch < r->epoch) {
				/* the epoch's offset, unless that would overlap this track */
				tr->off = av_rescale_q(r->epoch_off, q90, tr->tb);
				if (raw + tr->off < want)
					tr->off = want - raw;
			} else {
				tr->off = want - raw;
				r->epoch_off = av_rescale_q(tr->off, tr->tb, q90);
				r->epoch++;
			}
			tr->epoch = r->epoch;
		} else if (step <= 0) {
			r->dropped++;
			return 0;
		}
	}
	tr->last_raw = raw;
	pkt->dts += tr->off;
	if (pkt->pts != AV_NOPTS_VALUE)
		pkt->pts += tr->off;
	p->last90 = av_rescale_q(pkt->dts, tr->tb, q90);
	p->have90 = 1;
	return 1;
}

/* A thumbnail from this key frame when one is due and r is the tallest
 * video rung.  Failures are noted, never fatal: the stream matters more. */
static void maybe_thumb(lsp_pack *p, rung *r, track *tr, const AVPacket *pkt)
{
	char terr[256];
	double now = lsp_clock_wall_s();
	int rc;

	if (now < p->next_thumb || p->thumb_fails > 20)
		return;
	for (int i = 0; i < p->nr; i++) {
		const rung *q = p->r[i];
		if (q != r && q->video && q->height > r->height && q->started &&
		    (double)pkt->dts * av_q2d(tr->tb) - (double)q->last_dts * av_q2d(q->tr[q->drive].tb) < 3.0)
			return; /* a taller rung that is encoded now (not shed or idle) makes them */
	}
	p->next_thumb = now + p->o.thumb;
	if (!p->thumb && (rc = lsp_thumb_open(&p->thumb, tr->par, LSP_PACK_THUMB_WIDTH, terr, sizeof terr)) < 0) {
		p->thumb_fails = 1000; /* cannot decode this stream: stop trying */
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "thumb failed", "rung", LSV_S(r->name), "code",
			       LSV_I(rc), "reason", LSV_S(terr), NULL);
		return;
	}
	if ((rc = lsp_thumb_write(p->thumb, pkt, p->o.out, "thumb.jpg", terr, sizeof terr)) < 0) {
		p->thumb_fails++;
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "thumb failed", "rung", LSV_S(r->name), "code",
			       LSV_I(rc), "reason", LSV_S(terr), NULL);
		return;
	}
	p->thumb_fails = 0;
}

/* The held frame of the driving track, now that its duration d is known
 * (drive ticks): does a part or a segment end before it?  A part ends
 * when the frame would take it past the part target, so no part is ever
 * longer (whatever the frame rate does); a segment ends at the key frame
 * nearest the target: here, unless the next key frame (a GOP on) is
 * nearer or would round over the declared target.  Audio-only rungs end
 * a segment at the frame boundary nearest the target. */
static int drive_frame(lsp_pack *p, rung *r, int64_t d, char *err, size_t errcap)
{
	track *tr = &r->tr[r->drive];
	int64_t h = tr->hold->dts;
	int key = (tr->hold->flags & AV_PKT_FLAG_KEY) != 0, rc;
	double tbs = av_q2d(tr->tb);
	double since_part = (double)(h - r->part_start) * tbs;
	double since_seg = (double)(h - r->seg_start) * tbs;
	double frame = (double)d * tbs;
	int seg_due = !r->video && since_seg > 0 && since_seg + frame / 2 >= p->o.segment;
	int part_due = since_part > 0 && (since_part + frame > p->o.part + 1e-6 || r->cur.nparts >= MAXPARTS - 1);

	if (r->video && key && h > r->key_dts) {
		double gop = (double)(h - r->key_dts) * tbs;
		r->gop = h - r->key_dts;
		r->key_dts = h;
		fix_target(p, r, gop);
		seg_due = since_seg >= p->o.segment - gop / 2 - 1e-6 || since_seg + gop >= r->target + 0.5 - 1e-6;
	} else if (r->video && !r->target_fixed && (double)(h - r->key_dts) * tbs >= LSP_PACK_GOP_WAIT) {
		fix_target(p, r, (double)(h - r->key_dts) * tbs); /* no second key frame yet */
	}
	if (seg_due || part_due) {
		/* audio of the closing part goes with it */
		for (int j = 0; j < r->ntr; j++) {
			if (j == r->drive || !r->tr[j].hold->data)
				continue;
			if (av_compare_ts(r->tr[j].hold->dts, r->tr[j].tb, h, tr->tb) < 0 &&
			    (rc = flush_held(r, j, 0, err, errcap)) < 0)
				return rc;
		}
		if ((rc = cut(p, r, h, seg_due, err, errcap)) < 0)
			return rc;
		r->part_indep = key;
	}
	r->last_dts = h;
	if (r->video && d > 0) {
		r->nframes++;
		r->frames_dur += frame;
	}
	return 0;
}

/* ---- gaps: a rung that stops and resumes ------------------------------------
 *
 * lsp-transcode stops encoding a rung it sheds or nobody watches (its video
 * and audio both stop, on a keyframe-grid boundary) and restarts it later
 * with a key frame on the same timeline as the other rungs.  Its open
 * segment ends with its last frame; the next one starts at the key frame
 * with EXT-X-DISCONTINUITY and its own PROGRAM-DATE-TIME, so no part ever
 * spans the gap and no frame lasts as long as the gap. */

/* A forward step of more than a second and four frames. */
static int is_gap(const track *tr, int64_t d)
{
	return (double)d * av_q2d(tr->tb) > 1.0 && d > 4 * tr->last_dur;
}

/* Audio more than two seconds ahead of its rung's video: the video is in a gap. */
static int ahead_of_drive(const rung *r, const track *tr, const AVPacket *pkt)
{
	const track *v = &r->tr[r->drive];
	int64_t vt = v->hold->data ? v->hold->dts : r->last_dts;
	if (!r->video || !r->started)
		return 0;
	return (double)pkt->dts * av_q2d(tr->tb) - (double)vt * av_q2d(v->tb) > 2.0;
}

/* The first driving packet after a gap: start the new segment at a key frame. */
static int resume_at_key(lsp_pack *p, rung *r, const AVPacket *pkt, int key)
{
	if (r->video && !key) {
		r->dropped++;
		return 0;
	}
	r->await_key = 0;
	r->seg_start = r->part_start = r->last_dts = r->key_dts = pkt->dts;
	r->cur.pdt = r->resume_pdt > 0 ? r->resume_pdt : pdt_of(p, r, pkt->dts);
	r->resume_pdt = 0;
	r->cur.disc = 1;
	r->part_indep = 1;
	return av_packet_ref(r->tr[r->drive].hold, pkt);
}

/* The segments the gap spans, as EXT-X-GAP segments one target long:
 * the rung's sequence numbers stay on the grid the other rungs share
 * (one per segment of the same wall time), so a player switching rungs
 * finds the same number at the same moment.  Only those still inside the
 * low-latency and DVR windows are listed; the older ones count as already
 * removed (EXT-X-MEDIA-SEQUENCE moves past them). */
/* Gap segments that number the segment resuming at t as another running
 * rung numbers that moment (rungs share the source's time stamps; the
 * gap's length rounded can be one off), and *pdt the date that rung gives
 * it, so the rungs' dates agree too.  Of several, the rung whose segment
 * grid t falls on most closely (a passthrough rung may cut elsewhere).
 * -1: no other rung to follow. */
static long gaps_to_grid(const lsp_pack *p, const rung *r, int64_t t, double *pdt)
{
	double at = pdt_of(p, r, t), best = 0;
	long n = -1;
	for (int i = 0; i < p->nr; i++) {
		const rung *q = p->r[i];
		double since, off;
		long k;
		if (q == r || !q->started || q->ended || q->await_key || !q->video)
			continue;
		since = at - pdt_of(p, q, q->seg_start);
		k = lround(since / p->o.segment);
		off = fabs(since - (double)k * p->o.segment);
		if ((long)q->cur.seq + k < (long)r->cur.seq || (n >= 0 && off >= best))
			continue;
		best = off;
		n = (long)q->cur.seq + k - (long)r->cur.seq;
		*pdt = q->cur.pdt > 0 ? q->cur.pdt + since : 0;
	}
	return n;
}

static int add_gaps(lsp_pack *p, rung *r, double gap_s, int64_t end, int64_t resume, char *err, size_t errcap)
{
	double gpdt = 0;
	long n = lround(gap_s / p->o.segment), grid = resume != AV_NOPTS_VALUE ? gaps_to_grid(p, r, resume, &gpdt) : -1;
	long keep_h = p->o.window + LSP_PACK_GRACE;
	long keep_d = p->o.dvr > 0 ? (long)ceil(p->o.dvr / p->o.segment) + 1 : 0;
	double pdt = pdt_of(p, r, end);
	int rc;
	if (grid >= 0 && labs(grid - n) <= 2) { /* more apart: a broken time stamp, keep the gap's count */
		n = grid;
		r->resume_pdt = gpdt;
	}
	if (n <= 0)
		return 0;
	for (long i = 0; i < n; i++, r->cur.seq++) {
		seginfo g;
		memset(&g, 0, sizeof g);
		g.seq = r->cur.seq;
		g.dur = p->o.segment;
		if (r->resume_pdt > 0) /* back from the resumed segment's date */
			g.pdt = r->resume_pdt - (double)(n - i) * p->o.segment;
		else if (pdt > 0)
			g.pdt = pdt + (double)i * p->o.segment;
		g.gap = 1;
		if (n - i <= keep_h)
			hist_push(p, r, &g);
		if (n - i <= keep_d && (rc = pack_dvr_push(p, r, &g, err, errcap)) < 0)
			return rc;
	}
	return p->o.dvr > 0 ? pack_write_dvr(r, err, errcap) : 0;
}

/* The driving track stepped over a gap: its held frame (at its usual
 * length) ends the open segment, then a new one starts at pkt. */
static int cut_at_gap(lsp_pack *p, rung *r, const AVPacket *pkt, int key, char *err, size_t errcap)
{
	track *tr = &r->tr[r->drive];
	int64_t d = tr->last_dur > 0 ? tr->last_dur : 1, end = tr->hold->dts + d;
	double gap = (double)(pkt->dts - end) * av_q2d(tr->tb);
	int rc;
	if ((rc = drive_frame(p, r, d, err, errcap)) < 0 || (rc = flush_held(r, r->drive, d, err, errcap)) < 0)
		return rc;
	for (int j = 0; j < r->ntr; j++)
		if (j != r->drive && r->tr[j].hold->data &&
		    av_compare_ts(r->tr[j].hold->dts, r->tr[j].tb, end, tr->tb) < 0 &&
		    (rc = flush_held(r, j, 0, err, errcap)) < 0)
			return rc;
	if ((rc = cut(p, r, end, 1, err, errcap)) < 0 ||
	    (rc = add_gaps(p, r, gap, end, key || !r->video ? pkt->dts : AV_NOPTS_VALUE, err, errcap)) < 0)
		return rc;
	r->gaps++;
	lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "rung resumed after a gap", "rung", LSV_S(r->name),
		       "gap_s", LSV_D(gap), "seq", LSV_I(r->cur.seq), NULL);
	r->await_key = 1;
	return resume_at_key(p, r, pkt, key);
}

static int on_packet(lsp_pack *p, rung *r, int k, AVPacket *pkt, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0, rc;
	double anchor;
	int64_t t;

	if (!lsp_tsin_fill_ts(pkt, tr->par, tr->tb, tr->last_raw, tr->last_dur) || pkt->size == 0 ||
	    !repair_time(p, r, tr, pkt))
		return 0;
	/* a packet read from a backlog (input buffered while probing) arrived
	 * late; the smallest wall-minus-media gap is the closest to capture.
	 * A gap a minute smaller at once is a broken time stamp, not a backlog. */
	anchor = lsp_clock_wall_s() - (double)pkt->dts * av_q2d(tr->tb);
	if (!p->have0 || (anchor < p->anchor && anchor > p->anchor - 60)) {
		p->have0 = 1;
		p->anchor = anchor;
	}
	t = pkt->dts;
	if (p->o.thumb > 0 && key && k == r->drive && r->video)
		maybe_thumb(p, r, tr, pkt);
	if (!r->started) {
		if (k != r->drive || (r->video && !key))
			return 0;
		if ((rc = start_rung(p, r, pkt, err, errcap)) < 0)
			return rc;
		r->last_dts = t;
		r->key_dts = t;
		r->part_indep = 1;
		return av_packet_ref(tr->hold, pkt);
	}
	if (k == r->drive && r->await_key)
		return resume_at_key(p, r, pkt, key);
	if (k != r->drive && ahead_of_drive(r, tr, pkt)) {
		/* its video stopped (a shed or idle rung) or has not resumed yet:
		 * this audio belongs after the gap, which starts with a key frame */
		r->gap_dropped++;
		return tr->hold->data ? flush_held(r, k, 0, err, errcap) : 0;
	}
	if (tr->hold->data) {
		int64_t d = pkt->dts - tr->hold->dts;
		if (k == r->drive && is_gap(tr, d))
			return cut_at_gap(p, r, pkt, key, err, errcap);
		if ((d <= 0 && k == r->drive) || is_gap(tr, d)) /* keep the old spacing */
			d = tr->last_dur;
		if (k == r->drive && (rc = drive_frame(p, r, d, err, errcap)) < 0)
			return rc;
		if ((rc = flush_held(r, k, d, err, errcap)) < 0)
			return rc;
	}
	return av_packet_ref(tr->hold, pkt);
}

int lsp_pack_step(lsp_pack *p, char *err, size_t errcap)
{
	int m, rc = lsp_tsin_read(p->ic, p->pkt, p->map, p->nmap, p->o.stop, &m, err, errcap);
	if (rc <= 0)
		return rc;
	if (m >= 0)
		rc = on_packet(p, p->r[m / 2], m % 2, p->pkt, err, errcap);
	av_packet_unref(p->pkt);
	return rc < 0 ? rc : 1;
}

int lsp_pack_finish(lsp_pack *p, char *err, size_t errcap)
{
	int rc;
	for (int i = 0; i < p->nr; i++) {
		rung *r = p->r[i];
		track *d = &r->tr[r->drive];
		int64_t end;
		if (!r->started || r->ended)
			continue;
		end = d->hold->data ? d->hold->dts + (d->last_dur > 0 ? d->last_dur : 0) : r->last_dts;
		if (d->hold->data && (rc = drive_frame(p, r, d->last_dur, err, errcap)) < 0)
			return rc;
		for (int k = 0; k < r->ntr; k++)
			if ((rc = flush_held(r, k, 0, err, errcap)) < 0)
				return rc;
		r->ended = 1;
		if ((rc = cut(p, r, end, 1, err, errcap)) < 0)
			return rc;
		if (p->o.dvr > 0 && (rc = pack_write_dvr(r, err, errcap)) < 0)
			return rc;
		lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "end", "rung", LSV_S(r->name), "next_seq",
			       LSV_I(r->cur.seq), NULL);
		if (r->dropped)
			lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "dropped", "rung", LSV_S(r->name), "packets",
				       LSV_I(r->dropped), "reason", LSV_S("packets with non-increasing dts"), NULL);
		if (r->epoch)
			lsp_event_emit(p->o.event, p->o.event_ctx, LSP_INFO, "timeline resets", "rung", LSV_S(r->name),
				       "resets", LSV_I(r->epoch), NULL);
	}
	return pack_write_master(p, err, errcap);
}

void lsp_pack_close(lsp_pack *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nr; i++)
		rung_free(p->r[i]);
	avformat_close_input(&p->ic);
	av_packet_free(&p->pkt);
	lsp_thumb_close(p->thumb);
	free(p->map);
	free(p);
}
