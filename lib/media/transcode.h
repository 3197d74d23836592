/* transcode.h — the ABR ladder engine behind lsp-transcode.
 *
 *   MPEG-TS bytes (in_fd) ─▶ demux ─▶ decode video once ─┬▶ scale ─▶ H.264 encode ─▶ program "720p"
 *                              │                         │    └▶ scale ─▶ H.264 encode ─▶ program "480p"
 *                              │                         │         (cascade: each rung from the
 *                              │                         │          nearest taller encoded rung)
 *                              │                         └▶ (copy)                ─▶ program "src"
 *                              └─▶ decode audio ─▶ resample 48k stereo ─▶ AAC once ─▶ every program
 *                                                                     one multi-program TS (out_fd)
 *
 * Contract:
 *  - Output PTS = source PTS (a backwards or far-forward jump in the source
 *    clock is folded into one running offset, reported as an event).
 *  - Keyframes: an IDR is forced on the first frame whose PTS reaches the
 *    next multiple of the GOP (from the first frame), in every rung at once,
 *    so keyframe PTS lists are identical across rungs.  The "src" rung keeps
 *    the source's own keyframes.
 *  - Encoder threads (cfg->threads 0): the CPUs this process may use,
 *    shared among the encoded rungs by pixels (1..16 each).
 *  - The output is opened on the first decoded video frame: the ladder is
 *    fitted to that size (lsp_ladder_fit) and rung sizes never change after;
 *    a later source size change rebuilds the scalers only.
 *  - With cfg->realtime (a live input) it never falls behind real time
 *    (transcode_shed.c): it watches its speed, capacity and input lag over
 *    a few seconds and sheds load in a fixed order — a faster preset, then
 *    the top encoded rung, then the next (never "src", never the last
 *    encoded rung) — on grid keyframes, climbs back with hysteresis, and
 *    drops input up to the next source keyframe when the lag passes one GOP
 *    + 1 s.  A dropped rung's program simply stops receiving video after a
 *    whole GOP; a restored one restarts with an IDR on the grid.
 *  - The ladder policy (cfg->policy, changed live by
 *    lsp_transcode_set_policy; transcode_demand.c): on-demand (with
 *    cfg->idle_s > 0) a rung nobody has asked for in idle_s seconds stops
 *    the same way and restarts on the grid keyframe after a viewer asks;
 *    always: every rung runs; off: no encoded rung runs.  The passthrough
 *    "src" always runs; without one (no --passthrough, or a source that is
 *    not H.264) the cheapest encoded rung always runs instead.
 *  - While no encoded rung runs, the source is not decoded at all (nor its
 *    audio, when "src" copies the source's AAC): only "src" is copied.
 *    Decoding restarts at the next source keyframe once a rung is wanted
 *    again (the decoder flushed first), and that rung restarts on the
 *    grid keyframe as above: the grid is kept while nothing is decoded.
 *  - Damaged input never stops the engine: TS sync loss is counted and
 *    resynced, corrupt packets and decode errors are counted and skipped;
 *    after a video decode error the rest of that GOP is dropped (its frames
 *    would refer to the lost one) and decoding resumes at the next keyframe.
 *  - The engine owns every libav object it creates; the caller owns the two
 *    fds (never closed here).  It never prints: what an operator should see
 *    is reported to cfg->event, numbers to lsp_transcode_get_stats().
 *  - Functions return 0 (or 1 = "more") on success, a negative errno on
 *    failure with a message in err: -EINVAL bad configuration, -EPIPE the
 *    output was closed, -EIO other input/output failure, -ENODEV the forced
 *    encoder is unavailable, -ENOMSG the input has no video stream.
 *
 * Events (name: fields), info unless marked warn:
 *   "video encoder chosen": encoder          "NVENC not used": reason
 *   "rung": rung width height kbps           "output started": encoder rungs
 *                                              source_width source_height
 *                                              frame_rate frame_rate_from
 *   warn "NVENC failed on a rung; using libx264 for every rung": reason
 *   warn "audio decoder unavailable; output has no audio"
 *   warn "muxer option not applied": option
 *   warn "input TS lost sync (garbage bytes); resyncing": resyncs
 *   warn "input TS resynced": resyncs skipped_bytes
 *   warn "source timestamps jumped; continuing the output timeline": jump_ms offset_ms
 *   warn "source resolution changed; rungs keep their sizes": old_width old_height width height
 *   warn "frame dropped: missing or non-increasing timestamp": dropped
 *   warn "corrupt input packet": stream corrupt
 *   warn "video decode error (packet skipped)": reason decode_errors
 *   warn "video decode error (frame skipped)": decode_errors
 *   warn "audio decode error (packet skipped)": decode_errors
 *   warn "GOP dropped after a decode error": packets (video packets not
 *        decoded after a video decode error, up to the next keyframe)
 *   "rung ring": rung path
 *   warn "transcode shed": level step(preset|rung) preset rung speed capacity lag_ms
 *   "transcode restored": the same fields (level is the new, lower one)
 *   warn "input dropped": dropped_ms packets lag_ms drops
 *   warn "unsupported audio format; frame skipped": sample_rate channels
 *   "rung idle" / "rung wanted": rung idle_s policy
 *   "ladder policy": policy from (a live change; applied at the next grid keyframe)
 *   "decoding stopped": audio (1: the audio decoder stopped too) stops
 *   "decoding resumed": rung (the rung that asked) stopped_ms
 * Repeated warnings are reported the first 10 times, then every 100th. */
