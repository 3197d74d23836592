/* record_int.h — what the two pieces of the broadcast recorder share
 * (internal to lib/media/record*.c; the contract is record.h).
 *
 *   record.c      types → input (pick a program, open), the recording
 *                 (start, interleave, cut), finish, close
 *   record_dir.c  the broadcast on disk: its directory and lock, reopening
 *                 a recent one, the playlist and rec.state files
 *
 * The lsp_record owns everything; record_dir.c fills its id, dir, lock fd
 * and item list and never frees the record. */
#ifndef LSP_RECORD_INT_H
#define LSP_RECORD_INT_H
#include <limits.h>
#include <stdint.h>

#include <libavformat/avformat.h>

#include "core/event.h"
#include "media/fmp4.h"
#include "media/record.h"

#define PREQ 256                /* audio packets queued before the first key frame */
#define LOCK_WAIT_MS 2000
#define QMAX 1024               /* packets per track waiting for the other track */
#define QSPAN_S 3.0             /* release without the other track past this span */
#define STATE_MAX 1024

typedef struct {
	char uri[32];
	char map[32];           /* "" : same init section as before */
	double dur, pdt;
	int disc;
} item;

typedef struct {
	int in_idx;
	AVRational tb;
	AVPacket *hold;
	int64_t last_dur;
	int64_t last_dts;       /* shifted; AV_NOPTS_VALUE before the first */
	int64_t shift;          /* added to input timestamps, in tb */
	int64_t last_in, in_dur; /* last input dts and its step (timestamp inference) */
	AVCodecParameters *par;
} track;

struct lsp_record {
	lsp_record_opts o;
	AVFormatContext *ic;
	AVPacket *pkt;
	int *map;               /* input stream -> track, -1 */
	int nmap;
	track tr[2];
	int ntr, drive, video;
	AVPacket *preq[PREQ];   /* non-drive packets seen before the start */
	AVPacket *q[2][QMAX];   /* per track, input order, not yet processed */
	int nq[2];
	int npreq;
	lsp_fmp4 *mux;
	int started, finished, reopened, session, lockfd;
	int64_t seg_start, last_drive;  /* drive tb, shifted */
	int64_t sync;           /* pts of the first key frame, drive tb, input time */
	double anchor;          /* wall clock minus media time */
	int have_anchor;
	char chdir[PATH_MAX], dir[PATH_MAX], id[48], init_name[32];
	item *items;
	int nitems, capitems;
	uint64_t next_seq;
	double started_at, total_dur, sess_dur;
	long long bytes, dropped;
	int64_t next_dts90;     /* end of the recorded timeline, 1/90000 s */
	char *pl;
	size_t plcap;
};

/* record_dir.c.  Each returns 0 or a negative errno with err unless said. */
/* fsync a directory (after renames into it); 0 or -errno, no err. */
int record_sync_dir(const char *dir);
/* rec.state; ended: wall clock of the end, 0 while recording. */
int record_write_state(lsp_record *r, double ended, char *err, size_t errcap);
/* index.m3u8: PLAYLIST-TYPE EVENT while recording, VOD when final. */
int record_write_playlist(lsp_record *r, int final, char *err, size_t errcap);
int record_add_item(lsp_record *r, const item *x, char *err, size_t errcap);
/* Reopen the channel's newest broadcast if updated within the grace and
 * its lock is free: 1 (r->id, dir, lock, items, totals set), else 0. */
int record_try_reopen(lsp_record *r);
/* Create and lock a new broadcast directory named after the time. */
int record_new_broadcast(lsp_record *r, char *err, size_t errcap);

#endif
