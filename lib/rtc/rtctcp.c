/* rtctcp.c — ICE-TCP for lsp-rtc (see rtc_int.h): viewers whose UDP is
 * blocked reach the passive TCP candidate of the answer (RFC 6544), and
 * STUN, DTLS and SRTP/SRTCP run over that stream with each packet behind
 * its two-byte length (RFC 4571, lib/rtc/tcpframe.h).
 *
 *   browser ──connect──▶ :tcp_port (this process's own listener: with
 *   --workers each worker has its own port, the one its answers carry, so
 *   a connection lands on the worker owning the session)
 *   ──STUN Binding, USERNAME ours:theirs, good MESSAGE-INTEGRITY──▶ the
 *   connection carries that session from now (struct tcpc.s, sess.tcp)
 *   ──DTLS, SRTP, SRTCP framed both ways──▶ as over UDP (rtcsess.c)
 *
 * Owns the connections (r->tcps).  Writes never block: what the socket
 * does not take waits in a bounded queue, a packet that does not fit is
 * dropped whole, and a queue the peer takes nothing from for TCP_STALL_MS
 * closes the connection (and its session).  A bad frame (zero length,
 * over LSP_TCPFRAME_MAX) closes that connection only.  Connections that
 * carry no session are few (TCP_UNBOUND_MAX: the oldest goes for a new
 * one) and short-lived (TCP_UNBOUND_MS).  A session's end closes its
 * connection; a connection's end ends its session. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/net.h"
#include "rtc/rtc_int.h"

/* ------------------------------------------------------- connections */

int rtc_tcp_open(const char *host, int port, char *err, size_t errcap)
{
	char e[256];
	int fd = lsp_net_listen(host, port, SOCK_STREAM, LSP_NET_NONBLOCK | LSP_NET_NUMERIC, e, sizeof e);
	if (fd < 0)
		snprintf(err, errcap, "ice-tcp: %s", e);
	return fd;
}

void rtc_tcp_close(struct rtc *r, int i, const char *why)
{
	struct tcpc *t = r->tcps[i];
	int bad = !strcmp(why, "bad frame");
	long long held = 0;
	int level = LSP_DEBUG;
	if (!t)
		return;
	if (bad && lsp_ratelim_ok(&r->tcp_rl, r->now, 1000, &held))
		level = LSP_WARN; /* one warning a second at most: the rest debug */
	else if (!bad && t->sid[0])
		level = LSP_INFO; /* a viewer's connection; the rest (idle, evicted) debug */
	RTC_EMIT(r, level, "ice-tcp closed", "peer", LSV_S(t->peer), "reason", LSV_S(why), "id", LSV_S(t->sid), "bytes_in", LSV_I(t->bytes_in), "bytes_out", LSV_I(t->bytes_out),
		 "dropped", LSV_I(t->dropped));
	r->tcps[i] = NULL; /* first: the session's end below must not find it */
	if (t->s) {
		struct sess *s = t->s;
		s->tcp = NULL;
		t->s = NULL;
		rtc_sess_free(r, s, "ice-tcp closed");
	}
	close(t->fd);
	free(t->q);
	free(t);
}

void rtc_tcp_detach(struct sess *s)
{
	struct tcpc *t = s->tcp;
	if (!t)
		return;
	s->tcp = NULL;
	t->s = NULL;
	t->dead = 1; /* the loop closes it (we may be inside its own input) */
}

static int unbound(const struct rtc *r, int *oldest)
{
	int n = 0;
	*oldest = -1;
	for (int i = 0; i < MAX_TCP; i++) {
		const struct tcpc *t = r->tcps[i];
		if (!t || t->s)
			continue;
		n++;
		if (*oldest < 0 || t->seq < r->tcps[*oldest]->seq)
			*oldest = i;
	}
	return n;
}

