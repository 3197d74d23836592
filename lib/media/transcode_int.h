/* transcode_int.h — what the pieces of the ladder engine share (internal to
 * lib/media/transcode*.c; the contract is transcode.h).
 *
 *   transcode_io.c   I/O: the input reader and its TS sync tracker, the
 *                    output writer, the running timeline, one packet out
 *   transcode_out.c  the encoder choice and the output, opened on the first
 *                    decoded video frame (ladder, encoders, programs)
 *   transcode_av.c   features: decode, frame-rate measurement, the scaling
 *                    cascade, keyframe decision, encode (video per rung,
 *                    audio once for every program)
 *   transcode_ring.c each rung into its own shared-memory ring (optional)
 *   transcode_shed.c keeping up with a live input: speed, capacity and lag,
 *                    shedding and restoring, dropping input to a keyframe
 *   transcode_demand.c encoding only the rungs someone watches
 *   transcode.c      open, the loop (step/finish), stats, close
 *
 * One struct lsp_transcode owns every libav object; each piece works on
 * it and frees nothing it did not allocate except through
 * lsp_transcode_close(). */
#ifndef LSP_TRANSCODE_INT_H
#define LSP_TRANSCODE_INT_H
#include <stdint.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "core/event.h"
#include "media/ring.h"
#include "media/transcode.h"

enum {
	IN_BUF = 64 * 1024,
	OUT_BUF = 188 * 64,       /* small: the muxer flushes every packet anyway */
	TS_PKT = 188,
	SYNC_GOOD = 3,            /* packets in a row before we call the stream "in sync" */
	AUDIO_RATE = 48000,
	AUDIO_MAX_FIFO = 2 * 48000,
	WARN_EVERY = 100,         /* after the first 10, report every 100th repeat */
	SHED_WIN = 8,             /* speed samples kept (one a second) */
	PREROLL = 16,             /* frames held to measure the rate when the stream's is unusable */
	MAX_FPS = 120,
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
	int off;                  /* not encoded now: shed_off or idle (transcode_rung_update) */
	int shed_off;             /* shed until restored (transcode_shed.c) */
	int idle, want_idle;      /* nobody watches it (transcode_demand.c) */
	int from;                 /* cascade: scale from this rung's picture; -1 the source */
	AVCodecContext *enc;      /* NULL for passthrough */
	struct SwsContext *sws;   /* NULL when the source needs no scaling */
	AVFrame *frame;           /* scaled picture */
	AVStream *vst, *ast;
	int copy_audio;           /* ast carries the source's audio packets */
	lsp_ring *ring;           /* cfg->ring_prefix: this rung's shared-memory ring */
};

/* Speed watch and shedding (transcode_shed.c).  Times in microseconds of
 * CLOCK_MONOTONIC; media in seconds of source time. */
struct shed_sample {
	int64_t wall, busy, enc;
	double media;
};

struct shed {
	int level, max_level;
	int step[LSP_LADDER_MAX + 1]; /* level k (1..max) adds step[k]: -1 faster preset, else a rung to drop */
	int pending;                  /* level to apply at the next keyframe, -1 none */
	char preset0[32], fast[32];   /* configured preset and the shed one */
	struct shed_sample s[SHED_WIN];
	int ns;
	int64_t idle;                 /* blocked in read() */
	int64_t enc;                  /* in scale + encode, all rungs */
	int64_t changed, climbed;     /* when the level last changed / last went down */
	int backoff;                  /* climbs that had to be shed again soon */
	double speed, capacity;       /* over the window */
	double lag_base, lag;         /* input lag vs wall clock: lowest seen, now relative to it */
	int have_base, dropping;
	double drop_from;             /* media time where the current drop began */
	double skipped;               /* media seconds dropped so far (not work done) */
	long long drops, dropped_pkts;
};

static inline int64_t transcode_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
	AVRational fr;            /* encoder frame rate; 0/0 until decided */
	const char *fr_from;      /* "stream" or "measured" */
	AVFrame *pre[PREROLL];    /* decoded frames held while the rate is measured */
	int npre;
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
	int src_h264;           /* src is H.264 (every player's): no rung must run */
	int skip_gop;             /* after a video decode error: packets dropped up to the next keyframe */
	long long gop_dropped;    /* packets dropped since that error */
	struct rung rungs[LSP_LADDER_MAX];
	int nr;
	AVPacket *pkt, *opkt, *apkt; /* input, encoder output, per-rung copy */
	AVFrame *dframe;
	struct shed shed;
	int64_t opened_us;        /* when the output opened (CLOCK_MONOTONIC) */
	int64_t demand_polled;    /* last look at the want files; 0: look now */
	int policy;               /* LSP_LADDER_* in force */
	int dec_off;              /* no encoded rung runs: the source is not decoded */
	int64_t dec_off_us;       /* when decoding stopped */
	lsp_transcode_stats st;
};

