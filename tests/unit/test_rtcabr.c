/* test_rtcabr — a WHEP viewer's rung (lib/rtc/rtcabr.c through rtc_int.h),
 * driven without sockets: a server from rtc_new, a channel and a rung's own
 * channel ("CH~240p") fed canned H.264 access units, viewers as bare
 * session slots (no DTLS: nothing is sent, the bookkeeping is checked).
 *
 *   - rebase: after a switch the sequence numbers go on from the last one
 *     sent, the RTP time one frame after the last frame sent, NACKs map
 *     into the new history and never before its keyframe;
 *   - switching: a pending switch waits for the target's keyframe (not a
 *     P frame), moves the viewer's video cursor there and keeps its audio
 *     on the channel; the rung's channel is used while a viewer is on it
 *     or on its way; a switch with no keyframe in 5 s is abandoned;
 *   - automatic: 2 s of RR loss over 10 % moves down, REMB under the
 *     rung's rate moves down to the rung it carries, a clean spell moves up
 *     (10 s, doubled after a try up that came back down soon), a pinned
 *     rung never moves;
 *   - the layer body parser, REMB and RR loss parsing, the SPS size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/rtc_int.h"

static struct {
	int switches;
	char from[32], to[32], reason[32];
} evs;

static void on_event(void *ctx, const lsp_event *ev)
{
	(void)ctx;
	if (lsp_event_is(ev, "rung switched")) {
		evs.switches++;
		snprintf(evs.from, sizeof evs.from, "%s", lsp_event_str(ev, "from"));
		snprintf(evs.to, sizeof evs.to, "%s", lsp_event_str(ev, "to"));
		snprintf(evs.reason, sizeof evs.reason, "%s", lsp_event_str(ev, "reason"));
	}
}

struct fx {
	lsp_rtc_cfg cfg;
	struct rtc *r;
	struct chan *c, *lad;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	if (!f)
		return -1;
	f->cfg.max_sessions = 8;
	f->cfg.consent_s = 15;
	f->cfg.opus_bitrate = 64000;
	f->cfg.event = on_event;
	f->cfg.abr_start = 720;
	if (rtc_new(&f->r, &f->cfg, err, sizeof err) < 0) {
		free(f);
		return -1;
	}
	f->r->now = 100000;
	memset(&evs, 0, sizeof evs);
	/* a channel (its own video "src", 360 lines) and its 240p rung */
	f->c = rtc_chan_get(f->r, "a", 0);
	f->lad = rtc_chan_get(f->r, "a~240p", 0);
	if (!f->c || !f->lad)
		return -1;
	f->lad->lad = 1;
	snprintf(f->c->ladder[0].name, RUNG_NAME, "src");
	f->c->ladder[0].height = 360;
	f->c->ladder[0].bps = 1500000;
	snprintf(f->c->ladder[1].name, RUNG_NAME, "240p");
	f->c->ladder[1].height = 240;
	f->c->ladder[1].bps = 400000;
	f->c->nladder = 2;
	f->c->ladder_at = f->r->now;
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

static uint8_t aub[16384];

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
			b[o++] = (uint8_t)(k % 200 + 1);
	}
	return o;
}

static void put(struct rtc *r, struct chan *c, int key, int64_t t)
{
	static const int tk[] = { 7, 8, 5 }, tp[] = { 1 };
	const size_t sk[] = { 12, 4, 3000 }, sp[] = { 500 };
	size_t len = key ? au_build(aub, sizeof aub, tk, sk, 3) : au_build(aub, sizeof aub, tp, sp, 1);
	lsp_ring_entry e = { .seq = 0, .pts = t, .dts = t, .kind = LSP_RING_VIDEO, .flags = key ? LSP_RING_KEY : 0,
			     .len = len };
	rtc_chan_entry(r, c, &e, aub, 0);
}

