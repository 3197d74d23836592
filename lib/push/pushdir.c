/* pushdir.c — watch an HLS directory and mirror it to S3; see pushdir.h.
 *
 *   inotify ──▶ handle_events ──▶ pushq (media | playlists | deletes)
 *                                     │ peek
 *                  media ─────────────┼──▶ PUT file bytes
 *                  playlist ──▶ snapshot bytes, drain events,
 *                               PUT pending media first, then the snapshot
 *                  delete ────────────┴──▶ DELETE key
 *   failure ──▶ backoff (same item, in order); queue full ──▶ drop oldest + "gap"
 */
#include "push/pushdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "push/pushq.h"

enum { MAXWATCH = 512, MAXDEPTH = 4, MAXFILE = 256 << 20, MAXSCAN = 8192 };

typedef struct {
	int wd;
	char rel[LSP_PUSHQ_PATH]; /* "" for the root */
} watch;

typedef struct {
	const lsp_pushdir_conf *c;
	lsp_s3 *s3;
	lsp_pushdir_stats *st;
	lsp_pushq *q;
	int fd;
	watch w[MAXWATCH];
	int nw;
	char prefix[LSP_PUSHQ_PATH];
	long long not_before; /* ms: next attempt of the head item */
	int succeeded, authfails;
	uint32_t rnd;
	/* playlist snapshot waiting for the media queued before it */
	char *snap;
	size_t snaplen;
	lsp_pushq_item snapit;
	int have_snap;
} ctx;

/* Report an event: key, LSV_x(value) pairs (see pushdir.h for the names). */
#define EV(x, level, name, ...) lsp_event_emit((x)->c->event, (x)->c->event_ctx, level, name, __VA_ARGS__, NULL)

static uint32_t rnd(ctx *x)
{
	x->rnd ^= x->rnd << 13;
	x->rnd ^= x->rnd >> 17;
	x->rnd ^= x->rnd << 5;
	return x->rnd;
}

