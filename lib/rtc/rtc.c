/* rtc.c — the lsp-rtc server loop; see rtc.h for the contract.
 * Owns: the UDP and HTTP sockets, the HTTP connections, the session table,
 * the channel table (rings or origin connections, histories, Opus
 * encoders), the relay clients (edges reading our rings), the DTLS cert.
 * Sessions, relay clients and parked offers borrow their channel; a
 * channel lives while any of them uses it (and 10 s after). */
#include "rtc/rtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rtc/aopus.h"
#include "rtc/dtls.h"
#include "core/http.h"
#include "core/key.h"
#include "core/opt.h"
#include "media/ring.h"
#include "rtc/rtcrelay.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"
#include "rtc/stun.h"
#include "rtc/whip.h"
#include "core/httpurl.h"
#include "core/clock.h"

#define MAX_CHAN 64
#define HIST 4096          /* video packets kept per channel (NACK, last GOP) */
#define PAY_MAX 1160       /* RTP payload bytes at most (datagram <= 1200 with SRTP) */
#define MAX_CONN 64
#define REQ_MAX 32768
#define AU_MAX (4u << 20)
#define TICK_MS 250
#define MAX_RELAY 64       /* edges reading our rings */
#define RELAY_PING_MS 1000 /* origin: a ping after this long without a frame */
#define UP_SILENT_MS 5000  /* edge: an origin silent this long is gone */
#define UP_SETUP_MS 3000   /* edge: connect + response head */
#define UP_BACKOFF_MIN 250
#define UP_BACKOFF_MAX 5000
#define PARK_MS 4000       /* edge: an offer waits this long for its origin */

enum { S_FREE = 0, S_NEW, S_LIVE };

struct vpkt {
	uint64_t cseq, frame;
	uint32_t ts;
	uint16_t len;
	uint8_t marker;
	uint8_t d[PAY_MAX];
};

/* Edge mode: the channel's connection to its origin (fd valid unless
 * state == UP_IDLE).  result tells parked offers how the last attempt
 * ended: 0 none yet, 200 streaming, else the status to answer. */
enum { UP_IDLE = 0, UP_CONNECT, UP_HEAD, UP_STREAM };
struct upstream {
	int fd, state;
	char url[160];
	char req[512];
	size_t reqlen;
	char head[4096];
	size_t hlen;
	lsp_rtcrelay_rd rd;
	long long t0, stream_t0, last_rx, next_try, backoff, last_route;
	int result;
	long long result_at;
	int fails, ever;            /* consecutive failures; ever connected */
	int have_gen, have_seq;
	uint64_t gen, gen_id, seq;  /* origin ring generation and identity, next seq expected */
	struct { uint64_t seq; int64_t pts; } seen[1024]; /* recent entries: tells a resent one */
	long long connects, reconnects, bytes, frames, gaps, restarts;
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
	int nrelay, nwait;      /* relay clients, parked offers using it */
	int rebase, have_last;  /* a new source: continue its time after last_t */
	int64_t shift, last_t;  /* added to the source's pts/dts; newest time out */
	uint64_t ring_epoch;    /* bumped whenever ring is replaced */
	uint64_t ring_id;       /* the ring file's identity (device, inode) */
	int relay;              /* edge mode: fed by up, never by a ring */
	struct upstream up;
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
	struct chan *park;      /* an offer waiting for its channel's origin */
	long long park_t;
	int parked;             /* it did wait: the next answer is final */
	size_t head;
	lsp_http_req rq;
	char buf[REQ_MAX];
};

/* Origin side: an edge reading one channel (GET /relay/C), fed from the
 * channel's ring with its own cursor; at most one frame pending. */
struct relayc {
	int fd;
	struct chan *ch;
	uint64_t cur, gen, epoch;
	int have_gen, sent_end;
	uint8_t *ob;
	size_t obcap, olen, ooff;
	long long t0, last_tx, bytes, frames, skips;
	char peer[64];
};

