/* rtc.c — the lsp-rtc server loop; see rtc.h for the contract.
 * Owns: the UDP and HTTP sockets, the HTTP connections, the session table,
 * the channel table (rings, histories, Opus encoders), the DTLS cert.
 * Sessions borrow their channel; a channel lives while sessions use it. */
#include "rtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "aopus.h"
#include "dtls.h"
#include "http.h"
#include "key.h"
#include "ring.h"
#include "rtp.h"
#include "sdp.h"
#include "stun.h"
#include "whip.h"

#define MAX_CHAN 64
#define HIST 4096          /* video packets kept per channel (NACK, last GOP) */
#define PAY_MAX 1160       /* RTP payload bytes at most (datagram <= 1200 with SRTP) */
#define MAX_CONN 64
#define REQ_MAX 32768
#define AU_MAX (4u << 20)
#define TICK_MS 250

enum { S_FREE = 0, S_NEW, S_LIVE };

struct vpkt {
	uint64_t cseq, frame;
	uint32_t ts;
	uint16_t len;
	uint8_t marker;
	uint8_t d[PAY_MAX];
};

struct chan {
	int used;
	char name[LSP_NAME_MAX + 1];
	char path[256];
	lsp_ring *ring;
	uint64_t cur, gen;
	uint8_t *au;
	size_t aucap;
	struct vpkt *hist;
	uint64_t vseq, frame;   /* next packet number, frames packetized */
	uint64_t key_cseq;
	int have_key;
	uint32_t last_ts;       /* RTP (90 kHz) time of the newest frame */
	uint8_t sps[256], pps[256];
	size_t sps_len, pps_len;
	uint32_t pk_ts;         /* packetizer: current frame */
	int pk_first, pk_key;
	lsp_aopus *aop;
	int aop_failed;
	int nsess;
	long long idle_since, last_reopen;
	int anchored;
	long long anchor_ms;
	int64_t anchor_pts;
	long long overruns, aus;
	int bframes;            /* the source reorders (pts != dts seen) */
	struct rtc *r;
};

struct sess {
	int state;
	struct rtc *r;
	char id[33];
	int whip;
	struct chan *ch;
	char chname[LSP_NAME_MAX + 1];
	char ufrag[16], pwd[40], peer_fp[128];
	int vpt, apt, nack;
	struct sockaddr_storage addr;
	socklen_t alen;
	int have_addr;
	lsp_dtls *dtls;
	long long created, last_rx, last_sr;
	uint32_t vssrc, assrc, vts_off, ats_off;
	uint16_t vseq_off, aseq;
	uint64_t next;
	int waiting_key;
	uint64_t nack_floor;  /* no retransmission of packets before this */
	uint64_t burst_end, burst_frame;
	uint32_t burst_ts;
	long long vpkts, voct, apkts, aoct, nacks, rtx, plis;
	/* WHIP */
	lsp_whip *pub;
	uint32_t pub_vssrc;
	long long last_pli;
};

struct conn {
	int fd;
	size_t len;
	long long t0;
	char buf[REQ_MAX];
};

struct counters {
	long long stun_bad, stun_auth, dtls_bad, rtp_bad, rtcp_bad, sdp_bad, http_bad, unknown, reaped,
		sent, send_err;
};

struct rtc {
	const lsp_rtc_cfg *cfg;
	int udp, http;
	struct conn *conns[MAX_CONN];
	struct sess *sess;
	int nsess_max;
	struct chan chans[MAX_CHAN];
	lsp_dtls_cert *cert;
	struct counters c;
	long long now;
	char ans[16384];  /* one response at a time */
	char sb[65536];
};

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void note(struct rtc *r, int level, const char *msg, const char *ch, const char *fmt, ...)
{
	char d[512];
	va_list ap;
	if (!r->cfg->note)
		return;
	d[0] = 0;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(d, sizeof d, fmt, ap);
		va_end(ap);
	}
	r->cfg->note(r->cfg->ctx, level, msg, ch ? ch : "", d);
}

static void rand_str(char *out, size_t n)
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

static uint32_t rand32(void)
{
	uint32_t v = 0;
	RAND_bytes((uint8_t *)&v, sizeof v);
	return v;
}

/* ---------------------------------------------------------------- UDP */

static void udp_send(struct rtc *r, struct sess *s, const uint8_t *p, size_t len)
{
	if (!s->have_addr)
		return;
	if (sendto(r->udp, p, len, 0, (struct sockaddr *)&s->addr, s->alen) < 0)
		r->c.send_err++;
	else
		r->c.sent++;
}

static void dtls_out(void *ctx, const uint8_t *p, size_t len)
{
	struct sess *s = ctx;
	udp_send(s->r, s, p, len);
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
		if (r->sess[i].state != S_FREE && r->sess[i].have_addr && same_addr(&r->sess[i].addr, a))
			return &r->sess[i];
	return NULL;
}

/* ----------------------------------------------------------- channels */

static uint32_t vts(const struct sess *s, const struct vpkt *p)
{
	/* a new viewer's backlog (the last GOP) is squeezed into one tick per
	 * frame just before the live edge, so it decodes at once and plays
	 * out without adding the GOP's age to the latency */
	if (p->cseq < s->burst_end)
		return s->burst_ts - (uint32_t)(s->burst_frame - p->frame);
	return p->ts;
}

/* One video packet for viewer s into b (1500 bytes): its length or -1. */
static int build_vpkt(struct sess *s, const struct vpkt *p, uint8_t *b)
{
	lsp_rtp_header(b, s->vpt, p->marker, (uint16_t)(p->cseq + s->vseq_off), vts(s, p) + s->vts_off,
		       s->vssrc);
	memcpy(b + 12, p->d, p->len);
	return lsp_dtls_protect(s->dtls, b, 12 + (size_t)p->len, 1500);
}

