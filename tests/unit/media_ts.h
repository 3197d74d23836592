/* media_ts.h — a canned MPEG-TS made at test time for the media unit tests
 * (test_pack.c, test_record.c): a small H.264 picture (libx264, an IDR
 * every `gop` frames exactly, 30 frames a second) and, if asked, stereo
 * AAC at 48 kHz (a tone), muxed by libavformat into a file.  Header-only,
 * static: each test program that includes it gets its own copy.
 *
 *   ts_make(path, 90, 15, 1)   3 s, a key frame every 0.5 s, with audio
 *
 * Returns 0, or a negative libav/errno code (the test then fails). */
#ifndef LSP_TEST_MEDIA_TS_H
#define LSP_TEST_MEDIA_TS_H
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

enum { TS_W = 64, TS_H = 48, TS_FPS = 30, TS_RATE = 48000 };

/* Write every packet the encoder c has ready into stream st. */
static int ts_drain(AVFormatContext *oc, AVCodecContext *c, AVStream *st, AVPacket *pkt)
{
	int rc;
	while ((rc = avcodec_receive_packet(c, pkt)) == 0) {
		av_packet_rescale_ts(pkt, c->time_base, st->time_base);
		pkt->stream_index = st->index;
		if ((rc = av_interleaved_write_frame(oc, pkt)) < 0)
			return rc;
	}
	return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : rc;
}

static int ts_open_video(AVCodecContext **out, int gop)
{
	const AVCodec *x = avcodec_find_encoder_by_name("libx264");
	AVDictionary *o = NULL;
	AVCodecContext *c;
	char params[96];
	int rc;
	if (!x || !(c = avcodec_alloc_context3(x)))
		return AVERROR_ENCODER_NOT_FOUND;
	c->width = TS_W;
	c->height = TS_H;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = (AVRational){ 1, TS_FPS };
	c->framerate = (AVRational){ TS_FPS, 1 };
	c->gop_size = gop;
	c->max_b_frames = 0;
	c->bit_rate = 100000;
	c->thread_count = 1;
	snprintf(params, sizeof params, "keyint=%d:min-keyint=%d:scenecut=0", gop, gop);
	av_dict_set(&o, "preset", "ultrafast", 0);
	av_dict_set(&o, "tune", "zerolatency", 0);
	av_dict_set(&o, "x264-params", params, 0);
	rc = avcodec_open2(c, x, &o);
	av_dict_free(&o);
	if (rc < 0)
		avcodec_free_context(&c);
	*out = c;
	return rc;
}

static int ts_open_audio(AVCodecContext **out)
{
	const AVCodec *aac = avcodec_find_encoder_by_name("aac");
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVCodecContext *c;
	int rc;
	if (!aac || !(c = avcodec_alloc_context3(aac)))
		return AVERROR_ENCODER_NOT_FOUND;
	c->sample_rate = TS_RATE;
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->bit_rate = 64000;
	c->time_base = (AVRational){ 1, TS_RATE };
	if ((rc = av_channel_layout_copy(&c->ch_layout, &stereo)) < 0 || (rc = avcodec_open2(c, aac, NULL)) < 0)
		avcodec_free_context(&c);
	*out = c;
	return rc;
}

/* As ts_make, every time stamp moved by offset_us microseconds (the TS
 * keeps 33 bits of 90 kHz: an offset near 2^33 / 90000 s crosses a wrap). */
static int ts_make_at(const char *path, int frames, int gop, int audio, int64_t offset_us)
{
	AVFormatContext *oc = NULL;
	AVCodecContext *v = NULL, *a = NULL;
	AVStream *vs, *as = NULL;
	AVFrame *f = av_frame_alloc(), *af = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	int64_t samples = 0;
	int rc;

	if (!f || !af || !pkt) {
		rc = AVERROR(ENOMEM);
		goto done;
	}
	if ((rc = avformat_alloc_output_context2(&oc, NULL, "mpegts", path)) < 0 || (rc = ts_open_video(&v, gop)) < 0 ||
	    (audio && (rc = ts_open_audio(&a)) < 0))
		goto done;
	if (!(vs = avformat_new_stream(oc, NULL)) || (audio && !(as = avformat_new_stream(oc, NULL)))) {
		rc = AVERROR(ENOMEM);
		goto done;
	}
	vs->time_base = v->time_base;
	if ((rc = avcodec_parameters_from_context(vs->codecpar, v)) < 0 ||
	    (as && (rc = avcodec_parameters_from_context(as->codecpar, a)) < 0))
		goto done;
	if (as)
		as->time_base = a->time_base;
	oc->output_ts_offset = offset_us;
	if ((rc = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0 || (rc = avformat_write_header(oc, NULL)) < 0)
		goto done;
	f->format = AV_PIX_FMT_YUV420P;
	f->width = TS_W;
	f->height = TS_H;
	if ((rc = av_frame_get_buffer(f, 0)) < 0)
		goto done;
	for (int i = 0; i <= frames; i++) {
		if (i < frames) { /* a moving gradient */
			if ((rc = av_frame_make_writable(f)) < 0)
				goto done;
			for (int y = 0; y < TS_H; y++)
				memset(f->data[0] + y * f->linesize[0], (y * 4 + i * 3) & 0xff, TS_W);
			for (int y = 0; y < TS_H / 2; y++) {
				memset(f->data[1] + y * f->linesize[1], 128, TS_W / 2);
				memset(f->data[2] + y * f->linesize[2], (128 + i) & 0xff, TS_W / 2);
			}
			f->pts = i;
		}
		if ((rc = avcodec_send_frame(v, i < frames ? f : NULL)) < 0 || (rc = ts_drain(oc, v, vs, pkt)) < 0)
			goto done;
		/* audio up to the end of this picture */
		while (a && i < frames && samples * TS_FPS < (int64_t)(i + 1) * TS_RATE) {
			int n = a->frame_size;
			av_frame_unref(af);
			af->format = AV_SAMPLE_FMT_FLTP;
			af->sample_rate = TS_RATE;
			af->nb_samples = n;
			if ((rc = av_channel_layout_copy(&af->ch_layout, &a->ch_layout)) < 0 ||
			    (rc = av_frame_get_buffer(af, 0)) < 0)
				goto done;
			for (int c = 0; c < 2; c++)
				for (int s = 0; s < n; s++)
					((float *)af->data[c])[s] = 0.2f * (float)sin(2 * M_PI * 440.0 * (double)(samples + s) / TS_RATE);
			af->pts = samples;
			samples += n;
			if ((rc = avcodec_send_frame(a, af)) < 0 || (rc = ts_drain(oc, a, as, pkt)) < 0)
				goto done;
		}
	}
	if (a && ((rc = avcodec_send_frame(a, NULL)) < 0 || (rc = ts_drain(oc, a, as, pkt)) < 0))
		goto done;
	rc = av_write_trailer(oc);
done:
	if (oc && oc->pb)
		avio_closep(&oc->pb);
	avformat_free_context(oc);
	avcodec_free_context(&v);
	avcodec_free_context(&a);
	av_frame_free(&f);
	av_frame_free(&af);
	av_packet_free(&pkt);
	return rc;
}

static int ts_make(const char *path, int frames, int gop, int audio)
{
	return ts_make_at(path, frames, gop, audio, 0);
}

#endif
