/* rtcchan.c — the lsp-rtc channel table (see rtc_int.h).
 *
 * A channel is one slot of r->chans, found by name; it owns its source (a
 * ring reader, or in edge mode the origin connection in c->up, driven by
 * rtcedge.c), one H.264 packetizer whose packets go into a history of HIST
 * video packets (NACK retransmission, and the last GOP a new viewer starts
 * with), and one Opus encoder.  Every viewer of the channel is sent the
 * same packets, with its own sequence/timestamp offsets and SRTP context,
 * from its own cursor (sess->next) into the history.  A viewer served
 * another rung (rtcabr.c) takes its video from that rung's channel
 * ("CH~RUNG", chan.lad: video only) and its audio from the channel.  A channel lives
 * while sessions, relay clients or parked offers use it, and 10 s after. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/udp.h>

#include "rtc/rtc_int.h"
#include "rtc/rtp.h"

/* ------------------------------------------------------- fan-out */

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

void rtc_send_vpkt(struct rtc *r, struct sess *s, const struct vpkt *p, int rtx)
{
	uint8_t b[1500];
	int n = build_vpkt(s, p, b);
	if (n < 0)
		return;
	rtc_udp_send(r, s, b, (size_t)n);
	if (rtx)
		s->rtx++;
	else {
		s->vpkts++;
		s->voct += p->len;
	}
}

#define BATCH 32
#define GSO_SEGS 16 /* datagrams in one UDP GSO send at most (the kernel takes 64) */

/* Send n built datagrams to s with as few system calls as the kernel
 * takes: one sendmmsg, and in it, unless GSO is off, each run of
 * equal-sized datagrams (its last may be shorter) as one UDP GSO message
 * (UDP_SEGMENT: the stack is walked once per run, not per datagram).  A
 * path that refuses GSO turns it off for good and is sent to again. */
static void send_batch(struct rtc *r, struct sess *s, uint8_t (*bufs)[1500], const int *lens, int n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	union {
		char b[RTC_CMSG_CAP];
		struct cmsghdr h;
	} cm[BATCH];
	int cnt[BATCH], first[BATCH];
	if (!s->have_addr || n > BATCH)
		return;
	if (s->tcp) { /* ICE-TCP: framed one by one on its connection */
		for (int i = 0; i < n; i++)
			rtc_udp_send(r, s, bufs[i], (size_t)lens[i]);
		return;
	}
	for (int from = 0; from < n;) {
		int nm = 0, done = 0, sent = 0, retry = -1;
		for (int i = from; i < n;) {
			int j = i + 1;
			if (r->cfg->gso && !r->gso_off)
				while (j < n && j - i < GSO_SEGS && lens[j - 1] == lens[i] && lens[j] <= lens[i])
					j++;
			memset(&mm[nm], 0, sizeof mm[nm]);
			for (int k = i; k < j; k++)
				iov[k] = (struct iovec){ bufs[k], (size_t)lens[k] };
			mm[nm].msg_hdr.msg_name = &s->addr;
			mm[nm].msg_hdr.msg_namelen = s->alen;
			mm[nm].msg_hdr.msg_iov = &iov[i];
			mm[nm].msg_hdr.msg_iovlen = (size_t)(j - i);
			/* the segment size of a GSO run, and our source address */
			mm[nm].msg_hdr.msg_controllen = rtc_cmsg_put(cm[nm].b, &s->local, j - i > 1 ? (uint16_t)lens[i] : 0);
			if (mm[nm].msg_hdr.msg_controllen)
				mm[nm].msg_hdr.msg_control = cm[nm].b;
			first[nm] = i;
			cnt[nm++] = j - i;
			i = j;
		}
		while (sent < nm) {
			int k = sendmmsg(r->udp, mm + sent, (unsigned)(nm - sent), 0);
			if (k <= 0) {
				if (k < 0 && cnt[sent] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
					r->gso_off = 1; /* this path cannot: datagram by datagram from here */
					retry = first[sent];
				} else
					r->c.send_err += n - from - done;
				break;
			}
			if (k > nm - sent)
				k = nm - sent;
			for (int m = sent; m < sent + k; m++)
				done += cnt[m];
			sent += k;
		}
		r->c.sent += done;
		if (retry < 0)
			return;
		from = retry;
	}
}