static void send_vpkt(struct rtc *r, struct sess *s, const struct vpkt *p, int rtx)
{
	uint8_t b[1500];
	int n = build_vpkt(s, p, b);
	if (n < 0)
		return;
	udp_send(r, s, b, (size_t)n);
	if (rtx)
		s->rtx++;
	else {
		s->vpkts++;
		s->voct += p->len;
	}
}

#define BATCH 32

/* Send n built datagrams to s with as few system calls as the kernel takes. */
static void send_batch(struct rtc *r, struct sess *s, uint8_t (*bufs)[1500], const int *lens, int n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int sent = 0;
	if (!s->have_addr)
		return;
	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ bufs[i], (size_t)lens[i] };
		memset(&mm[i], 0, sizeof mm[i]);
		mm[i].msg_hdr.msg_name = &s->addr;
		mm[i].msg_hdr.msg_namelen = s->alen;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < n) {
		int k = sendmmsg(r->udp, mm + sent, (unsigned)(n - sent), 0);
		if (k <= 0) {
			r->c.send_err += n - sent;
			return;
		}
		sent += k;
		r->c.sent += k;
	}
}

static const struct vpkt *hist_get(const struct chan *c, uint64_t cseq)
{
	const struct vpkt *p = &c->hist[cseq % HIST];
	return cseq < c->vseq && p->cseq == cseq ? p : NULL;
}

/* Ask a WHIP publisher for a keyframe (PLI), at most every 500 ms. */
static void ask_key(struct rtc *r, struct sess *p)
{
	uint8_t b[64];
	int k;
	if (!p->pub_vssrc || r->now - p->last_pli < 500)
		return;
	p->last_pli = r->now;
	p->plis++;
	k = lsp_rtcp_pli(b, sizeof b, p->vssrc, p->pub_vssrc);
	if (k > 0 && (k = lsp_dtls_protect_rtcp(p->dtls, b, (size_t)k, sizeof b)) > 0)
		udp_send(r, p, b, (size_t)k);
}

/* A viewer of channel name waits for a keyframe: ask the channel's WHIP
 * publisher, if it publishes through this process. */
static void want_key(struct rtc *r, const char *name)
{
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *p = &r->sess[i];
		if (p->state == S_LIVE && p->whip && !strcmp(p->chname, name))
			ask_key(r, p);
	}
}

static void flush_viewers(struct rtc *r, struct chan *c)
{
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		if (s->state != S_LIVE || s->ch != c || s->whip || s->vpt < 0 || s->waiting_key)
			continue;
		if (c->vseq - s->next > HIST) { /* fell out of the history: next keyframe */
			s->waiting_key = 1;
			want_key(r, c->name);
			continue;
		}
		uint8_t bufs[BATCH][1500];
		int lens[BATCH], nb = 0;
		for (; s->next < c->vseq; s->next++) {
			const struct vpkt *p = hist_get(c, s->next);
			if (!p || (lens[nb] = build_vpkt(s, p, bufs[nb])) < 0)
				continue;
			s->vpkts++;
			s->voct += p->len;
			if (++nb == BATCH) {
				send_batch(r, s, bufs, lens, nb);
				nb = 0;
			}
		}
		if (nb)
			send_batch(r, s, bufs, lens, nb);
	}
}

static int pk_cb(void *ctx, const uint8_t *pre, size_t prelen, const uint8_t *p, size_t len, int marker)
{
	struct chan *c = ctx;
	struct vpkt *v = &c->hist[c->vseq % HIST];
	if (prelen + len > PAY_MAX)
		return -1;
	v->cseq = c->vseq;
	v->frame = c->frame;
	v->ts = c->pk_ts;
	v->marker = (uint8_t)marker;
	v->len = (uint16_t)(prelen + len);
	if (prelen)
		memcpy(v->d, pre, prelen);
	memcpy(v->d + prelen, p, len);
	if (c->pk_first && c->pk_key) {
		c->key_cseq = c->vseq;
		c->have_key = 1;
	}
	c->pk_first = 0;
	c->vseq++;
	return 0;
}

static void put_video(struct rtc *r, struct chan *c, const lsp_ring_entry *e)
{
	const uint8_t *nal;
	size_t off = 0, nl;
	int has_sps = 0;
	while (lsp_h264_next_nal(c->au, e->len, &off, &nal, &nl)) {
		int t = nl ? nal[0] & 0x1f : 0;
		if (t == 7 && nl <= sizeof c->sps) {
			memcpy(c->sps, nal, nl);
			c->sps_len = nl;
			has_sps = 1;
		} else if (t == 8 && nl <= sizeof c->pps) {
			memcpy(c->pps, nal, nl);
			c->pps_len = nl;
		}
	}
	/* RTP time is the decode time: WebRTC receivers assume no reordering,
	 * so a stream with B-frames plays (in decode order) instead of having
	 * its out-of-order frames dropped; without B-frames dts == pts */
	c->pk_ts = (uint32_t)(e->dts != INT64_MIN ? e->dts : e->pts);
	if (!c->bframes && e->dts != INT64_MIN && e->pts != e->dts) {
		c->bframes = 1;
		note(r, 2, "source has B-frames: browsers' H.264 decoders cannot reorder; use bframes=0", c->name,
		     NULL);
	}
	c->pk_first = 1;
	c->pk_key = (e->flags & LSP_RING_KEY) != 0;
	if (c->pk_key && !has_sps && c->sps_len && c->pps_len) { /* SPS/PPS before each IDR */
		pk_cb(c, NULL, 0, c->sps, c->sps_len, 0);
		pk_cb(c, NULL, 0, c->pps, c->pps_len, 0);
	}
	if (lsp_h264_packetize(c->au, e->len, PAY_MAX, pk_cb, c) < 0)
		c->overruns++;
	c->last_ts = c->pk_ts;
	c->frame++;
	c->aus++;
	if (c->pk_key)
		for (int i = 0; i < r->nsess_max; i++) {
			struct sess *s = &r->sess[i];
			if (s->state == S_LIVE && s->ch == c && s->waiting_key) {
				s->waiting_key = 0;
				/* close the sequence gap of the skipped packets (else the
				 * viewer NACKs them all), and never resend from before */
				if (s->vpkts)
					s->vseq_off = (uint16_t)(s->vseq_off - (uint16_t)(c->key_cseq - s->next));
				s->next = c->key_cseq;
				s->nack_floor = c->key_cseq;
			}
		}
	flush_viewers(r, c);
}

