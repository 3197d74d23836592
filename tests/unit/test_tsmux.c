/* test_tsmux — lib/ingest/tsmux: what lsp-ingest writes for each codec
 * pair it serves, read back by libavformat's mpegts demuxer (the reader
 * lsp-transcode uses): H.264 + AAC (stream types 0x1b, 0x0f), HEVC + Opus
 * (0x24, Opus with its registration descriptor); a codec it does not mux
 * is -ENOTSUP; no fd until the first frame (lsp_tsmux_set_fd). */
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
#include <libavformat/avformat.h>

#include "ingest/tsmux.h"

static char path[64];

/* Mux configs and 10 frames of each kind to a file; 0 or a negative code. */
static int mux(uint32_t vc, const uint8_t *vrec, size_t vlen, const uint8_t *vau, size_t vaulen, uint32_t ac,
	       const uint8_t *arec, size_t alen, const uint8_t *apk, size_t apklen)
{
	lsp_tsmux *m;
	char err[256];
	int fd, rc;
	snprintf(path, sizeof path, "/tmp/test_tsmux_XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(lsp_tsmux_open(&m, -1, err, sizeof err), 0);
	assert_int_equal(lsp_tsmux_video_config(m, vc, vrec, vlen, err, sizeof err), 0);
	assert_int_equal(lsp_tsmux_audio_config(m, ac, arec, alen, err, sizeof err), 0);
	lsp_tsmux_set_fd(m, fd);
	for (int i = 0; i < 10; i++) {
		lsp_flv_frame v = { .kind = LSP_FLV_VIDEO, .codec = vc, .keyframe = i == 0, .data = vau, .len = vaulen };
		lsp_flv_frame a = { .kind = LSP_FLV_AUDIO, .codec = ac, .keyframe = 1, .data = apk, .len = apklen };
		assert_int_equal(lsp_tsmux_write(m, &v, i * 40, err, sizeof err), 0);
		assert_int_equal(lsp_tsmux_write(m, &a, i * 20, err, sizeof err), 0);
	}
	/* the other codec mid-stream: dropped, the stream goes on */
	{
		lsp_flv_frame v = { .kind = LSP_FLV_VIDEO, .codec = vc == LSP_FLV_HEVC ? LSP_FLV_AVC : LSP_FLV_HEVC,
				    .data = vau, .len = vaulen };
		assert_int_equal(lsp_tsmux_write(m, &v, 400, err, sizeof err), -EINVAL);
	}
	rc = lsp_tsmux_close(m, err, sizeof err);
	close(fd);
	return rc;
}

/* The codec ids the demuxer sees, in stream order. */
static void probe(enum AVCodecID want_v, enum AVCodecID want_a, int channels)
{
	AVFormatContext *ic = NULL;
	int v = 0, a = 0;
	assert_int_equal(avformat_open_input(&ic, path, av_find_input_format("mpegts"), NULL), 0);
	avformat_find_stream_info(ic, NULL); /* the filler frames need not decode */
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		const AVCodecParameters *p = ic->streams[i]->codecpar;
		if (p->codec_type == AVMEDIA_TYPE_VIDEO && p->codec_id == want_v)
			v++;
		if (p->codec_type == AVMEDIA_TYPE_AUDIO && p->codec_id == want_a) {
			a++;
			if (channels)
				assert_int_equal(p->ch_layout.nb_channels, channels);
		}
	}
	assert_int_equal(ic->nb_streams, 2);
	assert_int_equal(v, 1);
	assert_int_equal(a, 1);
	avformat_close_input(&ic);
	unlink(path);
}

static void h264_aac(void **st)
{
	static const uint8_t avcc[] = { 1, 66, 0, 30, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1e, 1, 0, 2, 0x68, 0xce };
	static const uint8_t au[] = { 0, 0, 0, 3, 0x65, 0x88, 0x80 };
	static const uint8_t asc[] = { 0x12, 0x10 };
	static const uint8_t aac[] = { 0x21, 0x00, 0x49, 0x90 };
	(void)st;
	assert_int_equal(mux(LSP_FLV_AVC, avcc, sizeof avcc, au, sizeof au, LSP_FLV_AAC, asc, sizeof asc, aac, sizeof aac),
			 0);
	probe(AV_CODEC_ID_H264, AV_CODEC_ID_AAC, 0);
}

static void hevc_opus(void **st)
{
	/* hvcC with a VPS, SPS and PPS (their bodies are filler) */
	static const uint8_t hvcc[] = { 1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8,
					0, 0, 0x0f, 3,
					0xa0, 0, 1, 0, 3, 0x40, 0x01, 0x0c,
					0xa1, 0, 1, 0, 3, 0x42, 0x01, 0x01,
					0xa2, 0, 1, 0, 3, 0x44, 0x01, 0xc0 };
	static const uint8_t au[] = { 0, 0, 0, 3, 0x26, 0x01, 0xaf };
	static const uint8_t head[] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0 };
	static const uint8_t pk[] = { 0xfc, 0xff, 0xfe }; /* TOC: 20 ms CELT, stereo, 1 frame */
	(void)st;
	assert_int_equal(mux(LSP_FLV_HEVC, hvcc, sizeof hvcc, au, sizeof au, LSP_FLV_OPUS, head, sizeof head, pk, sizeof pk),
			 0);
	probe(AV_CODEC_ID_HEVC, AV_CODEC_ID_OPUS, 2);
}

static void not_muxed(void **st)
{
	static const uint8_t rec[] = { 0x81, 0, 0x0c, 0 };
	lsp_tsmux *m;
	char err[128];
	(void)st;
	assert_int_equal(lsp_tsmux_open(&m, -1, err, sizeof err), 0);
	assert_int_equal(lsp_tsmux_video_config(m, LSP_FLV_AV1, rec, sizeof rec, err, sizeof err), -ENOTSUP);
	assert_int_equal(lsp_tsmux_audio_config(m, LSP_FLV_FOURCC('f', 'L', 'a', 'C'), rec, sizeof rec, err, sizeof err),
			 -ENOTSUP);
	assert_int_equal(lsp_tsmux_audio_config(m, LSP_FLV_OPUS, rec, sizeof rec, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_tsmux_video_config(m, LSP_FLV_HEVC, rec, sizeof rec, err, sizeof err), -EINVAL);
	assert_null(lsp_tsmux_video_codec(m));
	assert_null(lsp_tsmux_audio_codec(m));
	assert_int_equal(lsp_tsmux_close(m, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(h264_aac),
		cmocka_unit_test(hevc_opus),
		cmocka_unit_test(not_muxed),
	};
	av_log_set_level(AV_LOG_QUIET); /* the filler frames do not decode: libav says so */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
