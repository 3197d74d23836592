/* Unit tests: lib/media/transcode_shed.c — the shed plan (order of steps),
 * the decision to shed and to climb back from measured windows, applying a
 * level on a keyframe (the scaling cascade follows), input dropping up to a
 * keyframe.  The engine is built by hand around real libav objects; the
 * full pipeline under load is tests/integ/transcode-shed.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/event.h"
#include "media/transcode_int.h"

struct seen {
	char last[64];
	long long level;
	char rung[16], step[16];
	int n;
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *s = ctx;
	const char *r = lsp_event_str(ev, "rung"), *st = lsp_event_str(ev, "step");
	if (!lsp_event_is(ev, "transcode shed") && !lsp_event_is(ev, "transcode restored") &&
	    !lsp_event_is(ev, "input dropped"))
		return;
	snprintf(s->last, sizeof s->last, "%s", ev->name);
	s->level = lsp_event_int(ev, "level", -1);
	snprintf(s->rung, sizeof s->rung, "%s", r ? r : "");
	snprintf(s->step, sizeof s->step, "%s", st ? st : "");
	s->n++;
}

static void add_rung(lsp_transcode *t, const char *name, int w, int h, int pass)
{
	struct rung *r = &t->rungs[t->nr++];
	snprintf(r->r.name, sizeof r->r.name, "%s", name);
	r->r.width = w;
	r->r.height = h;
	r->r.kbps = pass ? 0 : lsp_ladder_kbps(w, h);
	r->r.passthrough = pass;
	r->from = -1;
}

static void setup(lsp_transcode *t, struct seen *seen, const char *preset)
{
	memset(t, 0, sizeof *t);
	memset(seen, 0, sizeof *seen);
	t->cfg.event = on_event;
	t->cfg.event_ctx = seen;
	t->cfg.gop_s = 1;
	t->cfg.realtime = 1;
	t->cfg.threads = 1;
	snprintf(t->preset, sizeof t->preset, "%s", preset);
	t->venc = avcodec_find_encoder_by_name("libx264");
	t->vtb = (AVRational){ 1, 90000 };
	t->fr = (AVRational){ 30, 1 };
	t->src_w = 1920; /* a 1080p source; 720p is its tallest encoded rung */
	t->src_h = 1080;
	t->src_fmt = AV_PIX_FMT_YUV420P;
	add_rung(t, "src", 0, 0, 1);
	add_rung(t, "720p", 1280, 720, 0);
	add_rung(t, "480p", 854, 480, 0);
	add_rung(t, "360p", 640, 360, 0);
	t->opened = 1;
	t->first_vpts = 0;
	transcode_shed_plan(t);
}

/* A window of 3 s of wall time in which media_s of source was done with
 * busy_s of work; the next tick closes it. */
static void window(lsp_transcode *t, double media_s, double busy_s)
{
	struct shed *s = &t->shed;
	int64_t now = transcode_now_us();
	s->ns = 1;
	s->idle = 0;
	s->s[0] = (struct shed_sample){ now - 3000000, now - (int64_t)(busy_s * 1e6), 0,
					t->last_vpts * av_q2d(t->vtb) };
	t->last_vpts += (int64_t)(media_s * 90000);
}

static void plan_order(void **state)
{
	lsp_transcode t;
	struct seen seen;
	(void)state;
	setup(&t, &seen, "medium");
	/* faster preset, then 720p, then 480p; never src, never 360p */
	assert_int_equal(t.shed.max_level, 3);
	assert_int_equal(t.shed.step[1], -1);
	assert_string_equal(t.shed.fast, "veryfast");
	assert_int_equal(t.shed.step[2], 1);
	assert_int_equal(t.shed.step[3], 2);
	transcode_free_rungs(&t);
	setup(&t, &seen, "veryfast");
	assert_string_equal(t.shed.fast, "superfast");
	transcode_free_rungs(&t);
	setup(&t, &seen, "superfast"); /* ultrafast would change the profile: no preset step */
	assert_int_equal(t.shed.max_level, 2);
	assert_int_equal(t.shed.step[1], 1);
	transcode_free_rungs(&t);
}