#ifndef LSP_TRANSCODE_H
#define LSP_TRANSCODE_H
#include <stddef.h>

#include "core/event.h"
#include "media/ladder.h"

enum { LSP_ENC_AUTO = 0, LSP_ENC_X264 = 1, LSP_ENC_NVENC = 2 };
/* The ladder policy; the values of a channel's setting (state/chanmeta.h). */
enum { LSP_LADDER_ON_DEMAND = 0, LSP_LADDER_ALWAYS = 1, LSP_LADDER_OFF = 2 };

typedef struct {
	int in_fd, out_fd;
	lsp_rung rungs[LSP_LADDER_MAX]; /* from lsp_ladder_parse; nrungs 0 = default ladder */
	int nrungs;
	int passthrough;      /* add a "src" rung */
	double gop_s;         /* keyframe interval, seconds (0.1 .. 10) */
	const char *preset;   /* x264 preset name; NULL = veryfast */
	int encoder;          /* LSP_ENC_* */
	int threads;          /* encoder threads per rung; 0 = auto */
	const char *ring_prefix; /* write rung R into ring "<prefix>-<R>" (media/ring.h); NULL none */
	int realtime;         /* live input: shed load and drop input to keep up (transcode_shed.c) */
	double idle_s;        /* > 0 with ring_prefix: a rung nobody asked for in this many
			       * seconds is not encoded (transcode_demand.c); 0 all always */
	int policy;           /* LSP_LADDER_*: on-demand (idle_s), always, off */
	lsp_event_fn event;   /* what happened (core/event.h); names below; may be NULL */
	void *event_ctx;
} lsp_transcode_config;

typedef struct {
	long long frames_in;     /* decoded source video frames */
	long long frames_out;    /* encoded video frames, all rungs */
	long long dropped;       /* source frames not encoded (bad timestamps, before start) */
	long long corrupt;       /* packets the demuxer flagged corrupt */
	long long decode_errors; /* packets or frames the decoders refused */
	long long resyncs;       /* TS sync losses recovered */
	long long skipped_bytes; /* bytes skipped while resyncing */
	long long audio_frames;  /* AAC frames encoded */
	double media_s;          /* source timeline covered, seconds */
	int shed_level;          /* 0 = as configured .. shed_max */
	int shed_max;
	double speed;            /* media / wall seconds over the last few seconds */
	double capacity;         /* media / busy seconds: the speed we could reach */
	double lag_s;            /* input lag behind wall clock, beyond the lowest seen */
	long long ring_refused;  /* ring entries refused (too large) */
	long long input_drops;   /* times input was dropped up to a keyframe */
	int rungs_idle;          /* encoded rungs nobody watches now */
	long long demand_starts; /* idle rungs started again for a viewer */
	int decoding;            /* 1 while the source video is decoded */
	long long decode_stops;  /* times decoding stopped (no encoded rung running) */
	int policy;              /* LSP_LADDER_* in force */
	char preset[32];         /* the preset in use now */
	char encoder[32];        /* "libx264" or "h264_nvenc" */
} lsp_transcode_stats;

typedef struct lsp_transcode lsp_transcode;

/* Open the input (probes the TS: up to 500 kB / 1 s), choose the encoder.
 * On failure *t is NULL. */
int lsp_transcode_open(lsp_transcode **t, const lsp_transcode_config *cfg, char *err, size_t errcap);

/* Move one input packet through the pipeline.  Returns 1 while input
 * remains, 0 once the input ended and the output was flushed and closed,
 * or a negative errno. */
int lsp_transcode_step(lsp_transcode *t, char *err, size_t errcap);

/* Stop early: flush encoders, write the trailer.  0 or a negative errno. */
int lsp_transcode_finish(lsp_transcode *t, char *err, size_t errcap);

void lsp_transcode_get_stats(const lsp_transcode *t, lsp_transcode_stats *st);

/* The transcoder's part of the channel's health report, one JSON object
 * into out: {"shed_level":N,"shed_max":M,"preset":"veryfast",
 * "capacity":C,"speed":S,"lag_ms":L,"input_drops":D,"rungs_idle":I,
 * "policy":"on-demand","decoding":1,
 * "encoding":["720p",...],"shed":["1080p",...],"idle":["480p",...]}
 * (encoding: the rungs encoded or copied now; shed / idle: the ones off
 * for load / for want of a viewer).  Before the output opens the three
 * lists are empty.  Returns the length, or -ENOSPC when cap is too small
 * (out then holds ""). */
int lsp_transcode_status_json(const lsp_transcode *t, char *out, size_t cap);

/* Change the ladder policy (LSP_LADDER_*) while running: rungs stop or
 * start on the next grid keyframe (a stopped decoder restarts at the next
 * source keyframe first).  Reported as "ladder policy".  -EINVAL for an
 * unknown policy, else 0. */
int lsp_transcode_set_policy(lsp_transcode *t, int policy);

/* "on-demand", "always", "off" (NULL for another value), and back (-1). */
const char *lsp_transcode_policy_name(int policy);
int lsp_transcode_policy_parse(const char *name);

/* Free everything; NULL is fine. */
void lsp_transcode_close(lsp_transcode *t);

#endif
