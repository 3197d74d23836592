/* edge_h2.c — HTTP/2 on an lsp-edge connection: h2 chosen by ALPN on the
 * TLS port, or h2c with prior knowledge (the client preface) on any port.
 * libnghttp2 parses and writes the frames; this file maps each request
 * stream onto the same handlers HTTP/1.1 uses.
 *
 *   client                              edge
 *   PRI * HTTP/2.0 ... SETTINGS ──────▶ session (SETTINGS: 100 streams)
 *   HEADERS (+CONTINUATION) stream n ─▶ pseudo + regular headers become an
 *                                       HTTP/1.1 head in the stream's buffer
 *                                       (edge/h2head.h), parsed by core/http
 *                                       (same limits)
 *   [DATA] END_STREAM ────────────────▶ edge_handle(stream) — routing, holds,
 *                                       tokens, files as for HTTP/1.1
 *          ◀──────────────────────────  HEADERS + DATA (edge_respond: a body
 *                                       or a file range, read as the peer's
 *                                       flow-control window opens)
 *
 * A stream is an edge_conn (edge_h2s embeds one first) whose `up` names its
 * connection: a held stream (blocking reload, preload part, relay) sits on a
 * hold list like any connection and never stops the others.  Answers are
 * submitted to the session and the connection is queued on the loop's
 * "again" list, so nothing is written from inside a hold table's walk.
 * Routes forwarded by the front door (/api/v1/, /whep/, ...) are forwarded
 * from a stream too (edge_proxy.c): the request body is collected here
 * (H2_BODY_MAX), the upstream's answer is collected there and submitted as
 * one response.  A WebSocket (/ws/...) is refused with RST_STREAM
 * HTTP_1_1_REQUIRED (no extended CONNECT): browsers open those over
 * HTTP/1.1 anyway.  A refusal costs more than the one request: Chromium
 * then speaks HTTP/1.1 to the whole origin, LL-HLS included.
 *
 * Ownership: the connection owns its edge_h2 (session, output buffer, the
 * list of streams); a stream owns its head buffers and its response body or
 * file; it is freed when nghttp2 closes it or with the connection.  Output
 * is bounded: a fixed buffer refilled from nghttp2 only once written out.
 * Bad frames end the connection (GOAWAY when it can be written), never
 * another.  Internal; see edge_int.h. */
#include "edge/edge_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "edge/h2head.h"
#include "edge/proxyhead.h"

#define H2_STREAMS_MAX 100
#define H2_OBUF 32768            /* bytes handed to the socket at once */
#define H2_READS 64              /* reads per turn before the others get theirs */
#define H2_BODY_MAX 1048576      /* a forwarded request's body (413 past it) */
#define H2_RESP_HEADERS 40       /* header lines of a forwarded answer */

typedef struct edge_h2s {
	edge_conn c;             /* first: the stream is served as a connection */
	struct edge_h2s *prev, *next;
	int32_t sid;
	int done;                /* handed to edge_handle */
	int big;                 /* the body went past H2_BODY_MAX */
	int proxied;             /* forwarded: freed after the loop's batch */
	lsp_h2head q;            /* the request's headers (edge/h2head.h) */
	char *body;              /* the request body, for a forwarded route */
	size_t blen;
} edge_h2s;

struct edge_h2 {
	lsp_edge *e;
	edge_conn *c;            /* the connection, which owns this */
	nghttp2_session *s;
	edge_h2s *streams;
	int nstreams;
	int proxying;            /* streams forwarded: the sweep looks every second */
	int64_t idle_until;      /* the deadline that shortening put off */
	unsigned char obuf[H2_OBUF];
	size_t olen, ooff;
	const uint8_t *pend;     /* nghttp2's last chunk not yet copied */
	size_t plen;
};

#define S_OF(cp) ((edge_h2s *)(void *)(cp))

/* ---- streams ------------------------------------------------------------ */

/* Free s (taking it off whatever it waits on); its list links are left. */
static void stream_release(edge_h2 *h, edge_h2s *s)
{
	edge_unhold(h->e, &s->c);
	if (s->c.ffd >= 0)
		close(s->c.ffd);
	edge_body_put(s->c.b);
	free(s->c.rbuf);
	free(s->body);
	lsp_h2head_free(&s->q);
	h->nstreams--;
	if (s->proxied) {
		h->proxying--;
		/* its upstream socket may have an event later in this batch: the
		 * memory goes with the loop's dead connections (kind 0 tells) */
		edge_proxy_free(h->e, &s->c);
		s->c.kind = 0;
		s->c.anext = h->e->dead;
		h->e->dead = &s->c;
		return;
	}
	free(s);
}