static struct sess *viewer(struct rtc *r, struct chan *c)
{
	struct sess *s = rtc_sess_new(r);
	assert_non_null(s);
	s->state = S_LIVE;
	s->ch = s->vch = c;
	snprintf(s->chname, sizeof s->chname, "%.*s", LSP_NAME_MAX, c->name);
	snprintf(s->id, sizeof s->id, "v%d", (int)(s - r->sess));
	s->vpt = 96;
	s->apt = 111;
	s->vssrc = 0x1234;
	s->created = s->last_rx = r->now;
	c->nsess++;
	return s;
}

/* ---------------------------------------------------------- rebase */

static void rebase_continues(void **state)
{
	struct fx *f = *state;
	struct sess *s = viewer(f->r, f->c);
	uint16_t last_seq;
	s->next = 70000;   /* the old history's cursor: 69999 was the last packet sent */
	s->vseq_off = 500; /* ... as 69999 + 500 (mod 2^16) */
	s->vpkts = 1000;
	s->vout_ts = 0xfffff000u; /* sent last at this RTP time: the new one wraps */
	s->burst_end = 123;
	s->waiting_key = 1;
	last_seq = (uint16_t)(69999 + 500);
	rtc_abr_rebase(s, 42, 90000, 3000);
	assert_int_equal((uint16_t)(42 + s->vseq_off), (uint16_t)(last_seq + 1)); /* no gap, no repeat */
	assert_int_equal((uint32_t)(90000 + s->vts_off), 0xfffff000u + 3000);      /* one frame later */
	assert_int_equal(s->next, 42);
	assert_int_equal(s->nack_floor, 42);
	assert_int_equal(s->burst_end, 0);
	assert_false(s->waiting_key);
	/* a NACK of the sequence number sent for packet 45 maps back to 45 */
	{
		uint16_t sent = (uint16_t)(45 + s->vseq_off), c16 = (uint16_t)(sent - s->vseq_off);
		uint64_t next = 50, cand = (next & ~(uint64_t)0xffff) | c16;
		assert_int_equal(cand, 45);
	}
	/* a viewer that has sent nothing keeps its random offsets */
	s->vpkts = 0;
	s->vseq_off = 7;
	s->vts_off = 9;
	rtc_abr_rebase(s, 10, 1000, 3000);
	assert_int_equal(s->vseq_off, 7);
	assert_int_equal(s->vts_off, 9);
}

/* ---------------------------------------------------------- switching */

