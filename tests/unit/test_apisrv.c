/* Unit tests: lib/api/apisrv.c — a server on a free port in a thread, a
 * trivial handler, and real sockets: answers and their fixed headers,
 * keep-alive, pipelining, body bounds (413), chunked bodies (411),
 * malformed heads (400), HEAD without a body, 204 without a length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/apisrv.h"

#define LIT(s) s, sizeof s - 1

static volatile sig_atomic_t stop;
static lsp_apisrv *srv;
static pthread_t th;

static void handler(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs)
{
	char b[128];
	int n;
	(void)ctx;
	if (rq->head->path_len == 7 && !memcmp(rq->head->path, "/nobody", 7)) {
		rs->status = 204;
		return;
	}
	n = snprintf(b, sizeof b, "{\"len\":%zu}", rq->body_len);
	rs->status = 200;
	rs->body = strdup(b);
	rs->body_len = rs->body ? (size_t)n : 0;
}

static void *run(void *a)
{
	char err[128];
	(void)a;
	lsp_apisrv_run(srv, &stop, err, sizeof err);
	return NULL;
}

static int setup(void **s)
{
	lsp_apisrv_cfg cfg = { .host = "127.0.0.1", .port = 0, .body_max = 100, .handler = handler };
	char err[128];
	(void)s;
	if (lsp_apisrv_open(&srv, &cfg, err, sizeof err) < 0)
		return -1;
	return pthread_create(&th, NULL, run, NULL);
}

static int teardown(void **s)
{
	(void)s;
	stop = 1;
	pthread_join(th, NULL);
	lsp_apisrv_close(srv);
	return 0;
}

/* Send req, read until the peer closes or want answers arrived. */
static void exchange(const char *req, size_t len, char *out, size_t cap, int want)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)lsp_apisrv_port(srv)) };
	struct timeval tv = { 5, 0 };
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n = 0;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(send(fd, req, len, 0), (ssize_t)len);
	while (got + 1 < cap) {
		ssize_t r = recv(fd, out + got, cap - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		out[got] = 0;
		n = 0;
		for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")); p++)
			n++;
		if (want && n >= want && strstr(out + got - (got > 20 ? 20 : got), "}"))
			break;
	}
	out[got] = 0;
	close(fd);
}

static void basics(void **s)
{
	char b[16384];
	const char *two = "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	(void)s;
	exchange(two, strlen(two), b, sizeof b, 2);
	assert_non_null(strstr(b, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(b, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(b, "Content-Security-Policy: default-src 'none'"));
	assert_non_null(strstr(b, "Cache-Control: no-store\r\n"));
	assert_null(strstr(b, "Strict-Transport-Security"));
	assert_non_null(strstr(b, "{\"len\":0}"));
	assert_non_null(strstr(strstr(b, "{\"len\":0}"), "{\"len\":5}")); /* in order */
}

static void bounds(void **s)
{
	char b[16384], big[400];
	(void)s;
	snprintf(big, sizeof big, "POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
	exchange(big, strlen(big), b, sizeof b, 0);
	assert_non_null(strstr(b, "HTTP/1.1 413 "));
	exchange(LIT("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), b, sizeof b, 0);
	assert_non_null(strstr(b, "HTTP/1.1 411 "));
	exchange(LIT("NOT HTTP\r\n\r\n"), b, sizeof b, 0);
	assert_non_null(strstr(b, "HTTP/1.1 400 "));
	exchange(LIT("HEAD /x HTTP/1.1\r\nConnection: close\r\n\r\n"), b, sizeof b, 0);
	assert_non_null(strstr(b, "Content-Length: 9\r\n"));
	assert_null(strstr(b, "{\"len\""));
	exchange(LIT("GET /nobody HTTP/1.1\r\nConnection: close\r\n\r\n"), b, sizeof b, 0);
	assert_non_null(strstr(b, "HTTP/1.1 204 No Content\r\n"));
	assert_null(strstr(b, "Content-Length"));
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(basics),
		cmocka_unit_test(bounds),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
