/* rtc.c — the lsp-rtc server object and its event loop; see rtc.h for the
 * contract and rtc_int.h for how the work is split between files.
 *
 * Owns: the UDP and HTTP sockets, the HTTP connections, the session table,
 * the channel table (rings or origin connections, histories, Opus
 * encoders), the relay clients (edges reading our rings), the DTLS cert.
 * Sessions, relay clients and parked offers borrow their channel; a
 * channel lives while any of them uses it (and 10 s after).  One thread,
 * one poll(): the UDP socket, the HTTP listener and connections, the relay
 * clients and (edge) the origin connections; rings are pumped every round,
 * timers run every TICK_MS. */
#include "rtc/rtc.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/httpurl.h"
#include "core/net.h"
#include "rtc/rtc_int.h"

#define UDP_BUF (4 << 20)  /* socket buffers of the media socket, each way */
#define REPORT_MS 1000     /* relay byte counts reported this often */

void rtc_rand_str(char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t b[64];
	if (n > sizeof b)
		n = sizeof b;
	RAND_bytes(b, (int)n);
	for (size_t i = 0; i < n; i++)
		out[i] = al[b[i] % (sizeof al - 1)];
	out[n] = 0;
}

uint32_t rtc_rand32(void)
{
	uint32_t v = 0;
	RAND_bytes((uint8_t *)&v, sizeof v);
	return v;
}

/* ------------------------------------------------------- the server */

int rtc_new(struct rtc **out, const lsp_rtc_cfg *cfg, char *err, size_t errcap)
{
	struct rtc *r = calloc(1, sizeof *r);
	int rc;
	*out = NULL;
	if (!r) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->cfg = cfg;
	r->udp = r->http = r->ctl = r->tcp_l = -1;
	r->worker = -1;
	r->udp_port = cfg->udp_port;
	r->edge = (cfg->origin && *cfg->origin) || cfg->origin_route;
	r->nsess_max = cfg->max_sessions > 0 ? cfg->max_sessions : 256;
	if (!(r->sess = calloc((size_t)r->nsess_max, sizeof *r->sess))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = lsp_dtls_cert_new(&r->cert, err, errcap)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	rtc_free(r);
	return rc;
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	for (int i = 0; i < MAX_RELAY; i++)
		if (r->relays[i])
			rtc_relay_free(r, i, "shutdown");
	for (int i = 0; i < MAX_CONN; i++)
		if (r->conns[i])
			rtc_conn_close(r, i);
	rtc_admit_free(r); /* after the connections: no answer is wanted now */
	if (r->sess)
		for (int i = 0; i < r->nsess_max; i++)
			rtc_sess_free(r, &r->sess[i], "shutdown");
	for (int i = 0; i < MAX_TCP; i++)
		if (r->tcps[i])
			rtc_tcp_close(r, i, "shutdown");
	for (int i = 0; i < MAX_CHAN; i++)
		if (r->chans[i].used) {
			if (r->chans[i].relay)
				rtc_up_report(r, &r->chans[i]);
			rtc_chan_drop(&r->chans[i]);
		}
	if (r->udp >= 0)
		close(r->udp);
	if (r->http >= 0)
		close(r->http);
	if (r->tcp_l >= 0)
		close(r->tcp_l);
	lsp_dtls_cert_free(r->cert);
	free(r->sess);
	free(r);
}

int rtc_udp_open(const char *host, int port, char *err, size_t errcap)
{
	char e[256];
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	int one = 1, rc, sz = UDP_BUF, fd = lsp_net_listen(host, port, SOCK_DGRAM, LSP_NET_NONBLOCK | LSP_NET_NUMERIC, e, sizeof e);
	if (fd < 0) {
		snprintf(err, errcap, "udp: %s", e);
		return fd;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	/* which of our addresses each datagram came to: replies leave from
	 * there (a v6 socket is told v4 arrivals as v4-mapped addresses) */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6)
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
	else
		rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errcap, "udp: packet info: %s", strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

void rtc_laddr_get(struct msghdr *mh, struct laddr *out)
{
	memset(out, 0, sizeof *out);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			out->family = AF_INET;
			out->ifindex = pi.ipi_ifindex;
			out->a4 = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			out->family = AF_INET6;
			out->ifindex = (int)pi.ipi6_ifindex;
			out->a6 = pi.ipi6_addr;
		}
	}
}

