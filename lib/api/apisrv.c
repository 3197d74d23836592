/* apisrv.c — request/response HTTP/1.1 server over epoll; see apisrv.h.
 *
 * Objects and owners: the server owns the listening socket, the epoll
 * descriptor, the TLS context and the slot table of connections.  A
 * connection owns its socket, its SSL, its input buffer (head + body, at
 * most LSP_HTTP_HEAD_MAX + body_max bytes, allocated on the first read) and
 * its output buffer (head and body of one answer).  Level-triggered epoll:
 * a connection wants EPOLLIN while reading and EPOLLOUT while writing,
 * except when TLS asks for the other direction.  Listening, accepting,
 * peer addresses and the TLS context are lib/core/net's. */
#include "api/apisrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/net.h"
#include "core/peercap.h"
#include "core/ratelim.h"

#define READ_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 30000  /* keep-alive: between requests */
#define FIRST_TIMEOUT_MS 10000 /* a new connection's first request head */
#define WRITE_TIMEOUT_MS 30000
#define HEAD_OUT_MAX 4096

enum cstate { C_HANDSHAKE, C_READ, C_WRITE, C_WAIT }; /* C_WAIT: a deferred answer */

typedef struct conn {
	int fd, slot;
	enum cstate st;
	SSL *ssl;
	char *in;            /* input buffer, incap bytes */
	size_t inlen, incap;
	size_t need;         /* head + body length of the request being read, 0 = unknown */
	char *out;           /* answer: head then body */
	size_t outlen, outoff;
	int64_t deadline;
	uint32_t events;
	int keep_alive, started;
	int64_t t0;          /* accepted (monotonic ms) */
	char peer[64];       /* the client's address, without the port */
	unsigned seq;        /* with slot, the ticket of a deferred answer */
	/* a deferred request, for its answer and log line */
	char wmethod[16], wpath[256];
	int whead;
	int64_t wt0;
	size_t wbytes_in;
} conn;

struct lsp_apisrv {
	lsp_apisrv_cfg cfg;
	int lfd, ep, port;
	SSL_CTX *tls;
	conn **slots;
	int *free_slots, nfree;
	int nconns;
	lsp_peercap *peers;      /* connections per client address */
	int reserve;             /* a descriptor kept for shedding at EMFILE */
	lsp_ratelim refuse_rl;   /* "connection refused": once a second at most */
	long long refused, evicted;
	unsigned seq;            /* the last connection's number */
};

/* Reason phrases lib/core/http.c does not carry. */
static const char *reason(int status)
{
	switch (status) {
	case 201: return "Created";
	case 204: return "No Content";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	default: return lsp_http_reason(status);
	}
}

static void set_events(lsp_apisrv *s, conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (c->events == ev)
		return;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void conn_close(lsp_apisrv *s, conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	lsp_peercap_del(s->peers, c->peer);
	s->slots[c->slot] = NULL;
	s->free_slots[s->nfree++] = c->slot;
	s->nconns--;
	free(c->in);
	free(c->out);
	free(c);
}

/* Bytes in: > 0 read, 0 would block, -1 closed or failed.  *want gets the
 * epoll direction TLS needs when it would block. */
static ssize_t in_bytes(conn *c, char *p, size_t n, uint32_t *want)
{
	*want = EPOLLIN;
	if (c->ssl) {
		int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n), e;
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			*want = EPOLLOUT;
			return 0;
		}
		return -1;
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r > 0)
			return r;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

static ssize_t out_bytes(conn *c, const char *p, size_t n, uint32_t *want)
{
	*want = EPOLLOUT;
	if (c->ssl) {
		int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n), e;
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_WANT_READ) {
			*want = EPOLLIN;
			return 0;
		}
		return -1;
	}
	for (;;) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
}

static void conn_read(lsp_apisrv *s, conn *c);

/* Write what is pending.  -1: the connection is closed (and freed); 0:
 * waiting for the socket; 1: the answer is out and c is reading again
 * (bytes of a pipelined request may already sit in c->in: the caller
 * parses them, so this never recurses). */
