/* Unit tests: lib/media/ladder.c (parse, default, fit to the source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "media/ladder.h"

static void parse_names(void **s)
{
	lsp_rung r[LSP_LADDER_MAX];
	char err[128];
	(void)s;
	assert_int_equal(lsp_ladder_parse("360p,720p,480p", r, LSP_LADDER_MAX, err, sizeof err), 3);
	assert_string_equal(r[0].name, "720p"); /* tallest first */
	assert_string_equal(r[1].name, "480p");
	assert_string_equal(r[2].name, "360p");
	assert_int_equal(r[0].height, 720);
	assert_int_equal(r[0].width, 0); /* until fitted */
	assert_int_equal(r[0].kbps, 2800);
	assert_int_equal(r[2].kbps, 800);
	assert_int_equal(lsp_ladder_parse("1280x720@3000,src,240p", r, LSP_LADDER_MAX, err, sizeof err), 3);
	assert_string_equal(r[0].name, "src");
	assert_true(r[0].passthrough);
	assert_string_equal(r[1].name, "1280x720");
	assert_int_equal(r[1].width, 1280);
	assert_int_equal(r[1].kbps, 3000);
	assert_int_equal(r[2].kbps, 400);
	assert_int_equal(lsp_ladder_parse("640x360", r, LSP_LADDER_MAX, err, sizeof err), 1);
	assert_int_equal(r[0].kbps, 800);
	assert_int_equal(lsp_ladder_parse("540p", r, LSP_LADDER_MAX, err, sizeof err), 1);
	assert_true(r[0].kbps > 1400 && r[0].kbps < 2800); /* interpolated */
}

static void parse_errors(void **s)
{
	lsp_rung r[LSP_LADDER_MAX];
	char err[128] = "";
	static const char *const bad[] = { "", ",", "720p,", "foo", "720", "721p", "0p", "99999p",
					   "1280x", "x720", "1281x720", "1280x720@", "1280x720@x",
					   "720p,720p", "src,src", "720p;480p", "-720p", NULL };
	int i;
	(void)s;
	for (i = 0; bad[i]; i++) {
		err[0] = 0;
		if (lsp_ladder_parse(bad[i], r, LSP_LADDER_MAX, err, sizeof err) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != 0);
	}
	assert_int_equal(lsp_ladder_parse("1080p,720p,480p", r, 2, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "too many"));
}

static void fit(void **s)
{
	lsp_rung r[LSP_LADDER_MAX];
	int n;
	(void)s;
	/* 360p source, default ladder: only 360p survives, never upscaled */
	n = lsp_ladder_default(r, LSP_LADDER_MAX);
	assert_int_equal(n, 4);
	n = lsp_ladder_fit(r, n, 640, 360);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "360p");
	assert_int_equal(r[0].width, 640);
	assert_int_equal(r[0].height, 360);
	/* 720p source: 720, 480, 360 with 16:9 even widths */
	n = lsp_ladder_fit(r, lsp_ladder_default(r, LSP_LADDER_MAX), 1280, 720);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].width, 1280);
	assert_int_equal(r[1].width, 854);
	assert_int_equal(r[2].width, 640);
	/* 4:3 source keeps its aspect ratio, even sizes */
	n = lsp_ladder_parse("480p,240p", r, LSP_LADDER_MAX, (char[64]){ 0 }, 64);
	n = lsp_ladder_fit(r, n, 640, 480);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].width, 640);
	assert_int_equal(r[1].width, 320);
	/* source smaller than every rung: one rung of the source's own size */
	n = lsp_ladder_fit(r, lsp_ladder_default(r, LSP_LADDER_MAX), 321, 181);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].width, 320);
	assert_int_equal(r[0].height, 180);
	assert_string_equal(r[0].name, "180p");
	assert_true(r[0].kbps > 0);
	/* passthrough survives; "src" alone stays alone */
	n = lsp_ladder_parse("src,1080p", r, LSP_LADDER_MAX, (char[64]){ 0 }, 64);
	n = lsp_ladder_fit(r, n, 640, 360);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].name, "src");
	assert_string_equal(r[1].name, "360p");
	n = lsp_ladder_parse("src", r, LSP_LADDER_MAX, (char[64]){ 0 }, 64);
	assert_int_equal(lsp_ladder_fit(r, n, 640, 360), 1);
	/* explicit WxH keeps its size when it fits */
	n = lsp_ladder_parse("640x480", r, LSP_LADDER_MAX, (char[64]){ 0 }, 64);
	n = lsp_ladder_fit(r, n, 1920, 1080);
	assert_int_equal(r[0].width, 640);
	assert_int_equal(r[0].height, 480);
	assert_int_equal(lsp_ladder_fit(r, 1, 0, 0), -EINVAL);
}

static void h264_level(void **state)
{
	(void)state;
	assert_int_equal(lsp_ladder_h264_level(1920, 1080, 30, 5000), 40);
	assert_int_equal(lsp_ladder_h264_level(1920, 1080, 60, 5000), 42);
	assert_int_equal(lsp_ladder_h264_level(1280, 720, 30, 2800), 31);
	assert_int_equal(lsp_ladder_h264_level(1280, 720, 60, 2800), 32);
	assert_int_equal(lsp_ladder_h264_level(854, 480, 30, 1400), 31);
	assert_int_equal(lsp_ladder_h264_level(640, 360, 30, 800), 30);
	assert_int_equal(lsp_ladder_h264_level(426, 240, 30, 400), 21);
	/* a time base taken for a rate never reaches past 5.2 */
	assert_int_equal(lsp_ladder_h264_level(1280, 720, 90000, 2800), 52);
	assert_int_equal(lsp_ladder_h264_level(640, 360, 0, 0), 30);
}

static void rate_from_times(void **state)
{
	double ts[40];
	int num, den, i;
	(void)state;
	for (i = 0; i < 16; i++) /* 30 fps with +-6 ms jitter */
		ts[i] = i / 30.0 + ((i * 7) % 5 - 2) * 0.003;
	lsp_ladder_rate_from_times(ts, 16, &num, &den);
	assert_int_equal(num, 30);
	assert_int_equal(den, 1);
	for (i = 0; i < 16; i++)
		ts[i] = i * 1001 / 30000.0;
	lsp_ladder_rate_from_times(ts, 16, &num, &den);
	assert_int_equal(num, 30000);
	assert_int_equal(den, 1001);
	for (i = 0; i < 16; i++) /* 15 fps */
		ts[i] = 10 + i / 15.0;
	lsp_ladder_rate_from_times(ts, 16, &num, &den);
	assert_true(num == 15 && den == 1);
	for (i = 0; i < 16; i++) /* 37 fps: whole frames per second */
		ts[i] = i / 37.2;
	lsp_ladder_rate_from_times(ts, 16, &num, &den);
	assert_true(num == 37 && den == 1);
	for (i = 0; i < 16; i++) /* 1000 fps: clamped */
		ts[i] = i / 1000.0;
	lsp_ladder_rate_from_times(ts, 16, &num, &den);
	assert_int_equal(num, 120);
	lsp_ladder_rate_from_times(ts, 1, &num, &den);
	assert_true(num == 30 && den == 1);
	ts[1] = ts[0];
	lsp_ladder_rate_from_times(ts, 2, &num, &den);
	assert_true(num == 30 && den == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_names),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(fit),
		cmocka_unit_test(h264_level),
		cmocka_unit_test(rate_from_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