size_t rtc_cmsg_put(void *buf, const struct laddr *l, uint16_t seg)
{
	struct msghdr mh = { .msg_control = buf, .msg_controllen = RTC_CMSG_CAP };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	size_t n = 0;
	memset(buf, 0, RTC_CMSG_CAP);
	if (seg) {
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof seg);
		memcpy(CMSG_DATA(c), &seg, sizeof seg);
		n += CMSG_SPACE(sizeof seg);
		c = (struct cmsghdr *)((char *)buf + n);
	}
	if (l && l->family == AF_INET) {
		/* the source only: the route (and so the interface) stays the
		 * kernel's choice, as for a socket bound to that address */
		struct in_pktinfo pi = { .ipi_ifindex = 0, .ipi_spec_dst = l->a4 };
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		n += CMSG_SPACE(sizeof pi);
	} else if (l && l->family == AF_INET6) {
		/* a link-local address needs its interface; any other does not */
		struct in6_pktinfo pi = { .ipi6_addr = l->a6,
					  .ipi6_ifindex = IN6_IS_ADDR_LINKLOCAL(&l->a6) ? (unsigned)l->ifindex : 0 };
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		n += CMSG_SPACE(sizeof pi);
	}
	return n;
}

static int http_open(const char *host, int port, char *err, size_t errcap)
{
	char e[256];
	int fd = lsp_net_listen(host, port, SOCK_STREAM, LSP_NET_NONBLOCK | LSP_NET_NUMERIC, e, sizeof e);
	if (fd < 0)
		snprintf(err, errcap, "http: %s", e);
	return fd;
}

void rtc_cand_str(const char *ips, int port, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (const char *a = ips ? ips : ""; *a && o < cap;) {
		size_t l = strcspn(a, ",");
		int v6 = memchr(a, ':', l) != NULL,
		    k = snprintf(out + o, cap - o, "%s%s%.*s%s:%d", o ? "," : "", v6 ? "[" : "", (int)l, a, v6 ? "]" : "", port);
		if (k < 0 || (size_t)k >= cap - o) {
			out[o] = 0;
			break;
		}
		o += (size_t)k;
		a += l + (a[l] == ',');
	}
}

/* ------------------------------------------------------- timers */

static void tick(struct rtc *r)
{
	int report = r->now - r->last_report >= REPORT_MS;
	while (waitpid(-1, NULL, WNOHANG) > 0) /* ended WHIP pipelines */
		;
	for (int i = 0; i < r->nsess_max; i++)
		rtc_sess_tick(r, &r->sess[i]);
	if (report)
		r->last_report = r->now;
	for (int i = 0; i < MAX_CHAN; i++) {
		if (report && r->chans[i].used && r->chans[i].relay)
			rtc_up_report(r, &r->chans[i]);
		rtc_chan_tick(r, &r->chans[i]);
	}
	for (int i = 0; i < MAX_RELAY && report; i++)
		if (r->relays[i])
			rtc_relay_report(r, r->relays[i]);
	if (report)
		rtc_viewers_report(r); /* presence (rtcpres.c) */
	if (report && (r->c.srtp_auth != r->c.srtp_auth_rep || r->c.srtp_replay != r->c.srtp_replay_rep)) {
		RTC_EMIT(r, LSP_DEBUG, "srtp dropped", "bad_tag", LSV_I(r->c.srtp_auth - r->c.srtp_auth_rep), "replayed",
			 LSV_I(r->c.srtp_replay - r->c.srtp_replay_rep));
		r->c.srtp_auth_rep = r->c.srtp_auth;
		r->c.srtp_replay_rep = r->c.srtp_replay;
	}
}

/* ------------------------------------------------------- the loop */

