/* rtcorigin.c — relay, origin side (see rtcrelay.h for the framing): an
 * edge lsp-rtc asks GET /relay/C with a token (rtcauth.h; without a relay
 * secret, only a loopback peer may ask) and the connection becomes a relay
 * client of channel C, streamed the ring's entries from its own cursor, a
 * generation frame first and whenever the ring is replaced, a ping after
 * a second of nothing.  r->relays owns each client, its socket and its
 * one-frame output buffer; the client borrows its channel (chan->nrelay). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtc/rtc_int.h"
#include "rtc/rtcauth.h"

/* What was sent to the edge since the last report, as "relay bytes out". */
void rtc_relay_report(struct rtc *r, struct relayc *rc)
{
	if (rc->bytes == rc->bytes_rep)
		return;
	RTC_EMIT(r, LSP_DEBUG, "relay bytes out", "channel", LSV_S(rc->ch->name), "peer", LSV_S(rc->peer), "bytes",
		 LSV_I(rc->bytes - rc->bytes_rep));
	rc->bytes_rep = rc->bytes;
}

void rtc_relay_free(struct rtc *r, int i, const char *why)
{
	struct relayc *rc = r->relays[i];
	rtc_relay_report(r, rc);
	RTC_EMIT(r, LSP_INFO, "relay client gone", "channel", LSV_S(rc->ch->name), "peer", LSV_S(rc->peer), "reason",
		 LSV_S(why), "bytes", LSV_I(rc->bytes), "frames", LSV_I(rc->frames), "skips", LSV_I(rc->skips), "keyreqs",
		 LSV_I(rc->keyreqs));
	rc->ch->nrelay--;
	rtc_chan_unuse(r, rc->ch);
	lsp_rtcrelay_free(&rc->in);
	close(rc->fd);
	free(rc->ob);
	free(rc);
	r->relays[i] = NULL;
}

/* Put the next frame for rc into its (sent) buffer: 1 when there is one,
 * 0 when nothing is new.  The edge's cursor is its own; one that falls out
 * of the ring skips to the newest keyframe, like any slow ring reader. */
static int relay_next(struct relayc *rc)
{
	struct chan *c = rc->ch;
	/* an origin's channel ring, or a relay tier's copy of its upstream
	 * (only once that streams: until then the client gets pings) */
	lsp_ring *ring = c->relay ? c->up.fwd : c->ring;
	uint64_t epoch = c->relay ? c->up.fwd_epoch : c->ring_epoch, id = c->relay ? c->up.fwd_id : c->ring_id;
	lsp_ring_entry e;
	int n, fl;
	rc->ooff = rc->olen = 0;
	if (!ring || (c->relay && (c->up.state != UP_STREAM || !c->up.have_gen)))
		return 0;
	if (!rc->have_gen || rc->epoch != epoch || lsp_ring_generation(ring) != rc->gen) {
		rc->have_gen = 1;
		rc->epoch = epoch;
		rc->gen = lsp_ring_generation(ring);
		rc->cur = lsp_ring_seek_key(ring);
		rc->sent_end = 0;
		lsp_rtcrelay_gen(rc->ob, rc->gen, id);
		rc->olen = LSP_RTCRELAY_HDR + LSP_RTCRELAY_GEN_LEN;
		return 1;
	}
	for (int tries = 0; tries < 8; tries++) {
		n = lsp_ring_read(ring, rc->cur, &e, rc->ob + LSP_RTCRELAY_HDR, rc->obcap - LSP_RTCRELAY_HDR);
		if (n == -EAGAIN) {
			if (!lsp_ring_ended(ring) || rc->sent_end)
				return 0;
			rc->sent_end = 1;
			lsp_rtcrelay_hdr(rc->ob, LSP_RTCRELAY_END, 0, rc->cur, 0, 0, 0);
			rc->olen = LSP_RTCRELAY_HDR;
			return 1;
		}
		if (n == LSP_RING_OVERRUN) {
			rc->skips++;
			rc->cur = lsp_ring_seek_key(ring);
			continue;
		}
		if (n == -ENOSPC) {
			uint8_t *nb;
			if (e.len > AU_MAX || !(nb = realloc(rc->ob, LSP_RTCRELAY_HDR + e.len))) {
				rc->cur++;
				continue;
			}
			rc->ob = nb;
			rc->obcap = LSP_RTCRELAY_HDR + e.len;
			continue;
		}
		if (n < 0)
			return 0;
		rc->cur++;
		fl = (e.flags & LSP_RING_KEY ? LSP_RTCRELAY_KEY : 0) |
		     (rc->cur == lsp_ring_head(ring) ? LSP_RTCRELAY_LIVE : 0);
		lsp_rtcrelay_hdr(rc->ob, e.kind, fl, e.seq, e.pts, e.dts, e.len);
		rc->olen = LSP_RTCRELAY_HDR + e.len;
		rc->frames++;
		return 1;
	}
	return 0;
}

/* Send what rc has pending and what the ring has new, until the socket is
 * full; a ping when there was nothing for a second. */
void rtc_relay_flush(struct rtc *r, int i)
{
	struct relayc *rc = r->relays[i];
	for (int budget = 256; budget > 0; budget--) {
		ssize_t n;
		if (rc->ooff == rc->olen && !relay_next(rc)) {
			if (r->now - rc->last_tx < RELAY_PING_MS)
				return;
			lsp_rtcrelay_hdr(rc->ob, LSP_RTCRELAY_PING, 0, 0, 0, 0, 0);
			rc->ooff = 0;
			rc->olen = LSP_RTCRELAY_HDR;
		}
		n = send(rc->fd, rc->ob + rc->ooff, rc->olen - rc->ooff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				rtc_relay_free(r, i, strerror(errno));
			return;
		}
		rc->ooff += (size_t)n;
		rc->bytes += n;
		rc->last_tx = r->now;
		if (rc->ooff < rc->olen)
			return; /* the socket is full: POLLOUT brings us back */
	}
}

