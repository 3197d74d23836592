/* transcode.c — the ABR ladder engine (contract and diagram in transcode.h;
 * the pieces and who owns what in transcode_int.h): open, the loop, stats
 * and close.
 *
 * One thread, one packet at a time: read a TS packet group from the
 * demuxer, fix its timestamps onto the running timeline, then
 *   video: decode → (first frame: fit ladder, open encoders and muxer)
 *          → decide keyframe → per rung scale + encode → write
 *   audio: decode → resample into a FIFO → AAC 1024-sample frames → write
 *          the same packet into every program
 *   src:   copy the packet into the "src" program.
 * While no encoded rung runs, nothing is decoded (transcode_demand.c): the
 * packet is only copied into "src".
 * Writes are unbuffered-ish (small AVIO buffer, flushed per packet): the
 * output is a live pipe.  What an operator should see is reported as
 * events (cfg->event, core/event.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/averr.h"
#include "media/transcode_int.h"

/* ---- open ------------------------------------------------------------------ */

static int open_decoder(AVStream *st, int threads, AVCodecContext **out)
{
	const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *c;
	int rc;
	if (!dec)
		return AVERROR_DECODER_NOT_FOUND;
	if (!(c = avcodec_alloc_context3(dec)))
		return AVERROR(ENOMEM);
	if ((rc = avcodec_parameters_to_context(c, st->codecpar)) < 0)
		goto fail;
	c->pkt_timebase = st->time_base;
	c->thread_count = threads;
	c->thread_type = FF_THREAD_SLICE;
	if ((rc = avcodec_open2(c, dec, NULL)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	avcodec_free_context(&c);
	return rc;
}

int lsp_transcode_open(lsp_transcode **out, const lsp_transcode_config *cfg, char *err, size_t errcap)
{
	lsp_transcode *t;
	AVDictionary *o = NULL;
	uint8_t *buf = NULL;
	int rc;
	*out = NULL;
	if (cfg->gop_s < 0.1 || cfg->gop_s > 10 || cfg->nrungs < 0 || cfg->nrungs > LSP_LADDER_MAX ||
	    cfg->threads < 0 || cfg->threads > 64 || !lsp_transcode_policy_name(cfg->policy)) {
		snprintf(err, errcap, "bad configuration (gop 0.1..10 s, threads 0..64, policy 0..2)");
		return -EINVAL;
	}
	if (!(t = calloc(1, sizeof *t))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	t->cfg = *cfg;
	t->policy = cfg->policy;
	snprintf(t->preset, sizeof t->preset, "%s", cfg->preset ? cfg->preset : "veryfast");
	t->vidx = t->aidx = -1;
	t->last_us[0] = t->last_us[1] = AV_NOPTS_VALUE;
	t->first_vpts = t->last_vpts = t->next_key = AV_NOPTS_VALUE;
	t->a_next = t->a_end = AV_NOPTS_VALUE;
	t->sync.lost = 1;
	snprintf(t->st.encoder, sizeof t->st.encoder, "none");
	if (!(t->pkt = av_packet_alloc()) || !(t->opkt = av_packet_alloc()) || !(t->apkt = av_packet_alloc()) ||
	    !(t->dframe = av_frame_alloc()) || !(t->aframe = av_frame_alloc())) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = transcode_choose_encoder(t, err, errcap)) < 0)
		goto fail;
	snprintf(t->st.encoder, sizeof t->st.encoder, "%s", t->venc->name);
	if (!(t->ic = avformat_alloc_context()) || !(buf = av_malloc(IN_BUF)) ||
	    !(t->ipb = avio_alloc_context(buf, IN_BUF, 0, t, transcode_read_in, NULL, NULL))) {
		av_free(buf);
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	t->ic->pb = t->ipb;
	t->ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	av_dict_set(&o, "probesize", "500000", 0);
	av_dict_set(&o, "analyzeduration", "1000000", 0);
	rc = avformat_open_input(&t->ic, NULL, av_find_input_format("mpegts"), &o);
	av_dict_free(&o);
	if (rc < 0) {
		lsp_averr(err, errcap, "unable to read an MPEG-TS from the input", rc);
		rc = -EIO;
		goto fail;
	}
	if ((rc = avformat_find_stream_info(t->ic, NULL)) < 0) {
		lsp_averr(err, errcap, "unable to probe the input", rc);
		rc = -EIO;
		goto fail;
	}
	t->vidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	t->aidx = av_find_best_stream(t->ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (t->vidx < 0) {
		snprintf(err, errcap, "the input has no video stream");
		rc = -ENOMSG;
		goto fail;
	}
	if (t->aidx < 0)
		t->aidx = -1;
	t->vtb = t->ic->streams[t->vidx]->time_base;
	if ((rc = open_decoder(t->ic->streams[t->vidx], 1, &t->vdec)) < 0) {
		lsp_averr(err, errcap, "unable to open the video decoder", rc);
		rc = -EIO;
		goto fail;
	}
	if (t->aidx >= 0) {
		t->atb = t->ic->streams[t->aidx]->time_base;
		if (open_decoder(t->ic->streams[t->aidx], 1, &t->adec) < 0) {
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN,
				       "audio decoder unavailable; output has no audio", NULL);
			t->aidx = -1;
		}
	}
	t->gop_ticks = av_rescale_q((int64_t)(cfg->gop_s * 1000000 + 0.5), AV_TIME_BASE_Q, t->vtb);
	if (t->gop_ticks < 1)
		t->gop_ticks = 1;
	*out = t;
	return 0;
fail:
	lsp_transcode_close(t);
	return rc;
}

/* ---- the loop -------------------------------------------------------------------- */

static int copy_src(lsp_transcode *t, AVPacket *pkt, int video, char *err, size_t errcap)
{
	int i, rc;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		AVStream *st = video ? r->vst : r->ast;
		if (!r->r.passthrough || !st || (!video && !r->copy_audio))
			continue;
		if (av_packet_ref(t->opkt, pkt) < 0) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		rc = transcode_write_pkt(t, t->opkt, video ? t->vtb : t->atb, st, err, errcap);
		av_packet_unref(t->opkt);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int lsp_transcode_finish(lsp_transcode *t, char *err, size_t errcap)
{
	int i, rc;
	if (t->finished)
		return 0;
	t->finished = 1;
	if ((rc = transcode_decode_video(t, NULL, err, errcap)) < 0)
		return rc;
	if (t->adec && (rc = transcode_decode_audio(t, NULL, err, errcap)) < 0)
		return rc;
	if ((rc = transcode_flush_preroll(t, err, errcap)) < 0)
		return rc;
	if (!t->opened) {
		snprintf(err, errcap, "the input ended before any video frame was decoded");
		return -ENOMSG;
	}
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		if (!r->enc)
			continue;
		avcodec_send_frame(r->enc, NULL);
		if ((rc = transcode_drain_video(t, r, err, errcap)) < 0)
			return rc;
	}
	if (t->aenc) {
		if ((rc = transcode_encode_audio_fifo(t, 1, err, errcap)) < 0)
			return rc;
		avcodec_send_frame(t->aenc, NULL);
		if ((rc = transcode_drain_audio(t, err, errcap)) < 0)
			return rc;
	}
	if ((rc = av_write_trailer(t->oc)) < 0 || t->out_errno)
		return transcode_out_fail(t, rc, "unable to finish the output", err, errcap);
	return 0;
}

int lsp_transcode_step(lsp_transcode *t, char *err, size_t errcap)
{
	AVPacket *pkt = t->pkt;
	int rc, video;
	if (t->finished)
		return 0;
	rc = av_read_frame(t->ic, pkt);
	if (rc < 0) {
		if (rc == AVERROR(EAGAIN))
			return 1;
		if (rc != AVERROR_EOF && !avio_feof(t->ic->pb)) {
			lsp_averr(err, errcap, "unable to read the input", rc);
			return -EIO;
		}
		rc = lsp_transcode_finish(t, err, errcap);
		return rc < 0 ? rc : 0;
	}
	if (pkt->stream_index != t->vidx && pkt->stream_index != t->aidx) {
		av_packet_unref(pkt);
		return 1;
	}
	video = pkt->stream_index == t->vidx;
	if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
		t->st.corrupt++;
		if (transcode_worth_reporting(t->st.corrupt))
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "corrupt input packet", "stream",
				       LSV_S(video ? "video" : "audio"), "corrupt", LSV_I(t->st.corrupt), NULL);
	}
	transcode_fix_timestamps(t, pkt, video ? t->vtb : t->atb, video ? 0 : 1);
	if (video && t->skip_gop) { /* a decode error drops its GOP only */
		if (!(pkt->flags & AV_PKT_FLAG_KEY)) {
			t->gop_dropped++;
			t->st.dropped++;
			av_packet_unref(pkt);
			return 1;
		}
		avcodec_flush_buffers(t->vdec);
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "GOP dropped after a decode error", "packets",
			       LSV_I(t->gop_dropped), NULL);
		t->skip_gop = 0;
		t->gop_dropped = 0;
	}
	transcode_shed_tick(t);
	transcode_demand_tick(t);
	if (transcode_shed_input(t, pkt, video)) { /* behind real time: skip to the next keyframe */
		av_packet_unref(pkt);
		return 1;
	}
	/* decode first (unless no encoded rung needs it): the packet that
	 * opens the output is copied too */
	rc = !transcode_demand_decode(t, pkt, video) ? 0
	     : video				     ? transcode_decode_video(t, pkt, err, errcap)
						     : transcode_decode_audio(t, pkt, err, errcap);
	if (rc == 0 && t->opened && t->has_src) {
		if (video && (pkt->flags & AV_PKT_FLAG_KEY))
			t->src_started = 1; /* the copy starts on a source keyframe */
		if (t->src_started)
			rc = copy_src(t, pkt, video, err, errcap);
	}
	av_packet_unref(pkt);
	return rc < 0 ? rc : 1;
}

