/* ringtee.h — MPEG-TS tee into a ring: bytes read from in_fd are written
 * unchanged to out_fd (when >= 0) as soon as they arrive, and the stream is
 * demuxed (libavformat mpegts, no parsers, no probing) into access units
 * appended to a lsp_ring: the first H.264 stream's PES payloads (Annex B;
 * keyframe = carries an IDR NAL) and the first AAC stream's ADTS frames
 * (one ring entry per ADTS frame).  Timestamps are 90 kHz.
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
} lsp_ringtee_stats;

int lsp_ringtee_run(int in_fd, int out_fd, lsp_ring *ring, lsp_ringtee_stats *st, char *err,
		    size_t errcap);

/* 1 if the Annex B access unit holds an IDR slice (NAL type 5). */
int lsp_h264_is_idr(const uint8_t *p, size_t len);

#endif