struct aud_ctx {
	struct rtc *r;
	struct chan *c;
};

static void put_opus(void *ctx, const uint8_t *p, size_t len, uint32_t ts48)
{
	struct aud_ctx *a = ctx;
	struct rtc *r = a->r;
	uint8_t b[1500];
	if (len > 1200)
		return;
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		int n;
		if (s->state != S_LIVE || s->ch != a->c || s->whip || s->apt < 0)
			continue;
		lsp_rtp_header(b, s->apt, 0, s->aseq++, ts48 + s->ats_off, s->assrc);
		memcpy(b + 12, p, len);
		if ((n = lsp_dtls_protect(s->dtls, b, 12 + len, sizeof b)) < 0)
			continue;
		udp_send(r, s, b, (size_t)n);
		s->apkts++;
		s->aoct += (long long)len;
	}
}

static void chan_drop(struct chan *c)
{
	lsp_ring_close(c->ring);
	lsp_aopus_close(c->aop);
	free(c->au);
	free(c->hist);
	memset(c, 0, sizeof *c);
}

static int chan_attach_ring(struct chan *c)
{
	char err[160];
	lsp_ring *ring;
	if (lsp_ring_open(&ring, c->path, err, sizeof err) < 0)
		return -1;
	lsp_ring_close(c->ring);
	c->ring = ring;
	c->gen = lsp_ring_generation(ring);
	c->cur = lsp_ring_seek_key(ring);
	c->anchored = 0;
	return 0;
}

static struct chan *chan_get(struct rtc *r, const char *name, int need_ring)
{
	struct chan *c = NULL;
	for (int i = 0; i < MAX_CHAN; i++)
		if (r->chans[i].used && !strcmp(r->chans[i].name, name))
			return &r->chans[i];
	for (int i = 0; i < MAX_CHAN && !c; i++)
		if (!r->chans[i].used)
			c = &r->chans[i];
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->r = r;
	snprintf(c->name, sizeof c->name, "%s", name);
	if (lsp_ring_path(name, c->path, sizeof c->path) < 0)
		return NULL;
	if (!(c->hist = calloc(HIST, sizeof *c->hist)) || !(c->au = malloc(256 * 1024))) {
		free(c->hist);
		c->hist = NULL;
		return NULL;
	}
	c->aucap = 256 * 1024;
	if (chan_attach_ring(c) < 0 && need_ring) {
		chan_drop(c);
		return NULL;
	}
	c->used = 1;
	c->last_reopen = r->now;
	return c;
}

static void pump(struct rtc *r, struct chan *c)
{
	lsp_ring_entry e;
	int rc, budget = 512;
	char err[160];
	if (!c->ring)
		return;
	if (lsp_ring_generation(c->ring) != c->gen) { /* the writer restarted */
		c->gen = lsp_ring_generation(c->ring);
		c->cur = lsp_ring_seek_key(c->ring);
		c->anchored = 0;
	}
	while (budget-- > 0 && (rc = lsp_ring_read(c->ring, c->cur, &e, c->au, c->aucap)) != -EAGAIN) {
		if (rc == LSP_RING_OVERRUN) {
			c->overruns++;
			c->cur = lsp_ring_seek_key(c->ring);
			continue;
		}
		if (rc == -ENOSPC) {
			uint8_t *nb;
			if (e.len > AU_MAX || !(nb = realloc(c->au, e.len))) {
				c->cur++;
				continue;
			}
			c->au = nb;
			c->aucap = e.len;
			continue;
		}
		c->cur++;
		/* sender reports map RTP time to the wall clock at the live edge:
		 * the first entry read that is the newest one written */
		if (!c->anchored && c->cur == lsp_ring_head(c->ring)) {
			c->anchored = 1;
			c->anchor_ms = r->now;
			c->anchor_pts = e.pts;
		}
		if (e.kind == LSP_RING_VIDEO)
			put_video(r, c, &e);
		else if (e.kind == LSP_RING_AUDIO && !c->aop_failed) {
			struct aud_ctx a = { r, c };
			if (!c->aop && lsp_aopus_open(&c->aop, r->cfg->opus_bitrate, err, sizeof err) < 0) {
				c->aop_failed = 1;
				note(r, 2, "opus encoder unavailable; video only", c->name, "%s", err);
				continue;
			}
			if (lsp_aopus_put(c->aop, c->au, e.len, e.pts, put_opus, &a, err, sizeof err) < 0)
				c->overruns++;
		}
	}
}

/* ----------------------------------------------------------- sessions */

