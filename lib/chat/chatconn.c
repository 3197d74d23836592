/* chatconn.c — the connections of the lsp-chat node: the output queue,
 * the HTTP head (a WebSocket upgrade for /ws/<channel>, or a /presence
 * question), WebSocket frames, accept and close; see chatsrv_int.h.
 *
 *   HEAD ──(valid upgrade for /ws/<ch>)──▶ OPEN ──(close sent / error)──▶ CLOSING ──▶ freed
 *     ├──(GET|HEAD|OPTIONS /presence, keep-alive)──▶ answered ──▶ HEAD (next request)
 *     └──(bad request: HTTP status, or /presence … Connection: close)──▶ CLOSING
 *
 * Every stage is bounded: a head arrives within HEAD_TIMEOUT_MS (the loop
 * checks) and HEAD_MAX bytes; a client message is at most cfg.max_msg
 * bytes (1009 otherwise); the output queue of a slow reader at most
 * OUT_MAX bytes (the reader is dropped).  A connection owns its buffers;
 * the server's list (s->conns) owns the connections; accepting goes
 * through core/net. */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat/chatpres.h"
#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/net.h"
#include "state/store.h"

/* ---- output ---------------------------------------------------------- */

static void set_out_interest(lsp_chatsrv *s, conn *c, int want)
{
	struct epoll_event e = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
	if (c->want_out == want)
		return;
	c->want_out = want;
	epoll_ctl(s->efd, EPOLL_CTL_MOD, c->fd, &e);
}

/* Write what we can; 0 ok, -1 the connection is dead. */
int chatsrv_flush_out(lsp_chatsrv *s, conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->outoff += (size_t)n;
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_bytes_out_total", (double)n, NULL);
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->fin_after) {
			shutdown(c->fd, SHUT_WR); /* the client reads to EOF; its close ends the linger */
			c->fin_after = 0;
		}
	}
	set_out_interest(s, c, c->outlen > 0);
	return 0;
}

/* Queue raw bytes.  0 queued; -1 the reader is too slow (caller drops it). */
static int queue_raw(conn *c, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = alen + blen;
	if (c->outoff && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + need > c->outcap) {
		size_t cap;
		uint8_t *n;
		if (c->outoff) { /* compact first */
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		if (c->outlen + need > OUT_MAX)
			return -1;
		cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + need)
			cap *= 2;
		if (cap > c->outcap) {
			if (!(n = realloc(c->out, cap)))
				return -1;
			c->out = n;
			c->outcap = cap;
		}
	}
	memcpy(c->out + c->outlen, a, alen);
	if (blen)
		memcpy(c->out + c->outlen + alen, b, blen);
	c->outlen += need;
	return 0;
}

/* Send one frame; a reader that cannot keep up is closed. */
void chatsrv_send_frame(lsp_chatsrv *s, conn *c, int opcode, const void *p, size_t len)
{
	uint8_t h[LSP_WS_HDR_MAX];
	size_t hl;
	if (c->stage != ST_OPEN)
		return;
	hl = lsp_ws_frame_hdr(h, opcode, 1, len);
	if (queue_raw(c, h, hl, p, len) < 0) {
		chatsrv_ev(s, LSP_WARN, "slow reader dropped", "channel", LSV_S(c->ch ? c->ch->name : ""), NULL);
		c->stage = ST_CLOSING;
		c->close_at = 0; /* closed by the tick */
		return;
	}
	if (!c->want_out && chatsrv_flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
	}
}

void chatsrv_send_text(lsp_chatsrv *s, conn *c, const char *json, size_t len)
{
	chatsrv_send_frame(s, c, LSP_WS_TEXT, json, len);
}

void chatsrv_send_error(lsp_chatsrv *s, conn *c, const char *code, const char *msg, const char *ref)
{
	char buf[512];
	int n = lsp_chatmsg_error(buf, sizeof buf, code, msg, ref);
	if (n > 0)
		chatsrv_send_text(s, c, buf, (size_t)n);
}

/* Close handshake: send a close frame with code and reason, then drop
 * the connection when the peer answers or after a short linger. */
void chatsrv_send_close(lsp_chatsrv *s, conn *c, int code, const char *reason)
{
	uint8_t p[125];
	size_t rl = strlen(reason);
	if (c->stage != ST_OPEN)
		return;
	if (rl > 120)
		rl = 120;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a close payload is code + bytes, no NUL */
	memcpy(p + 2, reason, rl);
	chatsrv_send_frame(s, c, LSP_WS_CLOSE, p, rl + 2);
	if (c->stage == ST_OPEN) {
		c->stage = ST_CLOSING;
		c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
	}
}

