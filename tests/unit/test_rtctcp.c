/* test_rtctcp — lib/rtc's ICE-TCP connections (rtctcp.c through
 * rtc_int.h): a server from rtc_new with a real loopback listener
 * (rtc_tcp_open), its connections driven by hand (rtc_tcp_accept,
 * rtc_tcp_io, rtc_tcp_tick with r->now moved on), no sessions.
 *
 *   - output never blocks: a peer that reads nothing fills the bounded
 *     queue, then packets are dropped whole (counted), the writes return at
 *     once; what the peer reads later is whole frames, in order, nothing
 *     torn; a queue that does not move for TCP_STALL_MS closes the
 *     connection ("stalled");
 *   - a zero-length frame, an oversized one: that connection closed ("bad
 *     frame", a warning, counted), another one untouched;
 *   - a connection carrying no session is closed after TCP_UNBOUND_MS;
 *     past TCP_UNBOUND_MAX of them the oldest is evicted for a new one;
 *   - bytes that are no STUN on a connection without a session are
 *     counted as unknown, the connection kept. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/net.h"
#include "rtc/rtc_int.h"

static struct {
	int closed, warn;
	char reason[64];
} evs;

static void on_event(void *ctx, const lsp_event *ev)
{
	(void)ctx;
	if (!strcmp(ev->name, "ice-tcp closed")) {
		const char *why = lsp_event_str(ev, "reason");
		evs.closed++;
		evs.warn += ev->level >= LSP_WARN;
		snprintf(evs.reason, sizeof evs.reason, "%s", why ? why : "");
	}
}

struct fx {
	lsp_rtc_cfg cfg;
	struct rtc *r;
	int port;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	if (!f)
		return -1;
	f->cfg.max_sessions = 4;
	f->cfg.consent_s = 15;
	f->cfg.event = on_event;
	if (rtc_new(&f->r, &f->cfg, err, sizeof err) < 0) {
		free(f);
		return -1;
	}
	if ((f->r->tcp_l = rtc_tcp_open("127.0.0.1", 0, err, sizeof err)) < 0) {
		rtc_free(f->r);
		free(f);
		return -1;
	}
	f->port = f->r->tcp_port = lsp_net_port(f->r->tcp_l);
	f->r->now = lsp_clock_mono_ms();
	memset(&evs, 0, sizeof evs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rtc_free(f->r);
	free(f);
	return 0;
}

/* A client connected to the server's listener, and the slot it got. */
static int client(struct fx *f, int rcvbuf, int *slot)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long long before = f->r->c.tcp_accepted;
	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	for (int k = 0; k < 200 && f->r->c.tcp_accepted == before; k++) {
		struct pollfd p = { f->r->tcp_l, POLLIN, 0 };
		poll(&p, 1, 10);
		rtc_tcp_accept(f->r);
	}
	assert_int_equal(f->r->c.tcp_accepted, before + 1);
	*slot = -1;
	for (int i = 0; i < MAX_TCP; i++)
		if (f->r->tcps[i] && f->r->tcps[i]->seq == f->r->c.tcp_accepted)
			*slot = i;
	assert_true(*slot >= 0);
	return fd;
}

/* the peer closed: a read gets 0 (or a reset) within a second */
static int peer_closed(int fd)
{
	char b[4096];
	struct pollfd p = { fd, POLLIN, 0 };
	for (;;) {
		ssize_t n;
		if (poll(&p, 1, 1000) <= 0)
			return 0;
		n = recv(fd, b, sizeof b, 0);
		if (n <= 0)
			return 1;
	}
}

/* ---------------------------------------------------------- output */

struct seen {
	int n, bad;
};

static int count_pkt(void *ctx, const uint8_t *p, size_t len)
{
	struct seen *s = ctx;
	if (len != 1200 || p[0] != (uint8_t)s->n || p[1199] != (uint8_t)s->n)
		s->bad++;
	s->n++;
	return 0;
}

static void test_slow_peer(void **state)
{
	struct fx *f = *state;
	int slot, fd = client(f, 4096, &slot), sent = 0;
	struct tcpc *t = f->r->tcps[slot];
	uint8_t pkt[1200];
	int sb = 4096;
	long long t0 = lsp_clock_mono_ms();
	setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	/* the peer reads nothing: 2000 packets (2.4 MB) must not block */
	for (int i = 0; i < 2000; i++) {
		long long d0 = t->dropped;
		memset(pkt, 0, sizeof pkt);
		pkt[0] = pkt[1199] = (uint8_t)sent; /* numbered in the order kept */
		rtc_tcp_write(f->r, t, pkt, sizeof pkt);
		if (t->dropped == d0)
			sent++;
	}
	assert_true(lsp_clock_mono_ms() - t0 < 2000);
	assert_true(t->qlen > 0 && t->qlen <= TCP_OUTQ);
	assert_true(t->dropped > 0);
	assert_int_equal(f->r->c.tcp_dropped, t->dropped);
	assert_int_equal(sent + t->dropped, 2000);
	assert_false(t->dead);
	/* now it reads: whole frames, in order, as many as were kept */
	{
		lsp_tcpframe_rd rd;
		struct seen s = { 0, 0 };
		uint8_t b[16384];
		lsp_tcpframe_init(&rd, 2000);
		for (int k = 0; k < 10000 && s.n < sent; k++) {
			struct pollfd p = { fd, POLLIN, 0 };
			ssize_t n;
			rtc_tcp_io(f->r, slot, POLLOUT);
			if (poll(&p, 1, 10) <= 0)
				continue;
			n = recv(fd, b, sizeof b, 0);
			assert_true(n > 0);
			assert_int_equal(lsp_tcpframe_feed(&rd, b, (size_t)n, count_pkt, &s), 0);
		}
		assert_int_equal(s.n, sent);
		assert_int_equal(s.bad, 0);
		assert_int_equal(t->qlen, 0);
	}
	close(fd);
}