static int join(char *dst, size_t cap, const char *a, const char *b)
{
	int n = (a[0] && b[0]) ? snprintf(dst, cap, "%s/%s", a, b) : snprintf(dst, cap, "%s%s", a, b);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static void enqueue(ctx *x, const char *rel, int del)
{
	lsp_pushq_item d;
	int rc = lsp_pushq_add(x->q, rel, del, &d);
	if (rc == 1) {
		x->st->dropped++;
		EV(x, LSP_WARN,
		   d.kind == LSP_PUSHQ_DELETE ? "gap: queue full, oldest delete skipped"
					      : "gap: queue full, oldest upload skipped",
		   "path", LSV_S(d.path), "attempt", LSV_I(d.attempts));
	} else if (rc == 2) {
		x->st->vanished++;
		EV(x, LSP_WARN, "gap: expired before upload", "path", LSV_S(d.path), "attempt", LSV_I(d.attempts));
	} else if (rc < 0)
		EV(x, LSP_WARN, "not queued", "path", LSV_S(rel), "error", LSV_S(strerror(-rc)));
}

static int add_watch(ctx *x, const char *rel, char *err, size_t errcap)
{
	char path[PATH_MAX];
	int wd;
	if (x->nw == MAXWATCH) {
		snprintf(err, errcap, "more than %d directories to watch", MAXWATCH);
		return -ENOSPC;
	}
	if (join(path, sizeof path, x->c->dir, rel) < 0) {
		snprintf(err, errcap, "path too long: %s", rel);
		return -ENAMETOOLONG;
	}
	wd = inotify_add_watch(x->fd, path,
			       IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR);
	if (wd < 0) {
		snprintf(err, errcap, "unable to watch %s: %s", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < x->nw; i++)
		if (x->w[i].wd == wd)
			return 0;
	x->w[x->nw].wd = wd;
	snprintf(x->w[x->nw].rel, sizeof x->w[x->nw].rel, "%s", rel);
	x->nw++;
	return 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Collect regular files under rel (watching each directory) into v. */
/* NOLINTNEXTLINE(misc-no-recursion): a directory walk, stopped at MAXDEPTH levels */
static void collect(ctx *x, const char *rel, int depth, char **v, size_t *n)
{
	char path[PATH_MAX], sub[LSP_PUSHQ_PATH], err[256];
	DIR *d;
	struct dirent *e;
	if (depth > MAXDEPTH || add_watch(x, rel, err, sizeof err) < 0 || join(path, sizeof path, x->c->dir, rel) < 0)
		return;
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d)) && *n < MAXSCAN) {
		struct stat sb;
		char full[PATH_MAX];
		if (e->d_name[0] == '.' || join(sub, sizeof sub, rel, e->d_name) < 0 ||
		    join(full, sizeof full, x->c->dir, sub) < 0 || stat(full, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			collect(x, sub, depth + 1, v, n);
		else if (S_ISREG(sb.st_mode) && (v[*n] = strdup(sub)))
			(*n)++;
	}
	closedir(d);
}

/* Queue what exists under rel: media in scan order, then playlists. */
static void scan(ctx *x, const char *rel)
{
	char **v = calloc(MAXSCAN, sizeof *v);
	size_t n = 0;
	if (!v) {
		EV(x, LSP_ERROR, "scan: out of memory", "path", LSV_S(rel));
		return;
	}
	collect(x, rel, 0, v, &n);
	qsort(v, n, sizeof *v, lsp_pushq_scan_cmp);
	for (size_t i = 0; i < n; i++)
		if (lsp_pushq_kind(v[i]) == LSP_PUSHQ_MEDIA)
			enqueue(x, v[i], 0);
	qsort(v, n, sizeof *v, strp_cmp);
	for (size_t i = 0; i < n; i++) {
		if (lsp_pushq_kind(v[i]) == LSP_PUSHQ_PLAYLIST)
			enqueue(x, v[i], 0);
		free(v[i]);
	}
	free(v);
}

/* Read every pending inotify event (non-blocking) into the queue. */
static void drain(ctx *x)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t len = read(x->fd, buf, sizeof buf);
		if (len <= 0)
			return;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			const char *dir = NULL;
			char rel[LSP_PUSHQ_PATH];
			p += sizeof *e + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				lsp_event_emit(x->c->event, x->c->event_ctx, LSP_WARN, "inotify overflow: rescanning", NULL);
				scan(x, "");
				continue;
			}
			for (int i = 0; i < x->nw; i++)
				if (x->w[i].wd == e->wd)
					dir = x->w[i].rel;
			if (e->mask & IN_IGNORED) {
				for (int i = 0; i < x->nw; i++)
					if (x->w[i].wd == e->wd)
						x->w[i] = x->w[--x->nw];
				continue;
			}
			if (!dir || !e->len || e->name[0] == '.' || join(rel, sizeof rel, dir, e->name) < 0)
				continue;
			if (e->mask & IN_ISDIR) {
				if (e->mask & (IN_CREATE | IN_MOVED_TO))
					scan(x, rel);
				continue;
			}
			if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
				enqueue(x, rel, 0);
			else if ((e->mask & (IN_DELETE | IN_MOVED_FROM)) && x->c->delete_expired &&
				 lsp_pushq_kind(rel) == LSP_PUSHQ_MEDIA)
				enqueue(x, rel, 1);
		}
	}
}

static const char *ctype_of(const char *p)
{
	const char *dot = strrchr(p, '.');
	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".m3u8"))
		return "application/vnd.apple.mpegurl";
	if (!strcmp(dot, ".m4s"))
		return "video/iso.segment";
	if (!strcmp(dot, ".mp4"))
		return "video/mp4";
	if (!strcmp(dot, ".ts"))
		return "video/mp2t";
	return "application/octet-stream";
}

