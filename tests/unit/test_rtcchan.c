/* test_rtcchan — lib/rtc's channel table (rtcchan.c through rtc_int.h),
 * driven without sockets: a server from rtc_new, channels fed canned H.264
 * access units (directly, from a real ring under a temporary
 * $LSP_RING_DIR, or as frames from an origin), viewers and a publisher as
 * bare session slots (no DTLS: nothing is sent, the bookkeeping is what is
 * checked).
 *
 *   - add / find / drop: one slot per name, 64 at most, a ring required
 *     only when asked for, a freed slot is reused;
 *   - users and idle: a channel lives while used and 10 s after;
 *   - packetizer: AUD dropped, SPS/PPS/IDR as single NAL units or FU-A
 *     fragments of at most 1160 bytes, the marker on the last packet of a
 *     frame, SPS/PPS put before an IDR that lacks them, the keyframe's first
 *     packet remembered, the history bounded to HIST packets;
 *   - viewers: one waiting for a keyframe starts at it (sequence gap
 *     closed, no retransmission from before); one fallen out of the history
 *     waits again and the channel's WHIP publisher is asked for a keyframe
 *     (PLI at most every 500 ms);
 *   - a restarted source: viewers wait for a keyframe, its time continues
 *     after the last frame sent; B-frames reported once;
 *   - the ring pump: entries read, the live edge anchors sender reports, a
 *     new ring generation restarts the channel;
 *   - edge: origin frames before a generation frame are refused, a resent
 *     entry is dropped, a gap makes viewers wait for a keyframe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rtc/rtc_int.h"

/* ---------------------------------------------------------- fixture */

static struct {
	int n;
	char last[128], channel[LSP_NAME_MAX + 1];
	int level;
	int bframes;
	int generations;
} evs;

static void on_event(void *ctx, const lsp_event *ev)
{
	const char *ch = lsp_event_str(ev, "channel");
	(void)ctx;
	evs.n++;
	snprintf(evs.last, sizeof evs.last, "%s", ev->name);
	snprintf(evs.channel, sizeof evs.channel, "%s", ch ? ch : "");
	evs.level = ev->level;
	if (!strncmp(ev->name, "source has B-frames", 19))
		evs.bframes++;
	if (lsp_event_is(ev, "origin generation"))
		evs.generations++;
}

static char ring_dir[] = "/tmp/test_rtcchan.XXXXXX";

struct fx {
	lsp_rtc_cfg cfg;
	struct rtc *r;
};

static int setup_mode(void **state, const char *origin)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	if (!f)
		return -1;
	f->cfg.max_sessions = 8;
	f->cfg.consent_s = 15;
	f->cfg.opus_bitrate = 64000;
	f->cfg.origin = origin;
	f->cfg.event = on_event;
	if (rtc_new(&f->r, &f->cfg, err, sizeof err) < 0) {
		free(f);
		return -1;
	}
	f->r->now = 100000;
	memset(&evs, 0, sizeof evs);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_mode(state, NULL); }
static int setup_edge(void **state) { return setup_mode(state, "http://127.0.0.1:1"); }

static int teardown(void **state)
{
	struct fx *f = *state;
	rtc_free(f->r);
	free(f);
	return 0;
}

/* An Annex B access unit: NAL units of the given types and sizes (the
 * first byte the NAL header, the rest a counting pattern). */
static size_t au_build(uint8_t *b, size_t cap, const int *types, const size_t *sizes, int n)
{
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		assert_true(o + 4 + sizes[i] <= cap);
		b[o++] = 0;
		b[o++] = 0;
		b[o++] = 0;
		b[o++] = 1;
		b[o++] = (uint8_t)(0x60 | types[i]);
		for (size_t k = 1; k < sizes[i]; k++)
			b[o++] = (uint8_t)(k % 200 + 1); /* never 0: no false start codes */
	}
	return o;
}

