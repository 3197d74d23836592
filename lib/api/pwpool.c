/* pwpool.c — scrypt on worker threads; see pwpool.h for the contract.
 *
 * One mutex guards the queue, the done list and the stop flag; one
 * condition wakes idle workers.  A worker holds no lock while it hashes.
 * The eventfd counts finished jobs; the loop reads it to zero and takes
 * the whole done list in one go. */
#include "api/pwpool.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct lsp_pwpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *th;
	int nth, qmax, queued, stop, efd;
	lsp_pwjob *qhead, *qtail;   /* waiting, oldest first */
	lsp_pwjob *dhead, *dtail;   /* finished, oldest first */
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

static void *worker(void *arg)
{
	lsp_pwpool *p = arg;
	for (;;) {
		lsp_pwjob *j;
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
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		lsp_pwpool_run(j);

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

int lsp_pwpool_new(lsp_pwpool **out, int threads, int qmax, void (*free_job)(lsp_pwjob *))
{
	lsp_pwpool *p;
	int rc;
	*out = NULL;
	if (threads < 1 || threads > 64 || qmax < 1 || qmax > 65536)
		return -EINVAL;
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	if (!(p->th = calloc((size_t)threads, sizeof *p->th))) {
		free(p);
		return -ENOMEM;
	}
	p->qmax = qmax;
	p->free_job = free_job;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		lsp_pwpool_free(p);
		return rc;
	}
	for (; p->nth < threads; p->nth++)
		if ((rc = pthread_create(&p->th[p->nth], NULL, worker, p)) != 0) {
			lsp_pwpool_free(p);
			return -rc;
		}
	*out = p;
	return 0;
}

int lsp_pwpool_fd(const lsp_pwpool *p) { return p->efd; }

int lsp_pwpool_submit(lsp_pwpool *p, lsp_pwjob *job)
{
	pthread_mutex_lock(&p->mu);
	if (p->queued >= p->qmax) {
		pthread_mutex_unlock(&p->mu);
		return -EAGAIN;
	}
	job->next = NULL;
	if (p->qtail)
		p->qtail->next = job;
	else
		p->qhead = job;
	p->qtail = job;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

lsp_pwjob *lsp_pwpool_done(lsp_pwpool *p)
{
	lsp_pwjob *d;
	uint64_t n;
	while (read(p->efd, &n, sizeof n) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->mu);
	d = p->dhead;
	p->dhead = p->dtail = NULL;
	pthread_mutex_unlock(&p->mu);
	return d;
}

int lsp_pwpool_queued(lsp_pwpool *p)
{
	int n;
	pthread_mutex_lock(&p->mu);
	n = p->queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void free_list(lsp_pwpool *p, lsp_pwjob *j)
{
	while (j) {
		lsp_pwjob *n = j->next;
		OPENSSL_cleanse(j->pw, sizeof j->pw);
		if (p->free_job)
			p->free_job(j);
		else
			free(j);
		j = n;
	}
}

void lsp_pwpool_free(lsp_pwpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	free_list(p, p->qhead);
	free_list(p, p->dhead);
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->th);
	free(p);
}