struct counters {
	long long stun_bad, stun_auth, dtls_bad, rtp_bad, rtcp_bad, sdp_bad, http_bad, unknown, reaped,
		sent, send_err;
};

struct rtc {
	const lsp_rtc_cfg *cfg;
	int udp, http;
	struct conn *conns[MAX_CONN];
	struct relayc *relays[MAX_RELAY];
	long long relays_total;
	int edge;                /* cfg->origin or cfg->origin_route */
	struct sess *sess;
	int nsess_max;
	struct chan chans[MAX_CHAN];
	lsp_dtls_cert *cert;
	struct counters c;
	long long now;
	char ans[16384];  /* one response at a time */
	char sb[65536];
	uint8_t rx[65536]; /* edge: what one recv from an origin brings */
};

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

/* RTCP we send: SRTCP wants room for its longest trailer (libsrtp2's
 * SRTP_MAX_TRAILER_LEN, 144 bytes) beyond the packet, or it refuses. */
#define RTCP_BUF 512

/* Ask a WHIP publisher for a keyframe (PLI), at most every 500 ms. */
static void ask_key(struct rtc *r, struct sess *p)
{
	uint8_t b[RTCP_BUF];
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

static void put_video(struct rtc *r, struct chan *c, const lsp_ring_entry *e, const uint8_t *au)
{
	const uint8_t *nal;
	size_t off = 0, nl;
	int has_sps = 0;
	while (lsp_h264_next_nal(au, e->len, &off, &nal, &nl)) {
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
	if (lsp_h264_packetize(au, e->len, PAY_MAX, pk_cb, c) < 0)
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

static void up_close(struct chan *c)
{
	if (c->up.state != UP_IDLE)
		close(c->up.fd);
	c->up.state = UP_IDLE;
	c->up.fd = -1;
}

static void chan_drop(struct chan *c)
{
	up_close(c);
	lsp_rtcrelay_free(&c->up.rd);
	lsp_ring_close(c->ring);
	lsp_aopus_close(c->aop);
	free(c->au);
	free(c->hist);
	memset(c, 0, sizeof *c);
}

static uint64_t ring_id(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_dev << 40 ^ (uint64_t)st.st_ino;
}

static int chan_attach_ring(struct chan *c)
{
	char err[160];
	lsp_ring *ring;
	if (lsp_ring_open(&ring, c->path, err, sizeof err) < 0)
		return -1;
	lsp_ring_close(c->ring);
	c->ring = ring;
	c->ring_epoch++;
	c->ring_id = ring_id(c->path);
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
	c->up.fd = -1;
	if (r->edge) {
		c->relay = 1;
		lsp_rtcrelay_init(&c->up.rd, AU_MAX);
	} else if (chan_attach_ring(c) < 0 && need_ring) {
		chan_drop(c);
		return NULL;
	}
	c->used = 1;
	c->last_reopen = c->idle_since = r->now;
	return c;
}

static int chan_users(const struct chan *c)
{
	return c->nsess + c->nrelay + c->nwait;
}

static void chan_unuse(struct rtc *r, struct chan *c)
{
	if (!chan_users(c))
		c->idle_since = r->now;
}

/* The source broke its continuity (a new generation, lost entries, a new
 * origin): viewers resume at the next keyframe, a new viewer waits for
 * one, and sender reports are re-anchored.  With rebase (another stream,
 * its clock unrelated) its time stamps are shifted to go on one frame after
 * the last ones sent, so players see one stream whose time never jumps;
 * the Opus encoder starts afresh on it. */
static void chan_restart(struct rtc *r, struct chan *c, int rebase)
{
	c->anchored = 0;
	c->have_key = 0;
	if (rebase && c->have_last) {
		c->rebase = 1;
		lsp_aopus_close(c->aop);
		c->aop = NULL;
	}
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		if (s->state == S_LIVE && s->ch == c && !s->whip && s->vpt >= 0)
			s->waiting_key = 1;
	}
}

/* One access unit from the channel's source (its ring, or the origin);
 * live: it was the newest one there when read. */
static void chan_entry(struct rtc *r, struct chan *c, const lsp_ring_entry *in, const uint8_t *d, int live)
{
	char err[160];
	lsp_ring_entry te = *in;
	const lsp_ring_entry *e = &te;
	int64_t t = in->dts != INT64_MIN ? in->dts : in->pts;
	if (t == INT64_MIN)
		t = c->have_last ? c->last_t - c->shift : 0;
	if (c->rebase) {
		c->shift = c->last_t + 3000 - t;
		c->rebase = 0;
	}
	if (c->shift) {
		if (te.pts != INT64_MIN)
			te.pts += c->shift;
		if (te.dts != INT64_MIN)
			te.dts += c->shift;
	}
	if (!c->have_last || t + c->shift > c->last_t)
		c->last_t = t + c->shift;
	c->have_last = 1;
	/* sender reports map RTP time to the wall clock at the live edge:
	 * the first entry read that is the newest one written */
	if (!c->anchored && live) {
		c->anchored = 1;
		c->anchor_ms = r->now;
		c->anchor_pts = e->pts;
	}
	if (e->kind == LSP_RING_VIDEO)
		put_video(r, c, e, d);
	else if (e->kind == LSP_RING_AUDIO && !c->aop_failed) {
		struct aud_ctx a = { r, c };
		if (!c->aop && lsp_aopus_open(&c->aop, r->cfg->opus_bitrate, err, sizeof err) < 0) {
			c->aop_failed = 1;
			note(r, 2, "opus encoder unavailable; video only", c->name, "%s", err);
			return;
		}
		if (lsp_aopus_put(c->aop, d, e->len, e->pts, put_opus, &a, err, sizeof err) < 0)
			c->overruns++;
	}
}

static void pump(struct rtc *r, struct chan *c)
{
	lsp_ring_entry e;
	int rc, budget = 512;
	if (!c->ring)
		return;
	if (lsp_ring_generation(c->ring) != c->gen) { /* the writer restarted */
		c->gen = lsp_ring_generation(c->ring);
		c->cur = lsp_ring_seek_key(c->ring);
		chan_restart(r, c, 1);
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
		chan_entry(r, c, &e, c->au, c->cur == lsp_ring_head(c->ring));
	}
}

/* ------------------------------------------------- relay: origin side */

static void count(struct rtc *r, const char *what, const char *ch, long long d)
{
	if (r->cfg->count && d)
		r->cfg->count(r->cfg->ctx, what, ch, d);
}

static void relay_free(struct rtc *r, int i, const char *why)
{
	struct relayc *rc = r->relays[i];
	note(r, 1, "relay client gone", rc->ch->name, "peer=%s reason=%s bytes=%lld frames=%lld skips=%lld", rc->peer,
	     why, rc->bytes, rc->frames, rc->skips);
	count(r, "relay_clients", rc->ch->name, -1);
	rc->ch->nrelay--;
	chan_unuse(r, rc->ch);
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
	lsp_ring_entry e;
	int n, fl;
	rc->ooff = rc->olen = 0;
	if (!c->ring)
		return 0;
	if (!rc->have_gen || rc->epoch != c->ring_epoch || lsp_ring_generation(c->ring) != rc->gen) {
		rc->have_gen = 1;
		rc->epoch = c->ring_epoch;
		rc->gen = lsp_ring_generation(c->ring);
		rc->cur = lsp_ring_seek_key(c->ring);
		rc->sent_end = 0;
		lsp_rtcrelay_gen(rc->ob, rc->gen, c->ring_id);
		rc->olen = LSP_RTCRELAY_HDR + LSP_RTCRELAY_GEN_LEN;
		return 1;
	}
	for (int tries = 0; tries < 8; tries++) {
		n = lsp_ring_read(c->ring, rc->cur, &e, rc->ob + LSP_RTCRELAY_HDR, rc->obcap - LSP_RTCRELAY_HDR);
		if (n == -EAGAIN) {
			if (!lsp_ring_ended(c->ring) || rc->sent_end)
				return 0;
			rc->sent_end = 1;
			lsp_rtcrelay_hdr(rc->ob, LSP_RTCRELAY_END, 0, rc->cur, 0, 0, 0);
			rc->olen = LSP_RTCRELAY_HDR;
			return 1;
		}
		if (n == LSP_RING_OVERRUN) {
			rc->skips++;
			rc->cur = lsp_ring_seek_key(c->ring);
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
		     (rc->cur == lsp_ring_head(c->ring) ? LSP_RTCRELAY_LIVE : 0);
		lsp_rtcrelay_hdr(rc->ob, e.kind, fl, e.seq, e.pts, e.dts, e.len);
		rc->olen = LSP_RTCRELAY_HDR + e.len;
		rc->frames++;
		return 1;
	}
	return 0;
}

/* Send what rc has pending and what the ring has new, until the socket is
 * full; a ping when there was nothing for a second. */
static void relay_flush(struct rtc *r, int i)
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
				relay_free(r, i, strerror(errno));
			return;
		}
		rc->ooff += (size_t)n;
		rc->bytes += n;
		rc->last_tx = r->now;
		count(r, "relay_sent_bytes", rc->ch->name, n);
		if (rc->ooff < rc->olen)
			return; /* the socket is full: POLLOUT brings us back */
	}
}