static int conn_write(lsp_apisrv *s, conn *c)
{
	uint32_t want = EPOLLOUT;
	while (c->outoff < c->outlen) {
		ssize_t n = out_bytes(c, c->out + c->outoff, c->outlen - c->outoff, &want);
		if (n < 0) {
			conn_close(s, c);
			return -1;
		}
		if (n == 0) {
			set_events(s, c, want);
			return 0;
		}
		c->outoff += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	if (!c->keep_alive) {
		conn_close(s, c);
		return -1;
	}
	c->st = C_READ;
	c->started = 0;
	c->deadline = lsp_clock_mono_ms() + IDLE_TIMEOUT_MS;
	set_events(s, c, EPOLLIN);
	return 1;
}

/* Build the answer for rs into c->out and start writing. */
/* Returns as conn_write. */
static int answer(lsp_apisrv *s, conn *c, const char *method, const char *path, lsp_apisrv_resp *rs, int head_only,
		  int64_t t0, size_t bytes_in)
{
	char head[HEAD_OUT_MAX + sizeof rs->headers], date[64], clen[48] = "";
	time_t t = time(NULL);
	struct tm tm;
	size_t blen = rs->body ? rs->body_len : 0;
	int hl;
	if (rs->status == 204)
		blen = 0;
	else
		snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", blen);
	if (!gmtime_r(&t, &tm) || strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 GMT"); /* a clock past year 9999 */
	hl = snprintf(head, sizeof head,
		      "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: lsp\r\nContent-Type: %s\r\n%s"
		      "Connection: %s\r\nX-Content-Type-Options: nosniff\r\n"
		      "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
		      "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\nCache-Control: no-store\r\n%s%s\r\n",
		      rs->status, reason(rs->status), date, rs->ctype ? rs->ctype : "application/json",
		      clen,
		      c->keep_alive ? "keep-alive" : "close",
		      c->ssl ? "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n" : "", rs->headers);
	if (hl < 0 || (size_t)hl >= sizeof head) {
		hl = snprintf(head, sizeof head, "HTTP/1.1 500 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			      reason(500));
		blen = 0;
		c->keep_alive = 0;
	}
	if (head_only)
		blen = 0;
	c->out = malloc((size_t)hl + blen + 1);
	if (!c->out) {
		free(rs->body);
		conn_close(s, c);
		return -1;
	}
	memcpy(c->out, head, (size_t)hl);
	if (blen)
		memcpy(c->out + hl, rs->body, blen);
	free(rs->body);
	rs->body = NULL;
	c->outlen = (size_t)hl + blen;
	c->outoff = 0;
	c->st = C_WRITE;
	c->deadline = lsp_clock_mono_ms() + WRITE_TIMEOUT_MS;
	lsp_event_emit(s->cfg.event, s->cfg.event_ctx, rs->status >= 500 ? LSP_WARN : LSP_INFO, "request", "method",
		       LSV_S(method), "path", LSV_S(path), "status", LSV_I(rs->status), "ms",
		       LSV_I(lsp_clock_mono_ms() - t0), "bytes_in", LSV_I(bytes_in), "bytes_out", LSV_I(blen), NULL);
	return conn_write(s, c);
}

static int answer_error(lsp_apisrv *s, conn *c, int status)
{
	lsp_apisrv_resp rs;
	char b[128];
	int n = snprintf(b, sizeof b, "{\"error\":\"%s\",\"message\":\"%s\"}",
			 status == 413 ? "too_large" : status == 411 ? "length_required" : "bad_request",
			 lsp_http_reason(status));
	memset(&rs, 0, sizeof rs);
	rs.status = status;
	rs.body = malloc((size_t)n + 1);
	if (rs.body) {
		memcpy(rs.body, b, (size_t)n + 1);
		rs.body_len = (size_t)n;
	}
	c->keep_alive = 0;
	return answer(s, c, "-", "-", &rs, 0, lsp_clock_mono_ms(), 0);
}

/* Behind this machine's front door (lsp-edge forwarding from loopback),
 * the client is the last address lsp-edge put in X-Forwarded-For and the
 * scheme its X-Forwarded-Proto; from anywhere else both headers are
 * ignored (a client could write them).  Fills out with the address. */
static void forwarded(const conn *c, const lsp_http_req *rq, char *out, size_t cap, int *tls)
{
	size_t n, vl;
	const char *v, *p;
	unsigned char bin[16];
	char a[64];
	snprintf(out, cap, "%s", c->peer);
	if (!lsp_peercap_exempt(c->peer))
		return;
	if ((v = lsp_http_header_get(rq, "X-Forwarded-Proto", &vl)) && vl == 5 && !strncasecmp(v, "https", 5))
		*tls = 1;
	if (!(v = lsp_http_header_get(rq, "X-Forwarded-For", &vl)) || vl == 0)
		return;
	for (p = v + vl; p > v && p[-1] != ','; p--)
		;
	while (p < v + vl && *p == ' ')
		p++;
	n = (size_t)(v + vl - p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof a)
		return;
	memcpy(a, p, n);
	a[n] = 0;
	if (inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1)
		snprintf(out, cap, "%s", a);
}

/* A whole request (head of hlen bytes + body) sits at c->in. */
static int dispatch(lsp_apisrv *s, conn *c, const lsp_http_req *rq, size_t hlen, size_t blen)
{
	char peer[64];
	int tls = c->ssl != NULL;
	lsp_apisrv_req ar;
	lsp_apisrv_resp rs;
	char method[16], path[256];
	int64_t t0 = lsp_clock_mono_ms();
	size_t ml = rq->method_len < sizeof method - 1 ? rq->method_len : sizeof method - 1;
	size_t pl = rq->path_len < sizeof path - 1 ? rq->path_len : sizeof path - 1;
	forwarded(c, rq, peer, sizeof peer, &tls);
	ar = (lsp_apisrv_req){ rq, blen ? c->in + hlen : NULL, blen, peer, tls,
			       (unsigned long long)c->seq << 32 | (unsigned)c->slot };
	memcpy(method, rq->method_s, ml);
	method[ml] = 0;
	memcpy(path, rq->path, pl);
	path[pl] = 0;
	memset(&rs, 0, sizeof rs);
	rs.status = 500;
	c->keep_alive = rq->keep_alive;
	s->cfg.handler(s->cfg.handler_ctx, &ar, &rs);
	/* drop the request bytes, keep what follows (pipelining) */
	memmove(c->in, c->in + hlen + blen, c->inlen - hlen - blen);
	c->inlen -= hlen + blen;
	c->need = 0;
	if (rs.defer) { /* the handler answers later, through lsp_apisrv_finish */
		free(rs.body);
		memcpy(c->wmethod, method, sizeof method);
		memcpy(c->wpath, path, sizeof path);
		c->whead = rq->method == LSP_HTTP_HEAD;
		c->wt0 = t0;
		c->wbytes_in = blen;
		c->st = C_WAIT;
		set_events(s, c, 0); /* hang-ups still come (EPOLLHUP, EPOLLERR) */
		return 0;
	}
	return answer(s, c, method, path, &rs, rq->method == LSP_HTTP_HEAD, t0, blen);
}

static void conn_read(lsp_apisrv *s, conn *c)
{
	lsp_http_req rq;
	uint32_t want = EPOLLIN;
	int hl;
	if (!c->in) {
		c->incap = LSP_HTTP_HEAD_MAX + s->cfg.body_max;
		if (!(c->in = malloc(c->incap))) {
			conn_close(s, c);
			return;
		}
	}
	for (;;) {
		ssize_t n = 0;
		if (c->inlen < c->incap) {
			n = in_bytes(c, c->in + c->inlen, c->incap - c->inlen, &want);
			if (n < 0) {
				conn_close(s, c);
				return;
			}
			c->inlen += (size_t)n;
			if (n > 0 && !c->started) {
				c->started = 1;
				c->deadline = lsp_clock_mono_ms() + READ_TIMEOUT_MS;
			}
		}
		if (c->inlen == 0) {
			set_events(s, c, want);
			return;
		}
		hl = lsp_http_parse(c->in, c->inlen, &rq);
		if (hl < 0) {
			answer_error(s, c, -hl);
			return;
		}
		if (hl > 0) {
			size_t blen = 0;
			if (rq.chunked) {
				answer_error(s, c, 411);
				return;
			}
			if (rq.content_length > 0) {
				if ((unsigned long long)rq.content_length > s->cfg.body_max) {
					answer_error(s, c, 413);
					return;
				}
				blen = (size_t)rq.content_length;
			}
			if (c->inlen >= (size_t)hl + blen) {
				if (dispatch(s, c, &rq, (size_t)hl, blen) <= 0)
					return; /* closed, or the answer waits for the socket */
				if (c->inlen > 0) { /* pipelined: parse what follows */
					c->started = 1;
					c->deadline = lsp_clock_mono_ms() + READ_TIMEOUT_MS;
				}
				continue;
			}
		}
		if (n == 0) {
			set_events(s, c, want);
			return;
		}
	}
}

static void on_handshake(lsp_apisrv *s, conn *c)
{
	int r = SSL_accept(c->ssl), e;
	if (r == 1) {
		c->st = C_READ;
		c->deadline = lsp_clock_mono_ms() + IDLE_TIMEOUT_MS;
		set_events(s, c, EPOLLIN);
		conn_read(s, c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		set_events(s, c, EPOLLIN);
	else if (e == SSL_ERROR_WANT_WRITE)
		set_events(s, c, EPOLLOUT);
	else {
		lsp_event_emit(s->cfg.event, s->cfg.event_ctx, LSP_INFO, "tls handshake failed", "peer", LSV_S(c->peer),
			       NULL);
		conn_close(s, c);
	}
}

/* One refusal, logged once a second at most with the count held back. */
static void refuse(lsp_apisrv *s, const char *why, const char *peer)
{
	long long held = 0;
	s->refused++;
	if (lsp_ratelim_ok(&s->refuse_rl, lsp_clock_mono_ms(), 1000, &held))
		lsp_event_emit(s->cfg.event, s->cfg.event_ctx, LSP_WARN, "connection refused", "reason", LSV_S(why),
			       "peer", LSV_S(peer ? peer : ""), "suppressed", LSV_I(held), NULL);
}

/* The table is full: close the oldest connection that is waiting for a
 * request (never one being answered), so idle sockets cannot lock real
 * clients out.  1 when one was closed. */
static int evict_idle(lsp_apisrv *s)
{
	conn *old = NULL;
	for (int k = 0; k < s->cfg.max_conns; k++) {
		conn *c = s->slots[k];
		if (c && c->st != C_WRITE && c->st != C_WAIT && (!old || c->t0 < old->t0))
			old = c;
	}
	if (!old)
		return 0;
	s->evicted++;
	conn_close(s, old);
	return 1;
}

static void on_accept(lsp_apisrv *s)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof sa;
		struct epoll_event ev;
		char peer[64] = "";
		conn *c;
		int fd = lsp_net_accept(s->lfd, LSP_NET_NONBLOCK, NULL, 0), slot, one = 1, rc;
		if (fd == -EMFILE || fd == -ENFILE) {
			refuse(s, "out of descriptors", NULL);
			if (lsp_net_shed(s->lfd, &s->reserve) < 0)
				return;
			continue;
		}
		if (fd < 0)
			return;
		if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0)
			lsp_net_addr_str((struct sockaddr *)&sa, 0, peer, sizeof peer);
		if ((rc = lsp_peercap_add(s->peers, peer, s->cfg.max_per_addr)) < 0) {
			refuse(s, rc == -EUSERS ? "too many connections from this address" : "too many connections", peer);
			close(fd);
			continue;
		}
		if (s->nfree == 0)
			evict_idle(s);
		if (s->nfree == 0 || !(c = calloc(1, sizeof *c))) {
			lsp_peercap_del(s->peers, peer);
			refuse(s, "too many connections", peer);
			close(fd);
			continue;
		}
		slot = s->free_slots[--s->nfree];
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->fd = fd;
		c->slot = slot;
		c->seq = ++s->seq;
		snprintf(c->peer, sizeof c->peer, "%s", peer);
		c->st = s->tls ? C_HANDSHAKE : C_READ;
		c->t0 = lsp_clock_mono_ms();
		c->deadline = c->t0 + FIRST_TIMEOUT_MS; /* the TLS handshake included */
		c->events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if ((s->tls && (!(c->ssl = SSL_new(s->tls)) || SSL_set_fd(c->ssl, fd) != 1)) ||
		    epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			SSL_free(c->ssl);
			close(fd);
			lsp_peercap_del(s->peers, peer);
			s->free_slots[s->nfree++] = slot;
			free(c);
			continue;
		}
		s->slots[slot] = c;
		s->nconns++;
	}
}

static void sweep(lsp_apisrv *s)
{
	int64_t now = lsp_clock_mono_ms();
	for (int i = 0; i < s->cfg.max_conns; i++) {
		conn *c = s->slots[i];
		if (c && c->st != C_WAIT && now >= c->deadline) {
			if (c->st == C_READ && c->started && c->inlen > 0 && !c->out)
				answer_error(s, c, 408);
			else
				conn_close(s, c);
		}
	}
}

int lsp_apisrv_run(lsp_apisrv *s, const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct epoll_event evs[64];
	int64_t next_sweep = lsp_clock_mono_ms() + 1000;
	while (!*stop) {
		int n = epoll_wait(s->ep, evs, 64, 250), woke = 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errcap, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			conn *c = evs[i].data.ptr;
			if (!c) {
				on_accept(s);
				continue;
			}
			if ((void *)c == (void *)&s->cfg.wake_fd) {
				woke = 1; /* after the batch: answers may close connections still in evs */
				continue;
			}
			if (c->st == C_WAIT) { /* only a hang-up wakes a waiting connection */
				if (evs[i].events & (EPOLLHUP | EPOLLERR))
					conn_close(s, c);
				continue;
			}
			if (c->st == C_HANDSHAKE)
				on_handshake(s, c);
			/* writing: a reply sent in full lets pipelined input be read */
			else if (c->st == C_READ || (conn_write(s, c) == 1 && c->inlen > 0))
				conn_read(s, c);
		}
		if (woke)
			s->cfg.wake(s->cfg.wake_ctx, s);
		if (lsp_clock_mono_ms() >= next_sweep) {
			sweep(s);
			if (s->cfg.tick)
				s->cfg.tick(s->cfg.tick_ctx);
			next_sweep = lsp_clock_mono_ms() + 1000;
		}
	}
	return 0;
}

int lsp_apisrv_open(lsp_apisrv **out, const lsp_apisrv_cfg *cfg, char *err, size_t errcap)
{
	lsp_apisrv *s;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int rc = -EIO;

	*out = NULL;
	if (!cfg->handler) {
		snprintf(err, errcap, "no handler");
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->lfd = s->ep = -1;
	s->reserve = lsp_net_reserve_open();
	if (s->cfg.max_conns <= 0)
		s->cfg.max_conns = LSP_APISRV_MAX_CONNS;
	if (s->cfg.max_per_addr == 0)
		s->cfg.max_per_addr = LSP_APISRV_MAX_PER_ADDR;
	(void)lsp_net_raise_nofile((long)s->cfg.max_conns + 256);
	if (s->cfg.body_max == 0)
		s->cfg.body_max = 16384;
	if (!(s->slots = calloc((size_t)s->cfg.max_conns, sizeof(conn *))) ||
	    !(s->free_slots = calloc((size_t)s->cfg.max_conns, sizeof *s->free_slots)) ||
	    !(s->peers = lsp_peercap_new(s->cfg.max_conns))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = lsp_net_listen(cfg->host && *cfg->host ? cfg->host : "0.0.0.0", cfg->port, SOCK_STREAM,
				 LSP_NET_NONBLOCK, err, errcap)) < 0)
		goto fail;
	s->lfd = rc;
	if ((rc = lsp_net_port(s->lfd)) < 0) {
		snprintf(err, errcap, "unable to listen on port %d: %s", cfg->port, strerror(-rc));
		goto fail;
	}
	s->port = rc;
	for (int i = s->cfg.max_conns - 1; i >= 0; i--)
		s->free_slots[s->nfree++] = i;
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		rc = -errno;
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		goto fail;
	}
	if (s->cfg.wake_fd > 0 && s->cfg.wake) {
		struct epoll_event we = { .events = EPOLLIN, .data.ptr = &s->cfg.wake_fd };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->cfg.wake_fd, &we) < 0) {
			rc = -errno;
			snprintf(err, errcap, "epoll: %s", strerror(errno));
			goto fail;
		}
	}
	if (cfg->cert && *cfg->cert && cfg->key && *cfg->key &&
	    !(s->tls = lsp_net_tls_server(cfg->cert, cfg->key, err, errcap))) {
		rc = -EINVAL;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	lsp_apisrv_close(s);
	return rc;
}