static void sess_free(struct rtc *r, struct sess *s, const char *why)
{
	if (s->state == S_FREE)
		return;
	note(r, 1, s->whip ? "publisher gone" : "viewer gone", s->chname,
	     "id=%s reason=%s video_pkts=%lld audio_pkts=%lld nacks=%lld rtx=%lld plis=%lld", s->id, why,
	     s->vpkts, s->apkts, s->nacks, s->rtx, s->plis);
	if (s->ch) {
		s->ch->nsess--;
		if (!s->ch->nsess)
			s->ch->idle_since = r->now;
	}
	lsp_whip_close(s->pub);
	lsp_dtls_free(s->dtls);
	memset(s, 0, sizeof *s);
}

static void sess_live(struct rtc *r, struct sess *s)
{
	struct chan *c = s->ch;
	s->state = S_LIVE;
	note(r, 1, s->whip ? "publisher connected" : "viewer connected", s->chname, "id=%s", s->id);
	if (s->whip || !c)
		return;
	if (c->have_key && c->vseq - c->key_cseq <= HIST && hist_get(c, c->key_cseq)) {
		s->next = c->key_cseq;
		s->burst_end = c->vseq;
		s->burst_frame = c->frame ? c->frame - 1 : 0;
		s->burst_ts = c->last_ts;
		flush_viewers(r, c);
	} else {
		s->waiting_key = 1;
		want_key(r, c->name);
	}
}

static void send_sr(struct rtc *r, struct sess *s)
{
	struct chan *c = s->ch;
	uint8_t b[256];
	struct timespec t;
	uint64_t ntp;
	long long el;
	int n = 0, k;
	if (!c || !c->anchored || s->whip)
		return;
	clock_gettime(CLOCK_REALTIME, &t);
	ntp = ((uint64_t)(t.tv_sec + 2208988800u) << 32) | (uint64_t)(((double)t.tv_nsec / 1e9) * 4294967296.0);
	el = r->now - c->anchor_ms;
	if (s->vpt >= 0 && s->vpkts) {
		uint32_t ts = (uint32_t)(c->anchor_pts + el * 90) + s->vts_off;
		k = lsp_rtcp_sr(b + n, sizeof b - (size_t)n, s->vssrc, ntp, ts, (uint32_t)s->vpkts, (uint32_t)s->voct);
		if (k > 0)
			n += k;
	}
	if (s->apt >= 0 && s->apkts) {
		uint32_t ts = (uint32_t)(c->anchor_pts * 48000 / 90000 + el * 48) + s->ats_off;
		k = lsp_rtcp_sr(b + n, sizeof b - (size_t)n, s->assrc, ntp, ts, (uint32_t)s->apkts, (uint32_t)s->aoct);
		if (k > 0)
			n += k;
	}
	if (n && (k = lsp_dtls_protect_rtcp(s->dtls, b, (size_t)n, sizeof b)) > 0)
		udp_send(r, s, b, (size_t)k);
}

/* A browser publisher with no bandwidth feedback stays at its start
 * bitrate: tell it what it may send, and keep its consent alive. */
static void send_remb(struct rtc *r, struct sess *s)
{
	uint8_t b[128];
	int n, k;
	if (!s->pub_vssrc)
		return;
	n = lsp_rtcp_rr(b, sizeof b, s->vssrc, s->pub_vssrc, 0);
	if (n <= 0) /* no room left for REMB: never index b with a failed length */
		return;
	k = lsp_rtcp_remb(b + n, sizeof b - (size_t)n, s->vssrc, s->pub_vssrc, (uint64_t)r->cfg->whip_bitrate);
	if (n > 0 && k > 0 && (k = lsp_dtls_protect_rtcp(s->dtls, b, (size_t)(n + k), sizeof b)) > 0)
		udp_send(r, s, b, (size_t)k);
}

static void on_rtcp(struct rtc *r, struct sess *s, uint8_t *p, size_t len)
{
	lsp_rtcp_info in;
	int n = lsp_dtls_unprotect_rtcp(s->dtls, p, len);
	if (n < 0 || lsp_rtcp_parse(p, (size_t)n, &in) < 0) {
		r->c.rtcp_bad++;
		if (n < 0)
			return;
	}
	if (in.bye && !s->whip) {
		sess_free(r, s, "bye");
		return;
	}
	if (s->whip || !s->ch)
		return;
	for (int i = 0; i < in.nnack; i++) {
		const struct vpkt *p2;
		uint16_t c16 = (uint16_t)(in.nack[i] - s->vseq_off);
		uint64_t cand = (s->next & ~(uint64_t)0xffff) | c16;
		if (in.nack_ssrc[i] != s->vssrc)
			continue;
		s->nacks++;
		if (cand >= s->next)
			cand -= 65536;
		if (cand < s->next && cand >= s->nack_floor && (p2 = hist_get(s->ch, cand)))
			send_vpkt(r, s, p2, 1);
	}
	if (in.pli || in.fir) {
		s->plis++;
		/* hold this viewer's video until the next keyframe; an RTMP
		 * source cannot be asked for one, a WHIP publisher here can */
		if (!s->waiting_key && r->now - s->created > 1000)
			s->waiting_key = 1;
		want_key(r, s->chname);
	}
}

