/* pwpool.c — scrypt on core/jobpool threads; see pwpool.h for the
 * contract.  The jobpool holds the queue, the threads and the eventfd;
 * this file is the job: hash or verify, then wipe the password, which is
 * wiped too from a job freed without being run. */
#include "api/pwpool.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>

struct lsp_pwpool {
	lsp_jobpool *jp;
	void (*free_job)(lsp_pwjob *);
};

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

static void free_job(void *ctx, lsp_job *job)
{
	const lsp_pwpool *p = ctx;
	lsp_pwjob *j = (lsp_pwjob *)job;
	OPENSSL_cleanse(j->pw, sizeof j->pw);
	if (p->free_job)
		p->free_job(j);
	else
		free(j);
}

int lsp_pwpool_new(lsp_pwpool **out, int threads, int qmax, void (*free_job_fn)(lsp_pwjob *))
{
	lsp_pwpool *p;
	int rc;
	*out = NULL;
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	p->free_job = free_job_fn;
	if ((rc = lsp_jobpool_new(&p->jp, threads, qmax, LSP_JOBPOOL_QUEUED, run, free_job, p)) < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int lsp_pwpool_fd(const lsp_pwpool *p) { return lsp_jobpool_fd(p->jp); }

int lsp_pwpool_submit(lsp_pwpool *p, lsp_pwjob *job) { return lsp_jobpool_submit(p->jp, &job->job); }

lsp_pwjob *lsp_pwpool_done(lsp_pwpool *p)
{
	lsp_job *d = lsp_jobpool_done(p->jp);
	for (lsp_job *j = d; j; j = j->next)
		((lsp_pwjob *)j)->next = (lsp_pwjob *)j->next;
	return (lsp_pwjob *)d;
}

int lsp_pwpool_queued(lsp_pwpool *p) { return lsp_jobpool_queued(p->jp); }

void lsp_pwpool_free(lsp_pwpool *p)
{
	if (!p)
		return;
	lsp_jobpool_free(p->jp);
	free(p);
}
