/* record.c — the broadcast recorder; see record.h for the contract.
 *
 *   open: probe TS, pick one program (video + audio tracks)
 *   step: packet ─▶ timestamps fixed ─▶ per-track queue ─▶ released in
 *         decode-time order across tracks (the TS's audio lags its video)
 *       ─▶ [before start: keep audio, wait for a key frame]
 *                   first key frame ─▶ pick/reopen <id>, lock, init section
 *                   held frame ──(duration = next dts - held dts)──▶ fmp4
 *                   key frame past the segment target ─▶ cut:
 *                        seg<N>.m4s ─▶ index.m3u8 ─▶ rec.state ─▶ fsync(dir)
 *   finish: flush held frames, last segment, PLAYLIST-TYPE:VOD
 *
 * Ordering is what makes it crash-safe: a segment is durable before the
 * playlist names it, the playlist before the state counts it. */
#include "media/record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <libavformat/avformat.h>

#include "media/fmp4.h"
#include "core/fsio.h"
#include "media/tsin.h"
#include "core/key.h"
#include "media/m3u8.h"
#include "media/averr.h"
#include "core/clock.h"

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


/* dst = a "/" b; -ENAMETOOLONG when it does not fit. */
static int join(char *dst, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la + 1 + lb + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(dst, a, la);
	dst[la] = '/';
	memcpy(dst + la + 1, b, lb);
	dst[la + 1 + lb] = 0;
	return 0;
}

static const AVRational q90 = { 1, 90000 };

static void note(lsp_record *r, const char *what, long long n, const char *d)
{
	if (r->o.note)
		r->o.note(r->o.note_ctx, what, r->id, n, d);
}

static int interrupted(void *opaque)
{
	lsp_record *r = opaque;
	return r->o.stop && *r->o.stop;
}

/* ---- state file ------------------------------------------------------ */

