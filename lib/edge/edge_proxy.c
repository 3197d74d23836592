/* edge_proxy.c — lsp-edge as the front door: requests for the other
 * servers are forwarded, so every page, socket and API call shares one
 * origin (one port, one certificate).
 *
 *   /api/v1/…              ─▶ lsp-api   (cfg.upstream[EDGE_UP_API])
 *   /ws/…, /presence       ─▶ lsp-chat  (cfg.upstream[EDGE_UP_CHAT])
 *   /whep/…, /whip/…       ─▶ lsp-rtc   (cfg.upstream[EDGE_UP_RTC])
 *
 *   client ─head+body─▶ [edge] ─connect─▶ upstream     (one upstream
 *   client ◀─head'+body── [edge] ◀─head+body── upstream  connection per
 *                                                       request)
 *   stages:  CONNECT ─▶ HEAD (request out, waiting for the response head)
 *            ─▶ BODY (Content-Length, or until the upstream closes)
 *            ─▶ done: the client connection is kept alive or closed
 *            HEAD ─101─▶ TUNNEL (WebSocket: bytes both ways until a close)
 *   deadlines: connect + head cfg.upstream_timeout_ms (then 504), no byte either way
 *   for PROXY_IDLE_MS (PROXY_TUNNEL_MS on a tunnel: then closed).
 *
 * The request head is rebuilt: hop-by-hop headers (Connection, Keep-Alive,
 * Upgrade unless it is a WebSocket, Expect, TE) and any X-Forwarded-* the
 * client sent are dropped; X-Forwarded-For (the client's address) and
 * X-Forwarded-Proto (http / https) are added; the upstream is told
 * "Connection: close" (or "Upgrade").  The response head is rebuilt the
 * same way with the client's own Connection.  Chunked request bodies are
 * refused (411); responses are passed through as they come.
 *
 * An HTTP/2 stream (c->up set) is forwarded the same way with two
 * differences: its request body was collected by edge_h2.c and is read
 * from c->rbuf like bytes behind a head (Content-Length set from it), and
 * the answer is collected (status, headers, a body of at most
 * PROXY_H2_RESP_MAX; a chunked one is refused with 502) and submitted as
 * one HTTP/2 response.  No WebSocket over HTTP/2 (edge_h2_refuse).
 *
 * Owners: the client connection owns its edge_proxy (c->px), which owns
 * the upstream socket and both buffers; the upstream socket's epoll tag is
 * c->ptag, inside the connection, so an event for a connection closed
 * earlier in a batch is recognised (c->kind is 0 then, c->px NULL).  Every
 * socket is non-blocking and the loop never waits on an upstream.
 * Internal; see edge_int.h. */
#include "edge/edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpurl.h"
#include "edge/proxyhead.h"

enum proxy_stage { P_CONNECT, P_HEAD, P_BODY, P_TUNNEL };
enum proxy_framing { R_LENGTH, R_EOF };

typedef struct edge_proxy {
	int which;              /* EDGE_UP_* */
	int fd;                 /* upstream socket, owned */
	enum proxy_stage st;
	enum proxy_framing framing;
	int upgrade;            /* the client asked for a WebSocket */
	int up_eof;             /* the upstream closed its side */
	long long req_left;     /* request body bytes still to forward */
	long long resp_left;    /* R_LENGTH: response body bytes still to come */
	char *h;                /* response head being read (LSP_HTTP_HEAD_MAX), owned */
	size_t hlen;
	size_t ulen, uoff;      /* u: to the upstream */
	size_t dlen, doff;      /* d: to the client */
	/* HTTP/2: the answer collected, then submitted whole */
	int status;
	lsp_http_req resp;      /* its headers, pointing into h (kept) */
	char *body;
	size_t blen, bcap;
	char u[PROXY_UBUF];
	char d[PROXY_DBUF];
} edge_proxy;

static const char *const up_name[EDGE_UP_N] = { "api", "chat", "rtc" };

