/* hookq.h — one receiver's bounded delivery queue in lsp-hook (hook/hook
 * keeps one per receiver URL): webhook events in arrival order, each
 * retried with exponential backoff until delivered, rejected or too old.
 * Pure data structure: no I/O, no clock (the caller passes now_ms), no
 * locking (the caller holds its own lock).
 *
 * Order: strictly FIFO.  Only the head is handed out, so a receiver sees a
 * channel's publish → live → health → ended in order, and while it is down
 * the head's backoff holds back the rest of this queue (one endpoint: the
 * others would fail the same way); other receivers' queues go on.
 * Bound: at most cap events.  Pushing onto a full queue drops the oldest
 * event (its name is copied to *dropped so the caller logs and counts it);
 * nothing is dropped silently.
 * Memory: the ring starts at LSP_HOOKQ_MIN slots and doubles as events
 * come (up to cap), halving again when it is three quarters empty, so an
 * idle queue costs a few hundred bytes and slots stay under 4 × len +
 * LSP_HOOKQ_MIN; each body is one allocation, freed at pop.
 * Backoff: after the n-th failed attempt the head waits
 * min(base_ms * 2^(n-1), max_ms); lsp_hookq_fail reports when the event
 * is older than max_age_ms instead, and the caller drops it. */
#ifndef LSP_HOOKQ_H
#define LSP_HOOKQ_H
#include <stddef.h>
#include <stdint.h>

#define LSP_HOOKQ_EVENT 16   /* "publish", "live", "health", "ended" */
#define LSP_HOOKQ_CHANNEL 80
#define LSP_HOOKQ_ID 40
#define LSP_HOOKQ_MIN 8      /* slots of a new ring */

typedef struct {
	char event[LSP_HOOKQ_EVENT];
	char channel[LSP_HOOKQ_CHANNEL];
	char id[LSP_HOOKQ_ID];   /* the delivery id, the same on every retry */
	char *body;              /* owned by the queue */
	size_t len;
	int attempts;            /* failed attempts so far */
	int64_t first_ms, due_ms;
} lsp_hookq_item;

typedef struct lsp_hookq lsp_hookq;

/* NULL on a zero cap or out of memory. */
lsp_hookq *lsp_hookq_new(size_t cap);
void lsp_hookq_free(lsp_hookq *q);

/* Queue a copy of body (due at once).  0 queued, 1 queued after dropping
 * the oldest (its event and channel copied into *dropped when not NULL),
 * -ENOMEM (nothing queued, nothing dropped), -EINVAL (event, channel or id
 * too long). */
int lsp_hookq_push(lsp_hookq *q, const char *event, const char *channel, const char *id, const char *body,
		   size_t len, int64_t now_ms, lsp_hookq_item *dropped);

size_t lsp_hookq_len(const lsp_hookq *q);
/* Slots the ring has now (its memory: slots × sizeof(lsp_hookq_item)). */
size_t lsp_hookq_slots(const lsp_hookq *q);

/* -1 when empty, 0 when the head is due at now_ms, else the ms until it is. */
int64_t lsp_hookq_wait_ms(const lsp_hookq *q, int64_t now_ms);

/* The head (valid until the next push, pop or free), or NULL when empty. */
const lsp_hookq_item *lsp_hookq_head(const lsp_hookq *q);

/* The head is delivered (or given up): free it and move on (the ring may
 * shrink: a failed shrink keeps the larger ring). */
void lsp_hookq_pop(lsp_hookq *q);

/* The head's attempt failed: count it and schedule the retry.  Returns 0,
 * or 1 when the head is older than max_age_ms (the caller pops it). */
int lsp_hookq_fail(lsp_hookq *q, int64_t now_ms, int base_ms, int max_ms, int64_t max_age_ms);

/* The wait after the n-th failure (n >= 1): min(base_ms * 2^(n-1), max_ms). */
int64_t lsp_hookq_backoff(int n, int base_ms, int max_ms);

#endif