static double state_num(const char *dir, const char *key)
{
	char v[64];
	return lsp_fsio_kv_get(dir, "rec.state", key, v, sizeof v) == 0 ? strtod(v, NULL) : 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int write_state(lsp_record *r, double ended, char *err, size_t errcap)
{
	char s[STATE_MAX];
	int n = snprintf(s, sizeof s,
			 "channel %s\nid %s\nstarted %.3f\nupdated %.3f\nended %.3f\nsessions %d\n"
			 "segments %llu\nduration %.3f\nbytes %lld\nnext_dts %lld\n",
			 r->o.channel, r->id, r->started_at, lsp_clock_wall_s(), ended, r->session + 1,
			 (unsigned long long)r->next_seq, r->total_dur, r->bytes, (long long)r->next_dts90);
	if (n < 0 || n >= (int)sizeof s) {
		snprintf(err, errcap, "state too long");
		return -ENOSPC;
	}
	return lsp_fsio_publish(r->dir, "rec.state", s, (size_t)n, r->o.nosync ? 0 : LSP_FSIO_SYNC, err, errcap);
}

/* ---- playlist -------------------------------------------------------- */

static int write_playlist(lsp_record *r, int final, char *err, size_t errcap)
{
	lsp_m3u8_item *it = NULL;
	int len = -ENOSPC, rc;
	if (!(it = calloc((size_t)(r->nitems ? r->nitems : 1), sizeof *it))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < r->nitems; i++)
		it[i] = (lsp_m3u8_item){ r->items[i].uri, r->items[i].dur, r->items[i].pdt, r->items[i].disc,
					 r->items[i].map[0] ? r->items[i].map : NULL };
	lsp_m3u8_list l = { final ? "VOD" : "EVENT", 1, 0, 0, it, r->nitems, 1 };
	for (size_t per = 160; per <= 4096; per *= 2) { /* bytes an item: grow until it fits */
		size_t want = 512 + (size_t)r->nitems * per;
		if (r->plcap < want) {
			char *nb = realloc(r->pl, want);
			if (!nb) {
				free(it);
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			r->pl = nb;
			r->plcap = want;
		}
		if ((len = lsp_m3u8_write_list(r->pl, r->plcap, &l)) != -ENOSPC)
			break;
	}
	free(it);
	if (len < 0) {
		snprintf(err, errcap, "playlist: %s", strerror(-len));
		return len;
	}
	rc = lsp_fsio_publish(r->dir, "index.m3u8", r->pl, (size_t)len, r->o.nosync ? 0 : LSP_FSIO_SYNC, err,
			      errcap);
	return rc;
}

static int add_item(lsp_record *r, const item *x, char *err, size_t errcap)
{
	if (r->nitems == r->capitems) {
		int nc = r->capitems ? r->capitems * 2 : 256;
		item *ni = realloc(r->items, sizeof *ni * (size_t)nc);
		if (!ni) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		r->items = ni;
		r->capitems = nc;
	}
	r->items[r->nitems++] = *x;
	return 0;
}

static double parse_pdt(const char *s)
{
	struct tm tm;
	const char *e;
	char *end;
	double sec;
	memset(&tm, 0, sizeof tm);
	if (!(e = strptime(s, "%Y-%m-%dT%H:%M:", &tm)))
		return 0;
	sec = strtod(e, &end);
	if (end == e || sec < 0 || sec >= 61)
		return 0;
	return (double)timegm(&tm) + sec;
}

/* Rebuild the item list from an existing recording's playlist. */
static int load_playlist(lsp_record *r, char *err, size_t errcap)
{
	char path[PATH_MAX], line[512];
	item x;
	FILE *f;
	int rc = 0, have = 0;
	memset(&x, 0, sizeof x);
	join(path, sizeof path, r->dir, "index.m3u8");
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errcap, "%.200s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!strcmp(line, "#EXT-X-DISCONTINUITY")) {
			x.disc = 1;
		} else if (!strncmp(line, "#EXT-X-MAP:URI=\"", 16)) {
			snprintf(x.map, sizeof x.map, "%.*s", (int)strcspn(line + 16, "\""), line + 16);
		} else if (!strncmp(line, "#EXT-X-PROGRAM-DATE-TIME:", 25)) {
			x.pdt = parse_pdt(line + 25);
		} else if (!strncmp(line, "#EXTINF:", 8)) {
			x.dur = strtod(line + 8, NULL);
			have = 1;
		} else if (line[0] && line[0] != '#' && have) {
			long long seq = lsp_m3u8_seg_number(line, NULL);
			snprintf(x.uri, sizeof x.uri, "%.31s", line);
			if (seq >= 0 && (uint64_t)seq + 1 > r->next_seq)
				r->next_seq = (uint64_t)seq + 1;
			if ((rc = add_item(r, &x, err, errcap)) < 0)
				break;
			memset(&x, 0, sizeof x);
			have = 0;
		}
	}
	(void)fclose(f); /* read only */
	if (rc == 0 && r->nitems == 0) {
		snprintf(err, errcap, "%.200s: no segments", path);
		rc = -EINVAL;
	}
	return rc;
}

/* ---- broadcast directory -------------------------------------------- */

