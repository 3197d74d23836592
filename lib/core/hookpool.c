/* hookpool.c — webhook POSTs on core/jobpool threads; see hookpool.h for
 * the contract.
 *
 * The jobpool holds the queue, the threads and the eventfd; this file adds
 * the secret (copied in, wiped on free) and the job: each POST makes its
 * own poster (core/webhook) with the time the job has left, so a job's
 * url may differ from the last. */
#include "core/hookpool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/clock.h"

struct lsp_hookpool {
	lsp_jobpool *jp;
	unsigned char secret[LSP_WEBHOOK_SECRET_MAX];
	size_t slen;
};

/* One job's POST, here in a pool thread. */
static void post(void *ctx, lsp_job *job)
{
	const lsp_hookpool *p = ctx;
	lsp_hookjob *j = (lsp_hookjob *)job;
	long long left = j->deadline_ms - lsp_clock_mono_ms();
	lsp_webhook *w = NULL;
	j->reason[0] = j->err[0] = 0;
	if (left < LSP_HOOKPOOL_SLACK_MS) {
		snprintf(j->err, sizeof j->err, "waited too long in the queue");
		j->status = -ETIMEDOUT;
	} else {
		if ((j->status = lsp_webhook_new(&w, j->url, p->secret, p->slen, (int)left, j->err, sizeof j->err)) == 0)
			j->status = lsp_webhook_post(w, j->event, NULL, j->body, j->blen, j->reason, sizeof j->reason,
						     j->err, sizeof j->err);
		lsp_webhook_free(w);
	}
	j->took_s = (double)(lsp_clock_mono_ms() - j->submitted_ms) / 1000.0;
}

static void free_job(void *ctx, lsp_job *job)
{
	(void)ctx;
	free(job);
}

int lsp_hookpool_new(lsp_hookpool **out, int threads, int qmax, const void *secret, size_t slen)
{
	lsp_hookpool *p;
	int rc;
	*out = NULL;
	if (!secret || slen == 0 || slen > LSP_WEBHOOK_SECRET_MAX)
		return -EINVAL;
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	memcpy(p->secret, secret, slen);
	p->slen = slen;
	if ((rc = lsp_jobpool_new(&p->jp, threads, qmax, LSP_JOBPOOL_HELD, post, free_job, p)) < 0) {
		lsp_hookpool_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int lsp_hookpool_fd(const lsp_hookpool *p) { return lsp_jobpool_fd(p->jp); }

int lsp_hookpool_submit(lsp_hookpool *p, lsp_hookjob *job)
{
	if (!job->url[0] || job->blen > sizeof job->body)
		return -EINVAL;
	job->submitted_ms = lsp_clock_mono_ms();
	return lsp_jobpool_submit(p->jp, &job->job);
}

lsp_hookjob *lsp_hookpool_done(lsp_hookpool *p)
{
	lsp_job *d = lsp_jobpool_done(p->jp);
	for (lsp_job *j = d; j; j = j->next)
		((lsp_hookjob *)j)->next = (lsp_hookjob *)j->next;
	return (lsp_hookjob *)d;
}

int lsp_hookpool_held(lsp_hookpool *p) { return lsp_jobpool_held(p->jp); }

void lsp_hookpool_free(lsp_hookpool *p)
{
	if (!p)
		return;
	lsp_jobpool_free(p->jp);
	OPENSSL_cleanse(p->secret, sizeof p->secret);
	free(p);
}
