/* ringtee.h — MPEG-TS tee into a ring: bytes read from in_fd are written
 * unchanged to out_fd (when >= 0) as soon as they arrive, and the stream is
 * demuxed (libavformat mpegts, no parsers, no probing) into access units
 * appended to a lsp_ring: the first H.264 stream's PES payloads (Annex B;
 * keyframe = carries an IDR NAL) and the first AAC stream's ADTS frames
 * (one ring entry per ADTS frame).  Timestamps are 90 kHz.  An HEVC
 * stream (from an Enhanced RTMP publisher) cuts the TS ring's entries at
 * its IRAP frames the same way but goes into no access-unit ring.
 *
 * The tee never waits for the ring (the ring never blocks) and the ring
 * never waits for out_fd beyond the write itself.  Returns 0 at the end of
 * input, -EPIPE when out_fd's reader went away, another negative code on a
 * read or demux failure (err says which).  stats are filled as it goes.
 * With ring NULL it only copies in_fd to out_fd.  After a demux failure
 * the rest of the input is still copied (the tee outlives the demuxer). */
#ifndef LSP_RINGTEE_H
#define LSP_RINGTEE_H
#include <stddef.h>
#include <stdint.h>

#include "media/ring.h"

typedef struct {
	long long bytes, video, audio, keys, dropped; /* dropped: too large or no stream */
	long long ts_entries;                         /* entries written to the TS ring */
} lsp_ringtee_stats;

/* ring (access units) and ts (the TS ring) may each be NULL.  The TS ring
 * gets the input bytes themselves, as whole 188-byte packets cut at video
 * frame starts (the PES position the demuxer reports): an entry flagged
 * LSP_RING_KEY begins with the newest PAT and PMT seen and then the key
 * frame's first packet, so a reader that starts there (lsp_ringtee_follow)
 * hands a decoder a clean stream.  Nothing is written before the first key
 * frame (a writer restarted mid-stream starts clean).  Entries lag the
 * input by about one frame.  A stream without video is cut at audio PES
 * starts, each entry a start. */
int lsp_ringtee_run(int in_fd, int out_fd, lsp_ring *ring, lsp_ring *ts, lsp_ringtee_stats *st,
		    char *err, size_t errcap);

/* The same, calling tick(ctx, stats so far) about once a second while it
 * runs and once at the end (lsp-ring's metrics); tick may be NULL. */
typedef void (*lsp_ringtee_tick_fn)(void *ctx, const lsp_ringtee_stats *st);
int lsp_ringtee_run_tick(int in_fd, int out_fd, lsp_ring *ring, lsp_ring *ts, lsp_ringtee_stats *st,
			 lsp_ringtee_tick_fn tick, void *ctx, char *err, size_t errcap);

/* Reader of a TS ring (lsp-ring --follow): open path (waiting up to wait_ms
 * for a writer to create it), start at the newest key entry
 * (LSP_FOLLOW_NEWEST), the next one (LSP_FOLLOW_NEXT) or the oldest one
 * still held (LSP_FOLLOW_OLDEST: a fresh ring's first) and write entries to out_fd until the writer marks the
 * ring ended and everything is written (0), *stop is set (0) or out_fd's
 * reader goes away (-EPIPE).  An overrun (the reader fell behind) or a
 * restarted writer resumes at a key entry; a ring replaced under its name
 * is reopened.  *gaps counts those resumptions.  -ENOENT when no ring
 * appeared within wait_ms; other negative codes with err. */
enum { LSP_FOLLOW_NEWEST, LSP_FOLLOW_NEXT, LSP_FOLLOW_OLDEST };
int lsp_ringtee_follow(const char *path, int out_fd, int from, int wait_ms, const volatile int *stop,
		       long long *gaps, char *err, size_t errcap);

/* 1 if the Annex B access unit holds an IDR slice (NAL type 5). */
int lsp_h264_is_idr(const uint8_t *p, size_t len);

#endif
