/* hookrecv.h — a webhook receiver on a loopback socket inside the unit
 * test (test_hook, test_hookpool): one thread accepts, one thread per
 * connection reads one POST and answers as its path says:
 *
 *   /ok    200 "ok", and "<channel>:<event>" of the body noted in got[]
 *   /no    403 "no entry"
 *   /slow  200 after 1.5 s
 *   /hang  no answer: it waits until the client gives up (hung counts them)
 *
 * Every request's X-LSP-Signature is checked against secret; a bad one is
 * answered 400 and counted in bad.
 *
 *   struct hookrecv r;  hookrecv_start(&r, "secret");  ... r.port ...
 *   hookrecv_stop(&r);  (then read r.got, r.n, r.bad, r.hung)
 *
 * Header-only (static inline), for tests/unit/test_*.c; include it after
 * cmocka.h. */
#ifndef LSP_TEST_HOOKRECV_H
#define LSP_TEST_HOOKRECV_H
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/webhook.h"

struct hookrecv {
	int fd, port, stop;
	const char *secret;
	pthread_t th;
	pthread_mutex_t mu;   /* what follows */
	int seen, bad, hung;
	char got[32][48];
	int n;
};

struct hookrecv_conn {
	struct hookrecv *r;
	int fd;
};

/* The string value of "key" in body into out ("" when absent). */
static inline void hookrecv_field(const char *body, const char *key, char *out, size_t cap)
{
	char pat[32];
	const char *p;
	out[0] = 0;
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	if ((p = strstr(body, pat)))
		snprintf(out, cap, "%.*s", (int)strcspn(p + strlen(pat), "\""), p + strlen(pat));
}

static inline void *hookrecv_one(void *arg)
{
	struct hookrecv_conn *k = arg;
	struct hookrecv *r = k->r;
	char buf[8192], sig[200] = "", ev[16], ch[48];
	size_t len = 0;
	ssize_t n;
	const char *body, *h, *ans;
	int good;
	while ((n = recv(k->fd, buf + len, sizeof buf - 1 - len, 0)) > 0) {
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
	good = body && lsp_webhook_verify(r->secret, strlen(r->secret), sig, body + 4, strlen(body + 4),
					  (long long)time(NULL), 60);
	pthread_mutex_lock(&r->mu);
	r->bad += !good;
	if (good && strncmp(buf, "POST /ok ", 9) == 0 && r->n < 32) {
		hookrecv_field(body, "event", ev, sizeof ev);
		hookrecv_field(body, "channel", ch, sizeof ch);
		snprintf(r->got[r->n++], sizeof r->got[0], "%s:%s", ch, ev);
	}
	r->hung += good && strncmp(buf, "POST /hang ", 11) == 0;
	pthread_mutex_unlock(&r->mu);
	if (good && strncmp(buf, "POST /hang ", 11) == 0) {
		while (recv(k->fd, buf, sizeof buf, 0) > 0) /* until the client gives up */
			;
	} else {
		ans = !good ? "HTTP/1.1 400 Bad\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbad\n"
		      : strncmp(buf, "POST /no ", 9) == 0
			      ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno entry\n"
			      : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
		if (strncmp(buf, "POST /slow ", 11) == 0)
			usleep(1500000);
		(void)!send(k->fd, ans, strlen(ans), MSG_NOSIGNAL);
	}
	close(k->fd);
	free(k);
	return NULL;
}

static inline void *hookrecv_serve(void *arg)
{
	struct hookrecv *r = arg;
	while (!r->stop) {
		struct pollfd pf = { r->fd, POLLIN, 0 };
		struct hookrecv_conn *k;
		pthread_t t;
		int c;
		if (poll(&pf, 1, 50) <= 0 || (c = accept(r->fd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&r->mu);
		r->seen++;
		pthread_mutex_unlock(&r->mu);
		if (!(k = malloc(sizeof *k))) {
			close(c);
			continue;
		}
		k->r = r;
		k->fd = c;
		if (pthread_create(&t, NULL, hookrecv_one, k) == 0) {
			pthread_detach(t);
		} else {
			close(c);
			free(k);
		}
	}
	return NULL;
}

static inline void hookrecv_start(struct hookrecv *r, const char *secret)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	memset(r, 0, sizeof *r);
	r->secret = secret;
	pthread_mutex_init(&r->mu, NULL);
	assert_true((r->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(r->fd, 16), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, hookrecv_serve, r), 0);
}

static inline void hookrecv_stop(struct hookrecv *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

#endif
