/* chatsrv.c — the lsp-chat node's loop: open (listener through core/net,
 * epoll, eventfd, bus, Redis), run (one thread, epoll_wait), the periodic
 * work and close; see chatsrv.h for the contract and chatsrv_int.h for
 * how the pieces share the work.
 *
 * Channel state (members, history ring, ban / filter / slow-mode cache,
 * presence) lives in memory and is rebuilt from the store and JetStream
 * when a node first sees the channel (chatroom.c); every change of
 * moderation state is written to the store and then published
 * (chatcmd.c), and each node applies the published event to its cache
 * (chatfan.c → chatroom.c).
 *
 * The same port answers plain HTTP on /presence (chatconn.c, chatpres.c):
 * viewer counts for many channels at once, counted as the presence
 * messages count them.  A channel asked about that has no chat here is
 * *watched*: a channel entry holding only the lsp.presence.<ch>
 * subscription (no chat subject, history or moderation state), forgotten
 * a minute after the last question, at most WATCH_MAX of them; a
 * WebSocket joining it turns it into a full one.
 *
 * Periodic work (tick, every 250 ms at most): heads past their timeout
 * and lingering closes are dropped, idle sockets pinged then closed, the
 * sockets and channels due for a rights re-check looked at (chatauth.c); once
 * a second, channels empty for CHAN_IDLE_MS are forgotten and the others
 * report presence.  The server owns every connection and channel; the
 * store and the secret are the caller's. */
#include "chat/chatsrv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/subjects.h"
#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/net.h"
#include "state/ledger.h"

static const int listener_tag = 0, event_tag = 0;

/* ---- periodic work ----------------------------------------------------- */

static void tick(lsp_chatsrv *s)
{
	long long now = lsp_clock_wall_ms();
	conn *c, *next;
	int do_presence = now - s->last_tick >= PRESENCE_MS;
	if (now - s->last_scan < 250)
		return;
	s->last_scan = now;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if ((c->stage == ST_HEAD && now - c->created > HEAD_TIMEOUT_MS) ||
		    (c->stage == ST_CLOSING && now >= c->close_at))
			chatsrv_conn_close(s, c);
		else if (c->stage == ST_OPEN && now - c->last_rx > IDLE_MS)
			chatsrv_send_close(s, c, LSP_WS_GOING_AWAY, "idle");
		else if (c->stage == ST_OPEN && now - c->last_rx > IDLE_PING_MS && now - c->last_ping > IDLE_PING_MS) {
			c->last_ping = now;
			chatsrv_send_frame(s, c, LSP_WS_PING, "", 0);
		}
	}
	chatsrv_auth_tick(s, now);
	if (!do_presence)
		return;
	s->last_tick = now;
	for (int b = 0; b < CHAN_BUCKETS; b++) {
		chan **pp = &s->chans[b];
		while (*pp) {
			chan *ch = *pp;
			if (ch->n == 0 && ch->idle_since && now - ch->idle_since > CHAN_IDLE_MS) {
				*pp = ch->next; /* nobody here for a minute: forget it */
				chatsrv_chan_free(s, ch);
				continue;
			}
			chatsrv_presence_tick(s, ch, now);
			pp = &ch->next;
		}
	}
}

/* ---- open / run / close ------------------------------------------------ */

