/* edge_relay.c — lsp-edge's relay mode: /hls/, /api/ and /vod/ come from
 * an origin lsp-edge (cfg.origin, or per request from cfg.route).
 *
 *   viewer ─GET t─▶ [entry t fresh?] ─yes─▶ answer from cache
 *                        │ no / absent
 *                        ▼
 *                  entry t pending ◀─ later viewers of t wait here
 *                        │ one upstream GET t (Connection: close)
 *                        ▼
 *            origin answers ─▶ every waiter answered; kept max-age
 *
 * Owners: the lsp_edge's hash table owns the entries (their key and body);
 * an entry owns at most one upstream request, which owns its socket and
 * buffer; a viewer waits on an entry through its edge_waiter (H_RELAY).
 * Entries are keyed by origin and target, so a channel that moves to
 * another origin never mixes bytes.  Internal; see edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpurl.h"

static unsigned key_hash(const char *k, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h % RELAY_BUCKETS;
}

static void entry_unlink(lsp_edge *e, edge_entry *en)
{
	edge_entry **pp = &e->buckets[key_hash(en->key, strlen(en->key))];
	for (; *pp; pp = &(*pp)->next)
		if (*pp == en) {
			*pp = en->next;
			e->nentries--;
			return;
		}
}

static void entry_free(edge_entry *en)
{
	edge_body_put(en->b);
	free(en->key);
	free(en);
}

/* Make room: drop expired entries, then any finished one.  0 or -1 (full). */
static int relay_room(lsp_edge *e)
{
	for (int pass = 0; pass < 2 && e->nentries >= RELAY_ENTRIES_MAX; pass++)
		for (int i = 0; i < RELAY_BUCKETS && e->nentries >= RELAY_ENTRIES_MAX; i++)
			for (edge_entry **pp = &e->buckets[i]; *pp;) {
				edge_entry *en = *pp;
				if (!en->pending && !en->waiters && (pass == 1 || en->expires <= e->now)) {
					*pp = en->next;
					e->nentries--;
					entry_free(en);
				} else {
					pp = &en->next;
				}
			}
	return e->nentries < RELAY_ENTRIES_MAX ? 0 : -1;
}

static void up_close(lsp_edge *e, edge_upstream *u)
{
	epoll_ctl(e->efd, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	if (u->prev)
		u->prev->next = u->next;
	else
		e->ups = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u->buf);
	free(u);
}

void edge_relay_unwait(lsp_edge *e, edge_conn *c)
{
	edge_waiter *wt = &c->wt;
	if (wt->kind != H_RELAY)
		return;
	if (wt->prev)
		wt->prev->next = wt->next;
	else if (c->ent)
		c->ent->waiters = wt->next;
	if (wt->next)
		wt->next->prev = wt->prev;
	wt->prev = wt->next = NULL;
	wt->kind = H_NONE;
	c->ent = NULL;
	e->relay_held--;
}

/* The upstream answer (or failure, status 502/504 and b NULL) is known:
 * answer every waiter, keep the entry only when it may be reused. */
static void entry_done(lsp_edge *e, edge_entry *en)
{
	en->pending = 0;
	en->up = NULL;
	while (en->waiters) {
		edge_conn *c = EDGE_CONN_OF(en->waiters);
		if (en->b) {
			en->b->refs++;
			edge_respond(e, c, en->status, en->ctype[0] ? en->ctype : NULL, en->cache[0] ? en->cache : NULL,
				     NULL, en->b, -1, 0, 0, -1);
		} else {
			edge_respond_error(e, c, en->status);
		}
	}
	if (!en->b || en->expires <= e->now) {
		entry_unlink(e, en);
		entry_free(en);
	}
}

static void up_fail(lsp_edge *e, edge_upstream *u, int status)
{
	edge_entry *en = u->ent;
	e->relay_errors++;
	up_close(e, u);
	en->status = status;
	edge_body_put(en->b);
	en->b = NULL;
	entry_done(e, en);
}

static void copy_hdr(const lsp_http_req *r, const char *name, char *out, size_t cap)
{
	size_t vl;
	const char *v = lsp_http_header_get(r, name, &vl);
	out[0] = 0;
	if (v && vl < cap) {
		memcpy(out, v, vl);
		out[vl] = 0;
	}
}

static void up_complete(lsp_edge *e, edge_upstream *u)
{
	edge_entry *en = u->ent;
	lsp_http_req r;
	int status = 0, n;
	size_t blen;
	const char *ma;
	n = u->buf ? lsp_http_parse_response(u->buf, u->len, &status, &r) : 0; /* no bytes: no answer */
	if (n <= 0 || r.chunked) {
		up_fail(e, u, 502);
		return;
	}
	blen = u->len - (size_t)n;
	if (r.content_length >= 0) {
		if ((unsigned long long)r.content_length > blen) {
			up_fail(e, u, 502); /* cut short */
			return;
		}
		blen = (size_t)r.content_length;
	}
	en->status = status;
	copy_hdr(&r, "content-type", en->ctype, sizeof en->ctype);
	copy_hdr(&r, "cache-control", en->cache, sizeof en->cache);
	if (!(en->b = edge_body_from(u->buf + n, blen))) {
		up_fail(e, u, 502);
		return;
	}
	en->expires = e->now;
	ma = strstr(en->cache, "max-age=");
	if (status == 200 && ma && !strstr(en->cache, "no-")) {
		/* the origin's number, bounded: a year at most (RFC 9111 caps delta-seconds too) */
		long age = strtol(ma + 8, NULL, 10);
		if (age > 0)
			en->expires = e->now + 1000LL * (age < 31536000 ? age : 31536000);
	}
	up_close(e, u);
	entry_done(e, en);
}

