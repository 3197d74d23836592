/* Unit tests: lib/media/m3u8.c (LL-HLS media and multivariant playlist text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "media/m3u8.h"

static const lsp_m3u8_part p3[] = { { 0.2, 1 }, { 0.2, 0 }, { 0.2, 1 } };
static const lsp_m3u8_part p5[] = { { 0.2, 1 }, { 0.2, 0 }, { 0.2, 0 }, { 0.2, 0 }, { 0.2, 0 } };

/* 2026-01-01T00:00:00Z = 1767225600 */
static const lsp_m3u8_seg segs[] = {
	{ 7, 1.0, 1767225600.0, 5, 0, p5, 0 },
	{ 8, 0.6, 1767225601.0, 3, 0, p3, 0 },
};

static const char live_text[] =
	"#EXTM3U\n"
	"#EXT-X-VERSION:6\n"
	"#EXT-X-TARGETDURATION:1\n"
	"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000\n"
	"#EXT-X-PART-INF:PART-TARGET=0.200\n"
	"#EXT-X-MEDIA-SEQUENCE:7\n"
	"#EXT-X-INDEPENDENT-SEGMENTS\n"
	"#EXT-X-MAP:URI=\"init.mp4\"\n"
	"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
	"#EXTINF:1.00000,\n"
	"seg7.m4s\n"
	"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:01.000Z\n"
	"#EXT-X-PART:DURATION=0.20000,URI=\"seg8.0.m4s\",INDEPENDENT=YES\n"
	"#EXT-X-PART:DURATION=0.20000,URI=\"seg8.1.m4s\"\n"
	"#EXT-X-PART:DURATION=0.20000,URI=\"seg8.2.m4s\",INDEPENDENT=YES\n"
	"#EXTINF:0.60000,\n"
	"seg8.m4s\n"
	"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:01.600Z\n"
	"#EXT-X-PART:DURATION=0.20000,URI=\"seg9.0.m4s\",INDEPENDENT=YES\n"
	"#EXT-X-PART:DURATION=0.20000,URI=\"seg9.1.m4s\"\n"
	"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg9.2.m4s\"\n";

/* a rung that resumed after a gap: DISCONTINUITY before the segment (not
 * before the first one listed: DISCONTINUITY-SEQUENCE counts that one) */
static void media_discontinuity(void **s)
{
	static const lsp_m3u8_part p1[] = { { 1.0, 1 } };
	lsp_m3u8_seg g[] = { { 7, 1.0, 1767225600.0, 1, 1, p1, 0 }, { 8, 1.0, 1767225660.0, 1, 1, p1, 0 } };
	lsp_m3u8_seg cur = { 9, 0, 1767225700.0, 1, 1, p1, 0 };
	lsp_m3u8_media m = { .version = 6, .target = 1, .part_target = 1, .part_hold_back = 3, .segs = g,
			     .nsegs = 2, .part_segs = 0, .cur = &cur, .disc_seq = 4 };
	char buf[4096];
	const char *a, *b;
	(void)s;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_non_null(strstr(buf, "#EXT-X-DISCONTINUITY-SEQUENCE:4\n"));
	a = strstr(buf, "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z\n#EXTINF:1.00000,\nseg8.m4s\n");
	assert_non_null(a);
	b = strstr(buf, "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:40.000Z\n#EXT-X-PART:");
	assert_non_null(b);
	assert_true(b > a);
	/* seg7's tag (the first listed) is counted, not written: two tags in all */
	assert_null(strstr(b + 1, "#EXT-X-DISCONTINUITY\n"));
	assert_ptr_equal(strstr(buf, "#EXT-X-DISCONTINUITY\n"), a);
}

/* A rung that was not encoded for a while: the stretch is listed as
 * EXT-X-GAP segments (no parts, no media) on the shared sequence grid,
 * and the resumed segment starts a discontinuity; a DVR list likewise. */