int rtc_loop(struct rtc *r, int stopfd, char *err, size_t errcap)
{
	struct pollfd pf[6 + MAX_CONN + MAX_RELAY + MAX_CHAN + MAX_TCP];
	int idx[6 + MAX_CONN + MAX_RELAY + MAX_CHAN + MAX_TCP];
	long long last_tick = 0;
	int rc = 0;
	for (;;) {
		int np = 0, live = 0;
		pf[np] = (struct pollfd){ stopfd, POLLIN, 0 };
		idx[np++] = -1;
		pf[np] = (struct pollfd){ r->udp, POLLIN, 0 };
		idx[np++] = -2;
		pf[np] = (struct pollfd){ r->http, POLLIN, 0 };
		idx[np++] = -3;
		pf[np] = (struct pollfd){ r->ctl, POLLIN, 0 }; /* -1 (ignored) unless a worker */
		idx[np++] = -4;
		pf[np] = (struct pollfd){ r->tcp_l, POLLIN, 0 }; /* -1 (ignored) without ICE-TCP */
		idx[np++] = -5;
		pf[np] = (struct pollfd){ rtc_admit_fd(r), POLLIN, 0 }; /* -1 (ignored) until a WHIP webhook */
		idx[np++] = -6;
		for (int i = 0; i < MAX_TCP; i++)
			if (r->tcps[i]) {
				pf[np] = (struct pollfd){ r->tcps[i]->fd, (short)(POLLIN | (r->tcps[i]->qlen ? POLLOUT : 0)), 0 };
				idx[np++] = 3000 + i;
			}
		for (int i = 0; i < MAX_CONN; i++)
			if (r->conns[i] && !r->conns[i]->park && !r->conns[i]->admit_id) {
				pf[np] = (struct pollfd){ r->conns[i]->fd, POLLIN, 0 };
				idx[np++] = i;
			}
		for (int i = 0; i < MAX_RELAY; i++)
			if (r->relays[i]) {
				const struct relayc *rl = r->relays[i];
				pf[np] = (struct pollfd){ rl->fd, (short)(POLLIN | (rl->ooff < rl->olen ? POLLOUT : 0)), 0 };
				idx[np++] = 1000 + i;
				live = 1;
			}
		for (int i = 0; i < MAX_CHAN; i++) {
			struct chan *c = &r->chans[i];
			live |= c->used && c->ring;
			if (c->used && c->relay && c->up.state != UP_IDLE) {
				pf[np] = (struct pollfd){ c->up.fd, c->up.state == UP_CONNECT ? POLLOUT : POLLIN, 0 };
				idx[np++] = 2000 + i;
			}
		}
		if (poll(pf, (nfds_t)np, live ? 2 : 50) < 0 && errno != EINTR) {
			rc = -errno;
			snprintf(err, errcap, "poll: %s", strerror(errno));
			return rc;
		}
		r->now = lsp_clock_mono_ms();
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN) {
			uint8_t buf[2048];
			union {
				char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
				struct cmsghdr h;
			} cb;
			for (int k = 0; k < 512; k++) {
				struct sockaddr_storage from;
				struct iovec iov = { buf, sizeof buf };
				struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
						     .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b };
				struct laddr to;
				ssize_t n = recvmsg(r->udp, &mh, 0);
				if (n <= 0)
					break;
				rtc_laddr_get(&mh, &to);
				rtc_on_udp(r, buf, (size_t)n, &from, mh.msg_namelen, &to);
			}
		}
		if (pf[2].revents & POLLIN)
			rtc_http_accept(r);
		if (pf[3].revents && rtc_work_ctl(r) < 0)
			break; /* the supervisor is gone: so are we */
		if (pf[4].revents & POLLIN)
			rtc_tcp_accept(r);
		if (pf[5].revents & POLLIN)
			rtc_admit_collect(r); /* WHIP offers admitted or refused */
		for (int p = 6; p < np; p++) {
			if (!pf[p].revents)
				continue;
			if (idx[p] >= 0 && idx[p] < MAX_CONN) {
				if (r->conns[idx[p]])
					rtc_on_conn(r, idx[p]);
			} else if (idx[p] >= 1000 && idx[p] < 1000 + MAX_RELAY) {
				if (r->relays[idx[p] - 1000] && (pf[p].revents & (POLLIN | POLLERR | POLLHUP)))
					rtc_relay_input(r, idx[p] - 1000); /* keyframe requests, or its close */
			} else if (idx[p] >= 3000 && idx[p] < 3000 + MAX_TCP) {
				rtc_tcp_io(r, idx[p] - 3000, pf[p].revents);
			} else if (idx[p] >= 2000 && idx[p] < 2000 + MAX_CHAN) {
				struct chan *c = &r->chans[idx[p] - 2000];
				if (c->used && c->relay && c->up.state != UP_IDLE)
					rtc_up_io(r, c, pf[p].revents);
			}
		}
		for (int i = 0; i < MAX_CONN; i++) /* slow or silent clients */
			if (r->conns[i] && !r->conns[i]->park && !r->conns[i]->admit_id && r->now - r->conns[i]->t0 > 10000)
				rtc_conn_close(r, i);
		rtc_admit_tick(r);
		for (int i = 0; i < MAX_CHAN; i++)
			if (r->chans[i].used) {
				if (r->chans[i].relay)
					rtc_up_step(r, &r->chans[i]);
				else
					rtc_chan_pump(r, &r->chans[i]);
			}
		for (int i = 0; i < MAX_RELAY; i++)
			if (r->relays[i])
				rtc_relay_flush(r, i);
		rtc_unpark(r);
		rtc_tcp_tick(r); /* closed sessions' connections, idle and stalled ones */
		if (r->now - last_tick >= TICK_MS) {
			last_tick = r->now;
			tick(r);
		}
	}
	return rc;
}

