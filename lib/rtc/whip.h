/* whip.h — a WHIP publisher's media, after SRTP: H.264 RTP depacketized
 * into access units, Opus decoded and re-encoded as AAC, both muxed into
 * MPEG-TS (libavformat) on the stdin of the channel pipeline command
 * (the same TS lsp-ingest produces for RTMP), and the video AUs and AAC
 * frames also appended to the channel's ring when asked.
 *
 * Timestamps: RTP time relative to each stream's first packet, both
 * anchored at the wall clock of the first packet, so audio and video
 * stay in step without sender reports.  The TS header is written once
 * the first keyframe arrives (audio before it is dropped).
 *
 * Owns the child process, the pipe, the muxer, codecs and ring.  Functions
 * return 0 or a negative code with a reason in err; lsp_whip_video returns
 * 1 when the depacketizer lost a unit and a keyframe should be requested. */
#ifndef LSP_WHIP_H
#define LSP_WHIP_H
#include <stddef.h>
#include <stdint.h>

#include "rtc/rtp.h"

typedef struct lsp_whip lsp_whip;

/* cmd: a /bin/sh command (already expanded) or NULL; ring_channel: the
 * channel whose ring to write, or NULL. */
int lsp_whip_open(lsp_whip **out, const char *cmd, const char *ring_channel, char *err, size_t errcap);
int lsp_whip_video(lsp_whip *w, const lsp_rtp_hdr *h, const uint8_t *payload, size_t len, char *err,
		   size_t errcap);
int lsp_whip_audio(lsp_whip *w, const lsp_rtp_hdr *h, const uint8_t *payload, size_t len, char *err,
		   size_t errcap);
/* Counters for stats: access units muxed, units dropped. */
void lsp_whip_counts(const lsp_whip *w, long long *video, long long *audio, long long *dropped);
/* Flush, close the pipe (the pipeline sees the end of its input); the
 * child is reaped now if it already ended, else by the caller's
 * waitpid(-1, …, WNOHANG) later. */
void lsp_whip_close(lsp_whip *w);

#endif