static void put(struct rtc *r, struct chan *c, int key, int64_t pts, int64_t dts, const uint8_t *au, size_t len)
{
	lsp_ring_entry e = { .seq = 0, .pts = pts, .dts = dts, .kind = LSP_RING_VIDEO,
			     .flags = key ? LSP_RING_KEY : 0, .len = len };
	rtc_chan_entry(r, c, &e, au, 0);
}

static uint8_t aub[16384];

/* AUD + SPS + PPS + IDR of idr bytes. */
static void put_idr(struct rtc *r, struct chan *c, size_t idr, int64_t t)
{
	static const int ty[] = { 9, 7, 8, 5 };
	const size_t sz[] = { 2, 12, 4, idr };
	put(r, c, 1, t, t, aub, au_build(aub, sizeof aub, ty, sz, 4));
}

/* A keyframe without parameter sets: one IDR slice of n bytes. */
static void put_bare_idr(struct rtc *r, struct chan *c, size_t n, int64_t t)
{
	static const int ty[] = { 5 };
	const size_t sz[] = { n };
	put(r, c, 1, t, t, aub, au_build(aub, sizeof aub, ty, sz, 1));
}

static void put_p(struct rtc *r, struct chan *c, size_t n, int64_t t)
{
	static const int ty[] = { 1 };
	const size_t sz[] = { n };
	put(r, c, 0, t, t, aub, au_build(aub, sizeof aub, ty, sz, 1));
}

/* A live viewer of c in a bare session slot. */
static struct sess *viewer(struct rtc *r, struct chan *c)
{
	struct sess *s = rtc_sess_new(r);
	assert_non_null(s);
	s->state = S_LIVE;
	s->ch = s->vch = c;
	snprintf(s->chname, sizeof s->chname, "%.*s", LSP_NAME_MAX, c->name);
	s->vpt = 96;
	s->apt = -1;
	s->created = s->last_rx = r->now;
	c->nsess++;
	return s;
}

/* ---------------------------------------------------------- table */

static void add_find_drop(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *a, *b, *c;
	char name[16];
	assert_null(rtc_chan_find(r, "a"));
	a = rtc_chan_get(r, "a", 0); /* no ring, none required */
	assert_non_null(a);
	assert_true(a->used);
	assert_string_equal(a->name, "a");
	assert_null(a->ring);
	assert_false(a->relay);
	assert_ptr_equal(a->r, r);
	assert_int_equal(a->idle_since, r->now);
	assert_ptr_equal(rtc_chan_find(r, "a"), a);
	assert_ptr_equal(rtc_chan_get(r, "a", 1), a); /* the one in use, as it is */
	assert_null(rtc_chan_get(r, "b", 1));          /* no ring and one required */
	assert_null(rtc_chan_find(r, "b"));
	for (int i = 1; i < MAX_CHAN; i++) {
		snprintf(name, sizeof name, "c%d", i);
		assert_non_null(rtc_chan_get(r, name, 0));
	}
	assert_null(rtc_chan_get(r, "one-too-many", 0));
	b = rtc_chan_find(r, "c7");
	assert_non_null(b);
	rtc_chan_drop(b);
	assert_false(b->used);
	assert_null(rtc_chan_find(r, "c7"));
	c = rtc_chan_get(r, "late", 0);
	assert_ptr_equal(c, b); /* the freed slot */
	assert_int_equal(c->vseq, 0);
	assert_ptr_equal(rtc_chan_find(r, "a"), a);
}

static void users_and_idle(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "idle", 0);
	assert_non_null(c);
	assert_int_equal(rtc_chan_users(c), 0);
	c->nsess = 1;
	c->nrelay = 2;
	c->nwait = 3;
	assert_int_equal(rtc_chan_users(c), 6);
	r->now += 60000;
	rtc_chan_tick(r, c); /* used: kept however long */
	assert_true(c->used);
	c->nrelay = c->nwait = 0;
	c->nsess = 0;
	rtc_chan_unuse(r, c);
	assert_int_equal(c->idle_since, r->now);
	r->now += 10000;
	rtc_chan_tick(r, c);
	assert_true(c->used); /* 10 s exactly: not yet */
	c->nsess = 1;
	rtc_chan_unuse(r, c); /* still used: the idle time does not move */
	assert_int_equal(c->idle_since, r->now - 10000);
	c->nsess = 0;
	r->now += 1;
	rtc_chan_tick(r, c);
	assert_false(c->used);
	assert_null(rtc_chan_find(r, "idle"));
}

