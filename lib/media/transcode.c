/* transcode.c — the ABR ladder engine (contract and diagram in transcode.h).
 *
 * One thread, one packet at a time: read a TS packet group from the
 * demuxer, fix its timestamps onto the running timeline, then
 *   video: decode → (first frame: fit ladder, open encoders and muxer)
 *          → decide keyframe → per rung scale + encode → write
 *   audio: decode → resample into a FIFO → AAC 1024-sample frames → write
 *          the same packet into every program
 *   src:   copy the packet into the "src" program.
 * Writes are unbuffered-ish (small AVIO buffer, flushed per packet): the
 * output is a live pipe. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "core/log.h"
#include "media/transcode.h"
#include "media/averr.h"

enum {
	IN_BUF = 64 * 1024,
	OUT_BUF = 188 * 64,       /* small: the muxer flushes every packet anyway */
	TS_PKT = 188,
	SYNC_GOOD = 3,            /* packets in a row before we call the stream "in sync" */
	AUDIO_RATE = 48000,
	AUDIO_MAX_FIFO = 2 * 48000,
	WARN_EVERY = 100,         /* after the first 10, report every 100th repeat */
};
#define JUMP_BACK_US (500 * 1000LL)
#define JUMP_FWD_US (5 * 1000 * 1000LL)

struct insync {               /* MPEG-TS sync tracker over the raw input bytes */
	int lost;             /* looking for a sync byte */
	int good;             /* sync bytes seen in a row */
	size_t off;           /* bytes from the current position to the next sync byte */
	long long resyncs, skipped;
};

struct rung {
	lsp_rung r;
	AVCodecContext *enc;      /* NULL for passthrough */
	struct SwsContext *sws;   /* NULL when the source needs no scaling */
	AVFrame *frame;           /* scaled picture */
	AVStream *vst, *ast;
	int copy_audio;           /* ast carries the source's audio packets */
};

struct lsp_transcode {
	lsp_transcode_config cfg;
	char preset[32];
	const AVCodec *venc;      /* chosen H.264 encoder */
	/* input */
	AVFormatContext *ic;
	AVIOContext *ipb;
	struct insync sync;
	int vidx, aidx;
	AVCodecContext *vdec, *adec;
	AVRational vtb, atb;      /* input stream time bases */
	int src_w, src_h, src_fmt;
	/* timeline */
	int64_t off_us;           /* added to every input timestamp */
	int64_t last_us[2];       /* last adjusted dts per (video, audio), AV_NOPTS_VALUE none */
	int64_t first_vpts, last_vpts, next_key;
	int64_t gop_ticks;
	/* audio */
	SwrContext *swr;
	AVAudioFifo *fifo;
	AVCodecContext *aenc;
	AVFrame *aframe;
	int64_t a_next;           /* pts (1/48000) of the first sample in the fifo */
	int64_t a_end;            /* pts just after the last encoded sample */
	int swr_rate, swr_fmt;
	AVChannelLayout swr_layout;
	/* output */
	AVFormatContext *oc;
	AVIOContext *opb;
	int out_errno;
	int opened, finished, has_src, src_started;
	struct rung rungs[LSP_LADDER_MAX];
	int nr;
	AVPacket *pkt, *opkt, *apkt; /* input, encoder output, per-rung copy */
	AVFrame *dframe;
	lsp_transcode_stats st;
};

/* ---- events ------------------------------------------------------------ */

static void event(lsp_transcode *t, int level, const char *msg, const char *sk, const char *sv,
		  const char *k0, long long v0, const char *k1, long long v1, const char *k2, long long v2)
{
	lsp_transcode_event ev;
	if (!t->cfg.on_event)
		return;
	memset(&ev, 0, sizeof ev);
	ev.level = level;
	ev.msg = msg;
	ev.skey[0] = sk;
	ev.sval[0] = sv;
	ev.ikey[0] = k0;
	ev.ival[0] = v0;
	ev.ikey[1] = k1;
	ev.ival[1] = v1;
	ev.ikey[2] = k2;
	ev.ival[2] = v2;
	t->cfg.on_event(t->cfg.ctx, &ev);
}

static int worth_reporting(long long n)
{
	return n <= 10 || n % WARN_EVERY == 0;
}

/* ---- input: fd reader with a TS sync tracker ----------------------------- */

