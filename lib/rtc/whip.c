/* whip.c — WHIP publisher media → MPEG-TS (+ ring); see whip.h.
 * Owns: the pipeline child and its pipe, the mpegts muxer and its
 * AVIOContext, the Opus decoder and AAC encoder, the depacketizer buffer,
 * and the ring when one is written. */
#include "rtc/whip.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>

#include "media/ring.h"
#include "core/spawn.h"
#include "core/clock.h"

#define AU_CAP (2u << 20)
#define AVIO_BUF 4096

struct lsp_whip {
	pid_t child;
	int fd, epipe;
	AVFormatContext *oc;
	AVIOContext *pb;
	AVPacket *pkt;
	int vidx, aidx, started;
	AVCodecContext *odec, *aenc;
	AVAudioFifo *fifo;
	AVFrame *fr, *af;
	lsp_h264_depack dp;
	lsp_ring *ring;
	char ring_path[256];
	long long t0_ms;           /* wall clock of the first packet */
	int have_v, have_a;
	uint32_t v0, a0;           /* first RTP times */
	int64_t vbase, abase;      /* 90 kHz offsets of each stream's first packet */
	int64_t last_vpts, a_samples, last_adts;
	long long nv, na, ndrop;
};

static int averr(char *err, size_t errcap, int rc, const char *what)
{
	char b[128];
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "%s: %s", what, b);
	return -EIO;
}

static int write_cb(void *opaque, uint8_t *buf, int size)
{
	lsp_whip *w = opaque;
	int off = 0;
	while (off < size) {
		ssize_t n = write(w->fd, buf + off, (size_t)(size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE)
				w->epipe = 1;
			return AVERROR(errno);
		}
		off += (int)n;
	}
	return size;
}

int lsp_whip_open(lsp_whip **out, const char *cmd, const char *ring_channel, char *err, size_t errcap)
{
	lsp_whip *w = calloc(1, sizeof *w);
	const AVCodec *dc = avcodec_find_decoder(AV_CODEC_ID_OPUS), *ec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	uint8_t *buf = NULL;
	AVStream *st;
	int rc;
	if (!w) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	w->fd = -1;
	w->vidx = w->aidx = -1;
	if (!(w->dp.buf = malloc(AU_CAP)) || !(w->pkt = av_packet_alloc()) || !(w->fr = av_frame_alloc()) ||
	    !(w->af = av_frame_alloc()))
		goto nomem;
	w->dp.cap = AU_CAP;
	if (!dc || !ec) {
		snprintf(err, errcap, "libavcodec lacks the opus decoder or the aac encoder");
		rc = -ENOSYS;
		goto fail;
	}
	if (!(w->odec = avcodec_alloc_context3(dc)) || !(w->aenc = avcodec_alloc_context3(ec)))
		goto nomem;
	w->odec->sample_rate = 48000;
	av_channel_layout_default(&w->odec->ch_layout, 2);
	if ((rc = avcodec_open2(w->odec, dc, NULL)) < 0) {
		rc = averr(err, errcap, rc, "opus decoder");
		goto fail;
	}
	w->aenc->sample_rate = 48000;
	w->aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_default(&w->aenc->ch_layout, 2);
	w->aenc->bit_rate = 128000;
	w->aenc->time_base = (AVRational){ 1, 48000 };
	if ((rc = avcodec_open2(w->aenc, ec, NULL)) < 0) {
		rc = averr(err, errcap, rc, "aac encoder");
		goto fail;
	}
	if (!(w->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 8192)))
		goto nomem;
	if (ring_channel) {
		if ((rc = lsp_ring_path(ring_channel, w->ring_path, sizeof w->ring_path)) < 0 ||
		    (rc = lsp_ring_create(&w->ring, w->ring_path, 4096, 16u << 20, err, errcap)) < 0)
			goto fail;
	}
	if (cmd) {
		if ((rc = lsp_spawn_template(cmd, NULL, &w->child, &w->fd, err, errcap)) < 0)
			goto fail;
		if ((rc = avformat_alloc_output_context2(&w->oc, NULL, "mpegts", NULL)) < 0 || !w->oc) {
			rc = averr(err, errcap, rc, "mpegts muxer");
			goto fail;
		}
		if (!(buf = av_malloc(AVIO_BUF)))
			goto nomem;
		if (!(w->pb = avio_alloc_context(buf, AVIO_BUF, 1, w, NULL, write_cb, NULL))) {
			av_free(buf);
			goto nomem;
		}
		w->oc->pb = w->pb;
		w->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
		if (!(st = avformat_new_stream(w->oc, NULL)))
			goto nomem;
		st->time_base = (AVRational){ 1, 90000 };
		st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
		st->codecpar->codec_id = AV_CODEC_ID_H264;
		w->vidx = st->index;
		if (!(st = avformat_new_stream(w->oc, NULL)))
			goto nomem;
		st->time_base = (AVRational){ 1, 90000 };
		if ((rc = avcodec_parameters_from_context(st->codecpar, w->aenc)) < 0) {
			rc = averr(err, errcap, rc, "aac parameters");
			goto fail;
		}
		w->aidx = st->index;
	}
	*out = w;
	return 0;