/* ---- routes and setup --------------------------------------------------- */

int edge_proxy_init(lsp_edge *e, char *err, size_t errcap)
{
	for (int i = 0; i < EDGE_UP_N; i++) {
		const char *u = e->cfg.upstream[i];
		char hp[300], why[200];
		e->up_len[i] = 0;
		if (!u || !*u || !strcmp(u, "off"))
			continue;
		if (lsp_httpurl_resolve(u, &e->up_addr[i], &e->up_len[i], hp, sizeof hp, why, sizeof why) < 0) {
			snprintf(err, errcap, "upstream %s %s: %s", up_name[i], u, why);
			e->up_len[i] = 0;
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- heads -------------------------------------------------------------- */

/* The forwarded request head into p->u.  0, or -1 when it does not fit. */
static int request_head(lsp_edge *e, edge_conn *c, edge_proxy *p, const lsp_http_req *rq)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	char addr[INET6_ADDRSTRLEN] = "unknown", extra[PROXY_EXTRA_MAX];
	const char *upg = NULL;
	size_t len = 0, ul = 0;
	int n;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
	}
	if (p->upgrade)
		upg = lsp_http_header_get(rq, "upgrade", &ul);
	if (lsp_proxyhead_put(p->u, sizeof p->u, &len, rq->method_s, rq->method_len) < 0 || lsp_proxyhead_put(p->u, sizeof p->u, &len, " ", 1) < 0 ||
	    lsp_proxyhead_put(p->u, sizeof p->u, &len, rq->target, rq->target_len) < 0 ||
	    lsp_proxyhead_put(p->u, sizeof p->u, &len, " HTTP/1.1\r\n", 11) < 0)
		return -1;
	for (int i = 0; i < rq->nheaders; i++) {
		const lsp_http_header *x = &rq->headers[i];
		if (c->up && x->name_len == 14 && !strncasecmp(x->name, "content-length", 14))
			continue; /* HTTP/2: set below from the body received */
		if (!lsp_proxyhead_hop(x) && lsp_proxyhead_put_header(p->u, sizeof p->u, &len, x) < 0)
			return -1;
	}
	if (c->up && p->req_left > 0) {
		n = snprintf(extra, sizeof extra, "Content-Length: %lld\r\n", p->req_left);
		if (n < 0 || (size_t)n >= sizeof extra || lsp_proxyhead_put(p->u, sizeof p->u, &len, extra, (size_t)n) < 0)
			return -1;
	}
	if (upg)
		n = snprintf(extra, sizeof extra,
			     "X-Forwarded-For: %s\r\nX-Forwarded-Proto: %s\r\nConnection: Upgrade\r\nUpgrade: %.*s\r\n\r\n",
			     addr, e->tls ? "https" : "http", (int)(ul < 64 ? ul : 64), upg);
	else
		n = snprintf(extra, sizeof extra, "X-Forwarded-For: %s\r\nX-Forwarded-Proto: %s\r\nConnection: close\r\n\r\n",
			     addr, e->tls ? "https" : "http");
	if (n < 0 || (size_t)n >= sizeof extra || lsp_proxyhead_put(p->u, sizeof p->u, &len, extra, (size_t)n) < 0)
		return -1;
	p->ulen = len;
	p->uoff = 0;
	return 0;
}

/* ---- ending ------------------------------------------------------------- */

void edge_proxy_free(lsp_edge *e, edge_conn *c)
{
	edge_proxy *p = c->px;
	if (!p)
		return;
	if (p->fd >= 0) {
		epoll_ctl(e->efd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	if (p->st == P_TUNNEL)
		e->px_tunnels--;
	free(p->h);
	free(p->body);
	free(p);
	c->px = NULL;
	e->px_open--;
}

/* Nothing was sent to the client yet: answer it status with a JSON body. */
static void fail(lsp_edge *e, edge_conn *c, int status, const char *why)
{
	char body[160];
	int which = c->px ? c->px->which : EDGE_UP_API;
	e->px_errors[which]++;
	edge_proxy_free(e, c);
	c->keep_alive = 0; /* body bytes of the request may still be in flight */
	snprintf(body, sizeof body, "{\"error\":\"%s\",\"upstream\":\"%s\",\"status\":%d}\n", why, up_name[which],
		 status);
	edge_respond_text(e, c, status, "application/json", "no-store", body);
}

/* The client is gone or the exchange broke after the answer began: close
 * the connection (an HTTP/2 stream: reset it, the others go on). */
static void drop(lsp_edge *e, edge_conn *c)
{
	if (c->up)
		edge_h2_reset(e, c);
	else
		edge_conn_close(e, c);
}

/* The exchange is over: the client connection goes on (or is closed); an
 * HTTP/2 stream gets the answer collected. */
static void finish(lsp_edge *e, edge_conn *c)
{
	edge_proxy *p = c->px;
	if (c->up) {
		edge_body *b = NULL;
		if (p->framing == R_LENGTH && p->resp_left > 0) { /* cut short */
			drop(e, c);
			return;
		}
		if (p->blen && !(b = edge_body_from(p->body, p->blen))) {
			fail(e, c, 503, "out of memory");
			return;
		}
		edge_h2_respond_fwd(e, c, p->status, &p->resp, b); /* headers copied */
		edge_proxy_free(e, c);
		return;
	}
	if (p->req_left > 0 || p->framing == R_EOF || p->st == P_TUNNEL)
		c->keep_alive = 0;
	edge_proxy_free(e, c);
	edge_conn_next(e, c);
}

/* ---- the response head -------------------------------------------------- */

/* Append k upstream body bytes to an HTTP/2 stream's answer.  0, or -1
 * (502 sent) past PROXY_H2_RESP_MAX or out of memory. */
static int h2_take(lsp_edge *e, edge_conn *c, const char *b, size_t k)
{
	edge_proxy *p = c->px;
	if (p->blen + k > p->bcap) {
		size_t cap = p->bcap ? p->bcap : 16384;
		char *nb;
		while (cap < p->blen + k)
			cap *= 2;
		if (cap > PROXY_H2_RESP_MAX)
			cap = PROXY_H2_RESP_MAX;
		if (p->blen + k > cap || !(nb = realloc(p->body, cap))) {
			fail(e, c, 502, "upstream answer too large for HTTP/2");
			return -1;
		}
		p->body = nb;
		p->bcap = cap;
	}
	memcpy(p->body + p->blen, b, k);
	p->blen += k;
	return 0;
}

/* HTTP/2: p->h holds a complete head of n bytes; it stays (p->resp points
 * into it) and what followed it starts the body. */
static int on_head_h2(lsp_edge *e, edge_conn *c, int n, int status, const lsp_http_req *r)
{
	edge_proxy *p = c->px;
	size_t rest = p->hlen - (size_t)n;
	if (r->chunked) {
		fail(e, c, 502, "chunked upstream answer: not forwarded over HTTP/2");
		return -1;
	}
	p->st = P_BODY;
	p->status = status;
	p->resp = *r;
	if (c->head_only || status == 204 || status == 304) {
		p->framing = R_LENGTH;
		p->resp_left = 0;
	} else if (r->content_length >= 0) {
		p->framing = R_LENGTH;
		p->resp_left = r->content_length;
	} else {
		p->framing = R_EOF;
	}
	if (p->framing == R_LENGTH && (long long)rest > p->resp_left)
		rest = (size_t)p->resp_left;
	if (rest && h2_take(e, c, p->h + n, rest) < 0)
		return -1;
	if (p->framing == R_LENGTH)
		p->resp_left -= (long long)rest;
	return 0;
}

/* p->h holds a complete head of n bytes: rewrite it into p->d with what
 * followed it.  0 on, -1 (502 sent) on a bad answer. */
static int on_head(lsp_edge *e, edge_conn *c, int n, int status, const lsp_http_req *r)
{
	edge_proxy *p = c->px;
	size_t rest = p->hlen - (size_t)n;
	const char *conn;
	int m;
	if (status == 101 && !p->upgrade) {
		fail(e, c, 502, "upstream switched protocols unasked");
		return -1;
	}
	if (c->up)
		return on_head_h2(e, c, n, status, r);
	if (status == 101) {
		p->st = P_TUNNEL;
		e->px_tunnels++;
		conn = "Upgrade";
	} else {
		p->st = P_BODY;
		if (c->head_only || status == 204 || status == 304) {
			p->framing = R_LENGTH;
			p->resp_left = 0;
		} else if (!r->chunked && r->content_length >= 0) {
			p->framing = R_LENGTH;
			p->resp_left = r->content_length;
		} else {
			p->framing = R_EOF; /* chunked or unframed: until the upstream closes */
		}
		if (p->framing == R_EOF || p->upgrade || p->req_left > 0)
			c->keep_alive = 0;
		conn = c->keep_alive ? "keep-alive" : "close";
	}
	m = lsp_proxyhead_response(r, status, conn, p->d, sizeof p->d);
	if (m < 0 || (size_t)m + rest > sizeof p->d) {
		fail(e, c, 502, "upstream answer head too large");
		return -1;
	}
	edge_count_status(e, status);
	if (p->st == P_BODY && p->framing == R_LENGTH && (long long)rest > p->resp_left)
		rest = (size_t)p->resp_left; /* bytes past the body are not ours to pass on */
	memcpy(p->d + m, p->h + n, rest);
	if (p->st == P_BODY && p->framing == R_LENGTH)
		p->resp_left -= (long long)rest;
	p->dlen = (size_t)m + rest;
	p->doff = 0;
	free(p->h);
	p->h = NULL;
	return 0;
}

/* Read from the upstream while waiting for its head.  1 progress, 0 none,
 * -1 the exchange ended (answered or closed). */
static int read_head(lsp_edge *e, edge_conn *c)
{
	edge_proxy *p = c->px;
	for (;;) {
		lsp_http_req r;
		int status = 0, n;
		ssize_t got;
		if (p->hlen >= LSP_HTTP_HEAD_MAX) {
			fail(e, c, 502, "upstream answer head too large");
			return -1;
		}
		got = recv(p->fd, p->h + p->hlen, LSP_HTTP_HEAD_MAX - p->hlen, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (got <= 0) {
			fail(e, c, 502, got == 0 ? "upstream closed without answering" : "upstream connection failed");
			return -1;
		}
		p->hlen += (size_t)got;
		while ((n = lsp_http_parse_response(p->h, p->hlen, &status, &r)) > 0 && status >= 100 && status < 200 &&
		       status != 101) { /* 100 Continue and the like: not for the client */
			memmove(p->h, p->h + n, p->hlen - (size_t)n);
			p->hlen -= (size_t)n;
		}
		if (n < 0) {
			fail(e, c, 502, "upstream answer is not HTTP");
			return -1;
		}
		if (n > 0)
			return on_head(e, c, n, status, &r) < 0 ? -1 : 1;
	}
}

/* ---- the splice --------------------------------------------------------- */

static int wants_client_bytes(const edge_proxy *p)
{
	return p->st == P_TUNNEL || p->req_left > 0;
}

/* Move bytes every way they can go until none moves; then set what both
 * sockets wait for.  c may be answered, reset or closed on return. */
static void pump(lsp_edge *e, edge_conn *c)
{
	edge_proxy *p = c->px;
	int progress = 1, moved = 0;
	while (progress && c->px == p) {
		progress = 0;
		/* client -> u: bytes already read behind the head first */
		if (wants_client_bytes(p) && p->ulen < sizeof p->u) {
			size_t room = sizeof p->u - p->ulen;
			if (p->st != P_TUNNEL && (long long)room > p->req_left)
				room = (size_t)p->req_left;
			if (c->rlen > 0) {
				size_t k = c->rlen < room ? c->rlen : room;
				memcpy(p->u + p->ulen, c->rbuf, k);
				memmove(c->rbuf, c->rbuf + k, c->rlen - k);
				c->rlen -= k;
				p->ulen += k;
				if (p->st != P_TUNNEL)
					p->req_left -= (long long)k;
				progress = 1;
			} else if (!c->up) { /* a stream's body is all in rbuf */
				ssize_t r = edge_conn_in(c, p->u + p->ulen, room);
				if (r < 0) { /* the client went away */
					edge_conn_close(e, c);
					return;
				}
				if (r > 0) {
					p->ulen += (size_t)r;
					if (p->st != P_TUNNEL)
						p->req_left -= r;
					progress = 1;
				}
			}
		}
		/* u -> upstream */
		if (p->st != P_CONNECT && p->uoff < p->ulen) {
			ssize_t w = send(p->fd, p->u + p->uoff, p->ulen - p->uoff, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				if (p->st == P_HEAD)
					fail(e, c, 502, "upstream connection failed");
				else
					drop(e, c);
				return;
			}
			if (w > 0) {
				p->uoff += (size_t)w;
				progress = 1;
				if (p->uoff == p->ulen)
					p->uoff = p->ulen = 0;
			}
		}
		/* upstream -> d */
		if (p->st == P_HEAD) {
			int r = read_head(e, c);
			if (r < 0)
				return;
			progress |= r;
		} else if (p->st != P_CONNECT && !p->up_eof && p->dlen < sizeof p->d &&
			   (p->st == P_TUNNEL || p->framing == R_EOF || p->resp_left > 0)) {
			size_t room = sizeof p->d - p->dlen;
			ssize_t r;
			if (p->st == P_BODY && p->framing == R_LENGTH && (long long)room > p->resp_left)
				room = (size_t)p->resp_left;
			r = recv(p->fd, p->d + p->dlen, room, 0);
			if (c->up && r > 0) { /* HTTP/2: collected, not relayed */
				if (h2_take(e, c, p->d + p->dlen, (size_t)r) < 0)
					return;
				if (p->framing == R_LENGTH)
					p->resp_left -= r;
				progress = moved = 1;
				continue;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				p->up_eof = 1;
				progress = 1;
				if (p->st == P_BODY && p->framing == R_LENGTH)
					c->keep_alive = 0; /* cut short: the client sees the close */
			} else if (r > 0) {
				p->dlen += (size_t)r;
				if (p->st == P_BODY && p->framing == R_LENGTH)
					p->resp_left -= r;
				progress = 1;
			}
		}
		/* d -> client */
		if (p->doff < p->dlen) {
			ssize_t w = edge_conn_out(c, p->d + p->doff, p->dlen - p->doff, 0);
			if (w < 0) {
				edge_conn_close(e, c);
				return;
			}
			if (w > 0) {
				e->bytes_sent += w;
				p->doff += (size_t)w;
				progress = 1;
				if (p->doff == p->dlen)
					p->doff = p->dlen = 0;
			}
		}
		moved |= progress;
		/* done? */
		if (p->st >= P_BODY && p->dlen == 0) {
			if (p->st == P_BODY && p->framing == R_LENGTH && (p->resp_left == 0 || p->up_eof)) {
				finish(e, c);
				return;
			}
			if (p->up_eof) { /* R_EOF body or tunnel: the upstream said all */
				finish(e, c);
				return;
			}
		}
	}
	if (c->px != p)
		return;
	if (moved)
		c->deadline = e->now + (p->st == P_TUNNEL ? PROXY_TUNNEL_MS : p->st == P_BODY ? PROXY_IDLE_MS : e->cfg.upstream_timeout_ms);
	edge_set_events(e, c,
			(wants_client_bytes(p) && p->ulen < sizeof p->u ? EPOLLIN | EPOLLRDHUP : 0) |
				(p->doff < p->dlen ? EPOLLOUT : 0));
}

/* ---- entry points ------------------------------------------------------- */

/* The client asks for a WebSocket (GET with Connection: upgrade). */
static int p_upgrade(const lsp_http_req *rq)
{
	size_t cl;
	const char *cv = lsp_http_header_get(rq, "connection", &cl);
	return cv && lsp_http_list_has(cv, cl, "upgrade") && lsp_http_header_get(rq, "upgrade", &cl) &&
	       rq->method == LSP_HTTP_GET;
}

void edge_proxy_start(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, int which)
{
	edge_proxy *p;
	struct epoll_event ee;
	int one = 1;
	e->px_requests[which]++;
	if (e->up_len[which] == 0) { /* this route is off */
		edge_respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"not served here\"}\n");
		return;
	}
	/* no WebSocket over HTTP/2, and at most PROXY_H2_STREAMS forwarded
	 * streams per connection (each may collect an answer): the client
	 * retries those over HTTP/1.1 */
	if (c->up && (p_upgrade(rq) || edge_h2_proxying(c) >= PROXY_H2_STREAMS)) {
		edge_h2_refuse(e, c);
		return;
	}
	if (rq->chunked && !c->up) {
		c->keep_alive = 0;
		edge_respond_text(e, c, 411, "application/json", "no-store",
				  "{\"error\":\"a request body needs a Content-Length\"}\n");
		return;
	}
	if (!(p = calloc(1, sizeof *p))) {
		c->keep_alive = 0;
		edge_respond_error(e, c, 503);
		return;
	}
	p->which = which;
	p->fd = -1;
	p->req_left = rq->content_length > 0 ? rq->content_length : 0;
	p->upgrade = p_upgrade(rq);
	c->px = p;
	c->ptag = K_PROXY;
	e->px_open++;
	if (c->up && (p->req_left = edge_h2_body_len(c)) < 0) {
		fail(e, c, 413, "request body too large");
		return;
	}
	if (request_head(e, c, p, rq) < 0) {
		fail(e, c, 431, "request head too large to forward");
		return;
	}
	if (c->up)
		edge_h2_take_body(e, c); /* rq is not used past here: its buffer goes */
	if (!(p->h = malloc(LSP_HTTP_HEAD_MAX))) {
		fail(e, c, 503, "out of memory");
		return;
	}
	/* a client socket (connect, not listen: core/net keeps the listening) */
	if ((p->fd = socket(e->up_addr[which].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		fail(e, c, 502, "no socket for the upstream");
		return;
	}
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(p->fd, (struct sockaddr *)&e->up_addr[which], e->up_len[which]) < 0 && errno != EINPROGRESS) {
		fail(e, c, 502, "upstream unavailable");
		return;
	}
	ee.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ee.data.ptr = &c->ptag;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, p->fd, &ee) < 0) {
		fail(e, c, 502, "upstream unavailable");
		return;
	}
	p->st = P_CONNECT;
	c->st = C_PROXY;
	c->deadline = e->now + e->cfg.upstream_timeout_ms;
	/* the body bytes behind the head are taken once edge_conn_read has
	 * dropped the head; meanwhile nothing is read from the client */
	edge_set_events(e, c, 0);
}

void edge_proxy_on_upstream(lsp_edge *e, edge_conn *c, uint32_t ev)
{
	edge_proxy *p = c->px;
	if (c->kind != K_CONN || !p)
		return; /* closed earlier in this batch */
	if (p->st == P_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			fail(e, c, 502, "upstream unavailable");
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		p->st = P_HEAD;
	}
	pump(e, c);
}

void edge_proxy_on_client(lsp_edge *e, edge_conn *c)
{
	if (c->px)
		pump(e, c);
}

void edge_proxy_expire(lsp_edge *e, edge_conn *c)
{
	edge_proxy *p = c->px;
	if (p && (p->st == P_CONNECT || p->st == P_HEAD))
		fail(e, c, 504, p->st == P_CONNECT ? "upstream did not accept in time" : "upstream did not answer in time");
	else
		drop(e, c);
}
