/* rtcedge.c — relay, edge side (see rtcrelay.h for the framing): in edge
 * mode a channel's access units come from its origin lsp-rtc over one
 * long GET /relay/C, however many viewers it has.
 *
 *   UP_IDLE ──next_try──▶ UP_CONNECT ──connected, request sent──▶ UP_HEAD
 *   ──200 application/x-lsp-relay──▶ UP_STREAM ──frames──▶ rtc_chan_entry
 *   any failure, silence (UP_SILENT_MS), a slow answer (UP_SETUP_MS) or the
 *   channel moving to another origin ──▶ UP_IDLE, retried with backoff
 *
 * A relay tier: the same lsp-rtc serves GET /relay/C to the tier below
 * from what its origin sends (see "relay tier" below), so --origin chains
 * to any depth.
 *
 * The channel owns its connection (c->up: socket, reader, counters, the
 * relay tier's ring); a new
 * generation, or numbering that went back, makes the viewers resume at the
 * next keyframe with time going on (rtc_chan_restart). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/httpurl.h"
#include "rtc/rtc_int.h"
#include "rtc/rtcauth.h"

void rtc_up_close(struct chan *c)
{
	if (c->up.state != UP_IDLE)
		close(c->up.fd);
	c->up.state = UP_IDLE;
	c->up.fd = -1;
}

/* What came from the origin since the last report, as "relay bytes in". */
void rtc_up_report(struct rtc *r, struct chan *c)
{
	struct upstream *u = &c->up;
	if (u->bytes == u->bytes_rep)
		return;
	RTC_EMIT(r, LSP_DEBUG, "relay bytes in", "channel", LSV_S(c->name), "bytes", LSV_I(u->bytes - u->bytes_rep));
	u->bytes_rep = u->bytes;
}

/* The connection to the origin ended or could not be made: retry with
 * backoff (250 ms doubling to 5 s, with jitter; 250 ms after a stream that
 * ran well, i.e. framed correctly for a second).  status is what offers
 * waiting for this channel are told.  Only the first failure in a row is
 * logged (a warning, unless the origin just does not have the channel). */
static void up_fail(struct rtc *r, struct chan *c, int status, const char *why)
{
	struct upstream *u = &c->up;
	int first = !u->fails, was = u->state == UP_STREAM && first;
	long long b;
	rtc_up_close(c);
	u->fails++;
	u->backoff = was || !u->backoff ? UP_BACKOFF_MIN : u->backoff * 2;
	if (u->backoff > UP_BACKOFF_MAX)
		u->backoff = UP_BACKOFF_MAX;
	b = u->backoff / 2 + (long long)(rtc_rand32() % (uint32_t)(u->backoff / 2 + 1));
	u->next_try = r->now + b;
	u->result = status;
	u->result_at = r->now;
	RTC_EMIT(r, !first ? LSP_DEBUG : status == 404 ? LSP_INFO : LSP_WARN,
		 was ? "origin lost" : status == 404 ? "channel not at the origin" : "origin unavailable", "channel",
		 LSV_S(c->name), "url", LSV_S(u->url), "reason", LSV_S(why), "retry_ms", LSV_I(b));
}

static void up_start(struct rtc *r, struct chan *c)
{
	struct upstream *u = &c->up;
	struct sockaddr_storage ss;
	socklen_t sl;
	char url[sizeof u->url], hp[300], err[256], auth[40 + LSP_RTCAUTH_TOKEN_MAX];
	int fd, one = 1, n;
	u->t0 = u->last_route = r->now;
	if (r->cfg->origin_route) {
		if (r->cfg->origin_route(r->cfg->ctx, c->name, url, sizeof url) < 0) {
			up_fail(r, c, 404, "no origin announced for the channel");
			return;
		}
	} else
		snprintf(url, sizeof url, "%s", r->cfg->origin);
	if (strcmp(url, u->url) != 0) { /* another origin numbers its ring its own way */
		u->have_gen = u->have_seq = 0;
		snprintf(u->url, sizeof u->url, "%s", url);
	}
	if (lsp_httpurl_resolve(u->url, &ss, &sl, hp, sizeof hp, err, sizeof err) < 0) {
		up_fail(r, c, 502, err);
		return;
	}
	auth[0] = 0;
	if (r->cfg->relay_secret && r->cfg->relay_secret_len) { /* a fresh token each connection */
		char tok[LSP_RTCAUTH_TOKEN_MAX];
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (lsp_rtcauth_sign(r->cfg->relay_secret, r->cfg->relay_secret_len, c->name,
				     (long long)ts.tv_sec + LSP_RTCAUTH_TTL, tok, sizeof tok) < 0) {
			up_fail(r, c, 502, "unable to sign a relay token");
			return;
		}
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tok);
	}
	n = snprintf(u->req, sizeof u->req,
		     "GET /relay/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lsp-rtc/" LSP_VERSION "\r\nAccept: %s\r\n%s\r\n",
		     c->name, hp, LSP_RTCRELAY_CTYPE, auth);
	if (n < 0 || (size_t)n >= sizeof u->req) {
		up_fail(r, c, 502, "request too long");
		return;
	}
	u->reqlen = (size_t)n;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		up_fail(r, c, 502, strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		up_fail(r, c, 502, strerror(e));
		return;
	}
	u->fd = fd;
	u->state = UP_CONNECT;
	u->hlen = 0;
	u->tx_preface = 0;
	lsp_rtcrelay_reset(&u->rd);
}