/* Repeated warnings: the first 10, then every WARN_EVERY-th. */
static inline int transcode_worth_reporting(long long n)
{
	return n <= 10 || n % WARN_EVERY == 0;
}

/* transcode_io.c.  The AVIO callbacks (opaque is the lsp_transcode). */
int transcode_read_in(void *opaque, uint8_t *buf, int size);
int transcode_write_out(void *opaque, uint8_t *buf, int size);
/* An output failure as -EPIPE (the reader went away) or -EIO, with err. */
int transcode_out_fail(lsp_transcode *t, int rc, const char *what, char *err, size_t errcap);
/* Write pkt (time base from) into output stream st; 0 or transcode_out_fail(). */
int transcode_write_pkt(lsp_transcode *t, AVPacket *pkt, AVRational from, AVStream *st, char *err,
			size_t errcap);
/* Shift pkt onto the running timeline (which: 0 video, 1 audio). */
void transcode_fix_timestamps(lsp_transcode *t, AVPacket *pkt, AVRational tb, int which);

/* transcode_out.c */
int transcode_choose_encoder(lsp_transcode *t, char *err, size_t errcap);
int transcode_open_output(lsp_transcode *t, const AVFrame *f, char *err, size_t errcap);
void transcode_free_rungs(lsp_transcode *t);

/* Open r's encoder with the current preset. */
int transcode_open_rung_encoder(lsp_transcode *t, struct rung *r, char *err, size_t errcap);

/* transcode_ring.c */
int transcode_rings_open(lsp_transcode *t, char *err, size_t errcap);
void transcode_ring_video(lsp_transcode *t, struct rung *r, const AVPacket *pkt, AVRational tb);
void transcode_ring_audio(lsp_transcode *t, const AVPacket *pkt, AVRational tb);
void transcode_rings_close(lsp_transcode *t);

/* transcode_shed.c */
void transcode_shed_plan(lsp_transcode *t);           /* at output open: the shed steps */
int transcode_shed_input(lsp_transcode *t, const AVPacket *pkt, int video); /* 1: drop it */
void transcode_shed_tick(lsp_transcode *t);           /* once a packet: sample, decide */
int transcode_shed_apply(lsp_transcode *t, char *err, size_t errcap); /* at a grid keyframe */
/* Encode r or not (shed_off || idle): close or reopen its encoder, re-pick
 * the cascade.  At a grid keyframe only. */
int transcode_rung_update(lsp_transcode *t, struct rung *r, char *err, size_t errcap);

/* transcode_demand.c */
void transcode_demand_tick(lsp_transcode *t);          /* once a packet: poll the want files */
int transcode_demand_apply(lsp_transcode *t, char *err, size_t errcap); /* at a grid keyframe */
/* Once a packet, after the output opened: 1 decode it, 0 leave it
 * undecoded (no encoded rung needs the picture, nor the sound): decoding
 * stops while no encoded rung runs and resumes at a source keyframe once
 * one is wanted; while stopped the timeline and keyframe grid move on. */
int transcode_demand_decode(lsp_transcode *t, const AVPacket *pkt, int video);

/* transcode_av.c.  pkt NULL drains the decoder (end of input). */
int transcode_decode_video(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap);
int transcode_decode_audio(lsp_transcode *t, const AVPacket *pkt, char *err, size_t errcap);
int transcode_drain_video(lsp_transcode *t, struct rung *r, char *err, size_t errcap);
/* Pick each rung's scaling source and rebuild the scalers. */
int transcode_cascade(lsp_transcode *t, char *err, size_t errcap);
/* End of input: encode the frames still held for rate measurement. */
int transcode_flush_preroll(lsp_transcode *t, char *err, size_t errcap);
int transcode_drain_audio(lsp_transcode *t, char *err, size_t errcap);
/* Encode whole AAC frames from the FIFO (final: the partial rest too). */
int transcode_encode_audio_fifo(lsp_transcode *t, int final, char *err, size_t errcap);

#endif