static void media_gap(void **s)
{
	static const lsp_m3u8_part p1[] = { { 1.0, 1 } };
	lsp_m3u8_seg g[] = { { 7, 1.0, 1767225600.0, 1, 0, p1, 0 },
			     { 8, 1.0, 1767225601.0, 0, 0, NULL, 1 },
			     { 9, 1.0, 1767225602.0, 0, 0, NULL, 1 },
			     { 10, 1.0, 1767225603.0, 1, 1, p1, 0 } };
	lsp_m3u8_seg cur = { 11, 0, 1767225604.0, 1, 0, p1, 0 };
	lsp_m3u8_media m = { .version = 6, .target = 1, .part_target = 1, .part_hold_back = 3, .segs = g,
			     .nsegs = 4, .part_segs = 4, .cur = &cur };
	lsp_m3u8_item it[] = { { "seg8.m4s", 1.0, 1767225601.0, 0, "init.mp4", 1 },
			       { "seg9.m4s", 1.0, 1767225602.0, 1, NULL, 0 } };
	lsp_m3u8_list l = { NULL, 1, 8, 0, it, 2, 0 };
	char buf[4096];
	(void)s;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_non_null(strstr(buf, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:01.000Z\n"
				    "#EXT-X-PART:DURATION=1.00000,URI=\"seg8.0.m4s\",GAP=YES\n"
				    "#EXT-X-GAP\n#EXTINF:1.00000,\nseg8.m4s\n"
				    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z\n"
				    "#EXT-X-PART:DURATION=1.00000,URI=\"seg9.0.m4s\",GAP=YES\n"
				    "#EXT-X-GAP\n#EXTINF:1.00000,\nseg9.m4s\n"
				    "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:03.000Z\n#EXT-X-PART:"));
	m.part_target = 0.25; /* four GAP=YES parts a gap segment */
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_non_null(strstr(buf, "#EXT-X-PART:DURATION=0.25000,URI=\"seg9.3.m4s\",GAP=YES\n#EXT-X-GAP\n"));
	assert_null(strstr(buf, "seg9.4.m4s"));
	m.part_segs = 1; /* gap segments outside the part window: no parts */
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_null(strstr(buf, "GAP=YES"));
	assert_non_null(strstr(buf, "#EXT-X-GAP\n#EXTINF:1.00000,\nseg8.m4s\n"));
	assert_true(lsp_m3u8_write_list(buf, sizeof buf, &l) > 0);
	assert_non_null(strstr(buf, "#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:01.000Z\n"
				    "#EXT-X-GAP\n#EXTINF:1.00000,\nseg8.m4s\n#EXT-X-DISCONTINUITY\n"));
	assert_null(strstr(strstr(buf, "seg8.m4s"), "#EXT-X-GAP"));
}

static void media_live(void **s)
{
	char buf[4096];
	lsp_m3u8_seg cur = { 9, 0, 1767225601.6, 2, 0, p5, 0 };
	lsp_m3u8_media m = { .version = 6, .target = 1, .part_target = 0.2, .part_hold_back = 0.6,
			     .hold_back = 3, .segs = segs, .nsegs = 2, .part_segs = 1, .cur = &cur };
	int n;
	(void)s;
	n = lsp_m3u8_write_media(buf, sizeof buf, &m);
	assert_int_equal(n, (int)strlen(live_text));
	assert_string_equal(buf, live_text);
	/* every size short of the full text fails cleanly */
	for (size_t cap = 1; cap <= strlen(live_text); cap++)
		assert_int_equal(lsp_m3u8_write_media(buf, cap, &m), -ENOSPC);
	assert_int_equal(lsp_m3u8_write_media(buf, strlen(live_text) + 1, &m), n);
}

/* delta updates offered, the other renditions' live edges reported after
 * the preload hint */
static void media_skip_reports(void **s)
{
	char buf[4096];
	lsp_m3u8_seg cur = { 9, 0, 1767225601.6, 2, 0, p5, 0 };
	const lsp_m3u8_report rep[] = { { "../360p/index.m3u8", 9, 1 }, { "../180p/index.m3u8", 8, 2 } };
	lsp_m3u8_media m = { .version = 6, .target = 1, .part_target = 0.2, .part_hold_back = 0.6,
			     .hold_back = 3, .can_skip_until = 6, .segs = segs, .nsegs = 2, .part_segs = 1,
			     .cur = &cur, .reports = rep, .nreports = 2 };
	(void)s;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_non_null(strstr(buf, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,"
				    "CAN-SKIP-UNTIL=6.000,HOLD-BACK=3.000\n"));
	assert_non_null(strstr(buf, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg9.2.m4s\"\n"
				    "#EXT-X-RENDITION-REPORT:URI=\"../360p/index.m3u8\",LAST-MSN=9,LAST-PART=1\n"
				    "#EXT-X-RENDITION-REPORT:URI=\"../180p/index.m3u8\",LAST-MSN=8,LAST-PART=2\n"));
	/* an ended playlist reports nothing after its ENDLIST */
	m.ended = 1;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_null(strstr(buf, "RENDITION-REPORT"));
}

