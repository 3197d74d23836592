/* pushq.c — ordered, bounded upload queue; see pushq.h for the contract.
 * Media and deletes are rings of cap items; playlists a small set. */
#include "push/pushq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXPL = 64 };

typedef struct {
	lsp_pushq_item *v;
	size_t head, n;
} ring;

struct lsp_pushq {
	size_t cap;
	ring r[2]; /* [0] media, [1] deletes */
	lsp_pushq_item pl[MAXPL];
	size_t npl;
	int last_kind; /* class of the last peek, -1 none */
	size_t last_pl;
};

lsp_pushq *lsp_pushq_new(size_t cap)
{
	lsp_pushq *q;
	if (cap == 0 || !(q = calloc(1, sizeof *q)))
		return NULL;
	q->cap = cap;
	q->last_kind = -1;
	if (!(q->r[0].v = calloc(cap, sizeof(lsp_pushq_item))) || !(q->r[1].v = calloc(cap, sizeof(lsp_pushq_item)))) {
		lsp_pushq_free(q);
		return NULL;
	}
	return q;
}

void lsp_pushq_free(lsp_pushq *q)
{
	if (!q)
		return;
	free(q->r[0].v);
	free(q->r[1].v);
	free(q);
}

int lsp_pushq_kind(const char *path)
{
	size_t n = strlen(path);
	return (n >= 5 && !strcmp(path + n - 5, ".m3u8")) ? LSP_PUSHQ_PLAYLIST : LSP_PUSHQ_MEDIA;
}

static lsp_pushq_item *at(const lsp_pushq *q, const ring *r, size_t i)
{
	return &r->v[(r->head + i) % q->cap];
}

static long find(const lsp_pushq *q, const ring *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(at(q, r, i)->path, path))
			return (long)i;
	return -1;
}

static void remove_at(lsp_pushq *q, ring *r, size_t i)
{
	for (; i + 1 < r->n; i++)
		*at(q, r, i) = *at(q, r, i + 1);
	r->n--;
}

/* Append to a ring; drops the oldest into *dropped when full (returns 1). */
static int push(lsp_pushq *q, ring *r, const char *path, int kind, lsp_pushq_item *dropped)
{
	int rc = 0;
	lsp_pushq_item *it;
	if (r->n == q->cap) {
		if (dropped)
			*dropped = r->v[r->head];
		r->head = (r->head + 1) % q->cap; /* NOLINT(clang-analyzer-core.DivideZero): lsp_pushq_new refuses cap 0 */
		r->n--;
		rc = 1;
	}
	it = at(q, r, r->n++);
	snprintf(it->path, sizeof it->path, "%s", path);
	it->kind = kind;
	it->attempts = 0;
	return rc;
}

int lsp_pushq_add(lsp_pushq *q, const char *path, int del, lsp_pushq_item *dropped)
{
	int kind = lsp_pushq_kind(path);
	long i;

	if (strlen(path) >= LSP_PUSHQ_PATH)
		return -ENAMETOOLONG;
	q->last_kind = -1; /* any add invalidates a peek */
	if (del) {
		int rc = 0;
		if ((i = find(q, &q->r[0], path)) >= 0) {
			if (dropped)
				*dropped = *at(q, &q->r[0], (size_t)i);
			remove_at(q, &q->r[0], (size_t)i);
			rc = 2;
		}
		if (find(q, &q->r[1], path) >= 0)
			return rc;
		if (push(q, &q->r[1], path, LSP_PUSHQ_DELETE, rc ? NULL : dropped) == 1 && rc == 0)
			rc = 1;
		return rc;
	}
	if (kind == LSP_PUSHQ_PLAYLIST) {
		for (size_t j = 0; j < q->npl; j++)
			if (!strcmp(q->pl[j].path, path))
				return 0;
		if (q->npl == MAXPL)
			return -ENOSPC;
		snprintf(q->pl[q->npl].path, LSP_PUSHQ_PATH, "%s", path);
		q->pl[q->npl].kind = kind;
		q->pl[q->npl++].attempts = 0;
		return 0;
	}
	/* a re-upload cancels a pending delete of the same path */
	if ((i = find(q, &q->r[1], path)) >= 0)
		remove_at(q, &q->r[1], (size_t)i);
	if (find(q, &q->r[0], path) >= 0)
		return 0;
	return push(q, &q->r[0], path, kind, dropped);
}

static int depth(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

lsp_pushq_item *lsp_pushq_peek(lsp_pushq *q)
{
	if (q->r[0].n) {
		q->last_kind = LSP_PUSHQ_MEDIA;
		return at(q, &q->r[0], 0);
	}
	if (q->npl) {
		size_t best = 0;
		for (size_t j = 1; j < q->npl; j++)
			if (depth(q->pl[j].path) > depth(q->pl[best].path))
				best = j;
		q->last_kind = LSP_PUSHQ_PLAYLIST;
		q->last_pl = best;
		return &q->pl[best];
	}
	if (q->r[1].n) {
		q->last_kind = LSP_PUSHQ_DELETE;
		return at(q, &q->r[1], 0);
	}
	q->last_kind = -1;
	return NULL;
}

void lsp_pushq_pop(lsp_pushq *q)
{
	ring *r;
	switch (q->last_kind) {
	case LSP_PUSHQ_MEDIA:
	case LSP_PUSHQ_DELETE:
		r = &q->r[q->last_kind == LSP_PUSHQ_MEDIA ? 0 : 1];
		r->head = (r->head + 1) % q->cap;
		r->n--;
		break;
	case LSP_PUSHQ_PLAYLIST:
		q->pl[q->last_pl] = q->pl[--q->npl];
		break;
	default:
		return;
	}
	q->last_kind = -1;
}

size_t lsp_pushq_count(const lsp_pushq *q, int kind)
{
	return kind == LSP_PUSHQ_MEDIA ? q->r[0].n : kind == LSP_PUSHQ_DELETE ? q->r[1].n : q->npl;
}

size_t lsp_pushq_total(const lsp_pushq *q) { return q->r[0].n + q->r[1].n + q->npl; }

/* Sort key of a base name: 0 init, 1 segment/part (n, p; whole = after
 * parts), 2 anything else. */
static int name_key(const char *b, unsigned long long *n, long *p)
{
	char *e;
	if (!strncmp(b, "init", 4))
		return 0;
	if (strncmp(b, "seg", 3) != 0 || b[3] < '0' || b[3] > '9')
		return 2;
	*n = strtoull(b + 3, &e, 10);
	*p = 1L << 30;
	if (*e == '.' && e[1] >= '0' && e[1] <= '9')
		*p = strtol(e + 1, &e, 10);
	return 1;
}

int lsp_pushq_scan_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	size_t dx = bx ? (size_t)(bx - x) : 0, dy = by ? (size_t)(by - y) : 0;
	unsigned long long nx = 0, ny = 0;
	long px = 0, py = 0;
	int c, kx, ky;

	c = strncmp(x, y, dx < dy ? dx : dy);
	if (c || dx != dy)
		return c ? c : (dx < dy ? -1 : 1);
	bx = bx ? bx + 1 : x;
	by = by ? by + 1 : y;
	kx = name_key(bx, &nx, &px);
	ky = name_key(by, &ny, &py);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (kx == 1) {
		if (nx != ny)
			return nx < ny ? -1 : 1;
		if (px != py)
			return px < py ? -1 : 1;
	}
	return strcmp(bx, by);
}
