/* vod.c — recordings on disk and their retention; see vod.h. */
#include "state/vod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fsio.h"

#define MAX_VODS 100000

/* ---- settings -------------------------------------------------------- */


/* dst = a "/" b; -ENAMETOOLONG when it does not fit. */
static int join(char *dst, size_t cap, const char *a, const char *b)
{
	int n = snprintf(dst, cap, "%s/%s", a, b);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int parse_scaled(const char *v, const char *units, const long long *mul, long long *out)
{
	char *end;
	long long n;
	if (!strcmp(v, "off") || !strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || n < 0 || n > 1000000000LL)
		return -1;
	if (*end == 0) {
		*out = n;
		return 0;
	}
	if (end[1] != 0)
		return -1;
	for (int i = 0; units[i]; i++)
		if (*end == units[i]) {
			*out = n * mul[i];
			return 0;
		}
	return -1;
}

int lsp_vod_settings_parse(const char *kv, lsp_vod_settings *s, char *err, size_t errcap)
{
	static const long long tmul[] = { 1, 60, 3600, 86400, 7 * 86400 };
	static const long long bmul[] = { 1LL << 10, 1LL << 20, 1LL << 30, 1LL << 40 };
	const char *eq = strchr(kv, '=');
	const char *v = eq ? eq + 1 : "";
	size_t kl = eq ? (size_t)(eq - kv) : 0;
	if (kl == 6 && !strncmp(kv, "record", 6)) {
		if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes"))
			s->record = 1;
		else if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no"))
			s->record = 0;
		else
			goto bad;
		return 0;
	}
	if (kl == 9 && !strncmp(kv, "retention", 9)) {
		if (parse_scaled(v, "smhdw", tmul, &s->retention_s) < 0) {
			snprintf(err, errcap, "bad value in %s (want e.g. retention=30d, 12h, 0)", kv);
			return -EINVAL;
		}
		return 0;
	}
	if (kl == 7 && !strncmp(kv, "maxsize", 7)) {
		if (parse_scaled(v, "KMGT", bmul, &s->max_bytes) < 0) {
			snprintf(err, errcap, "bad value in %s (want e.g. maxsize=50G, 500M, 0)", kv);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errcap, "unknown setting %s (record=on|off, retention=30d, maxsize=50G)", kv);
	return -EINVAL;
bad:
	snprintf(err, errcap, "bad value in %s", kv);
	return -EINVAL;
}

static int row_settings(void *ctx, int ncol, const char *const *v)
{
	lsp_vod_settings *s = ctx;
	if (ncol >= 3) {
		s->record = lsp_store_int(v[0]) != 0;
		s->retention_s = lsp_store_int(v[1]);
		s->max_bytes = lsp_store_int(v[2]);
	}
	return 0;
}

int lsp_vod_settings_get(lsp_store *st, const char *channel, lsp_vod_settings *out, char *err, size_t errcap)
{
	const char *p[1] = { channel };
	int rc;
	memset(out, 0, sizeof *out);
	rc = lsp_store_exec(st, "SELECT record, retention_s, max_bytes FROM channel_recording WHERE channel = $1",
			    1, p, row_settings, out, err, errcap);
	return rc < 0 ? rc : 0;
}

int lsp_vod_settings_set(lsp_store *st, const char *channel, const char *kv, char *err, size_t errcap)
{
	lsp_vod_settings s;
	lsp_channel ch;
	char rec[8], ret[24], mx[24];
	const char *p[4] = { channel, rec, ret, mx };
	int rc;
	if ((rc = lsp_store_channel_get(st, channel, &ch, err, errcap)) < 0)
		return rc;
	if ((rc = lsp_vod_settings_get(st, channel, &s, err, errcap)) < 0)
		return rc;
	if ((rc = lsp_vod_settings_parse(kv, &s, err, errcap)) < 0)
		return rc;
	snprintf(rec, sizeof rec, "%d", s.record);
	snprintf(ret, sizeof ret, "%lld", s.retention_s);
	snprintf(mx, sizeof mx, "%lld", s.max_bytes);
	rc = lsp_store_exec(st,
			    "INSERT INTO channel_recording (channel, record, retention_s, max_bytes) "
			    "VALUES ($1, $2, $3, $4) ON CONFLICT (channel) DO UPDATE SET "
			    "record = excluded.record, retention_s = excluded.retention_s, max_bytes = excluded.max_bytes",
			    4, p, NULL, NULL, err, errcap);
	return rc < 0 ? rc : 0;
}

/* ---- recordings on disk ---------------------------------------------- */

static int id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 16 || n >= 32 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
			return 0;
	return 1;
}

/* 1 when a recorder holds the directory's lock. */
static int busy(const char *dir)
{
	char path[PATH_MAX];
	int fd, b = 0;
	if (join(path, sizeof path, dir, ".lock") < 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		b = 1;
	close(fd); /* drops our lock if we got it */
	return b;
}

static long long dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	long long n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			n += (long long)st.st_size;
	closedir(d);
	return n;
}

static double num(const char *dir, const char *key)
{
	char v[64];
	return lsp_fsio_kv_get(dir, "rec.state", key, v, sizeof v) == 0 ? strtod(v, NULL) : 0;
}

static void info_of(const char *root, const char *channel, const char *id, lsp_vod_info *v)
{
	char dir[PATH_MAX];
	memset(v, 0, sizeof *v);
	snprintf(v->channel, sizeof v->channel, "%s", channel);
	snprintf(v->id, sizeof v->id, "%s", id);
	snprintf(dir, sizeof dir, "%s/%s/%s", root, channel, id);
	v->started = num(dir, "started");
	v->updated = num(dir, "updated");
	v->ended = num(dir, "ended");
	v->duration = num(dir, "duration");
	v->sessions = (int)num(dir, "sessions");
	v->segments = (int)num(dir, "segments");
	v->bytes = dir_bytes(dir);
	v->state = busy(dir) ? "recording" : v->ended > 0 ? "done" : "interrupted";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir accepted by ok(); *out owned by the caller.  A count
 * > 0 always comes with *out; clang-tidy 14's analyzer cannot tell that
 * -errno is negative, hence the NOLINTs where callers index *out. */
static int names(const char *dir, int (*ok)(const char *), char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	int n = 0, cap = 0;
	*out = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < MAX_VODS) {
		if (!ok(de->d_name))
			continue;
		if (n == cap) {
			char **nv = realloc(v, sizeof *v * (size_t)(cap = cap ? cap * 2 : 32));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof *v, cmp_str);
	*out = v;
	return n;
oom:
	closedir(d);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int name_ok(const char *s)
{
	return lsp_name_valid(s) == 1;
}

int lsp_vod_list(const char *root, const char *channel, lsp_vod_fn fn, void *ctx, char *err, size_t errcap)
{
	char **chs = NULL, **ids = NULL, dir[PATH_MAX];
	int nch, count = 0, stopped = 0;
	if (channel) {
		if (!lsp_name_valid(channel)) {
			snprintf(err, errcap, "bad channel name");
			return -EINVAL;
		}
		if (!(chs = malloc(sizeof *chs)) || !(chs[0] = strdup(channel))) {
			free(chs);
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		nch = 1;
	} else if ((nch = names(root, name_ok, &chs)) < 0) {
		snprintf(err, errcap, "%s: %s", root, strerror(-nch));
		return nch;
	}
	for (int c = 0; c < nch && !stopped; c++) {
		int nid;
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): see names() */
		snprintf(dir, sizeof dir, "%s/%s", root, chs[c]);
		if ((nid = names(dir, id_ok, &ids)) < 0)
			continue;
		for (int i = 0; i < nid && !stopped; i++) {
			lsp_vod_info v;
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): see names() */
			info_of(root, chs[c], ids[i], &v);
			count++;
			if (fn && fn(ctx, &v))
				stopped = 1;
		}
		free_names(ids, nid);
	}
	free_names(chs, nch);
	return count;
}

typedef struct {
	lsp_vod_info *v;
	int n, cap;
} vec;

static int collect(void *ctx, const lsp_vod_info *v)
{
	vec *x = ctx;
	if (x->n == x->cap) {
		int nc = x->cap ? x->cap * 2 : 16;
		lsp_vod_info *nv = realloc(x->v, sizeof *nv * (size_t)nc);
		if (!nv)
			return 1;
		x->v = nv;
		x->cap = nc;
	}
	x->v[x->n++] = *v;
	return 0;
}

int lsp_vod_json(const char *root, const char *channel, char *out, size_t cap)
{
	vec x = { 0 };
	char e[128];
	size_t off = 0;
	int rc, n;
	if (!channel || !lsp_name_valid(channel) || cap < 3)
		return -EINVAL;
	if ((rc = lsp_vod_list(root, channel, collect, &x, e, sizeof e)) < 0)
		return rc;
	out[off++] = '[';
	for (int i = x.n - 1; i >= 0; i--) {
		const lsp_vod_info *v = &x.v[i];
		n = snprintf(out + off, cap - off,
			     "%s{\"id\":\"%s\",\"started\":%.0f,\"duration\":%.3f,\"bytes\":%lld,\"state\":\"%s\","
			     "\"sessions\":%d,\"url\":\"/vod/%s/%s/index.m3u8\"}",
			     i == x.n - 1 ? "" : ",", v->id, v->started, v->duration, v->bytes, v->state, v->sessions,
			     v->channel, v->id);
		if (n < 0 || (size_t)n >= cap - off - 1)
			break; /* the newest that fit */
		off += (size_t)n;
	}
	free(x.v);
	if (off + 2 > cap)
		return -ENOSPC;
	out[off++] = ']';
	out[off] = 0;
	return (int)off;
}

static int rm_dir(const char *dir, char *err, size_t errcap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d) {
		snprintf(err, errcap, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, ".lock") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	unlinkat(dirfd(d), ".lock", 0);
	closedir(d);
	if (rmdir(dir) < 0) {
		snprintf(err, errcap, "rmdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int lsp_vod_rm(const char *root, const char *channel, const char *id, char *err, size_t errcap)
{
	char dir[PATH_MAX], lock[PATH_MAX];
	struct stat st;
	int fd, rc;
	if (!lsp_name_valid(channel) || !id_ok(id)) {
		snprintf(err, errcap, "no such recording %s/%s", channel, id);
		return -ENOENT;
	}
	snprintf(dir, sizeof dir, "%s/%s/%s", root, channel, id);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errcap, "no such recording %s/%s", channel, id);
		return -ENOENT;
	}
	if (join(lock, sizeof lock, dir, ".lock") < 0)
		return -ENAMETOOLONG;
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errcap, "%s: %s", lock, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		snprintf(err, errcap, "recording %s/%s is being written", channel, id);
		return -EBUSY;
	}
	/* a recorder that opens the lock after this sees the directory gone */
	rc = rm_dir(dir, err, errcap);
	close(fd);
	return rc;
}

int lsp_vod_purge(const char *root, const char *channel, char *err, size_t errcap)
{
	char dir[PATH_MAX], grave[PATH_MAX], gone[PATH_MAX], sub[PATH_MAX], lock[PATH_MAX];
	struct dirent *de;
	DIR *d;
	struct timespec now;
	int n = 0, left = 0;
	if (!lsp_name_valid(channel)) {
		snprintf(err, errcap, "bad channel name");
		return -EINVAL;
	}
	snprintf(dir, sizeof dir, "%s/%s", root, channel);
	if (access(dir, F_OK) < 0 && errno == ENOENT)
		return 0; /* never recorded */
	clock_gettime(CLOCK_REALTIME, &now);
	if (join(grave, sizeof grave, root, ".purged") < 0 ||
	    (size_t)snprintf(gone, sizeof gone, "%s/%s.%lld.%09ld.%d", grave, channel, (long long)now.tv_sec,
			     now.tv_nsec, (int)getpid()) >= sizeof gone)
		return -ENAMETOOLONG;
	if (mkdir(grave, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "%s: %s", grave, strerror(errno));
		return -errno;
	}
	/* one rename takes every recording off the public path at once */
	if (rename(dir, gone) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errcap, "rename %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!(d = opendir(gone)))
		return 0;
	while ((de = readdir(d))) {
		int fd;
		if (!id_ok(de->d_name) || join(sub, sizeof sub, gone, de->d_name) < 0 ||
		    join(lock, sizeof lock, sub, ".lock") < 0)
			continue;
		if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			left++; /* still being written: its recorder was cut, gc removes it later */
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (rm_dir(sub, err, errcap) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	if (!left)
		rmdir(gone);
	return n;
}

/* Replace the line of text starting with key (and its newline) by repl.
 * 1 when replaced, 0 when absent, < 0 on failure. */
static int edit_line(const char *dir, const char *name, const char *key, const char *repl, char *err, size_t errcap)
{
	char path[PATH_MAX], *buf = NULL, *out = NULL, *at;
	size_t kl = strlen(key), rl = strlen(repl);
	long n;
	FILE *f;
	int rc = 0;
	if (join(path, sizeof path, dir, name) < 0 || !(f = fopen(path, "r")))
		return -ENOENT;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (64L << 20) || fseek(f, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		(void)fclose(f); /* read only: nothing to lose */
		free(buf);
		snprintf(err, errcap, "cannot read %s", name);
		return -EIO;
	}
	(void)fclose(f);
	buf[n] = 0;
	for (at = buf; at && strncmp(at, key, kl) != 0; at = strchr(at, '\n') ? strchr(at, '\n') + 1 : NULL)
		;
	if (at && *at) {
		char *eol = strchr(at, '\n');
		size_t head = (size_t)(at - buf), tail = eol ? (size_t)n - (size_t)(eol + 1 - buf) : 0;
		if (!(out = malloc(head + rl + tail + 1))) {
			rc = -ENOMEM;
		} else {
			memcpy(out, buf, head);
			memcpy(out + head, repl, rl); /* NOLINT(bugprone-not-null-terminated-result): bytes, published by length */
			if (eol)
				memcpy(out + head + rl, eol + 1, tail);
			rc = lsp_fsio_publish(dir, name, out, head + rl + tail, LSP_FSIO_SYNC, err, errcap);
			rc = rc < 0 ? rc : 1;
		}
	}
	free(out);
	free(buf);
	return rc;
}

/* An interrupted recording (its recorder died) left alone longer than any
 * --grace: its playlist becomes VOD and rec.state gets an end time. */
static int finalize(const char *root, const lsp_vod_info *v, char *err, size_t errcap)
{
	char dir[PATH_MAX], line[64];
	int rc;
	if (snprintf(dir, sizeof dir, "%s/%s/%s", root, v->channel, v->id) >= (int)sizeof dir)
		return -ENAMETOOLONG;
	if ((rc = edit_line(dir, "index.m3u8", "#EXT-X-PLAYLIST-TYPE:", "#EXT-X-PLAYLIST-TYPE:VOD\n", err, errcap)) < 0)
		return rc;
	snprintf(line, sizeof line, "ended %.3f\n", v->updated);
	return edit_line(dir, "rec.state", "ended ", line, err, errcap);
}

int lsp_vod_gc(const char *root, lsp_store *st, double now,
	       void (*removed)(void *ctx, const lsp_vod_info *v, const char *why), void *ctx,
	       char *err, size_t errcap)
{
	char **chs = NULL;
	int nch, total = 0, rc = 0;
	if ((nch = names(root, name_ok, &chs)) < 0) {
		snprintf(err, errcap, "%s: %s", root, strerror(-nch));
		return nch;
	}
	for (int c = 0; c < nch; c++) {
		lsp_vod_settings s = { 0 };
		vec x = { 0 };
		long long bytes = 0;
		char e[256];
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): see names() */
		if ((rc = lsp_vod_list(root, chs[c], collect, &x, err, errcap)) < 0) {
			free(x.v);
			break;
		}
		rc = 0;
		for (int i = 0; i < x.n; i++) {
			lsp_vod_info *v = &x.v[i];
			if (!strcmp(v->state, "interrupted") && v->updated > 0 && now - v->updated > LSP_VOD_FINALIZE_S &&
			    finalize(root, v, e, sizeof e) > 0) {
				v->state = "done";
				v->ended = v->updated;
				if (removed)
					removed(ctx, v, "finalized");
			}
		}
		if (!st || lsp_vod_settings_get(st, chs[c], &s, e, sizeof e) < 0 ||
		    (s.retention_s <= 0 && s.max_bytes <= 0)) {
			free(x.v);
			continue;
		}
		for (int i = 0; i < x.n; i++)
			if (strcmp(x.v[i].state, "recording") != 0)
				bytes += x.v[i].bytes;
		/* oldest first: age, then size */
		for (int i = 0; i < x.n; i++) {
			lsp_vod_info *v = &x.v[i];
			double last = v->ended > 0 ? v->ended : v->updated > 0 ? v->updated : v->started;
			const char *why = NULL;
			if (!strcmp(v->state, "recording"))
				continue;
			if (s.retention_s > 0 && last > 0 && now - last > (double)s.retention_s)
				why = "age";
			else if (s.max_bytes > 0 && bytes > s.max_bytes)
				why = "size";
			if (!why)
				continue;
			if (lsp_vod_rm(root, v->channel, v->id, e, sizeof e) < 0)
				continue;
			bytes -= v->bytes;
			total++;
			if (removed)
				removed(ctx, v, why);
		}
		free(x.v);
	}
	free_names(chs, nch);
	return rc < 0 ? rc : total;
}