/* ---------------------------------------------------------- packetizer */

static void packetize(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "pk", 0);
	const struct vpkt *p;
	assert_non_null(c);
	put_idr(r, c, 3000, 9000);
	/* AUD dropped; SPS, PPS whole; the IDR's 2999 bytes after its
	 * header in FU-A fragments of 1158 + 2 */
	assert_int_equal(c->vseq, 5);
	assert_true(c->have_key);
	assert_int_equal(c->key_cseq, 0);
	assert_int_equal(c->frame, 1);
	assert_int_equal(c->aus, 1);
	assert_int_equal(c->last_ts, 9000);
	assert_int_equal(c->sps_len, 12);
	assert_int_equal(c->pps_len, 4);
	p = rtc_hist_get(c, 0);
	assert_non_null(p);
	assert_int_equal(p->len, 12);
	assert_int_equal(p->d[0] & 0x1f, 7);
	assert_int_equal(p->marker, 0);
	assert_int_equal(p->ts, 9000);
	assert_int_equal(rtc_hist_get(c, 1)->d[0] & 0x1f, 8);
	for (int i = 2; i < 5; i++) {
		p = rtc_hist_get(c, (uint64_t)i);
		assert_non_null(p);
		assert_true(p->len <= PAY_MAX);
		assert_int_equal(p->d[0] & 0x1f, 28);        /* FU-A */
		assert_int_equal(p->d[1] & 0x1f, 5);         /* of an IDR */
		assert_int_equal((p->d[1] & 0x80) != 0, i == 2); /* start */
		assert_int_equal((p->d[1] & 0x40) != 0, i == 4); /* end */
		assert_int_equal(p->marker, i == 4);
		assert_int_equal(p->frame, 0);
	}
	assert_int_equal(rtc_hist_get(c, 2)->len, PAY_MAX);
	assert_int_equal(rtc_hist_get(c, 4)->len, 2 + 2999 - 2 * (PAY_MAX - 2));
	assert_null(rtc_hist_get(c, 5)); /* not made yet */

	put_p(r, c, 100, 12000);
	assert_int_equal(c->vseq, 6);
	assert_int_equal(c->key_cseq, 0); /* a P-frame is no key */
	p = rtc_hist_get(c, 5);
	assert_int_equal(p->marker, 1);
	assert_int_equal(p->len, 100);
	assert_int_equal(p->frame, 1);
	assert_int_equal(p->ts, 12000);

	/* an IDR without SPS/PPS gets the channel's before it */
	put_bare_idr(r, c, 500, 15000);
	assert_int_equal(c->vseq, 9);
	assert_int_equal(c->key_cseq, 6);
	assert_int_equal(rtc_hist_get(c, 6)->d[0] & 0x1f, 7);
	assert_int_equal(rtc_hist_get(c, 7)->d[0] & 0x1f, 8);
	assert_int_equal(rtc_hist_get(c, 8)->d[0] & 0x1f, 5);
	assert_int_equal(rtc_hist_get(c, 8)->marker, 1);
	assert_int_equal(c->frame, 3);
	assert_int_equal(c->overruns, 0);
	assert_int_equal(evs.bframes, 0);
}

static void history_bounded(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "hist", 0);
	assert_non_null(c);
	put_idr(r, c, 100, 0);
	for (int i = 1; i <= HIST; i++)
		put_p(r, c, 20, i * 3000);
	assert_int_equal(c->vseq, 3 + HIST); /* SPS, PPS, IDR (AUD dropped), HIST P */
	assert_null(rtc_hist_get(c, 0));
	assert_null(rtc_hist_get(c, 2));
	assert_non_null(rtc_hist_get(c, 3));
	assert_int_equal(rtc_hist_get(c, 3)->cseq, 3);
	assert_non_null(rtc_hist_get(c, c->vseq - 1));
	assert_null(rtc_hist_get(c, c->vseq));
}