static void peer_str(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a);
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof a);
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(out, cap, "%s:%d", a, port);
}

/* ---------------------------------------------------- relay: edge side */

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
	up_close(c);
	u->fails++;
	u->backoff = was || !u->backoff ? UP_BACKOFF_MIN : u->backoff * 2;
	if (u->backoff > UP_BACKOFF_MAX)
		u->backoff = UP_BACKOFF_MAX;
	b = u->backoff / 2 + (long long)(rand32() % (uint32_t)(u->backoff / 2 + 1));
	u->next_try = r->now + b;
	u->result = status;
	u->result_at = r->now;
	note(r, !first ? 0 : status == 404 ? 1 : 2,
	     was ? "origin lost" : status == 404 ? "channel not at the origin" : "origin unavailable", c->name,
	     "url=%s reason=%s retry_ms=%lld", u->url, why, b);
}

static void up_start(struct rtc *r, struct chan *c)
{
	struct upstream *u = &c->up;
	struct sockaddr_storage ss;
	socklen_t sl;
	char url[sizeof u->url], hp[300], err[256];
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
	n = snprintf(u->req, sizeof u->req,
		     "GET /relay/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lsp-rtc/" LSP_VERSION "\r\nAccept: %s\r\n\r\n",
		     c->name, hp, LSP_RTCRELAY_CTYPE);
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
	lsp_rtcrelay_reset(&u->rd);
}

