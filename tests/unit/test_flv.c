/* test_flv — FLV tag bodies (legacy and Enhanced RTMP), AVC and HEVC
 * config → Annex B, AAC config → ADTS, the Opus ID header, codec names. */
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
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, hevc, sizeof hevc, &f), 0); /* legacy id 12 */
	assert_true(f.codec == LSP_FLV_HEVC);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, vkey, 3, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, aac, sizeof aac, &f), 0);
	assert_int_equal(f.len, 2);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, mp3, sizeof mp3, &f), -ENOTSUP);
	assert_true(f.codec == 0 && f.legacy == 2);
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

static void test_ex_video(void **st)
{
	/* IsExHeader | FrameType << 4 | PacketType, FourCC, body */
	static const uint8_t seq[] = { 0x90, 'h', 'v', 'c', '1', 1, 2, 3 };
	static const uint8_t coded[] = { 0x91, 'h', 'v', 'c', '1', 0, 0, 40, 0, 0, 0, 1, 0x26 };
	static const uint8_t codedx[] = { 0xa3, 'h', 'v', 'c', '1', 0, 0, 0, 1, 0x02 };
	static const uint8_t end[] = { 0x92, 'h', 'v', 'c', '1' };
	static const uint8_t meta[] = { 0x94, 'h', 'v', 'c', '1', 2, 0, 9 };
	/* ModEx (7) with 2 bytes of data, then CodedFramesX */
	static const uint8_t modex[] = { 0x97, 1, 0xaa, 0xbb, 0x03, 'h', 'v', 'c', '1', 7 };
	static const uint8_t modex_short[] = { 0x97, 5, 0xaa };
	static const uint8_t avc1[] = { 0x91, 'a', 'v', 'c', '1', 0xff, 0xff, 0xff, 9 };
	static const uint8_t av1[] = { 0x90, 'a', 'v', '0', '1', 0x81 };
	static const uint8_t vp9[] = { 0x93, 'v', 'p', '0', '9', 0 };
	static const uint8_t multi[] = { 0x96, 0x00, 'h', 'v', 'c', '1' };
	static const uint8_t shortcc[] = { 0x90, 'h', 'v' };
	static const uint8_t shortcts[] = { 0x91, 'h', 'v', 'c', '1', 0 };
	static const uint8_t badpt[] = { 0x9d, 'h', 'v', 'c', '1', 0 };
	static const uint8_t cmd[] = { 0xd1, 'h', 'v', 'c', '1', 0 };
	lsp_flv_frame f;
	char name[64];
	(void)st;
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, seq, sizeof seq, &f), 0);
	assert_true(f.is_header && f.keyframe && f.codec == LSP_FLV_HEVC);
	assert_int_equal(f.len, 3);
	assert_int_equal(f.data[0], 1);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, coded, sizeof coded, &f), 0);
	assert_true(!f.is_header && f.keyframe);
	assert_int_equal(f.cts, 40);
	assert_int_equal(f.len, 5);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, codedx, sizeof codedx, &f), 0);
	assert_true(!f.keyframe && f.cts == 0 && f.len == 5);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, end, sizeof end, &f), 0);
	assert_true(f.eos && f.len == 0);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, meta, sizeof meta, &f), 0);
	assert_int_equal(f.len, 0);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, cmd, sizeof cmd, &f), 0);
	assert_int_equal(f.len, 0);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, modex, sizeof modex, &f), 0);
	assert_true(f.codec == LSP_FLV_HEVC && f.len == 1 && f.data[0] == 7);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, modex_short, sizeof modex_short, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, avc1, sizeof avc1, &f), 0);
	assert_true(f.codec == LSP_FLV_AVC && f.cts == -1 && f.len == 1);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, av1, sizeof av1, &f), -ENOTSUP);
	assert_true(f.codec == LSP_FLV_AV1);
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, f.codec, f.legacy, name, sizeof name), "AV1");
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, vp9, sizeof vp9, &f), -ENOTSUP);
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, f.codec, f.legacy, name, sizeof name), "VP9");
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, multi, sizeof multi, &f), -ENOTSUP);
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, f.codec, f.legacy, name, sizeof name),
			    "multitrack video");
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, shortcc, sizeof shortcc, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, shortcts, sizeof shortcts, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_VIDEO, badpt, sizeof badpt, &f), -EINVAL);
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, LSP_FLV_FOURCC('x', '\'', 0, '1'), 0, name, sizeof name),
			    "FourCC 'x??1'");
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, 0, 4, name, sizeof name), "VP6 (legacy codec id 4)");
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_VIDEO, 0, 9, name, sizeof name), "unknown (legacy codec id 9)");
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_AUDIO, 0, 11, name, sizeof name),
			    "Speex (legacy sound format id 11)");
}

