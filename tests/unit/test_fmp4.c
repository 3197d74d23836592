/* Unit tests: lib/media/fmp4.c (H.264 and HEVC extradata recovered from a key frame). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "media/fmp4.h"

static AVPacket *packet(const uint8_t *b, size_t n)
{
	AVPacket *p = av_packet_alloc();
	assert_non_null(p);
	assert_int_equal(av_new_packet(p, (int)n), 0);
	memcpy(p->data, b, n);
	return p;
}

/* SPS and PPS come out with 4-byte start codes; the slice stays behind. */
static void sps_pps_taken(void **s)
{
	static const uint8_t kf[] = { 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
				      0, 0, 1, 0x65, 0x88, 0x84, 0x21 };
	static const uint8_t want[] = { 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80 };
	AVCodecParameters *par = avcodec_parameters_alloc();
	AVPacket *p = packet(kf, sizeof kf);
	(void)s;
	assert_int_equal(lsp_fmp4_ps_extradata(par, p), 0);
	assert_int_equal(par->extradata_size, sizeof want);
	assert_memory_equal(par->extradata, want, sizeof want);
	av_packet_free(&p);
	avcodec_parameters_free(&par);
}

/* Each 3-byte start code grows to 4: a packet of nothing but tiny SPS
 * NALs once wrote past the end of the extradata buffer. */
static void many_small_nals(void **s)
{
	enum { N = 1000 };
	static uint8_t kf[4 * N];
	AVCodecParameters *par = avcodec_parameters_alloc();
	AVPacket *p;
	(void)s;
	for (int i = 0; i < N; i++)
		memcpy(kf + 4 * i, "\0\0\1\x67", 4);
	p = packet(kf, sizeof kf);
	assert_int_equal(lsp_fmp4_ps_extradata(par, p), 0);
	assert_int_equal(par->extradata_size, 5 * N);
	av_packet_free(&p);
	avcodec_parameters_free(&par);
}

/* HEVC: VPS, SPS and PPS (NAL types 32-34, in bits 1-6 of the first
 * header byte) come out; the SEI (39) and the IDR slice (19) stay behind.
 * The same bytes read as H.264 types (0x40 & 0x1f = 0, ...) are none. */
static void hevc_vps_sps_pps_taken(void **s)
{
	static const uint8_t kf[] = { 0, 0, 0, 1, 0x40, 0x01, 0x0c, 0,	  0, 1, 0x42, 0x01, 0x01, 0,    0, 1,
				      0x44, 0x01, 0xc1, 0, 0, 1,    0x4e, 0x01, 0x05, 0,    0, 1, 0x26, 0x01, 0xaf };
	static const uint8_t want[] = { 0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 0, 1, 0x42, 0x01, 0x01,
					0, 0, 0, 1, 0x44, 0x01, 0xc1 };
	AVCodecParameters *par = avcodec_parameters_alloc();
	AVPacket *p = packet(kf, sizeof kf);
	(void)s;
	par->codec_id = AV_CODEC_ID_HEVC;
	assert_int_equal(lsp_fmp4_ps_extradata(par, p), 0);
	assert_int_equal(par->extradata_size, sizeof want);
	assert_memory_equal(par->extradata, want, sizeof want);
	avcodec_parameters_free(&par);
	par = avcodec_parameters_alloc();
	par->codec_id = AV_CODEC_ID_H264;
	assert_int_equal(lsp_fmp4_ps_extradata(par, p), AVERROR_INVALIDDATA);
	av_packet_free(&p);
	avcodec_parameters_free(&par);
}

static void no_parameter_sets(void **s)
{
	static const uint8_t pf[] = { 0, 0, 1, 0x41, 0x9a, 0x02 };
	AVCodecParameters *par = avcodec_parameters_alloc();
	AVPacket *p = packet(pf, sizeof pf);
	(void)s;
	assert_int_equal(lsp_fmp4_ps_extradata(par, p), AVERROR_INVALIDDATA);
	assert_int_equal(par->extradata_size, 0);
	av_packet_free(&p);
	avcodec_parameters_free(&par);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(sps_pps_taken),
		cmocka_unit_test(many_small_nals),
		cmocka_unit_test(hevc_vps_sps_pps_taken),
		cmocka_unit_test(no_parameter_sets),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