static void on_rtp_whip(struct rtc *r, struct sess *s, uint8_t *p, size_t len)
{
	lsp_rtp_hdr h;
	char err[160];
	int n = lsp_dtls_unprotect(s->dtls, p, len), rc = 0;
	if (n < 0 || lsp_rtp_parse(p, (size_t)n, &h) < 0) {
		r->c.rtp_bad++;
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
		ask_key(r, s);
	else if (rc < 0 && rc != -EINVAL) {
		note(r, 2, "publisher pipeline failed", s->chname, "%s", err);
		sess_free(r, s, "pipeline");
	}
}

static void on_udp(struct rtc *r, uint8_t *p, size_t len, struct sockaddr_storage *from, socklen_t flen)
{
	struct sess *s;
	char err[200];
	if (lsp_stun_is(p, len)) {
		lsp_stun_msg m;
		uint8_t out[256];
		const uint8_t *colon;
		size_t ul;
		int n;
		if (lsp_stun_parse(p, len, &m) < 0 || m.type != LSP_STUN_BINDING_REQ || !m.username) {
			r->c.stun_bad++;
			return;
		}
		colon = memchr(m.username, ':', m.username_len);
		ul = colon ? (size_t)(colon - m.username) : m.username_len;
		s = NULL;
		for (int i = 0; i < r->nsess_max; i++)
			if (r->sess[i].state != S_FREE && strlen(r->sess[i].ufrag) == ul &&
			    !memcmp(r->sess[i].ufrag, m.username, ul)) {
				s = &r->sess[i];
				break;
			}
		if (!s || lsp_stun_check(p, len, &m, s->pwd) < 0) {
			r->c.stun_auth++;
			return;
		}
		if (!s->have_addr || m.use_candidate) {
			struct sess *o;
			/* a new session from an address an old one still holds
			 * (port reuse, NAT rebinding): the old one is gone */
			while ((o = by_addr(r, from)) && o != s)
				sess_free(r, o, "address taken over");
			memcpy(&s->addr, from, flen);
			s->alen = flen;
			s->have_addr = 1;
		}
		s->last_rx = r->now;
		if ((n = lsp_stun_answer(&m, (struct sockaddr *)from, s->pwd, out, sizeof out)) > 0)
			sendto(r->udp, out, (size_t)n, 0, (struct sockaddr *)from, flen);
		return;
	}
	s = by_addr(r, from);
	if (!s) {
		r->c.unknown++;
		return;
	}
	if (lsp_dtls_is(p, len)) {
		int rc;
		if (!s->dtls && lsp_dtls_new(&s->dtls, r->cert, 1, s->peer_fp, dtls_out, s, err, sizeof err) < 0) {
			note(r, 2, "dtls session failed", s->chname, "%s", err);
			sess_free(r, s, "dtls");
			return;
		}
		rc = lsp_dtls_feed(s->dtls, p, len, err, sizeof err);
		s->last_rx = r->now;
		if (rc == 1)
			sess_live(r, s);
		else if (rc == -ECONNRESET)
			sess_free(r, s, "dtls close");
		else if (rc < 0) {
			r->c.dtls_bad++;
			note(r, 2, "dtls handshake failed", s->chname, "id=%s %s", s->id, err);
			sess_free(r, s, "dtls");
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

/* --------------------------------------------------------------- HTTP */

struct resp {
	int status;
	const char *ctype;
	char loc[128];
	const char *body;
	size_t blen;
};

static void http_send(struct conn *k, const struct resp *rs)
{
	char h[1024];
	int n = snprintf(h, sizeof h,
			 "HTTP/1.1 %d %s\r\nAccess-Control-Allow-Origin: *\r\n"
			 "Access-Control-Allow-Methods: POST, DELETE, OPTIONS, PATCH\r\n"
			 "Access-Control-Allow-Headers: Content-Type, Authorization, If-Match\r\n"
			 "Access-Control-Expose-Headers: Location\r\nCache-Control: no-store\r\n"
			 "%s%s%s%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 rs->status, lsp_http_reason(rs->status), rs->ctype ? "Content-Type: " : "",
			 rs->ctype ? rs->ctype : "", rs->ctype ? "\r\n" : "", rs->loc[0] ? "Location: " : "",
			 rs->loc, rs->loc[0] ? "\r\n" : "", rs->blen);
	struct timeval tv = { 1, 0 };
	int fl = fcntl(k->fd, F_GETFL);
	fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (n > 0 && (size_t)n < sizeof h && send(k->fd, h, (size_t)n, MSG_NOSIGNAL) == n && rs->blen)
		(void)!send(k->fd, rs->body, rs->blen, MSG_NOSIGNAL);
}

static struct sess *sess_new(struct rtc *r)
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

static void offer(struct rtc *r, struct conn *k, int whip, const char *ch, const char *body, size_t blen,
		  const lsp_http_req *rq, struct resp *rs, char *ans, size_t anscap)
{
	lsp_sdp_offer of;
	lsp_sdp_local l;
	struct sess *s;
	struct chan *c = NULL;
	char keych[LSP_NAME_MAX + 1], cmd[1024], err[200];
	int n;
	if (whip) {
		size_t vl = 0;
		const char *v = lsp_http_header_get(rq, "Authorization", &vl);
		char key[LSP_KEY_MAX + 1];
		const char *why = "missing bearer token";
		if (!v || vl < 8 || strncasecmp(v, "Bearer ", 7) != 0 || vl - 7 >= sizeof key || !r->cfg->auth ||
		    (memcpy(key, v + 7, vl - 7), key[vl - 7] = 0,
		     r->cfg->auth(r->cfg->ctx, key, keych, sizeof keych, &why)) < 0 ||
		    strcmp(keych, ch) != 0) {
			if (v && vl >= 7 && !strncasecmp(v, "Bearer ", 7) && why && !strcmp(why, "missing bearer token"))
				why = "key is for another channel";
			note(r, 2, "publish refused", ch, "%s", why);
			rs->status = 401;
			rs->body = "unauthorized\n";
			return;
		}
		for (int i = 0; i < r->nsess_max; i++)
			if (r->sess[i].state != S_FREE && r->sess[i].whip && !strcmp(r->sess[i].chname, ch)) {
				rs->status = 409;
				rs->body = "channel already has a publisher\n";
				return;
			}
	} else if (!(c = chan_get(r, ch, 1))) {
		rs->status = 404;
		rs->body = "channel not live\n";
		return;
	}
	if (lsp_sdp_parse(body, blen, &of) < 0 || (lsp_sdp_find(&of, "video") < 0 && lsp_sdp_find(&of, "audio") < 0)) {
		r->c.sdp_bad++;
		rs->status = 400;
		rs->body = "bad or unusable SDP offer\n";
		return;
	}
	if (!(s = sess_new(r))) {
		rs->status = 503;
		rs->body = "too many sessions\n";
		return;
	}
	s->whip = whip;
	snprintf(s->chname, sizeof s->chname, "%s", ch);
	rand_str(s->ufrag, 8);
	rand_str(s->pwd, 24);
	rand_str(s->id, 16);
	snprintf(s->peer_fp, sizeof s->peer_fp, "%s", of.fingerprint);
	n = lsp_sdp_find(&of, "video");
	s->vpt = n >= 0 ? of.m[n].pt : -1;
	s->nack = n >= 0 ? of.m[n].nack : 0;
	n = lsp_sdp_find(&of, "audio");
	s->apt = n >= 0 ? of.m[n].pt : -1;
	s->vssrc = rand32();
	s->assrc = rand32();
	s->vts_off = rand32();
	s->ats_off = rand32();
	s->vseq_off = (uint16_t)rand32();
	s->aseq = (uint16_t)rand32();
	s->created = s->last_rx = r->now;
	memset(&l, 0, sizeof l);
	l.ufrag = s->ufrag;
	l.pwd = s->pwd;
	l.fingerprint = lsp_dtls_cert_fingerprint(r->cert);
	l.ip = r->cfg->cand_ip;
	l.port = r->cfg->udp_port;
	l.send = !whip;
	l.ssrc_video = s->vssrc;
	l.ssrc_audio = s->assrc;
	l.cname = "lsp";
	if ((n = lsp_sdp_answer(&of, &l, ans, anscap)) < 0) {
		memset(s, 0, sizeof *s);
		rs->status = 500;
		rs->body = "answer too large\n";
		return;
	}
	if (whip) {
		const char *cm = NULL;
		if (r->cfg->whip_exec && *r->cfg->whip_exec) {
			size_t o = 0;
			for (const char *t = r->cfg->whip_exec; *t && o + 1 < sizeof cmd; t++) {
				if (!strncmp(t, "{channel}", 9)) {
					o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s", ch);
					t += 8;
				} else
					cmd[o++] = *t;
			}
			cmd[o < sizeof cmd ? o : sizeof cmd - 1] = 0;
			cm = cmd;
		}
		if (lsp_whip_open(&s->pub, cm, r->cfg->whip_ring ? ch : NULL, err, sizeof err) < 0) {
			note(r, 3, "publisher pipeline failed to start", ch, "%s", err);
			memset(s, 0, sizeof *s);
			rs->status = 500;
			rs->body = "pipeline failed\n";
			return;
		}
	} else {
		s->ch = c;
		c->nsess++;
	}
	s->state = S_NEW;
	rs->status = 201;
	rs->ctype = "application/sdp";
	rs->body = ans;
	rs->blen = (size_t)n;
	snprintf(rs->loc, sizeof rs->loc, "/%s/%s/%s", whip ? "whip" : "whep", ch, s->id);
	note(r, 1, whip ? "publish offer" : "play offer", ch, "id=%s video_pt=%d audio_pt=%d", s->id, s->vpt,
	     s->apt);
	(void)k;
}

static void stats(struct rtc *r, char *out, size_t cap, size_t *len)
{
	size_t o = 0;
	int n, first = 1;
#define PUT(...)                                                                          \
	do {                                                                              \
		n = snprintf(out + o, cap - o, __VA_ARGS__);                              \
		if (n < 0 || (size_t)n >= cap - o)                                        \
			goto done;                                                        \
		o += (size_t)n;                                                           \
	} while (0)
	PUT("{\"dropped\":{\"stun\":%lld,\"stun_auth\":%lld,\"dtls\":%lld,\"rtp\":%lld,\"rtcp\":%lld,"
	    "\"sdp\":%lld,\"http\":%lld,\"unknown\":%lld},\"reaped\":%lld,\"sent\":%lld,\"send_err\":%lld,"
	    "\"sessions\":[",
	    r->c.stun_bad, r->c.stun_auth, r->c.dtls_bad, r->c.rtp_bad, r->c.rtcp_bad, r->c.sdp_bad, r->c.http_bad,
	    r->c.unknown, r->c.reaped, r->c.sent, r->c.send_err);
	int listed = 0, total = 0;
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		long long wv = 0, wa = 0, wd = 0;
		if (s->state == S_FREE)
			continue;
		if (total++, listed == 100) /* bounded: the first 100 sessions */
			continue;
		listed++;
		if (s->pub)
			lsp_whip_counts(s->pub, &wv, &wa, &wd);
		PUT("%s{\"id\":\"%s\",\"channel\":\"%s\",\"kind\":\"%s\",\"state\":\"%s\",\"video_pkts\":%lld,"
		    "\"audio_pkts\":%lld,\"nacks\":%lld,\"rtx\":%lld,\"plis\":%lld,\"muxed_video\":%lld,"
		    "\"muxed_audio\":%lld,\"mux_dropped\":%lld}",
		    first ? "" : ",", s->id, s->chname, s->whip ? "whip" : "whep",
		    s->state == S_LIVE ? "live" : "new", s->vpkts, s->apkts, s->nacks, s->rtx, s->plis, wv, wa, wd);
		first = 0;
	}
	PUT("],\"sessions_total\":%d,\"channels\":[", total);
	first = 1;
	for (int i = 0; i < MAX_CHAN; i++) {
		struct chan *c = &r->chans[i];
		if (!c->used)
			continue;
		PUT("%s{\"name\":\"%s\",\"viewers\":%d,\"frames\":%lld,\"overruns\":%lld,\"opus\":%s,"
		    "\"bframes\":%s}",
		    first ? "" : ",", c->name, c->nsess, c->aus, c->overruns, c->aop ? "true" : "false",
		    c->bframes ? "true" : "false");
		first = 0;
	}
	PUT("]}\n");
done:
#undef PUT
	*len = o;
}

static void handle(struct rtc *r, struct conn *k, const lsp_http_req *rq, size_t head)
{
	struct resp rs = { 404, "text/plain", "", "not found\n", 0 };
	char path[512], ch[LSP_NAME_MAX + 1], id[64];
	const char *body = k->buf + head;
	size_t blen = rq->content_length > 0 ? (size_t)rq->content_length : 0;
	int whip = 0;
	if (lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0) {
		r->c.http_bad++;
		rs.status = 400;
		rs.body = "bad path\n";
		goto out;
	}
	id[0] = 0;
	ch[0] = 0;
	if (!strncmp(path, "/whep/", 6) || !strncmp(path, "/whip/", 6)) {
		const char *a = path + 6, *sl = strchr(a, '/');
		size_t cl = sl ? (size_t)(sl - a) : strlen(a);
		whip = path[3] == 'i';
		if (cl > LSP_NAME_MAX || (sl && strlen(sl + 1) >= sizeof id)) {
			rs.status = 400;
			rs.body = "bad channel\n";
			goto out;
		}
		memcpy(ch, a, cl);
		ch[cl] = 0;
		if (sl)
			snprintf(id, sizeof id, "%s", sl + 1);
		if (!lsp_name_valid(ch)) {
			rs.status = 400;
			rs.body = "bad channel\n";
			goto out;
		}
	} else if (rq->method == LSP_HTTP_GET && !strcmp(path, "/stats")) {
		stats(r, r->sb, sizeof r->sb, &rs.blen);
		rs.status = 200;
		rs.ctype = "application/json";
		rs.body = r->sb;
		goto send;
	} else if (rq->method == LSP_HTTP_GET && !strcmp(path, "/healthz")) {
		rs.status = 200;
		rs.body = "ok\n";
		goto out;
	}
	if (rq->method == LSP_HTTP_OPTIONS) {
		rs.status = 204;
		rs.ctype = NULL;
		rs.body = "";
		goto out;
	}
	if (!ch[0])
		goto out;
	if (rq->method == LSP_HTTP_POST && !id[0]) {
		offer(r, k, whip, ch, body, blen, rq, &rs, r->ans, sizeof r->ans);
		if (rs.status == 201)
			goto send;
		goto out;
	}
	if (rq->method_len == 6 && !memcmp(rq->method_s, "DELETE", 6) && id[0]) {
		for (int i = 0; i < r->nsess_max; i++) {
			struct sess *s = &r->sess[i];
			if (s->state != S_FREE && s->whip == whip && !strcmp(s->id, id) && !strcmp(s->chname, ch)) {
				sess_free(r, s, "deleted");
				rs.status = 200;
				rs.body = "";
				goto out;
			}
		}
		goto out;
	}
	if (rq->method_len == 5 && !memcmp(rq->method_s, "PATCH", 5)) {
		rs.status = 405; /* ICE-lite: no trickle needed, candidates come as checks */
		rs.body = "trickle ICE not supported\n";
		goto out;
	}
	rs.status = 405;
	rs.body = "method not allowed\n";
out:
	rs.blen = strlen(rs.body);
send:
	http_send(k, &rs);
}

static void conn_close(struct rtc *r, int i)
{
	close(r->conns[i]->fd);
	free(r->conns[i]);
	r->conns[i] = NULL;
}

static void on_conn(struct rtc *r, int i)
{
	struct conn *k = r->conns[i];
	lsp_http_req rq;
	ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, 0);
	int h;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(r, i);
		return;
	}
	k->len += (size_t)n;
	h = lsp_http_parse(k->buf, k->len, &rq);
	if (h == 0 && k->len < sizeof k->buf)
		return;
	if (h <= 0 || rq.chunked || rq.content_length > (long long)(sizeof k->buf - (size_t)h)) {
		struct resp rs = { h < 0 ? -h : 413, "text/plain", "", "bad request\n", 12 };
		r->c.http_bad++;
		if (rs.status < 400)
			rs.status = 400;
		http_send(k, &rs);
		conn_close(r, i);
		return;
	}
	if (rq.content_length > 0 && k->len < (size_t)h + (size_t)rq.content_length)
		return;
	handle(r, k, &rq, (size_t)h);
	conn_close(r, i);
}

static int listen_sock(const char *host, int port, int type, char *err, size_t errcap)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ps[16];
	int fd = -1, one = 1;
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host && *host ? host : NULL, ps, &hints, &ai) != 0 || !ai) {
		snprintf(err, errcap, "bad address %s", host ? host : "");
		return -EINVAL;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0))
		goto fail;
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	freeaddrinfo(ai);
	return fd;
