/* record_dir.c — the recorder's broadcast on disk (see record_int.h for
 * the pieces): the directory <root>/<channel>/<id> and its flock, the
 * choice to reopen a recent broadcast (its playlist read back, its totals
 * from rec.state), and the two files that describe it, index.m3u8 and
 * rec.state, each published atomically (write, fsync unless nosync,
 * rename).  The caller orders the writes: segment, playlist, state. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fsio.h"
#include "media/m3u8.h"
#include "media/record_int.h"

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

/* ---- state file ------------------------------------------------------ */

static double state_num(const char *dir, const char *key)
{
	char v[64];
	return lsp_fsio_kv_get(dir, "rec.state", key, v, sizeof v) == 0 ? strtod(v, NULL) : 0;
}

int record_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int record_write_state(lsp_record *r, double ended, char *err, size_t errcap)
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

int record_write_playlist(lsp_record *r, int final, char *err, size_t errcap)
{
	lsp_m3u8_item *it = NULL;
	int len = -ENOSPC, rc;
	if (!(it = calloc((size_t)(r->nitems ? r->nitems : 1), sizeof *it))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < r->nitems; i++)
		it[i] = (lsp_m3u8_item){ r->items[i].uri, r->items[i].dur, r->items[i].pdt, r->items[i].disc,
					 r->items[i].map[0] ? r->items[i].map : NULL, 0 };
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

int record_add_item(lsp_record *r, const item *x, char *err, size_t errcap)
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
			if ((rc = record_add_item(r, &x, err, errcap)) < 0)
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

int record_try_reopen(lsp_record *r)
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

int record_new_broadcast(lsp_record *r, char *err, size_t errcap)
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