static void shed_and_climb(void **state)
{
	lsp_transcode t;
	struct seen seen;
	char err[256] = "";
	(void)state;
	setup(&t, &seen, "superfast");
	assert_int_equal(transcode_cascade(&t, err, sizeof err), 0);
	assert_int_equal(t.rungs[2].from, 1); /* 480p from 720p */
	assert_int_equal(t.rungs[3].from, 2); /* 360p from 480p */
	t.shed.changed = transcode_now_us() - 60 * 1000000LL;
	window(&t, 1.5, 3.0); /* capacity 0.5 */
	transcode_shed_tick(&t);
	assert_true(t.shed.capacity > 0.45 && t.shed.capacity < 0.55);
	assert_int_equal(t.shed.pending, 1);
	assert_int_equal(transcode_shed_apply(&t, err, sizeof err), 0);
	assert_string_equal(seen.last, "transcode shed");
	assert_string_equal(seen.rung, "720p");
	assert_string_equal(seen.step, "rung");
	assert_int_equal(seen.level, 1);
	assert_true(t.rungs[1].off);
	assert_int_equal(t.rungs[2].from, -1); /* the cascade now starts at 480p, from the source */
	assert_int_equal(t.rungs[3].from, 2);
	/* no second step before the hold time */
	window(&t, 1.5, 3.0);
	transcode_shed_tick(&t);
	assert_int_equal(t.shed.pending, -1);
	/* plenty of headroom, but not for long enough: stay */
	t.shed.changed = transcode_now_us() - 5 * 1000000LL;
	window(&t, 3.0, 0.5);
	transcode_shed_tick(&t);
	assert_int_equal(t.shed.pending, -1);
	/* headroom long enough, the 720p share predicted: climb */
	t.shed.changed = t.shed.climbed = transcode_now_us() - 60 * 1000000LL;
	window(&t, 3.0, 0.5);
	t.shed.s[0].enc = 0;
	t.shed.enc = 300000; /* 0.3 s encoding 480p+360p: 720p would add ~0.5 s, capacity ~3 */
	transcode_shed_tick(&t);
	assert_int_equal(t.shed.pending, 0);
	assert_int_equal(transcode_shed_apply(&t, err, sizeof err), 0);
	assert_string_equal(seen.last, "transcode restored");
	assert_int_equal(seen.level, 0);
	assert_false(t.rungs[1].off);
	assert_non_null(t.rungs[1].enc);
	assert_int_equal(t.rungs[2].from, 1);
	/* headroom too small for what the rung would cost: no climb */
	t.shed.level = 1;
	t.rungs[1].off = 1;
	t.shed.changed = t.shed.climbed = transcode_now_us() - 60 * 1000000LL;
	window(&t, 3.0, 2.5);
	t.shed.s[0].enc = 0;
	t.shed.enc = 2000000;
	transcode_shed_tick(&t);
	assert_int_equal(t.shed.pending, -1);
	/* not live: measured, never shed */
	t.cfg.realtime = 0;
	t.shed.level = 0;
	window(&t, 0.5, 3.0);
	transcode_shed_tick(&t);
	assert_int_equal(t.shed.pending, -1);
	transcode_free_rungs(&t);
}

static void drop_to_keyframe(void **state)
{
	lsp_transcode t;
	struct seen seen;
	AVPacket *p = av_packet_alloc();
	(void)state;
	assert_non_null(p);
	setup(&t, &seen, "veryfast");
	t.vdec = avcodec_alloc_context3(avcodec_find_decoder(AV_CODEC_ID_H264));
	assert_non_null(t.vdec);
	assert_int_equal(avcodec_open2(t.vdec, NULL, NULL), 0);
	/* pts 100 s "arrives" now: the lowest lag seen */
	p->dts = p->pts = 100 * 90000LL;
	assert_int_equal(transcode_shed_input(&t, p, 1), 0);
	/* a packet 3 s older in media time arriving now: 3 s behind, dropped */
	p->dts = p->pts = 97 * 90000LL;
	assert_int_equal(transcode_shed_input(&t, p, 1), 1);
	assert_int_equal(transcode_shed_input(&t, p, 0), 1); /* audio too */
	p->dts = p->pts = 97 * 90000LL + 3000;
	assert_int_equal(transcode_shed_input(&t, p, 1), 1); /* not a keyframe */
	p->flags = AV_PKT_FLAG_KEY;
	p->dts = p->pts = 98 * 90000LL;
	assert_int_equal(transcode_shed_input(&t, p, 1), 1); /* a keyframe still 2 s behind: on */
	assert_int_equal(seen.n, 0);
	p->dts = p->pts = 99 * 90000LL + 45000;
	assert_int_equal(transcode_shed_input(&t, p, 1), 0); /* within a GOP of live: decode from here */
	assert_string_equal(seen.last, "input dropped");
	assert_int_equal(t.shed.drops, 1);
	assert_true(t.shed.skipped > 2.4 && t.shed.skipped < 2.6);
	t.cfg.realtime = 0; /* a file is never dropped */
	p->flags = 0;
	p->dts = p->pts = 50 * 90000LL;
	assert_int_equal(transcode_shed_input(&t, p, 1), 0);
	avcodec_free_context(&t.vdec);
	av_packet_free(&p);
	transcode_free_rungs(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_order),
		cmocka_unit_test(shed_and_climb),
		cmocka_unit_test(drop_to_keyframe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