static void http_reply(lsp_chatsrv *s, conn *c, int status)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s\n",
			 status, lsp_http_reason(status), strlen(lsp_http_reason(status)) + 1,
			 status == 426 ? "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n" : "",
			 lsp_http_reason(status));
	c->fin_after = 1;
	if (n > 0 && (size_t)n < sizeof buf && queue_raw(c, buf, (size_t)n, NULL, 0) == 0)
		chatsrv_flush_out(s, c);
	c->stage = ST_CLOSING;
	c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
}

/* ---- connections ----------------------------------------------------- */

static void send_hello(lsp_chatsrv *s, conn *c)
{
	chan *ch = c->ch;
	json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "type", "hello", "channel", ch->name, "node", s->node, "slow",
			      (json_int_t)ch->slow);
	size_t n;
	char *b;
	if (o && (n = chatsrv_dump(s, o)))
		chatsrv_send_text(s, c, s->scratch, n);
	/* history: {"type":"history","messages":[…]} built from the stored texts */
	if ((b = chatsrv_room_history(s, ch, &n))) {
		chatsrv_send_text(s, c, b, n);
		free(b);
	}
	ch->viewers_sent = -1; /* send a fresh presence on the next tick */
}

/* ---- /presence over plain HTTP ---------------------------------------- */

/* Queue an HTTP answer; 0 when the connection stays for the next request. */
static int presence_send(lsp_chatsrv *s, conn *c, int status, const char *body, size_t blen, int head_only,
			 int keep, int max_age)
{
	char h[512];
	int n = lsp_chatpres_head(h, sizeof h, status, blen, max_age, keep);
	c->fin_after = !keep;
	if (n < 0 || queue_raw(c, h, (size_t)n, head_only ? NULL : body, head_only ? 0 : blen) < 0 ||
	    chatsrv_flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
		return -1;
	}
	if (!keep) {
		c->stage = ST_CLOSING;
		c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
		return -1;
	}
	return 0;
}

/* Answer GET|HEAD|OPTIONS /presence[?channels=a,b]: {"a":12,"b":0}.
 * Without channels: the channels with sockets on this node (at most
 * PRESENCE_ALL_MAX), each still counted over all nodes.  The head (hlen
 * bytes) is consumed; returns 1 when the connection waits for another. */
static int on_presence(lsp_chatsrv *s, conn *c, const lsp_http_req *req, size_t hlen)
{
	lsp_chatpres_list l;
	const char **names = NULL;
	long *counts = NULL;
	char err[128], small[192], *body = NULL;
	int keep = req->keep_alive && req->content_length <= 0 && !req->chunked, status = 200, n = 0, len = 0;
	int head_only = req->method == LSP_HTTP_HEAD;
	long long now = lsp_clock_wall_ms();
	size_t cap;

	lsp_metrics_add(s->cfg.metrics, "lsp_chat_presence_requests_total", 1, NULL);
	if (req->method == LSP_HTTP_OPTIONS) {
		status = 204;
		goto answer;
	}
	if (req->method != LSP_HTTP_GET && req->method != LSP_HTTP_HEAD) {
		status = 405;
		keep = 0;
		len = snprintf(small, sizeof small, "{\"error\":\"GET, HEAD or OPTIONS\"}");
		goto answer;
	}
	if (lsp_chatpres_parse(req->query, req->query_len, &l, err, sizeof err) < 0) {
		status = 400;
		len = snprintf(small, sizeof small, "{\"error\":\"%s\"}", err);
		goto answer;
	}
	cap = (size_t)(l.all ? PRESENCE_ALL_MAX : l.n);
	if (!(names = calloc(cap + 1, sizeof *names)) || !(counts = calloc(cap + 1, sizeof *counts)) ||
	    !(body = malloc(cap * (LSP_NAME_MAX + 24) + 3))) {
		status = 503;
		len = snprintf(small, sizeof small, "{\"error\":\"out of memory\"}");
		goto answer;
	}
	if (l.all) {
		for (int b = 0; b < CHAN_BUCKETS; b++)
			for (chan *ch = s->chans[b]; ch && n < PRESENCE_ALL_MAX; ch = ch->next)
				if (ch->full && ch->n > 0)
					names[n++] = ch->name;
	} else {
		for (; n < l.n; n++)
			names[n] = l.name[n];
	}
	for (int i = 0; i < n; i += LSP_CHATPRES_MAX)
		chatsrv_presence_counts(s, names + i, n - i < LSP_CHATPRES_MAX ? n - i : LSP_CHATPRES_MAX, now, counts + i);
	if ((len = lsp_chatpres_json(body, cap * (LSP_NAME_MAX + 24) + 3, names, counts, n)) < 0) {
		status = 500;
		len = snprintf(small, sizeof small, "{\"error\":\"answer too large\"}");
	}
answer:
	if (status != 200 && len > 0 && (size_t)len >= sizeof small)
		len = 0;
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	keep = presence_send(s, c, status, status == 200 ? body : small, len > 0 ? (size_t)len : 0, head_only,
			     keep, PRESENCE_MAX_AGE) == 0;
	free(names);
	free(counts);
	free(body);
	if (keep)
		c->created = now; /* the head timeout now bounds the wait for the next request */
	return keep;
}

