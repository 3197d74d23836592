/* jobpool.h — blocking work off an event loop: a bounded queue, a few
 * threads that run the owner's function on each job, and an eventfd that
 * wakes the owner's loop when jobs are done.  lsp-rtc posts its WHIP
 * admission webhooks this way (core/hookpool), lsp-api runs scrypt
 * (api/pwpool), lsp-hook posts its events (hook/hook).
 *
 *   loop ──submit(job)──▶ [queue] ──▶ threads: run(ctx, job)
 *   loop ◀── eventfd ─── [done list] ◀───────┘
 *
 * A job is the caller's struct with an lsp_job in it (first, so the
 * caller casts back; or anywhere, with offsetof): the pool links jobs
 * through it and allocates nothing per job.  The bound is one of two
 * counts, chosen at new: LSP_JOBPOOL_QUEUED counts the jobs waiting for
 * a thread; LSP_JOBPOOL_HELD counts every job inside (waiting, running,
 * done and not yet collected).  A submit past it is refused at once
 * (-EAGAIN) — the caller answers "busy" rather than let the wait grow.
 *
 * Ownership: the caller owns a job except between a successful submit and
 * the lsp_jobpool_done that hands it back.  lsp_jobpool_free stops the
 * threads, waits for the jobs running (each ends when run returns: run
 * must bound its own time) and hands every job still inside, run or not,
 * to free_job (NULL: they are left to the caller, who must own them some
 * other way).
 *
 * Threads: submit, done, held, queued and free are for one thread, the
 * owner's loop.  run is called on a pool thread with no lock held, one
 * job at a time per thread, several jobs at once across threads: it may
 * touch its job and whatever ctx makes safe, nothing of the pool.  One
 * mutex inside guards the queue, the done list and the counts. */
#ifndef LSP_JOBPOOL_H
#define LSP_JOBPOOL_H

typedef struct lsp_job {
	struct lsp_job *next;      /* the pool's while inside; links the done list */
} lsp_job;

enum { LSP_JOBPOOL_QUEUED, LSP_JOBPOOL_HELD }; /* what qmax bounds */

typedef void (*lsp_jobpool_fn)(void *ctx, lsp_job *job);

typedef struct lsp_jobpool lsp_jobpool;

/* Start threads (1..64) running run(ctx, job) for each job, at most qmax
 * (1..65536) jobs counted as bound says.  0, -EINVAL, -ENOMEM, or -errno
 * of eventfd / pthread_create (nothing left behind). */
int lsp_jobpool_new(lsp_jobpool **out, int threads, int qmax, int bound, lsp_jobpool_fn run,
		    lsp_jobpool_fn free_job, void *ctx);
/* The descriptor that turns readable when jobs are done (poll it for input). */
int lsp_jobpool_fd(const lsp_jobpool *p);
/* Queue job: 0, or -EAGAIN at the bound (job stays the caller's). */
int lsp_jobpool_submit(lsp_jobpool *p, lsp_job *job);
/* Finished jobs, oldest first, as a list linked by next (NULL: none); they
 * are the caller's again.  Clears the descriptor's readiness. */
lsp_job *lsp_jobpool_done(lsp_jobpool *p);
/* Jobs inside now (waiting, running, done and not collected). */
int lsp_jobpool_held(lsp_jobpool *p);
/* Jobs waiting for a thread now. */
int lsp_jobpool_queued(lsp_jobpool *p);
/* Stop and join the threads, hand every job still inside to free_job.
 * NULL is fine. */
void lsp_jobpool_free(lsp_jobpool *p);

#endif