nomem:
	snprintf(err, errcap, "out of memory");
	rc = -ENOMEM;
fail:
	lsp_whip_close(w);
	return rc;
}

static int64_t rtp_to90(lsp_whip *w, int video, uint32_t ts)
{
	long long now = lsp_clock_mono_ms();
	if (!w->t0_ms)
		w->t0_ms = now;
	if (video) {
		if (!w->have_v) {
			w->have_v = 1;
			w->v0 = ts;
			w->vbase = (now - w->t0_ms) * 90;
		}
		return w->vbase + (int32_t)(ts - w->v0);
	}
	if (!w->have_a) {
		w->have_a = 1;
		w->a0 = ts;
		w->abase = (now - w->t0_ms) * 90;
	}
	return w->abase + (int64_t)(int32_t)(ts - w->a0) * 90000 / 48000;
}

static int start(lsp_whip *w, char *err, size_t errcap)
{
	int rc;
	if (w->started || !w->oc)
		return 0;
	if ((rc = avformat_write_header(w->oc, NULL)) < 0)
		return averr(err, errcap, rc, "mpegts header");
	w->started = 1;
	return 0;
}

static int mux(lsp_whip *w, int idx, const uint8_t *p, size_t len, int64_t pts, int key, char *err,
	       size_t errcap)
{
	int rc;
	if (!w->oc)
		return 0;
	if ((rc = av_new_packet(w->pkt, (int)len)) < 0)
		return averr(err, errcap, rc, "packet");
	memcpy(w->pkt->data, p, len);
	w->pkt->stream_index = idx;
	w->pkt->pts = w->pkt->dts = av_rescale_q(pts, (AVRational){ 1, 90000 }, w->oc->streams[idx]->time_base);
	if (key)
		w->pkt->flags |= AV_PKT_FLAG_KEY;
	rc = av_write_frame(w->oc, w->pkt);
	av_packet_unref(w->pkt);
	if (rc < 0) {
		if (w->epipe) {
			snprintf(err, errcap, "pipeline closed its input");
			return -EPIPE;
		}
		return averr(err, errcap, rc, "mpegts write");
	}
	return 0;
}

int lsp_whip_video(lsp_whip *w, const lsp_rtp_hdr *h, const uint8_t *payload, size_t len, char *err,
		   size_t errcap)
{
	int rc = lsp_h264_depack_put(&w->dp, h, payload, len);
	int64_t pts;
	if (rc < 0) {
		w->ndrop++;
		return 1;
	}
	if (rc == 0)
		return 0;
	pts = rtp_to90(w, 1, h->ts);
	if (!w->started && !w->dp.key) { /* wait for the first keyframe */
		lsp_h264_depack_reset(&w->dp);
		w->ndrop++;
		return 1;
	}
	if (pts <= w->last_vpts && w->nv)
		pts = w->last_vpts + 1;
	w->last_vpts = pts;
	if ((rc = start(w, err, errcap)) < 0)
		return rc;
	if (!w->oc)
		w->started = 1;
	if (w->ring)
		lsp_ring_write(w->ring, LSP_RING_VIDEO, w->dp.key ? LSP_RING_KEY : 0, pts, pts, w->dp.buf, w->dp.len);
	rc = mux(w, w->vidx, w->dp.buf, w->dp.len, pts, w->dp.key, err, errcap);
	lsp_h264_depack_reset(&w->dp);
	if (rc < 0)
		return rc;
	w->nv++;
	return 0;
}

static void adts(uint8_t *h, size_t len)
{
	size_t fl = len + 7;
	h[0] = 0xff;
	h[1] = 0xf1;
	h[2] = (uint8_t)((1 << 6) | (3 << 2)); /* AAC LC, 48 kHz */
	h[3] = (uint8_t)((2 << 6) | ((fl >> 11) & 3));
	h[4] = (uint8_t)(fl >> 3);
	h[5] = (uint8_t)(((fl & 7) << 5) | 0x1f);
	h[6] = 0xfc;
}

