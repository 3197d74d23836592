/* Unit tests: lib/core/hookpool.c — webhook POSTs on threads, against a
 * small receiver on a loopback socket in this process: a 2xx and a 4xx
 * come back with their status and reason, and the request is signed; a
 * receiver slower than the deadline gives -ETIMEDOUT near the deadline; a
 * job that waits in the queue past its deadline is never posted; the pool
 * refuses past qmax jobs held; freeing it with jobs inside frees them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hookpool.h"

static const char secret[] = "unit-secret";

/* The receiver: each connection is one request; the path says what to
 * do: /ok 200, /no 403 "no entry", /slow sleeps 1.5 s then 200.  It
 * checks the signature of every request it reads (bad counts them). */
struct recv {
	int fd, port, stop, seen, bad;
	pthread_t th;
};

static void *serve_one(void *arg)
{
	int c = (int)(intptr_t)arg;
	char buf[8192], sig[200] = "";
	size_t len = 0;
	ssize_t n;
	const char *body, *h;
	while ((n = recv(c, buf + len, sizeof buf - 1 - len, 0)) > 0) {
		len += (size_t)n;
		buf[len] = 0;
		if ((body = strstr(buf, "\r\n\r\n")) && (h = strstr(buf, "Content-Length: ")) &&
		    strlen(body + 4) >= (size_t)atoi(h + 16))
			break;
	}
	buf[len] = 0;
	body = strstr(buf, "\r\n\r\n");
	if ((h = strstr(buf, "X-LSP-Signature: ")))
		sscanf(h + 17, "%199[^\r]", sig);
	{
		int good = body && lsp_webhook_verify(secret, strlen(secret), sig, body + 4, strlen(body + 4),
						      (long long)time(NULL), 60);
		const char *ans = !good ? "HTTP/1.1 400 Bad\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbad\n"
			: strstr(buf, "POST /no ") ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno entry\n"
						   : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
		if (strstr(buf, "POST /slow "))
			usleep(1500000);
		(void)!send(c, ans, strlen(ans), MSG_NOSIGNAL);
	}
	close(c);
	return NULL;
}

static void *serve(void *arg)
{
	struct recv *r = arg;
	while (!r->stop) {
		struct pollfd pf = { r->fd, POLLIN, 0 };
		pthread_t t;
		int c;
		if (poll(&pf, 1, 50) <= 0)
			continue;
		if ((c = accept(r->fd, NULL, NULL)) < 0)
			continue;
		r->seen++;
		if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
	return NULL;
}

static void recv_start(struct recv *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	memset(r, 0, sizeof *r);
	assert_true((r->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(r->fd, 16), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, serve, r), 0);
}

static void recv_stop(struct recv *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

static lsp_hookjob *job(const struct recv *r, const char *path, int deadline_ms, unsigned long long id)
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
	struct recv r;
	lsp_hookpool *p;
	lsp_hookjob *out[4] = { 0 };
	(void)st;
	recv_start(&r);
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
	recv_stop(&r);
}

static void deadline(void **st)
{
	struct recv r;
	lsp_hookpool *p;
	lsp_hookjob *out[4] = { 0 }, *j;
	(void)st;
	recv_start(&r);
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
	recv_stop(&r);
}

static void bounded(void **st)
{
	struct recv r;
	lsp_hookpool *p;
	lsp_hookjob *extra;
	(void)st;
	recv_start(&r);
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
	recv_stop(&r);
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