fail:
	{
		int e = errno;
		snprintf(err, errcap, "%s %s:%d: %s", type == SOCK_STREAM ? "http" : "udp", host ? host : "*", port,
			 strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -e;
	}
}

static void tick(struct rtc *r)
{
	while (waitpid(-1, NULL, WNOHANG) > 0) /* ended WHIP pipelines */
		;
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		if (s->state == S_FREE)
			continue;
		if (s->dtls)
			lsp_dtls_tick(s->dtls);
		if (r->now - s->last_rx > (long long)r->cfg->consent_s * 1000 ||
		    (s->state == S_NEW && r->now - s->created > 30000)) {
			r->c.reaped++;
			sess_free(r, s, "consent timeout");
			continue;
		}
		if (s->state == S_LIVE && r->now - s->last_sr >= 1000) {
			s->last_sr = r->now;
			if (s->whip)
				send_remb(r, s);
			else
				send_sr(r, s);
		}
	}
	for (int i = 0; i < MAX_CHAN; i++) {
		struct chan *c = &r->chans[i];
		if (!c->used)
			continue;
		if (!c->nsess && r->now - c->idle_since > 10000) {
			chan_drop(c);
			continue;
		}
		/* an ended or missing ring: look for a new writer once a second */
		if ((!c->ring || lsp_ring_ended(c->ring)) && r->now - c->last_reopen > 1000) {
			c->last_reopen = r->now;
			lsp_ring *nr;
			char err[160];
			if (lsp_ring_open(&nr, c->path, err, sizeof err) == 0) {
				if (!lsp_ring_ended(nr) && (!c->ring || lsp_ring_generation(nr) != c->gen ||
							    lsp_ring_head(nr) != lsp_ring_head(c->ring))) {
					lsp_ring_close(c->ring);
					c->ring = nr;
					c->gen = lsp_ring_generation(nr);
					c->cur = lsp_ring_seek_key(nr);
					c->anchored = 0;
				} else
					lsp_ring_close(nr);
			}
		}
	}
}

