/* tsmux.h — FLV elementary data (H.264 or HEVC, AAC or Opus from RTMP) → MPEG-TS on a file
 * descriptor, through libavformat's mpegts muxer with a small custom
 * AVIOContext flushed after every packet (low latency for pipe readers).
 *
 * Stream set: configured by the sequence headers (lsp_tsmux_video_config,
 * lsp_tsmux_audio_config) seen before the first media frame; the TS header
 * is written at that first frame and later configs are ignored.  H.264
 * (stream_type 0x1b) and HEVC (0x24, with an AUD per access unit) are
 * written as Annex B with the parameter sets before each keyframe, AAC as
 * ADTS, Opus as libavformat writes it (registration descriptor "Opus",
 * the ID header as extradata, a control header per packet).
 * Timestamps are the publisher's (milliseconds); a DTS that would go
 * backwards is nudged forward by 1 ms and counted in nudged.
 *
 * The fd is not owned.  Functions return 0 or a negative code with a
 * reason in err: -EPIPE means the reader went away (end the publish
 * cleanly), -EINVAL bad media data (caller may drop the frame), -EIO other
 * muxer/I-O failure. */
#ifndef LSP_TSMUX_H
#define LSP_TSMUX_H
#include <stddef.h>
#include <stdint.h>

#include "ingest/flv.h"

typedef struct lsp_tsmux lsp_tsmux;

/* fd may be -1 and given later with lsp_tsmux_set_fd, before the first
 * frame is written (configs need no fd). */
int lsp_tsmux_open(lsp_tsmux **out, int fd, char *err, size_t errcap);
void lsp_tsmux_set_fd(lsp_tsmux *m, int fd);
/* codec: LSP_FLV_AVC (avcC) or LSP_FLV_HEVC (hvcC); LSP_FLV_AAC (an
 * AudioSpecificConfig) or LSP_FLV_OPUS (an ID header).  -ENOTSUP other. */
int lsp_tsmux_video_config(lsp_tsmux *m, uint32_t codec, const uint8_t *rec, size_t len, char *err, size_t errcap);
int lsp_tsmux_audio_config(lsp_tsmux *m, uint32_t codec, const uint8_t *rec, size_t len, char *err, size_t errcap);
/* Write one non-header frame (f from lsp_flv_parse) at publisher time ts_ms. */
int lsp_tsmux_write(lsp_tsmux *m, const lsp_flv_frame *f, int64_t ts_ms, char *err, size_t errcap);
/* 1 once the TS header has been written. */
int lsp_tsmux_started(const lsp_tsmux *m);
int lsp_tsmux_has_video(const lsp_tsmux *m);
int lsp_tsmux_has_audio(const lsp_tsmux *m);
long long lsp_tsmux_nudged(const lsp_tsmux *m);
/* "h264" or "hevc" / "aac" or "opus" as configured; NULL without. */
const char *lsp_tsmux_video_codec(const lsp_tsmux *m);
const char *lsp_tsmux_audio_codec(const lsp_tsmux *m);
/* Write the trailer (if started) and free.  NULL is a no-op returning 0. */
int lsp_tsmux_close(lsp_tsmux *m, char *err, size_t errcap);

#endif