static void switch_at_keyframe(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct sess *s = viewer(r, f->c);
	put(r, f->c, 1, 3000);
	put(r, f->c, 0, 6000);
	assert_ptr_equal(s->vch, f->c);
	assert_int_equal(s->next, f->c->vseq);
	assert_int_equal(rtc_chan_users(f->lad), 0);
	assert_int_equal(rtc_sess_rung(r, s, "240p", 1, "pin"), 0);
	assert_string_equal(s->pin, "240p");
	assert_ptr_equal(s->pend, f->lad);
	assert_int_equal(rtc_chan_users(f->lad), 1); /* on its way: the rung stays */
	assert_int_equal(rtc_sess_rung(r, s, "nosuch", 1, "pin"), -ENOENT);
	assert_int_equal(rtc_sess_rung(r, s, "../x", 1, "pin"), -ENOENT);
	put(r, f->lad, 0, 5000); /* a P frame of the rung: not yet */
	assert_ptr_equal(s->vch, f->c);
	put(r, f->c, 0, 9000);
	assert_int_equal(s->next, f->c->vseq); /* still fed by the channel meanwhile */
	put(r, f->lad, 1, 8000);
	assert_ptr_equal(s->vch, f->lad);
	assert_null(s->pend);
	assert_int_equal(s->nack_floor, f->lad->key_cseq);
	assert_int_equal(s->next, f->lad->vseq); /* sent from the keyframe on */
	assert_int_equal(evs.switches, 1);
	assert_string_equal(evs.from, "src");
	assert_string_equal(evs.to, "240p");
	assert_string_equal(evs.reason, "pin");
	assert_int_equal(s->switches, 1);
	/* the channel's frames no longer move its cursor; the rung's do */
	{
		uint64_t n = s->next;
		put(r, f->c, 0, 12000);
		assert_int_equal(s->next, n);
		put(r, f->lad, 0, 11000);
		assert_int_equal(s->next, f->lad->vseq);
	}
	/* back to src at its keyframe; the rung's channel is free again */
	assert_int_equal(rtc_sess_rung(r, s, "src", 1, "pin"), 0);
	assert_int_equal(rtc_chan_users(f->lad), 1);
	put(r, f->c, 1, 15000);
	assert_ptr_equal(s->vch, f->c);
	assert_int_equal(rtc_chan_users(f->lad), 0);
	assert_int_equal(f->lad->idle_since, r->now);
	assert_int_equal(rtc_chan_users(f->c), 1);
	/* a rung whose keyframe does not come: abandoned after 5 s */
	assert_int_equal(rtc_sess_rung(r, s, "240p", 1, "pin"), 0);
	r->now += 5100;
	rtc_abr_tick(r, s);
	assert_null(s->pend);
	assert_ptr_equal(s->vch, f->c);
	assert_int_equal(rtc_chan_users(f->lad), 0);
	/* a viewer going away mid-switch frees the rung too */
	assert_int_equal(rtc_sess_rung(r, s, "240p", 1, "pin"), 0);
	rtc_sess_free(r, s, "test");
	assert_int_equal(rtc_chan_users(f->lad), 0);
	assert_int_equal(rtc_chan_users(f->c), 0);
}

static void start_rung(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct sess *s = viewer(r, f->c);
	s->state = S_NEW; /* an offer: the rung is set at once */
	f->cfg.abr_start = 300;
	assert_int_equal(rtc_sess_rung(r, s, "auto", 0, "start"), 0);
	assert_ptr_equal(s->vch, f->lad); /* 360 > 300: the tallest under it */
	assert_null(s->pend);
	assert_string_equal(s->pin, "");
	assert_int_equal(rtc_chan_users(f->lad), 1);
	f->cfg.abr_start = 720;
	assert_int_equal(rtc_sess_rung(r, s, "auto", 0, "start"), 0);
	assert_ptr_equal(s->vch, f->c);
	assert_int_equal(rtc_chan_users(f->lad), 0);
	f->cfg.abr_start = 100; /* none fits: the shortest */
	assert_int_equal(rtc_sess_rung(r, s, "", 0, "start"), 0);
	assert_ptr_equal(s->vch, f->lad);
	f->cfg.abr_start = 0; /* src */
	assert_int_equal(rtc_sess_rung(r, s, "auto", 0, "start"), 0);
	assert_ptr_equal(s->vch, f->c);
	assert_int_equal(rtc_sess_rung(r, s, "240p", 1, "offer"), 0);
	assert_ptr_equal(s->vch, f->lad);
	assert_string_equal(s->pin, "240p");
}

/* ---------------------------------------------------------- automatic */

static void rr(struct rtc *r, struct sess *s, int frac, uint64_t remb)
{
	lsp_rtcp_info in;
	memset(&in, 0, sizeof in);
	in.nrb = 2;
	in.rb_ssrc[0] = 0x9999; /* audio: not ours to judge video by */
	in.rb_frac[0] = 200;
	in.rb_ssrc[1] = s->vssrc;
	in.rb_frac[1] = (uint8_t)frac;
	in.remb = remb;
	rtc_abr_rtcp(r, s, &in);
}

static void tick_for(struct rtc *r, struct sess *s, long long ms, int frac, uint64_t remb)
{
	for (long long t = 0; t < ms; t += 250) {
		r->now += 250;
		if (t % 1000 == 0)
			rr(r, s, frac, remb);
		s->ch->ladder_at = r->now; /* the ladder as set, not looked up on disk */
		rtc_abr_tick(r, s);
	}
}

