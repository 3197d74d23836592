/* Unit tests: lib/core/jobpool.c — N jobs each run once and come back
 * once through the done list (and the eventfd); both bounds refuse at
 * once when reached (jobs held in a gate so the counts are exact, not a
 * race); freeing the pool with jobs running and waiting joins the threads
 * and hands every job to free_job exactly once (ASan: nothing leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jobpool.h"

typedef struct {
	lsp_job job;          /* first: the pool hands back &job */
	int n, ran;
	pthread_t by;
} tjob;

/* The test's context: a gate the jobs wait at (a pipe: a byte lets one
 * through, closing the write end lets all through) and counts. */
typedef struct {
	int gate[2];          /* -1: no gate */
	int started[2];       /* a job writes a byte here when it starts */
	pthread_mutex_t mu;
	int ran, freed;
} tctx;

static void run(void *ctx, lsp_job *job)
{
	tctx *c = ctx;
	tjob *j = (tjob *)job;
	char b = 1;
	if (c->started[1] >= 0)
		(void)!write(c->started[1], &b, 1); /* no cmocka assert off the main thread */
	if (c->gate[0] >= 0)
		(void)!read(c->gate[0], &b, 1); /* a byte, or EOF once the gate is closed */
	j->ran++;
	j->by = pthread_self();
	pthread_mutex_lock(&c->mu);
	c->ran++;
	pthread_mutex_unlock(&c->mu);
}

static void free_job(void *ctx, lsp_job *job)
{
	tctx *c = ctx;
	c->freed++; /* on the thread calling lsp_jobpool_free */
	free(job);
}

static void ctx_init(tctx *c, int gated)
{
	memset(c, 0, sizeof *c);
	c->gate[0] = c->gate[1] = c->started[0] = c->started[1] = -1;
	pthread_mutex_init(&c->mu, NULL);
	if (gated) {
		assert_int_equal(pipe(c->gate), 0);
		assert_int_equal(pipe(c->started), 0);
	}
}

static void ctx_fini(tctx *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->gate[i] >= 0)
			close(c->gate[i]);
		if (c->started[i] >= 0)
			close(c->started[i]);
	}
	pthread_mutex_destroy(&c->mu);
}

static lsp_jobpool *pool(tctx *c, int gated, int threads, int qmax, int bound)
{
	lsp_jobpool *p = NULL;
	ctx_init(c, gated);
	assert_int_equal(lsp_jobpool_new(&p, threads, qmax, bound, run, free_job, c), 0);
	return p;
}

static tjob *mk(int n)
{
	tjob *j = calloc(1, sizeof *j);
	assert_non_null(j);
	j->n = n;
	return j;
}

/* Wait until k jobs have started (they are then held at the gate). */
static void wait_started(tctx *c, int k)
{
	char b;
	for (int i = 0; i < k; i++) {
		struct pollfd pf = { .fd = c->started[0], .events = POLLIN };
		assert_int_equal(poll(&pf, 1, 30000), 1);
		assert_int_equal(read(c->started[0], &b, 1), 1);
	}
}

static void let_through(int gate_w, int k)
{
	char b[64] = { 0 };
	assert_true(k <= (int)sizeof b);
	assert_int_equal(write(gate_w, b, (size_t)k), k);
}

static void n_jobs_complete(void **s)
{
	enum { N = 200 };
	tctx c;
	lsp_jobpool *p = pool(&c, 0, 4, N, LSP_JOBPOOL_HELD);
	int seen[N] = { 0 }, got = 0, threads = 0;
	pthread_t ids[4];
	(void)s;
	assert_null(lsp_jobpool_done(p)); /* nothing yet, and no block */
	for (int i = 0; i < N; i++)
		assert_int_equal(lsp_jobpool_submit(p, &mk(i)->job), 0);
	while (got < N) {
		struct pollfd pf = { .fd = lsp_jobpool_fd(p), .events = POLLIN };
		assert_int_equal(poll(&pf, 1, 30000), 1);
		for (lsp_job *d = lsp_jobpool_done(p), *nx; d; d = nx) {
			tjob *j = (tjob *)d;
			int known = 0;
			nx = d->next;
			assert_int_equal(j->ran, 1);
			assert_true(j->n >= 0 && j->n < N);
			assert_int_equal(seen[j->n], 0);
			seen[j->n] = 1;
			for (int t = 0; t < threads; t++)
				known |= pthread_equal(ids[t], j->by);
			if (!known) {
				assert_true(threads < 4);
				ids[threads++] = j->by;
			}
			free(j);
			got++;
		}
	}
	assert_int_equal(c.ran, N);
	assert_int_equal(lsp_jobpool_held(p), 0);
	assert_int_equal(lsp_jobpool_queued(p), 0);
	assert_true(threads >= 1 && threads <= 4);
	lsp_jobpool_free(p);
	assert_int_equal(c.freed, 0); /* all were collected */
	ctx_fini(&c);
}