const struct vpkt *rtc_hist_get(const struct chan *c, uint64_t cseq)
{
	const struct vpkt *p = &c->hist[cseq % HIST];
	return cseq < c->vseq && p->cseq == cseq ? p : NULL;
}

void rtc_flush_viewers(struct rtc *r, struct chan *c)
{
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		if (s->state != S_LIVE || s->vch != c || s->whip || s->vpt < 0 || s->waiting_key)
			continue;
		if (c->vseq - s->next > HIST) { /* fell out of the history: next keyframe */
			s->waiting_key = 1;
			rtc_want_key(r, c->name);
			continue;
		}
		uint8_t bufs[BATCH][1500];
		int lens[BATCH], nb = 0;
		for (; s->next < c->vseq; s->next++) {
			const struct vpkt *p = rtc_hist_get(c, s->next);
			if (!p || (lens[nb] = build_vpkt(s, p, bufs[nb])) < 0)
				continue;
			s->vlast_ts = p->ts; /* where a switch of rung goes on from */
			s->vout_ts = vts(s, p) + s->vts_off;
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

/* ------------------------------------------------------- packetizer */

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
			if (nl != c->sps_len || memcmp(c->sps, nal, nl) != 0)
				lsp_h264_sps_size(nal, nl, &c->width, &c->height);
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
	{
		uint32_t ts = (uint32_t)(e->dts != INT64_MIN ? e->dts : e->pts);
		if (c->frame && ts - c->pk_ts > 0 && ts - c->pk_ts <= 9000) /* up to 10 fps */
			c->fdur = ts - c->pk_ts;
		c->pk_ts = ts;
	}
	if (r->now - c->rate_t0 >= 2000) { /* the video rate, for the ABR */
		if (c->rate_t0)
			c->rate_bps = (uint32_t)(c->rate_bytes * 8000 / (r->now - c->rate_t0));
		c->rate_t0 = r->now;
		c->rate_bytes = 0;
	}
	c->rate_bytes += (long long)e->len;
	if (!c->bframes && !c->lad && e->dts != INT64_MIN && e->pts != e->dts) {
		c->bframes = 1;
		c->want_rung = !c->relay && !c->rung[0];
		RTC_EMIT(r, LSP_WARN, "source has B-frames: browsers' H.264 decoders cannot reorder; use bframes=0",
			 "channel", LSV_S(c->name));
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
	if (c->pk_key) {
		rtc_abr_key(r, c); /* viewers switching to this rung: here it starts */
		for (int i = 0; i < r->nsess_max; i++) {
			struct sess *s = &r->sess[i];
			if (s->state == S_LIVE && s->vch == c && s->waiting_key) {
				s->waiting_key = 0;
				/* close the sequence gap of the skipped packets (else the
				 * viewer NACKs them all), and never resend from before */
				if (s->vpkts)
					s->vseq_off = (uint16_t)(s->vseq_off - (uint16_t)(c->key_cseq - s->next));
				s->next = c->key_cseq;
				s->nack_floor = c->key_cseq;
			}
		}
	}
	rtc_flush_viewers(r, c);
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
		rtc_udp_send(r, s, b, (size_t)n);
		s->apkts++;
		s->aoct += (long long)len;
	}
}

/* ------------------------------------------------------- the table */

void rtc_chan_drop(struct chan *c)
{
	rtc_up_close(c);
	rtc_fwd_close(c);
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
	c->ring_since = 0; /* set at the first tick: a ring attached before the loop's clock */
	c->ring_aus = c->aus;
	return 0;
}

struct chan *rtc_chan_find(struct rtc *r, const char *name)
{
	for (int i = 0; i < MAX_CHAN; i++)
		if (r->chans[i].used && !strcmp(r->chans[i].name, name))
			return &r->chans[i];
	return NULL;
}

struct chan *rtc_chan_get(struct rtc *r, const char *name, int need_ring)
{
	struct chan *c = rtc_chan_find(r, name);
	if (c)
		return c;
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
		rtc_chan_drop(c);
		return NULL;
	}
	c->used = 1;
	c->last_reopen = c->idle_since = r->now;
	return c;
}

