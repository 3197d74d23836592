/* pwpool.h — password hashing off the event loop: a core/jobpool whose
 * threads run scrypt (lib/api/passwd.c, tens of ms a call) while lsp-api's
 * loop keeps answering other requests.
 *
 *   loop ──lsp_jobpool_submit(&job)──▶ [queue, at most qmax waiting] ──▶ threads (scrypt)
 *   loop ◀─ lsp_jobpool_fd ── lsp_jobpool_done ◀─────────────────────────┘
 *
 * This file is the job: lsp_pwpool_new starts the pool (bound: the jobs
 * waiting for a thread, LSP_JOBPOOL_QUEUED), the rest is core/jobpool's
 * (ownership, threads and the full-queue -EAGAIN: see jobpool.h).  A
 * job's password is wiped once the work is done; a job freed unrun at
 * lsp_jobpool_free goes to free_job, which must wipe it (NULL: wiped and
 * free()d here). */
#ifndef LSP_PWPOOL_H
#define LSP_PWPOOL_H
#include <stddef.h>

#include "api/passwd.h"
#include "core/jobpool.h"

#define LSP_PWPOOL_PW_MAX 256 /* longest password a job carries */

enum { LSP_PWPOOL_HASH, LSP_PWPOOL_VERIFY };

typedef struct lsp_pwjob {
	lsp_job job;                          /* first: the pool hands back &job */
	int op;                               /* LSP_PWPOOL_HASH or _VERIFY */
	int log2n;                            /* HASH: cost */
	char pw[LSP_PWPOOL_PW_MAX + 1];       /* wiped once the work is done */
	char hash[LSP_PASSWD_HASH_MAX];       /* VERIFY: the stored hash; HASH: the result */
	int rc;                               /* lsp_passwd_hash / lsp_passwd_verify's answer */
	void *arg;                            /* the caller's, untouched */
} lsp_pwjob;

/* Start threads (1..64) doing lsp_pwpool_run on each lsp_pwjob submitted,
 * at most qmax (1..65536) waiting.  free_job(ctx, job) gets each job left
 * inside at lsp_jobpool_free.  0, or lsp_jobpool_new's error. */
int lsp_pwpool_new(lsp_jobpool **out, int threads, int qmax, lsp_jobpool_fn free_job, void *ctx);

/* Do job's work here, in the calling thread (what a pool thread does). */
void lsp_pwpool_run(lsp_pwjob *job);

#endif