static void sync_scan(lsp_transcode *t, const uint8_t *b, size_t n)
{
	struct insync *s = &t->sync;
	size_t i = 0;
	while (i < n) {
		if (s->lost) {
			const uint8_t *p = memchr(b + i, 0x47, n - i);
			if (!p) {
				s->skipped += (long long)(n - i);
				return;
			}
			s->skipped += p - (b + i);
			i = (size_t)(p - b);
			s->lost = 0;
			s->off = 0;
			s->good = 0;
		}
		if (s->off >= n - i) {
			s->off -= n - i;
			return;
		}
		i += s->off;
		if (b[i] == 0x47) {
			if (s->good < SYNC_GOOD && ++s->good == SYNC_GOOD && s->resyncs > 0)
				event(t, LSP_WARN, "input TS resynced", NULL, NULL, "resyncs", s->resyncs,
				      "skipped_bytes", s->skipped, NULL, 0);
			s->off = TS_PKT;
			continue;
		}
		if (s->good >= SYNC_GOOD) {
			s->resyncs++;
			event(t, LSP_WARN, "input TS lost sync (garbage bytes); resyncing", NULL, NULL,
			      "resyncs", s->resyncs, NULL, 0, NULL, 0);
		}
		s->lost = 1;
		s->good = 0;
		i++;
	}
}

static int read_in(void *opaque, uint8_t *buf, int size)
{
	lsp_transcode *t = opaque;
	ssize_t n;
	do
		n = read(t->cfg.in_fd, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	if (n == 0)
		return AVERROR_EOF;
	sync_scan(t, buf, (size_t)n);
	return (int)n;
}

static int write_out(void *opaque, uint8_t *buf, int size)
{
	lsp_transcode *t = opaque;
	int done = 0;
	while (done < size) {
		ssize_t n = write(t->cfg.out_fd, buf + done, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			t->out_errno = n < 0 ? errno : EIO;
			return AVERROR(t->out_errno);
		}
		done += (int)n;
	}
	return size;
}

static int out_fail(lsp_transcode *t, int rc, const char *what, char *err, size_t errcap)
{
	if (t->out_errno == EPIPE || rc == AVERROR(EPIPE)) {
		snprintf(err, errcap, "%s: output closed (broken pipe)", what);
		return -EPIPE;
	}
	if (t->out_errno) {
		snprintf(err, errcap, "%s: %s", what, strerror(t->out_errno));
		return -EIO;
	}
	lsp_averr(err, errcap, what, rc);
	return -EIO;
}

/* ---- encoder choice --------------------------------------------------------- */

static const char *nvenc_preset(const char *x264)
{
	static const char *const map[][2] = {
		{ "ultrafast", "p1" }, { "superfast", "p1" }, { "veryfast", "p2" }, { "faster", "p3" },
		{ "fast", "p3" },      { "medium", "p4" },    { "slow", "p5" },     { "slower", "p6" },
		{ "veryslow", "p7" },  { "placebo", "p7" },
	};
	size_t i;
	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i][0], x264) == 0)
			return map[i][1];
	return "p2";
}

static int is_nvenc(const AVCodec *c)
{
	return c && strcmp(c->name, "h264_nvenc") == 0;
}