int lsp_rtc_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap)
{
	struct rtc *r;
	char http[300], udp[300], cand[300], tcp[300] = "";
	int rc;
	if (cfg->workers > 1)
		return rtc_super_run(cfg, stopfd, err, errcap);
	if ((rc = rtc_new(&r, cfg, err, errcap)) < 0)
		return rc;
	if ((rc = r->udp = rtc_udp_open(cfg->udp_host, cfg->udp_port, err, errcap)) < 0)
		goto out;
	if ((rc = r->http = http_open(cfg->http_host, cfg->http_port, err, errcap)) < 0)
		goto out;
	if ((r->udp_port = lsp_net_port(r->udp)) < 0)
		r->udp_port = cfg->udp_port;
	if (cfg->ice_tcp && (r->tcp_l = rtc_tcp_open(cfg->udp_host, cfg->tcp_port, err, errcap)) < 0) {
		if (cfg->ice_tcp != 2) {
			rc = r->tcp_l;
			goto out;
		}
		RTC_EMIT(r, LSP_WARN, "ice-tcp unavailable", "port", LSV_I(cfg->tcp_port), "reason", LSV_S(err));
	}
	if (r->tcp_l >= 0) {
		r->tcp_port = lsp_net_port(r->tcp_l);
		snprintf(tcp, sizeof tcp, "%s:%d", cfg->udp_host ? cfg->udp_host : "", r->tcp_port);
	}
	if (cfg->origin && *cfg->origin) { /* check it now: a typo is a start-up error */
		struct sockaddr_storage ss;
		socklen_t sl;
		char hp[300];
		if ((rc = lsp_httpurl_resolve(cfg->origin, &ss, &sl, hp, sizeof hp, err, errcap)) < 0)
			goto out;
	}
	snprintf(http, sizeof http, "%s:%d", cfg->http_host ? cfg->http_host : "", lsp_net_port(r->http));
	snprintf(udp, sizeof udp, "%s:%d", cfg->udp_host ? cfg->udp_host : "", r->udp_port);
	rtc_cand_str(cfg->cand_ip, r->udp_port, cand, sizeof cand);
	RTC_EMIT(r, LSP_INFO, "listening", "http", LSV_S(http), "udp", LSV_S(udp), "tcp", LSV_S(tcp), "candidate", LSV_S(cand), "origin",
		 LSV_S(cfg->origin_route ? "auto" : cfg->origin && *cfg->origin ? cfg->origin : ""));
	rc = rtc_loop(r, stopfd, err, errcap);
out:
	rtc_free(r);
	return rc;
}