int lsp_chatsrv_open(lsp_chatsrv **out, const lsp_chatsrv_cfg *cfg, char *err, size_t errcap)
{
	lsp_chatsrv *s;
	struct epoll_event e = { .events = EPOLLIN };
	char host[24];
	unsigned char rnd[4];
	int rc = -EIO;
	FILE *ur;

	*out = NULL;
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->lfd = s->efd = s->evfd = -1;
	s->reserve = lsp_net_reserve_open();
	pthread_mutex_init(&s->qmu, NULL);
	s->cfg = *cfg;
	if (!s->cfg.port)
		s->cfg.port = 8081;
	if (s->cfg.history <= 0)
		s->cfg.history = 50;
	if (s->cfg.max_clients <= 0)
		s->cfg.max_clients = 100000;
	(void)lsp_net_raise_nofile((long)s->cfg.max_clients + 256); /* the default soft limit is 1 024 */
	if (!s->cfg.max_msg)
		s->cfg.max_msg = 4096;
	if (s->cfg.rate <= 0)
		s->cfg.rate = 1;
	if (s->cfg.burst <= 0)
		s->cfg.burst = 5;
	if (s->cfg.flood <= 0)
		s->cfg.flood = 20;
	if (!(s->scratch = malloc(s->cfg.max_msg * 2 + 1025))) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if (!(ur = fopen("/dev/urandom", "rb")) || fread(rnd, 1, 4, ur) != 4) {
		if (ur)
			(void)fclose(ur);
		snprintf(err, errcap, "unable to read /dev/urandom");
		goto fail;
	}
	(void)fclose(ur); /* read-only: nothing to lose */
	snprintf(s->idpfx, sizeof s->idpfx, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if (cfg->node && *cfg->node)
		snprintf(s->node, sizeof s->node, "%s", cfg->node);
	else {
		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "node");
		host[sizeof host - 1] = 0;
		snprintf(s->node, sizeof s->node, "%s-%ld-%s", host, (long)getpid(), s->idpfx);
	}
	if ((s->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		goto fail;
	}
	e.data.ptr = (void *)&event_tag;
	epoll_ctl(s->efd, EPOLL_CTL_ADD, s->evfd, &e);
	if (s->cfg.nats_url && *s->cfg.nats_url) {
		if ((rc = lsp_bus_open_ev(&s->bus, s->cfg.nats_url, 2000, s->node, s->cfg.event, s->cfg.event_ctx, err, errcap)) < 0)
			goto fail;
		if ((rc = lsp_bus_stream_ensure(s->bus, STREAM, LSP_SUBJ_CHAT_ALL, s->cfg.history, err, errcap)) < 0)
			goto fail;
	}
	if ((rc = chatsrv_auth_open(s, err, errcap)) < 0)
		goto fail;
	if (s->cfg.redis_url && *s->cfg.redis_url &&
	    (rc = lsp_chatkv_open(&s->kv, s->cfg.redis_url, err, errcap)) < 0)
		goto fail;
	if (s->cfg.st && (rc = lsp_ledger_durable(s->cfg.st, err, errcap)) < 0)
		goto fail;
	/* the port opens last: whoever connects finds the bus and Redis ready */
	if ((s->lfd = lsp_net_listen(s->cfg.host, s->cfg.port, SOCK_STREAM, LSP_NET_NONBLOCK, err, errcap)) < 0) {
		rc = s->lfd;
		s->lfd = -1;
		goto fail;
	}
	e.data.ptr = (void *)&listener_tag;
	if (epoll_ctl(s->efd, EPOLL_CTL_ADD, s->lfd, &e) < 0) {
		rc = -errno;
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	lsp_chatsrv_close(s);
	return rc < 0 ? rc : -EIO;
}

int lsp_chatsrv_run(lsp_chatsrv *s, const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct epoll_event evs[256];
	/* the tool signals readiness on this event */
	chatsrv_ev(s, LSP_INFO, "listening", "port", LSV_I(lsp_net_port(s->lfd)), "node", LSV_S(s->node), "bus",
		   LSV_S(s->bus ? "nats" : "local"), "presence", LSV_S(s->kv ? "redis" : "local"), "recheck",
		   LSV_I(s->recheck_ms / 1000), NULL);
	while (!*stop) {
		int n = epoll_wait(s->efd, evs, 256, 200);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errcap, "epoll_wait: %s", strerror(errno));
			return -EIO;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			conn *c;
			if (p == &listener_tag) {
				chatsrv_on_accept(s);
				continue;
			}
			if (p == &event_tag) {
				chatsrv_drain_bus(s);
				continue;
			}
			c = p;
			if (evs[i].events & EPOLLOUT) {
				if (chatsrv_flush_out(s, c) < 0) {
					chatsrv_conn_close(s, c);
					continue;
				}
				if (c->stage == ST_CLOSING && c->outlen == 0 && c->close_at) {
					/* close frame or HTTP error sent: wait for the peer's EOF briefly */
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				if (c->stage == ST_CLOSING) {
					char junk[4096];
					ssize_t r = recv(c->fd, junk, sizeof junk, 0);
					if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
					    (evs[i].events & (EPOLLHUP | EPOLLERR)))
						chatsrv_conn_close(s, c);
					continue;
				}
				chatsrv_on_readable(s, c);
			}
		}
		tick(s);
	}
	return 0;
}

void lsp_chatsrv_close(lsp_chatsrv *s)
{
	if (!s)
		return;
	for (conn *c = s->conns, *next; c; c = next) {
		next = c->next; /* chatsrv_conn_close unlinks and frees c only */
		if (c->stage == ST_OPEN) {
			chatsrv_send_close(s, c, LSP_WS_GOING_AWAY, "server shutting down");
			chatsrv_flush_out(s, c);
		}
		chatsrv_conn_close(s, c);
	}
	for (int b = 0; b < CHAN_BUCKETS; b++)
		while (s->chans[b]) {
			chan *ch = s->chans[b];
			s->chans[b] = ch->next;
			chatsrv_chan_free(s, ch);
		}
	chatsrv_auth_close(s);
	if (s->bus) {
		char e[128];
		lsp_bus_flush(s->bus, 1000, e, sizeof e);
		lsp_bus_close(s->bus);
	}
	while (s->qhead) {
		struct qmsg *m = s->qhead;
		s->qhead = m->next;
		free(m->subject);
		free(m->data);
		free(m);
	}
	lsp_chatkv_close(s->kv);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->reserve >= 0)
		close(s->reserve);
	if (s->efd >= 0)
		close(s->efd);
	if (s->evfd >= 0)
		close(s->evfd);
	pthread_mutex_destroy(&s->qmu);
	free(s->scratch);
	free(s);
}

void lsp_chatsrv_metrics_def(lsp_metrics *m)
{
	lsp_metrics_def(m, "lsp_chat_connections", LSP_METRIC_GAUGE, "WebSocket connections open now");
	lsp_metrics_def(m, "lsp_chat_accepted_total", LSP_METRIC_COUNTER, "TCP connections accepted");
	lsp_metrics_def(m, "lsp_chat_bytes_in_total", LSP_METRIC_COUNTER, "bytes read from clients");
	lsp_metrics_def(m, "lsp_chat_bytes_out_total", LSP_METRIC_COUNTER, "bytes written to clients");
	lsp_metrics_def(m, "lsp_chat_messages_total", LSP_METRIC_COUNTER, "chat messages accepted, by channel");
	lsp_metrics_def(m, "lsp_chat_tips_total", LSP_METRIC_COUNTER, "tips recorded, by channel");
	lsp_metrics_def(m, "lsp_chat_tip_amount_total", LSP_METRIC_COUNTER, "tip amounts recorded, by channel");
	lsp_metrics_def(m, "lsp_chat_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
	lsp_metrics_def(m, "lsp_chat_presence_requests_total", LSP_METRIC_COUNTER, "HTTP /presence requests answered");
	lsp_metrics_def(m, "lsp_chat_revocations_total", LSP_METRIC_COUNTER,
			 "sockets closed or downgraded because their rights were revoked, by action");
}
