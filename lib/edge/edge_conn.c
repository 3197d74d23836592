/* edge_conn.c — one lsp-edge connection's I/O: the TLS handshake, reading
 * request heads (pipelined ones included), and writing a response — head
 * plus a shared body (writev) or a file (sendfile, or pread + SSL_write
 * under TLS).
 *
 * A connection owns its socket, its SSL, its read buffer (allocated on
 * first byte, freed when it goes idle), its response head, a reference on
 * a shared body or an open file.  Closing frees all of that at once; the
 * connection itself is freed by the loop after the batch (the dead list),
 * since an event later in the batch may still name it.  Internal; see
 * edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>

/* ---- epoll interest ---------------------------------------------------- */

void edge_set_events(lsp_edge *e, edge_conn *c, uint32_t ev)
{
	struct epoll_event ee = { .events = ev, .data.ptr = c };
	if (c->up || c->events == ev) /* an HTTP/2 stream: its connection waits */
		return;
	if (epoll_ctl(e->efd, EPOLL_CTL_MOD, c->fd, &ee) == 0)
		c->events = ev;
}

void edge_unhold(lsp_edge *e, edge_conn *c)
{
	if (c->wt.kind == H_RELAY)
		edge_relay_unwait(e, c);
	else
		edge_hold_drop(&e->holds, &c->wt);
}

/* ---- responses --------------------------------------------------------- */

void edge_count_status(lsp_edge *e, int status)
{
	if (status >= 200 && status < 600)
		e->by_code[status / 100 - 2]++;
}

