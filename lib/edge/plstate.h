/* plstate.h — what a live LL-HLS media playlist currently holds, and whether
 * a blocking playlist reload (_HLS_msn / _HLS_part) can be answered by it.
 *
 * Read-only over the caller's bytes.  The model (RFC 8216bis 6.2.5.2):
 *   S = EXT-X-MEDIA-SEQUENCE, C = EXTINF segments listed, P = EXT-X-PART
 *   lines after the last EXTINF (parts of the open segment S+C).
 * A request for segment N (and part M) is satisfied when N < S+C, or when
 * N == S+C, a part was asked for and M < P.  (Without a part, N == S+C
 * waits for segment N to complete.) */
#ifndef LSP_PLSTATE_H
#define LSP_PLSTATE_H
#include <stddef.h>

typedef struct {
	long long msn;        /* S: EXT-X-MEDIA-SEQUENCE (0 when absent) */
	long long segments;   /* C: EXTINF entries */
	long long parts;      /* P: EXT-X-PART entries after the last EXTINF */
	double target;        /* EXT-X-TARGETDURATION seconds (0 when absent) */
	double part_target;   /* PART-TARGET from EXT-X-PART-INF (0 when absent) */
	int endlist;          /* EXT-X-ENDLIST seen */
} lsp_plstate;

/* Parse a media playlist.  0, or -1 when it does not start with #EXTM3U. */
int lsp_plstate_parse(const char *buf, size_t len, lsp_plstate *st);

/* Can the playlist answer a blocking request for segment msn, part part
 * (part < 0: none)?  1 yes (answer now), 0 not yet (hold), -1 asks too far
 * ahead (answer 400).  A playlist with ENDLIST always answers (1). */
int lsp_plstate_ready(const lsp_plstate *st, long long msn, long long part);

/* A delta update (RFC 8216bis 6.2.5.1, _HLS_skip=YES or v2) of the media
 * playlist buf[0..len): the segments that end at least CAN-SKIP-UNTIL
 * seconds before the end of the playlist (its segments and the parts of
 * the open one) are replaced by one EXT-X-SKIP:SKIPPED-SEGMENTS=n, and
 * EXT-X-VERSION is raised to 9.  Written into out[0..cap) with a NUL.
 * Returns its length; 0 when there is nothing to skip (no CAN-SKIP-UNTIL,
 * an ended playlist, or no segment old enough: serve buf whole); -1 when
 * out is too small. */
long lsp_plstate_skip(const char *buf, size_t len, char *out, size_t cap);

#endif
