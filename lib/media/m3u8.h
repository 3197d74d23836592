/* m3u8.h — LL-HLS playlist text (draft-pantos-hls-rfc8216bis) written into
 * a caller's bounded buffer.  No I/O, no allocation, no clock: the caller
 * passes the whole state and gets the text back.
 *
 * Media playlist layout (one rung):
 *
 *   #EXTM3U / VERSION / TARGETDURATION / SERVER-CONTROL / PART-INF /
 *   MEDIA-SEQUENCE / INDEPENDENT-SEGMENTS / MAP
 *   per complete segment:  PROGRAM-DATE-TIME, [EXT-X-PART…], EXTINF, segN.m4s
 *   in-progress segment:   PROGRAM-DATE-TIME, EXT-X-PART…, PRELOAD-HINT
 *   (EXT-X-DISCONTINUITY before a segment that starts after a gap; the
 *   gap itself as segments tagged EXT-X-GAP, so sequence numbers stay on
 *   the grid every rung shares)
 *   or, after the input ended, #EXT-X-ENDLIST
 *
 * File names follow the layout contract: segment N is "segN.m4s", its part
 * P is "segN.P.m4s", the init section is "init.mp4".
 *
 * Writers return the text length (excluding the NUL), or -ENOSPC if the
 * buffer was too small (its content is then unspecified), or -EINVAL. */
#ifndef LSP_M3U8_H
#define LSP_M3U8_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
	double dur;       /* seconds */
	int independent;  /* starts with a key frame */
} lsp_m3u8_part;

typedef struct {
	uint64_t seq;     /* media sequence number N */
	double dur;       /* seconds (EXTINF) */
	double pdt;       /* wall clock of its first sample, Unix seconds; <= 0: none */
	int nparts;
	int disc;         /* #EXT-X-DISCONTINUITY before it (a gap or a new timeline) */
	const lsp_m3u8_part *parts;
	int gap;          /* #EXT-X-GAP: no media (a rung that was not encoded);
			   * keeps its sequence number on the other rungs' grid */
} lsp_m3u8_seg;

/* EXT-X-RENDITION-REPORT: where another rendition's live edge is. */
typedef struct {
	const char *uri;        /* relative to this playlist, e.g. "../360p/index.m3u8" */
	uint64_t last_msn;      /* its last media sequence number (the segment of its last part) */
	int last_part;          /* its last part in that segment */
} lsp_m3u8_report;

typedef struct {
	int version;            /* EXT-X-VERSION (6: EXT-X-MAP in a media playlist) */
	int target;             /* EXT-X-TARGETDURATION, whole seconds */
	double part_target;     /* PART-TARGET, seconds */
	double part_hold_back;  /* PART-HOLD-BACK, seconds (>= 2x, advised 3x part_target) */
	double hold_back;       /* HOLD-BACK, seconds; <= 0: omitted */
	double can_skip_until;  /* CAN-SKIP-UNTIL (delta updates), seconds, at least
				 * 6 x target; <= 0: omitted */
	const lsp_m3u8_seg *segs; /* complete segments, oldest first, consecutive seq */
	int nsegs;
	int part_segs;          /* list the parts of this many newest complete segments */
	const lsp_m3u8_seg *cur;  /* in-progress segment (its parts so far); may be NULL */
	int ended;              /* input ended: #EXT-X-ENDLIST, no hint, no cur */
	const lsp_m3u8_report *reports; /* one per other rendition, after the hint */
	int nreports;
	uint64_t disc_seq;      /* EXT-X-DISCONTINUITY-SEQUENCE (omitted when 0): the
				 * discontinuities up to and including the first
				 * segment listed, whose own tag is not written */
} lsp_m3u8_media;

/* Write a media playlist.  The media sequence is segs[0].seq (or cur->seq
 * when there is no complete segment yet). */
int lsp_m3u8_write_media(char *buf, size_t cap, const lsp_m3u8_media *m);

typedef struct {
	const char *uri;        /* e.g. "720p/index.m3u8" */
	long bandwidth;         /* peak, bits/s */
	long avg_bandwidth;     /* bits/s; <= 0: omitted */
	int width, height;      /* 0: RESOLUTION omitted (audio only) */
	double fps;             /* <= 0: omitted */
	const char *codecs;     /* e.g. "avc1.64001f,mp4a.40.2" */
} lsp_m3u8_variant;

/* Write a multivariant playlist listing v[0..n) in the order given. */
int lsp_m3u8_write_master(char *buf, size_t cap, int version, const lsp_m3u8_variant *v, int n);

/* A plain (non-LL) media playlist: a recording (VOD/EVENT) or a long DVR
 * window.  Each item may start a discontinuity and/or name a new init
 * section (EXT-X-MAP) that applies from it on; the first item should name
 * one.  TARGETDURATION is the longest item rounded to the nearest second
 * (at least min_target). */
typedef struct {
	const char *uri;        /* e.g. "seg12.m4s" */
	double dur;             /* seconds (EXTINF) */
	double pdt;             /* wall clock of its first sample; <= 0: none */
	int disc;               /* #EXT-X-DISCONTINUITY before it */
	const char *map;        /* #EXT-X-MAP URI from this item on; NULL: unchanged */
	int gap;                /* #EXT-X-GAP: no media behind the URI */
} lsp_m3u8_item;

typedef struct {
	const char *type;       /* "VOD", "EVENT" or NULL (no PLAYLIST-TYPE) */
	int min_target;         /* smallest TARGETDURATION */
	uint64_t seq;           /* EXT-X-MEDIA-SEQUENCE */
	uint64_t disc_seq;      /* EXT-X-DISCONTINUITY-SEQUENCE (omitted when 0) */
	const lsp_m3u8_item *items;
	int n;
	int ended;              /* #EXT-X-ENDLIST */
} lsp_m3u8_list;

/* Write a plain media playlist (version 6). */
int lsp_m3u8_write_list(char *buf, size_t cap, const lsp_m3u8_list *l);

/* Format Unix time t (seconds, with milliseconds) as ISO 8601 UTC,
 * e.g. "2026-11-26T08:14:17.120Z".  Returns 0 or -ENOSPC. */
int lsp_m3u8_iso8601(char *buf, size_t cap, double t);

/* Segment number N of a file named "segN.m4s" (part < 0) or "segN.P.m4s"
 * (*part = P); -1 for any other name.  part may be NULL. */
long long lsp_m3u8_seg_number(const char *name, int *part);

#endif
