/* test_tsin.c — lib/tsin: a missing input fails cleanly; the stream map starts empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "media/tsin.h"

static int never(void *opaque)
{
	(void)opaque;
	return 0;
}

static void missing_input(void **s)
{
	AVFormatContext *ic = (AVFormatContext *)1;
	char err[256] = "";
	(void)s;
	assert_true(lsp_tsin_open(&ic, "/nonexistent/lsp/in.ts", (AVIOInterruptCB){ never, NULL }, err, sizeof err) < 0);
	assert_null(ic);
	assert_true(strlen(err) > 0);
}

static void stream_map(void **s)
{
	AVFormatContext *ic = avformat_alloc_context();
	char err[64];
	int *map = NULL;
	(void)s;
	assert_non_null(ic);
	assert_int_equal(lsp_tsin_map(ic, &map, err, sizeof err), 0); /* no streams: still a table */
	assert_non_null(map);
	free(map);
	for (int i = 0; i < 3; i++)
		assert_non_null(avformat_new_stream(ic, NULL));
	assert_int_equal(lsp_tsin_map(ic, &map, err, sizeof err), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(map[i], -1);
	free(map);
	avformat_free_context(ic);
}

static void fill_ts(void **s)
{
	AVCodecParameters *a = avcodec_parameters_alloc();
	AVPacket *pkt = av_packet_alloc();
	AVRational tb = { 1, 90000 };
	(void)s;
	assert_non_null(a);
	assert_non_null(pkt);
	a->codec_type = AVMEDIA_TYPE_AUDIO;
	a->sample_rate = 48000;
	a->frame_size = 1024;
	pkt->pts = 1000; /* pts only: dts from it */
	assert_int_equal(lsp_tsin_fill_ts(pkt, a, tb, AV_NOPTS_VALUE, 0), 1);
	assert_int_equal(pkt->dts, 1000);
	pkt->pts = pkt->dts = AV_NOPTS_VALUE; /* nothing before it: stays without */
	assert_int_equal(lsp_tsin_fill_ts(pkt, a, tb, AV_NOPTS_VALUE, 0), 0);
	pkt->duration = 0; /* after 1000: one AAC frame later (1024 / 48000 s = 1920 ticks) */
	assert_int_equal(lsp_tsin_fill_ts(pkt, a, tb, 1000, 0), 1);
	assert_int_equal(pkt->dts, 2920);
	assert_int_equal(pkt->pts, 2920);
	pkt->pts = pkt->dts = AV_NOPTS_VALUE; /* the previous duration wins over the frame size */
	assert_int_equal(lsp_tsin_fill_ts(pkt, a, tb, 2920, 3000), 1);
	assert_int_equal(pkt->dts, 5920);
	av_packet_free(&pkt);
	avcodec_parameters_free(&a);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(missing_input), cmocka_unit_test(stream_map),
					cmocka_unit_test(fill_ts) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
