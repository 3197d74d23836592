/* transcode_out.c — the ladder engine's output (see transcode_int.h for the
 * pieces): which H.264 encoder (NVENC when it opens, else libx264), and the
 * multi-program MPEG-TS opened on the first decoded video frame — the
 * ladder fitted to that frame, one encoder and one program per rung, the
 * shared AAC encoder.  Every object made here is owned by the
 * lsp_transcode and freed by transcode_free_rungs()/lsp_transcode_close(). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "media/averr.h"
#include "media/transcode_int.h"

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
		     AVRational fr, int threads, AVCodecContext **out)
{
	AVCodecContext *c = avcodec_alloc_context3(codec);
	AVDictionary *o = NULL;
	int rc;
	char params[128];
	if (!c)
		return AVERROR(ENOMEM);
	if (fr.num <= 0 || fr.den <= 0 || av_q2d(fr) > MAX_FPS)
		fr = (AVRational){ 30, 1 };
	c->width = w;
	c->height = h;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = tb;
	c->framerate = fr; /* the SPS timing and the level follow it: never a time base */
	c->level = lsp_ladder_h264_level(w, h, av_q2d(fr), kbps);
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	c->bit_rate = (int64_t)kbps * 1000;
	c->rc_max_rate = c->bit_rate;
	c->rc_buffer_size = (int)(c->bit_rate > INT_MAX ? INT_MAX : c->bit_rate);
	/* our forced IDRs make the grid; the encoder's own limit is a safety net
	 * that must never fire first, even when a VFR source runs faster than
	 * its measured rate: two grid intervals at the highest rate */
	c->gop_size = (int)(t->cfg.gop_s * MAX_FPS * 2) + 1;
	c->max_b_frames = 0;
	c->thread_count = threads;
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

int transcode_choose_encoder(lsp_transcode *t, char *err, size_t errcap)
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
					   (AVRational){ 30, 1 }, 1, &c)) < 0) {
			lsp_averr(why, sizeof why, "h264_nvenc did not open", rc);
		} else {
			avcodec_free_context(&c);
			t->venc = nv;
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "video encoder chosen", "encoder",
				       LSV_S("h264_nvenc"), NULL);
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
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "video encoder chosen", "encoder", LSV_S("libx264"),
		       NULL);
	if (why[0])
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "NVENC not used", "reason", LSV_S(why), NULL);
	return 0;
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

void transcode_free_rungs(lsp_transcode *t)
{
	int i;
	transcode_rings_close(t);
	for (i = 0; i < t->nr; i++) {
		avcodec_free_context(&t->rungs[i].enc);
		sws_freeContext(t->rungs[i].sws);
		av_frame_free(&t->rungs[i].frame);
		memset(&t->rungs[i], 0, sizeof t->rungs[i]);
	}
	t->nr = 0;
}

/* Encoder threads for rung r when --threads is 0: the machine's CPUs (the
 * ones this process may run on) shared out by pixels among the encoded
 * rungs, at least 1, at most 16 (slice threads: one slice each). */
static int rung_threads(const lsp_transcode *t, const struct rung *r)
{
	cpu_set_t set;
	double px = 0, mine = (double)r->r.width * r->r.height;
	int i, ncpu, n;
	if (t->cfg.threads > 0)
		return t->cfg.threads;
	ncpu = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	for (i = 0; i < t->nr; i++)
		if (!t->rungs[i].r.passthrough)
			px += (double)t->rungs[i].r.width * t->rungs[i].r.height;
	n = px > 0 ? (int)ceil(ncpu * mine / px) : ncpu;
	return n < 1 ? 1 : n > 16 ? 16 : n;
}

int transcode_open_rung_encoder(lsp_transcode *t, struct rung *r, char *err, size_t errcap)
{
	int rc = open_venc(t, t->venc, r->r.width, r->r.height, r->r.kbps, t->vtb, t->fr, rung_threads(t, r), &r->enc);
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof what, "unable to open %s for rung %s", t->venc->name, r->r.name);
		lsp_averr(err, errcap, what, rc);
		return -EIO;
	}
	return 0;
}

/* Open one encoder and one picture per encoded rung; on failure every rung
 * is freed again (t->nr = 0). */