static int encode_aac(lsp_whip *w, char *err, size_t errcap)
{
	int rc;
	while (av_audio_fifo_size(w->fifo) >= w->aenc->frame_size) {
		av_frame_unref(w->af);
		w->af->nb_samples = w->aenc->frame_size;
		w->af->format = AV_SAMPLE_FMT_FLTP;
		w->af->sample_rate = 48000;
		av_channel_layout_default(&w->af->ch_layout, 2);
		if ((rc = av_frame_get_buffer(w->af, 0)) < 0)
			return averr(err, errcap, rc, "frame");
		av_audio_fifo_read(w->fifo, (void **)w->af->data, w->aenc->frame_size);
		w->af->pts = w->a_samples;
		w->a_samples += w->aenc->frame_size;
		if ((rc = avcodec_send_frame(w->aenc, w->af)) < 0)
			return averr(err, errcap, rc, "aac encode");
		while ((rc = avcodec_receive_packet(w->aenc, w->pkt)) == 0) {
			int64_t pts = w->last_adts + w->pkt->pts * 90000 / 48000;
			uint8_t fr[8192];
			size_t n = (size_t)w->pkt->size;
			if (n + 7 <= sizeof fr && w->started) {
				adts(fr, n);
				memcpy(fr + 7, w->pkt->data, n);
				av_packet_unref(w->pkt);
				if (w->ring)
					lsp_ring_write(w->ring, LSP_RING_AUDIO, 0, pts, pts, fr, n + 7);
				if ((rc = mux(w, w->aidx, fr, n + 7, pts, 0, err, errcap)) < 0)
					return rc;
				w->na++;
			} else
				av_packet_unref(w->pkt);
		}
		if (rc != AVERROR(EAGAIN))
			return averr(err, errcap, rc, "aac encode");
	}
	return 0;
}

int lsp_whip_audio(lsp_whip *w, const lsp_rtp_hdr *h, const uint8_t *payload, size_t len, char *err,
		   size_t errcap)
{
	int rc;
	int64_t pts = rtp_to90(w, 0, h->ts);
	if (!len)
		return 0;
	if (!w->a_samples && !av_audio_fifo_size(w->fifo))
		w->last_adts = pts; /* AAC clock starts at the first Opus packet */
	if ((rc = av_new_packet(w->pkt, (int)len)) < 0)
		return averr(err, errcap, rc, "packet");
	memcpy(w->pkt->data, payload, len);
	rc = avcodec_send_packet(w->odec, w->pkt);
	av_packet_unref(w->pkt);
	if (rc < 0) {
		w->ndrop++;
		return -EINVAL;
	}
	while (avcodec_receive_frame(w->odec, w->fr) == 0) {
		if (w->fr->format == AV_SAMPLE_FMT_FLTP && w->fr->ch_layout.nb_channels == 2 && w->fr->sample_rate == 48000)
			av_audio_fifo_write(w->fifo, (void **)w->fr->extended_data, w->fr->nb_samples);
		else
			w->ndrop++;
		av_frame_unref(w->fr);
	}
	return encode_aac(w, err, errcap);
}

void lsp_whip_counts(const lsp_whip *w, long long *video, long long *audio, long long *dropped)
{
	*video = w->nv;
	*audio = w->na;
	*dropped = w->ndrop;
}

void lsp_whip_close(lsp_whip *w)
{
	if (!w)
		return;
	if (w->oc && w->started && !w->epipe)
		av_write_trailer(w->oc);
	if (w->oc)
		avformat_free_context(w->oc);
	if (w->pb) {
		av_freep(&w->pb->buffer);
		avio_context_free(&w->pb);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->child > 0) /* the caller reaps it later (waitpid(-1, WNOHANG)) if it is still running */
		waitpid(w->child, NULL, WNOHANG);
	if (w->ring) {
		lsp_ring_end(w->ring);
		lsp_ring_close(w->ring);
		lsp_ring_unlink(w->ring_path);
	}
	avcodec_free_context(&w->odec);
	avcodec_free_context(&w->aenc);
	if (w->fifo)
		av_audio_fifo_free(w->fifo);
	av_packet_free(&w->pkt);
	av_frame_free(&w->fr);
	av_frame_free(&w->af);
	free(w->dp.buf);
	free(w);
}