/* Answer GET|HEAD /health: 200 {"status":"ok",...} when the store
 * answers a round trip now, else 503 "degraded" (the store reconnects on
 * its own, lib/state/store_pg.c).  Returns as on_presence. */
static int on_health(lsp_chatsrv *s, conn *c, const lsp_http_req *req, size_t hlen)
{
	char body[160], err[256];
	int keep = req->keep_alive && req->content_length <= 0 && !req->chunked, up, len;
	int head_only = req->method == LSP_HTTP_HEAD;
	if (req->method != LSP_HTTP_GET && !head_only) {
		up = -1;
		len = snprintf(body, sizeof body, "{\"error\":\"GET or HEAD\"}");
		keep = 0;
	} else {
		up = !s->cfg.st || lsp_store_ping(s->cfg.st, err, sizeof err) == 0;
		len = snprintf(body, sizeof body, "{\"status\":\"%s\",\"store\":\"%s\",\"store_ok\":%s}",
			       up ? "ok" : "degraded", s->cfg.st ? lsp_store_backend(s->cfg.st) : "none",
			       up ? "true" : "false");
	}
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	keep = presence_send(s, c, up < 0 ? 405 : up ? 200 : 503, body, (size_t)len, head_only, keep, 0) == 0;
	if (keep)
		c->created = lsp_clock_wall_ms();
	return keep;
}

static int on_head(lsp_chatsrv *s, conn *c)
{
	lsp_http_req req;
	char path[4 + LSP_NAME_MAX + 1], resp[512];
	int r = lsp_http_parse((const char *)c->in, c->inlen, &req), n;
	chan *ch;
	if (r == 0) {
		if (c->inlen >= HEAD_MAX)
			http_reply(s, c, 431);
		return 0;
	}
	if (r < 0) {
		http_reply(s, c, -r);
		return 0;
	}
	if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) >= 0 && strcmp(path, "/presence") == 0)
		return on_presence(s, c, &req, (size_t)r);
	if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) >= 0 && strcmp(path, "/health") == 0)
		return on_health(s, c, &req, (size_t)r);
	if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) < 0 || strncmp(path, "/ws/", 4) != 0 ||
	    !lsp_name_valid(path + 4)) {
		http_reply(s, c, 404);
		return 0;
	}
	n = lsp_ws_handshake(&req, resp, sizeof resp);
	if (n < 0) {
		http_reply(s, c, -n);
		return 0;
	}
	if (!(ch = chatsrv_chan_get(s, path + 4)) || chatsrv_chan_join(ch, c) < 0) {
		http_reply(s, c, 503);
		return 0;
	}
	memmove(c->in, c->in + r, c->inlen - (size_t)r); /* frames may follow the head */
	c->inlen -= (size_t)r;
	if (c->incap > s->cfg.max_msg + LSP_WS_HDR_MAX && c->inlen <= s->cfg.max_msg + LSP_WS_HDR_MAX) {
		/* past the head, one frame is the most we hold: give back the rest */
		uint8_t *n = realloc(c->in, s->cfg.max_msg + LSP_WS_HDR_MAX);
		if (n) {
			c->in = n;
			c->incap = s->cfg.max_msg + LSP_WS_HDR_MAX;
		}
	}
	if (queue_raw(c, resp, (size_t)n, NULL, 0) < 0 || chatsrv_flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
		return 0;
	}
	c->stage = ST_OPEN;
	if (chatsrv_auth_join(s, c, lsp_clock_wall_ms()) < 0)
		return 0; /* a suspended channel: closed with LSP_CHAT_CLOSE_SUSPENDED */
	send_hello(s, c);
	return 0;
}

