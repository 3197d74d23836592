/* jobpool.c — a bounded job queue run by a few threads; see jobpool.h for
 * the contract.
 *
 * One mutex guards the queue, the done list, the counts and the stop flag;
 * one condition wakes idle threads.  A thread holds no lock while it runs
 * a job.  The eventfd counts finished jobs; the loop reads it to zero and
 * takes the whole done list in one go. */
#include "core/jobpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct lsp_jobpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *th;
	int nth, qmax, bound, queued, held, stop, efd;
	lsp_job *qhead, *qtail;     /* waiting, oldest first */
	lsp_job *dhead, *dtail;     /* finished, oldest first */
	lsp_jobpool_fn run, free_job;
	void *ctx;
};

/* j at the end of the list head..tail (under p->mu). */
static void append(lsp_job **head, lsp_job **tail, lsp_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *worker(void *arg)
{
	lsp_jobpool *p = arg;
	for (;;) {
		lsp_job *j;
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

		p->run(p->ctx, j);

		pthread_mutex_lock(&p->mu);
		append(&p->dhead, &p->dtail, j);
		pthread_mutex_unlock(&p->mu);
		/* an eventfd write fails only when the counter would overflow */
		while (write(p->efd, &one, sizeof one) < 0 && errno == EINTR)
			;
	}
}

int lsp_jobpool_new(lsp_jobpool **out, int threads, int qmax, int bound, lsp_jobpool_fn run,
		    lsp_jobpool_fn free_job, void *ctx)
{
	lsp_jobpool *p;
	int rc;
	*out = NULL;
	if (threads < 1 || threads > 64 || qmax < 1 || qmax > 65536 || !run ||
	    (bound != LSP_JOBPOOL_QUEUED && bound != LSP_JOBPOOL_HELD))
		return -EINVAL;
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	if (!(p->th = calloc((size_t)threads, sizeof *p->th))) {
		free(p);
		return -ENOMEM;
	}
	p->qmax = qmax;
	p->bound = bound;
	p->run = run;
	p->free_job = free_job;
	p->ctx = ctx;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		lsp_jobpool_free(p);
		return rc;
	}
	for (; p->nth < threads; p->nth++)
		if ((rc = pthread_create(&p->th[p->nth], NULL, worker, p)) != 0) {
			lsp_jobpool_free(p);
			return -rc;
		}
	*out = p;
	return 0;
}

int lsp_jobpool_fd(const lsp_jobpool *p) { return p->efd; }

int lsp_jobpool_submit(lsp_jobpool *p, lsp_job *job)
{
	pthread_mutex_lock(&p->mu);
	if ((p->bound == LSP_JOBPOOL_HELD ? p->held : p->queued) >= p->qmax) {
		pthread_mutex_unlock(&p->mu);
		return -EAGAIN;
	}
	append(&p->qhead, &p->qtail, job);
	p->queued++;
	p->held++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

lsp_job *lsp_jobpool_done(lsp_jobpool *p)
{
	lsp_job *d;
	uint64_t n;
	while (read(p->efd, &n, sizeof n) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->mu);
	d = p->dhead;
	p->dhead = p->dtail = NULL;
	for (const lsp_job *j = d; j; j = j->next)
		p->held--;
	pthread_mutex_unlock(&p->mu);
	return d;
}

static int count(lsp_jobpool *p, const int *n)
{
	int v;
	pthread_mutex_lock(&p->mu);
	v = *n;
	pthread_mutex_unlock(&p->mu);
	return v;
}

int lsp_jobpool_held(lsp_jobpool *p) { return count(p, &p->held); }

int lsp_jobpool_queued(lsp_jobpool *p) { return count(p, &p->queued); }

static void free_list(const lsp_jobpool *p, lsp_job *j)
{
	while (j) {
		lsp_job *n = j->next;
		if (p->free_job)
			p->free_job(p->ctx, j);
		j = n;
	}
}

void lsp_jobpool_free(lsp_jobpool *p)
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