static int open_encoders(lsp_transcode *t, const lsp_rung *lad, int n, char *err, size_t errcap)
{
	int i, rc;
	for (i = 0; i < n; i++) {
		struct rung *r = &t->rungs[i];
		r->r = lad[i];
		t->nr = i + 1;
		if (r->r.passthrough)
			continue;
		if ((rc = transcode_open_rung_encoder(t, r, err, errcap)) < 0)
			goto fail;
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
	transcode_free_rungs(t);
	return rc;
}

int transcode_open_output(lsp_transcode *t, const AVFrame *f, char *err, size_t errcap)
{
	AVStream *vin = t->ic->streams[t->vidx];
	AVRational fr = t->fr;
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
	if (vin->codecpar->codec_id != AV_CODEC_ID_H264) {
		/* "src" copies HEVC as it came (lsp-package writes it as hvc1, for
		 * the players that decode it); everyone else needs an H.264 rung
		 * beside it: a ladder of src alone gets the cheapest default one */
		int enc = 0;
		for (i = 0; i < n; i++)
			enc += !lad[i].passthrough;
		if (!enc && n < LSP_LADDER_MAX) {
			lsp_rung d[LSP_LADDER_MAX];
			int nd = lsp_ladder_default(d, LSP_LADDER_MAX);
			lad[n++] = d[nd - 1];
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "h264 rung added", "codec",
				       LSV_S(avcodec_get_name(vin->codecpar->codec_id)), "rung", LSV_S(lad[n - 1].name),
				       NULL);
		}
	}
	if ((n = lsp_ladder_fit(lad, n, f->width, f->height)) < 0) {
		snprintf(err, errcap, "source size %dx%d out of range", f->width, f->height);
		return -EIO;
	}
	if (t->aidx >= 0 && (rc = open_audio_encoder(t, err, errcap)) < 0)
		return rc;
	rc = avformat_alloc_output_context2(&t->oc, NULL, "mpegts", NULL);
	if (rc < 0 || !(buf = av_malloc(OUT_BUF)) ||
	    !(t->opb = avio_alloc_context(buf, OUT_BUF, 1, t, NULL, transcode_write_out, NULL))) {
		av_free(buf);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	t->oc->pb = t->opb;
	t->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
	t->oc->max_delay = 100000; /* PCR trails DTS by ~0.1 s: a decoder buffer, no output delay */
	if ((rc = open_encoders(t, lad, n, err, errcap)) < 0) {
		const AVCodec *x = avcodec_find_encoder_by_name("libx264");
		/* NVENC probed fine but a rung did not open (e.g. the card's
		 * session limit): in auto mode, the whole ladder moves to x264 */
		if (rc != -EIO || !is_nvenc(t->venc) || t->cfg.encoder != LSP_ENC_AUTO || !x)
			return rc;
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN,
			       "NVENC failed on a rung; using libx264 for every rung", "reason", LSV_S(err), NULL);
		t->venc = x;
		snprintf(t->st.encoder, sizeof t->st.encoder, "%s", x->name);
		if ((rc = open_encoders(t, lad, n, err, errcap)) < 0)
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
			t->src_h264 = vin->codecpar->codec_id == AV_CODEC_ID_H264;
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
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "rung", "rung", LSV_S(r->r.name), "width",
			       LSV_I(r->r.passthrough ? f->width : r->r.width), "height",
			       LSV_I(r->r.passthrough ? f->height : r->r.height), "kbps", LSV_I(r->r.kbps), "threads",
			       LSV_I(r->enc ? r->enc->thread_count : 0), NULL);
	}
	av_dict_set(&o, "mpegts_copyts", "1", 0);   /* output PTS = source PTS */
	av_dict_set(&o, "pes_payload_size", "0", 0); /* one audio frame per PES: no batching delay */
	av_dict_set(&o, "flush_packets", "1", 0);
	rc = avformat_write_header(t->oc, &o);
	if (rc >= 0 && av_dict_count(o) > 0) /* an option the muxer did not know */
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "muxer option not applied", "option",
			       LSV_S(av_dict_get(o, "", NULL, AV_DICT_IGNORE_SUFFIX)->key), NULL);
	av_dict_free(&o);
	if (rc < 0)
		return transcode_out_fail(t, rc, "unable to write the output header", err, errcap);
	t->opened = 1;
	t->opened_us = transcode_now_us();
	transcode_shed_plan(t);
	if ((rc = transcode_rings_open(t, err, errcap)) < 0)
		return rc;
	lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "output started", "encoder", LSV_S(t->venc->name),
		       "rungs", LSV_I(n), "source_width", LSV_I(f->width), "source_height", LSV_I(f->height),
		       "frame_rate", LSV_D(av_q2d(fr)), "frame_rate_from", LSV_S(t->fr_from ? t->fr_from : "default"),
		       NULL);
	return 0;
}