void rtc_tcp_accept(struct rtc *r)
{
	for (int k = 0; k < 16; k++) {
		struct tcpc *t;
		int one = 1, slot = -1, oldest, fd;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char peer[64];
		if ((fd = lsp_net_accept(r->tcp_l, LSP_NET_NONBLOCK, peer, sizeof peer)) < 0)
			break; /* none waiting (-EAGAIN), or out of descriptors */
		/* one more connection carrying nothing yet: the oldest such goes */
		if (unbound(r, &oldest) >= TCP_UNBOUND_MAX && oldest >= 0) {
			r->c.tcp_evicted++;
			rtc_tcp_close(r, oldest, "evicted");
		}
		for (int i = 0; i < MAX_TCP && slot < 0; i++)
			if (!r->tcps[i])
				slot = i;
		if (slot < 0 && oldest >= 0 && r->tcps[oldest]) {
			r->c.tcp_evicted++;
			rtc_tcp_close(r, oldest, "evicted");
			slot = oldest;
		}
		if (slot < 0 || !(t = calloc(1, sizeof *t))) { /* every one carries a session */
			r->c.tcp_evicted++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* media: no Nagle delay */
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
			sl = 0;
		t->fd = fd;
		t->idx = slot;
		memcpy(&t->addr, &ss, sizeof ss);
		t->alen = sl;
		snprintf(t->peer, sizeof t->peer, "%s", peer);
		t->t0 = t->last_rx = t->moved = r->now;
		lsp_tcpframe_init(&t->rd, LSP_TCPFRAME_MAX);
		r->tcps[slot] = t;
		t->seq = ++r->c.tcp_accepted;
		RTC_EMIT(r, LSP_DEBUG, "ice-tcp connection", "peer", LSV_S(peer));
	}
}

/* ------------------------------------------------------------ output */

static void t_fail(struct tcpc *t)
{
	t->dead = 1;
}

void rtc_tcp_write(struct rtc *r, struct tcpc *t, const uint8_t *p, size_t len)
{
	uint8_t h[2];
	size_t total = len + 2, done = 0;
	if (t->dead || lsp_tcpframe_head(h, len) < 0)
		return;
	if (!t->qlen) {
		struct iovec iov[2] = { { h, 2 }, { (void *)p, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(t->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			r->c.send_err++;
			t_fail(t);
			return;
		}
		if (n > 0) {
			done = (size_t)n;
			t->bytes_out += n;
			t->moved = r->now;
		}
		if (done == total) {
			r->c.sent++;
			return;
		}
		t->moved = r->now; /* the stall clock starts with the queue */
	} else if (t->qlen + total > TCP_OUTQ) {
		/* the peer is behind: this packet is dropped whole (a partial
		 * frame would break the stream) */
		t->dropped++;
		r->c.tcp_dropped++;
		return;
	}
	if (!t->q && !(t->q = malloc(TCP_OUTQ))) {
		r->c.send_err++;
		t_fail(t); /* a partial frame may be out: the stream cannot go on */
		return;
	}
	if (t->qoff + t->qlen + total > TCP_OUTQ) {
		memmove(t->q, t->q + t->qoff, t->qlen);
		t->qoff = 0;
	}
	for (size_t k = done; k < total; k++) /* what the socket did not take: header and/or packet */
		t->q[t->qoff + t->qlen++] = k < 2 ? h[k] : p[k - 2];
	r->c.sent++;
}

static void flush(struct rtc *r, struct tcpc *t)
{
	while (t->qlen && !t->dead) {
		ssize_t n = send(t->fd, t->q + t->qoff, t->qlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				t_fail(t);
			return;
		}
		t->qoff += (size_t)n;
		t->qlen -= (size_t)n;
		t->bytes_out += n;
		t->moved = r->now;
	}
	if (!t->qlen)
		t->qoff = 0;
}

/* ------------------------------------------------------------- input */

struct feed {
	struct rtc *r;
	struct tcpc *t;
};

static int on_packet(void *ctx, const uint8_t *pkt, size_t len)
{
	struct feed *f = ctx;
	struct rtc *r = f->r;
	struct tcpc *t = f->t;
	uint8_t b[LSP_TCPFRAME_MAX];
	if (len > sizeof b)
		return -EMSGSIZE;
	memcpy(b, pkt, len); /* unprotected in place */
	if (lsp_stun_is(b, len)) {
		lsp_stun_msg m;
		uint8_t out[256];
		int n;
		struct sess *s = rtc_stun_sess(r, b, len, &m);
		if (!s)
			return 0;
		if (t->s && t->s != s) { /* one connection, one session */
			r->c.stun_auth++;
			return 0;
		}
		if (!t->s && (!s->have_addr || m.use_candidate)) {
			if (s->tcp)
				rtc_tcp_detach(s); /* it moved to this connection */
			s->tcp = t;
			t->s = s;
			snprintf(t->sid, sizeof t->sid, "%s", s->id);
			memcpy(&s->addr, &t->addr, sizeof s->addr);
			s->alen = t->alen;
			s->have_addr = 1;
			memset(&s->local, 0, sizeof s->local);
		}
		s->last_rx = r->now;
		if (t->alen && (n = lsp_stun_answer(&m, (struct sockaddr *)&t->addr, s->pwd, out, sizeof out)) > 0)
			rtc_tcp_write(r, t, out, (size_t)n);
	} else if (t->s)
		rtc_sess_input(r, t->s, b, len);
	else
		r->c.unknown++;
	return t->dead ? -ECANCELED : 0;
}

void rtc_tcp_io(struct rtc *r, int i, short revents)
{
	struct tcpc *t = r->tcps[i];
	uint8_t buf[16384];
	if (!t)
		return;
	if (revents & POLLOUT)
		flush(r, t);
	if (revents & (POLLIN | POLLERR | POLLHUP))
		for (int k = 0; k < 8 && !t->dead; k++) {
			struct feed f = { r, t };
			ssize_t n = recv(t->fd, buf, sizeof buf, MSG_DONTWAIT);
			int rc;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				break;
			if (n <= 0) {
				rtc_tcp_close(r, i, n == 0 ? "eof" : "recv error");
				return;
			}
			t->bytes_in += n;
			t->last_rx = r->now;
			rc = lsp_tcpframe_feed(&t->rd, buf, (size_t)n, on_packet, &f);
			if (rc == -EBADMSG) {
				r->c.tcp_bad++;
				rtc_tcp_close(r, i, "bad frame");
				return;
			}
			if ((size_t)n < sizeof buf)
				break;
		}
	if (r->tcps[i] == t && t->dead)
		rtc_tcp_close(r, i, t->s ? "send error" : "session gone");
}

/* Every TICK_MS, and after each loop round: connections whose session
 * went, that carried none for too long, or whose queue does not move. */
void rtc_tcp_tick(struct rtc *r)
{
	for (int i = 0; i < MAX_TCP; i++) {
		struct tcpc *t = r->tcps[i];
		if (!t)
			continue;
		if (t->dead)
			rtc_tcp_close(r, i, t->s ? "send error" : "session gone");
		else if (!t->s && r->now - t->t0 > TCP_UNBOUND_MS)
			rtc_tcp_close(r, i, "idle");
		else if (t->qlen && r->now - t->moved > TCP_STALL_MS)
			rtc_tcp_close(r, i, "stalled");
	}
}