/* May the peer of k read channel ch?  With a relay secret: a valid token
 * (rtcauth.h) in "Authorization: Bearer"; without one: a loopback peer.
 * 1 if so; else 0, rs says 401 and "relay refused" says why (never the
 * token). */
static int relay_allowed(struct rtc *r, struct conn *k, const lsp_http_req *rq, const char *ch, struct resp *rs)
{
	const char *why = NULL, *v;
	size_t vl = 0;
	struct timespec ts;
	if (!r->cfg->relay_secret || !r->cfg->relay_secret_len) {
		if (lsp_rtcauth_loopback(k->fd))
			return 1;
		why = "no relay secret configured: loopback peers only";
	} else if (!(v = lsp_http_header_get(rq, "Authorization", &vl)) || vl < 7 || strncasecmp(v, "Bearer ", 7) != 0) {
		why = "missing token";
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (lsp_rtcauth_check(r->cfg->relay_secret, r->cfg->relay_secret_len, ch, v + 7, vl - 7,
				      (long long)ts.tv_sec, &why) == 0)
			return 1;
	}
	RTC_EMIT(r, LSP_WARN, "relay refused", "channel", LSV_S(ch), "peer", LSV_S(k->peer), "reason", LSV_S(why));
	rs->status = 401;
	rs->body = "unauthorized\n";
	return 0;
}

/* What an edge sends up its relay link: the preface, then keyframe
 * requests and pings (rtcrelay.h).  A request is passed on (to the WHIP
 * publisher here, or up the tree) at most once per RELAY_KEYREQ_MS per
 * channel, however many edges ask; anything else the edge sends, or its
 * close, ends this relay client and no other. */
void rtc_relay_input(struct rtc *r, int i)
{
	struct relayc *rc = r->relays[i];
	uint8_t b[512];
	for (int k = 0; k < 8; k++) {
		const uint8_t *p = b;
		ssize_t n = recv(rc->fd, b, sizeof b, MSG_DONTWAIT);
		size_t left, used;
		lsp_rtcrelay_frame f;
		int fr;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			rtc_relay_free(r, i, n == 0 ? "closed by the edge" : strerror(errno));
			return;
		}
		for (left = (size_t)n; left;) {
			fr = lsp_rtcrelay_feed(&rc->in, p, left, &used, &f);
			p += used;
			left -= used;
			if (fr == 0)
				break;
			if (fr < 0 || (f.kind != LSP_RTCRELAY_KEYREQ && f.kind != LSP_RTCRELAY_PING)) {
				rtc_relay_free(r, i, "bad input from the edge");
				return;
			}
			if (f.kind != LSP_RTCRELAY_KEYREQ)
				continue;
			rc->keyreqs++;
			if (r->now - rc->ch->up.keyreq_in_at < RELAY_KEYREQ_MS)
				continue;
			rc->ch->up.keyreq_in_at = r->now;
			rc->ch->up.keyreqs_in++;
			RTC_EMIT(r, LSP_DEBUG, "relay keyframe request", "channel", LSV_S(rc->ch->name), "peer",
				 LSV_S(rc->peer));
			rtc_want_key(r, rc->ch->name);
		}
	}
}

/* GET /relay/C from an edge: the connection becomes a relay client of C. */
void rtc_relay_open(struct rtc *r, struct conn *k, const lsp_http_req *rq, const char *ch, struct resp *rs)
{
	struct relayc *rc;
	struct chan *c;
	int slot = -1, n, one = 1;
	rs->status = 404;
	rs->body = "channel not live\n";
	if (!lsp_name_valid(ch)) {
		rs->status = 400;
		rs->body = "bad channel\n";
		return;
	}
	if (!relay_allowed(r, k, rq, ch, rs))
		return;
	for (int i = 0; i < MAX_RELAY && slot < 0; i++)
		if (!r->relays[i])
			slot = i;
	if (slot < 0) {
		rs->status = 503;
		rs->body = "too many relay clients\n";
		return;
	}
	if (!(c = rtc_chan_get(r, ch, 1)))
		return;
	if (c->relay && !c->up.fwd && rtc_fwd_open(r, c) < 0) { /* a relay tier: keep what comes for it */
		rs->status = 503;
		rs->body = "relay ring unavailable\n";
		return;
	}
	if (!(rc = calloc(1, sizeof *rc)) || !(rc->ob = malloc(LSP_RTCRELAY_HDR + 256 * 1024))) {
		free(rc);
		rs->status = 503;
		rs->body = "out of memory\n";
		return;
	}
	rc->obcap = LSP_RTCRELAY_HDR + 256 * 1024;
	lsp_rtcrelay_init(&rc->in, 0); /* no payloads that way */
	n = snprintf((char *)rc->ob, rc->obcap,
		     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
		     "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n%s",
		     LSP_RTCRELAY_CTYPE, LSP_RTCRELAY_PREFACE);
	rc->olen = (size_t)n;
	rc->fd = k->fd;
	rc->ch = c;
	rc->t0 = rc->last_tx = r->now;
	setsockopt(rc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	snprintf(rc->peer, sizeof rc->peer, "%s", k->peer);
	c->nrelay++;
	r->relays[slot] = rc;
	r->relays_total++;
	RTC_EMIT(r, LSP_INFO, "relay client connected", "channel", LSV_S(ch), "peer", LSV_S(rc->peer));
	rtc_want_key(r, ch); /* the edge starts at a keyframe: make a fresh one */
	rs->taken = 1;
}