int rtc_chan_users(const struct chan *c)
{
	return c->nsess + c->nrelay + c->nwait + c->nvid;
}

void rtc_chan_unuse(struct rtc *r, struct chan *c)
{
	if (!rtc_chan_users(c))
		c->idle_since = r->now;
}

/* ------------------------------------------------------- the source */

/* The source broke its continuity (a new generation, lost entries, a new
 * origin): viewers resume at the next keyframe, a new viewer waits for
 * one, and sender reports are re-anchored.  With rebase (another stream,
 * its clock unrelated) its time stamps are shifted to go on one frame after
 * the last ones sent, so players see one stream whose time never jumps;
 * the Opus encoder starts afresh on it. */
void rtc_chan_restart(struct rtc *r, struct chan *c, int rebase)
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
		if (s->state == S_LIVE && s->vch == c && !s->whip && s->vpt >= 0)
			s->waiting_key = 1;
	}
}

/* One access unit from the channel's source (its ring, or the origin);
 * live: it was the newest one there when read. */
void rtc_chan_entry(struct rtc *r, struct chan *c, const lsp_ring_entry *in, const uint8_t *d, int live)
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
	else if (e->kind == LSP_RING_AUDIO && !c->aop_failed && !c->lad) { /* a rung's slot: video only */
		struct aud_ctx a = { r, c };
		if (!c->aop && lsp_aopus_open(&c->aop, r->cfg->opus_bitrate, err, sizeof err) < 0) {
			c->aop_failed = 1;
			RTC_EMIT(r, LSP_WARN, "opus encoder unavailable; video only", "channel", LSV_S(c->name), "reason",
				 LSV_S(err));
			return;
		}
		if (lsp_aopus_put(c->aop, d, e->len, e->pts, put_opus, &a, err, sizeof err) < 0)
			c->overruns++;
	}
}

void rtc_chan_pump(struct rtc *r, struct chan *c)
{
	lsp_ring_entry e;
	int rc, budget = 512;
	if (!c->ring)
		return;
	if (lsp_ring_generation(c->ring) != c->gen) { /* the writer restarted */
		c->gen = lsp_ring_generation(c->ring);
		c->cur = lsp_ring_seek_key(c->ring);
		rtc_chan_restart(r, c, 1);
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
		rtc_chan_entry(r, c, &e, c->au, c->cur == lsp_ring_head(c->ring));
	}
}

/* The tallest rung lsp-transcode writes for channel c (ring
 * "lsp-ring-<ch>~<rung>", live): its name into out, or -1 when none. */
static int find_rung(const struct chan *c, char *out, size_t cap)
{
	char dir[400], pfx[LSP_NAME_MAX + 16], path[512], err[160];
	struct dirent *d;
	DIR *dh;
	long best = -1;
	size_t pl;
	if (lsp_ring_dir(dir, sizeof dir) < 0 || !(dh = opendir(dir)))
		return -1;
	pl = (size_t)snprintf(pfx, sizeof pfx, "lsp-ring-%s~", c->name);
	while ((d = readdir(dh))) {
		const char *rung = d->d_name + pl;
		lsp_ring *rg;
		long h;
		int live;
		if (strncmp(d->d_name, pfx, pl) != 0 || !*rung || strlen(rung) >= cap || (h = strtol(rung, NULL, 10)) <= best)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, d->d_name) >= (int)sizeof path ||
		    lsp_ring_open(&rg, path, err, sizeof err) < 0)
			continue;
		live = !lsp_ring_ended(rg);
		lsp_ring_close(rg);
		if (live) {
			best = h;
			snprintf(out, cap, "%s", rung);
		}
	}
	closedir(dh);
	return best >= 0 ? 0 : -1;
}

/* Feed c from ring path (already open as nr): the viewers continue with
 * a discontinuity at its next key frame. */
#define NOVIDEO_MS 2000 /* a source ring without video this long: serve a rung */

static void chan_switch(struct rtc *r, struct chan *c, lsp_ring *nr)
{
	lsp_ring_close(c->ring);
	c->ring = nr;
	c->ring_epoch++;
	c->ring_id = ring_id(c->path);
	c->gen = lsp_ring_generation(nr);
	c->cur = lsp_ring_seek_key(nr);
	c->ring_since = r->now;
	c->ring_aus = c->aus;
	rtc_chan_restart(r, c, 1);
}

