/* pack_int.h — what the pieces of the LL-HLS packager share (internal
 * to lib/media/pack*.c; the contract is pack.h).
 *
 *   pack.c          types → input, rung setup, open; the cut of parts and
 *                   segments, timeline repair, thumbnails; step/finish/close
 *   pack_publish.c  publishing: media playlists, the multivariant
 *                   playlists, DVR playlists, and removing what left them
 *   pack_codec.c    codec strings (CODECS=) and a key frame's picture size
 *
 * The lsp_pack owns its rungs; a rung owns its muxer, buffers and history.
 * pack_publish.c writes files for a rung and never frees it. */
#ifndef LSP_PACK_INT_H
#define LSP_PACK_INT_H
#include <limits.h>
#include <stdint.h>

#include <libavformat/avformat.h>

#include "core/event.h"
#include "media/fmp4.h"
#include "media/m3u8.h"
#include "media/pack.h"
#include "media/thumb.h"

#define MAXPARTS 128
#define MAXHIST (LSP_PACK_MAX_WINDOW + LSP_PACK_GRACE + 1)
#define PL_CAP (64 * 1024)
#define LSP_PACK_GOP_WAIT 10.0      /* seconds: longest wait for a second key frame */

typedef struct {
	uint64_t seq;
	double dur, pdt;
	size_t bytes;
	int nparts;
	int disc;                   /* starts after a gap: EXT-X-DISCONTINUITY */
	int gap;                    /* stands for a stretch not encoded: EXT-X-GAP, no file */
	lsp_m3u8_part parts[MAXPARTS];
} seginfo;

typedef struct {
	uint64_t seq;
	double dur, pdt;
	int disc, gap;
} dvrseg;

typedef struct {
	int in_idx;
	AVRational tb;
	AVPacket *hold;
	int64_t last_dur;
	int64_t last_raw;           /* last input dts, AV_NOPTS_VALUE before the first */
	int64_t off;                /* added to input timestamps (timeline repair) */
	int epoch;
	const AVCodecParameters *par;
} track;

typedef struct {
	char name[64];
	char dir[PATH_MAX];
	track tr[2];
	int ntr, drive, video;      /* drive: index in tr of the stream that cuts */
	lsp_fmp4 *mux;
	int started, ended;
	int64_t part_start, seg_start, last_dts; /* drive time base */
	int part_indep;
	int await_key;              /* after a gap: video waits for a key frame */
	double resume_pdt;          /* after a gap: the date another rung gives the resumed segment (0: none) */
	int epoch;                  /* input timeline resets seen */
	int64_t epoch_off;          /* offset of the newest epoch, 1/90000 s */
	long long dropped;
	seginfo cur;
	uint8_t *segbuf;
	size_t seglen, segcap;
	seginfo *hist;              /* MAXHIST complete segments, oldest first */
	int nhist;
	int target;                 /* EXT-X-TARGETDURATION, fixed once declared */
	int target_fixed;           /* declared: playlists may be written */
	int64_t key_dts;            /* drive time of the last key frame; AV_NOPTS_VALUE: none yet */
	int64_t gop;                /* drive ticks between the last two key frames; 0: unknown */
	long long long_segs;        /* segments that came out over the target (no key frame) */
	long long gaps;             /* times the rung resumed after a gap (a shed or idle rung) */
	long long gap_dropped;      /* audio packets dropped while its video had not resumed */
	uint64_t disc_gone;         /* discontinuities of the segments no longer in hist */
	uint64_t dvr_disc_gone;     /* ... no longer in dvr */
	long peak_bps, published_peak;
	double tot_bytes, tot_dur;
	int width, height;
	double fps;                 /* the stream's own rate; > 120 or <= 0: not plausible */
	long long nframes;          /* driving frames seen, and their total duration (s), */
	double frames_dur;          /* for a rate when the stream states none plausible */
	char codecs[64];
	char *pl;                   /* playlist text buffer (PL_CAP) */
	dvrseg *dvr;                /* complete segments on disk for DVR, oldest first */
	int ndvr, capdvr, dvr_first; /* dvr[dvr_first..] are listed in dvr.m3u8 */
	double dvr_dur;             /* seconds listed */
	char *dvrpl;
	size_t dvrcap;
} rung;

struct lsp_pack {
	lsp_pack_opts o;
	AVFormatContext *ic;
	AVPacket *pkt;
	rung *r[LSP_PACK_MAX_RUNGS];
	int nr;
	int *map;                   /* input stream index -> rung*2+track, -1 */
	int nmap;
	double anchor;              /* wall clock minus media time (s), smallest seen */
	int have0;
	int64_t last90;             /* newest repaired decode time of any track, 1/90000 s */
	int have90;
	int master_written;
	lsp_thumb *thumb;           /* opened on the first key frame of the tallest rung */
	double next_thumb;          /* wall clock of the next thumbnail */
	uint64_t seq0;              /* number of every rung's first segment */
	int thumb_fails;
};

/* pack_publish.c.  Each returns 0 or a negative errno with err. */
/* Publish b as r->dir/name (atomically, core/fsio). */
int pack_publish(rung *r, const char *name, const void *b, size_t n, char *err, size_t errcap);
/* r's media playlist, index.m3u8 (the window, the open segment's parts). */
int pack_write_playlist(lsp_pack *p, rung *r, char *err, size_t errcap);
/* master.m3u8 (and master-dvr.m3u8 with DVR) over every rung with a rate. */
int pack_write_master(lsp_pack *p, char *err, size_t errcap);
/* pack_write_master() once every rung has a rate (or, three segments in,
 * every rung that started), again when a peak grew 10 % or a rung got one. */
int pack_maybe_master(lsp_pack *p, char *err, size_t errcap);
/* Remove the files of a segment that left the window (the whole segment
 * stays while DVR still lists it).  Never fails. */
void pack_remove_segment(rung *r, const seginfo *s);
/* r's dvr.m3u8. */
int pack_write_dvr(rung *r, char *err, size_t errcap);
/* A completed segment: list it for DVR, drop what left the DVR window. */
int pack_dvr_add(lsp_pack *p, rung *r, const seginfo *s, char *err, size_t errcap);
int pack_dvr_push(lsp_pack *p, rung *r, const seginfo *s, char *err, size_t errcap);

/* pack_codec.c.  The AAC sampling-frequency index of rate (-1: none). */
int pack_aac_freq_index(int rate);
/* The AAC audio object type for mp4a.40.<aot> (LC, 2, when unknown). */
int pack_aac_aot(const AVCodecParameters *par);
/* The video part of a rung's CODECS from the SPS in Annex B extradata, or
 * avcC/hvcC: "avc1.PPCCLL" for H.264, "hvc1.P.C.TL.B" for HEVC (id), else a
 * default of that codec. */
void pack_video_codec(enum AVCodecID id, const uint8_t *x, int n, char *dst, size_t cap);
/* Width and height into par from the SPS of a key frame, when it has one. */
void pack_video_size_from(AVCodecParameters *par, const AVPacket *pkt);

#endif