/* Configure and open an H.264 encoder for w x h at kbps. */
static int open_venc(lsp_transcode *t, const AVCodec *codec, int w, int h, int kbps, AVRational tb,
		     AVRational fr, AVCodecContext **out)
{
	AVCodecContext *c = avcodec_alloc_context3(codec);
	AVDictionary *o = NULL;
	int fps = fr.num > 0 && fr.den > 0 ? (int)((fr.num + fr.den - 1) / fr.den) : 30;
	int gop = (int)(t->cfg.gop_s * fps + 0.5), rc;
	char params[128];
	if (!c)
		return AVERROR(ENOMEM);
	if (gop < 1)
		gop = 1;
	c->width = w;
	c->height = h;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = tb;
	c->framerate = fr.num > 0 ? fr : (AVRational){ 30, 1 };
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	c->bit_rate = (int64_t)kbps * 1000;
	c->rc_max_rate = c->bit_rate;
	c->rc_buffer_size = (int)(c->bit_rate > INT_MAX ? INT_MAX : c->bit_rate);
	c->gop_size = gop * 2 + 1; /* our forced IDRs come first; this is a safety net */
	c->max_b_frames = 0;
	c->thread_count = t->cfg.threads;
	/* slice threads: parallel within a frame, no frame of pipeline delay
	 * (frame threads would hold threads-1 frames inside the encoder) */
	c->thread_type = FF_THREAD_SLICE;
	if (is_nvenc(codec)) {
		av_dict_set(&o, "preset", nvenc_preset(t->preset), 0);
		av_dict_set(&o, "tune", "ll", 0);
		av_dict_set(&o, "rc", "cbr", 0);
		av_dict_set(&o, "zerolatency", "1", 0);
		av_dict_set(&o, "forced-idr", "1", 0);
		av_dict_set(&o, "no-scenecut", "1", 0);
	} else {
		av_dict_set(&o, "preset", t->preset, 0);
		av_dict_set(&o, "tune", "zerolatency", 0);
		av_dict_set(&o, "forced-idr", "1", 0);
		snprintf(params, sizeof params, "scenecut=0:open-gop=0:min-keyint=1:nal-hrd=none");
		av_dict_set(&o, "x264-params", params, 0);
	}
	rc = avcodec_open2(c, codec, &o);
	av_dict_free(&o);
	if (rc < 0) {
		avcodec_free_context(&c);
		return rc;
	}
	*out = c;
	return 0;
}