static void test_stalled(void **state)
{
	struct fx *f = *state;
	int slot, fd = client(f, 4096, &slot);
	struct tcpc *t = f->r->tcps[slot];
	uint8_t pkt[1200] = { 0 };
	int sb = 4096;
	setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	for (int i = 0; i < 400; i++)
		rtc_tcp_write(f->r, t, pkt, sizeof pkt);
	assert_true(t->qlen > 0);
	f->r->now += TCP_STALL_MS - 100;
	rtc_tcp_tick(f->r);
	assert_non_null(f->r->tcps[slot]); /* not yet */
	f->r->now += 200;
	rtc_tcp_tick(f->r);
	assert_null(f->r->tcps[slot]);
	assert_string_equal(evs.reason, "stalled");
	close(fd);
}

/* ----------------------------------------------------------- input */

static void bad_frame(struct fx *f, const uint8_t *bytes, size_t n)
{
	int s1, s2, fd1 = client(f, 0, &s1), fd2 = client(f, 0, &s2);
	long long bad = f->r->c.tcp_bad;
	assert_int_equal(send(fd1, bytes, n, 0), (ssize_t)n);
	for (int k = 0; k < 100 && f->r->tcps[s1]; k++) {
		struct pollfd p = { f->r->tcps[s1]->fd, POLLIN, 0 };
		if (poll(&p, 1, 10) > 0)
			rtc_tcp_io(f->r, s1, p.revents);
	}
	assert_null(f->r->tcps[s1]);
	assert_int_equal(f->r->c.tcp_bad, bad + 1);
	assert_string_equal(evs.reason, "bad frame");
	assert_true(peer_closed(fd1));
	assert_non_null(f->r->tcps[s2]); /* the other one stays */
	close(fd1);
	close(fd2);
}

static void test_zero_length(void **state)
{
	static const uint8_t z[] = { 0, 0 };
	bad_frame(*state, z, sizeof z);
	assert_int_equal(evs.warn, 1);
}

static void test_oversized(void **state)
{
	uint8_t b[64] = { 0xff, 0xff };
	bad_frame(*state, b, sizeof b);
}

static void test_unknown_bytes(void **state)
{
	struct fx *f = *state;
	static const uint8_t junk[] = { 0, 4, 0x80, 0x60, 1, 2 }; /* a frame, RTP-looking, no session */
	int slot, fd = client(f, 0, &slot);
	long long unk = f->r->c.unknown;
	assert_int_equal(send(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
	for (int k = 0; k < 100 && f->r->c.unknown == unk; k++) {
		struct pollfd p = { f->r->tcps[slot]->fd, POLLIN, 0 };
		if (poll(&p, 1, 10) > 0)
			rtc_tcp_io(f->r, slot, p.revents);
	}
	assert_int_equal(f->r->c.unknown, unk + 1);
	assert_non_null(f->r->tcps[slot]);
	close(fd);
}

static void test_idle_and_cap(void **state)
{
	struct fx *f = *state;
	int fds[TCP_UNBOUND_MAX + 6], slots[TCP_UNBOUND_MAX + 6];
	for (int i = 0; i < TCP_UNBOUND_MAX + 6; i++)
		fds[i] = client(f, 0, &slots[i]);
	assert_int_equal(f->r->c.tcp_evicted, 6);
	for (int i = 0; i < 6; i++) /* the oldest went */
		assert_true(peer_closed(fds[i]));
	{
		int open = 0;
		for (int i = 0; i < MAX_TCP; i++)
			open += f->r->tcps[i] != NULL;
		assert_int_equal(open, TCP_UNBOUND_MAX);
	}
	f->r->now += TCP_UNBOUND_MS + 1;
	rtc_tcp_tick(f->r);
	for (int i = 0; i < MAX_TCP; i++)
		assert_null(f->r->tcps[i]);
	assert_string_equal(evs.reason, "idle");
	assert_true(peer_closed(fds[TCP_UNBOUND_MAX + 5]));
	for (int i = 0; i < TCP_UNBOUND_MAX + 6; i++)
		close(fds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_and_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
