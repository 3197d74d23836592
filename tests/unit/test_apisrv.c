/* Unit tests: lib/api/apisrv.c — a server on a free port in a thread, a
 * trivial handler, and real sockets: answers and their fixed headers,
 * keep-alive, pipelining, body bounds (413), chunked bodies (411),
 * malformed heads (400), HEAD without a body, 204 without a length; the
 * peer address the handler sees; the events ("request" with its fields,
 * "connection refused" past max_conns); a TLS set-up that fails names
 * the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
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
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char events[8192]; /* "name k=v ...\n" per event (the server's thread writes) */
static char peer[64];

static void on_event(void *ctx, const lsp_event *ev)
{
	size_t o;
	(void)ctx;
	pthread_mutex_lock(&mu);
	o = strlen(events);
	o += (size_t)snprintf(events + o, sizeof events - o, "%d %s", ev->level, ev->name);
	for (int i = 0; i < ev->n && o < sizeof events; i++) {
		if (ev->vals[i].type == LSV_STR)
			o += (size_t)snprintf(events + o, sizeof events - o, " %s=%s", ev->keys[i], ev->vals[i].s);
		else if (strcmp(ev->keys[i], "ms") != 0) /* times vary */
			o += (size_t)snprintf(events + o, sizeof events - o, " %s=%lld", ev->keys[i], ev->vals[i].i);
	}
	if (o < sizeof events)
		snprintf(events + o, sizeof events - o, "\n");
	pthread_mutex_unlock(&mu);
}

static int seen(const char *line)
{
	int r;
	pthread_mutex_lock(&mu);
	r = strstr(events, line) != NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

static void handler(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs)
{
	char b[128];
	int n;
	(void)ctx;
	pthread_mutex_lock(&mu);
	snprintf(peer, sizeof peer, "%s", rq->peer);
	pthread_mutex_unlock(&mu);
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
	lsp_apisrv_cfg cfg = { .host = "127.0.0.1", .port = 0, .body_max = 100, .handler = handler, .event = on_event };
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

/* A connected socket to port on 127.0.0.1 (5 s receive timeout). */
static int dial_from(const char *src, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in b = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	inet_pton(AF_INET, src, &b.sin_addr);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof b), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static int dial(int port) { return dial_from("127.0.0.1", port); }

/* Send req, read until the peer closes or want answers arrived. */
static void exchange(const char *req, size_t len, char *out, size_t cap, int want)
{
	size_t got = 0;
	int fd = dial(lsp_apisrv_port(srv)), n = 0;
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
	pthread_mutex_lock(&mu);
	assert_string_equal(peer, "127.0.0.1"); /* the address, without the port */
	pthread_mutex_unlock(&mu);
	/* from loopback (the front door) the client is X-Forwarded-For's last address... */
	exchange(LIT("GET /f HTTP/1.1\r\nX-Forwarded-For: 203.0.113.9, 198.51.100.7\r\nConnection: close\r\n\r\n"), b,
		 sizeof b, 1);
	pthread_mutex_lock(&mu);
	assert_string_equal(peer, "198.51.100.7");
	pthread_mutex_unlock(&mu);
	/* ...when it is an address at all */
	exchange(LIT("GET /f HTTP/1.1\r\nX-Forwarded-For: evil\r\nConnection: close\r\n\r\n"), b, sizeof b, 1);
	pthread_mutex_lock(&mu);
	assert_string_equal(peer, "127.0.0.1");
	pthread_mutex_unlock(&mu);
	assert_true(seen("1 request method=GET path=/a status=200 bytes_in=0 bytes_out=9\n"));
	assert_true(seen("1 request method=POST path=/b status=200 bytes_in=5 bytes_out=9\n"));
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
	assert_true(seen("1 request method=- path=- status=413 bytes_in=0 bytes_out="));
	assert_true(seen("1 request method=HEAD path=/x status=200 bytes_in=0 bytes_out=0\n"));
}

static void *run_other(void *a)
{
	char err[128];
	lsp_apisrv_run(a, &stop, err, sizeof err);
	return NULL;
}

/* Past max_conns the oldest connection still waiting for a request makes
 * room; past max_per_addr a connection from that address is closed at
 * once and reported (loopback 127.0.0.1 is never capped: 127.0.0.2 is). */
static void limits(void **s)
{
	lsp_apisrv_cfg cfg = { .host = "127.0.0.1", .max_conns = 1, .max_per_addr = 1, .handler = handler,
			       .event = on_event };
	lsp_apisrv *one;
	pthread_t t2;
	char err[128], b[256];
	int a, c;
	(void)s;
	stop = 0;
	assert_int_equal(lsp_apisrv_open(&one, &cfg, err, sizeof err), 0);
	assert_int_equal(pthread_create(&t2, NULL, run_other, one), 0);
	a = dial(lsp_apisrv_port(one));
	usleep(100000);
	c = dial(lsp_apisrv_port(one));
	assert_int_equal(recv(a, b, sizeof b, 0), 0); /* idle a: closed to make room */
	assert_true(send(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 29, 0) == 29);
	assert_true(recv(c, b, sizeof b, 0) > 0);      /* c is served */
	close(a);
	close(c);
	usleep(100000);
	a = dial_from("127.0.0.2", lsp_apisrv_port(one));
	c = dial_from("127.0.0.2", lsp_apisrv_port(one));
	assert_int_equal(recv(c, b, sizeof b, 0), 0);  /* over the address's cap */
	for (int i = 0; i < 50 && !seen("connection refused"); i++)
		usleep(20000);
	assert_true(seen("2 connection refused reason=too many connections from this address peer=127.0.0.2 suppressed=0\n"));
	close(c);
	close(a);
	stop = 1;
	pthread_join(t2, NULL);
	lsp_apisrv_close(one);
}

static void bad_tls(void **s)
{
	lsp_apisrv_cfg cfg = { .host = "127.0.0.1", .cert = "/nonexistent/cert.pem", .key = "/nonexistent/key.pem",
			       .handler = handler };
	lsp_apisrv *x = NULL;
	char err[256];
	(void)s;
	assert_int_equal(lsp_apisrv_open(&x, &cfg, err, sizeof err), -EINVAL);
	assert_null(x);
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(basics),
		cmocka_unit_test(bounds),
		cmocka_unit_test(bad_tls),
	};
	const struct CMUnitTest alone[] = { cmocka_unit_test(limits) };
	int rc = cmocka_run_group_tests(t, setup, teardown);
	return rc + cmocka_run_group_tests(alone, NULL, NULL);
}