static void auto_moves(void **state)
{
	struct fx *f = *state;
	struct rtc *r = f->r;
	struct sess *s = viewer(r, f->c);
	s->created = r->now - 60000;
	/* a clean link with room: stays */
	tick_for(r, s, 5000, 0, 3000000);
	assert_null(s->pend);
	/* loss of 20 %: down after 2 s of it, not before */
	tick_for(r, s, 1000, 51, 3000000);
	assert_null(s->pend);
	tick_for(r, s, 1500, 51, 3000000);
	assert_ptr_equal(s->pend, f->lad);
	assert_string_equal(s->pend_why, "loss");
	put(r, f->lad, 1, 3000);
	assert_ptr_equal(s->vch, f->lad);
	assert_string_equal(evs.reason, "loss");
	/* clean again, REMB with room: up after 10 s, not before */
	tick_for(r, s, 8000, 0, 3000000);
	assert_null(s->pend);
	tick_for(r, s, 2500, 0, 3000000);
	assert_ptr_equal(s->pend, f->c);
	assert_string_equal(s->pend_why, "probe");
	put(r, f->c, 1, 6000);
	assert_ptr_equal(s->vch, f->c);
	/* REMB under src's rate: down to the rung it carries, after 1.5 s */
	tick_for(r, s, 3000, 0, 3000000); /* the hold after a switch */
	tick_for(r, s, 1000, 0, 500000);
	assert_null(s->pend);
	tick_for(r, s, 1000, 0, 500000);
	assert_ptr_equal(s->pend, f->lad);
	assert_string_equal(s->pend_why, "estimate");
	put(r, f->lad, 1, 9000);
	assert_int_equal(s->up_fails, 1); /* the try up came back down within 10 s */
	/* the next try up waits 20 s */
	tick_for(r, s, 15000, 0, 3000000);
	assert_null(s->pend);
	tick_for(r, s, 6000, 0, 3000000);
	assert_ptr_equal(s->pend, f->c);
	put(r, f->c, 1, 12000);
	/* a REMB that says the link is full keeps it from trying up */
	tick_for(r, s, 3000, 0, 3000000);
	assert_int_equal(rtc_sess_rung(r, s, "240p", 0, "test"), 0);
	put(r, f->lad, 1, 15000);
	tick_for(r, s, 40000, 0, 420000);
	assert_null(s->pend);
	assert_ptr_equal(s->vch, f->lad);
	/* pinned: loss and estimates move nothing */
	assert_int_equal(rtc_sess_rung(r, s, "src", 1, "pin"), 0);
	put(r, f->c, 1, 18000);
	tick_for(r, s, 10000, 100, 100000);
	assert_null(s->pend);
	assert_ptr_equal(s->vch, f->c);
	/* auto again: the choice resumes */
	assert_int_equal(rtc_sess_rung(r, s, "auto", 1, "pin"), 0);
	assert_string_equal(s->pin, "");
	tick_for(r, s, 2500, 100, 100000);
	assert_ptr_equal(s->pend, f->lad);
}

/* ---------------------------------------------------------- parsers */