/* ------------------------------------------------------ relay tier */

/* A relay lsp-rtc (one with --origin) serves GET /relay/C too: what comes
 * from upstream is appended to a private ring (its file unlinked as soon
 * as it is made: only this process maps it), which its relay clients read
 * like an origin's (rtcorigin.c).  Each new upstream stream (a new
 * generation, numbering that went back) gets a new ring with a new
 * identity, so the tiers below restart too; entries lost upstream (a gap)
 * make it skip to the next keyframe, so nothing below decodes across a
 * hole. */
#define FWD_SLOTS 4096
#define FWD_CAP (16u << 20) /* entries up to AU_MAX (cap / 4) */

int rtc_fwd_open(struct rtc *r, struct chan *c)
{
	struct upstream *u = &c->up;
	char path[sizeof c->path + 48], err[200];
	int n, rc;
	(void)r;
	rtc_fwd_close(c);
	/* the name only lives for an instant: unique to this process and call */
	n = snprintf(path, sizeof path, "%s.relay-%ld-%08x", c->path, (long)getpid(), (unsigned)rtc_rand32());
	if (n < 0 || (size_t)n >= sizeof path)
		return -ENAMETOOLONG;
	if ((rc = lsp_ring_create(&u->fwd, path, FWD_SLOTS, FWD_CAP, err, sizeof err)) < 0)
		return rc;
	lsp_ring_unlink(path);
	u->fwd_epoch++;
	u->fwd_id = (uint64_t)rtc_rand32() << 32 | rtc_rand32();
	u->fwd_need_key = 1;
	return 0;
}

void rtc_fwd_close(struct chan *c)
{
	lsp_ring_close(c->up.fwd);
	c->up.fwd = NULL;
}

/* Another stream from upstream: the relay clients get a new ring. */
static void fwd_restart(struct rtc *r, struct chan *c)
{
	if (c->up.fwd && rtc_fwd_open(r, c) < 0)
		RTC_EMIT(r, LSP_WARN, "relay ring failed", "channel", LSV_S(c->name));
}

static void fwd_put(struct chan *c, const lsp_rtcrelay_frame *f)
{
	struct upstream *u = &c->up;
	int key = f->kind == LSP_RTCRELAY_VIDEO && (f->flags & LSP_RTCRELAY_KEY);
	if (!u->fwd || (u->fwd_need_key && !key))
		return;
	u->fwd_need_key = lsp_ring_write(u->fwd, f->kind, key ? LSP_RING_KEY : 0, f->pts, f->dts, f->data, f->len) < 0;
}

/* ------------------------------------------------------ keyframes */

/* A viewer here waits for a keyframe: a keyframe request up the relay
 * link (the preface first, once per connection), one per channel every
 * RELAY_KEYREQ_MS at most.  The origin passes it to its WHIP publisher or
 * up again.  Best effort: a full socket or no stream yet drops it (the
 * viewer asks again, and a new relay client asks at once upstream). */
