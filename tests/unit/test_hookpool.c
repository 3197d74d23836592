/* Unit tests: lib/core/hookpool.c — webhook POSTs on threads, against a
 * small receiver on a loopback socket in this process: a 2xx and a 4xx
 * come back with their status and reason, and the request is signed; a
 * receiver slower than the deadline gives -ETIMEDOUT near the deadline; a
 * job that waits in the queue past its deadline is never posted; the pool
 * refuses past qmax jobs held; freeing it with jobs inside frees them.
 * The receiver is tests/unit/hookrecv.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hookpool.h"
#include "hookrecv.h"

static const char secret[] = "unit-secret";

static lsp_hookjob *job(const struct hookrecv *r, const char *path, int deadline_ms, unsigned long long id)
{
	lsp_hookjob *j = calloc(1, sizeof *j);
	assert_non_null(j);
	snprintf(j->url, sizeof j->url, "http://127.0.0.1:%d%s", r->port, path);
	snprintf(j->event, sizeof j->event, "publish");
	j->blen = (size_t)snprintf(j->body, sizeof j->body, "{\"event\":\"publish\",\"channel\":\"c%llu\"}", id);
	j->deadline_ms = lsp_clock_mono_ms() + deadline_ms;
	j->id = id;
	return j;
}

/* Wait until n jobs are done (10 s at most); they go into out[id]. */
static void collect(lsp_hookpool *p, lsp_hookjob **out, int n)
{
	int got = 0;
	long long t0 = lsp_clock_mono_ms();
	while (got < n && lsp_clock_mono_ms() - t0 < 10000) {
		struct pollfd pf = { lsp_hookpool_fd(p), POLLIN, 0 };
		lsp_hookjob *d;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		for (d = lsp_hookpool_done(p); d; d = d->next, got++)
			out[d->id] = d;
	}
	assert_int_equal(got, n);
}

static void answers(void **st)
{
	struct hookrecv r;
	lsp_hookpool *p;
	lsp_hookjob *out[4] = { 0 };
	(void)st;
	hookrecv_start(&r, secret);
	assert_int_equal(lsp_hookpool_new(&p, 2, 8, secret, strlen(secret)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/ok", 2000, 0)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/no", 2000, 1)), 0);
	collect(p, out, 2);
	assert_int_equal(out[0]->status, 200);
	assert_int_equal(out[1]->status, 403);
	assert_string_equal(out[1]->reason, "no entry");
	assert_int_equal(r.bad, 0);
	assert_int_equal(lsp_hookpool_held(p), 0);
	free(out[0]);
	free(out[1]);
	lsp_hookpool_free(p);
	hookrecv_stop(&r);
}

static void deadline(void **st)
{
	struct hookrecv r;
	lsp_hookpool *p;
	lsp_hookjob *out[4] = { 0 }, *j;
	(void)st;
	hookrecv_start(&r, secret);
	/* one thread: the second slow job waits in the queue past its deadline */
	assert_int_equal(lsp_hookpool_new(&p, 1, 8, secret, strlen(secret)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/slow", 400, 0)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/slow", 400, 1)), 0);
	collect(p, out, 2);
	assert_int_equal(out[0]->status, -ETIMEDOUT);
	assert_true(out[0]->took_s >= 0.3 && out[0]->took_s < 1.4);
	assert_int_equal(out[1]->status, -ETIMEDOUT);
	assert_non_null(strstr(out[1]->err, "queue"));
	assert_true(out[1]->took_s < 1.4);
	free(out[0]);
	free(out[1]);
	/* a bad job is refused before it is queued */
	j = job(&r, "/ok", 1000, 0);
	j->url[0] = 0;
	assert_int_equal(lsp_hookpool_submit(p, j), -EINVAL);
	free(j);
	lsp_hookpool_free(p);
	hookrecv_stop(&r);
}

static void bounded(void **st)
{
	struct hookrecv r;
	lsp_hookpool *p;
	lsp_hookjob *extra;
	(void)st;
	hookrecv_start(&r, secret);
	assert_int_equal(lsp_hookpool_new(&p, 1, 2, secret, strlen(secret)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/slow", 3000, 0)), 0);
	assert_int_equal(lsp_hookpool_submit(p, job(&r, "/slow", 3000, 1)), 0);
	extra = job(&r, "/ok", 3000, 2);
	assert_int_equal(lsp_hookpool_submit(p, extra), -EAGAIN);
	assert_int_equal(lsp_hookpool_held(p), 2);
	free(extra);
	/* freed with one in flight and one queued: both freed (ASan tells) */
	lsp_hookpool_free(p);
	assert_int_equal(lsp_hookpool_new(&p, 0, 2, secret, strlen(secret)), -EINVAL);
	assert_int_equal(lsp_hookpool_new(&p, 1, 2, secret, 0), -EINVAL);
	hookrecv_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers),
		cmocka_unit_test(deadline),
		cmocka_unit_test(bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
