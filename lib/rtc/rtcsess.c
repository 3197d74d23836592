/* rtcsess.c — lsp-rtc sessions (see rtc_int.h): one WHEP viewer or WHIP
 * publisher each, a slot of r->sess.
 *
 *   offer answered (rtchttp.c) ──▶ S_NEW ──STUN Binding with our ufrag and
 *   a good MESSAGE-INTEGRITY──▶ address learnt ──DTLS handshake──▶ S_LIVE
 *   ──SRTP/SRTCP both ways── … ──DELETE, BYE, consent timeout──▶ S_FREE
 *
 * Owns each session's DTLS/SRTP state and its WHIP pipeline (lsp_whip);
 * a viewer borrows its channel (chan->nsess).  Datagrams go out on the one
 * UDP socket of the server, or, for a session on ICE-TCP (sess.tcp, bound
 * by a STUN request on that connection: rtctcp.c), framed on its TCP
 * connection; what arrives either way goes through rtc_sess_input. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "rtc/rtc_int.h"
#include "rtc/srtp.h"
#include "rtc/rtp.h"
#include "rtc/stun.h"

/* ---------------------------------------------------------------- UDP */

/* One datagram to addr from our address l (when known). */
static ssize_t send_from(struct rtc *r, const void *p, size_t len, const struct sockaddr_storage *addr, socklen_t alen,
			 const struct laddr *l)
{
	union {
		char b[RTC_CMSG_CAP];
		struct cmsghdr h;
	} cb;
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_name = (void *)addr, .msg_namelen = alen, .msg_iov = &iov, .msg_iovlen = 1 };
	size_t cl = rtc_cmsg_put(cb.b, l, 0);
	if (cl) {
		mh.msg_control = cb.b;
		mh.msg_controllen = cl;
	}
	return sendmsg(r->udp, &mh, 0);
}

void rtc_udp_send(struct rtc *r, struct sess *s, const uint8_t *p, size_t len)
{
	if (!s->have_addr)
		return;
	if (s->tcp) { /* ICE-TCP: framed on its connection */
		rtc_tcp_write(r, s->tcp, p, len);
		return;
	}
	if (send_from(r, p, len, &s->addr, s->alen, &s->local) < 0)
		r->c.send_err++;
	else
		r->c.sent++;
}

static void dtls_out(void *ctx, const uint8_t *p, size_t len)
{
	struct sess *s = ctx;
	rtc_udp_send(s->r, s, p, len);
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return 0;
}

static struct sess *by_addr(struct rtc *r, const struct sockaddr_storage *a)
{
	for (int i = 0; i < r->nsess_max; i++)
		if (r->sess[i].state != S_FREE && r->sess[i].have_addr && !r->sess[i].tcp &&
		    same_addr(&r->sess[i].addr, a))
			return &r->sess[i];
	return NULL;
}

/* ------------------------------------------------- keyframe requests */

/* RTCP we send: room for the packet and its SRTCP trailer
 * (LSP_SRTP_MAX_TRAILER, 20 bytes). */
#define RTCP_BUF 512

/* Ask a WHIP publisher for a keyframe (PLI), at most every 500 ms. */
void rtc_ask_key(struct rtc *r, struct sess *p)
{
	uint8_t b[RTCP_BUF];
	int k;
	if (!p->pub_vssrc || r->now - p->last_pli < 500)
		return;
	p->last_pli = r->now;
	p->plis++;
	k = lsp_rtcp_pli(b, sizeof b, p->vssrc, p->pub_vssrc);
	if (k > 0 && (k = lsp_dtls_protect_rtcp(p->dtls, b, (size_t)k, sizeof b)) > 0)
		rtc_udp_send(r, p, b, (size_t)k);
}

/* A viewer of channel name waits for a keyframe: ask the channel's WHIP
 * publisher, if it publishes through this process, or its origin. */
void rtc_want_key(struct rtc *r, const char *name)
{
	rtc_up_want_key(r, name); /* relay tree: the publisher is upstream */
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *p = &r->sess[i];
		if (p->state == S_LIVE && p->whip && !strcmp(p->chname, name))
			rtc_ask_key(r, p);
	}
}

/* ----------------------------------------------------------- sessions */