void edge_on_upstream(lsp_edge *e, edge_upstream *u, uint32_t ev)
{
	(void)ev;
	if (u->st == 0) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		struct epoll_event ee = { .events = EPOLLIN, .data.ptr = u };
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			up_fail(e, u, 502);
			return;
		}
		while (u->roff < u->rlen) {
			ssize_t w = send(u->fd, u->req + u->roff, u->rlen - u->roff, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN)
				return;
			if (w <= 0) {
				up_fail(e, u, 502);
				return;
			}
			u->roff += (size_t)w;
		}
		epoll_ctl(e->efd, EPOLL_CTL_MOD, u->fd, &ee);
		u->st = 1;
		return;
	}
	for (;;) {
		ssize_t r;
		if (u->len == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 16384;
			char *nb;
			if (nc > RELAY_BODY_MAX || !(nb = realloc(u->buf, nc))) {
				up_fail(e, u, 502);
				return;
			}
			u->buf = nb;
			u->cap = nc;
		}
		r = recv(u->fd, u->buf + u->len, u->cap - u->len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			up_fail(e, u, 502);
			return;
		}
		if (r == 0) {
			up_complete(e, u);
			return;
		}
		u->len += (size_t)r;
	}
}

/* One upstream GET for en (a client socket: connect, not listen).  0 or -1. */
static int up_start(lsp_edge *e, edge_entry *en)
{
	edge_upstream *u = calloc(1, sizeof *u);
	struct epoll_event ee;
	struct sockaddr_storage ss = e->origin;
	socklen_t sl = e->origin_len;
	char hp[300], perr[160];
	int n;
	if (!u)
		return -1;
	u->kind = K_UP;
	u->ent = en;
	snprintf(hp, sizeof hp, "%s", e->origin_host);
	if (en->org[0] && lsp_httpurl_resolve(en->org, &ss, &sl, hp, sizeof hp, perr, sizeof perr) < 0)
		goto fail;
	n = snprintf(u->req, sizeof u->req,
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lsp-edge relay\r\nConnection: close\r\n\r\n",
		     en->key, hp);
	if (n < 0 || (size_t)n >= sizeof u->req)
		goto fail;
	u->rlen = (size_t)n;
	if ((u->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (connect(u->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(u->fd);
		goto fail;
	}
	ee.events = EPOLLOUT;
	ee.data.ptr = u;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, u->fd, &ee) < 0) {
		close(u->fd);
		goto fail;
	}
	u->deadline = e->now + RELAY_TIMEOUT_MS;
	u->next = e->ups;
	if (e->ups)
		e->ups->prev = u;
	e->ups = u;
	en->up = u;
	e->relay_upstream++;
	return 0;
fail:
	free(u);
	return -1;
}

void edge_relay(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *org)
{
	unsigned h = key_hash(rq->target, rq->target_len);
	edge_entry *en;
	for (en = e->buckets[h]; en; en = en->next)
		if (strlen(en->key) == rq->target_len && !memcmp(en->key, rq->target, rq->target_len) &&
		    !strcmp(en->org, org))
			break;
	if (en && !en->pending && en->expires > e->now) {
		e->relay_hits++;
		en->b->refs++;
		edge_respond(e, c, en->status, en->ctype[0] ? en->ctype : NULL, en->cache[0] ? en->cache : NULL, NULL,
			     en->b, -1, 0, 0, -1);
		return;
	}
	if (en && !en->pending) { /* stale */
		entry_unlink(e, en);
		entry_free(en);
		en = NULL;
	}
	if (en) {
		e->relay_coalesced++;
	} else {
		if (relay_room(e) < 0 || !(en = calloc(1, sizeof *en)) || !(en->key = strndup(rq->target, rq->target_len))) {
			free(en);
			edge_respond_error(e, c, 503);
			return;
		}
		en->pending = 1;
		snprintf(en->org, sizeof en->org, "%s", org);
		if (up_start(e, en) < 0) {
			entry_free(en);
			edge_respond_error(e, c, 502);
			return;
		}
		en->next = e->buckets[h];
		e->buckets[h] = en;
		e->nentries++;
	}
	/* wait on the entry like a held request */
	c->ent = en;
	c->wt.kind = H_RELAY;
	c->wt.w = NULL;
	c->wt.prev = NULL;
	c->wt.next = en->waiters;
	if (en->waiters)
		en->waiters->prev = &c->wt;
	en->waiters = &c->wt;
	c->st = C_HOLD;
	c->deadline = e->now + RELAY_WAIT_MS;
	e->relay_held++;
	edge_set_events(e, c, EPOLLRDHUP);
}

void edge_relay_expire(lsp_edge *e)
{
	for (edge_upstream *u = e->ups, *nx; u; u = nx) {
		nx = u->next;
		if (u->deadline <= e->now)
			up_fail(e, u, 504);
	}
}

void edge_relay_close(lsp_edge *e)
{
	for (edge_upstream *u = e->ups, *nx; u; u = nx) {
		nx = u->next;
		up_fail(e, u, 502);
	}
	for (int i = 0; i < RELAY_BUCKETS; i++)
		while (e->buckets[i]) {
			edge_entry *en = e->buckets[i];
			e->buckets[i] = en->next;
			entry_free(en);
		}
	e->nentries = 0;
}
