/* test_rtcrelay — lib/rtcrelay: a stream of frames built with the header
 * writer reads back identically whether it arrives whole or a byte at a
 * time; a keyframe request (kind 6) is a header alone; every framing
 * error (preface, kind, reserved bytes, control frames
 * with the wrong payload, time stamps out of range, payloads over the bound)
 * is refused; a reset reader takes a new stream. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/rtcrelay.h"

/* preface + gen(7, id 0xabc) + key video (100 bytes) + audio (3 bytes) + ping + end */
static size_t build(uint8_t *b)
{
	size_t o = 0;
	memcpy(b, LSP_RTCRELAY_PREFACE, LSP_RTCRELAY_PREFACE_LEN);
	o += LSP_RTCRELAY_PREFACE_LEN;
	lsp_rtcrelay_gen(b + o, 7, 0xabc);
	o += LSP_RTCRELAY_HDR + LSP_RTCRELAY_GEN_LEN;
	lsp_rtcrelay_hdr(b + o, LSP_RTCRELAY_VIDEO, LSP_RTCRELAY_KEY | LSP_RTCRELAY_LIVE, 41, 9000, 6000, 100);
	o += LSP_RTCRELAY_HDR;
	for (int i = 0; i < 100; i++)
		b[o++] = (uint8_t)i;
	lsp_rtcrelay_hdr(b + o, LSP_RTCRELAY_AUDIO, 0, 42, -5, INT64_MIN, 3);
	o += LSP_RTCRELAY_HDR;
	b[o++] = 0xff;
	b[o++] = 0xf1;
	b[o++] = 0x50;
	lsp_rtcrelay_hdr(b + o, LSP_RTCRELAY_PING, 0, 0, 0, 0, 0);
	o += LSP_RTCRELAY_HDR;
	lsp_rtcrelay_hdr(b + o, LSP_RTCRELAY_END, 0, 43, 0, 0, 0);
	o += LSP_RTCRELAY_HDR;
	return o;
}

/* Feed b in pieces of step bytes; record kinds and check each frame. */
static int read_all(const uint8_t *b, size_t len, size_t step, int *kinds)
{
	lsp_rtcrelay_rd rd;
	lsp_rtcrelay_frame f;
	size_t off = 0, used;
	int n = 0, rc;
	lsp_rtcrelay_init(&rd, 1000);
	while (off < len) {
		size_t k = len - off < step ? len - off : step;
		size_t done = 0;
		while (done < k) {
			rc = lsp_rtcrelay_feed(&rd, b + off + done, k - done, &used, &f);
			assert_true(rc >= 0);
			assert_true(used <= k - done);
			done += used;
			if (rc == 0) {
				assert_int_equal(done, k);
				break;
			}
			kinds[n++] = f.kind;
			switch (f.kind) {
			case LSP_RTCRELAY_GEN:
				assert_int_equal(f.seq, 7);
				assert_int_equal(lsp_rtcrelay_gen_id(&f), 0xabc);
				break;
			case LSP_RTCRELAY_VIDEO:
				assert_int_equal(f.flags, LSP_RTCRELAY_KEY | LSP_RTCRELAY_LIVE);
				assert_int_equal(f.seq, 41);
				assert_int_equal(f.pts, 9000);
				assert_int_equal(f.dts, 6000);
				assert_int_equal(f.len, 100);
				for (int i = 0; i < 100; i++)
					assert_int_equal(f.data[i], i);
				break;
			case LSP_RTCRELAY_AUDIO:
				assert_int_equal(f.seq, 42);
				assert_int_equal(f.pts, -5);
				assert_true(f.dts == INT64_MIN);
				assert_int_equal(f.len, 3);
				assert_memory_equal(f.data, "\xff\xf1\x50", 3);
				break;
			case LSP_RTCRELAY_END:
				assert_int_equal(f.seq, 43);
				break;
			default:
				assert_int_equal(f.len, 0);
			}
		}
		off += k;
	}
	lsp_rtcrelay_free(&rd);
	return n;
}

static void roundtrip(void **state)
{
	uint8_t b[1024];
	size_t len = build(b);
	static const size_t steps[] = { 1, 2, 3, 7, 31, 32, 33, 100, 1024 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		int kinds[16] = { 0 };
		assert_int_equal(read_all(b, len, steps[i], kinds), 5);
		assert_int_equal(kinds[0], LSP_RTCRELAY_GEN);
		assert_int_equal(kinds[1], LSP_RTCRELAY_VIDEO);
		assert_int_equal(kinds[2], LSP_RTCRELAY_AUDIO);
		assert_int_equal(kinds[3], LSP_RTCRELAY_PING);
		assert_int_equal(kinds[4], LSP_RTCRELAY_END);
	}
}