/* ---------------------------------------------------------- viewers */

static void viewer_waits_for_key(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "vw", 0), *o = rtc_chan_get(r, "other", 0);
	struct sess *s, *t;
	assert_non_null(c);
	assert_non_null(o);
	s = viewer(r, c);
	t = viewer(r, o);
	s->waiting_key = t->waiting_key = 1;
	s->vpkts = 10; /* it had video before: its sequence must not jump */
	s->vseq_off = 100;
	put_p(r, c, 50, 3000);
	assert_true(s->waiting_key);
	assert_int_equal(s->next, 0);
	put_idr(r, c, 200, 6000);
	assert_int_equal(c->key_cseq, 1);
	assert_false(s->waiting_key);
	assert_int_equal(s->nack_floor, 1);
	assert_int_equal(s->vseq_off, 99); /* the one packet skipped is no gap */
	assert_int_equal(s->next, c->vseq); /* sent up to the newest */
	assert_true(t->waiting_key);        /* another channel's keyframe */
	assert_int_equal(t->next, 0);
	put_p(r, c, 50, 9000);
	assert_int_equal(s->next, c->vseq);
	assert_int_equal(rtc_chan_users(c), 1);
	rtc_sess_free(r, s, "test");
	assert_int_equal(s->state, S_FREE);
	assert_int_equal(rtc_chan_users(c), 0);
	assert_string_equal(evs.last, "viewer gone");
	assert_string_equal(evs.channel, "vw");
}

static void viewer_falls_behind(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "slow", 0);
	struct sess *s, *pub;
	assert_non_null(c);
	pub = rtc_sess_new(r); /* the channel's WHIP publisher, here */
	assert_non_null(pub);
	pub->state = S_LIVE;
	pub->whip = 1;
	pub->pub_vssrc = 0x1234;
	snprintf(pub->chname, sizeof pub->chname, "slow");
	s = viewer(r, c);
	put_idr(r, c, 100, 0);
	assert_int_equal(s->next, c->vseq);
	s->next = 0;
	for (int i = 1; i <= HIST; i++) /* no viewer was flushed meanwhile */
		c->hist[c->vseq % HIST].cseq = c->vseq, c->vseq++;
	rtc_flush_viewers(r, c);
	assert_true(s->waiting_key);
	assert_int_equal(pub->plis, 1);
	assert_int_equal(pub->last_pli, r->now);
	rtc_want_key(r, "slow"); /* within 500 ms: no second PLI */
	assert_int_equal(pub->plis, 1);
	r->now += 500;
	rtc_want_key(r, "slow");
	assert_int_equal(pub->plis, 2);
	rtc_want_key(r, "nobody");
	assert_int_equal(pub->plis, 2);
}

/* ---------------------------------------------------------- source */

static void restart_rebases_time(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "rb", 0);
	struct sess *s;
	uint64_t k;
	assert_non_null(c);
	s = viewer(r, c);
	put_idr(r, c, 100, 90000);
	put_p(r, c, 40, 93000);
	assert_false(s->waiting_key);
	rtc_chan_restart(r, c, 1);
	assert_true(s->waiting_key);
	assert_false(c->have_key);
	assert_false(c->anchored);
	/* another stream, its clock unrelated: one frame (3000) after the last */
	k = c->vseq;
	put_bare_idr(r, c, 100, 5000);
	assert_true(c->have_key);
	assert_int_equal(c->key_cseq, k);
	assert_int_equal(rtc_hist_get(c, k)->ts, 96000);
	assert_false(s->waiting_key);
	put_p(r, c, 40, 8000);
	assert_int_equal(rtc_hist_get(c, c->vseq - 1)->ts, 99000);
	/* without rebase (entries lost, same stream): time goes on unshifted
	 * relative to the source, viewers still wait for a keyframe */
	rtc_chan_restart(r, c, 0);
	assert_true(s->waiting_key);
	put_p(r, c, 40, 11000);
	assert_int_equal(rtc_hist_get(c, c->vseq - 1)->ts, 102000);
	assert_true(s->waiting_key);
}

