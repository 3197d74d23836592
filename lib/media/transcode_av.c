/* transcode_av.c — the ladder engine's media work (see transcode_int.h for
 * the pieces): video is decoded once, the keyframe decision is made once
 * for every rung (an IDR on the first frame at or past each GOP boundary),
 * then each rung scales and encodes it; audio is decoded, resampled to 48
 * kHz stereo into a FIFO and encoded to AAC once, the same packet written
 * into every program.  Frames and packets used here are the engine's
 * scratch objects (t->dframe, t->opkt, ...), unref'ed before returning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/averr.h"
#include "media/transcode_int.h"

/* ---- encoder output --------------------------------------------------------------- */

/* Drain encoder packets of rung r into its video stream. */
int transcode_drain_video(lsp_transcode *t, struct rung *r, char *err, size_t errcap)
{
	int rc;
	for (;;) {
		rc = avcodec_receive_packet(r->enc, t->opkt);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			lsp_averr(err, errcap, "video encoder failed", rc);
			return -EIO;
		}
		t->st.frames_out++;
		transcode_ring_video(t, r, t->opkt, r->enc->time_base);
		rc = transcode_write_pkt(t, t->opkt, r->enc->time_base, r->vst, err, errcap);
		av_packet_unref(t->opkt);
		if (rc < 0)
			return rc;
	}
}

int transcode_drain_audio(lsp_transcode *t, char *err, size_t errcap)
{
	int rc, i;
	for (;;) {
		rc = avcodec_receive_packet(t->aenc, t->opkt);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			lsp_averr(err, errcap, "audio encoder failed", rc);
			return -EIO;
		}
		t->st.audio_frames++;
		transcode_ring_audio(t, t->opkt, t->aenc->time_base);
		for (i = 0; i < t->nr; i++) {
			struct rung *r = &t->rungs[i];
			if (r->copy_audio || !r->ast || r->off) /* a shed rung's program goes silent as a whole */
				continue;
			if (av_packet_ref(t->apkt, t->opkt) < 0) {
				av_packet_unref(t->opkt);
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			rc = transcode_write_pkt(t, t->apkt, t->aenc->time_base, r->ast, err, errcap);
			av_packet_unref(t->apkt);
			if (rc < 0) {
				av_packet_unref(t->opkt);
				return rc;
			}
		}
		av_packet_unref(t->opkt);
	}
}

/* ---- video ------------------------------------------------------------------------- */

/* The scaling cascade: each encoded rung scales from the nearest taller
 * rung being encoded (1080p → 720p → 480p → 360p), the tallest from the
 * decoded source; a rung of the source's own size and format takes the
 * source picture as is.  Rebuilt when the source size or the set of
 * encoded rungs (shedding) changes. */
int transcode_cascade(lsp_transcode *t, char *err, size_t errcap)
{
	int i, j;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		int w = t->src_w, h = t->src_h, fmt = t->src_fmt;
		sws_freeContext(r->sws);
		r->sws = NULL;
		r->from = -1;
		if (r->r.passthrough)
			continue;
		for (j = i - 1; j >= 0; j--) {
			const struct rung *q = &t->rungs[j];
			if (!q->r.passthrough && !q->off && q->r.width >= r->r.width && q->r.height >= r->r.height &&
			    (q->r.width < t->src_w || q->r.height < t->src_h)) {
				r->from = j;
				w = q->r.width;
				h = q->r.height;
				fmt = AV_PIX_FMT_YUV420P;
				break;
			}
		}
		if (w == r->r.width && h == r->r.height && fmt == AV_PIX_FMT_YUV420P)
			continue;
		r->sws = sws_getContext(w, h, fmt, r->r.width, r->r.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL,
					NULL, NULL);
		if (!r->sws) {
			snprintf(err, errcap, "unable to scale %dx%d (format %d) to %dx%d", w, h, fmt, r->r.width,
				 r->r.height);
			return -EIO;
		}
	}
	return 0;
}

