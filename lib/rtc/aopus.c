/* aopus.c — AAC → Opus for WebRTC viewers; see aopus.h. */
#include "rtc/aopus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#define OPUS_FRAME 960

struct lsp_aopus {
	AVCodecContext *dec, *enc;
	SwrContext *swr;
	AVAudioFifo *fifo;
	AVPacket *pkt;
	AVFrame *in, *out;
	int in_rate, in_ch, anchored;
	int64_t next48;     /* Opus clock of the next packet */
	int64_t expect90;   /* input pts we expect next */
};

static int averr(char *err, size_t errcap, int rc, const char *what)
{
	char b[128];
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "%s: %s", what, b);
	return rc == AVERROR(ENOMEM) ? -ENOMEM : -EIO;
}

int lsp_aopus_open(lsp_aopus **out, int bitrate, char *err, size_t errcap)
{
	lsp_aopus *a = calloc(1, sizeof *a);
	const AVCodec *dc = avcodec_find_decoder(AV_CODEC_ID_AAC);
	const AVCodec *ec = avcodec_find_encoder_by_name("libopus");
	int rc;
	if (!a) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (!dc || !ec) {
		snprintf(err, errcap, "libavcodec lacks the aac decoder or the libopus encoder");
		rc = -ENOSYS;
		goto fail;
	}
	if (!(a->dec = avcodec_alloc_context3(dc)) || !(a->enc = avcodec_alloc_context3(ec)) ||
	    !(a->pkt = av_packet_alloc()) || !(a->in = av_frame_alloc()) || !(a->out = av_frame_alloc())) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = avcodec_open2(a->dec, dc, NULL)) < 0) {
		rc = averr(err, errcap, rc, "aac decoder");
		goto fail;
	}
	a->enc->sample_rate = 48000;
	a->enc->sample_fmt = AV_SAMPLE_FMT_S16;
	av_channel_layout_default(&a->enc->ch_layout, 2);
	a->enc->bit_rate = bitrate > 0 ? bitrate : 64000;
	a->enc->time_base = (AVRational){ 1, 48000 };
	av_opt_set(a->enc->priv_data, "application", "lowdelay", 0);
	av_opt_set_double(a->enc->priv_data, "frame_duration", 20, 0);
	if ((rc = avcodec_open2(a->enc, ec, NULL)) < 0) {
		rc = averr(err, errcap, rc, "libopus encoder");
		goto fail;
	}
	if (!(a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, 2, 4 * OPUS_FRAME))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	*out = a;
	return 0;
fail:
	lsp_aopus_close(a);
	return rc;
}

static int encode(lsp_aopus *a, lsp_aopus_fn cb, void *ctx, char *err, size_t errcap)
{
	int rc;
	while (av_audio_fifo_size(a->fifo) >= OPUS_FRAME) {
		av_frame_unref(a->out);
		a->out->nb_samples = OPUS_FRAME;
		a->out->format = AV_SAMPLE_FMT_S16;
		a->out->sample_rate = 48000;
		av_channel_layout_default(&a->out->ch_layout, 2);
		if ((rc = av_frame_get_buffer(a->out, 0)) < 0)
			return averr(err, errcap, rc, "frame");
		av_audio_fifo_read(a->fifo, (void **)a->out->data, OPUS_FRAME);
		a->out->pts = a->next48;
		a->next48 += OPUS_FRAME;
		if ((rc = avcodec_send_frame(a->enc, a->out)) < 0)
			return averr(err, errcap, rc, "opus encode");
		while ((rc = avcodec_receive_packet(a->enc, a->pkt)) == 0) {
			cb(ctx, a->pkt->data, (size_t)a->pkt->size, (uint32_t)a->pkt->pts);
			av_packet_unref(a->pkt);
		}
		if (rc != AVERROR(EAGAIN))
			return averr(err, errcap, rc, "opus encode");
	}
	return 0;
}

int lsp_aopus_put(lsp_aopus *a, const uint8_t *adts, size_t len, int64_t pts90, lsp_aopus_fn cb,
		  void *ctx, char *err, size_t errcap)
{
	int rc;
	if (len > 8192)
		return -EINVAL;
	if (!a->anchored || (pts90 != INT64_MIN && llabs(pts90 - a->expect90) > 18000)) {
		a->next48 = pts90 == INT64_MIN ? 0 : pts90 * 48000 / 90000;
		av_audio_fifo_reset(a->fifo);
		a->anchored = 1;
	}
	if ((rc = av_new_packet(a->pkt, (int)len)) < 0)
		return averr(err, errcap, rc, "packet");
	memcpy(a->pkt->data, adts, len);
	rc = avcodec_send_packet(a->dec, a->pkt);
	av_packet_unref(a->pkt);
	if (rc < 0)
		return averr(err, errcap, rc, "aac decode");
	while ((rc = avcodec_receive_frame(a->dec, a->in)) == 0) {
		int n;
		if (!a->swr || a->in->sample_rate != a->in_rate || a->in->ch_layout.nb_channels != a->in_ch) {
			AVChannelLayout st = AV_CHANNEL_LAYOUT_STEREO;
			swr_free(&a->swr);
			if ((rc = swr_alloc_set_opts2(&a->swr, &st, AV_SAMPLE_FMT_S16, 48000, &a->in->ch_layout,
						      a->in->format, a->in->sample_rate, 0, NULL)) < 0 ||
			    (rc = swr_init(a->swr)) < 0) {
				av_frame_unref(a->in);
				return averr(err, errcap, rc, "resampler");
			}
			a->in_rate = a->in->sample_rate;
			a->in_ch = a->in->ch_layout.nb_channels;
		}
		{
			uint8_t buf[4 * 2 * 8192];
			uint8_t *o[1] = { buf };
			n = swr_convert(a->swr, o, 8192, (const uint8_t **)a->in->extended_data, a->in->nb_samples);
			if (n > 0)
				av_audio_fifo_write(a->fifo, (void **)o, n);
		}
		if (a->in_rate)
			a->expect90 = pts90 + (int64_t)a->in->nb_samples * 90000 / a->in_rate;
		av_frame_unref(a->in);
		if ((rc = encode(a, cb, ctx, err, errcap)) < 0)
			return rc;
	}
	if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
		return averr(err, errcap, rc, "aac decode");
	return 0;
}

void lsp_aopus_close(lsp_aopus *a)
{
	if (!a)
		return;
	avcodec_free_context(&a->dec);
	avcodec_free_context(&a->enc);
	swr_free(&a->swr);
	if (a->fifo)
		av_audio_fifo_free(a->fifo);
	av_packet_free(&a->pkt);
	av_frame_free(&a->in);
	av_frame_free(&a->out);
	free(a);
}