static void stream_free(edge_h2 *h, edge_h2s *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	stream_release(h, s);
}

static void stream_dispatch(edge_h2 *h, edge_h2s *s)
{
	lsp_http_req rq;
	int n;
	if (s->done)
		return;
	s->done = 1;
	n = (s->c.rbuf || (s->c.rbuf = malloc(LSP_HTTP_HEAD_MAX))) ? lsp_h2head_parse(&s->q, s->c.rbuf, &rq) : -503;
	if (n < 0) {
		s->c.head_only = 0;
		edge_respond_error(h->e, &s->c, -n);
		return;
	}
	edge_handle(h->e, &s->c, &rq);
}

/* ---- nghttp2 callbacks -------------------------------------------------- */

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	edge_h2 *h = ud;
	edge_h2s *s;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(s = calloc(1, sizeof *s)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* this stream is reset */
	s->c.kind = K_CONN;
	s->c.fd = h->c->fd; /* the peer's address (presence, loopback checks) */
	s->c.ffd = -1;
	s->c.st = C_READ;
	s->c.up = h->c;
	s->c.plain_on_tls = h->c->plain_on_tls;
	s->sid = f->hd.stream_id;
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nstreams++;
	if (nghttp2_session_set_stream_user_data(ss, s->sid, s) != 0) {
		stream_free(h, s);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

/* One header of a request (edge/h2head.h); a header block far past any
 * limit closes the connection (HPACK has to decode it all otherwise). */
static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	edge_h2s *s;
	(void)flags;
	(void)ud;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST ||
	    !(s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id)))
		return 0;
	return lsp_h2head_add(&s->q, name, nl, value, vl) < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_data(nghttp2_session *ss, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	edge_h2s *s = nghttp2_session_get_stream_user_data(ss, sid);
	char *nb;
	(void)flags;
	(void)ud;
	if (!s)
		return 0;
	s->q.body += (long long)len; /* the edge's own routes take none: counted, then refused */
	if (s->big || !len)
		return 0;
	if (s->blen + len > H2_BODY_MAX || !(nb = realloc(s->body, s->blen + len))) {
		s->big = 1; /* answered 413 if it is forwarded */
		free(s->body);
		s->body = NULL;
		s->blen = 0;
		return 0;
	}
	memcpy(nb + s->blen, data, len);
	s->body = nb;
	s->blen += len;
	return 0;
}

static int on_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	edge_h2s *s;
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if ((s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id)))
		stream_dispatch(ud, s);
	return 0;
}

static int on_close(nghttp2_session *ss, int32_t sid, uint32_t code, void *ud)
{
	edge_h2s *s = nghttp2_session_get_stream_user_data(ss, sid);
	(void)code;
	if (s) {
		nghttp2_session_set_stream_user_data(ss, sid, NULL);
		stream_free(ud, s);
	}
	return 0;
}

/* DATA for a response: from the shared body or the file range, as much as
 * the frame and the peer's window take. */
