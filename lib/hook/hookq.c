/* hookq.c — a ring of webhook events, oldest first, that grows to cap and
 * shrinks back; see hookq.h.  The queue owns each item's body from push to
 * pop (or drop). */
#include "hook/hookq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lsp_hookq {
	lsp_hookq_item *ring;
	size_t size;               /* slots in ring */
	size_t cap, head, n;
};

lsp_hookq *lsp_hookq_new(size_t cap)
{
	lsp_hookq *q;
	if (cap == 0 || cap > ((size_t)1 << 24))
		return NULL;
	if (!(q = calloc(1, sizeof *q)))
		return NULL;
	q->size = cap < LSP_HOOKQ_MIN ? cap : LSP_HOOKQ_MIN;
	if (!(q->ring = calloc(q->size, sizeof *q->ring))) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	return q;
}

/* Move the events into a ring of size slots (>= n), oldest at 0. */
static int resize(lsp_hookq *q, size_t size)
{
	lsp_hookq_item *r;
	if (size == 0 || size < q->n)
		return -EINVAL;
	if (!(r = calloc(size, sizeof *r)))
		return -ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		r[i] = q->ring[(q->head + i) % q->size];
	free(q->ring);
	q->ring = r;
	q->size = size;
	q->head = 0;
	return 0;
}

void lsp_hookq_free(lsp_hookq *q)
{
	if (!q)
		return;
	while (q->n)
		lsp_hookq_pop(q);
	free(q->ring);
	free(q);
}

/* Free the head and move on (n > 0). */
static void drop_head(lsp_hookq *q)
{
	free(q->ring[q->head].body);
	memset(&q->ring[q->head], 0, sizeof q->ring[q->head]);
	q->head = (q->head + 1) % q->size;
	q->n--;
}

static int cpy(char *dst, size_t cap, const char *s)
{
	int n = snprintf(dst, cap, "%s", s ? s : "");
	return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

int lsp_hookq_push(lsp_hookq *q, const char *event, const char *channel, const char *id, const char *body,
		   size_t len, int64_t now_ms, lsp_hookq_item *dropped)
{
	lsp_hookq_item it = { 0 };
	int rc = 0;
	if (cpy(it.event, sizeof it.event, event) < 0 || cpy(it.channel, sizeof it.channel, channel) < 0 ||
	    cpy(it.id, sizeof it.id, id) < 0)
		return -EINVAL;
	if (!(it.body = malloc(len + 1)))
		return -ENOMEM;
	if (len)
		memcpy(it.body, body, len);
	it.body[len] = 0;
	it.len = len;
	it.first_ms = it.due_ms = now_ms;
	if (q->n == q->cap) { /* full: the oldest goes (the ring stays as it is) */
		if (dropped) {
			memcpy(dropped, &q->ring[q->head], sizeof *dropped);
			dropped->body = NULL;
		}
		drop_head(q);
		rc = 1;
	} else if (q->n == q->size && resize(q, q->size * 2 < q->cap ? q->size * 2 : q->cap) < 0) {
		free(it.body);
		return -ENOMEM;
	}
	q->ring[(q->head + q->n) % q->size] = it;
	q->n++;
	return rc;
}

size_t lsp_hookq_len(const lsp_hookq *q)
{
	return q->n;
}

int64_t lsp_hookq_wait_ms(const lsp_hookq *q, int64_t now_ms)
{
	const lsp_hookq_item *h = lsp_hookq_head(q);
	if (!h)
		return -1;
	return h->due_ms <= now_ms ? 0 : h->due_ms - now_ms;
}

const lsp_hookq_item *lsp_hookq_head(const lsp_hookq *q)
{
	return q->n ? &q->ring[q->head] : NULL;
}

void lsp_hookq_pop(lsp_hookq *q)
{
	if (!q->n)
		return;
	drop_head(q);
	if (q->size > LSP_HOOKQ_MIN && q->n < q->size / 4)
		(void)resize(q, q->size / 2); /* failed: the larger ring stays */
}

size_t lsp_hookq_slots(const lsp_hookq *q)
{
	return q->size;
}

int64_t lsp_hookq_backoff(int n, int base_ms, int max_ms)
{
	int64_t d = base_ms > 0 ? base_ms : 1;
	for (int i = 1; i < n && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

int lsp_hookq_fail(lsp_hookq *q, int64_t now_ms, int base_ms, int max_ms, int64_t max_age_ms)
{
	lsp_hookq_item *h;
	if (!q->n)
		return 0;
	h = &q->ring[q->head];
	h->attempts++;
	if (now_ms - h->first_ms >= max_age_ms)
		return 1;
	h->due_ms = now_ms + lsp_hookq_backoff(h->attempts, base_ms, max_ms);
	return 0;
}