void lsp_transcode_get_stats(const lsp_transcode *t, lsp_transcode_stats *st)
{
	*st = t->st;
	st->resyncs = t->sync.resyncs;
	st->skipped_bytes = t->sync.skipped;
	st->shed_level = t->shed.level;
	st->shed_max = t->shed.max_level;
	st->speed = t->shed.speed;
	st->capacity = t->shed.capacity;
	st->lag_s = t->shed.lag;
	st->input_drops = t->shed.drops;
	st->decoding = !t->dec_off;
	st->policy = t->policy;
	snprintf(st->preset, sizeof st->preset, "%s", t->preset);
	st->media_s = t->first_vpts == AV_NOPTS_VALUE ? 0 : (t->last_vpts - t->first_vpts) * av_q2d(t->vtb);
}

/* ,"key":["a","b"] of the rungs whose state is want (0 encoding, 1 shed,
 * 2 idle) at out + *off; 0, or -ENOSPC. */
static int status_list(const lsp_transcode *t, const char *key, int want, char *out, size_t cap, size_t *off)
{
	int n = snprintf(out + *off, cap - *off, ",\"%s\":[", key), first = 1;
	if (n < 0 || (size_t)n >= cap - *off)
		return -ENOSPC;
	*off += (size_t)n;
	for (int i = 0; i < t->nr; i++) {
		const struct rung *r = &t->rungs[i];
		int state = r->shed_off ? 1 : r->off ? 2 : 0;
		if (state != want)
			continue;
		n = snprintf(out + *off, cap - *off, "%s\"%s\"", first ? "" : ",", r->r.name);
		if (n < 0 || (size_t)n >= cap - *off)
			return -ENOSPC;
		*off += (size_t)n;
		first = 0;
	}
	if (cap - *off < 2)
		return -ENOSPC;
	out[(*off)++] = ']';
	out[*off] = 0;
	return 0;
}

