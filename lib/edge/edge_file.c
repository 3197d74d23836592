/* edge_file.c — lsp-edge's files and bodies: opening a path below a root
 * without ever leaving it, reading a small file whole into a shared body,
 * and the MIME type of a name.  A body is owned by its references: the
 * last edge_body_put frees it.  Internal; see edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void edge_body_put(edge_body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

edge_body *edge_body_from(const char *s, size_t n)
{
	edge_body *b = malloc(sizeof *b + n + 1);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = n;
	if (n)
		memcpy(b->data, s, n);
	b->data[n] = 0;
	return b;
}

/* openat2 RESOLVE_BENEATH; a kernel without it gets a plain openat that
 * refuses ".." and absolute paths and follows no final symlink. */
int edge_open_beneath(int dfd, const char *rel, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS) {
		if (strstr(rel, "..") || rel[0] == '/')
			return errno = EACCES, -1;
		fd = openat(dfd, rel, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	}
	return (int)fd;
}

edge_body *edge_read_body(int dfd, const char *rel)
{
	int fd = edge_open_beneath(dfd, rel, O_RDONLY);
	struct stat st;
	edge_body *b = NULL;
	size_t got = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PLAYLIST_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : ENOENT;
		goto fail;
	}
	if (!(b = malloc(sizeof *b + (size_t)st.st_size + 1)))
		goto fail;
	b->refs = 1;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b->data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	b->len = got;
	b->data[got] = 0;
	close(fd);
	return b;
fail:
	free(b);
	close(fd);
	return NULL;
}

const char *edge_mime_of(const char *path)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".m3u8", EDGE_PLAYLIST_TYPE }, { ".m4s", "video/iso.segment" },
		{ ".mp4", "video/mp4" }, { ".ts", "video/mp2t" }, { ".aac", "audio/aac" },
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".jpg", "image/jpeg" }, { ".ico", "image/x-icon" }, { ".txt", "text/plain; charset=utf-8" },
		{ ".map", "application/json" }, { ".vtt", "text/vtt" }, { ".webp", "image/webp" },
		{ ".webmanifest", "application/manifest+json" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (edge_ends_with(path, t[i].ext))
			return t[i].type;
	return "application/octet-stream";
}

int edge_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int edge_ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}