static void up_frame(struct rtc *r, struct chan *c, const lsp_rtcrelay_frame *f)
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
			chan_restart(r, c, 1);
			note(r, 1, "origin generation", c->name, "generation=%llu ring=%llx", (unsigned long long)f->seq,
			     (unsigned long long)lsp_rtcrelay_gen_id(f));
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
		return;
	case LSP_RTCRELAY_END:
		note(r, 1, "origin stream ended", c->name, NULL);
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
		chan_restart(r, c, 1);
	} else if (u->have_seq && f->seq > u->seq && !(f->kind == LSP_RTCRELAY_VIDEO && (f->flags & LSP_RTCRELAY_KEY))) {
		u->gaps++;       /* the origin skipped entries (we were slow): resume at a keyframe */
		chan_restart(r, c, 0);
	}
	u->have_seq = 1;
	u->seq = f->seq + 1;
	u->seen[f->seq % 1024].seq = f->seq;
	u->seen[f->seq % 1024].pts = f->pts;
	e = (lsp_ring_entry){ .seq = f->seq, .pts = f->pts, .dts = f->dts, .kind = f->kind,
			      .flags = f->flags & LSP_RTCRELAY_KEY ? LSP_RING_KEY : 0, .len = f->len };
	chan_entry(r, c, &e, f->data, (f->flags & LSP_RTCRELAY_LIVE) != 0);
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
		up_frame(r, c, &f);
		if (c->up.state != UP_STREAM)
			return;
	}
}