void rtc_sess_free(struct rtc *r, struct sess *s, const char *why)
{
	if (s->state == S_FREE)
		return;
	RTC_EMIT(r, LSP_INFO, s->whip ? "publisher gone" : "viewer gone", "channel", LSV_S(s->chname), "id",
		 LSV_S(s->id), "reason", LSV_S(why), "connected", LSV_B(s->state == S_LIVE), "video_pkts",
		 LSV_I(s->vpkts), "audio_pkts", LSV_I(s->apkts), "nacks", LSV_I(s->nacks), "rtx", LSV_I(s->rtx),
		 "plis", LSV_I(s->plis));
	rtc_abr_release(r, s);
	if (s->ch) {
		s->ch->nsess--;
		rtc_chan_unuse(r, s->ch);
	}
	rtc_tcp_detach(s);
	lsp_whip_close(s->pub);
	lsp_dtls_free(s->dtls);
	memset(s, 0, sizeof *s);
}

static void sess_live(struct rtc *r, struct sess *s)
{
	struct chan *c = s->vch ? s->vch : s->ch; /* its video: the rung it starts on */
	s->state = S_LIVE;
	RTC_EMIT(r, LSP_INFO, s->whip ? "publisher connected" : "viewer connected", "channel", LSV_S(s->chname),
		 "id", LSV_S(s->id), "transport", LSV_S(s->tcp ? "tcp" : "udp"), "srtp",
		 LSV_S(lsp_dtls_profile(s->dtls) == LSP_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80"));
	if (s->whip || !c)
		return;
	s->vch = c;
	rtc_want_key(r, s->ch->name); /* a fresh keyframe for the newcomer, even with a GOP held */
	if (c->have_key && c->vseq - c->key_cseq <= HIST && rtc_hist_get(c, c->key_cseq)) {
		s->next = c->key_cseq;
		s->burst_end = c->vseq;
		s->burst_frame = c->frame ? c->frame - 1 : 0;
		s->burst_ts = c->last_ts;
		rtc_flush_viewers(r, c);
	} else
		s->waiting_key = 1;
}

static void send_sr(struct rtc *r, struct sess *s)
{
	struct chan *c = s->ch, *v = s->vch ? s->vch : s->ch; /* audio's, video's */
	uint8_t b[RTCP_BUF];
	struct timespec t;
	uint64_t ntp;
	long long el;
	int n = 0, k;
	if (!c || s->whip)
		return;
	clock_gettime(CLOCK_REALTIME, &t);
	ntp = ((uint64_t)(t.tv_sec + 2208988800u) << 32) | (uint64_t)(((double)t.tv_nsec / 1e9) * 4294967296.0);
	if (s->vpt >= 0 && s->vpkts && v->anchored) {
		uint32_t ts = (uint32_t)(v->anchor_pts + (r->now - v->anchor_ms) * 90) + s->vts_off;
		k = lsp_rtcp_sr(b + n, sizeof b - (size_t)n, s->vssrc, ntp, ts, (uint32_t)s->vpkts, (uint32_t)s->voct);
		if (k > 0)
			n += k;
	}
	el = r->now - c->anchor_ms;
	if (s->apt >= 0 && s->apkts && c->anchored) {
		uint32_t ts = (uint32_t)(c->anchor_pts * 48000 / 90000 + el * 48) + s->ats_off;
		k = lsp_rtcp_sr(b + n, sizeof b - (size_t)n, s->assrc, ntp, ts, (uint32_t)s->apkts, (uint32_t)s->aoct);
		if (k > 0)
			n += k;
	}
	if (n && (k = lsp_dtls_protect_rtcp(s->dtls, b, (size_t)n, sizeof b)) > 0)
		rtc_udp_send(r, s, b, (size_t)k);
}

/* A browser publisher with no bandwidth feedback stays at its start
 * bitrate: tell it what it may send, and keep its consent alive. */
static void send_remb(struct rtc *r, struct sess *s)
{
	uint8_t b[RTCP_BUF];
	int n, k;
	if (!s->pub_vssrc)
		return;
	n = lsp_rtcp_rr(b, sizeof b, s->vssrc, s->pub_vssrc, 0);
	if (n <= 0) /* no room left for REMB: never index b with a failed length */
		return;
	k = lsp_rtcp_remb(b + n, sizeof b - (size_t)n, s->vssrc, s->pub_vssrc, (uint64_t)r->cfg->whip_bitrate);
	if (n > 0 && k > 0 && (k = lsp_dtls_protect_rtcp(s->dtls, b, (size_t)n + (size_t)k, sizeof b)) > 0)
		rtc_udp_send(r, s, b, (size_t)k);
}

/* An SRTP/SRTCP packet unprotect refused: a bad tag or a replayed index. */
static void count_srtp_drop(struct rtc *r, int n)
{
	r->c.srtp_auth += n == -EBADMSG;
	r->c.srtp_replay += n == -EALREADY;
}

static void on_rtcp(struct rtc *r, struct sess *s, uint8_t *p, size_t len)
{
	lsp_rtcp_info in;
	int n = lsp_dtls_unprotect_rtcp(s->dtls, p, len);
	if (n < 0 || lsp_rtcp_parse(p, (size_t)n, &in) < 0) {
		r->c.rtcp_bad++;
		count_srtp_drop(r, n);
		if (n < 0)
			return;
	}
	if (in.bye && !s->whip) {
		rtc_sess_free(r, s, "bye");
		return;
	}
	if (s->whip || !s->ch)
		return;
	rtc_abr_rtcp(r, s, &in);
	for (int i = 0; i < in.nnack; i++) {
		const struct vpkt *p2;
		uint16_t c16 = (uint16_t)(in.nack[i] - s->vseq_off);
		uint64_t cand = (s->next & ~(uint64_t)0xffff) | c16;
		if (in.nack_ssrc[i] != s->vssrc)
			continue;
		s->nacks++;
		if (cand >= s->next)
			cand -= 65536;
		if (cand < s->next && cand >= s->nack_floor && (p2 = rtc_hist_get(s->vch ? s->vch : s->ch, cand)))
			rtc_send_vpkt(r, s, p2, 1);
	}
	if (in.pli || in.fir) {
		s->plis++;
		/* hold this viewer's video until the next keyframe; an RTMP
		 * source cannot be asked for one, a WHIP publisher here can */
		if (!s->waiting_key && r->now - s->created > 1000)
			s->waiting_key = 1;
		rtc_want_key(r, s->chname);
	}
}

static void on_rtp_whip(struct rtc *r, struct sess *s, uint8_t *p, size_t len)
{
	lsp_rtp_hdr h;
	char err[160];
	int n = lsp_dtls_unprotect(s->dtls, p, len), rc = 0;
	if (n < 0 || lsp_rtp_parse(p, (size_t)n, &h) < 0) {
		r->c.rtp_bad++;
		count_srtp_drop(r, n);
		return;
	}
	if (!s->pub)
		return;
	if (h.pt == s->vpt) {
		s->vpkts++;
		s->pub_vssrc = h.ssrc;
		rc = lsp_whip_video(s->pub, &h, p + h.hdr_len, h.payload_len, err, sizeof err);
	} else if (h.pt == s->apt) {
		s->apkts++;
		rc = lsp_whip_audio(s->pub, &h, p + h.hdr_len, h.payload_len, err, sizeof err);
	}
	if (rc == 1)
		rtc_ask_key(r, s);
	else if (rc < 0 && rc != -EINVAL) {
		RTC_EMIT(r, LSP_WARN, "publisher pipeline failed", "channel", LSV_S(s->chname), "id", LSV_S(s->id),
			 "reason", LSV_S(err));
		rtc_sess_free(r, s, "pipeline");
	}
}

struct sess *rtc_stun_sess(struct rtc *r, const uint8_t *p, size_t len, lsp_stun_msg *m)
{
	const uint8_t *colon;
	size_t ul;
	struct sess *s = NULL;
	if (lsp_stun_parse(p, len, m) < 0 || m->type != LSP_STUN_BINDING_REQ || !m->username) {
		r->c.stun_bad++;
		return NULL;
	}
	colon = memchr(m->username, ':', m->username_len);
	ul = colon ? (size_t)(colon - m->username) : m->username_len;
	for (int i = 0; i < r->nsess_max; i++)
		if (r->sess[i].state != S_FREE && strlen(r->sess[i].ufrag) == ul && !memcmp(r->sess[i].ufrag, m->username, ul)) {
			s = &r->sess[i];
			break;
		}
	if (!s || lsp_stun_check(p, len, m, s->pwd) < 0) {
		r->c.stun_auth++;
		return NULL;
	}
	return s;
}

void rtc_sess_input(struct rtc *r, struct sess *s, uint8_t *p, size_t len)
{
	char err[200];
	if (lsp_dtls_is(p, len)) {
		int rc;
		if (!s->dtls && lsp_dtls_new(&s->dtls, r->cert, 1, s->peer_fp, dtls_out, s, err, sizeof err) < 0) {
			RTC_EMIT(r, LSP_WARN, "dtls session failed", "channel", LSV_S(s->chname), "id", LSV_S(s->id),
				 "reason", LSV_S(err));
			rtc_sess_free(r, s, "dtls");
			return;
		}
		rc = lsp_dtls_feed(s->dtls, p, len, err, sizeof err);
		s->last_rx = r->now;
		if (rc == 1)
			sess_live(r, s);
		else if (rc == -ECONNRESET)
			rtc_sess_free(r, s, "dtls close");
		else if (rc < 0) {
			r->c.dtls_bad++;
			RTC_EMIT(r, LSP_WARN, "dtls handshake failed", "channel", LSV_S(s->chname), "id", LSV_S(s->id),
				 "reason", LSV_S(err));
			rtc_sess_free(r, s, "dtls");
		}
		return;
	}
	if (lsp_rtp_is(p, len) && s->state == S_LIVE) {
		s->last_rx = r->now;
		if (lsp_rtp_is_rtcp(p, len))
			on_rtcp(r, s, p, len);
		else if (s->whip)
			on_rtp_whip(r, s, p, len);
		else
			r->c.rtp_bad++;
		return;
	}
	r->c.unknown++;
}

void rtc_on_udp(struct rtc *r, uint8_t *p, size_t len, struct sockaddr_storage *from, socklen_t flen,
		const struct laddr *to)
{
	struct sess *s;
	if (lsp_stun_is(p, len)) {
		lsp_stun_msg m;
		uint8_t out[256];
		int n;
		if (!(s = rtc_stun_sess(r, p, len, &m)))
			return;
		if (!s->have_addr || m.use_candidate) {
			struct sess *o;
			/* a new session from an address an old one still holds
			 * (port reuse, NAT rebinding): the old one is gone */
			while ((o = by_addr(r, from)) && o != s)
				rtc_sess_free(r, o, "address taken over");
			rtc_tcp_detach(s); /* nominated over UDP: its ICE-TCP connection goes */
			memcpy(&s->addr, from, flen);
			s->alen = flen;
			s->have_addr = 1;
			s->local = *to;
		}
		s->last_rx = r->now;
		if ((n = lsp_stun_answer(&m, (struct sockaddr *)from, s->pwd, out, sizeof out)) > 0)
			(void)!send_from(r, out, (size_t)n, from, flen, to);
		return;
	}
	s = by_addr(r, from);
	if (!s) {
		r->c.unknown++;
		return;
	}
	rtc_sess_input(r, s, p, len);
}

struct sess *rtc_sess_new(struct rtc *r)
{
	for (int i = 0; i < r->nsess_max; i++)
		if (r->sess[i].state == S_FREE) {
			struct sess *s = &r->sess[i];
			memset(s, 0, sizeof *s);
			s->r = r;
			return s;
		}
	return NULL;
}

/* Timers of one session, every TICK_MS: DTLS retransmission, consent,
 * sender reports / REMB once a second, the periodic PLI. */
void rtc_sess_tick(struct rtc *r, struct sess *s)
{
	if (s->state == S_FREE)
		return;
	if (s->dtls)
		lsp_dtls_tick(s->dtls);
	if (r->now - s->last_rx > (long long)r->cfg->consent_s * 1000 ||
	    (s->state == S_NEW && r->now - s->created > 30000)) {
		r->c.reaped++;
		rtc_sess_free(r, s, "consent timeout");
		return;
	}
	if (s->state == S_LIVE && !s->whip)
		rtc_abr_tick(r, s);
	if (s->state == S_FREE)
		return;
	if (s->state == S_LIVE && r->now - s->last_sr >= 1000) {
		s->last_sr = r->now;
		if (s->whip)
			send_remb(r, s);
		else
			send_sr(r, s);
	}
	/* browsers' encoders make few keyframes on their own: ask for
	 * one regularly, so viewers, edges and the HLS transcode get
	 * frequent decodable points (ask_key keeps its own floor) */
	if (s->state == S_LIVE && s->whip && r->cfg->pli_interval_ms > 0 &&
	    r->now - s->last_pli >= r->cfg->pli_interval_ms)
		rtc_ask_key(r, s);
}