static int rebuild_scalers(lsp_transcode *t, const AVFrame *f, char *err, size_t errcap)
{
	if (t->src_w && (t->src_w != f->width || t->src_h != f->height))
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "source resolution changed; rungs keep their sizes",
			       "old_width", LSV_I(t->src_w), "old_height", LSV_I(t->src_h), "width", LSV_I(f->width),
			       "height", LSV_I(f->height), NULL);
	t->src_w = f->width;
	t->src_h = f->height;
	t->src_fmt = f->format;
	return transcode_cascade(t, err, errcap);
}

/* Decide keyframe, scale and encode one frame (pts already checked). */
static int encode_frame(lsp_transcode *t, AVFrame *f, int64_t pts, char *err, size_t errcap)
{
	AVFrame *pic[LSP_LADDER_MAX]; /* the picture each rung encodes: the next one's cascade input */
	int key = 0, i, rc;
	int64_t t0;
	if (!t->opened && (rc = transcode_open_output(t, f, err, errcap)) < 0)
		return rc;
	if (f->width != t->src_w || f->height != t->src_h || f->format != t->src_fmt)
		if ((rc = rebuild_scalers(t, f, err, errcap)) < 0)
			return rc;
	if (t->first_vpts == AV_NOPTS_VALUE)
		t->first_vpts = pts;
	/* the keyframe grid: first_vpts + n * gop, the first frame at or past each */
	if (t->next_key == AV_NOPTS_VALUE || pts >= t->next_key) {
		key = 1;
		if (t->next_key == AV_NOPTS_VALUE)
			t->next_key = pts;
		while (t->next_key <= pts)
			t->next_key += t->gop_ticks;
	}
	if (key && ((rc = transcode_shed_apply(t, err, errcap)) < 0 || (rc = transcode_demand_apply(t, err, errcap)) < 0))
		return rc;
	f->pts = pts;
	f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	f->key_frame = key;
	t0 = transcode_now_us();
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		const AVFrame *src = r->from >= 0 ? pic[r->from] : f;
		AVFrame *in = f;
		pic[i] = f;
		if (r->r.passthrough || r->off)
			continue;
		if (r->sws) {
			if (av_frame_make_writable(r->frame) < 0) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			sws_scale(r->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
				  r->frame->data, r->frame->linesize);
			av_frame_copy_props(r->frame, f);
			in = r->frame;
		}
		pic[i] = in;
		in->pts = pts;
		in->pict_type = f->pict_type;
		in->key_frame = key;
		rc = avcodec_send_frame(r->enc, in);
		if (rc < 0 && rc != AVERROR(EAGAIN)) {
			char what[64];
			snprintf(what, sizeof what, "video encoder for %s refused a frame", r->r.name);
			lsp_averr(err, errcap, what, rc);
			return -EIO;
		}
		if ((rc = transcode_drain_video(t, r, err, errcap)) < 0)
			return rc;
	}
	t->shed.enc += transcode_now_us() - t0;
	return 0;
}

/* Decide the encoders' frame rate from the held frames' timestamps, then
 * encode them (the output opens on the first). */
int transcode_flush_preroll(lsp_transcode *t, char *err, size_t errcap)
{
	double ts[PREROLL];
	int i, num, den, rc = 0;
	if (t->npre == 0)
		return 0;
	for (i = 0; i < t->npre; i++)
		ts[i] = t->pre[i]->pts * av_q2d(t->vtb);
	lsp_ladder_rate_from_times(ts, t->npre, &num, &den);
	t->fr = (AVRational){ num, den };
	t->fr_from = "measured";
	for (i = 0; i < t->npre; i++) {
		if (rc == 0)
			rc = encode_frame(t, t->pre[i], t->pre[i]->pts, err, errcap);
		av_frame_free(&t->pre[i]);
	}
	t->npre = 0;
	return rc;
}

/* The stream's own rate is usable when it is a plausible frame rate, not
 * a time base (90 kHz from RTP/WHIP sources) or nothing. */
