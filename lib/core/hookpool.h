/* hookpool.h — webhook POSTs off an event loop: a few threads run the
 * blocking lsp_webhook_post (core/webhook.h) while the loop that asked
 * keeps serving everyone else; lsp-rtc asks its admission webhook for a
 * WHIP offer this way.
 *
 *   loop ──submit(job)──▶ [queue] ──▶ threads: new poster, POST, free
 *   loop ◀── eventfd ─── [done list] ◀───────────┘
 *
 * Every job carries a deadline (monotonic ms): a thread that takes a job
 * whose deadline is near or past does not post it (status -ETIMEDOUT,
 * "waited too long in the queue"), and posts the others with the time
 * left as the whole-request timeout, so no answer comes later than the
 * deadline however many jobs queue behind a slow receiver.  The pool
 * holds at most qmax jobs at once (queued, being posted, or done and not
 * yet collected): one more is refused at once (-EAGAIN) — the caller
 * answers 503 rather than let the wait grow.  A job names its own url
 * (a channel may have its own receiver); every POST is signed with the
 * pool's secret, which lives only in the pool and is wiped when it is
 * freed.
 *
 * Ownership: the caller owns a job except between a successful submit
 * and the lsp_hookpool_done that hands it back; lsp_hookpool_free joins
 * the threads (a POST in flight ends within its deadline) and free()s
 * every job still inside (jobs are malloc'd by the caller).  Submit, done
 * and free are for one thread (the loop).  The queue and the threads are
 * core/jobpool's (bound: LSP_JOBPOOL_HELD); this file is the POST. */
#ifndef LSP_HOOKPOOL_H
#define LSP_HOOKPOOL_H
#include <stddef.h>

#include "core/jobpool.h"
#include "core/webhook.h"

#define LSP_HOOKPOOL_URL_MAX 2048  /* bytes of a job's url, NUL included */
#define LSP_HOOKPOOL_BODY_MAX 1024 /* bytes of a job's body */
#define LSP_HOOKPOOL_SLACK_MS 50   /* a job with less time left than this is not posted */

typedef struct lsp_hookjob {
	lsp_job job;                        /* the pool's */
	char url[LSP_HOOKPOOL_URL_MAX];     /* http:// or https:// */
	char event[32];                     /* X-LSP-Event */
	char body[LSP_HOOKPOOL_BODY_MAX];
	size_t blen;
	long long deadline_ms;              /* core/clock lsp_clock_mono_ms time */
	unsigned long long id;              /* the caller's, untouched */
	/* the answer: lsp_webhook_post's status (HTTP 100..599, or negative
	 * when none came), the receiver's first line, what went wrong, and
	 * the seconds from submit to done */
	int status;
	char reason[LSP_WEBHOOK_REASON_CAP];
	char err[256];
	double took_s;
	long long submitted_ms;             /* the pool's */
	struct lsp_hookjob *next;           /* links the list lsp_hookpool_done returns */
} lsp_hookjob;

typedef struct lsp_hookpool lsp_hookpool;

/* Start threads (1..64) posting with secret (1..LSP_WEBHOOK_SECRET_MAX
 * bytes), at most qmax (1..65536) jobs held at once.  0, -EINVAL, -ENOMEM,
 * or -errno of eventfd / pthread_create. */
int lsp_hookpool_new(lsp_hookpool **out, int threads, int qmax, const void *secret, size_t slen);
/* The descriptor that turns readable when jobs are done (poll it for input). */
int lsp_hookpool_fd(const lsp_hookpool *p);
/* Queue job (url, event, body, blen, deadline_ms, id filled): 0, -EINVAL
 * (empty url or body too long), or -EAGAIN when the pool holds qmax jobs
 * (job stays the caller's). */
int lsp_hookpool_submit(lsp_hookpool *p, lsp_hookjob *job);
/* Finished jobs, oldest first, as a list linked by next (NULL: none). */
lsp_hookjob *lsp_hookpool_done(lsp_hookpool *p);
/* Jobs the pool holds now (queued, in flight, done and not collected). */
int lsp_hookpool_held(lsp_hookpool *p);
/* Stop and join the threads, free every job still inside.  NULL is fine. */
void lsp_hookpool_free(lsp_hookpool *p);

#endif