static void media_first_part(void **s)
{
	char buf[1024];
	lsp_m3u8_seg cur = { 0, 0, 0, 0, 0, NULL, 0 };
	lsp_m3u8_media m = { .version = 6, .target = 2, .part_target = 0.333, .part_hold_back = 1,
			     .cur = &cur };
	(void)s;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_non_null(strstr(buf, "#EXT-X-MEDIA-SEQUENCE:0\n"));
	assert_non_null(strstr(buf, "PART-HOLD-BACK=1.000\n")); /* no HOLD-BACK */
	assert_null(strstr(buf, "PROGRAM-DATE-TIME"));
	assert_null(strstr(buf, "EXTINF"));
	assert_non_null(strstr(buf, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg0.0.m4s\"\n"));
	m.cur = NULL;
	assert_int_equal(lsp_m3u8_write_media(buf, sizeof buf, &m), -EINVAL);
	m.cur = &cur;
	m.target = 0;
	assert_int_equal(lsp_m3u8_write_media(buf, sizeof buf, &m), -EINVAL);
}

static void media_ended(void **s)
{
	char buf[4096];
	lsp_m3u8_seg cur = { 9, 0, 1767225601.6, 0, 0, NULL, 0 };
	lsp_m3u8_media m = { .version = 6, .target = 1, .part_target = 0.2, .part_hold_back = 0.6,
			     .segs = segs, .nsegs = 2, .part_segs = 0, .cur = &cur, .ended = 1 };
	const char *end;
	(void)s;
	assert_true(lsp_m3u8_write_media(buf, sizeof buf, &m) > 0);
	assert_null(strstr(buf, "EXT-X-PART:"));
	assert_null(strstr(buf, "PRELOAD-HINT"));
	end = buf + strlen(buf) - strlen("seg8.m4s\n#EXT-X-ENDLIST\n");
	assert_string_equal(end, "seg8.m4s\n#EXT-X-ENDLIST\n");
}

static void master(void **s)
{
	char buf[1024];
	const lsp_m3u8_variant v[] = {
		{ "720p/index.m3u8", 3000000, 2500000, 1280, 720, 30, "avc1.64001f,mp4a.40.2" },
		{ "audio/index.m3u8", 130000, 0, 0, 0, 0, "mp4a.40.2" },
	};
	static const char want[] =
		"#EXTM3U\n"
		"#EXT-X-VERSION:6\n"
		"#EXT-X-INDEPENDENT-SEGMENTS\n"
		"#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2500000,RESOLUTION=1280x720,"
		"CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=30.000\n"
		"720p/index.m3u8\n"
		"#EXT-X-STREAM-INF:BANDWIDTH=130000,CODECS=\"mp4a.40.2\"\n"
		"audio/index.m3u8\n";
	(void)s;
	assert_int_equal(lsp_m3u8_write_master(buf, sizeof buf, 6, v, 2), (int)strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(lsp_m3u8_write_master(buf, 40, 6, v, 2), -ENOSPC);
}

static void iso(void **s)
{
	char b[40];
	(void)s;
	assert_int_equal(lsp_m3u8_iso8601(b, sizeof b, 1767225599.9996), 0);
	assert_string_equal(b, "2026-01-01T00:00:00.000Z");
	assert_int_equal(lsp_m3u8_iso8601(b, sizeof b, 86400.123), 0);
	assert_string_equal(b, "1970-01-02T00:00:00.123Z");
	assert_int_equal(lsp_m3u8_iso8601(b, 10, 0), -ENOSPC);
}

static void seg_number(void **s)
{
	int part;
	(void)s;
	assert_int_equal(lsp_m3u8_seg_number("seg0.m4s", &part), 0);
	assert_int_equal(part, -1);
	assert_int_equal(lsp_m3u8_seg_number("seg1795690912.4.m4s", &part), 1795690912LL);
	assert_int_equal(part, 4);
	assert_int_equal(lsp_m3u8_seg_number("seg12.m4s", NULL), 12);
	assert_int_equal(lsp_m3u8_seg_number("seg.m4s", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg-1.m4s", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg1.x.m4s", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg1.2.3.m4s", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg1.m4s.tmp", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("init.mp4", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg99999999999999999999.m4s", NULL), -1);
	assert_int_equal(lsp_m3u8_seg_number("seg1.99999999999.m4s", NULL), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(media_live), cmocka_unit_test(media_discontinuity), cmocka_unit_test(media_gap), cmocka_unit_test(media_skip_reports), cmocka_unit_test(media_first_part),
		cmocka_unit_test(media_ended), cmocka_unit_test(master), cmocka_unit_test(iso),
		cmocka_unit_test(seg_number),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
