/* chandir.c — channel directory as JSON; see chandir.h. */
#include "state/chandir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/key.h"

#define MAX_RUNGS 16
#define MAX_CHANNELS 1024
#define RUNG_MAX 64

/* Read at most cap-1 bytes of path into buf; length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;
	if (fd < 0)
		return -1;
	while ((size_t)got + 1 < cap && (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

static int rung_ok(const char *s, size_t n)
{
	if (n == 0 || n >= RUNG_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Append one channel object; 0, -ENOENT (not a channel) or -ENOSPC. */
static int one(const char *root, const char *name, time_t now, char *out, size_t cap, size_t *off)
{
	char path[4096], *m = NULL;
	char rungs[MAX_RUNGS][RUNG_MAX];
	int nr = 0, live = 0, n, rc = -ENOENT;
	const size_t mcap = 65536;

	if (!lsp_name_valid(name))
		return -ENOENT;
	snprintf(path, sizeof path, "%s/%s/" LSP_CHANDIR_HIDDEN, root, name);
	if (access(path, F_OK) == 0)
		return -ENOENT; /* suspended: in no directory */
	if (!(m = malloc(mcap)))
		return -ENOMEM;
	snprintf(path, sizeof path, "%s/%s/master.m3u8", root, name);
	if (slurp(path, m, mcap) < 7 || memcmp(m, "#EXTM3U", 7) != 0)
		goto out;
	for (char *l = m, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		char *slash;
		size_t ll;
		nl = strchr(l, '\n');
		ll = nl ? (size_t)(nl - l) : strlen(l);
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (ll == 0 || l[0] == '#' || nr >= MAX_RUNGS)
			continue;
		slash = memchr(l, '/', ll);
		if (!slash || !rung_ok(l, (size_t)(slash - l)))
			continue;
		memcpy(rungs[nr], l, (size_t)(slash - l));
		rungs[nr][slash - l] = 0;
		nr++;
	}
	for (int i = 0; i < nr && !live; i++) {
		struct stat st;
		char *pl;
		ssize_t pn;
		snprintf(path, sizeof path, "%s/%s/%s/index.m3u8", root, name, rungs[i]);
		if (stat(path, &st) < 0 || now - st.st_mtime > LSP_CHANDIR_LIVE_S)
			continue;
		pl = m; /* master no longer needed beyond rungs[] */
		if ((pn = slurp(path, pl, mcap)) > 0 && !memmem(pl, (size_t)pn, "#EXT-X-ENDLIST", 14))
			live = 1;
	}
	rc = -ENOSPC;
	n = snprintf(out + *off, cap - *off, "{\"name\":\"%s\",\"live\":%s,\"rungs\":[", name, live ? "true" : "false");
	if (n < 0 || (size_t)n >= cap - *off)
		goto out;
	*off += (size_t)n;
	for (int i = 0; i < nr; i++) {
		n = snprintf(out + *off, cap - *off, "%s\"%s\"", i ? "," : "", rungs[i]);
		if (n < 0 || (size_t)n >= cap - *off)
			goto out;
		*off += (size_t)n;
	}
	if (cap - *off < 3)
		goto out;
	memcpy(out + *off, "]}", 3);
	*off += 2;
	rc = 0;
out:
	free(m);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when <root>/<name>/<marker> exists. */
static int marked(const char *root, const char *name, const char *marker)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", root, name, marker) >= sizeof path)
		return 0;
	return access(path, F_OK) == 0;
}

