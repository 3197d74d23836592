/* ladder.h — the ABR ladder: which renditions ("rungs") lsp-transcode makes.
 *
 * A rung is a name ("720p"), an output size and a video bitrate.  The
 * ladder is parsed from an operator's spec ("720p,480p,360p" or
 * "1280x720@2800" items, or "src" for a passthrough copy of the source)
 * and then fitted to the source picture: rungs taller than the source are
 * dropped (never upscaled), widths follow the source aspect ratio, every
 * dimension is even.  Pure functions over caller-owned arrays: nothing is
 * allocated, nothing is printed. */
#ifndef LSP_LADDER_H
#define LSP_LADDER_H
#include <stddef.h>

enum { LSP_LADDER_MAX = 8, LSP_RUNG_NAME = 16, LSP_AUDIO_KBPS = 128 };

typedef struct {
	char name[LSP_RUNG_NAME]; /* "720p", "1280x720", "src" */
	int width;                /* 0 until fitted when only a height was given */
	int height;               /* 0 for the passthrough rung */
	int kbps;                 /* video bitrate; 0 for passthrough */
	int passthrough;          /* 1: copy the source packets, no encode */
} lsp_rung;

/* Parse a comma-separated spec into r[0..cap).  Items: "1080p" "720p"
 * "480p" "360p" "240p" (table sizes and bitrates), "NNNp" (any even height
 * 64..4320, bitrate interpolated), "WxH" or "WxH@KBPS", "src".  Returns the
 * number of rungs (>= 1), or -EINVAL with a message in err for an empty,
 * unknown, duplicated or out-of-range item or more than cap rungs.  Rungs
 * come back sorted tallest first (passthrough first of all). */
int lsp_ladder_parse(const char *spec, lsp_rung *r, int cap, char *err, size_t errcap);

/* The default ladder (1080p, 720p, 480p, 360p) into r; returns its count. */
int lsp_ladder_default(lsp_rung *r, int cap);

/* Fit the ladder to a src_w x src_h source: drop encoded rungs taller than
 * the source; if none is left, keep one rung of the source's own (even)
 * size named "<H>p"; give rungs given only a height the source's aspect
 * ratio (rungs given as WxH keep their size); round all sizes to even.
 * Passthrough rungs are kept as they are; a ladder of only "src" stays so.
 * r must have room for LSP_LADDER_MAX rungs.
 * Returns the new count (>= 1), or -EINVAL for a source size out of
 * range (below 2x2 or above 16384). */
int lsp_ladder_fit(lsp_rung *r, int n, int src_w, int src_h);

/* Video bitrate (kbps) for a height: the table value, or interpolated by
 * pixel count for sizes between table entries. */
int lsp_ladder_kbps(int width, int height);

/* The lowest H.264 level (level_idc: 30 = 3.0, 31 = 3.1, ...) whose
 * frame size, macroblock rate and High-profile bit rate limits admit a
 * width x height picture at fps frames per second and kbps; 52 (5.2) when
 * none does.  fps and kbps at or below 0 count as 30 and 0. */
int lsp_ladder_h264_level(int width, int height, double fps, int kbps);

/* A frame rate for the encoders from the mean spacing of n increasing
 * timestamps (seconds): snapped to 24000/1001, 24, 25, 30000/1001, 30,
 * 48, 50, 60000/1001 or 60 when within 4 %, else whole frames per second,
 * clamped to 1..120.  *num / *den; 30/1 when n < 2. */
void lsp_ladder_rate_from_times(const double *ts, int n, int *num, int *den);

#endif
