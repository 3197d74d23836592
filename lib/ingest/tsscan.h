/* tsscan.h — a cheap look at an MPEG-TS byte stream passing through (SRT
 * ingest): finds the first program's PMT, its video and audio PIDs and
 * stream types, and counts video access units (PES starts), keyframes
 * (random_access_indicator) and the last PTS of each, for health events,
 * and notes B-frames (a video PES whose DTS differs from its PTS).
 *
 * Sans-I/O, no allocation: feed any byte run; packets split across feeds
 * are carried (188 bytes).  Bytes that are not on a 0x47 sync are skipped
 * and counted.  Sections longer than one packet are not reassembled (the
 * PAT/PMT of one program fit one packet). */
#ifndef LSP_TSSCAN_H
#define LSP_TSSCAN_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t carry[188];
	size_t clen;
	int pmt_pid, vpid, apid;  /* -1 until known */
	int vtype, atype;         /* PMT stream_type, 0 until known */
	long long packets, skipped, frames, keyframes;
	int64_t v_pts, a_pts;     /* 90 kHz, -1 until seen */
	int64_t kf_pts, kf_prev;  /* last two keyframe PTS, -1 until seen */
	int bframes;              /* 1 once a video PES had DTS != PTS */
} lsp_tsscan;

void lsp_tsscan_init(lsp_tsscan *t);
void lsp_tsscan_feed(lsp_tsscan *t, const uint8_t *p, size_t n);
/* "h264", "hevc", "aac", "mp3", … or NULL for an unknown / absent type */
const char *lsp_tsscan_codec(int stream_type);

#endif