/* The error one frame header (after a good preface) provokes. */
static int bad_one(const uint8_t *hdr, size_t extra)
{
	uint8_t b[256];
	lsp_rtcrelay_rd rd;
	lsp_rtcrelay_frame f;
	size_t used;
	int rc;
	memcpy(b, LSP_RTCRELAY_PREFACE, 8);
	memcpy(b + 8, hdr, LSP_RTCRELAY_HDR);
	memset(b + 8 + LSP_RTCRELAY_HDR, 0, extra);
	lsp_rtcrelay_init(&rd, 1000);
	rc = lsp_rtcrelay_feed(&rd, b, 8 + LSP_RTCRELAY_HDR + extra, &used, &f);
	lsp_rtcrelay_free(&rd);
	return rc;
}

static void refused(void **state)
{
	uint8_t h[LSP_RTCRELAY_HDR];
	lsp_rtcrelay_rd rd;
	lsp_rtcrelay_frame f;
	size_t used;
	/* a wrong preface, even one byte of it */
	lsp_rtcrelay_init(&rd, 1000);
	assert_int_equal(lsp_rtcrelay_feed(&rd, (const uint8_t *)"LSPRLY0", 7, &used, &f), 0);
	assert_int_equal(lsp_rtcrelay_feed(&rd, (const uint8_t *)"2", 1, &used, &f), -EPROTO);
	lsp_rtcrelay_reset(&rd);
	assert_int_equal(lsp_rtcrelay_feed(&rd, (const uint8_t *)"HTTP/1.1", 8, &used, &f), -EPROTO);
	lsp_rtcrelay_free(&rd);
	/* kinds 0 and 7; 6 (keyframe request) only without a payload */
	lsp_rtcrelay_hdr(h, 0, 0, 0, 0, 0, 0);
	assert_int_equal(bad_one(h, 0), -EPROTO);
	lsp_rtcrelay_hdr(h, 7, 0, 0, 0, 0, 0);
	assert_int_equal(bad_one(h, 0), -EPROTO);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_KEYREQ, 0, 0, 0, 0, 0);
	assert_int_equal(bad_one(h, 0), 1);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_KEYREQ, 0, 0, 0, 0, 1);
	assert_int_equal(bad_one(h, 1), -EPROTO);
	/* reserved bytes */
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_VIDEO, 0, 0, 0, 0, 1);
	h[3] = 1;
	assert_int_equal(bad_one(h, 1), -EPROTO);
	/* control frames with the wrong payload */
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_PING, 0, 0, 0, 0, 1);
	assert_int_equal(bad_one(h, 1), -EPROTO);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_GEN, 0, 0, 0, 0, 0);
	assert_int_equal(bad_one(h, 0), -EPROTO);
	/* time stamps beyond +-2^42 (INT64_MIN means none and is fine) */
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_VIDEO, 0, 0, LSP_RTCRELAY_TS_MAX + 1, 0, 1);
	assert_int_equal(bad_one(h, 1), -EPROTO);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_AUDIO, 0, 0, 0, INT64_MAX, 1);
	assert_int_equal(bad_one(h, 1), -EPROTO);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_AUDIO, 0, 0, INT64_MIN, INT64_MIN, 1);
	assert_int_equal(bad_one(h, 1), 1);
	/* payload over the bound: refused from the header, before any byte of it */
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_VIDEO, 0, 0, 0, 0, 1001);
	assert_int_equal(bad_one(h, 0), -E2BIG);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_VIDEO, 0, 0, 0, 0, 0xffffffffu);
	assert_int_equal(bad_one(h, 0), -E2BIG);
	lsp_rtcrelay_hdr(h, LSP_RTCRELAY_VIDEO, 0, 0, 0, 0, 1000);
	assert_int_equal(bad_one(h, 0), 0); /* at the bound: waits for the bytes */
}

static void reset_takes_new_stream(void **state)
{
	uint8_t b[1024];
	size_t len = build(b), used;
	lsp_rtcrelay_rd rd;
	lsp_rtcrelay_frame f;
	lsp_rtcrelay_init(&rd, 1000);
	/* half a video frame, then the connection drops */
	size_t cut = LSP_RTCRELAY_PREFACE_LEN + LSP_RTCRELAY_HDR + LSP_RTCRELAY_GEN_LEN + LSP_RTCRELAY_HDR + 50;
	assert_int_equal(lsp_rtcrelay_feed(&rd, b, cut, &used, &f), 1); /* the gen frame */
	assert_int_equal(lsp_rtcrelay_feed(&rd, b + used, cut - used, &used, &f), 0);
	lsp_rtcrelay_reset(&rd);
	assert_int_equal(lsp_rtcrelay_feed(&rd, b, len, &used, &f), 1);
	assert_int_equal(f.kind, LSP_RTCRELAY_GEN);
	assert_int_equal(lsp_rtcrelay_feed(&rd, b + used, len - used, &used, &f), 1);
	assert_int_equal(f.kind, LSP_RTCRELAY_VIDEO);
	assert_int_equal(f.len, 100);
	lsp_rtcrelay_free(&rd);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(refused),
		cmocka_unit_test(reset_takes_new_stream),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