/* B-frames in the source (WebRTC decoders do not reorder) or no H.264
 * video at all (HEVC): serve the tallest transcoded rung instead (H.264
 * without B-frames), once lsp-transcode writes one (scripts/lsp-channel
 * passes --ring-prefix). */
static int chan_try_rung(struct rtc *r, struct chan *c)
{
	char rung[sizeof c->rung], path[sizeof c->path], name[sizeof c->name + 32], err[160];
	lsp_ring *nr;
	if (find_rung(c, rung, sizeof rung) < 0)
		return -1;
	snprintf(name, sizeof name, "%s~%s", c->name, rung);
	if (lsp_ring_path(name, path, sizeof path) < 0 || lsp_ring_open(&nr, path, err, sizeof err) < 0)
		return -1;
	snprintf(c->path, sizeof c->path, "%s", path);
	snprintf(c->rung, sizeof c->rung, "%s", rung);
	c->want_rung = 0;
	chan_switch(r, c, nr);
	RTC_EMIT(r, LSP_INFO, "serving rung", "channel", LSV_S(c->name), "rung", LSV_S(rung), "reason",
		 LSV_S(c->bframes ? "source has B-frames" : "source has no H.264 video"), NULL);
	return 0;
}

void rtc_chan_tick(struct rtc *r, struct chan *c)
{
	lsp_ring *nr;
	char err[160];
	if (!c->used)
		return;
	if (!rtc_chan_users(c) && r->now - c->idle_since > 10000) {
		if (c->relay)
			rtc_up_report(r, c);
		rtc_chan_drop(c);
		return;
	}
	if (c->lad && rtc_chan_users(c) && r->now - c->rung_wanted >= 1000) { /* a rung viewers are on */
		c->rung_wanted = r->now;
		lsp_ring_want(c->name);
	}
	if (c->rung[0] && r->now - c->rung_wanted >= 1000) { /* keep the rung encoded (--on-demand) */
		char name[sizeof c->name + 32];
		c->rung_wanted = r->now;
		snprintf(name, sizeof name, "%s~%s", c->name, c->rung);
		lsp_ring_want(name);
	}
	if (!c->ring_since)
		c->ring_since = r->now;
	/* no H.264 video from the source's ring (an HEVC source: lsp-ring
	 * writes H.264 only) for NOVIDEO_MS: the transcoded rung has it */
	if (!c->rung[0] && !c->relay && !c->lad && !c->want_rung && !c->novideo && c->aus == c->ring_aus &&
	    r->now - c->ring_since > NOVIDEO_MS) {
		c->want_rung = c->novideo = 1;
		RTC_EMIT(r, LSP_INFO, "source has no H.264 video", "channel", LSV_S(c->name));
	}
	if (c->want_rung && !c->relay && r->now - c->last_reopen > 1000) {
		c->last_reopen = r->now;
		if (chan_try_rung(r, c) == 0 || (c->ring && !lsp_ring_ended(c->ring)))
			return; /* a rung, or the source still writing: try again in a second */
	}
	/* an ended or missing ring: look for a new writer once a second */
	if (c->relay || (c->ring && !lsp_ring_ended(c->ring)) || r->now - c->last_reopen <= 1000)
		return;
	c->last_reopen = r->now;
	if (c->rung[0]) { /* the rung's session ended: back to the source's ring, which tells anew */
		c->rung[0] = 0;
		c->bframes = c->want_rung = 0;
		if (lsp_ring_path(c->name, c->path, sizeof c->path) < 0)
			return;
	}
	if (lsp_ring_open(&nr, c->path, err, sizeof err) < 0)
		return;
	if (!lsp_ring_ended(nr) &&
	    (!c->ring || lsp_ring_generation(nr) != c->gen || lsp_ring_head(nr) != lsp_ring_head(c->ring))) {
		chan_switch(r, c, nr);
		c->want_rung = c->novideo = 0; /* a new source: it tells anew */
	} else
		lsp_ring_close(nr);
}
