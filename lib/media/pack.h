/* pack.h — the LL-HLS packager: MPEG-TS in, CMAF parts/segments and
 * playlists out (the engine behind lsp-package).
 *
 *   TS ──libavformat mpegts──▶ per program ("rung"): H.264 + AAC
 *        └─▶ fmp4 (one muxed fragment per part) ──▶ <out>/<rung>/seg<N>.<P>.m4s
 *            parts of a segment concatenated     ──▶ <out>/<rung>/seg<N>.m4s
 *            m3u8 media playlist                 ──▶ <out>/<rung>/index.m3u8
 *            m3u8 multivariant playlist          ──▶ <out>/master.m3u8
 *
 * Rungs: one per AVProgram that has an H.264 or AAC stream, named after the
 * program's service_name; a single program whose name is not a rung-like
 * name ([a-z0-9_-]) is "src".  Video drives the cuts: a part ends before
 * the video frame that would take it past the part duration, a segment ends
 * at the key frame nearest the segment duration (audio-only rungs cut on
 * audio time).  EXT-X-TARGETDURATION is declared once, before a rung's
 * first playlist (written after its second key frame): the segment
 * duration, or the source's GOP with a tenth to spare when that is longer;
 * it never changes (docs/design.md, "LL-HLS to the letter").  Every file is published with lsp_fsio_publish(), media
 * before the playlist that names it.  Segments leave the playlist after
 * `window` segments and their files are removed LSP_PACK_GRACE segments
 * later.
 *
 * DVR (opts.dvr > 0): each rung also gets dvr.m3u8, a plain (non-LL) live
 * playlist listing the complete segments of the last `dvr` seconds, and
 * the channel gets master-dvr.m3u8 naming them.  Complete segments stay on
 * disk until they leave that window (plus LSP_PACK_GRACE segments); parts
 * are removed as without DVR.
 *
 * Numbering (opts.first_seq): segment numbers never repeat in a channel
 * directory across runs, because media is cached for an hour (lsp-edge,
 * relays, CDNs) under its name.  LSP_PACK_SEQ_CLOCK (the tool's default)
 * starts at wall-clock seconds / segment target, or one past the highest
 * number a previous run left on disk if that is higher; a number >= 0
 * starts there (canned-input tests).  Segment files a previous run left in
 * a rung directory are removed at open.
 *
 * Thumbnails (opts.thumb > 0): <out>/thumb.jpg, at most LSP_PACK_THUMB_WIDTH
 * pixels wide, from a key frame of the tallest video rung at most every
 * `thumb` seconds; a picture that fails is reported ("thumb failed") and
 * packaging goes on.
 *
 * The packager owns its input, muxers and buffers.  Functions return 0 (or
 * 1 for "more to do") or a negative error and fill err; they never print. */
#ifndef LSP_PACK_H
#define LSP_PACK_H
#include <stddef.h>

#include "core/event.h"

#define LSP_PACK_GRACE 2        /* segments kept on disk after leaving the playlist */
#define LSP_PACK_MAX_WINDOW 60
#define LSP_PACK_MAX_RUNGS 16
#define LSP_PACK_MAX_DVR (24 * 3600) /* seconds */
#define LSP_PACK_MAX_THUMB 3600    /* seconds between thumbnails, at most */
#define LSP_PACK_THUMB_WIDTH 480
#define LSP_PACK_SEQ_CLOCK (-1LL)

typedef struct {
	const char *input;      /* path or "-" (stdin) */
	const char *out;        /* channel directory */
	double part;            /* part target, seconds (default 0.2) */
	double segment;         /* segment target, seconds (default 1) */
	int window;             /* segments listed in a media playlist (default 6) */
	double dvr;             /* seconds kept for rewind in <rung>/dvr.m3u8 and
				 * master-dvr.m3u8; 0: no DVR playlists */
	long long first_seq;    /* number of the first segment, or
				 * LSP_PACK_SEQ_CLOCK (see Numbering above) */
	double thumb;           /* > 0: every `thumb` seconds (wall clock) decode a
				 * key frame of the tallest video rung and publish
				 * <out>/thumb.jpg (lib/media/thumb.h); 0: no thumbnails */
	/* optional: what happened (core/event.h), every event with "rung":
	 *   info  "rung": height codecs        a rung was found at open
	 *   info  "target": target gop         EXT-X-TARGETDURATION declared
	 *   warn  "long segment": seq duration target  a segment rounds over it
	 *                                      (no key frame in time)
	 *   info  "start"                      its first key frame: init.mp4 written
	 *   debug "part": seq part bytes       seg<seq>.<part>.m4s published
	 *   debug "segment": seq duration bytes  seg<seq>.m4s published
	 *   debug "bitrate": bps               bits/s of the segment just closed
	 *   info  "end": next_seq              the rung's playlist ended
	 *   info  "dropped": packets reason    packets with non-increasing dts (at the end)
	 *   info  "timeline resets": resets    input timeline resets repaired (at the end)
	 *   info  "thumb failed": code reason  a thumbnail failed; packaging went on */
	lsp_event_fn event;
	void *event_ctx;
	/* optional: polled while blocked on input; non-zero stops reading */
	volatile int *stop;
} lsp_pack_opts;

typedef struct lsp_pack lsp_pack;

/* Open the input, find the programs, create the output directory.
 * -ENOENT/-EIO etc. for input trouble, -EACCES/-ENOTDIR for output trouble,
 * -EINVAL when the input holds no H.264 or AAC stream. */
int lsp_pack_open(lsp_pack **out, const lsp_pack_opts *o, char *err, size_t errcap);

/* Read and package one input packet: 1 more to come, 0 end of input, < 0 error. */
int lsp_pack_step(lsp_pack *p, char *err, size_t errcap);

/* Close the last part and segment of every rung, end the playlists
 * (#EXT-X-ENDLIST) and write the final multivariant playlist. */
int lsp_pack_finish(lsp_pack *p, char *err, size_t errcap);

void lsp_pack_close(lsp_pack *p);

#endif
