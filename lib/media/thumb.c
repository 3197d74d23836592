/* thumb.c — JPEG stills from H.264 key frames; see thumb.h. */
#include "media/thumb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "core/fsio.h"

struct lsp_thumb {
	AVCodecContext *dec;
	AVFrame *frame, *small;
	AVPacket *out;
	int max_width;
};

static int averr(char *err, size_t errcap, const char *what, int rc, int ret)
{
	char b[AV_ERROR_MAX_STRING_SIZE] = "";
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "%s: %s", what, b);
	return ret;
}

int lsp_thumb_open(lsp_thumb **out, const AVCodecParameters *par, int max_width, char *err, size_t errcap)
{
	const AVCodec *codec;
	lsp_thumb *t;
	int rc;

	*out = NULL;
	if (!par || par->codec_id != AV_CODEC_ID_H264 || max_width < 16 || max_width > LSP_THUMB_MAX_WIDTH) {
		snprintf(err, errcap, "thumbnails need an H.264 stream and a width of 16..%d", LSP_THUMB_MAX_WIDTH);
		return -EINVAL;
	}
	if (!(codec = avcodec_find_decoder(AV_CODEC_ID_H264))) {
		snprintf(err, errcap, "no H.264 decoder in libavcodec");
		return -EIO;
	}
	if (!(t = calloc(1, sizeof *t))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	t->max_width = max_width;
	if (!(t->dec = avcodec_alloc_context3(codec)) || !(t->frame = av_frame_alloc()) ||
	    !(t->small = av_frame_alloc()) || !(t->out = av_packet_alloc())) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = avcodec_parameters_to_context(t->dec, par)) < 0) {
		rc = averr(err, errcap, "decoder parameters", rc, -EIO);
		goto fail;
	}
	t->dec->thread_count = 1; /* one frame at a time: no frame threads to wait for */
	t->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	if ((rc = avcodec_open2(t->dec, codec, NULL)) < 0) {
		rc = averr(err, errcap, "open decoder", rc, -EIO);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	lsp_thumb_close(t);
	return rc;
}

/* Encode the picture in t->frame as JPEG into t->out. */
static int encode(lsp_thumb *t, char *err, size_t errcap)
{
	const AVCodec *mj = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *enc = NULL;
	struct SwsContext *sws = NULL;
	int w = t->frame->width, h = t->frame->height, rc;

	if (w <= 0 || h <= 0) {
		snprintf(err, errcap, "decoded picture has no size");
		return -EIO;
	}
	if (w > t->max_width) {
		h = (int)((long long)h * t->max_width / w);
		w = t->max_width;
	}
	w &= ~1;
	h &= ~1;
	if (w < 2 || h < 2) {
		snprintf(err, errcap, "picture too small");
		return -EIO;
	}
	if (!mj) {
		snprintf(err, errcap, "no mjpeg encoder in libavcodec");
		return -EIO;
	}
	av_frame_unref(t->small);
	t->small->format = AV_PIX_FMT_YUVJ420P;
	t->small->width = w;
	t->small->height = h;
	if ((rc = av_frame_get_buffer(t->small, 0)) < 0) {
		rc = averr(err, errcap, "picture buffer", rc, -ENOMEM);
		goto fail;
	}
	if (!(sws = sws_getContext(t->frame->width, t->frame->height, t->frame->format, w, h, AV_PIX_FMT_YUVJ420P,
				   SWS_BILINEAR, NULL, NULL, NULL))) {
		snprintf(err, errcap, "cannot scale from pixel format %d", t->frame->format);
		rc = -EIO;
		goto fail;
	}
	sws_scale(sws, (const uint8_t *const *)t->frame->data, t->frame->linesize, 0, t->frame->height,
		  t->small->data, t->small->linesize);
	if (!(enc = avcodec_alloc_context3(mj))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	enc->width = w;
	enc->height = h;
	enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
	enc->time_base = (AVRational){ 1, 25 };
	enc->flags |= AV_CODEC_FLAG_QSCALE;
	enc->global_quality = FF_QP2LAMBDA * 5; /* qscale 5: a clear still at a few kB */
	t->small->quality = enc->global_quality;
	t->small->pts = 0;
	if ((rc = avcodec_open2(enc, mj, NULL)) < 0) {
		rc = averr(err, errcap, "open mjpeg encoder", rc, -EIO);
		goto fail;
	}
	if ((rc = avcodec_send_frame(enc, t->small)) < 0 || (rc = avcodec_receive_packet(enc, t->out)) < 0) {
		rc = averr(err, errcap, "encode jpeg", rc, -EIO);
		goto fail;
	}
	rc = 0;
fail:
	avcodec_free_context(&enc);
	sws_freeContext(sws);
	return rc;
}

int lsp_thumb_write(lsp_thumb *t, const AVPacket *pkt, const char *dir, const char *name, char *err,
		    size_t errcap)
{
	int rc, got = 0;

	if ((rc = avcodec_send_packet(t->dec, pkt)) < 0 && rc != AVERROR_INVALIDDATA) {
		rc = averr(err, errcap, "decode key frame", rc, -EIO);
		goto done;
	}
	avcodec_send_packet(t->dec, NULL); /* drain: the key frame comes out now */
	while (avcodec_receive_frame(t->dec, t->frame) >= 0) { /* an error: got says what came out */
		if (!got) {
			got = 1;
			av_packet_unref(t->out);
			rc = encode(t, err, errcap);
			if (rc < 0) {
				av_frame_unref(t->frame);
				goto done;
			}
		}
		av_frame_unref(t->frame);
	}
	if (!got) {
		snprintf(err, errcap, "key frame gave no picture");
		rc = -EAGAIN;
		goto done;
	}
	rc = lsp_fsio_publish(dir, name, t->out->data, (size_t)t->out->size, 0, err, errcap);
done:
	avcodec_flush_buffers(t->dec); /* ready for the next, unrelated key frame */
	av_packet_unref(t->out);
	return rc;
}

void lsp_thumb_close(lsp_thumb *t)
{
	if (!t)
		return;
	avcodec_free_context(&t->dec);
	av_frame_free(&t->frame);
	av_frame_free(&t->small);
	av_packet_free(&t->out);
	free(t);
}
