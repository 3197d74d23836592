/* record.h — the broadcast recorder behind lsp-record: MPEG-TS in, a
 * crash-safe CMAF recording out.
 *
 *   TS ──libavformat mpegts──▶ one program (H.264 + AAC)
 *      └─▶ fmp4 (lib/media/fmp4.c, one fragment per segment, cut at key frames)
 *          ──▶ <root>/<channel>/<id>/seg<N>.m4s     (fsync, rename)
 *          ──▶ <root>/<channel>/<id>/index.m3u8     (fsync, rename)
 *          ──▶ <root>/<channel>/<id>/rec.state      (fsync, rename)
 *
 * <id> is the UTC start time, e.g. 20261126T083000Z ("-2", "-3" … on a
 * clash).  The playlist on disk is at every moment a complete playlist of
 * what is recorded so far, ended by #EXT-X-ENDLIST: PLAYLIST-TYPE EVENT
 * while recording, VOD once lsp_record_finish() ran.  A kill or a power cut
 * therefore loses at most the segment being filled, and what is on disk
 * plays as it is.
 *
 * Reconnects: when the first key frame arrives, the newest broadcast of the
 * channel is reopened if it was last updated less than `grace` seconds ago
 * (finished or interrupted): the new session is appended after an
 * #EXT-X-DISCONTINUITY with its own init section (init-<k>.mp4), and its
 * timestamps are shifted to continue the recording's timeline, so players
 * and ffprobe see one broadcast with monotonic time.  A recorder holds an
 * flock on <id>/.lock while it writes; a new recorder waits up to 2 s for
 * the previous one to finish before deciding.
 *
 * rec.state holds "key value" lines (channel, id, started, updated, ended,
 * sessions, segments, duration, bytes, next_dts) read with lsp_fsio_kv_get() by lib/state/vod.c.
 *
 * The recorder owns its input, muxer and buffers.  Functions return 0 (or
 * 1 for "more to do") or a negative errno-style code and fill err; they
 * never print or exit. */
#ifndef LSP_RECORD_H
#define LSP_RECORD_H
#include <stddef.h>

#include "core/event.h"

typedef struct {
	const char *input;      /* path or "-" (stdin) */
	const char *root;       /* recordings root ($LSP_DATA_DIR/vod) */
	const char *channel;    /* [a-z0-9_-], see lsp_name_valid */
	const char *program;    /* service_name of the program to record; NULL: the first with video */
	double segment;         /* segment target, seconds (default 4) */
	int grace;              /* seconds; 0 never reopens */
	int nosync;             /* skip fsync (tests, tmpfs) */
	/* optional: what happened (core/event.h), every event with "id":
	 *   info  "started" / "reopened": session dir   the first key frame: a new
	 *                                  broadcast, or a recent one continued
	 *   debug "segment": seq duration bytes         seg<seq>.m4s is durable
	 *   info  "dropped": packets reason             non-increasing dts (at the end)
	 *   info  "finished": segments duration         the VOD playlist is final */
	lsp_event_fn event;
	void *event_ctx;
	volatile int *stop;     /* polled while blocked on input */
} lsp_record_opts;

typedef struct lsp_record lsp_record;

/* Open and probe the input.  No directory is created before the first
 * key frame.  -EIO input trouble, -EINVAL no H.264/AAC program. */
int lsp_record_open(lsp_record **out, const lsp_record_opts *o, char *err, size_t errcap);

/* Read and record one packet: 1 more, 0 end of input, < 0 error. */
int lsp_record_step(lsp_record *r, char *err, size_t errcap);

/* Write the last segment and the final VOD playlist. */
int lsp_record_finish(lsp_record *r, char *err, size_t errcap);

/* The broadcast id ("" before the first key frame), whether it was
 * reopened, and the seconds recorded by this session. */
const char *lsp_record_id(const lsp_record *r);
const char *lsp_record_dir(const lsp_record *r);
int lsp_record_reopened(const lsp_record *r);
double lsp_record_seconds(const lsp_record *r);

void lsp_record_close(lsp_record *r);

#endif