static void bframes_reported_once(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct chan *c = rtc_chan_get(r, "bf", 0);
	static const int ty[] = { 1 };
	const size_t sz[] = { 30 };
	size_t n = au_build(aub, sizeof aub, ty, sz, 1);
	assert_non_null(c);
	put_idr(r, c, 100, 3000);
	put(r, c, 0, 12000, 6000, aub, n); /* pts != dts */
	assert_true(c->bframes);
	assert_int_equal(rtc_hist_get(c, c->vseq - 1)->ts, 6000); /* RTP time is the decode time */
	assert_int_equal(evs.bframes, 1);
	assert_int_equal(evs.level, LSP_WARN);
	assert_string_equal(evs.channel, "bf");
	put(r, c, 0, 15000, 9000, aub, n);
	assert_int_equal(evs.bframes, 1);
}

/* ---------------------------------------------------------- ring pump */

static void ring_pump(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	char path[256], err[256];
	lsp_ring *w;
	struct chan *c;
	struct sess *s;
	static const int ty[] = { 7, 8, 5 }, tp[] = { 1 };
	const size_t sz[] = { 10, 4, 300 }, szp[] = { 60 };
	size_t n;
	assert_int_equal(lsp_ring_path("pumped", path, sizeof path), 0);
	assert_int_equal(lsp_ring_create(&w, path, 64, 1 << 20, err, sizeof err), 0);
	n = au_build(aub, sizeof aub, tp, szp, 1);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 0, 0, aub, n), 0); /* before the key: skipped */
	n = au_build(aub, sizeof aub, ty, sz, 3);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, LSP_RING_KEY, 3000, 3000, aub, n), 0);
	n = au_build(aub, sizeof aub, tp, szp, 1);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 6000, 6000, aub, n), 0);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 9000, 9000, aub, n), 0);

	c = rtc_chan_get(r, "pumped", 1);
	assert_non_null(c);
	assert_non_null(c->ring);
	assert_int_equal(c->cur, 1); /* the newest keyframe */
	rtc_chan_pump(r, c);
	assert_int_equal(c->aus, 3);
	assert_int_equal(c->vseq, 5); /* SPS, PPS, IDR, P, P */
	assert_true(c->have_key);
	assert_true(c->anchored); /* the newest entry was read */
	assert_int_equal(c->anchor_ms, r->now);
	assert_int_equal(c->anchor_pts, 9000);
	rtc_chan_pump(r, c); /* nothing new */
	assert_int_equal(c->aus, 3);

	s = viewer(r, c);
	assert_false(s->waiting_key);
	/* the writer restarts: a new generation, viewers wait for its keyframe */
	lsp_ring_close(w);
	assert_int_equal(lsp_ring_create(&w, path, 64, 1 << 20, err, sizeof err), 0);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 100, 100, aub, n), 0);
	rtc_chan_pump(r, c);
	assert_true(s->waiting_key);
	assert_false(c->have_key);
	assert_int_equal(c->aus, 3); /* the P-frame before any keyframe is not read */
	n = au_build(aub, sizeof aub, ty, sz, 3);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, LSP_RING_KEY, 3100, 3100, aub, n), 0);
	rtc_chan_pump(r, c);
	assert_int_equal(c->aus, 4);
	assert_false(s->waiting_key);
	assert_int_equal(rtc_hist_get(c, c->key_cseq)->ts, 12000); /* continues after 9000 */
	rtc_sess_free(r, s, "test");
	lsp_ring_close(w);
	lsp_ring_unlink(path);
}

/* ---------------------------------------------------------- edge */

