/* Unit tests: lib/edge/plstate.c — delta updates (_HLS_skip): which
 * segments are skipped, the header kept, EXT-X-VERSION raised to 9, and
 * the cases that must be served whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "edge/plstate.h"

/* ten 1 s segments (seq 100..109), the open one has two 0.2 s parts:
 * 10.4 s in all, CAN-SKIP-UNTIL 6: the skip boundary is at 4.4 s, so the
 * four segments that end by then (100..103) are skipped */
static void build(char *buf, size_t cap, const char *control, int ended)
{
	size_t off = (size_t)snprintf(buf, cap,
				      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n"
				      "#EXT-X-SERVER-CONTROL:%s\n#EXT-X-PART-INF:PART-TARGET=0.200\n"
				      "#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n",
				      control);
	for (int i = 0; i < 10; i++)
		off += (size_t)snprintf(buf + off, cap - off,
					"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:%02d.000Z\n%s#EXTINF:1.00000,\nseg%d.m4s\n", i,
					i >= 7 ? "#EXT-X-PART:DURATION=0.20000,URI=\"x.m4s\"\n" : "", 100 + i);
	if (ended)
		snprintf(buf + off, cap - off, "#EXT-X-ENDLIST\n");
	else
		snprintf(buf + off, cap - off,
			 "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:10.000Z\n"
			 "#EXT-X-PART:DURATION=0.20000,URI=\"seg110.0.m4s\",INDEPENDENT=YES\n"
			 "#EXT-X-PART:DURATION=0.20000,URI=\"seg110.1.m4s\"\n"
			 "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg110.2.m4s\"\n"
			 "#EXT-X-RENDITION-REPORT:URI=\"../b/index.m3u8\",LAST-MSN=110,LAST-PART=1\n");
}

static void skips_old_segments(void **s)
{
	char pl[8192], out[8192];
	long n;
	(void)s;
	build(pl, sizeof pl, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=6.000,HOLD-BACK=3.000", 0);
	n = lsp_plstate_skip(pl, strlen(pl), out, sizeof out);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_non_null(strstr(out, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n"));
	assert_non_null(strstr(out, "#EXT-X-MEDIA-SEQUENCE:100\n"));
	assert_non_null(strstr(out, "#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"
				    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:04.000Z\n#EXTINF:1.00000,\nseg104.m4s\n"));
	assert_null(strstr(out, "seg103.m4s"));
	assert_null(strstr(out, "00:00:03.000Z"));
	/* the live edge is untouched */
	assert_non_null(strstr(out, "seg109.m4s\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:10.000Z\n"));
	assert_non_null(strstr(out, "#EXT-X-RENDITION-REPORT:URI=\"../b/index.m3u8\",LAST-MSN=110,LAST-PART=1\n"));
	/* too small a buffer fails cleanly */
	assert_int_equal(lsp_plstate_skip(pl, strlen(pl), out, (size_t)n), -1);
	assert_int_equal(lsp_plstate_skip(pl, strlen(pl), out, (size_t)n + 1), n);
}

static void served_whole(void **s)
{
	char pl[8192], out[8192];
	(void)s;
	/* no CAN-SKIP-UNTIL */
	build(pl, sizeof pl, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600", 0);
	assert_int_equal(lsp_plstate_skip(pl, strlen(pl), out, sizeof out), 0);
	/* nothing old enough: CAN-SKIP-UNTIL longer than the playlist */
	build(pl, sizeof pl, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=12.000", 0);
	assert_int_equal(lsp_plstate_skip(pl, strlen(pl), out, sizeof out), 0);
	/* ended */
	build(pl, sizeof pl, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=6.000", 1);
	assert_int_equal(lsp_plstate_skip(pl, strlen(pl), out, sizeof out), 0);
	/* not a playlist, or empty */
	assert_int_equal(lsp_plstate_skip("hello", 5, out, sizeof out), 0);
	assert_int_equal(lsp_plstate_skip("", 0, out, sizeof out), 0);
	/* a delta of a delta is not made */
	build(pl, sizeof pl, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=6.000", 0);
	assert_true(lsp_plstate_skip(pl, strlen(pl), out, sizeof out) > 0);
	assert_int_equal(lsp_plstate_skip(out, strlen(out), pl, sizeof pl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(skips_old_segments),
		cmocka_unit_test(served_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