/* Whole file into a new buffer; -ENOENT if it is gone. */
static int slurp(ctx *x, const char *rel, char **out, size_t *len, char *err, size_t errcap)
{
	char path[PATH_MAX];
	struct stat sb;
	char *b = NULL;
	size_t got = 0;
	int fd, rc;
	*out = NULL;
	if (join(path, sizeof path, x->c->dir, rel) < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "open %.300s: %s", rel, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || sb.st_size > MAXFILE) {
		snprintf(err, errcap, "%.300s: unreadable or larger than %d bytes", rel, MAXFILE);
		rc = -EFBIG;
		goto fail;
	}
	if (!(b = malloc((size_t)sb.st_size + 1))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, b + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*out = b;
	*len = got;
	return 0;
fail:
	close(fd);
	free(b);
	return rc;
}

/* ---- playlists for a static origin (see pushdir.h) -------------------- */

static int line_is(const char *l, size_t ll, const char *tag)
{
	size_t n = strlen(tag);
	return ll >= n && memcmp(l, tag, n) == 0;
}

size_t lsp_pushdir_static(char *buf, size_t len)
{
	static const char *const drop[] = { "#EXT-X-PART-INF:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:",
					    "#EXT-X-RENDITION-REPORT:", "#EXT-X-SKIP:" };
	size_t r = 0, w = 0, last_uri = 0;
	int media = 0;
	for (size_t p = 0; p < len;) { /* only a media playlist is rewritten */
		const char *nl = memchr(buf + p, '\n', len - p);
		size_t ll = nl ? (size_t)(nl - (buf + p)) : len - p;
		if (line_is(buf + p, ll, "#EXT-X-TARGETDURATION:"))
			media = 1;
		p += ll + 1;
	}
	if (!media)
		return len;
	while (r < len) {
		char *l = buf + r, *nl = memchr(l, '\n', len - r);
		size_t ll = nl ? (size_t)(nl - l) + 1 : len - r, keep = ll;
		int skip = 0;
		for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
			skip |= line_is(l, ll, drop[i]);
		if (!skip && line_is(l, ll, "#EXT-X-SERVER-CONTROL:")) {
			const char *hb = memmem(l, ll, "HOLD-BACK=", 10);
			char tmp[96];
			int n;
			while (hb && hb > l && hb[-1] != ',' && hb[-1] != ':') /* not PART-HOLD-BACK */
				hb = memmem(hb + 1, ll - (size_t)(hb + 1 - l), "HOLD-BACK=", 10);
			if (hb) {
				size_t vl = 0, room = ll - (size_t)(hb + 10 - l); /* bounded: buf is not a string */
				while (vl < room && hb[10 + vl] != ',' && hb[10 + vl] != '\r' && hb[10 + vl] != '\n')
					vl++;
				n = snprintf(tmp, sizeof tmp, "#EXT-X-SERVER-CONTROL:HOLD-BACK=%.*s\n", (int)(vl < 32 ? vl : 32),
					     hb + 10);
				if (n > 0 && (size_t)n <= ll) {
					memmove(buf + w, tmp, (size_t)n);
					w += (size_t)n;
				}
			}
			skip = 1;
		}
		if (!skip) {
			memmove(buf + w, l, keep);
			if (ll > 1 && l[0] != '#')
				last_uri = w + keep;
			w += keep;
		}
		r += ll;
	}
	/* a date after the last segment belongs to the open one, whose parts went */
	if (last_uri > 0 && last_uri < w && line_is(buf + last_uri, w - last_uri, "#EXT-X-PROGRAM-DATE-TIME:")) {
		const char *nl = memchr(buf + last_uri, '\n', w - last_uri);
		size_t ll = nl ? (size_t)(nl - (buf + last_uri)) + 1 : w - last_uri;
		memmove(buf + last_uri, buf + last_uri + ll, w - last_uri - ll);
		w -= ll;
	}
	return w;
}

static void key_of(ctx *x, const char *rel, char *key, size_t cap)
{
	if (join(key, cap, x->prefix, rel) < 0)
		snprintf(key, cap, "%s", rel);
}

/* One request for item it (bytes for PUT, NULL for DELETE).  Returns 1 done
 * (pop it), 0 retry later, -EACCES to end the run. */
static int attempt(ctx *x, lsp_pushq_item *it, const char *buf, size_t len)
{
	char key[LSP_PUSHQ_PATH * 2], err[512] = "";
	long status = 0, delay;
	long long t0 = lsp_clock_mono_ms();
	int rc, pl = it->kind == LSP_PUSHQ_PLAYLIST;

	key_of(x, it->path, key, sizeof key);
	if (it->kind == LSP_PUSHQ_DELETE)
		rc = lsp_s3_delete(x->s3, key, &status, err, sizeof err);
	else
		rc = lsp_s3_put(x->s3, key, buf, len, ctype_of(it->path), pl ? "max-age=1" : "max-age=60", &status,
				err, sizeof err);
	if (rc == 0) {
		x->succeeded = 1;
		x->authfails = 0;
		x->not_before = 0;
		if (it->kind == LSP_PUSHQ_DELETE)
			x->st->deleted++;
		else {
			x->st->put++;
			x->st->bytes += (long long)len;
		}
		if (it->attempts)
			EV(x, LSP_INFO, "recovered", "path", LSV_S(it->path), "status", LSV_I(status), "attempt",
			   LSV_I(it->attempts), "bytes", LSV_I(len), "ms", LSV_D(lsp_clock_mono_ms() - t0));
		else
			EV(x, LSP_DEBUG, it->kind == LSP_PUSHQ_DELETE ? "deleted" : "uploaded", "path", LSV_S(it->path),
			   "status", LSV_I(status), "bytes", LSV_I(len), "ms", LSV_D(lsp_clock_mono_ms() - t0));
		return 1;
	}
	x->st->failures++;
	it->attempts++;
	if (rc == -EACCES && !x->succeeded && ++x->authfails >= (x->c->auth_fail_max > 0 ? x->c->auth_fail_max : 3)) {
		EV(x, LSP_ERROR, "credentials refused", "path", LSV_S(it->path), "status", LSV_I(status), "attempt",
		   LSV_I(it->attempts), "error", LSV_S(err));
		return -EACCES;
	}
	if (rc != -EAGAIN && rc != -EACCES) {
		x->st->dropped++;
		EV(x, LSP_ERROR, "gap: refused, skipped", "path", LSV_S(it->path), "status", LSV_I(status), "attempt",
		   LSV_I(it->attempts), "error", LSV_S(err));
		return 1;
	}
	if (x->c->once && it->attempts >= (x->c->once_attempts > 0 ? x->c->once_attempts : 6)) {
		x->st->dropped++;
		EV(x, LSP_ERROR, "gap: given up", "path", LSV_S(it->path), "status", LSV_I(status), "attempt",
		   LSV_I(it->attempts), "error", LSV_S(err));
		return 1;
	}
	delay = lsp_s3_backoff_ms(it->attempts, x->c->retry_base_ms > 0 ? x->c->retry_base_ms : 200,
				  x->c->retry_max_ms > 0 ? x->c->retry_max_ms : 10000, rnd(x));
	x->not_before = lsp_clock_mono_ms() + delay;
	EV(x, rc == -EACCES ? LSP_ERROR : LSP_WARN, "retrying", "path", LSV_S(it->path), "status", LSV_I(status),
	   "attempt", LSV_I(it->attempts), "retry_ms", LSV_I(delay), "ms", LSV_D(lsp_clock_mono_ms() - t0), "error",
	   LSV_S(err));
	return 0;
}

/* One step of work; returns <0 to end the run, 0 otherwise. */
static int step(ctx *x)
{
	lsp_pushq_item *it;
	char err[512] = "", *buf = NULL;
	size_t len = 0;
	int rc;

	if (x->have_snap && lsp_pushq_count(x->q, LSP_PUSHQ_MEDIA) == 0) {
		if ((rc = attempt(x, &x->snapit, x->snap, x->snaplen)) < 0)
			return rc;
		if (rc == 1) {
			free(x->snap);
			x->snap = NULL;
			x->have_snap = 0;
		}
		return 0;
	}
	if (!(it = lsp_pushq_peek(x->q)))
		return 0;
	if (it->kind == LSP_PUSHQ_DELETE) {
		rc = attempt(x, it, NULL, 0);
		if (rc == 1)
			lsp_pushq_pop(x->q);
		return rc < 0 ? rc : 0;
	}
	if ((rc = slurp(x, it->path, &buf, &len, err, sizeof err)) < 0) {
		x->st->vanished++;
		EV(x, rc == -ENOENT ? LSP_WARN : LSP_ERROR, rc == -ENOENT ? "gap: vanished before upload" : "unreadable",
		   "path", LSV_S(it->path), "attempt", LSV_I(it->attempts), "error", LSV_S(err));
		lsp_pushq_pop(x->q);
		return 0;
	}
	if (it->kind == LSP_PUSHQ_PLAYLIST) {
		/* the copy is taken; what was published before it is now queued */
		x->snapit = *it;
		x->snap = buf;
		x->snaplen = lsp_pushdir_static(buf, len);
		x->have_snap = 1;
		lsp_pushq_pop(x->q);
		drain(x);
		return 0;
	}
	rc = attempt(x, it, buf, len);
	free(buf);
	if (rc == 1)
		lsp_pushq_pop(x->q); /* nothing was added since the peek */
	return rc < 0 ? rc : 0;
}

int lsp_pushdir_run(const lsp_pushdir_conf *c, lsp_s3 *s3, lsp_pushdir_stats *st, char *err, size_t errcap)
{
	ctx *x;
	long long deadline = 0;
	int rc = 0;
	size_t plen;

	memset(st, 0, sizeof *st);
	if (!(x = calloc(1, sizeof *x))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	x->fd = -1;
	x->c = c;
	x->s3 = s3;
	x->st = st;
	x->rnd = (uint32_t)lsp_clock_mono_ms() ^ (uint32_t)getpid() ^ 0x9e3779b9u;
	if (!x->rnd)
		x->rnd = 1;
	snprintf(x->prefix, sizeof x->prefix, "%s", c->prefix ? c->prefix : "");
	while (x->prefix[0] == '/')
		memmove(x->prefix, x->prefix + 1, strlen(x->prefix));
	for (plen = strlen(x->prefix); plen > 0 && x->prefix[plen - 1] == '/'; plen--)
		x->prefix[plen - 1] = 0;
	if (!(x->q = lsp_pushq_new(c->queue ? c->queue : 1024))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((x->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "inotify: %s", strerror(errno));
		goto fail;
	}
	if ((rc = add_watch(x, "", err, errcap)) < 0)
		goto fail;
	scan(x, "");
	for (;;) {
		long long now = lsp_clock_mono_ms();
		int busy = lsp_pushq_total(x->q) > 0 || x->have_snap, timeout;
		if (c->stop && *c->stop && !deadline)
			deadline = now + (c->drain_ms > 0 ? c->drain_ms : 5000);
		if ((deadline && (!busy || now >= deadline)) || (c->once && !busy))
			break;
		timeout = !busy ? 500 : x->not_before > now ? (int)(x->not_before - now) : 0;
		if (timeout > 500)
			timeout = 500;
		struct pollfd p = { x->fd, POLLIN, 0 };
		if (poll(&p, 1, timeout) > 0)
			drain(x);
		if (busy && lsp_clock_mono_ms() >= x->not_before && (rc = step(x)) < 0)
			goto fail;
	}
	rc = 0;
fail:
	st->left = x->q ? (long long)lsp_pushq_total(x->q) + x->have_snap : 0;
	st->connections = lsp_s3_connections(s3);
	if (rc == 0 && (st->left > 0 || (c->once && st->dropped > 0)))
		rc = -EIO;
	if (x->fd >= 0)
		close(x->fd);
	free(x->snap);
	lsp_pushq_free(x->q);
	free(x);
	return rc;
}