static lsp_rtcrelay_frame frame(int kind, int flags, uint64_t seq, int64_t pts, const uint8_t *d, size_t len)
{
	lsp_rtcrelay_frame f = { kind, flags, seq, pts, pts, d, len };
	return f;
}

static void edge_frames(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	uint8_t gen[LSP_RTCRELAY_HDR + LSP_RTCRELAY_GEN_LEN];
	static const int ty[] = { 7, 8, 5 }, tp[] = { 1 };
	const size_t sz[] = { 10, 4, 300 }, szp[] = { 60 };
	uint8_t key[512], pf[128];
	size_t nk = au_build(key, sizeof key, ty, sz, 3), np = au_build(pf, sizeof pf, tp, szp, 1);
	lsp_rtcrelay_frame fr;
	struct chan *c = rtc_chan_get(r, "ed", 1); /* edge: no ring needed, ever */
	struct sess *s;
	assert_non_null(c);
	assert_true(c->relay);
	assert_null(c->ring);
	s = viewer(r, c);
	s->waiting_key = 1;

	fr = frame(LSP_RTCRELAY_VIDEO, LSP_RTCRELAY_KEY, 10, 3000, key, nk);
	rtc_up_frame(r, c, &fr); /* media before a generation frame: refused */
	assert_int_equal(c->aus, 0);
	assert_int_equal(c->up.result, 502);

	lsp_rtcrelay_gen(gen, 7, 0xabc);
	fr = frame(LSP_RTCRELAY_GEN, 0, 7, 0, gen + LSP_RTCRELAY_HDR, LSP_RTCRELAY_GEN_LEN);
	rtc_up_frame(r, c, &fr);
	assert_int_equal(evs.generations, 1);
	assert_int_equal(c->up.result, 200);
	rtc_up_frame(r, c, &fr); /* the same generation again (a reconnect): nothing new */
	assert_int_equal(evs.generations, 1);

	fr = frame(LSP_RTCRELAY_VIDEO, LSP_RTCRELAY_KEY | LSP_RTCRELAY_LIVE, 10, 3000, key, nk);
	rtc_up_frame(r, c, &fr);
	assert_int_equal(c->aus, 1);
	assert_true(c->anchored);
	assert_false(s->waiting_key);
	fr = frame(LSP_RTCRELAY_VIDEO, 0, 11, 6000, pf, np);
	rtc_up_frame(r, c, &fr);
	assert_int_equal(c->aus, 2);
	fr = frame(LSP_RTCRELAY_VIDEO, LSP_RTCRELAY_KEY, 10, 3000, key, nk);
	rtc_up_frame(r, c, &fr); /* resent after a reconnect: dropped */
	assert_int_equal(c->aus, 2);
	assert_int_equal(c->up.restarts, 1);

	fr = frame(LSP_RTCRELAY_VIDEO, 0, 14, 15000, pf, np);
	rtc_up_frame(r, c, &fr); /* 12 and 13 skipped: wait for a keyframe */
	assert_int_equal(c->up.gaps, 1);
	assert_true(s->waiting_key);
	fr = frame(LSP_RTCRELAY_VIDEO, LSP_RTCRELAY_KEY, 15, 18000, key, nk);
	rtc_up_frame(r, c, &fr);
	assert_false(s->waiting_key);
	assert_int_equal(c->up.gaps, 1);
	assert_int_equal(c->up.frames, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(add_find_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(users_and_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(packetize, setup, teardown),
		cmocka_unit_test_setup_teardown(history_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(viewer_waits_for_key, setup, teardown),
		cmocka_unit_test_setup_teardown(viewer_falls_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_rebases_time, setup, teardown),
		cmocka_unit_test_setup_teardown(bframes_reported_once, setup, teardown),
		cmocka_unit_test_setup_teardown(ring_pump, setup, teardown),
		cmocka_unit_test_setup_teardown(edge_frames, setup_edge, teardown),
	};
	int rc;
	if (!mkdtemp(ring_dir))
		return 1;
	setenv("LSP_RING_DIR", ring_dir, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(ring_dir);
	return rc;
}
