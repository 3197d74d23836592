/* test_flv — FLV tag bodies, AVC config → Annex B, AAC config → ADTS. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/flv.h"

static void test_parse(void **st)
{
	static const uint8_t vkey[] = { 0x17, 1, 0xff, 0xff, 0xf6, 0, 0, 0, 2, 0x65, 0x88 };
	static const uint8_t vhdr[] = { 0x17, 0, 0, 0, 0, 1 };
	static const uint8_t hevc[] = { 0x1c, 1, 0, 0, 0 };
	static const uint8_t aac[] = { 0xaf, 1, 0x21, 0x10 };
	static const uint8_t mp3[] = { 0x2f, 1 };
	lsp_flv_frame f;
	(void)st;
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, vkey, sizeof vkey, &f), 0);
	assert_true(f.keyframe && !f.is_header);
	assert_int_equal(f.cts, -10);
	assert_int_equal(f.len, 6);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, vhdr, sizeof vhdr, &f), 0);
	assert_true(f.is_header);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, hevc, sizeof hevc, &f), -ENOTSUP);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, vkey, 3, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, aac, sizeof aac, &f), 0);
	assert_int_equal(f.len, 2);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, mp3, sizeof mp3, &f), -ENOTSUP);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, aac, 0, &f), -EINVAL);
}

static void test_avc(void **st)
{
	/* avcC: profile 66, level 30, 4-byte lengths, 1 SPS (3 bytes), 1 PPS (2 bytes) */
	static const uint8_t cfg[] = { 1, 66, 0, 30, 0xff, 0xe1, 0, 3, 0x67, 0xaa, 0xbb, 1, 0, 2, 0x68, 0xcc };
	static const uint8_t au[] = { 0, 0, 0, 2, 0x65, 0x11, 0, 0, 0, 1, 0x06 };
	static const uint8_t want[] = { 0, 0, 0, 1, 0x67, 0xaa, 0xbb, 0, 0, 0, 1, 0x68, 0xcc,
					0, 0, 0, 1, 0x65, 0x11, 0, 0, 0, 1, 0x06 };
	uint8_t out[64];
	lsp_flv_avc c;
	int n;
	(void)st;
	assert_int_equal(lsp_flv_avc_config(cfg, sizeof cfg, &c), 0);
	assert_int_equal(c.nal_len_size, 4);
	assert_int_equal(c.ps_len, 13);
	n = lsp_flv_avc_annexb(&c, au, sizeof au, 1, out, sizeof out);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(out, want, sizeof want);
	n = lsp_flv_avc_annexb(&c, au, sizeof au, 0, out, sizeof out);
	assert_int_equal(n, 11);
	assert_int_equal(lsp_flv_avc_annexb(&c, au, sizeof au - 1, 0, out, sizeof out), -EINVAL);
	assert_int_equal(lsp_flv_avc_annexb(&c, au, sizeof au, 1, out, 10), -ENOSPC);
	assert_int_equal(lsp_flv_avc_config(cfg, sizeof cfg - 1, &c), -EINVAL);
	assert_int_equal(lsp_flv_avc_config(cfg, 5, &c), -EINVAL);
}

static void test_aac(void **st)
{
	static const uint8_t asc[] = { 0x12, 0x10 }; /* AAC LC, 44100, stereo */
	uint8_t h[7];
	lsp_flv_aac c;
	(void)st;
	assert_int_equal(lsp_flv_aac_config(asc, sizeof asc, &c), 0);
	assert_int_equal(c.object_type, 2);
	assert_int_equal(c.sample_rate, 44100);
	assert_int_equal(c.channels, 2);
	assert_int_equal(lsp_flv_adts_header(&c, 100, h), 0);
	assert_int_equal(h[0], 0xff);
	assert_int_equal(h[1], 0xf1);
	assert_int_equal(((h[3] & 3) << 11) | (h[4] << 3) | (h[5] >> 5), 107);
	assert_int_equal(lsp_flv_adts_header(&c, 9000, h), -EINVAL);
	assert_int_equal(lsp_flv_aac_config((const uint8_t[]){ 0xff, 0xff }, 2, &c), -ENOTSUP);
	assert_int_equal(lsp_flv_aac_config(asc, 1, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_avc),
		cmocka_unit_test(test_aac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
