/* fsio.c — atomic file publication; see fsio.h for the contract.
 * Holds no state: every call opens, writes and closes its own descriptor. */
#include "core/fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_join(char *dst, size_t cap, const char *dir, const char *pre, const char *name,
		     const char *suf)
{
	int n = snprintf(dst, cap, "%s/%s%s%s", dir, pre, name, suf);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int lsp_fsio_publish(const char *dir, const char *name, const void *buf, size_t len, int flags,
		     char *err, size_t errcap)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	const unsigned char *p = buf;
	int fd = -1, rc;

	if ((rc = path_join(tmp, sizeof tmp, dir, ".", name, ".tmp")) < 0 ||
	    (rc = path_join(dst, sizeof dst, dir, "", name, "")) < 0) {
		snprintf(err, errcap, "path too long: %s/%s", dir, name);
		return rc;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "unable to create %s: %s", tmp, strerror(errno));
		return rc;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			snprintf(err, errcap, "unable to write %s: %s", tmp, strerror(-rc));
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if ((flags & LSP_FSIO_SYNC) && fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errcap, "unable to sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		snprintf(err, errcap, "unable to close %s: %s", tmp, strerror(-rc));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0) {
		rc = -errno;
		snprintf(err, errcap, "unable to rename %s to %s: %s", tmp, dst, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int lsp_fsio_mkdirs(const char *dir, char *err, size_t errcap)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);
	struct stat sb;

	if (n == 0 || n >= sizeof path) {
		snprintf(err, errcap, "bad directory name");
		return -ENAMETOOLONG;
	}
	memcpy(path, dir, n + 1);
	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			snprintf(err, errcap, "unable to create %s: %s", path, strerror(e));
			return -e;
		}
		*s = c;
		if (c == 0)
			break;
	}
	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errcap, "%s is not a directory", path);
		return -ENOTDIR;
	}
	if (access(path, W_OK | X_OK) < 0) {
		int e = errno;
		snprintf(err, errcap, "%s is not writable: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int lsp_fsio_unlink(const char *dir, const char *name, char *err, size_t errcap)
{
	char p[PATH_MAX];
	if (path_join(p, sizeof p, dir, "", name, "") < 0) {
		snprintf(err, errcap, "path too long: %s/%s", dir, name);
		return -ENAMETOOLONG;
	}
	if (unlink(p) < 0 && errno != ENOENT) {
		int e = errno;
		snprintf(err, errcap, "unable to remove %s: %s", p, strerror(e));
		return -e;
	}
	return 0;
}

int lsp_fsio_kv_get(const char *dir, const char *name, const char *key, char *out, size_t cap)
{
	char path[PATH_MAX], line[256];
	size_t kl = strlen(key);
	FILE *f;
	int rc = -ENOENT;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -ENAMETOOLONG;
	if (!(f = fopen(path, "r")))
		return -ENOENT;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			char *v = line + kl + 1;
			v[strcspn(v, "\r\n")] = 0;
			rc = snprintf(out, cap, "%s", v) >= (int)cap ? -ENOSPC : 0;
			break;
		}
	}
	(void)fclose(f); /* read only */
	return rc;
}