static void up_io(struct rtc *r, struct chan *c, short ev)
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
		char why[64];
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
		count(r, "relay_connects", c->name, 1);
		if (u->ever) {
			u->reconnects++;
			count(r, "relay_reconnects", c->name, 1);
		}
		u->ever = 1;
		note(r, 1, "origin connected", c->name, "url=%s", u->url);
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
		count(r, "relay_bytes", c->name, n);
		up_bytes(r, c, r->rx, (size_t)n);
	}
}

/* Timers of the origin connection, every loop. */
static void up_step(struct rtc *r, struct chan *c)
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
				note(r, 1, "origin moved", c->name, "from=%s to=%s", u->url, url);
				up_close(c);
				u->next_try = r->now;
			}
		}
		break;
	default:
		break;
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
		chan_unuse(r, s->ch);
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
	want_key(r, c->name); /* a fresh keyframe for the newcomer, even with a GOP held */
	if (c->have_key && c->vseq - c->key_cseq <= HIST && hist_get(c, c->key_cseq)) {
		s->next = c->key_cseq;
		s->burst_end = c->vseq;
		s->burst_frame = c->frame ? c->frame - 1 : 0;
		s->burst_ts = c->last_ts;
		flush_viewers(r, c);
	} else
		s->waiting_key = 1;
}

