/* hookpool.c — webhook POSTs on worker threads; see hookpool.h for the
 * contract.
 *
 * One mutex guards the queue, the done list, the count of jobs held and
 * the stop flag; one condition wakes idle threads.  A thread holds no lock
 * while it posts.  The eventfd counts finished jobs; the loop reads it to
 * zero and takes the whole done list in one go.  The secret is copied in
 * and wiped on free; each POST makes its own poster (core/webhook) with
 * the time the job has left, so a job's url may differ from the last. */
#include "core/hookpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/clock.h"

struct lsp_hookpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *th;
	int nth, qmax, held, stop, efd;
	lsp_hookjob *qhead, *qtail; /* waiting, oldest first */
	lsp_hookjob *dhead, *dtail; /* finished, oldest first */
	unsigned char secret[LSP_WEBHOOK_SECRET_MAX];
	size_t slen;
};

/* One job's POST, here in a pool thread. */
static void post(const lsp_hookpool *p, lsp_hookjob *j)
{
	long long left = j->deadline_ms - lsp_clock_mono_ms();
	lsp_webhook *w = NULL;
	j->reason[0] = j->err[0] = 0;
	if (left < LSP_HOOKPOOL_SLACK_MS) {
		snprintf(j->err, sizeof j->err, "waited too long in the queue");
		j->status = -ETIMEDOUT;
		return;
	}
	if ((j->status = lsp_webhook_new(&w, j->url, p->secret, p->slen, (int)left, j->err, sizeof j->err)) == 0)
		j->status = lsp_webhook_post(w, j->event, NULL, j->body, j->blen, j->reason, sizeof j->reason, j->err,
					     sizeof j->err);
	lsp_webhook_free(w);
}

static void *worker(void *arg)
{
	lsp_hookpool *p = arg;
	for (;;) {
		lsp_hookjob *j;
		uint64_t one = 1;
		pthread_mutex_lock(&p->mu);
		while (!p->stop && !p->qhead)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->qhead;
		p->qhead = j->next;
		if (!p->qhead)
			p->qtail = NULL;
		pthread_mutex_unlock(&p->mu);

		post(p, j);
		j->took_s = (double)(lsp_clock_mono_ms() - j->submitted_ms) / 1000.0;

		pthread_mutex_lock(&p->mu);
		j->next = NULL;
		if (p->dtail)
			p->dtail->next = j;
		else
			p->dhead = j;
		p->dtail = j;
		pthread_mutex_unlock(&p->mu);
		/* an eventfd write fails only when the counter would overflow */
		while (write(p->efd, &one, sizeof one) < 0 && errno == EINTR)
			;
	}
}

int lsp_hookpool_new(lsp_hookpool **out, int threads, int qmax, const void *secret, size_t slen)
{
	lsp_hookpool *p;
	int rc;
	*out = NULL;
	if (threads < 1 || threads > 64 || qmax < 1 || qmax > 65536 || !secret || slen == 0 ||
	    slen > LSP_WEBHOOK_SECRET_MAX)
		return -EINVAL;
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	if (!(p->th = calloc((size_t)threads, sizeof *p->th))) {
		free(p);
		return -ENOMEM;
	}
	p->qmax = qmax;
	memcpy(p->secret, secret, slen);
	p->slen = slen;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		lsp_hookpool_free(p);
		return rc;
	}
	for (; p->nth < threads; p->nth++)
		if ((rc = pthread_create(&p->th[p->nth], NULL, worker, p)) != 0) {
			lsp_hookpool_free(p);
			return -rc;
		}
	*out = p;
	return 0;
}

int lsp_hookpool_fd(const lsp_hookpool *p) { return p->efd; }

int lsp_hookpool_submit(lsp_hookpool *p, lsp_hookjob *job)
{
	if (!job->url[0] || job->blen > sizeof job->body)
		return -EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->held >= p->qmax) {
		pthread_mutex_unlock(&p->mu);
		return -EAGAIN;
	}
	job->next = NULL;
	job->submitted_ms = lsp_clock_mono_ms();
	if (p->qtail)
		p->qtail->next = job;
	else
		p->qhead = job;
	p->qtail = job;
	p->held++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

lsp_hookjob *lsp_hookpool_done(lsp_hookpool *p)
{
	lsp_hookjob *d;
	uint64_t n;
	while (read(p->efd, &n, sizeof n) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->mu);
	d = p->dhead;
	p->dhead = p->dtail = NULL;
	for (const lsp_hookjob *j = d; j; j = j->next)
		p->held--;
	pthread_mutex_unlock(&p->mu);
	return d;
}

int lsp_hookpool_held(lsp_hookpool *p)
{
	int n;
	pthread_mutex_lock(&p->mu);
	n = p->held;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void free_list(lsp_hookjob *j)
{
	while (j) {
		lsp_hookjob *n = j->next;
		free(j);
		j = n;
	}
}

void lsp_hookpool_free(lsp_hookpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	free_list(p->qhead);
	free_list(p->dhead);
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	OPENSSL_cleanse(p->secret, sizeof p->secret);
	free(p->th);
	free(p);
}
