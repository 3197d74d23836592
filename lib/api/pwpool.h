/* pwpool.h — password hashing off the event loop: a few worker threads
 * run scrypt (lib/api/passwd.c, tens of ms a call) while lsp-api's loop
 * keeps answering other requests.
 *
 *   loop ──submit(job)──▶ [queue, at most qmax] ──▶ worker threads (scrypt)
 *   loop ◀─ eventfd ── [done list] ◀───────────────────┘
 *
 * The loop submits a job; a worker takes it, hashes or verifies, puts it
 * on the done list and wakes the loop through the descriptor that
 * lsp_pwpool_fd returns; the loop then takes finished jobs back with
 * lsp_pwpool_done.  A full queue refuses the job at once (-EAGAIN): the
 * caller answers 503 rather than let the wait grow.  Ownership: the caller
 * owns a job except between a successful submit and the done call that
 * hands it back; lsp_pwpool_free joins the workers and frees every job
 * still inside with free_job.  Submit, done and free are for one thread
 * (the loop).  The queue and the threads are core/jobpool's (bound:
 * LSP_JOBPOOL_QUEUED, the jobs waiting); this file is the scrypt job. */
#ifndef LSP_PWPOOL_H
#define LSP_PWPOOL_H
#include <stddef.h>

#include "api/passwd.h"
#include "core/jobpool.h"

#define LSP_PWPOOL_PW_MAX 256 /* longest password a job carries */

enum { LSP_PWPOOL_HASH, LSP_PWPOOL_VERIFY };

typedef struct lsp_pwjob {
	lsp_job job;                          /* the pool's */
	int op;                               /* LSP_PWPOOL_HASH or _VERIFY */
	int log2n;                            /* HASH: cost */
	char pw[LSP_PWPOOL_PW_MAX + 1];       /* wiped once the work is done */
	char hash[LSP_PASSWD_HASH_MAX];       /* VERIFY: the stored hash; HASH: the result */
	int rc;                               /* lsp_passwd_hash / lsp_passwd_verify's answer */
	void *arg;                            /* the caller's, untouched */
	struct lsp_pwjob *next;               /* links the list lsp_pwpool_done returns */
} lsp_pwjob;

typedef struct lsp_pwpool lsp_pwpool;

/* Start threads workers (1..64) with a queue of qmax jobs (1..65536).
 * free_job frees a job left inside at lsp_pwpool_free (may be NULL: free()).
 * 0, -EINVAL, -ENOMEM, or -errno of eventfd / pthread_create. */
int lsp_pwpool_new(lsp_pwpool **out, int threads, int qmax, void (*free_job)(lsp_pwjob *));
/* The descriptor that turns readable when jobs are done (poll it for input). */
int lsp_pwpool_fd(const lsp_pwpool *p);
/* Queue job: 0, or -EAGAIN when the queue is full (job stays the caller's). */
int lsp_pwpool_submit(lsp_pwpool *p, lsp_pwjob *job);
/* Finished jobs, oldest first, as a list linked by next (NULL: none). */
lsp_pwjob *lsp_pwpool_done(lsp_pwpool *p);
/* Jobs waiting in the queue now. */
int lsp_pwpool_queued(lsp_pwpool *p);
/* Stop and join the workers, free every job still inside.  NULL is fine. */
void lsp_pwpool_free(lsp_pwpool *p);

/* Do job's work here, in the calling thread (what a worker does). */
void lsp_pwpool_run(lsp_pwjob *job);

#endif