static void send_sr(struct rtc *r, struct sess *s)
{
	struct chan *c = s->ch;
	uint8_t b[RTCP_BUF];
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
	uint8_t b[RTCP_BUF];
	int n, k;
	if (!s->pub_vssrc)
		return;
	n = lsp_rtcp_rr(b, sizeof b, s->vssrc, s->pub_vssrc, 0);
	if (n <= 0) /* no room left for REMB: never index b with a failed length */
		return;
	k = lsp_rtcp_remb(b + n, sizeof b - (size_t)n, s->vssrc, s->pub_vssrc, (uint64_t)r->cfg->whip_bitrate);
	if (n > 0 && k > 0 && (k = lsp_dtls_protect_rtcp(s->dtls, b, (size_t)n + (size_t)k, sizeof b)) > 0)
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
	struct chan *park;  /* edge: wait for this channel's origin, then again */
	int taken;          /* the connection became a relay client */
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
	} else if (r->edge) {
		/* the first viewer of a channel opens its origin connection;
		 * the answer waits (PARK_MS at most) until the origin streams */
		if (!(c = chan_get(r, ch, 0))) {
			rs->status = 503;
			rs->body = "too many channels\n";
			return;
		}
		if (c->up.state != UP_STREAM || !c->up.have_gen) {
			if (!k->parked) {
				struct upstream *u = &c->up;
				/* a viewer is a reason to retry soon, not to hammer */
				if (u->state == UP_IDLE && u->next_try > u->t0 + UP_BACKOFF_MIN)
					u->next_try = u->t0 + UP_BACKOFF_MIN;
				rs->park = c;
				return;
			}
			rs->status = c->up.result == 404 || !c->up.result ? 404 : 502;
			rs->body = rs->status == 404 ? "channel not live\n" : "origin unavailable\n";
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
}

/* GET /relay/C from an edge: the connection becomes a relay client of C. */
static void relay_open(struct rtc *r, struct conn *k, const char *ch, struct resp *rs)
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
	if (r->edge) { /* one tier: an edge relays nothing on */
		rs->body = "not an origin\n";
		return;
	}
	for (int i = 0; i < MAX_RELAY && slot < 0; i++)
		if (!r->relays[i])
			slot = i;
	if (slot < 0) {
		rs->status = 503;
		rs->body = "too many relay clients\n";
		return;
	}
	if (!(c = chan_get(r, ch, 1)))
		return;
	if (!(rc = calloc(1, sizeof *rc)) || !(rc->ob = malloc(LSP_RTCRELAY_HDR + 256 * 1024))) {
		free(rc);
		rs->status = 503;
		rs->body = "out of memory\n";
		return;
	}
	rc->obcap = LSP_RTCRELAY_HDR + 256 * 1024;
	n = snprintf((char *)rc->ob, rc->obcap,
		     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
		     "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n%s",
		     LSP_RTCRELAY_CTYPE, LSP_RTCRELAY_PREFACE);
	rc->olen = (size_t)n;
	rc->fd = k->fd;
	rc->ch = c;
	rc->t0 = rc->last_tx = r->now;
	setsockopt(rc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	peer_str(rc->fd, rc->peer, sizeof rc->peer);
	c->nrelay++;
	r->relays[slot] = rc;
	r->relays_total++;
	note(r, 1, "relay client connected", ch, "peer=%s", rc->peer);
	count(r, "relay_clients", ch, 1);
	want_key(r, ch); /* the edge starts at a keyframe: make a fresh one */
	rs->taken = 1;
}

/* 1 if s can go between JSON quotes as it is (URLs from the bus are not trusted). */
static int json_safe(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
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
		PUT("%s{\"name\":\"%s\",\"viewers\":%d,\"edges\":%d,\"frames\":%lld,\"overruns\":%lld,"
		    "\"opus\":%s,\"bframes\":%s",
		    first ? "" : ",", c->name, c->nsess, c->nrelay, c->aus, c->overruns, c->aop ? "true" : "false",
		    c->bframes ? "true" : "false");
		if (c->relay) {
			static const char *const st[] = { "idle", "connecting", "head", "streaming" };
			const struct upstream *u = &c->up;
			PUT(",\"origin\":{\"url\":\"%s\",\"state\":\"%s\",\"connects\":%lld,\"reconnects\":%lld,"
			    "\"bytes\":%lld,\"frames\":%lld,\"gaps\":%lld,\"restarts\":%lld,\"generation\":%llu}",
			    json_safe(u->url) ? u->url : "?", st[u->state], u->connects, u->reconnects, u->bytes,
			    u->frames, u->gaps, u->restarts, (unsigned long long)u->gen);
		}
		PUT("}");
		first = 0;
	}
	PUT("],\"relays_total\":%lld,\"relays\":[", r->relays_total);
	first = 1;
	for (int i = 0; i < MAX_RELAY; i++) {
		const struct relayc *rc = r->relays[i];
		if (!rc)
			continue;
		PUT("%s{\"channel\":\"%s\",\"peer\":\"%s\",\"bytes\":%lld,\"frames\":%lld,\"skips\":%lld}",
		    first ? "" : ",", rc->ch->name, rc->peer, rc->bytes, rc->frames, rc->skips);
		first = 0;
	}
	PUT("]}\n");
done:
#undef PUT
	*len = o;
}

/* Answer one request: 0 answered (close the connection), 1 parked (keep
 * it; run again when its channel's origin answers), 2 taken by a relay. */
static int handle(struct rtc *r, struct conn *k, const lsp_http_req *rq, size_t head)
{
	struct resp rs = { 404, "text/plain", "", "not found\n", 0, NULL, 0 };
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
	} else if (rq->method == LSP_HTTP_GET && !strncmp(path, "/relay/", 7)) {
		relay_open(r, k, path + 7, &rs);
		if (rs.taken)
			return 2;
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
		if (rs.park) {
			k->park = rs.park;
			k->park_t = r->now;
			k->parked = 1;
			k->rq = *rq; /* its strings point into k->buf, which stays */
			k->head = head;
			rs.park->nwait++;
			return 1;
		}
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
	return 0;
}

