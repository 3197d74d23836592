/* pwpool.c — scrypt as a core/jobpool job; see pwpool.h for the contract. */
#include "api/pwpool.h"

#include <openssl/crypto.h>
#include <stdlib.h>

void lsp_pwpool_run(lsp_pwjob *job)
{
	if (job->op == LSP_PWPOOL_HASH)
		job->rc = lsp_passwd_hash(job->pw, job->log2n, job->hash, sizeof job->hash);
	else
		job->rc = lsp_passwd_verify(job->pw, job->hash);
	OPENSSL_cleanse(job->pw, sizeof job->pw);
}

static void run(void *ctx, lsp_job *job)
{
	(void)ctx;
	lsp_pwpool_run((lsp_pwjob *)job);
}

static void wipe_free(void *ctx, lsp_job *job)
{
	lsp_pwjob *j = (lsp_pwjob *)job;
	(void)ctx;
	OPENSSL_cleanse(j->pw, sizeof j->pw);
	free(j);
}

int lsp_pwpool_new(lsp_jobpool **out, int threads, int qmax, lsp_jobpool_fn free_job, void *ctx)
{
	return lsp_jobpool_new(out, threads, qmax, LSP_JOBPOOL_QUEUED, run, free_job ? free_job : wipe_free, ctx);
}
