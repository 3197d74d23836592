/* ring.c — shared-memory access-unit ring; see ring.h for the contract.
 * The writer owns the mapping's contents; readers map it read-only and
 * validate every copy (seqlock-style), so nothing a reader does can stall
 * or corrupt the writer.  The lsp_ring handle (mapping, fd) is owned by
 * whoever opened it. */
#include "media/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RING_MAGIC 0x5250534cu /* "LSPR" */
#define RING_VERSION 1

struct hdr {
	uint32_t magic, version, nslots, pad0;
	uint64_t cap;
	_Atomic uint64_t generation;
	_Atomic uint64_t head;     /* next seq */
	_Atomic uint64_t wres;     /* data reserved up to this absolute byte */
	_Atomic uint64_t last_key; /* newest keyframe seq + 1, 0 = none */
	_Atomic uint32_t ended;
	uint32_t pad1;
	uint64_t pad2[8];
};

struct slot {
	_Atomic uint64_t seq; /* UINT64_MAX while being written */
	uint64_t pos;
	uint32_t len;
	uint8_t kind, flags, pad[2];
	int64_t pts, dts;
};

struct lsp_ring {
	int fd, writer;
	size_t maplen;
	uint32_t nslots; /* geometry as mapped: never re-read from shared memory */
	uint64_t cap;
	struct hdr *h;
	struct slot *slots;
	uint8_t *data;
};

/* 1 when st is a directory (or file) only this user controls: owned by the
 * effective uid and writable by nobody else. */