void rtc_up_want_key(struct rtc *r, const char *name)
{
	struct chan *c = rtc_chan_find(r, name);
	struct upstream *u;
	uint8_t b[LSP_RTCRELAY_PREFACE_LEN + LSP_RTCRELAY_HDR];
	size_t o = 0;
	ssize_t n;
	if (!c || !c->relay || (u = &c->up)->state != UP_STREAM || r->now - u->keyreq_up_at < RELAY_KEYREQ_MS)
		return;
	if (!u->tx_preface) /* 8 bytes, no NUL: not a string */
		for (; o < LSP_RTCRELAY_PREFACE_LEN; o++)
			b[o] = (uint8_t)LSP_RTCRELAY_PREFACE[o];
	lsp_rtcrelay_hdr(b + o, LSP_RTCRELAY_KEYREQ, 0, 0, 0, 0, 0);
	o += LSP_RTCRELAY_HDR;
	n = send(u->fd, b, o, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n != (ssize_t)o) { /* half a frame up: the link can't be framed any more */
		up_fail(r, c, 502, n < 0 ? strerror(errno) : "keyframe request not sent");
		return;
	}
	u->tx_preface = 1;
	u->keyreq_up_at = r->now;
	u->keyreqs_up++;
	RTC_EMIT(r, LSP_DEBUG, "keyframe request sent up", "channel", LSV_S(c->name), "url", LSV_S(u->url));
}

void rtc_up_frame(struct rtc *r, struct chan *c, const lsp_rtcrelay_frame *f)
{
	struct upstream *u = &c->up;
	lsp_ring_entry e;
	u->frames++;
	if (u->fails && r->now - u->stream_t0 >= 1000) /* a stream that works: backoff starts over */
		u->fails = 0, u->backoff = 0;
	switch (f->kind) {
	case LSP_RTCRELAY_GEN:
		if (!u->have_gen || f->seq != u->gen || lsp_rtcrelay_gen_id(f) != u->gen_id) {
			/* a new writer at the origin (or a new origin): not the
			 * stream the viewers were decoding */
			u->restarts++;
			rtc_chan_restart(r, c, 1);
			fwd_restart(r, c);
			char ring[24];
			snprintf(ring, sizeof ring, "%llx", (unsigned long long)lsp_rtcrelay_gen_id(f));
			RTC_EMIT(r, LSP_INFO, "origin generation", "channel", LSV_S(c->name), "generation",
				 LSV_I((long long)f->seq), "ring", LSV_S(ring));
			u->have_gen = 1;
			u->gen = f->seq;
			u->gen_id = lsp_rtcrelay_gen_id(f);
			u->have_seq = 0;
			memset(u->seen, 0xff, sizeof u->seen);
		}
		u->result = 200;
		u->result_at = r->now;
		return;
	case LSP_RTCRELAY_PING:
	case LSP_RTCRELAY_KEYREQ: /* an origin asks nothing of its edges */
		return;
	case LSP_RTCRELAY_END:
		RTC_EMIT(r, LSP_INFO, "origin stream ended", "channel", LSV_S(c->name));
		if (u->fwd)
			lsp_ring_end(u->fwd);
		return;
	default:
		break;
	}
	if (!u->have_gen) {
		up_fail(r, c, 502, "media before a generation frame");
		return;
	}
	if (u->have_seq && f->seq < u->seq) {
		if (u->seen[f->seq % 1024].seq == f->seq && u->seen[f->seq % 1024].pts == f->pts)
			return; /* had it already: a reconnect starts at the newest keyframe */
		u->restarts++;   /* numbering went back and not to what we had: a new stream */
		rtc_chan_restart(r, c, 1);
		fwd_restart(r, c);
	} else if (u->have_seq && f->seq > u->seq && !(f->kind == LSP_RTCRELAY_VIDEO && (f->flags & LSP_RTCRELAY_KEY))) {
		u->gaps++;       /* the origin skipped entries (we were slow): resume at a keyframe */
		rtc_chan_restart(r, c, 0);
		u->fwd_need_key = 1;
	}
	u->have_seq = 1;
	u->seq = f->seq + 1;
	u->seen[f->seq % 1024].seq = f->seq;
	u->seen[f->seq % 1024].pts = f->pts;
	e = (lsp_ring_entry){ .seq = f->seq, .pts = f->pts, .dts = f->dts, .kind = f->kind,
			      .flags = f->flags & LSP_RTCRELAY_KEY ? LSP_RING_KEY : 0, .len = f->len };
	fwd_put(c, f);
	rtc_chan_entry(r, c, &e, f->data, (f->flags & LSP_RTCRELAY_LIVE) != 0);
}