static void test_ex_audio(void **st)
{
	static const uint8_t seq[] = { 0x90, 'O', 'p', 'u', 's', 'O', 'p', 'u', 's', 'H' };
	static const uint8_t coded[] = { 0x91, 'O', 'p', 'u', 's', 0xfc, 1, 2 };
	static const uint8_t mp4a[] = { 0x91, 'm', 'p', '4', 'a', 0x21 };
	static const uint8_t flac[] = { 0x91, 'f', 'L', 'a', 'C', 0 };
	static const uint8_t multi[] = { 0x95, 0, 'O', 'p', 'u', 's' };
	static const uint8_t mc[] = { 0x94, 'O', 'p', 'u', 's', 0, 2 };
	static const uint8_t badpt[] = { 0x93, 'O', 'p', 'u', 's', 0 };
	lsp_flv_frame f;
	char name[64];
	(void)st;
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, seq, sizeof seq, &f), 0);
	assert_true(f.is_header && f.codec == LSP_FLV_OPUS && f.len == 5);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, coded, sizeof coded, &f), 0);
	assert_true(!f.is_header && f.keyframe && f.len == 3 && f.data[0] == 0xfc);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, mp4a, sizeof mp4a, &f), 0);
	assert_true(f.codec == LSP_FLV_AAC && f.len == 1);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, mc, sizeof mc, &f), 0);
	assert_int_equal(f.len, 0);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, flac, sizeof flac, &f), -ENOTSUP);
	assert_string_equal(lsp_flv_codec_name(LSP_FLV_AUDIO, f.codec, f.legacy, name, sizeof name), "FLAC");
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, multi, sizeof multi, &f), -ENOTSUP);
	assert_int_equal(f.legacy, -1);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, badpt, sizeof badpt, &f), -EINVAL);
	assert_int_equal(lsp_flv_parse(LSP_FLV_AUDIO, seq, 3, &f), -EINVAL);
}

static void test_hevc(void **st)
{
	/* hvcC: 22 bytes of fields (4-byte lengths), 3 arrays: VPS, SPS, PPS, and an SEI array */
	static const uint8_t cfg[] = { 1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8,
				       0, 0, 0x0f, 4,
				       0xa0, 0, 1, 0, 2, 0x40, 0x01,
				       0xa1, 0, 1, 0, 3, 0x42, 0x01, 0x01,
				       0xa2, 0, 1, 0, 2, 0x44, 0x01,
				       0x27, 0, 1, 0, 2, 0x4e, 0x01 };
	/* in-band AUD (dropped), VPS (dropped on keyframes), an IDR slice */
	static const uint8_t au[] = { 0, 0, 0, 3, 0x46, 0x01, 0x50, 0, 0, 0, 2, 0x40, 0x01, 0, 0, 0, 3, 0x26, 0x01, 0xaf };
	static const uint8_t want_key[] = { 0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 0, 1, 0x40, 0x01, 0, 0, 0, 1, 0x42, 0x01,
					    0x01, 0, 0, 0, 1, 0x44, 0x01, 0, 0, 0, 1, 0x26, 0x01, 0xaf };
	static const uint8_t want_p[] = { 0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 0, 1, 0x40, 0x01, 0, 0, 0, 1, 0x26, 0x01, 0xaf };
	uint8_t out[128];
	lsp_flv_avc c;
	int n;
	(void)st;
	assert_int_equal(lsp_flv_hevc_config(cfg, sizeof cfg, &c), 0);
	assert_true(c.hevc && c.nal_len_size == 4 && c.profile == 1 && c.level == 93);
	assert_int_equal(c.ps_len, 19); /* the SEI array is not a parameter set */
	n = lsp_flv_avc_annexb(&c, au, sizeof au, 1, out, sizeof out);
	assert_int_equal(n, sizeof want_key);
	assert_memory_equal(out, want_key, sizeof want_key);
	n = lsp_flv_avc_annexb(&c, au, sizeof au, 0, out, sizeof out);
	assert_int_equal(n, sizeof want_p);
	assert_memory_equal(out, want_p, sizeof want_p);
	assert_int_equal(lsp_flv_avc_annexb(&c, au, sizeof au, 1, out, 20), -ENOSPC);
	assert_int_equal(lsp_flv_hevc_config(cfg, sizeof cfg - 1, &c), -EINVAL);
	assert_int_equal(lsp_flv_hevc_config(cfg, 22, &c), -EINVAL);
}

static void test_opus(void **st)
{
	static const uint8_t head[] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0 };
	static const uint8_t surround[] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 6, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0,
					    1, 4, 2, 0, 4, 1, 2, 3, 5 };
	uint8_t bad[sizeof head];
	lsp_flv_opus o;
	(void)st;
	assert_int_equal(lsp_flv_opus_config(head, sizeof head, &o), 0);
	assert_true(o.channels == 2 && o.pre_skip == 312 && o.head_len == 19);
	assert_int_equal(lsp_flv_opus_config(surround, sizeof surround, &o), 0);
	assert_true(o.channels == 6 && o.head_len == sizeof surround);
	assert_int_equal(lsp_flv_opus_config(surround, sizeof surround - 1, &o), -EINVAL);
	assert_int_equal(lsp_flv_opus_config(head, 18, &o), -EINVAL);
	memcpy(bad, head, sizeof bad);
	bad[9] = 3; /* family 0 is at most stereo */
	assert_int_equal(lsp_flv_opus_config(bad, sizeof bad, &o), -EINVAL);
	bad[0] = 'o';
	assert_int_equal(lsp_flv_opus_config(bad, sizeof bad, &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_avc),
		cmocka_unit_test(test_aac),
		cmocka_unit_test(test_ex_video),
		cmocka_unit_test(test_ex_audio),
		cmocka_unit_test(test_hevc),
		cmocka_unit_test(test_opus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