static int owned(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* FNV-1a: a short, stable name for an instance's data directory. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

int lsp_ring_dir(char *out, size_t cap)
{
	const char *dir = getenv("LSP_RING_DIR"), *data = getenv("LSP_DATA_DIR");
	char abs[4096], cwd[2048];
	struct stat st;
	int n;
	if (dir && *dir) {
		n = snprintf(out, cap, "%s", dir);
	} else {
		if (!data || !*data)
			data = "./var";
		if (!realpath(data, abs)) { /* not made yet: name it as it will be */
			if (data[0] == '/')
				n = snprintf(abs, sizeof abs, "%s", data);
			else if (getcwd(cwd, sizeof cwd))
				n = snprintf(abs, sizeof abs, "%s/%s", cwd, data);
			else
				return -errno;
			if (n < 0 || (size_t)n >= sizeof abs)
				return -ENAMETOOLONG;
		}
		n = snprintf(out, cap, "/dev/shm/lsp-%u-%016llx", (unsigned)geteuid(),
			     (unsigned long long)fnv1a(abs));
		if (n >= 0 && (size_t)n < cap && mkdir(out, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	if (lstat(out, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return owned(&st) ? 0 : -EPERM;
}

static int ring_name(const char *prefix, const char *channel, char *out, size_t cap)
{
	int rc = lsp_ring_dir(out, cap), n;
	size_t l;
	if (rc < 0)
		return rc;
	l = strlen(out);
	n = snprintf(out + l, cap - l, "/%s%s", prefix, channel);
	return (n < 0 || (size_t)n >= cap - l) ? -ENAMETOOLONG : 0;
}

int lsp_ring_path(const char *channel, char *out, size_t cap)
{
	return ring_name("lsp-ring-", channel, out, cap);
}

int lsp_ring_ts_path(const char *channel, char *out, size_t cap)
{
	return ring_name("lsp-ts-", channel, out, cap);
}

int lsp_ring_want(const char *name)
{
	char path[512];
	int rc = ring_name("lsp-want-", name, path, sizeof path), fd;
	if (rc < 0)
		return rc;
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	close(fd);
	return 0;
}

double lsp_ring_want_age(const char *name)
{
	char path[512];
	struct stat sb;
	struct timespec now;
	if (ring_name("lsp-want-", name, path, sizeof path) < 0 || stat(path, &sb) != 0)
		return 1e9;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(now.tv_sec - sb.st_mtim.tv_sec) + (double)(now.tv_nsec - sb.st_mtim.tv_nsec) / 1e9;
}

static size_t map_len(uint32_t nslots, uint64_t cap)
{
	return sizeof(struct hdr) + (size_t)nslots * sizeof(struct slot) + (size_t)cap;
}

static void layout(lsp_ring *r, uint32_t nslots, uint64_t cap)
{
	r->nslots = nslots;
	r->cap = cap;
	r->slots = (struct slot *)(r->h + 1);
	r->data = (uint8_t *)(r->slots + nslots);
}

static int map_fd(lsp_ring *r, int prot, char *err, size_t errcap)
{
	void *p = mmap(NULL, r->maplen, prot, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		snprintf(err, errcap, "mmap: %s", strerror(e));
		return -e;
	}
	r->h = p;
	return 0;
}

int lsp_ring_create(lsp_ring **out, const char *path, uint32_t nslots, uint64_t cap, char *err,
		    size_t errcap)
{
	lsp_ring *r = NULL;
	struct stat st;
	int rc, reuse = 0;
	if (nslots < 16 || (nslots & (nslots - 1)) || nslots > (1u << 20) || cap < 65536 ||
	    cap > (1ull << 32)) {
		snprintf(err, errcap, "bad ring geometry");
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->fd = -1;
	r->writer = 1;
	r->maplen = map_len(nslots, cap);
	r->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd >= 0 && (fstat(r->fd, &st) < 0 || !owned(&st))) { /* planted by someone else */
		snprintf(err, errcap, "%s: not owned by this user", path);
		rc = -EPERM;
		goto fail;
	}
	if (r->fd >= 0 && flock(r->fd, LOCK_EX | LOCK_NB) < 0) { /* one writer per ring */
		snprintf(err, errcap, "%s: another writer holds it", path);
		rc = -EBUSY;
		goto fail;
	}
	if (r->fd >= 0 && fstat(r->fd, &st) == 0 && (size_t)st.st_size == r->maplen &&
	    map_fd(r, PROT_READ | PROT_WRITE, err, errcap) == 0) {
		/* map_fd's 0 means r->h is set; clang-tidy 14 cannot tell -errno from 0 */
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		if (r->h->magic == RING_MAGIC && r->h->version == RING_VERSION && r->h->nslots == nslots &&
		    r->h->cap == cap)
			reuse = 1;
		else {
			munmap(r->h, r->maplen);
			r->h = NULL;
		}
	}
	if (!reuse) {
		if (r->fd >= 0) { /* other geometry: readers keep the old file */
			close(r->fd);
			unlink(path);
		}
		r->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (r->fd < 0) {
			rc = -errno;
			snprintf(err, errcap, "open %s: %s", path, strerror(-rc));
			goto fail;
		}
		if (flock(r->fd, LOCK_EX | LOCK_NB) < 0) {
			snprintf(err, errcap, "%s: another writer holds it", path);
			rc = -EBUSY;
			goto fail;
		}
		if (ftruncate(r->fd, (off_t)r->maplen) < 0) {
			rc = -errno;
			snprintf(err, errcap, "ftruncate %s: %s", path, strerror(-rc));
			goto fail;
		}
		if ((rc = map_fd(r, PROT_READ | PROT_WRITE, err, errcap)) < 0)
			goto fail;
		memset(r->h, 0, sizeof *r->h); /* NOLINT(clang-analyzer-core.NonNullParamChecker): as above */
		r->h->nslots = nslots;
		r->h->cap = cap;
		r->h->version = RING_VERSION;
		layout(r, nslots, cap);
		for (uint32_t i = 0; i < nslots; i++)
			atomic_store(&r->slots[i].seq, UINT64_MAX);
		atomic_thread_fence(memory_order_seq_cst);
		r->h->magic = RING_MAGIC;
	}
	layout(r, nslots, cap);
	atomic_store(&r->h->last_key, 0);
	atomic_store(&r->h->ended, 0);
	atomic_fetch_add(&r->h->generation, 1);
	*out = r;
	return 0;
fail:
	lsp_ring_close(r);
	return rc;
}

int lsp_ring_write(lsp_ring *r, int kind, int flags, int64_t pts, int64_t dts, const uint8_t *data,
		   size_t len)
{
	struct hdr *h = r->h;
	uint64_t n, pos, off;
	struct slot *s;
	if (!r->writer || (kind != LSP_RING_VIDEO && kind != LSP_RING_AUDIO && kind != LSP_RING_TS))
		return -EINVAL;
	if (len > r->cap / 4)
		return -E2BIG;
	n = atomic_load_explicit(&h->head, memory_order_relaxed);
	pos = atomic_load_explicit(&h->wres, memory_order_relaxed);
	off = pos % r->cap;
	if (off + len > r->cap) /* never split an entry: pad to the start */
		pos += r->cap - off;
	s = &r->slots[n & (r->nslots - 1)];
	atomic_store(&s->seq, UINT64_MAX);
	atomic_store(&h->wres, pos + len); /* readers of older bytes now see them as gone */
	atomic_thread_fence(memory_order_seq_cst);
	memcpy(r->data + pos % r->cap, data, len);
	s->pos = pos;
	s->len = (uint32_t)len;
	s->kind = (uint8_t)kind;
	s->flags = (uint8_t)flags;
	s->pts = pts;
	s->dts = dts;
	atomic_thread_fence(memory_order_seq_cst);
	atomic_store(&s->seq, n);
	if (flags & LSP_RING_KEY)
		atomic_store(&h->last_key, n + 1);
	atomic_store(&h->head, n + 1);
	return 0;
}

void lsp_ring_end(lsp_ring *r)
{
	if (r && r->writer)
		atomic_store(&r->h->ended, 1);
}

int lsp_ring_open(lsp_ring **out, const char *path, char *err, size_t errcap)
{
	lsp_ring *r = NULL;
	struct stat st;
	struct hdr hd;
	int rc;
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "open %s: %s", path, strerror(-rc));
		goto fail;
	}
	if (fstat(r->fd, &st) == 0 && !owned(&st)) {
		snprintf(err, errcap, "%s: not owned by this user", path);
		rc = -EPERM;
		goto fail;
	}
	if (fstat(r->fd, &st) < 0 || (size_t)st.st_size < sizeof hd ||
	    pread(r->fd, &hd, sizeof hd, 0) != (ssize_t)sizeof hd || hd.magic != RING_MAGIC ||
	    hd.version != RING_VERSION || hd.nslots < 16 || (hd.nslots & (hd.nslots - 1)) ||
	    (size_t)st.st_size != map_len(hd.nslots, hd.cap)) {
		snprintf(err, errcap, "%s: not an lsp ring", path);
		rc = -EINVAL;
		goto fail;
	}
	r->maplen = (size_t)st.st_size;
	if ((rc = map_fd(r, PROT_READ, err, errcap)) < 0)
		goto fail;
	layout(r, hd.nslots, hd.cap);
	*out = r;
	return 0;
fail:
	lsp_ring_close(r);
	return rc;
}

uint64_t lsp_ring_head(const lsp_ring *r)
{
	return atomic_load(&r->h->head);
}

uint64_t lsp_ring_generation(const lsp_ring *r)
{
	return atomic_load(&r->h->generation);
}

int lsp_ring_ended(const lsp_ring *r)
{
	return (int)atomic_load(&r->h->ended);
}

static int held(const lsp_ring *r, uint64_t seq, uint64_t head)
{
	const struct slot *s = &r->slots[seq & (r->nslots - 1)];
	uint64_t pos;
	if (seq >= head || head - seq > r->nslots)
		return 0;
	if (atomic_load(&((struct slot *)s)->seq) != seq)
		return 0;
	pos = s->pos;
	return atomic_load(&r->h->wres) - pos <= r->cap;
}

uint64_t lsp_ring_seek_key(const lsp_ring *r)
{
	uint64_t head = lsp_ring_head(r), k = atomic_load(&r->h->last_key);
	if (k && held(r, k - 1, head))
		return k - 1;
	return head;
}

int lsp_ring_read(const lsp_ring *r, uint64_t seq, lsp_ring_entry *e, uint8_t *buf, size_t cap)
{
	struct slot *s = &r->slots[seq & (r->nslots - 1)];
	uint64_t head = atomic_load(&r->h->head), pos;
	size_t len;
	if (seq >= head)
		return -EAGAIN;
	if (head - seq > r->nslots || atomic_load(&s->seq) != seq)
		return LSP_RING_OVERRUN;
	pos = s->pos;
	len = s->len;
	e->seq = seq;
	e->pts = s->pts;
	e->dts = s->dts;
	e->kind = s->kind;
	e->flags = s->flags;
	e->len = len;
	if (len > r->cap / 4 || pos % r->cap + len > r->cap)
		return LSP_RING_OVERRUN; /* torn (or a writer gone wrong): never read past the data */
	if (len > cap) {
		atomic_thread_fence(memory_order_seq_cst);
		return atomic_load(&s->seq) == seq ? -ENOSPC : LSP_RING_OVERRUN;
	}
	memcpy(buf, r->data + pos % r->cap, len);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&s->seq) != seq || atomic_load(&r->h->wres) - pos > r->cap)
		return LSP_RING_OVERRUN;
	return 0;
}

void lsp_ring_close(lsp_ring *r)
{
	if (!r)
		return;
	if (r->h)
		munmap(r->h, r->maplen);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int lsp_ring_replaced(const lsp_ring *r, const char *path)
{
	struct stat a, b;
	if (stat(path, &a) < 0 || fstat(r->fd, &b) < 0)
		return 1;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

int lsp_ring_unlink(const char *path)
{
	return unlink(path) < 0 ? -errno : 0;
}