int lsp_chandir_json(const char *root, const char *only, time_t now, char *out, size_t cap)
{
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t off = 0, nn = 0;
	int rc;

	if (cap < 3)
		return -ENOSPC;
	if (only) {
		rc = one(root, only, now, out, cap, &off);
		return rc < 0 ? rc : (int)off;
	}
	if (!(names = calloc(MAX_CHANNELS, sizeof *names)))
		return -ENOMEM;
	out[off++] = '[';
	if (!(d = opendir(root))) {
		rc = errno == ENOENT ? 0 : -errno; /* no root yet: no channels */
		if (rc < 0)
			goto fail;
	} else {
		while ((de = readdir(d)) && nn < MAX_CHANNELS)
			if (lsp_name_valid(de->d_name) && !(names[nn++] = strdup(de->d_name))) {
				rc = -ENOMEM;
				goto fail;
			}
		qsort(names, nn, sizeof *names, cmp_str);
	}
	for (size_t i = 0; i < nn; i++) {
		size_t before = off;
		if (off > 1) {
			if (off + 1 >= cap) { rc = -ENOSPC; goto fail; }
			out[off++] = ',';
		}
		rc = marked(root, names[i], LSP_CHANDIR_UNLISTED) ? -ENOENT : one(root, names[i], now, out, cap, &off);
		if (rc == -ENOENT) {
			off = before;
			continue;
		}
		if (rc < 0)
			goto fail;
	}
	if (off + 2 > cap) {
		rc = -ENOSPC;
		goto fail;
	}
	out[off++] = ']';
	out[off] = 0;
	rc = (int)off;
fail:
	if (d)
		closedir(d);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}

int lsp_chandir_hide(const char *root, const char *name, int hidden)
{
	char dir[4096], path[4200];
	int fd;
	if (!lsp_name_valid(name))
		return -EINVAL;
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
		return -ENAMETOOLONG;
	snprintf(path, sizeof path, "%s/" LSP_CHANDIR_HIDDEN, dir);
	if (!hidden)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if ((mkdir(root, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return -errno;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Create (on) or remove <root>/<name>/<marker>; the directories exist. */
static int mark(const char *root, const char *name, const char *marker, int on)
{
	char path[4200];
	int fd;
	if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", root, name, marker) >= sizeof path)
		return -ENAMETOOLONG;
	if (!on)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	close(fd);
	return 0;
}

int lsp_chandir_access(const char *root, const char *name)
{
	if (!lsp_name_valid(name))
		return 0;
	return (marked(root, name, LSP_CHANDIR_UNLISTED) ? LSP_CHANDIR_F_UNLISTED : 0) |
	       (marked(root, name, LSP_CHANDIR_SIGNED) ? LSP_CHANDIR_F_SIGNED : 0);
}

int lsp_chandir_set_access(const char *root, const char *name, int flags)
{
	char dir[4096];
	int rc;
	if (!lsp_name_valid(name))
		return -EINVAL;
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
		return -ENAMETOOLONG;
	if (flags && ((mkdir(root, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST)))
		return -errno;
	/* .signed first: a channel made private is closed before it leaves
	 * the listings, and one made public is opened while still unlisted */
	if ((rc = mark(root, name, LSP_CHANDIR_SIGNED, flags & LSP_CHANDIR_F_SIGNED)) < 0 ||
	    (rc = mark(root, name, LSP_CHANDIR_UNLISTED, flags & LSP_CHANDIR_F_UNLISTED)) < 0)
		return rc;
	return 0;
}

int lsp_chandir_set_ladder(const char *root, const char *name, int ladder)
{
	char dir[4096];
	int rc;
	if (!lsp_name_valid(name) || ladder < 0 || ladder > 2)
		return -EINVAL;
	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
		return -ENAMETOOLONG;
	if (ladder && ((mkdir(root, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST)))
		return -errno;
	/* the markers not wanted go first: a pipeline starting in between
	 * reads the default, never both */
	if ((ladder != 1 && (rc = mark(root, name, LSP_CHANDIR_LADDER_ALWAYS, 0)) < 0) ||
	    (ladder != 2 && (rc = mark(root, name, LSP_CHANDIR_LADDER_OFF, 0)) < 0) ||
	    (ladder && (rc = mark(root, name, ladder == 1 ? LSP_CHANDIR_LADDER_ALWAYS : LSP_CHANDIR_LADDER_OFF, 1)) < 0))
		return rc;
	return 0;
}

int lsp_chandir_ladder(const char *root, const char *name)
{
	int always, off;
	if (!lsp_name_valid(name))
		return 0;
	always = marked(root, name, LSP_CHANDIR_LADDER_ALWAYS);
	off = marked(root, name, LSP_CHANDIR_LADDER_OFF);
	return always == off ? 0 : always ? 1 : 2;
}