static void up_bytes(struct rtc *r, struct chan *c, const uint8_t *p, size_t n)
{
	lsp_rtcrelay_frame f;
	size_t used;
	int rc;
	for (;;) {
		rc = lsp_rtcrelay_feed(&c->up.rd, p, n, &used, &f);
		p += used;
		n -= used;
		if (rc < 0) {
			up_fail(r, c, 502,
				rc == -E2BIG ? "relay frame too large" : rc == -ENOMEM ? "out of memory" : "bad relay framing");
			return;
		}
		if (rc == 0)
			return;
		rtc_up_frame(r, c, &f);
		if (c->up.state != UP_STREAM)
			return;
	}
}

void rtc_up_io(struct rtc *r, struct chan *c, short ev)
{
	struct upstream *u = &c->up;
	ssize_t n;
	if (u->state == UP_CONNECT) {
		int e = 0;
		socklen_t el = sizeof e;
		if (!(ev & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			up_fail(r, c, 502, strerror(e));
			return;
		}
		if (send(u->fd, u->req, u->reqlen, MSG_NOSIGNAL) != (ssize_t)u->reqlen) {
			up_fail(r, c, 502, "request not sent");
			return;
		}
		u->state = UP_HEAD;
		return;
	}
	if (!(ev & (POLLIN | POLLERR | POLLHUP)))
		return;
	if (u->state == UP_HEAD) {
		lsp_http_req res;
		const char *ct;
		size_t vl = 0;
		int st = 0, h;
		char why[sizeof u->url + 8];
		n = recv(u->fd, u->head + u->hlen, sizeof u->head - u->hlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			up_fail(r, c, 502, "origin closed before answering");
			return;
		}
		u->hlen += (size_t)n;
		h = lsp_http_parse_response(u->head, u->hlen, &st, &res);
		if (h == 0 && u->hlen < sizeof u->head)
			return;
		if (h <= 0) {
			up_fail(r, c, 502, "bad response head from the origin");
			return;
		}
		if (st != 200) {
			snprintf(why, sizeof why, "origin answered %d", st);
			up_fail(r, c, st == 404 ? 404 : 502, st == 404 ? "channel not live at the origin" : why);
			return;
		}
		ct = lsp_http_header_get(&res, "Content-Type", &vl);
		if (!ct || vl != strlen(LSP_RTCRELAY_CTYPE) || strncasecmp(ct, LSP_RTCRELAY_CTYPE, vl) != 0) {
			up_fail(r, c, 502, "not an lsp-rtc relay stream");
			return;
		}
		u->state = UP_STREAM;
		u->last_rx = u->stream_t0 = r->now;
		u->connects++;
		if (u->ever)
			u->reconnects++;
		RTC_EMIT(r, LSP_INFO, "origin connected", "channel", LSV_S(c->name), "url", LSV_S(u->url), "reconnect",
			 LSV_B(u->ever));
		u->ever = 1;
		if ((size_t)h < u->hlen) {
			u->bytes += (long long)(u->hlen - (size_t)h);
			up_bytes(r, c, (const uint8_t *)u->head + h, u->hlen - (size_t)h);
		}
		return;
	}
	for (int k = 0; k < 16 && u->state == UP_STREAM; k++) {
		n = recv(u->fd, r->rx, sizeof r->rx, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			up_fail(r, c, 502, n == 0 ? "origin closed the stream" : strerror(errno));
			return;
		}
		u->bytes += n;
		u->last_rx = r->now;
		up_bytes(r, c, r->rx, (size_t)n);
	}
}

/* Timers of the origin connection, every loop. */
void rtc_up_step(struct rtc *r, struct chan *c)
{
	struct upstream *u = &c->up;
	char url[sizeof u->url];
	switch (u->state) {
	case UP_IDLE:
		if (r->now >= u->next_try)
			up_start(r, c);
		break;
	case UP_CONNECT:
	case UP_HEAD:
		if (r->now - u->t0 > UP_SETUP_MS)
			up_fail(r, c, 504, "origin did not answer");
		break;
	case UP_STREAM:
		if (r->now - u->last_rx > UP_SILENT_MS) {
			up_fail(r, c, 502, "origin silent");
			break;
		}
		/* --origin auto: follow a channel that moved to another origin */
		if (r->cfg->origin_route && r->now - u->last_route >= 1000) {
			u->last_route = r->now;
			if (r->cfg->origin_route(r->cfg->ctx, c->name, url, sizeof url) == 0 && strcmp(url, u->url) != 0) {
				RTC_EMIT(r, LSP_INFO, "origin moved", "channel", LSV_S(c->name), "from", LSV_S(u->url), "to",
					 LSV_S(url));
				rtc_up_close(c);
				u->next_try = r->now;
			}
		}
		break;
	default:
		break;
	}
}