static int stream_rate_usable(AVRational fr)
{
	return fr.num > 0 && fr.den > 0 && av_q2d(fr) >= 1 && av_q2d(fr) <= MAX_FPS;
}

static int encode_video(lsp_transcode *t, AVFrame *f, char *err, size_t errcap)
{
	int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	if (pts == AV_NOPTS_VALUE || (t->last_vpts != AV_NOPTS_VALUE && pts <= t->last_vpts)) {
		t->st.dropped++;
		if (transcode_worth_reporting(t->st.dropped))
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN,
				       "frame dropped: missing or non-increasing timestamp", "dropped", LSV_I(t->st.dropped),
				       NULL);
		return 0;
	}
	t->last_vpts = pts;
	if (!t->fr.num) {
		AVRational fr = av_guess_frame_rate(t->ic, t->ic->streams[t->vidx], NULL);
		if (stream_rate_usable(fr) && t->npre == 0) {
			t->fr = fr;
			t->fr_from = "stream";
		} else { /* hold the frame; measure the rate over PREROLL frames */
			if (!(t->pre[t->npre] = av_frame_clone(f))) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			t->pre[t->npre++]->pts = pts;
			return t->npre < PREROLL ? 0 : transcode_flush_preroll(t, err, errcap);
		}
	}
	return encode_frame(t, f, pts, err, errcap);
}

int transcode_decode_video(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap)
{
	int rc = avcodec_send_packet(t->vdec, pkt);
	if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
		t->st.decode_errors++;
		if (transcode_worth_reporting(t->st.decode_errors)) {
			char why[AV_ERROR_MAX_STRING_SIZE] = "";
			av_strerror(rc, why, sizeof why);
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "video decode error (packet skipped)",
				       "reason", LSV_S(why), "decode_errors", LSV_I(t->st.decode_errors), NULL);
		}
		t->skip_gop = pkt != NULL; /* the rest of this GOP refers to what was lost */
		return 0;
	}
	for (;;) {
		rc = avcodec_receive_frame(t->vdec, t->dframe);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			t->st.decode_errors++;
			if (transcode_worth_reporting(t->st.decode_errors))
				lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "video decode error (frame skipped)",
					       "decode_errors", LSV_I(t->st.decode_errors), NULL);
			t->skip_gop = pkt != NULL;
			return 0;
		}
		t->st.frames_in++;
		rc = encode_video(t, t->dframe, err, errcap);
		av_frame_unref(t->dframe);
		if (rc < 0)
			return rc;
	}
}
/* ---- audio ------------------------------------------------------------------------- */

int transcode_encode_audio_fifo(lsp_transcode *t, int final, char *err, size_t errcap)
{
	int fs = t->aenc->frame_size, n, rc;
	while ((n = av_audio_fifo_size(t->fifo)) >= fs || (final && n > 0)) {
		if (n > fs)
			n = fs;
		av_frame_unref(t->aframe);
		t->aframe->nb_samples = n;
		t->aframe->format = AV_SAMPLE_FMT_FLTP;
		t->aframe->sample_rate = AUDIO_RATE;
		if (av_channel_layout_copy(&t->aframe->ch_layout, &t->aenc->ch_layout) < 0 ||
		    av_frame_get_buffer(t->aframe, 0) < 0) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		if (av_audio_fifo_read(t->fifo, (void **)t->aframe->data, n) < n) {
			snprintf(err, errcap, "audio fifo underrun");
			return -EIO;
		}
		t->aframe->pts = t->a_next;
		t->a_next += n;
		t->a_end = t->a_next;
		rc = avcodec_send_frame(t->aenc, t->aframe);
		if (rc < 0 && rc != AVERROR(EAGAIN)) {
			lsp_averr(err, errcap, "audio encoder refused a frame", rc);
			return -EIO;
		}
		if ((rc = transcode_drain_audio(t, err, errcap)) < 0)
			return rc;
	}
	return 0;
}

