/* edge.c — lsp-edge's single-threaded epoll HTTP/1.1 and HTTP/2 server; see edge.h.
 * This file sets the server up, accepts connections, runs the timers and
 * the loop; the rest lives beside it (edge_int.h lists the pieces).
 *
 * Objects and owners: the lsp_edge owns the listening socket, the epoll
 * descriptor, the TLS context, the table of connections (slots[]), the hold
 * table (inotify and its watches, edge_hold.c) and the relay cache
 * (edge_relay.c).  A connection owns its socket, its SSL, its read buffer,
 * its response head, a reference on a shared body or an open file
 * (edge_conn.c), and while a request is forwarded its edge_proxy with the
 * upstream socket (edge_proxy.c).  A held connection sits on one watch's
 * or one relay entry's list and nowhere else.
 *
 * Events (cfg->event): "accept: out of descriptors" (warn; errno, reason)
 * when accept fails for want of descriptors. */
#include "edge/edge_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/httpurl.h"
#include "core/net.h"

/* ---- accept, timers ----------------------------------------------------- */

static void on_accept(lsp_edge *e)
{
	for (;;) {
		int fd = lsp_net_accept(e->lfd, LSP_NET_NONBLOCK, NULL, 0), one = 1;
		edge_conn *c;
		struct epoll_event ee;
		if (fd < 0) {
			long long held = 0;
			if (fd != -EMFILE && fd != -ENFILE)
				return;
			/* shed the waiting client (it sees a close) instead of spinning on a readable listener */
			e->rejected++;
			if (lsp_ratelim_ok(&e->emfile_rl, lsp_clock_mono_ms(), 1000, &held))
				lsp_event_emit(e->cfg.event, e->cfg.event_ctx, LSP_WARN, "accept: out of descriptors",
					       "errno", LSV_I(-fd), "reason", LSV_S(strerror(-fd)), "suppressed",
					       LSV_I(held), NULL);
			if (lsp_net_shed(e->lfd, &e->reserve) < 0)
				return;
			continue;
		}
		if (e->nfree == 0 || !(c = calloc(1, sizeof *c))) {
			e->rejected++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->kind = K_CONN;
		c->fd = fd;
		c->ffd = -1;
		c->slot = e->free_slots[--e->nfree];
		e->slots[c->slot] = c;
		e->open++;
		e->accepted++;
		c->st = e->tls ? C_HANDSHAKE : C_READ;
		c->deadline = e->now + (e->tls ? HS_TIMEOUT_MS : IDLE_TIMEOUT_MS);
		c->events = EPOLLIN | EPOLLRDHUP;
		ee.events = c->events;
		ee.data.ptr = c;
		if (epoll_ctl(e->efd, EPOLL_CTL_ADD, fd, &ee) < 0) {
			edge_conn_close(e, c);
			continue;
		}
		if (e->tls) {
			if (!(c->ssl = SSL_new(e->tls)) || SSL_set_fd(c->ssl, fd) != 1) {
				edge_conn_close(e, c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
	}
}

static void sweep(lsp_edge *e)
{
	edge_relay_expire(e);
	edge_holds_expire(&e->holds, e->now);
	edge_pres_tick(e); /* presence, once a second */
	for (int i = 0; i < e->cfg.max_conns; i++) {
		edge_conn *c = e->slots[i];
		if (!c || c->deadline > e->now)
			continue;
		if (c->st == C_PROXY) {
			edge_proxy_expire(e, c); /* 504 before the answer, else closed */
		} else if (c->st == C_H2) {
			edge_h2_expire(e, c); /* kept while a stream is held */
		} else if (c->st != C_HOLD) {
			edge_conn_close(e, c);
		} else if (c->wt.kind == H_RELAY) {
			e->relay_timeouts++;
			edge_respond_error(e, c, 504); /* origin too slow */
		} /* playlist and part holds: timed out by edge_holds_expire */
	}
}

/* Read again from connections that finished a response, then free the
 * connections closed during this round. */
static void drain(lsp_edge *e)
{
	while (e->again) {
		edge_conn *c = e->again;
		e->again = c->anext;
		if (c->queued == 2) {
			free(c);
			continue;
		}
		c->queued = 0;
		if (c->st == C_READ)
			edge_conn_read(e, c);
		else if (c->st == C_H2) /* streams answered: write (and read on) */
			edge_h2_io(e, c, 0);
	}
	while (e->dead) {
		edge_conn *c = e->dead;
		e->dead = c->anext;
		free(c);
	}
}

/* ---- the loop ----------------------------------------------------------- */

int lsp_edge_run(lsp_edge *e, const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct epoll_event evs[256];
	int64_t next_sweep = 0;
	while (!*stop) {
		long long held = e->holds.held + e->relay_held;
		int n = epoll_wait(e->efd, evs, 256, held ? 50 : 500);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errcap, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		e->now = lsp_clock_mono_ms();
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			uint32_t ev = evs[i].events;
			edge_conn *c;
			if (kind == K_LISTEN) {
				on_accept(e);
				continue;
			}
			if (kind == K_INOTIFY) {
				edge_holds_poll(&e->holds);
				continue;
			}
			if (kind == K_UP) {
				edge_on_upstream(e, evs[i].data.ptr, ev);
				continue;
			}
			if (kind == K_PROXY) { /* a forwarded request's upstream socket */
				edge_proxy_on_upstream(e, EDGE_CONN_OF_PTAG(evs[i].data.ptr), ev);
				continue;
			}
			c = evs[i].data.ptr;
			if (c->kind != K_CONN) /* closed earlier in this batch */
				continue;
			if (ev & (EPOLLERR | EPOLLHUP) || (c->st == C_HOLD && (ev & EPOLLRDHUP))) {
				edge_conn_close(e, c);
				continue;
			}
			switch (c->st) {
			case C_HANDSHAKE: edge_on_handshake(e, c); break;
			case C_READ:
				if (ev & (EPOLLIN | EPOLLRDHUP))
					edge_conn_read(e, c);
				break;
			case C_WRITE: edge_conn_write(e, c); break;
			case C_HOLD: break;
			case C_PROXY: edge_proxy_on_client(e, c); break;
			case C_H2: edge_h2_io(e, c, ev); break;
			}
		}
		if (e->now >= next_sweep) {
			sweep(e);
			next_sweep = e->now + (e->holds.held + e->relay_held ? 50 : 500);
		}
		drain(e);
	}
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

int lsp_edge_open(lsp_edge **out, const lsp_edge_cfg *cfg, char *err, size_t errcap)
{
	lsp_edge *e = calloc(1, sizeof *e);
	struct epoll_event ee;
	int rc = -ENOMEM;

	*out = NULL;
	if (!e) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	e->cfg = *cfg;
	e->lfd = e->efd = e->hls_fd = e->web_fd = e->vod_fd = -1;
	e->reserve = lsp_net_reserve_open();
	e->holds.ifd = -1;
	e->kind_listen = K_LISTEN;
	e->kind_inotify = K_INOTIFY;
	if (e->cfg.max_conns <= 0)
		e->cfg.max_conns = 20000;
	(void)lsp_net_raise_nofile((long)e->cfg.max_conns + 256); /* the default soft limit is 1 024 */
	if (e->cfg.part_hold_ms <= 0)
		e->cfg.part_hold_ms = 3000;
	if (e->cfg.upstream_timeout_ms <= 0)
		e->cfg.upstream_timeout_ms = 10000;
	if (!(e->slots = calloc((size_t)e->cfg.max_conns, sizeof(edge_conn *))) ||
	    !(e->free_slots = calloc((size_t)e->cfg.max_conns, sizeof *e->free_slots))) {
		snprintf(err, errcap, "out of memory for %d connections", e->cfg.max_conns);
		goto fail;
	}
	for (int i = 0; i < e->cfg.max_conns; i++)
		e->free_slots[e->nfree++] = e->cfg.max_conns - 1 - i;
	if ((e->hls_fd = open(cfg->hls_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && !cfg->origin && !cfg->route) {
		rc = -errno;
		snprintf(err, errcap, "cannot open hls root %s: %s", cfg->hls_root, strerror(errno));
		goto fail;
	}
	if ((e->web_fd = open(cfg->web_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot open web root %s: %s", cfg->web_root, strerror(errno));
		goto fail;
	}
	if (cfg->vod_root) /* optional: recordings may not exist yet */
		e->vod_fd = open(cfg->vod_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg->cert && cfg->key) {
		if (!(e->tls = lsp_net_tls_server(cfg->cert, cfg->key, err, errcap))) {
			rc = -EINVAL;
			goto fail;
		}
		SSL_CTX_set_mode(e->tls, SSL_MODE_RELEASE_BUFFERS); /* thousands of idle viewers */
		lsp_net_tls_alpn(e->tls, "\x02h2\x08http/1.1"); /* h2 first (edge_h2.c) */
	}
	if (cfg->origin) {
		if ((rc = lsp_httpurl_resolve(cfg->origin, &e->origin, &e->origin_len, e->origin_host,
					      sizeof e->origin_host, err, errcap)) < 0)
			goto fail;
		e->relay = 1;
	}
	if (cfg->route)
		e->relay = 1;
	if ((rc = edge_proxy_init(e, err, errcap)) < 0)
		goto fail;
	if ((rc = edge_metrics_init(e)) < 0) {
		snprintf(err, errcap, "metrics registry: %s", strerror(-rc));
		goto fail;
	}
	if ((e->lfd = lsp_net_listen(cfg->host, cfg->port, SOCK_STREAM, LSP_NET_NONBLOCK, err, errcap)) < 0) {
		rc = e->lfd;
		goto fail;
	}
	if ((e->port = lsp_net_port(e->lfd)) < 0) {
		rc = e->port;
		snprintf(err, errcap, "getsockname: %s", strerror(-rc));
		goto fail;
	}
	if ((e->efd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "epoll/inotify: %s", strerror(errno));
		goto fail;
	}
	if ((rc = edge_holds_init(&e->holds, cfg->hls_root, e->hls_fd, e->cfg.part_hold_ms, edge_on_answer, e, err,
				  errcap)) < 0)
		goto fail;
	ee.events = EPOLLIN;
	ee.data.ptr = &e->kind_listen;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, e->lfd, &ee) < 0)
		goto sysfail;
	ee.data.ptr = &e->kind_inotify;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, e->holds.ifd, &ee) < 0)
		goto sysfail;
	e->now = lsp_clock_mono_ms();
	*out = e;
	return 0;
sysfail:
	rc = -errno;
	snprintf(err, errcap, "epoll_ctl: %s", strerror(errno));
fail:
	lsp_edge_close(e);
	return rc;
}

int lsp_edge_port(const lsp_edge *e)
{
	return e->port;
}

void lsp_edge_close(lsp_edge *e)
{
	if (!e)
		return;
	for (int i = 0; e->slots && i < e->cfg.max_conns; i++)
		if (e->slots[i])
			edge_conn_close(e, e->slots[i]);
	edge_relay_close(e);
	drain(e);
	edge_holds_fini(&e->holds);
	edge_pres_free(e);
	edge_demand_free(e);
	if (e->lfd >= 0) close(e->lfd);
	if (e->reserve >= 0) close(e->reserve);
	if (e->efd >= 0) close(e->efd);
	if (e->hls_fd >= 0) close(e->hls_fd);
	if (e->web_fd >= 0) close(e->web_fd);
	if (e->vod_fd >= 0) close(e->vod_fd);
	if (e->tls)
		SSL_CTX_free(e->tls);
	lsp_metrics_free(e->mx);
	free(e->slots);
	free(e->free_slots);
	free(e);
}