static void conn_unpark(struct rtc *r, struct conn *k)
{
	if (!k->park)
		return;
	k->park->nwait--;
	chan_unuse(r, k->park);
	k->park = NULL;
}

static void conn_close(struct rtc *r, int i)
{
	conn_unpark(r, r->conns[i]);
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
		struct resp rs = { h < 0 ? -h : 413, "text/plain", "", "bad request\n", 12, NULL, 0 };
		r->c.http_bad++;
		if (rs.status < 400)
			rs.status = 400;
		http_send(k, &rs);
		conn_close(r, i);
		return;
	}
	if (rq.content_length > 0 && k->len < (size_t)h + (size_t)rq.content_length)
		return;
	switch (handle(r, k, &rq, (size_t)h)) {
	case 1: /* parked */
		return;
	case 2: /* the socket now belongs to a relay client */
		free(k);
		r->conns[i] = NULL;
		return;
	default:
		conn_close(r, i);
	}
}

/* Edge: offers waiting for their channel's origin, answered once it
 * streams, fails, or PARK_MS pass. */
static void unpark(struct rtc *r)
{
	for (int i = 0; i < MAX_CONN; i++) {
		struct conn *k = r->conns[i];
		struct chan *c;
		if (!k || !(c = k->park))
			continue;
		if (!(c->up.state == UP_STREAM && c->up.have_gen) && !(c->up.result_at >= k->park_t && c->up.result != 200) &&
		    r->now - k->park_t < PARK_MS)
			continue;
		conn_unpark(r, k);
		handle(r, k, &k->rq, k->head);
		conn_close(r, i);
	}
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
		/* browsers' encoders make few keyframes on their own: ask for
		 * one regularly, so viewers, edges and the HLS transcode get
		 * frequent decodable points (ask_key keeps its own floor) */
		if (s->state == S_LIVE && s->whip && r->cfg->pli_interval_ms > 0 &&
		    r->now - s->last_pli >= r->cfg->pli_interval_ms)
			ask_key(r, s);
	}
	for (int i = 0; i < MAX_CHAN; i++) {
		struct chan *c = &r->chans[i];
		if (!c->used)
			continue;
		if (!chan_users(c) && r->now - c->idle_since > 10000) {
			chan_drop(c);
			continue;
		}
		/* an ended or missing ring: look for a new writer once a second */
		if (!c->relay && (!c->ring || lsp_ring_ended(c->ring)) && r->now - c->last_reopen > 1000) {
			c->last_reopen = r->now;
			lsp_ring *nr;
			char err[160];
			if (lsp_ring_open(&nr, c->path, err, sizeof err) == 0) {
				if (!lsp_ring_ended(nr) && (!c->ring || lsp_ring_generation(nr) != c->gen ||
							    lsp_ring_head(nr) != lsp_ring_head(c->ring))) {
					lsp_ring_close(c->ring);
					c->ring = nr;
					c->ring_epoch++;
					c->ring_id = ring_id(c->path);
					c->gen = lsp_ring_generation(nr);
					c->cur = lsp_ring_seek_key(nr);
					chan_restart(r, c, 1);
				} else
					lsp_ring_close(nr);
			}
		}
	}
}