const char *edge_http_date(lsp_edge *e)
{
	time_t t = time(NULL);
	if (t != e->date_sec) {
		struct tm tm;
		/* the last good date stays if this one cannot be written */
		if (gmtime_r(&t, &tm) && strftime(e->date, sizeof e->date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
			e->date_sec = t;
	}
	return e->date;
}

void edge_respond(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *extra,
		  edge_body *b, int ffd, off_t foff, off_t fend, off_t total)
{
	unsigned long long clen = b ? b->len : (ffd >= 0 ? (unsigned long long)(fend - foff) : 0);
	int n;
	if (c->up) {
		edge_h2_respond(e, c, status, ctype, cache, extra, b, ffd, foff, fend, total);
		return;
	}
	edge_unhold(e, c);
	if (!(c->whead = malloc(RESP_HEAD_MAX)))
		goto fail;
	n = snprintf(c->whead, RESP_HEAD_MAX,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: lsp-edge\r\n"
		     "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Content-Length, Content-Range, Age, Date\r\n"
		     "%s%s%s%s%s%s%s"
		     "Content-Length: %llu\r\nConnection: %s\r\n\r\n",
		     status, lsp_http_reason(status), edge_http_date(e),
		     ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		     cache ? "Cache-Control: " : "", cache ? cache : "", cache ? "\r\n" : "",
		     extra ? extra : "", clen, c->keep_alive ? "keep-alive" : "close");
	if (n < 0 || n >= RESP_HEAD_MAX)
		goto fail;
	if (status == 206 && total >= 0) {
		/* Content-Range goes before the blank line: rebuild the tail */
		char cr[96];
		int m = snprintf(cr, sizeof cr, "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
				 (long long)foff, (long long)fend - 1, (long long)total);
		if (m < 0 || n - 2 + m >= RESP_HEAD_MAX)
			goto fail;
		memcpy(c->whead + n - 2, cr, (size_t)m + 1);
		n = n - 2 + m;
	}
	c->wlen = (size_t)n;
	c->woff = 0;
	if (c->head_only) {
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
	c->deadline = e->now + WRITE_TIMEOUT_MS;
	edge_count_status(e, status);
	edge_conn_write(e, c);
	return;
fail:
	edge_body_put(b);
	if (ffd >= 0)
		close(ffd);
	free(c->whead);
	c->whead = NULL;
	c->keep_alive = 0;
	c->st = C_WRITE;
	c->wlen = c->woff = 0;
	c->b = NULL;
	c->ffd = -1;
	edge_conn_write(e, c);
}

void edge_respond_text(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *txt)
{
	edge_body *b = edge_body_from(txt, strlen(txt));
	if (!b)
		c->keep_alive = 0;
	edge_respond(e, c, status, ctype, cache, NULL, b, -1, 0, 0, -1);
}

void edge_respond_error(lsp_edge *e, edge_conn *c, int status)
{
	char t[64];
	snprintf(t, sizeof t, "%d %s\n", status, lsp_http_reason(status));
	if (status >= 400 && status != 404 && status != 503)
		c->keep_alive = c->keep_alive && status != 400 && status < 413;
	edge_respond_text(e, c, status, "text/plain; charset=utf-8", "no-store", t);
}

/* ---- connections ------------------------------------------------------- */

void edge_conn_close(lsp_edge *e, edge_conn *c)
{
	edge_unhold(e, c);
	edge_proxy_free(e, c);
	edge_h2_free(e, c);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	epoll_ctl(e->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->ffd >= 0)
		close(c->ffd);
	edge_body_put(c->b);
	free(c->whead);
	free(c->rbuf);
	free(c->tbuf);
	c->ssl = NULL;
	c->b = NULL;
	c->whead = c->rbuf = c->tbuf = NULL;
	c->ffd = -1;
	e->slots[c->slot] = NULL;
	e->free_slots[e->nfree++] = c->slot;
	e->open--;
	c->kind = 0; /* an event later in this batch may still name it */
	if (!c->queued) {
		c->anext = e->dead;
		e->dead = c;
		c->queued = 2;
	} else {
		c->queued = 2; /* freed when the again list drops it */
	}
}

void edge_conn_next(lsp_edge *e, edge_conn *c)
{
	free(c->whead);
	c->whead = NULL;
	edge_body_put(c->b);
	c->b = NULL;
	if (c->ffd >= 0)
		close(c->ffd);
	c->ffd = -1;
	free(c->tbuf);
	c->tbuf = NULL;
	if (!c->keep_alive) {
		edge_conn_close(e, c);
		return;
	}
	c->st = C_READ;
	c->deadline = e->now + (c->rlen ? HEAD_TIMEOUT_MS : IDLE_TIMEOUT_MS);
	if (c->rlen == 0) {
		free(c->rbuf);
		c->rbuf = NULL;
	}
	edge_set_events(e, c, EPOLLIN | EPOLLRDHUP);
	if (!c->queued) { /* pipelined bytes, or TLS records already decrypted */
		c->queued = 1;
		c->anext = e->again;
		e->again = c;
	}
}

ssize_t edge_conn_out(edge_conn *c, const void *p, size_t n, int more)
{
	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		r = SSL_get_error(c->ssl, r);
		return (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ) ? 0 : -1;
	}
	ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	if (w < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return w;
}

/* Write what can be written now.  Returns with the connection either
 * still writing (waiting for EPOLLOUT), reset for the next request, or closed. */
void edge_conn_write(lsp_edge *e, edge_conn *c)
{
	for (;;) {
		ssize_t w;
		if (c->woff < c->wlen) {
			int more = (c->b && c->boff < c->bend) || (c->ffd >= 0 && c->foff < c->fend);
			if (!c->ssl && c->b && c->boff < c->bend) {
				struct iovec iov[2] = { { c->whead + c->woff, c->wlen - c->woff },
							{ c->b->data + c->boff, c->bend - c->boff } };
				w = writev(c->fd, iov, 2);
				if (w < 0)
					w = (errno == EAGAIN || errno == EINTR) ? 0 : -1;
				if (w > 0) {
					size_t h = c->wlen - c->woff;
					if ((size_t)w <= h) {
						c->woff += (size_t)w;
					} else {
						c->woff = c->wlen;
						c->boff += (size_t)w - h;
					}
				}
			} else {
				w = edge_conn_out(c, c->whead + c->woff, c->wlen - c->woff, more);
				if (w > 0)
					c->woff += (size_t)w;
			}
		} else if (c->b && c->boff < c->bend) {
			w = edge_conn_out(c, c->b->data + c->boff, c->bend - c->boff, 0);
			if (w > 0)
				c->boff += (size_t)w;
		} else if (c->ffd >= 0 && (c->foff < c->fend || c->toff < c->tlen)) {
			if (!c->ssl) {
				size_t want = (size_t)(c->fend - c->foff);
				w = sendfile(c->fd, c->ffd, &c->foff, want > (1 << 20) ? (1 << 20) : want);
				if (w < 0)
					w = (errno == EAGAIN || errno == EINTR) ? 0 : -1;
				else if (w == 0)
					w = -1; /* file shrank under us */
			} else {
				if (c->toff == c->tlen) {
					size_t want = (size_t)(c->fend - c->foff);
					ssize_t r;
					if (!c->tbuf && !(c->tbuf = malloc(TLS_CHUNK))) {
						edge_conn_close(e, c);
						return;
					}
					r = pread(c->ffd, c->tbuf, want > TLS_CHUNK ? TLS_CHUNK : want, c->foff);
					if (r <= 0) {
						edge_conn_close(e, c);
						return;
					}
					c->foff += r;
					c->tlen = (size_t)r;
					c->toff = 0;
				}
				w = edge_conn_out(c, c->tbuf + c->toff, c->tlen - c->toff, 0);
				if (w > 0)
					c->toff += (size_t)w;
			}
		} else {
			edge_conn_next(e, c);
			return;
		}
		if (w < 0) {
			edge_conn_close(e, c);
			return;
		}
		if (w == 0) {
			c->deadline = e->now + WRITE_TIMEOUT_MS;
			edge_set_events(e, c, EPOLLOUT | EPOLLRDHUP);
			return;
		}
		e->bytes_sent += w;
	}
}

/* ---- reading ----------------------------------------------------------- */

ssize_t edge_conn_in(edge_conn *c, char *p, size_t n)
{
	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_read(c->ssl, p, (int)n);
		if (r > 0)
			return r;
		r = SSL_get_error(c->ssl, r);
		return (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) ? 0 : -1;
	}
	ssize_t r = recv(c->fd, p, n, 0);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return r == 0 ? -1 : r;
}

void edge_conn_read(lsp_edge *e, edge_conn *c)
{
	lsp_http_req rq;
	while (c->st == C_READ) {
		int n;
		if (!c->rbuf && !(c->rbuf = malloc(LSP_HTTP_HEAD_MAX))) {
			edge_conn_close(e, c);
			return;
		}
		n = 0;
		if (c->rlen) {
			int pri = edge_h2_preface(c->rbuf, c->rlen); /* h2c, prior knowledge */
			if (pri > 0) {
				edge_h2_start(e, c, c->rbuf, c->rlen);
				return;
			}
			if (pri == 0)
				n = lsp_http_parse(c->rbuf, c->rlen, &rq);
		}
		if (n == 0) {
			ssize_t r;
			if (c->rlen >= LSP_HTTP_HEAD_MAX) {
				n = -431;
			} else {
				r = edge_conn_in(c, c->rbuf + c->rlen, LSP_HTTP_HEAD_MAX - c->rlen);
				if (r < 0) {
					edge_conn_close(e, c);
					return;
				}
				if (r == 0) {
					if (c->rlen == 0) { /* idle: give the buffer back */
						free(c->rbuf);
						c->rbuf = NULL;
					}
					return;
				}
				if (c->rlen == 0)
					c->deadline = e->now + HEAD_TIMEOUT_MS;
				c->rlen += (size_t)r;
				continue;
			}
		}
		if (n < 0) {
			c->keep_alive = 0;
			c->head_only = 0;
			c->rlen = 0;
			edge_respond_error(e, c, -n);
			return;
		}
		edge_handle(e, c, &rq);
		/* edge_handle() copied what it keeps; drop the head */
		if (c->kind != K_CONN) /* closed inside edge_handle */
			return;
		memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
		c->rlen -= (size_t)n;
		if (c->st == C_READ && c->rlen == 0) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->deadline = e->now + IDLE_TIMEOUT_MS;
		}
		return; /* the again list comes back here for the next one */
	}
}

/* The listener speaks TLS and plain HTTP on one port: a TLS connection
 * starts with a handshake record (0x16).  1 plain, 0 TLS, -1 nothing yet. */
static int sniff_plain(edge_conn *c)
{
	unsigned char b;
	ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
	if (r <= 0)
		return -1; /* would block, or closed: the handshake finds out */
	return b != 0x16;
}

void edge_on_handshake(lsp_edge *e, edge_conn *c)
{
	int r;
	if (!c->sniffed) {
		r = sniff_plain(c);
		if (r == 1) { /* plain HTTP on the TLS port (edge_serve.c redirects remote pages) */
			SSL_free(c->ssl);
			c->ssl = NULL;
			c->plain_on_tls = 1;
			c->st = C_READ;
			c->deadline = e->now + IDLE_TIMEOUT_MS;
			edge_conn_read(e, c);
			return;
		}
		c->sniffed = r == 0;
	}
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		const unsigned char *alpn = NULL;
		unsigned alen = 0;
		SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
		if (alen == 2 && !memcmp(alpn, "h2", 2)) {
			edge_h2_start(e, c, NULL, 0);
			return;
		}
		c->st = C_READ;
		c->deadline = e->now + IDLE_TIMEOUT_MS;
		edge_set_events(e, c, EPOLLIN | EPOLLRDHUP);
		edge_conn_read(e, c);
		return;
	}
	r = SSL_get_error(c->ssl, r);
	if (r == SSL_ERROR_WANT_READ)
		edge_set_events(e, c, EPOLLIN | EPOLLRDHUP);
	else if (r == SSL_ERROR_WANT_WRITE)
		edge_set_events(e, c, EPOLLOUT | EPOLLRDHUP);
	else
		edge_conn_close(e, c);
}