static int id_like(const char *s)
{
	/* YYYYMMDDTHHMMSSZ[-N] */
	if (strlen(s) < 16 || s[8] != 'T' || s[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return s[16] == 0 || (s[16] == '-' && s[17] >= '1' && s[17] <= '9' && strlen(s) < 24);
}

static int lock_dir(const char *dir, int wait_ms)
{
	char path[PATH_MAX];
	int fd;
	if (join(path, sizeof path, dir, ".lock") < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	for (int waited = 0;; waited += 50) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || waited >= wait_ms) {
			int e = errno == EWOULDBLOCK ? EBUSY : errno;
			close(fd);
			return -e;
		}
		usleep(50000);
	}
}

static int try_reopen(lsp_record *r)
{
	DIR *d = opendir(r->chdir);
	struct dirent *de;
	char best[64] = "", e2[256];
	double upd;
	int fd;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (id_like(de->d_name) && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", de->d_name);
	closedir(d);
	if (!best[0])
		return 0;
	if (join(r->dir, sizeof r->dir, r->chdir, best) < 0)
		return 0;
	if ((fd = lock_dir(r->dir, LOCK_WAIT_MS)) < 0)
		return 0; /* still busy (or unreadable): start a new broadcast */
	upd = state_num(r->dir, "updated");
	if (upd <= 0 || lsp_clock_wall_s() - upd > r->o.grace || state_num(r->dir, "next_dts") <= 0 ||
	    load_playlist(r, e2, sizeof e2) < 0) {
		r->nitems = 0;
		r->next_seq = 0;
		close(fd);
		return 0;
	}
	r->lockfd = fd;
	snprintf(r->id, sizeof r->id, "%s", best);
	r->reopened = 1;
	r->session = (int)state_num(r->dir, "sessions") - 1; /* index of the last session */
	if ((double)r->next_seq < state_num(r->dir, "segments"))
		r->next_seq = (uint64_t)state_num(r->dir, "segments");
	r->started_at = state_num(r->dir, "started");
	r->total_dur = state_num(r->dir, "duration");
	r->bytes = (long long)state_num(r->dir, "bytes");
	r->next_dts90 = (int64_t)state_num(r->dir, "next_dts");
	return 1;
}

static int new_broadcast(lsp_record *r, char *err, size_t errcap)
{
	time_t t = time(NULL);
	struct tm tm;
	char base[32];
	int fd;
	if (!gmtime_r(&t, &tm) || strftime(base, sizeof base, "%Y%m%dT%H%M%SZ", &tm) == 0) {
		snprintf(err, errcap, "clock out of range");
		return -ERANGE;
	}
	for (int k = 1; k < 100; k++) {
		if (k == 1)
			snprintf(r->id, sizeof r->id, "%s", base);
		else
			snprintf(r->id, sizeof r->id, "%s-%d", base, k);
		if (snprintf(r->dir, sizeof r->dir, "%s/%s", r->chdir, r->id) >= (int)sizeof r->dir) {
			snprintf(err, errcap, "recording path too long");
			return -ENAMETOOLONG;
		}
		if (mkdir(r->dir, 0755) == 0)
			break;
		if (errno != EEXIST) {
			snprintf(err, errcap, "mkdir %s: %s", r->dir, strerror(errno));
			return -errno;
		}
		if (k == 99) {
			snprintf(err, errcap, "too many broadcasts started at %s", base);
			return -EEXIST;
		}
	}
	if ((fd = lock_dir(r->dir, 0)) < 0) {
		snprintf(err, errcap, "lock %s: %s", r->dir, strerror(-fd));
		return fd;
	}
	r->lockfd = fd;
	r->started_at = lsp_clock_wall_s();
	r->session = 0;
	return 0;
}

/* ---- input ----------------------------------------------------------- */

/* The streams of one program: its first H.264 and first usable AAC. */
static void program_av(AVFormatContext *ic, const unsigned *idx, unsigned n, int *v, int *a)
{
	*v = *a = -1;
	for (unsigned i = 0; i < n; i++) {
		AVCodecParameters *par = ic->streams[idx[i]]->codecpar;
		if (par->codec_id == AV_CODEC_ID_H264 && *v < 0)
			*v = (int)idx[i];
		else if (par->codec_id == AV_CODEC_ID_AAC && *a < 0 && lsp_fmp4_aac_asc(par) == 0)
			*a = (int)idx[i];
	}
}

static int pick_program(lsp_record *r, char *err, size_t errcap)
{
	AVFormatContext *ic = r->ic;
	int v = -1, a = -1, fa = -1;
	if (ic->nb_programs == 0) {
		unsigned idx[64], n = 0;
		for (unsigned i = 0; i < ic->nb_streams && n < 64; i++)
			idx[n++] = i;
		program_av(ic, idx, n, &v, &a);
	} else {
		for (unsigned k = 0; k < ic->nb_programs; k++) {
			AVProgram *pg = ic->programs[k];
			AVDictionaryEntry *e = av_dict_get(pg->metadata, "service_name", NULL, 0);
			int pv, pa;
			if (r->o.program && (!e || strcmp(e->value, r->o.program) != 0))
				continue;
			program_av(ic, pg->stream_index, pg->nb_stream_indexes, &pv, &pa);
			if (pv >= 0) {
				v = pv;
				a = pa;
				break;
			}
			if (pa >= 0 && fa < 0)
				fa = pa; /* audio-only fallback */
		}
		if (v < 0 && a < 0)
			a = fa;
	}
	if (v < 0 && a < 0) {
		snprintf(err, errcap, r->o.program ? "no H.264/AAC program named %s" : "input has no H.264 or AAC stream",
			 r->o.program);
		return -EINVAL;
	}
	if (v >= 0) {
		r->tr[r->ntr++] = (track){ .in_idx = v, .tb = ic->streams[v]->time_base, .par = ic->streams[v]->codecpar };
		r->video = 1;
	}
	if (a >= 0)
		r->tr[r->ntr++] = (track){ .in_idx = a, .tb = ic->streams[a]->time_base, .par = ic->streams[a]->codecpar };
	for (int i = 0; i < r->ntr; i++) {
		r->tr[i].last_dts = r->tr[i].last_in = AV_NOPTS_VALUE;
		if (!(r->tr[i].hold = av_packet_alloc())) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		r->map[r->tr[i].in_idx] = i;
	}
	r->drive = 0;
	return 0;
}

int lsp_record_open(lsp_record **out, const lsp_record_opts *o, char *err, size_t errcap)
{
	lsp_record *r;
	int rc;

	*out = NULL;
	if (!o->root || !o->channel || !lsp_name_valid(o->channel)) {
		snprintf(err, errcap, "bad channel name");
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	r->lockfd = -1;
	if (r->o.segment <= 0)
		r->o.segment = 4;
	if (snprintf(r->chdir, sizeof r->chdir, "%s/%s", o->root, o->channel) >= (int)sizeof r->chdir) {
		snprintf(err, errcap, "recording path too long");
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (!(r->pkt = av_packet_alloc())) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if ((rc = lsp_tsin_open(&r->ic, o->input, (AVIOInterruptCB){ interrupted, r }, err, errcap)) < 0)
		goto fail;
	if ((rc = r->nmap = lsp_tsin_map(r->ic, &r->map, err, errcap)) < 0)
		goto fail;
	if ((rc = pick_program(r, err, errcap)) < 0)
		goto fail;
	for (int i = 0; i < r->nmap; i++)
		if (r->map[i] < 0)
			r->ic->streams[i]->discard = AVDISCARD_ALL;
	*out = r;
	return 0;
fail:
	lsp_record_close(r);
	return rc;
}

/* ---- recording ------------------------------------------------------- */

static int start(lsp_record *r, AVPacket *key, char *err, size_t errcap)
{
	const AVCodecParameters *par[2];
	AVRational tb[2];
	const uint8_t *init;
	size_t len;
	int rc;
	track *d = &r->tr[r->drive];

	if ((rc = lsp_fsio_mkdirs(r->chdir, err, errcap)) < 0)
		return rc;
	if (!(r->o.grace > 0 && try_reopen(r)) && (rc = new_broadcast(r, err, errcap)) < 0)
		return rc;
	if (r->video && (rc = lsp_fmp4_avc_extradata(d->par, key)) < 0)
		return lsp_averr(err, errcap, "no SPS/PPS in the first key frame", rc);
	/* continue the recording's timeline, or keep the input's */
	if (r->reopened) {
		int64_t first90 = av_rescale_q(key->dts, d->tb, q90);
		for (int i = 0; i < r->ntr; i++)
			r->tr[i].shift = av_rescale_q(r->next_dts90 - first90, q90, r->tr[i].tb);
		r->session++;
		snprintf(r->init_name, sizeof r->init_name, "init-%d.mp4", r->session);
	} else {
		snprintf(r->init_name, sizeof r->init_name, "init.mp4");
	}
	for (int i = 0; i < r->ntr; i++) {
		par[i] = r->tr[i].par;
		tb[i] = r->tr[i].tb;
	}
	if ((rc = lsp_fmp4_open(&r->mux, par, tb, r->ntr, err, errcap)) < 0)
		return rc;
	init = lsp_fmp4_init(r->mux, &len);
	if ((rc = lsp_fsio_publish(r->dir, r->init_name, init, len, r->o.nosync ? 0 : LSP_FSIO_SYNC, err,
				   errcap)) < 0)
		return rc;
	r->started = 1;
	note(r, r->reopened ? "reopened" : "started", r->session, r->dir);
	return 0;
}

static int flush_held(lsp_record *r, int k, int64_t d, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int rc;
	if (!tr->hold->data)
		return 0;
	if (d > 0)
		tr->last_dur = d;
	tr->hold->duration = tr->last_dur > 0 ? tr->last_dur : 1;
	rc = lsp_fmp4_write(r->mux, k, tr->hold, err, errcap);
	av_packet_unref(tr->hold);
	return rc;
}

/* Close the open fragment as segment next_seq ending at drive time end. */
static int cut(lsp_record *r, int64_t end, char *err, size_t errcap)
{
	track *d = &r->tr[r->drive];
	const uint8_t *b;
	size_t len;
	item x;
	int rc;
	int first = r->nitems == 0 || r->sess_dur == 0;

	if ((rc = lsp_fmp4_cut(r->mux, &b, &len, err, errcap)) < 0)
		return rc;
	if (len == 0)
		return 0;
	memset(&x, 0, sizeof x);
	snprintf(x.uri, sizeof x.uri, "seg%llu.m4s", (unsigned long long)r->next_seq);
	x.dur = (double)(end - r->seg_start) * av_q2d(d->tb);
	x.pdt = r->anchor + (double)r->seg_start * av_q2d(d->tb);
	if (first) {
		snprintf(x.map, sizeof x.map, "%s", r->init_name);
		x.disc = r->reopened;
	}
	if ((rc = lsp_fsio_publish(r->dir, x.uri, b, len, r->o.nosync ? 0 : LSP_FSIO_SYNC, err, errcap)) < 0)
		return rc;
	if ((rc = add_item(r, &x, err, errcap)) < 0)
		return rc;
	r->next_seq++;
	r->bytes += (long long)len;
	r->total_dur += x.dur;
	r->sess_dur += x.dur;
	r->next_dts90 = av_rescale_q(end, d->tb, q90);
	r->seg_start = end;
	if ((rc = write_playlist(r, 0, err, errcap)) < 0 || (rc = write_state(r, 0, err, errcap)) < 0)
		return rc;
	if (!r->o.nosync)
		sync_dir(r->dir);
	note(r, "segment", (long long)r->next_seq - 1, NULL);
	return 0;
}

static int feed(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap);
/* Give pkt usable timestamps (in input order); 0: drop it. */
static int normalize(lsp_record *r, int k, AVPacket *pkt)
{
	track *tr = &r->tr[k];
	if (!lsp_tsin_fill_ts(pkt, tr->par, tr->tb, tr->last_in, tr->in_dur) || pkt->size == 0)
		return 0;
	if (pkt->pts == AV_NOPTS_VALUE)
		pkt->pts = pkt->dts;
	if (tr->last_in != AV_NOPTS_VALUE && pkt->dts > tr->last_in)
		tr->in_dur = pkt->dts - tr->last_in;
	tr->last_in = pkt->dts;
	return 1;
}

/* A packet in decode-time order across tracks (see release()). */
static int process(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int rc;
	if (!r->have_anchor) {
		r->have_anchor = 1;
		r->anchor = lsp_clock_wall_s() - (double)pkt->dts * av_q2d(tr->tb);
	}
	if (!r->started) {
		if (k != r->drive) {
			if (r->npreq == PREQ) { /* keep the newest */
				av_packet_free(&r->preq[0]);
				memmove(r->preq, r->preq + 1, sizeof(AVPacket *) * (PREQ - 1));
				r->npreq--;
			}
			if (!(r->preq[r->npreq] = av_packet_clone(pkt))) {
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			r->npreq++;
			return 0;
		}
		if (r->video && !(pkt->flags & AV_PKT_FLAG_KEY))
			return 0;
		if ((rc = start(r, pkt, err, errcap)) < 0)
			return rc;
		/* audio joins at the key frame's presentation time (feed()) */
		r->sync = pkt->pts;
		if ((rc = feed(r, k, pkt, err, errcap)) < 0)
			return rc;
		for (int i = 0; i < r->npreq; i++) {
			AVPacket *q = r->preq[i];
			if (rc >= 0)
				rc = feed(r, r->map[q->stream_index], q, err, errcap);
			av_packet_free(&r->preq[i]);
		}
		r->npreq = 0;
		r->sess_dur = 0;
		return rc < 0 ? rc : 0;
	}
	return feed(r, k, pkt, err, errcap);
}

/* A packet of a started recording (timestamps not yet shifted). */
static int feed(lsp_record *r, int k, AVPacket *pkt, char *err, size_t errcap)
{
	track *tr = &r->tr[k];
	int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0, rc;
	int64_t t;
	if (k != r->drive && tr->last_dts == AV_NOPTS_VALUE &&
	    av_compare_ts(pkt->pts, tr->tb, r->sync, r->tr[r->drive].tb) < 0)
		return 0; /* before the first picture */
	pkt->dts += tr->shift;
	pkt->pts += tr->shift;
	if (k != r->drive && r->tr[r->drive].last_dts == AV_NOPTS_VALUE)
		return 0; /* cannot happen: the drive's key frame comes first */
	if (tr->last_dts != AV_NOPTS_VALUE && pkt->dts <= tr->last_dts) {
		r->dropped++;
		return 0;
	}
	t = pkt->dts;
	if (tr->last_dts == AV_NOPTS_VALUE && k == r->drive) {
		r->seg_start = r->last_drive = t;
	}
	if (tr->hold->data && (rc = flush_held(r, k, t - tr->hold->dts, err, errcap)) < 0)
		return rc;
	if (k == r->drive) {
		double since = (double)(t - r->seg_start) * av_q2d(tr->tb);
		if (since >= r->o.segment - 0.001 && (key || !r->video)) {
			for (int j = 0; j < r->ntr; j++)
				if (j != k && r->tr[j].hold->data &&
				    av_compare_ts(r->tr[j].hold->dts, r->tr[j].tb, t, tr->tb) < 0 &&
				    (rc = flush_held(r, j, 0, err, errcap)) < 0)
					return rc;
			if ((rc = cut(r, t, err, errcap)) < 0)
				return rc;
		}
		r->last_drive = t;
	}
	tr->last_dts = t;
	return av_packet_ref(tr->hold, pkt);
}

/* Interleave: the TS carries audio in PES runs that lag the video by up to
 * ~0.7 s, so packets are processed in decode-time order across tracks,
 * otherwise a segment would end with its audio short of its video.  The
 * oldest queued packet goes when every track has one queued, when a queue
 * is full or spans QSPAN_S (the other track stalled or ended), or (all)
 * at the end of input. */
static int release(lsp_record *r, int all, char *err, size_t errcap)
{
	for (;;) {
		int best = -1, have = 0, rc;
		for (int k = 0; k < r->ntr; k++) {
			if (!r->nq[k])
				continue;
			have++;
			if (best < 0 || av_compare_ts(r->q[k][0]->dts, r->tr[k].tb, r->q[best][0]->dts, r->tr[best].tb) < 0)
				best = k;
		}
		if (!have)
			return 0;
		if (have < r->ntr && !all) {
			int go = 0;
			for (int k = 0; k < r->ntr; k++)
				if (r->nq[k] && (r->nq[k] == QMAX ||
						 (double)(r->q[k][r->nq[k] - 1]->dts - r->q[k][0]->dts) * av_q2d(r->tr[k].tb) > QSPAN_S))
					go = 1;
			if (!go)
				return 0;
		}
		AVPacket *p = r->q[best][0];
		memmove(r->q[best], r->q[best] + 1, sizeof(AVPacket *) * (size_t)(r->nq[best] - 1));
		r->nq[best]--;
		rc = process(r, best, p, err, errcap);
		av_packet_free(&p);
		if (rc < 0)
			return rc;
	}
}

int lsp_record_step(lsp_record *r, char *err, size_t errcap)
{
	int k, rc = lsp_tsin_read(r->ic, r->pkt, r->map, r->nmap, r->o.stop, &k, err, errcap);
	if (rc <= 0)
		return rc;
	rc = 0;
	if (k >= 0 && normalize(r, k, r->pkt)) {
		if (r->nq[k] == QMAX && (rc = release(r, 1, err, errcap)) < 0) /* cannot happen: released at QMAX */
			goto out;
		if (!(r->q[k][r->nq[k]] = av_packet_clone(r->pkt))) {
			snprintf(err, errcap, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		r->nq[k]++;
		rc = release(r, 0, err, errcap);
	}
out:
	av_packet_unref(r->pkt);
	return rc < 0 ? rc : 1;
}

int lsp_record_finish(lsp_record *r, char *err, size_t errcap)
{
	track *d = &r->tr[r->drive];
	int64_t end;
	int rc;
	if (!r->finished) {
		/* a cut input stops the lagging audio first: the video queued
		 * past the last audio frame would end the recording without sound */
		for (int k = 0; k < r->ntr; k++) {
			track *a = &r->tr[k];
			if (k == r->drive || a->last_in == AV_NOPTS_VALUE)
				continue;
			while (r->nq[r->drive] > 0 &&
			       av_compare_ts(r->q[r->drive][r->nq[r->drive] - 1]->dts, d->tb, a->last_in + a->in_dur, a->tb) >= 0)
				av_packet_free(&r->q[r->drive][--r->nq[r->drive]]);
		}
		if ((rc = release(r, 1, err, errcap)) < 0)
			return rc;
	}
	if (!r->started || r->finished)
		return 0;
	end = d->hold->data ? d->hold->dts + (d->last_dur > 0 ? d->last_dur : 0) : r->last_drive;
	/* the audio end may pass the video end by a frame: count the longer */
	for (int k = 0; k < r->ntr; k++) {
		track *tr = &r->tr[k];
		if (k != r->drive && tr->hold->data) {
			int64_t ae = av_rescale_q(tr->hold->dts + (tr->last_dur > 0 ? tr->last_dur : 0), tr->tb, d->tb);
			if (ae > end && ae - end < av_rescale_q(1, (AVRational){ 1, 10 }, d->tb))
				end = ae;
		}
		if ((rc = flush_held(r, k, 0, err, errcap)) < 0)
			return rc;
	}
	if ((rc = cut(r, end, err, errcap)) < 0)
		return rc;
	r->finished = 1;
	if ((rc = write_playlist(r, 1, err, errcap)) < 0 || (rc = write_state(r, lsp_clock_wall_s(), err, errcap)) < 0)
		return rc;
	if (!r->o.nosync)
		sync_dir(r->dir);
	if (r->dropped)
		note(r, "dropped", r->dropped, "packets with non-increasing dts");
	note(r, "finished", r->nitems, NULL);
	return 0;
}

const char *lsp_record_id(const lsp_record *r)
{
	return r->id;
}

const char *lsp_record_dir(const lsp_record *r)
{
	return r->started ? r->dir : "";
}

int lsp_record_reopened(const lsp_record *r)
{
	return r->reopened;
}

double lsp_record_seconds(const lsp_record *r)
{
	return r->sess_dur;
}

void lsp_record_close(lsp_record *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->ntr; i++)
		av_packet_free(&r->tr[i].hold);
	for (int i = 0; i < r->npreq; i++)
		av_packet_free(&r->preq[i]);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < r->nq[k]; i++)
			av_packet_free(&r->q[k][i]);
	lsp_fmp4_close(r->mux);
	avformat_close_input(&r->ic);
	av_packet_free(&r->pkt);
	if (r->lockfd >= 0)
		close(r->lockfd);
	free(r->map);
	free(r->items);
	free(r->pl);
	free(r);
}