static ssize_t on_read(nghttp2_session *ss, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *ud)
{
	edge_conn *c = src->ptr;
	size_t n = 0;
	(void)ss;
	(void)sid;
	(void)ud;
	if (c->b) {
		n = c->bend - c->boff;
		if (n > len)
			n = len;
		memcpy(buf, c->b->data + c->boff, n);
		c->boff += n;
		if (c->boff == c->bend)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
	} else if (c->ffd >= 0 && c->foff < c->fend) {
		size_t want = (size_t)(c->fend - c->foff);
		ssize_t r = pread(c->ffd, buf, want < len ? want : len, c->foff);
		if (r <= 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the file shrank: reset the stream */
		c->foff += r;
		n = (size_t)r;
		if (c->foff == c->fend)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
	} else {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	}
	return (ssize_t)n;
}

/* ---- responses ---------------------------------------------------------- */

static void kick(lsp_edge *e, edge_conn *c)
{
	if (!c->queued) {
		c->queued = 1;
		c->anext = e->again;
		e->again = c;
	}
}

/* A header pair for nghttp2 (which copies it at submit time). */
static nghttp2_nv pair(const char *n, size_t nl, const char *v, size_t vl)
{
	nghttp2_nv x = { (uint8_t *)n, (uint8_t *)v, nl, vl, NGHTTP2_NV_FLAG_NONE };
	return x;
}

#define NV(n, v) pair((n), sizeof(n) - 1, (v), strlen(v))

void edge_h2_respond(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *extra,
		     edge_body *b, int ffd, off_t foff, off_t fend, off_t total)
{
	edge_h2s *s = S_OF(c);
	edge_h2 *h = c->up->h2;
	nghttp2_nv nv[20];
	nghttp2_data_provider prd = { .source.ptr = c, .read_callback = on_read };
	char st[8], clen[24], crange[96], scratch[256];
	unsigned long long len = b ? b->len : (ffd >= 0 ? (unsigned long long)(fend - foff) : 0);
	size_t k = 0;
	edge_unhold(e, c);
	snprintf(st, sizeof st, "%d", status);
	snprintf(clen, sizeof clen, "%llu", len);
	nv[k++] = NV(":status", st);
	nv[k++] = NV("date", edge_http_date(e));
	nv[k++] = NV("server", "lsp-edge");
	nv[k++] = NV("access-control-allow-origin", "*");
	nv[k++] = NV("access-control-expose-headers", "Content-Length, Content-Range, Age, Date");
	if (ctype)
		nv[k++] = NV("content-type", ctype);
	if (cache)
		nv[k++] = NV("cache-control", cache);
	if (status != 204 && status != 304)
		nv[k++] = NV("content-length", clen);
	if (status == 206 && total >= 0) {
		snprintf(crange, sizeof crange, "bytes %lld-%lld/%lld", (long long)foff, (long long)fend - 1,
			 (long long)total);
		nv[k++] = NV("content-range", crange);
	}
	{
		const char *en[8], *ev[8];
		size_t enl[8], evl[8], x = lsp_h2head_lines(extra, en, enl, ev, evl, 8, scratch, sizeof scratch);
		for (size_t i = 0; i < x; i++)
			nv[k++] = pair(en[i], enl[i], ev[i], evl[i]);
	}
	if (c->head_only || len == 0) {
		edge_body_put(b);
		if (ffd >= 0)
			close(ffd);
		b = NULL;
		ffd = -1;
	}
	c->b = b;
	c->boff = 0;
	c->bend = b ? b->len : 0;
	c->ffd = ffd;
	c->foff = foff;
	c->fend = fend;
	c->st = C_WRITE;
	edge_count_status(e, status);
	if (nghttp2_submit_response(h->s, s->sid, nv, k, b || ffd >= 0 ? &prd : NULL) != 0)
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_INTERNAL_ERROR);
	kick(e, c->up);
}

void edge_h2_refuse(lsp_edge *e, edge_conn *c)
{
	edge_h2s *s = S_OF(c);
	nghttp2_submit_rst_stream(c->up->h2->s, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_HTTP_1_1_REQUIRED);
	kick(e, c->up);
}

void edge_h2_reset(lsp_edge *e, edge_conn *c)
{
	edge_h2s *s = S_OF(c);
	edge_proxy_free(e, c);
	c->st = C_WRITE; /* nothing more: nghttp2 closes it */
	nghttp2_submit_rst_stream(c->up->h2->s, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_INTERNAL_ERROR);
	kick(e, c->up);
}

int edge_h2_proxying(const edge_conn *c)
{
	return c->up->h2->proxying;
}

long long edge_h2_body_len(edge_conn *c)
{
	edge_h2s *s = S_OF(c);
	return s->big ? -1 : (long long)s->blen;
}

void edge_h2_take_body(lsp_edge *e, edge_conn *c)
{
	edge_h2s *s = S_OF(c);
	s->proxied = 1;
	c->up->h2->proxying++;
	free(c->rbuf); /* the request head, copied out by now */
	c->rbuf = s->body;
	c->rlen = s->blen;
	s->body = NULL;
	s->blen = 0;
	/* the connection's deadline is what the sweep looks at */
	if (c->up->deadline > e->now + 1000) {
		if (c->up->deadline > c->up->h2->idle_until)
			c->up->h2->idle_until = c->up->deadline;
		c->up->deadline = e->now + 1000;
	}
}