static int push_audio(lsp_transcode *t, AVFrame *f, char *err, size_t errcap)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	uint8_t **out = NULL;
	int64_t pts, want;
	int cap, n, rc = 0;
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) { /* e.g. mono/stereo without a map */
		int ch = f->ch_layout.nb_channels;
		av_channel_layout_uninit(&f->ch_layout);
		av_channel_layout_default(&f->ch_layout, ch);
	}
	if (!t->swr || f->sample_rate != t->swr_rate || f->format != t->swr_fmt ||
	    av_channel_layout_compare(&f->ch_layout, &t->swr_layout) != 0) {
		swr_free(&t->swr);
		if (swr_alloc_set_opts2(&t->swr, &stereo, AV_SAMPLE_FMT_FLTP, AUDIO_RATE, &f->ch_layout, f->format,
					f->sample_rate, 0, NULL) < 0 || swr_init(t->swr) < 0) {
			swr_free(&t->swr);
			t->st.decode_errors++;
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "unsupported audio format; frame skipped",
				       "sample_rate", LSV_I(f->sample_rate), "channels", LSV_I(f->ch_layout.nb_channels), NULL);
			return 0;
		}
		t->swr_rate = f->sample_rate;
		t->swr_fmt = f->format;
		av_channel_layout_uninit(&t->swr_layout);
		av_channel_layout_copy(&t->swr_layout, &f->ch_layout);
	}
	cap = swr_get_out_samples(t->swr, f->nb_samples);
	if (cap <= 0)
		return 0;
	if (av_samples_alloc_array_and_samples(&out, NULL, 2, cap, AV_SAMPLE_FMT_FLTP, 0) < 0) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	n = swr_convert(t->swr, out, cap, (const uint8_t **)f->extended_data, f->nb_samples);
	if (n <= 0)
		goto done;
	/* Place the samples on the timeline: trust the source PTS when it
	 * disagrees with the running sample count by more than 100 ms. */
	pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	if (pts != AV_NOPTS_VALUE) {
		pts = av_rescale_q(pts, t->atb, (AVRational){ 1, AUDIO_RATE });
		want = pts - av_audio_fifo_size(t->fifo);
		if (t->a_next == AV_NOPTS_VALUE || llabs(want - t->a_next) > AUDIO_RATE / 10) {
			if (t->a_end != AV_NOPTS_VALUE && want < t->a_end)
				want = t->a_end;
			t->a_next = want;
		}
	} else if (t->a_next == AV_NOPTS_VALUE) {
		goto done; /* no clock yet */
	}
	if (av_audio_fifo_write(t->fifo, (void **)out, n) < n) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto done;
	}
	if (av_audio_fifo_size(t->fifo) > AUDIO_MAX_FIFO) { /* output not open yet: keep the newest */
		int drop = av_audio_fifo_size(t->fifo) - AUDIO_MAX_FIFO;
		av_audio_fifo_drain(t->fifo, drop);
		t->a_next += drop;
	}
	if (t->opened)
		rc = transcode_encode_audio_fifo(t, 0, err, errcap);
done:
	av_freep(&out[0]);
	av_freep(&out);
	return rc;
}

int transcode_decode_audio(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap)
{
	int rc = avcodec_send_packet(t->adec, pkt);
	if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
		t->st.decode_errors++;
		if (transcode_worth_reporting(t->st.decode_errors))
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "audio decode error (packet skipped)",
				       "decode_errors", LSV_I(t->st.decode_errors), NULL);
		return 0;
	}
	for (;;) {
		rc = avcodec_receive_frame(t->adec, t->dframe);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			t->st.decode_errors++;
			return 0;
		}
		if (!t->fifo) { /* audio encoder opens with the output; until then keep a FIFO */
			if (!(t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 4096))) {
				av_frame_unref(t->dframe);
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
		}
		rc = push_audio(t, t->dframe, err, errcap);
		av_frame_unref(t->dframe);
		if (rc < 0)
			return rc;
	}
}