int lsp_rtc_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap)
{
	struct rtc *r = calloc(1, sizeof *r);
	struct pollfd pf[3 + MAX_CONN + MAX_RELAY + MAX_CHAN];
	int idx[3 + MAX_CONN + MAX_RELAY + MAX_CHAN];
	long long last_tick = 0;
	int rc = 0;
	if (!r) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	r->cfg = cfg;
	r->udp = r->http = -1;
	r->edge = (cfg->origin && *cfg->origin) || cfg->origin_route;
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
	if (cfg->origin && *cfg->origin) { /* check it now: a typo is a start-up error */
		struct sockaddr_storage ss;
		socklen_t sl;
		char hp[300];
		if ((rc = lsp_httpurl_resolve(cfg->origin, &ss, &sl, hp, sizeof hp, err, errcap)) < 0)
			goto out;
	}
	note(r, 1, "listening", NULL, "http=%s:%d udp=%s:%d candidate=%s:%d origin=%s", cfg->http_host, cfg->http_port,
	     cfg->udp_host, cfg->udp_port, cfg->cand_ip, cfg->udp_port,
	     cfg->origin_route ? "auto" : cfg->origin && *cfg->origin ? cfg->origin : "");
	for (;;) {
		int np = 0, live = 0;
		pf[np] = (struct pollfd){ stopfd, POLLIN, 0 };
		idx[np++] = -1;
		pf[np] = (struct pollfd){ r->udp, POLLIN, 0 };
		idx[np++] = -2;
		pf[np] = (struct pollfd){ r->http, POLLIN, 0 };
		idx[np++] = -3;
		for (int i = 0; i < MAX_CONN; i++)
			if (r->conns[i] && !r->conns[i]->park) {
				pf[np] = (struct pollfd){ r->conns[i]->fd, POLLIN, 0 };
				idx[np++] = i;
			}
		for (int i = 0; i < MAX_RELAY; i++)
			if (r->relays[i]) {
				struct relayc *rc = r->relays[i];
				pf[np] = (struct pollfd){ rc->fd, (short)(POLLIN | (rc->ooff < rc->olen ? POLLOUT : 0)), 0 };
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
			goto out;
		}
		r->now = lsp_clock_mono_ms();
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
		for (int p = 3; p < np; p++) {
			if (!pf[p].revents)
				continue;
			if (idx[p] >= 0 && idx[p] < MAX_CONN) {
				if (r->conns[idx[p]])
					on_conn(r, idx[p]);
			} else if (idx[p] >= 1000 && idx[p] < 1000 + MAX_RELAY) {
				struct relayc *rc = r->relays[idx[p] - 1000];
				char junk[512];
				ssize_t n;
				/* an edge sends nothing after its request: only its close matters */
				if (rc && (pf[p].revents & (POLLIN | POLLERR | POLLHUP)) &&
				    ((n = recv(rc->fd, junk, sizeof junk, 0)) == 0 ||
				     (n < 0 && errno != EAGAIN && errno != EINTR)))
					relay_free(r, idx[p] - 1000, "closed by the edge");
			} else if (idx[p] >= 2000 && idx[p] < 2000 + MAX_CHAN) {
				struct chan *c = &r->chans[idx[p] - 2000];
				if (c->used && c->relay && c->up.state != UP_IDLE)
					up_io(r, c, pf[p].revents);
			}
		}
		for (int i = 0; i < MAX_CONN; i++) /* slow or silent clients */
			if (r->conns[i] && !r->conns[i]->park && r->now - r->conns[i]->t0 > 10000)
				conn_close(r, i);
		for (int i = 0; i < MAX_CHAN; i++)
			if (r->chans[i].used) {
				if (r->chans[i].relay)
					up_step(r, &r->chans[i]);
				else
					pump(r, &r->chans[i]);
			}
		for (int i = 0; i < MAX_RELAY; i++)
			if (r->relays[i])
				relay_flush(r, i);
		unpark(r);
		if (r->now - last_tick >= TICK_MS) {
			last_tick = r->now;
			tick(r);
		}
	}
out:
	for (int i = 0; i < MAX_RELAY; i++)
		if (r->relays[i])
			relay_free(r, i, "shutdown");
	for (int i = 0; i < MAX_CONN; i++)
		if (r->conns[i])
			conn_close(r, i);
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