void edge_h2_respond_fwd(lsp_edge *e, edge_conn *c, int status, const lsp_http_req *r, edge_body *b)
{
	edge_h2s *s = S_OF(c);
	edge_h2 *h = c->up->h2;
	nghttp2_nv nv[H2_RESP_HEADERS + 5];
	nghttp2_data_provider prd = { .source.ptr = c, .read_callback = on_read };
	char st[8], clen[24], names[4096];
	size_t k = 0, used = 0;
	edge_unhold(e, c);
	snprintf(st, sizeof st, "%d", status);
	snprintf(clen, sizeof clen, "%zu", b ? b->len : (size_t)0);
	nv[k++] = NV(":status", st);
	nv[k++] = NV("date", edge_http_date(e));
	nv[k++] = NV("server", "lsp-edge");
	if (status != 204 && status != 304)
		nv[k++] = NV("content-length", clen);
	/* the upstream's own headers, names lower-cased as HTTP/2 requires */
	for (int i = 0; i < r->nheaders && k < sizeof nv / sizeof nv[0]; i++) {
		const lsp_http_header *x = &r->headers[i];
		if (!lsp_proxyhead_h2_keep(x) || x->name_len > sizeof names - used)
			continue;
		for (size_t j = 0; j < x->name_len; j++)
			names[used + j] = (char)tolower((unsigned char)x->name[j]);
		nv[k++] = pair(names + used, x->name_len, x->value, x->value_len);
		used += x->name_len;
	}
	if (c->head_only || !b || b->len == 0) {
		edge_body_put(b);
		b = NULL;
	}
	c->b = b;
	c->boff = 0;
	c->bend = b ? b->len : 0;
	c->st = C_WRITE;
	edge_count_status(e, status);
	if (nghttp2_submit_response(h->s, s->sid, nv, k, b ? &prd : NULL) != 0)
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_INTERNAL_ERROR);
	kick(e, c->up);
}

/* ---- the connection ----------------------------------------------------- */

/* Fill obuf from nghttp2: what was left of its last chunk, then more. */
static void fill(edge_h2 *h)
{
	for (;;) {
		size_t room = H2_OBUF - h->olen, n;
		if (!h->plen || !h->pend) {
			ssize_t r = nghttp2_session_mem_send(h->s, &h->pend);
			if (r <= 0 || !h->pend) {
				h->pend = NULL;
				h->plen = 0;
				return; /* nothing more (or out of memory: the peer's timeout ends it) */
			}
			h->plen = (size_t)r;
		}
		n = h->plen < room ? h->plen : room;
		memcpy(h->obuf + h->olen, h->pend, n);
		h->olen += n;
		h->pend += n;
		h->plen -= n;
		if (h->plen || h->olen == H2_OBUF)
			return;
	}
}

/* Write what can be written.  0 done (c may now wait for input), 1 waits
 * for EPOLLOUT, -1 closed. */
static int flush(lsp_edge *e, edge_conn *c)
{
	edge_h2 *h = c->h2;
	for (;;) {
		ssize_t w;
		if (h->ooff == h->olen) {
			h->ooff = h->olen = 0;
			fill(h);
			if (!h->olen)
				break;
		}
		w = edge_conn_out(c, h->obuf + h->ooff, h->olen - h->ooff, 0);
		if (w < 0) {
			edge_conn_close(e, c);
			return -1;
		}
		if (w == 0) {
			c->deadline = e->now + WRITE_TIMEOUT_MS;
			edge_set_events(e, c, EPOLLOUT | EPOLLRDHUP); /* no reading until this is out */
			return 1;
		}
		h->ooff += (size_t)w;
		e->bytes_sent += w;
	}
	if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)) {
		edge_conn_close(e, c); /* GOAWAY sent, or the peer's gone */
		return -1;
	}
	edge_set_events(e, c, EPOLLIN | EPOLLRDHUP);
	return 0;
}

