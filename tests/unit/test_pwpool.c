/* Unit tests: lib/api/pwpool.c — hashing and verifying on core/jobpool
 * threads: every job comes back once through the done list, with the
 * answer the inline call gives and the password wiped; a full queue (jobs
 * waiting) refuses at once; freeing the pool with jobs inside hands them
 * to free_job (or, with none, wipes and frees them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "api/pwpool.h"

static int freed;
static void count_free(void *ctx, lsp_job *j)
{
	(void)ctx;
	freed++;
	free(j);
}

static lsp_pwjob *job(int op, const char *pw, const char *hash)
{
	lsp_pwjob *j = calloc(1, sizeof *j);
	assert_non_null(j);
	j->op = op;
	j->log2n = 10;
	strcpy(j->pw, pw);
	if (hash)
		strcpy(j->hash, hash);
	return j;
}

/* Wait for n jobs back; returns them in an array (caller frees each). */
static int collect(lsp_jobpool *p, lsp_pwjob **got, int n)
{
	int k = 0;
	while (k < n) {
		struct pollfd pf = { .fd = lsp_jobpool_fd(p), .events = POLLIN };
		assert_true(poll(&pf, 1, 30000) == 1);
		for (lsp_job *j = lsp_jobpool_done(p), *nx; j; j = nx) {
			nx = j->next;
			assert_true(k < n);
			got[k++] = (lsp_pwjob *)j;
		}
	}
	return k;
}

static int submit(lsp_jobpool *p, lsp_pwjob *j) { return lsp_jobpool_submit(p, &j->job); }

static void round_trip(void **s)
{
	lsp_jobpool *p;
	lsp_pwjob *got[8], *h;
	char stored[LSP_PASSWD_HASH_MAX];
	int ok = 0, bad = 0;
	(void)s;
	assert_int_equal(lsp_pwpool_new(&p, 2, 8, NULL, NULL), 0);
	assert_int_equal(submit(p, job(LSP_PWPOOL_HASH, "correct horse", NULL)), 0);
	assert_int_equal(collect(p, got, 1), 1);
	h = got[0];
	assert_int_equal(h->rc, 0);
	assert_int_equal(strncmp(h->hash, "scrypt$10$", 10), 0);
	assert_int_equal(h->pw[0], 0); /* wiped */
	strcpy(stored, h->hash);
	free(h);
	for (int i = 0; i < 6; i++)
		assert_int_equal(submit(p, job(LSP_PWPOOL_VERIFY, i % 2 ? "wrong" : "correct horse", stored)), 0);
	assert_int_equal(collect(p, got, 6), 6);
	for (int i = 0; i < 6; i++) {
		ok += got[i]->rc == 1;
		bad += got[i]->rc == 0;
		free(got[i]);
	}
	assert_int_equal(ok, 3);
	assert_int_equal(bad, 3);
	assert_null(lsp_jobpool_done(p));
	lsp_jobpool_free(p);
}

static void full_queue_and_free(void **s)
{
	lsp_jobpool *p;
	lsp_pwjob *extra;
	int queued = 0, refused = 0;
	(void)s;
	lsp_jobpool_free(NULL);
	assert_int_equal(lsp_pwpool_new(&p, 0, 2, NULL, NULL), -EINVAL);
	assert_int_equal(lsp_pwpool_new(&p, 1, 0, NULL, NULL), -EINVAL);
	freed = 0;
	assert_int_equal(lsp_pwpool_new(&p, 1, 2, count_free, NULL), 0);
	/* slow jobs: one runs, two wait, the rest are refused at once */
	for (int i = 0; i < 6; i++) {
		lsp_pwjob *j = job(LSP_PWPOOL_HASH, "pw", NULL);
		j->log2n = 16;
		if (submit(p, j) == 0)
			queued++;
		else {
			refused++;
			free(j);
		}
	}
	assert_true(queued >= 2 && queued <= 3);
	assert_int_equal(queued + refused, 6);
	assert_true(lsp_jobpool_queued(p) <= 2);
	extra = job(LSP_PWPOOL_HASH, "pw", NULL);
	if (submit(p, extra) < 0)
		free(extra);
	else
		queued++;
	lsp_jobpool_free(p); /* joins, frees every job still inside */
	assert_int_equal(freed, queued);
}

/* No free_job: the jobs left inside are wiped and freed by the pool (ASan). */
static void default_free(void **s)
{
	lsp_jobpool *p;
	(void)s;
	assert_int_equal(lsp_pwpool_new(&p, 1, 4, NULL, NULL), 0);
	for (int i = 0; i < 3; i++) {
		lsp_pwjob *j = job(LSP_PWPOOL_HASH, "pw", NULL);
		j->log2n = 14;
		assert_int_equal(submit(p, j), 0);
	}
	lsp_jobpool_free(p);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(full_queue_and_free),
		cmocka_unit_test(default_free),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