int lsp_apisrv_port(const lsp_apisrv *s) { return s->port; }

int lsp_apisrv_finish(lsp_apisrv *s, unsigned long long ticket, lsp_apisrv_resp *rs)
{
	unsigned slot = (unsigned)(ticket & 0xffffffffu), seq = (unsigned)(ticket >> 32);
	conn *c = slot < (unsigned)s->cfg.max_conns ? s->slots[slot] : NULL;
	if (!c || c->seq != seq || c->st != C_WAIT) { /* the client left meanwhile */
		free(rs->body);
		rs->body = NULL;
		return 1;
	}
	rs->defer = 0;
	if (answer(s, c, c->wmethod, c->wpath, rs, c->whead, c->wt0, c->wbytes_in) == 1 && c->inlen > 0)
		conn_read(s, c); /* a pipelined request waited behind this one */
	return 0;
}

void lsp_apisrv_close(lsp_apisrv *s)
{
	if (!s)
		return;
	for (int i = 0; s->slots && i < s->cfg.max_conns; i++)
		if (s->slots[i])
			conn_close(s, s->slots[i]);
	free(s->slots);
	free(s->free_slots);
	lsp_peercap_free(s->peers);
	if (s->reserve >= 0)
		close(s->reserve);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->ep >= 0)
		close(s->ep);
	SSL_CTX_free(s->tls);
	free(s);
}