static void h2_fail(lsp_edge *e, edge_conn *c)
{
	edge_h2 *h = c->h2;
	/* best effort: the GOAWAY nghttp2 queued, if the socket takes it now */
	if (h->ooff == h->olen) {
		h->ooff = h->olen = 0;
		fill(h);
		if (h->olen)
			(void)edge_conn_out(c, h->obuf, h->olen, 0);
	}
	edge_conn_close(e, c);
}

/* Feed bytes read from the peer; 0, or -1 when the connection was closed. */
static int feed(lsp_edge *e, edge_conn *c, const char *p, size_t n)
{
	ssize_t r = nghttp2_session_mem_recv(c->h2->s, (const uint8_t *)p, n);
	if (r < 0 || (size_t)r != n) {
		h2_fail(e, c);
		return -1;
	}
	return 0;
}

void edge_h2_io(lsp_edge *e, edge_conn *c, uint32_t ev)
{
	char buf[16384];
	(void)ev;
	if (flush(e, c) != 0)
		return; /* still blocked (reading on would only queue more), or closed */
	for (int i = 0;; i++) {
		ssize_t r;
		if (i == H2_READS) {
			kick(e, c); /* more later: the others get a turn first */
			break;
		}
		r = edge_conn_in(c, buf, sizeof buf);
		if (r < 0) {
			edge_conn_close(e, c);
			return;
		}
		if (r == 0)
			break;
		/* a forwarded stream's upstream deadline is checked every second */
		c->deadline = e->now + IDLE_TIMEOUT_MS;
		if (c->h2->proxying) {
			c->h2->idle_until = c->deadline;
			c->deadline = e->now + 1000;
		}
		if (feed(e, c, buf, (size_t)r) < 0)
			return;
	}
	flush(e, c);
}

int edge_h2_start(lsp_edge *e, edge_conn *c, const char *pre, size_t n)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_STREAMS_MAX },
					{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, LSP_HTTP_HEAD_MAX } };
	edge_h2 *h = calloc(1, sizeof *h);
	int rc = -1;
	if (!h || nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto fail;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	h->e = e;
	h->c = c;
	if (nghttp2_session_server_new2(&h->s, cb, h, opt) != 0)
		goto fail;
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0)
		goto fail;
	rc = 0;
fail:
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rc < 0) {
		if (h && h->s)
			nghttp2_session_del(h->s);
		free(h);
		edge_conn_close(e, c);
		return -1;
	}
	c->h2 = h;
	c->st = C_H2;
	c->deadline = e->now + IDLE_TIMEOUT_MS;
	e->h2_open++;
	if (n && feed(e, c, pre, n) < 0)
		return -1;
	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = 0;
	edge_h2_io(e, c, EPOLLOUT);
	return c->kind == K_CONN ? 0 : -1;
}

void edge_h2_expire(lsp_edge *e, edge_conn *c)
{
	edge_h2 *h = c->h2;
	int busy = 0;
	for (edge_h2s *s = h->streams; s; s = s->next) {
		if (s->c.st == C_PROXY && s->c.deadline <= e->now)
			edge_proxy_expire(e, &s->c); /* 504, or the stream reset */
		if (s->c.st == C_HOLD || s->c.st == C_PROXY)
			busy = 1; /* a hold, or an upstream, answers it in time */
	}
	if (busy) {
		c->deadline = e->now + 1000;
		return;
	}
	if (h->idle_until > e->now) { /* shortened for a forwarded stream: back to its own */
		c->deadline = h->idle_until;
		h->idle_until = 0;
		return;
	}
	edge_conn_close(e, c); /* idle, or a peer that stopped reading */
}

void edge_h2_free(lsp_edge *e, edge_conn *c)
{
	edge_h2 *h = c->h2;
	if (!h)
		return;
	for (edge_h2s *s = h->streams, *next; s; s = next) {
		next = s->next;
		stream_release(h, s);
	}
	h->streams = NULL;
	nghttp2_session_del(h->s);
	free(h);
	c->h2 = NULL;
	e->h2_open--;
}

/* The client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": 1 all of it at
 * the start of p, -1 a beginning of it (read more), 0 not it. */
int edge_h2_preface(const char *p, size_t n)
{
	static const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	size_t k = n < sizeof pri - 1 ? n : sizeof pri - 1;
	if (memcmp(p, pri, k) != 0)
		return 0;
	return k == sizeof pri - 1 ? 1 : -1;
}