static void layer_parse(void **state)
{
	char out[LSP_RTC_RUNG_MAX], small[4];
	static const char *const good[][2] = {
		{ "{\"rung\":\"360p\"}", "360p" },
		{ " {\n \"rung\" : \"auto\" } ", "auto" },
		{ "{\"x\":1,\"rung\":\"src\",\"y\":null,\"z\":\"w\",\"t\":true}", "src" },
		{ "{\"rung\":\"a_b-c\"}", "a_b-c" },
	};
	static const char *const bad[] = {
		"", "{}", "[]", "{\"rung\":360}", "{\"rung\":\"\"}", "{\"rung\":\"../x\"}", "{\"rung\":\"a b\"}",
		"{\"rung\":\"360p\"", "{\"rung\":\"360p\"} x", "{\"rung\":\"360p\",}", "{\"rung\":{\"a\":1}}",
		"{\"x\":[1],\"rung\":\"360p\"}", "{\"rung\":\"abcdefghijklmnopqrstuvwxyz\"}", "{rung:\"360p\"}",
		"{\"rung\":\"36\\u0030p\"}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(lsp_rtc_layer_parse(good[i][0], strlen(good[i][0]), out, sizeof out), 0);
		assert_string_equal(out, good[i][1]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(lsp_rtc_layer_parse(bad[i], strlen(bad[i]), out, sizeof out), -1);
	assert_int_equal(lsp_rtc_layer_parse("{\"rung\":\"360p\"}", 15, small, sizeof small), -1); /* no room */
	assert_int_equal(lsp_rtc_layer_parse("{\"rung\":\"360p\"}", 14, out, sizeof out), -1);    /* cut short */
	assert_int_equal(lsp_rtc_layer_parse(NULL, 0, out, sizeof out), -1);
}

static void rtcp_remb_rr(void **state)
{
	uint8_t b[128];
	lsp_rtcp_info in;
	int n, k;
	(void)state;
	n = lsp_rtcp_rr(b, sizeof b, 1, 0x1234, 0);
	assert_true(n > 0);
	b[12] = 51; /* fraction lost of the block */
	k = lsp_rtcp_remb(b + n, sizeof b - (size_t)n, 1, 0x1234, 1234567);
	assert_true(k > 0);
	assert_int_equal(lsp_rtcp_parse(b, (size_t)(n + k), &in), 0);
	assert_int_equal(in.rr, 1);
	assert_int_equal(in.nrb, 1);
	assert_int_equal(in.rb_ssrc[0], 0x1234);
	assert_int_equal(in.rb_frac[0], 51);
	assert_true(in.remb <= 1234567 && in.remb >= 1234567 - 8); /* 18-bit mantissa */
	b[n + 12] = 'X'; /* another application feedback: no REMB */
	assert_int_equal(lsp_rtcp_parse(b, (size_t)(n + k), &in), 0);
	assert_int_equal(in.remb, 0);
}

static void sps_size(void **state)
{
	static const uint8_t s360[] = { 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00,
					0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2d, 0x96 };
	static const uint8_t s240[] = { 0x67, 0x64, 0x00, 0x15, 0xac, 0xd9, 0x41, 0xb1, 0xfe, 0x4f, 0x01, 0x10, 0x00,
					0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x62, 0xd9, 0x60 };
	static const uint8_t s1080[] = { 0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44,
					 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc6, 0x58 };
	static const uint8_t base[] = { 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00,
					0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48 };
	int w = 0, h = 0;
	(void)state;
	assert_int_equal(lsp_h264_sps_size(s360, sizeof s360, &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 360);
	assert_int_equal(lsp_h264_sps_size(s240, sizeof s240, &w, &h), 0);
	assert_int_equal(w, 426);
	assert_int_equal(h, 240);
	assert_int_equal(lsp_h264_sps_size(s1080, sizeof s1080, &w, &h), 0);
	assert_int_equal(w, 1920);
	assert_int_equal(h, 1080);
	assert_int_equal(lsp_h264_sps_size(base, sizeof base, &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 360);
	assert_int_equal(lsp_h264_sps_size(s360, 6, &w, &h), -1);        /* cut short */
	assert_int_equal(lsp_h264_sps_size(s360 + 1, sizeof s360 - 1, &w, &h), -1); /* not an SPS */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rebase_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(switch_at_keyframe, setup, teardown),
		cmocka_unit_test_setup_teardown(start_rung, setup, teardown),
		cmocka_unit_test_setup_teardown(auto_moves, setup, teardown),
		cmocka_unit_test(layer_parse),
		cmocka_unit_test(rtcp_remb_rr),
		cmocka_unit_test(sps_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