static void on_frames(lsp_chatsrv *s, conn *c)
{
	size_t off = 0;
	/* the buffer holds at most one max-size frame, which bounds the work */
	while (c->stage == ST_OPEN && off < c->inlen) {
		lsp_ws_event e;
		size_t used = lsp_ws_rx_feed(&c->rx, c->in + off, c->inlen - off, &e);
		if (e.type == LSP_WS_EV_ERROR) {
			chatsrv_send_close(s, c, e.code, e.code == LSP_WS_TOO_BIG ? "message too big"
						 : e.code == LSP_WS_BAD_DATA ? "invalid UTF-8"
									     : "protocol error");
			break;
		}
		if (!used)
			break;
		off += used;
		switch (e.type) {
		case LSP_WS_EV_MESSAGE:
			if (e.opcode != LSP_WS_TEXT)
				chatsrv_send_close(s, c, LSP_WS_UNSUPPORTED, "text messages only");
			else
				chatsrv_on_message(s, c, (const char *)e.data, e.len);
			break;
		case LSP_WS_EV_PING:
			chatsrv_send_frame(s, c, LSP_WS_PONG, e.data, e.len);
			break;
		case LSP_WS_EV_CLOSE:
			chatsrv_send_close(s, c, e.code == 1005 ? LSP_WS_NORMAL : e.code, "");
			break;
		default:
			break;
		}
	}
	if (off) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

void chatsrv_on_readable(lsp_chatsrv *s, conn *c)
{
	ssize_t n;
	if (c->inlen == c->incap) { /* cannot happen past HEAD: frames fit */
		http_reply(s, c, 431);
		return;
	}
	do
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		chatsrv_conn_close(s, c);
		return;
	}
	c->inlen += (size_t)n;
	c->last_rx = lsp_clock_wall_ms();
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_bytes_in_total", (double)n, NULL);
	/* answered /presence requests leave the connection in HEAD: pipelined heads follow */
	while (c->stage == ST_HEAD && c->inlen && on_head(s, c) > 0)
		;
	if (c->stage == ST_OPEN)
		on_frames(s, c);
	if (c->stage == ST_CLOSING) {
		c->inlen = 0;
		if (c->close_at == 0)
			chatsrv_conn_close(s, c);
	}
}

void chatsrv_conn_close(lsp_chatsrv *s, conn *c)
{
	if (c->ch)
		chatsrv_chan_leave(c->ch, c);
	epoll_ctl(s->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	lsp_metrics_set(s->cfg.metrics, "lsp_chat_connections", (double)s->nconns, NULL);
	free(c->in);
	free(c->msgbuf);
	free(c->out);
	free(c);
}

/* A connection for the accepted socket fd, registered with epoll and
 * linked into s->conns; -1 (fd closed, nothing kept) when out of memory. */
static int conn_new(lsp_chatsrv *s, int fd)
{
	size_t incap = HEAD_MAX > s->cfg.max_msg + LSP_WS_HDR_MAX ? HEAD_MAX : s->cfg.max_msg + LSP_WS_HDR_MAX;
	struct epoll_event e = { .events = EPOLLIN };
	conn *c;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!(c = calloc(1, sizeof *c)) || !(c->in = malloc(incap)) || !(c->msgbuf = malloc(s->cfg.max_msg)))
		goto fail;
	c->fd = fd;
	c->incap = incap;
	lsp_ws_rx_init(&c->rx, c->msgbuf, s->cfg.max_msg, 1);
	c->created = c->last_rx = lsp_clock_wall_ms();
	e.data.ptr = c;
	if (epoll_ctl(s->efd, EPOLL_CTL_ADD, fd, &e) < 0)
		goto fail;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return 0;
fail:
	if (c) {
		free(c->in);
		free(c->msgbuf);
	}
	free(c);
	close(fd);
	return -1;
}

void chatsrv_on_accept(lsp_chatsrv *s)
{
	for (int k = 0; k < 256; k++) {
		int fd = lsp_net_accept(s->lfd, LSP_NET_NONBLOCK, NULL, 0);
		if (fd == -EMFILE || fd == -ENFILE) {
			/* shed the waiting client (it sees a close) instead of spinning on a readable listener */
			long long held = 0;
			if (lsp_ratelim_ok(&s->emfile_rl, lsp_clock_mono_ms(), 1000, &held))
				chatsrv_ev(s, LSP_WARN, "accept: out of descriptors", "errno", LSV_I(-fd), "reason",
					   LSV_S(strerror(-fd)), "suppressed", LSV_I(held), NULL);
			if (lsp_net_shed(s->lfd, &s->reserve) < 0)
				return;
			continue;
		}
		if (fd < 0)
			return;
		if (s->nconns >= s->cfg.max_clients) {
			/* debug: one a refused socket; the tool counts it in lsp_chat_errors_total */
			chatsrv_ev(s, LSP_DEBUG, "max clients", "max", LSV_I(s->cfg.max_clients), NULL);
			close(fd);
			continue;
		}
		if (conn_new(s, fd) < 0)
			continue;
		lsp_metrics_set(s->cfg.metrics, "lsp_chat_connections", (double)s->nconns, NULL);
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_accepted_total", 1, NULL);
	}
}