int lsp_rtc_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap)
{
	struct rtc *r = calloc(1, sizeof *r);
	struct pollfd pf[3 + MAX_CONN];
	int idx[3 + MAX_CONN];
	long long last_tick = 0;
	int rc = 0;
	if (!r) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->cfg = cfg;
	r->udp = r->http = -1;
	r->nsess_max = cfg->max_sessions > 0 ? cfg->max_sessions : 256;
	if (!(r->sess = calloc((size_t)r->nsess_max, sizeof *r->sess))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = lsp_dtls_cert_new(&r->cert, err, errcap)) < 0)
		goto out;
	if ((rc = r->udp = listen_sock(cfg->udp_host, cfg->udp_port, SOCK_DGRAM, err, errcap)) < 0)
		goto out;
	if ((rc = r->http = listen_sock(cfg->http_host, cfg->http_port, SOCK_STREAM, err, errcap)) < 0)
		goto out;
	rc = 0;
	note(r, 1, "listening", NULL, "http=%s:%d udp=%s:%d candidate=%s:%d", cfg->http_host, cfg->http_port,
	     cfg->udp_host, cfg->udp_port, cfg->cand_ip, cfg->udp_port);
	for (;;) {
		int np = 0, live = 0;
		pf[np] = (struct pollfd){ stopfd, POLLIN, 0 };
		idx[np++] = -1;
		pf[np] = (struct pollfd){ r->udp, POLLIN, 0 };
		idx[np++] = -2;
		pf[np] = (struct pollfd){ r->http, POLLIN, 0 };
		idx[np++] = -3;
		for (int i = 0; i < MAX_CONN; i++)
			if (r->conns[i]) {
				pf[np] = (struct pollfd){ r->conns[i]->fd, POLLIN, 0 };
				idx[np++] = i;
			}
		for (int i = 0; i < MAX_CHAN; i++)
			live |= r->chans[i].used && r->chans[i].ring;
		if (poll(pf, (nfds_t)np, live ? 2 : 50) < 0 && errno != EINTR) {
			rc = -errno;
			snprintf(err, errcap, "poll: %s", strerror(errno));
			goto out;
		}
		r->now = now_ms();
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN) {
			uint8_t buf[2048];
			for (int k = 0; k < 512; k++) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof from;
				ssize_t n = recvfrom(r->udp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
				if (n <= 0)
					break;
				on_udp(r, buf, (size_t)n, &from, fl);
			}
		}
		if (pf[2].revents & POLLIN) {
			for (int k = 0; k < 16; k++) {
				int fd = accept4(r->http, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1;
				if (fd < 0)
					break;
				for (int i = 0; i < MAX_CONN && slot < 0; i++)
					if (!r->conns[i])
						slot = i;
				if (slot < 0 || !(r->conns[slot] = calloc(1, sizeof(struct conn)))) {
					close(fd);
					continue;
				}
				r->conns[slot]->fd = fd;
				r->conns[slot]->t0 = r->now;
			}
		}
		for (int p = 3; p < np; p++)
			if (pf[p].revents && r->conns[idx[p]])
				on_conn(r, idx[p]);
		for (int i = 0; i < MAX_CONN; i++) /* slow or silent clients */
			if (r->conns[i] && r->now - r->conns[i]->t0 > 10000)
				conn_close(r, i);
		for (int i = 0; i < MAX_CHAN; i++)
			if (r->chans[i].used)
				pump(r, &r->chans[i]);
		if (r->now - last_tick >= TICK_MS) {
			last_tick = r->now;
			tick(r);
		}
	}
out:
	if (r->sess)
		for (int i = 0; i < r->nsess_max; i++)
			sess_free(r, &r->sess[i], "shutdown");
	for (int i = 0; i < MAX_CHAN; i++)
		if (r->chans[i].used)
			chan_drop(&r->chans[i]);
	for (int i = 0; i < MAX_CONN; i++)
		if (r->conns[i])
			conn_close(r, i);
	if (r->udp >= 0)
		close(r->udp);
	if (r->http >= 0)
		close(r->http);
	lsp_dtls_cert_free(r->cert);
	free(r->sess);
	free(r);
	return rc;
}