static int choose_encoder(lsp_transcode *t, char *err, size_t errcap)
{
	const AVCodec *nv = avcodec_find_encoder_by_name("h264_nvenc");
	const AVCodec *x = avcodec_find_encoder_by_name("libx264");
	AVCodecContext *c = NULL;
	char why[160] = "";
	int rc;
	if (t->cfg.encoder != LSP_ENC_X264) {
		if (!nv) {
			snprintf(why, sizeof why, "h264_nvenc not built into libavcodec");
		} else if (t->cfg.encoder == LSP_ENC_AUTO && access("/dev/nvidiactl", F_OK) != 0) {
			snprintf(why, sizeof why, "no NVIDIA device (/dev/nvidiactl)");
		} else if ((rc = open_venc(t, nv, 256, 144, 200, (AVRational){ 1, 90000 },
					   (AVRational){ 30, 1 }, &c)) < 0) {
			lsp_averr(why, sizeof why, "h264_nvenc did not open", rc);
		} else {
			avcodec_free_context(&c);
			t->venc = nv;
			event(t, LSP_INFO, "video encoder chosen", "encoder", "h264_nvenc", NULL, 0, NULL, 0,
			      NULL, 0);
			return 0;
		}
		if (t->cfg.encoder == LSP_ENC_NVENC) {
			snprintf(err, errcap, "%s", why);
			return -ENODEV;
		}
	}
	if (!x) {
		snprintf(err, errcap, "libx264 not built into libavcodec");
		return -ENODEV;
	}
	t->venc = x;
	event(t, LSP_INFO, "video encoder chosen", "encoder", "libx264", NULL, 0, NULL, 0, NULL, 0);
	if (why[0])
		event(t, LSP_INFO, "NVENC not used", "reason", why, NULL, 0, NULL, 0, NULL, 0);
	return 0;
}

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
	    cfg->threads < 0 || cfg->threads > 64) {
		snprintf(err, errcap, "bad configuration (gop 0.1..10 s, threads 0..64)");
		return -EINVAL;
	}
	if (!(t = calloc(1, sizeof *t))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	t->cfg = *cfg;
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
	if ((rc = choose_encoder(t, err, errcap)) < 0)
		goto fail;
	snprintf(t->st.encoder, sizeof t->st.encoder, "%s", t->venc->name);
	if (!(t->ic = avformat_alloc_context()) || !(buf = av_malloc(IN_BUF)) ||
	    !(t->ipb = avio_alloc_context(buf, IN_BUF, 0, t, read_in, NULL, NULL))) {
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
			event(t, LSP_WARN, "audio decoder unavailable; output has no audio", NULL, NULL, NULL, 0,
			      NULL, 0, NULL, 0);
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

/* ---- output (opened on the first decoded video frame) ------------------------ */

static int open_audio_encoder(lsp_transcode *t, char *err, size_t errcap)
{
	const AVCodec *aac = avcodec_find_encoder_by_name("aac");
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVCodecContext *c;
	int rc;
	if (!aac || !(c = avcodec_alloc_context3(aac))) {
		snprintf(err, errcap, "AAC encoder unavailable");
		return -ENODEV;
	}
	c->sample_rate = AUDIO_RATE;
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_copy(&c->ch_layout, &stereo);
	c->bit_rate = LSP_AUDIO_KBPS * 1000;
	c->time_base = (AVRational){ 1, AUDIO_RATE };
	if ((rc = avcodec_open2(c, aac, NULL)) < 0) {
		avcodec_free_context(&c);
		lsp_averr(err, errcap, "unable to open the AAC encoder", rc);
		return -EIO;
	}
	t->aenc = c;
	if (!t->fifo && !(t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, c->frame_size * 4))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static AVStream *add_stream(lsp_transcode *t, int prog, AVCodecContext *enc, const AVCodecParameters *par)
{
	AVStream *st = avformat_new_stream(t->oc, NULL);
	if (!st)
		return NULL;
	if (enc) {
		if (avcodec_parameters_from_context(st->codecpar, enc) < 0)
			return NULL;
		st->time_base = enc->time_base;
	} else {
		if (avcodec_parameters_copy(st->codecpar, par) < 0)
			return NULL;
		st->codecpar->codec_tag = 0;
	}
	av_program_add_stream_index(t->oc, prog, (unsigned)st->index);
	return st;
}

static void free_rungs(lsp_transcode *t)
{
	int i;
	for (i = 0; i < t->nr; i++) {
		avcodec_free_context(&t->rungs[i].enc);
		sws_freeContext(t->rungs[i].sws);
		av_frame_free(&t->rungs[i].frame);
		memset(&t->rungs[i], 0, sizeof t->rungs[i]);
	}
	t->nr = 0;
}

/* Open one encoder and one picture per encoded rung; on failure every rung
 * is freed again (t->nr = 0). */
static int open_encoders(lsp_transcode *t, const lsp_rung *lad, int n, AVRational fr, char *err, size_t errcap)
{
	int i, rc;
	for (i = 0; i < n; i++) {
		struct rung *r = &t->rungs[i];
		r->r = lad[i];
		t->nr = i + 1;
		if (r->r.passthrough)
			continue;
		if ((rc = open_venc(t, t->venc, r->r.width, r->r.height, r->r.kbps, t->vtb, fr, &r->enc)) < 0) {
			char what[64];
			snprintf(what, sizeof what, "unable to open %s for rung %s", t->venc->name, r->r.name);
			lsp_averr(err, errcap, what, rc);
			rc = -EIO;
			goto fail;
		}
		r->frame = av_frame_alloc();
		if (r->frame) {
			r->frame->format = AV_PIX_FMT_YUV420P;
			r->frame->width = r->r.width;
			r->frame->height = r->r.height;
		}
		if (!r->frame || av_frame_get_buffer(r->frame, 0) < 0) {
			snprintf(err, errcap, "out of memory");
			rc = -ENOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	free_rungs(t);
	return rc;
}

static int open_output(lsp_transcode *t, const AVFrame *f, char *err, size_t errcap)
{
	AVStream *vin = t->ic->streams[t->vidx];
	AVRational fr = av_guess_frame_rate(t->ic, vin, NULL);
	lsp_rung lad[LSP_LADDER_MAX];
	AVDictionary *o = NULL;
	uint8_t *buf = NULL;
	int n, i, rc, have_src = 0;
	if (t->cfg.nrungs > 0) {
		n = t->cfg.nrungs;
		memcpy(lad, t->cfg.rungs, sizeof lad[0] * (size_t)n);
	} else {
		n = lsp_ladder_default(lad, LSP_LADDER_MAX);
	}
	for (i = 0; i < n; i++)
		have_src |= lad[i].passthrough;
	if (t->cfg.passthrough && !have_src && n < LSP_LADDER_MAX) {
		memmove(lad + 1, lad, sizeof lad[0] * (size_t)n);
		memset(&lad[0], 0, sizeof lad[0]);
		snprintf(lad[0].name, sizeof lad[0].name, "src");
		lad[0].passthrough = 1;
		n++;
	}
	if ((n = lsp_ladder_fit(lad, n, f->width, f->height)) < 0) {
		snprintf(err, errcap, "source size %dx%d out of range", f->width, f->height);
		return -EIO;
	}
	if (t->aidx >= 0 && (rc = open_audio_encoder(t, err, errcap)) < 0)
		return rc;
	rc = avformat_alloc_output_context2(&t->oc, NULL, "mpegts", NULL);
	if (rc < 0 || !(buf = av_malloc(OUT_BUF)) ||
	    !(t->opb = avio_alloc_context(buf, OUT_BUF, 1, t, NULL, write_out, NULL))) {
		av_free(buf);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	t->oc->pb = t->opb;
	t->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
	t->oc->max_delay = 100000; /* PCR trails DTS by ~0.1 s: a decoder buffer, no output delay */
	if ((rc = open_encoders(t, lad, n, fr, err, errcap)) < 0) {
		const AVCodec *x = avcodec_find_encoder_by_name("libx264");
		/* NVENC probed fine but a rung did not open (e.g. the card's
		 * session limit): in auto mode, the whole ladder moves to x264 */
		if (rc != -EIO || !is_nvenc(t->venc) || t->cfg.encoder != LSP_ENC_AUTO || !x)
			return rc;
		event(t, LSP_WARN, "NVENC failed on a rung; using libx264 for every rung", "reason", err, NULL, 0,
		      NULL, 0, NULL, 0);
		t->venc = x;
		snprintf(t->st.encoder, sizeof t->st.encoder, "%s", x->name);
		if ((rc = open_encoders(t, lad, n, fr, err, errcap)) < 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		struct rung *r = &t->rungs[i];
		AVProgram *p;
		if (!(p = av_new_program(t->oc, i + 1))) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		av_dict_set(&p->metadata, "service_name", r->r.name, 0);
		av_dict_set(&p->metadata, "service_provider", "lsp", 0);
		r->vst = add_stream(t, i + 1, r->enc, vin->codecpar);
		if (!r->vst) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		if (r->r.passthrough) {
			r->vst->time_base = vin->time_base;
			t->has_src = 1;
		}
		if (t->aidx >= 0) {
			/* "src" copies the source audio when it is AAC already, so that
			 * every program carries AAC; otherwise it gets the shared AAC */
			r->copy_audio = r->r.passthrough && t->ic->streams[t->aidx]->codecpar->codec_id == AV_CODEC_ID_AAC;
			r->ast = r->copy_audio ? add_stream(t, i + 1, NULL, t->ic->streams[t->aidx]->codecpar)
					       : add_stream(t, i + 1, t->aenc, NULL);
			if (!r->ast) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			if (r->copy_audio)
				r->ast->time_base = t->atb;
		}
		event(t, LSP_INFO, "rung", "rung", r->r.name, "width", r->r.passthrough ? f->width : r->r.width,
		      "height", r->r.passthrough ? f->height : r->r.height, "kbps", r->r.kbps);
	}
	av_dict_set(&o, "mpegts_copyts", "1", 0);   /* output PTS = source PTS */
	av_dict_set(&o, "pes_payload_size", "0", 0); /* one audio frame per PES: no batching delay */
	av_dict_set(&o, "flush_packets", "1", 0);
	rc = avformat_write_header(t->oc, &o);
	if (rc >= 0 && av_dict_count(o) > 0) /* an option the muxer did not know */
		event(t, LSP_WARN, "muxer option not applied", "option", av_dict_get(o, "", NULL, AV_DICT_IGNORE_SUFFIX)->key,
		      NULL, 0, NULL, 0, NULL, 0);
	av_dict_free(&o);
	if (rc < 0)
		return out_fail(t, rc, "unable to write the output header", err, errcap);
	t->opened = 1;
	event(t, LSP_INFO, "output started", "encoder", t->venc->name, "rungs", n, "source_width", f->width,
	      "source_height", f->height);
	return 0;
}

/* ---- timeline ------------------------------------------------------------------ */

/* Shift pkt onto the running timeline; fold jumps into t->off_us. */
static void fix_timestamps(lsp_transcode *t, AVPacket *pkt, AVRational tb, int which)
{
	int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts, us, off, newest = AV_NOPTS_VALUE;
	int i;
	if (ts == AV_NOPTS_VALUE)
		return;
	us = av_rescale_q(ts, tb, AV_TIME_BASE_Q) + t->off_us;
	if (t->last_us[which] != AV_NOPTS_VALUE &&
	    (us < t->last_us[which] - JUMP_BACK_US || us > t->last_us[which] + JUMP_FWD_US)) {
		for (i = 0; i < 2; i++)
			if (t->last_us[i] != AV_NOPTS_VALUE && (newest == AV_NOPTS_VALUE || t->last_us[i] > newest))
				newest = t->last_us[i];
		t->off_us += newest + 40000 - us; /* continue one short frame after the newest */
		event(t, LSP_WARN, "source timestamps jumped; continuing the output timeline", NULL, NULL,
		      "jump_ms", (us - t->last_us[which]) / 1000, "offset_ms", t->off_us / 1000, NULL, 0);
		us = newest + 40000;
	}
	t->last_us[which] = us;
	if (t->off_us) {
		off = av_rescale_q(t->off_us, AV_TIME_BASE_Q, tb);
		if (pkt->pts != AV_NOPTS_VALUE)
			pkt->pts += off;
		if (pkt->dts != AV_NOPTS_VALUE)
			pkt->dts += off;
	}
}

/* ---- writing ---------------------------------------------------------------------- */

static int write_pkt(lsp_transcode *t, AVPacket *pkt, AVRational from, AVStream *st, char *err, size_t errcap)
{
	int rc;
	pkt->stream_index = st->index;
	av_packet_rescale_ts(pkt, from, st->time_base);
	pkt->pos = -1;
	if ((rc = av_write_frame(t->oc, pkt)) < 0 || t->out_errno)
		return out_fail(t, rc, "unable to write output", err, errcap);
	return 0;
}

/* Drain encoder packets of rung r into its video stream. */
static int drain_video(lsp_transcode *t, struct rung *r, char *err, size_t errcap)
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
		rc = write_pkt(t, t->opkt, r->enc->time_base, r->vst, err, errcap);
		av_packet_unref(t->opkt);
		if (rc < 0)
			return rc;
	}
}

static int drain_audio(lsp_transcode *t, char *err, size_t errcap)
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
		for (i = 0; i < t->nr; i++) {
			struct rung *r = &t->rungs[i];
			if (r->copy_audio || !r->ast)
				continue;
			if (av_packet_ref(t->apkt, t->opkt) < 0) {
				av_packet_unref(t->opkt);
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			rc = write_pkt(t, t->apkt, t->aenc->time_base, r->ast, err, errcap);
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

static int rebuild_scalers(lsp_transcode *t, const AVFrame *f, char *err, size_t errcap)
{
	int i;
	if (t->src_w && (t->src_w != f->width || t->src_h != f->height))
		event(t, LSP_WARN, "source resolution changed; rungs keep their sizes", NULL, NULL, "old_width",
		      t->src_w, "old_height", t->src_h, "width", f->width);
	t->src_w = f->width;
	t->src_h = f->height;
	t->src_fmt = f->format;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		sws_freeContext(r->sws);
		r->sws = NULL;
		if (r->r.passthrough || (f->width == r->r.width && f->height == r->r.height &&
					 f->format == AV_PIX_FMT_YUV420P))
			continue;
		r->sws = sws_getContext(f->width, f->height, f->format, r->r.width, r->r.height,
					AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
		if (!r->sws) {
			snprintf(err, errcap, "unable to scale %dx%d (format %d) to %dx%d", f->width, f->height,
				 f->format, r->r.width, r->r.height);
			return -EIO;
		}
	}
	return 0;
}

static int encode_video(lsp_transcode *t, AVFrame *f, char *err, size_t errcap)
{
	int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	int key = 0, i, rc;
	if (pts == AV_NOPTS_VALUE || (t->last_vpts != AV_NOPTS_VALUE && pts <= t->last_vpts)) {
		t->st.dropped++;
		if (worth_reporting(t->st.dropped))
			event(t, LSP_WARN, "frame dropped: missing or non-increasing timestamp", NULL, NULL,
			      "dropped", t->st.dropped, NULL, 0, NULL, 0);
		return 0;
	}
	if (!t->opened && (rc = open_output(t, f, err, errcap)) < 0)
		return rc;
	if (f->width != t->src_w || f->height != t->src_h || f->format != t->src_fmt)
		if ((rc = rebuild_scalers(t, f, err, errcap)) < 0)
			return rc;
	if (t->first_vpts == AV_NOPTS_VALUE)
		t->first_vpts = pts;
	t->last_vpts = pts;
	if (t->next_key == AV_NOPTS_VALUE || pts >= t->next_key) {
		key = 1;
		if (t->next_key == AV_NOPTS_VALUE)
			t->next_key = pts;
		while (t->next_key <= pts)
			t->next_key += t->gop_ticks;
	}
	f->pts = pts;
	f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	f->key_frame = key;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		AVFrame *in = f;
		if (r->r.passthrough)
			continue;
		if (r->sws) {
			if (av_frame_make_writable(r->frame) < 0) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, r->frame->data,
				  r->frame->linesize);
			av_frame_copy_props(r->frame, f);
			in = r->frame;
		}
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
		if ((rc = drain_video(t, r, err, errcap)) < 0)
			return rc;
	}
	return 0;
}

static int decode_video(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap)
{
	int rc = avcodec_send_packet(t->vdec, pkt);
	if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
		t->st.decode_errors++;
		if (worth_reporting(t->st.decode_errors)) {
			lsp_averr(err, errcap, "video decode error (packet skipped)", rc);
			event(t, LSP_WARN, err, NULL, NULL, "decode_errors", t->st.decode_errors, NULL, 0, NULL, 0);
			err[0] = 0;
		}
		return 0;
	}
	for (;;) {
		rc = avcodec_receive_frame(t->vdec, t->dframe);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			t->st.decode_errors++;
			if (worth_reporting(t->st.decode_errors))
				event(t, LSP_WARN, "video decode error (frame skipped)", NULL, NULL, "decode_errors",
				      t->st.decode_errors, NULL, 0, NULL, 0);
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

static int encode_audio_fifo(lsp_transcode *t, int final, char *err, size_t errcap)
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
		if ((rc = drain_audio(t, err, errcap)) < 0)
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
			event(t, LSP_WARN, "unsupported audio format; frame skipped", NULL, NULL, "sample_rate",
			      f->sample_rate, "channels", f->ch_layout.nb_channels, NULL, 0);
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
		rc = encode_audio_fifo(t, 0, err, errcap);
done:
	av_freep(&out[0]);
	av_freep(&out);
	return rc;
}

static int decode_audio(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap)
{
	int rc = avcodec_send_packet(t->adec, pkt);
	if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
		t->st.decode_errors++;
		if (worth_reporting(t->st.decode_errors))
			event(t, LSP_WARN, "audio decode error (packet skipped)", NULL, NULL, "decode_errors",
			      t->st.decode_errors, NULL, 0, NULL, 0);
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
		rc = write_pkt(t, t->opkt, video ? t->vtb : t->atb, st, err, errcap);
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
	if ((rc = decode_video(t, NULL, err, errcap)) < 0)
		return rc;
	if (t->adec && (rc = decode_audio(t, NULL, err, errcap)) < 0)
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
		if ((rc = drain_video(t, r, err, errcap)) < 0)
			return rc;
	}
	if (t->aenc) {
		if ((rc = encode_audio_fifo(t, 1, err, errcap)) < 0)
			return rc;
		avcodec_send_frame(t->aenc, NULL);
		if ((rc = drain_audio(t, err, errcap)) < 0)
			return rc;
	}
	if ((rc = av_write_trailer(t->oc)) < 0 || t->out_errno)
		return out_fail(t, rc, "unable to finish the output", err, errcap);
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
		if (worth_reporting(t->st.corrupt))
			event(t, LSP_WARN, "corrupt input packet", "stream", video ? "video" : "audio", "corrupt",
			      t->st.corrupt, NULL, 0, NULL, 0);
	}
	fix_timestamps(t, pkt, video ? t->vtb : t->atb, video ? 0 : 1);
	/* decode first: the packet that opens the output is copied too */
	rc = video ? decode_video(t, pkt, err, errcap) : decode_audio(t, pkt, err, errcap);
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
	st->media_s = t->first_vpts == AV_NOPTS_VALUE ? 0 : (t->last_vpts - t->first_vpts) * av_q2d(t->vtb);
}

void lsp_transcode_close(lsp_transcode *t)
{
	if (!t)
		return;
	free_rungs(t);
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