int lsp_transcode_status_json(const lsp_transcode *t, char *out, size_t cap)
{
	lsp_transcode_stats st;
	size_t off;
	int n;
	if (cap == 0)
		return -ENOSPC;
	lsp_transcode_get_stats(t, &st);
	n = snprintf(out, cap,
		     "{\"shed_level\":%d,\"shed_max\":%d,\"preset\":\"%s\",\"capacity\":%.2f,\"speed\":%.2f,"
		     "\"lag_ms\":%lld,\"input_drops\":%lld,\"rungs_idle\":%d,\"policy\":\"%s\",\"decoding\":%d",
		     st.shed_level, st.shed_max, st.preset, st.capacity, st.speed, (long long)(st.lag_s * 1000),
		     st.input_drops, st.rungs_idle, lsp_transcode_policy_name(st.policy), st.decoding);
	if (n < 0 || (size_t)n >= cap)
		goto nospace;
	off = (size_t)n;
	if (status_list(t, "encoding", 0, out, cap, &off) < 0 || status_list(t, "shed", 1, out, cap, &off) < 0 ||
	    status_list(t, "idle", 2, out, cap, &off) < 0 || cap - off < 2)
		goto nospace;
	out[off++] = '}';
	out[off] = 0;
	return (int)off;
nospace:
	out[0] = 0;
	return -ENOSPC;
}

void lsp_transcode_close(lsp_transcode *t)
{
	if (!t)
		return;
	transcode_free_rungs(t);
	for (int i = 0; i < t->npre; i++)
		av_frame_free(&t->pre[i]);
	if (t->oc)
		avformat_free_context(t->oc);
	if (t->opb) {
		av_freep(&t->opb->buffer);
		avio_context_free(&t->opb);
	}
	avcodec_free_context(&t->vdec);
	avcodec_free_context(&t->adec);
	avcodec_free_context(&t->aenc);
	swr_free(&t->swr);
	av_channel_layout_uninit(&t->swr_layout);
	if (t->fifo)
		av_audio_fifo_free(t->fifo);
	avformat_close_input(&t->ic);
	if (t->ipb) {
		av_freep(&t->ipb->buffer);
		avio_context_free(&t->ipb);
	}
	av_packet_free(&t->pkt);
	av_packet_free(&t->opkt);
	av_packet_free(&t->apkt);
	av_frame_free(&t->dframe);
	av_frame_free(&t->aframe);
	free(t);
}