/* HELD: running + waiting + done-not-collected count. */
static void held_bound(void **s)
{
	tctx c;
	lsp_jobpool *p = pool(&c, 1, 2, 3, LSP_JOBPOOL_HELD);
	tjob *x;
	(void)s;
	for (int i = 0; i < 3; i++)
		assert_int_equal(lsp_jobpool_submit(p, &mk(i)->job), 0);
	wait_started(&c, 2); /* two run (held at the gate), one waits */
	assert_int_equal(lsp_jobpool_queued(p), 1);
	assert_int_equal(lsp_jobpool_held(p), 3);
	x = mk(9);
	assert_int_equal(lsp_jobpool_submit(p, &x->job), -EAGAIN); /* stays ours */
	let_through(c.gate[1], 3);
	wait_started(&c, 1);
	assert_int_equal(lsp_jobpool_held(p), 3); /* done or not, held until collected */
	assert_int_equal(lsp_jobpool_submit(p, &x->job), -EAGAIN);
	for (int got = 0; got < 3;) {
		struct pollfd pf = { .fd = lsp_jobpool_fd(p), .events = POLLIN };
		assert_int_equal(poll(&pf, 1, 30000), 1);
		for (lsp_job *d = lsp_jobpool_done(p), *nx; d; d = nx, got++) {
			nx = d->next;
			free(d);
		}
	}
	assert_int_equal(lsp_jobpool_held(p), 0);
	assert_int_equal(lsp_jobpool_submit(p, &x->job), 0); /* room again */
	let_through(c.gate[1], 1);
	lsp_jobpool_free(p); /* x ran or not: free_job has it either way */
	assert_int_equal(c.freed, 1);
	ctx_fini(&c);
}

/* QUEUED: only the jobs waiting for a thread count. */
static void queued_bound(void **s)
{
	tctx c;
	lsp_jobpool *p = pool(&c, 1, 1, 2, LSP_JOBPOOL_QUEUED);
	tjob *x;
	(void)s;
	assert_int_equal(lsp_jobpool_submit(p, &mk(0)->job), 0);
	wait_started(&c, 1); /* it runs: the queue is empty again */
	assert_int_equal(lsp_jobpool_queued(p), 0);
	assert_int_equal(lsp_jobpool_submit(p, &mk(1)->job), 0);
	assert_int_equal(lsp_jobpool_submit(p, &mk(2)->job), 0);
	x = mk(3);
	assert_int_equal(lsp_jobpool_submit(p, &x->job), -EAGAIN);
	free(x);
	assert_int_equal(lsp_jobpool_queued(p), 2);
	assert_int_equal(lsp_jobpool_held(p), 3);
	close(c.gate[1]); /* everything through */
	c.gate[1] = -1;
	lsp_jobpool_free(p); /* the waiting ones may never have run */
	assert_int_equal(c.freed, 3);
	assert_true(c.ran >= 1 && c.ran <= 3);
	ctx_fini(&c);
}

static void *opener(void *arg)
{
	tctx *c = arg;
	usleep(100 * 1000);
	close(c->gate[1]); /* lets the running jobs end: free is joining them */
	c->gate[1] = -1;
	return NULL;
}

/* Free with jobs running, waiting and done: every one freed once. */
static void free_in_flight(void **s)
{
	tctx c;
	lsp_jobpool *p = pool(&c, 1, 3, 64, LSP_JOBPOOL_QUEUED);
	pthread_t t;
	(void)s;
	for (int i = 0; i < 20; i++)
		assert_int_equal(lsp_jobpool_submit(p, &mk(i)->job), 0);
	wait_started(&c, 3);
	let_through(c.gate[1], 2); /* two finish (done, never collected), the next two start */
	wait_started(&c, 2);
	assert_int_equal(pthread_create(&t, NULL, opener, &c), 0);
	lsp_jobpool_free(p);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.freed, 20);
	assert_true(c.ran >= 5 && c.ran <= 20);
	ctx_fini(&c);
}

static void bad_args(void **s)
{
	lsp_jobpool *p = (lsp_jobpool *)&p;
	tctx c;
	(void)s;
	ctx_init(&c, 0);
	lsp_jobpool_free(NULL);
	assert_int_equal(lsp_jobpool_new(&p, 0, 2, LSP_JOBPOOL_HELD, run, NULL, &c), -EINVAL);
	assert_null(p);
	assert_int_equal(lsp_jobpool_new(&p, 65, 2, LSP_JOBPOOL_HELD, run, NULL, &c), -EINVAL);
	assert_int_equal(lsp_jobpool_new(&p, 1, 0, LSP_JOBPOOL_HELD, run, NULL, &c), -EINVAL);
	assert_int_equal(lsp_jobpool_new(&p, 1, 65537, LSP_JOBPOOL_HELD, run, NULL, &c), -EINVAL);
	assert_int_equal(lsp_jobpool_new(&p, 1, 1, 7, run, NULL, &c), -EINVAL);
	assert_int_equal(lsp_jobpool_new(&p, 1, 1, LSP_JOBPOOL_HELD, NULL, NULL, &c), -EINVAL);
	ctx_fini(&c);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(n_jobs_complete), cmocka_unit_test(held_bound),  cmocka_unit_test(queued_bound),
		cmocka_unit_test(free_in_flight),  cmocka_unit_test(bad_args),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
