/* test_tsscan.c — lib/ingest/tsscan.c on hand-built packets: PAT → PMT →
 * the H.264 PID; PES headers with PTS only, with DTS == PTS, and with
 * DTS != PTS (B-frames: bframes set); split feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ingest/tsscan.h"

static void ts_head(uint8_t *p, int pid, int pusi)
{
	memset(p, 0xff, 188);
	p[0] = 0x47;
	p[1] = (uint8_t)((pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f));
	p[2] = (uint8_t)pid;
	p[3] = 0x10; /* payload only */
}

static void pat(uint8_t *p)
{
	static const uint8_t s[] = { 0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00,
				     0x00, 0x01, 0xf0, 0x00, 0, 0, 0, 0 }; /* program 1 → PID 0x1000 */
	ts_head(p, 0, 1);
	memcpy(p + 4, s, sizeof s);
}

static void pmt(uint8_t *p)
{
	static const uint8_t s[] = { 0x00, 0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00,
				     0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0, 0, 0, 0 }; /* H.264 on 0x100 */
	ts_head(p, 0x1000, 1);
	memcpy(p + 4, s, sizeof s);
}

static void put_ts(uint8_t *q, int marker, int64_t v)
{
	q[0] = (uint8_t)(marker << 4 | ((v >> 29) & 0x0e) | 1);
	q[1] = (uint8_t)(v >> 22);
	q[2] = (uint8_t)(((v >> 14) & 0xfe) | 1);
	q[3] = (uint8_t)(v >> 7);
	q[4] = (uint8_t)(((v << 1) & 0xfe) | 1);
}

/* A video PES start with pts, and dts when dts >= 0. */
static void pes(uint8_t *p, int64_t pts, int64_t dts)
{
	uint8_t *q = p + 4;
	ts_head(p, 0x100, 1);
	q[0] = 0; q[1] = 0; q[2] = 1; q[3] = 0xe0; q[4] = 0; q[5] = 0; q[6] = 0x80;
	q[7] = dts >= 0 ? 0xc0 : 0x80;
	q[8] = dts >= 0 ? 10 : 5;
	put_ts(q + 9, dts >= 0 ? 3 : 2, pts);
	if (dts >= 0)
		put_ts(q + 14, 1, dts);
}

static void scan(void **s)
{
	lsp_tsscan t;
	uint8_t p[188 * 3];
	(void)s;
	lsp_tsscan_init(&t);
	pat(p);
	pmt(p + 188);
	pes(p + 376, 90000, -1);
	lsp_tsscan_feed(&t, p, 100); /* split across feeds */
	lsp_tsscan_feed(&t, p + 100, sizeof p - 100);
	assert_int_equal(t.pmt_pid, 0x1000);
	assert_int_equal(t.vpid, 0x100);
	assert_string_equal(lsp_tsscan_codec(t.vtype), "h264");
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.v_pts, 90000);
	assert_int_equal(t.bframes, 0);
	pes(p, 93600, 93600); /* both stamps, equal: no reordering */
	lsp_tsscan_feed(&t, p, 188);
	assert_int_equal(t.v_pts, 93600);
	assert_int_equal(t.bframes, 0);
	pes(p, 104400, 97200); /* shown after it is decoded: B-frames */
	lsp_tsscan_feed(&t, p, 188);
	assert_int_equal(t.frames, 3);
	assert_int_equal(t.bframes, 1);
	pes(p, 108000, -1); /* it stays set for the publish */
	lsp_tsscan_feed(&t, p, 188);
	assert_int_equal(t.bframes, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(scan) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
