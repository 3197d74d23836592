/* Unit tests: lib/media/thumb.c (JPEG stills from H.264 key frames). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>

#include "media/thumb.h"

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof dir, "/tmp/lsp-thumb.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	(void)s;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One H.264 key frame (w x h, a gradient) from libavcodec's encoder; its
 * parameters in par.  Returns NULL when no H.264 encoder is built in. */
static AVPacket *key_frame(int w, int h, AVCodecParameters *par)
{
	const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_H264);
	AVCodecContext *enc;
	AVFrame *f;
	AVPacket *pkt;
	if (!c)
		return NULL;
	enc = avcodec_alloc_context3(c);
	f = av_frame_alloc();
	pkt = av_packet_alloc();
	assert_non_null(enc);
	assert_non_null(f);
	assert_non_null(pkt);
	enc->width = w;
	enc->height = h;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->time_base = (AVRational){ 1, 30 };
	enc->gop_size = 1;
	enc->max_b_frames = 0;
	assert_int_equal(avcodec_open2(enc, c, NULL), 0);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			f->data[0][y * f->linesize[0] + x] = (uint8_t)(x * 255 / w);
	for (int y = 0; y < h / 2; y++) {
		memset(f->data[1] + y * f->linesize[1], 90, (size_t)w / 2);
		memset(f->data[2] + y * f->linesize[2], 170, (size_t)w / 2);
	}
	f->pts = 0;
	assert_int_equal(avcodec_send_frame(enc, f), 0);
	assert_int_equal(avcodec_send_frame(enc, NULL), 0);
	assert_int_equal(avcodec_receive_packet(enc, pkt), 0);
	assert_true(pkt->flags & AV_PKT_FLAG_KEY);
	assert_int_equal(avcodec_parameters_from_context(par, enc), 0);
	avcodec_free_context(&enc);
	av_frame_free(&f);
	return pkt;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *b = malloc(1 << 20);
	assert_non_null(fp);
	assert_non_null(b);
	*n = fread(b, 1, 1 << 20, fp);
	fclose(fp);
	return b;
}

static void test_jpeg_scaled(void **s)
{
	AVCodecParameters *par = avcodec_parameters_alloc();
	lsp_thumb *t = NULL;
	char err[256], path[128];
	size_t n;
	unsigned char *b;
	AVPacket *pkt;
	(void)s;
	assert_non_null(par);
	if (!(pkt = key_frame(640, 360, par))) {
		avcodec_parameters_free(&par);
		skip();
	}
	assert_int_equal(lsp_thumb_open(&t, par, 160, err, sizeof err), 0);
	/* twice: the decoder is reusable after each picture */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lsp_thumb_write(t, pkt, dir, "thumb.jpg", err, sizeof err), 0);
		snprintf(path, sizeof path, "%s/thumb.jpg", dir);
		b = slurp(path, &n);
		assert_true(n > 100);
		assert_int_equal(b[0], 0xFF); /* SOI ... EOI */
		assert_int_equal(b[1], 0xD8);
		assert_int_equal(b[n - 2], 0xFF);
		assert_int_equal(b[n - 1], 0xD9);
		/* SOF0 carries the size: 160 x 90 */
		int sof = 0;
		for (size_t i2 = 2; i2 + 8 < n && !sof; i2++)
			if (b[i2] == 0xFF && b[i2 + 1] == 0xC0) {
				assert_int_equal(b[i2 + 5] << 8 | b[i2 + 6], 90);
				assert_int_equal(b[i2 + 7] << 8 | b[i2 + 8], 160);
				sof = 1;
			}
		assert_true(sof);
		free(b);
	}
	/* not a decodable key frame: no picture, the old file stays */
	pkt->data[pkt->size / 2] ^= 0xFF;
	pkt->size = 8;
	assert_true(lsp_thumb_write(t, pkt, dir, "thumb.jpg", err, sizeof err) < 0);
	assert_true(err[0] != 0);
	b = slurp(path, &n);
	assert_true(n > 100);
	free(b);
	lsp_thumb_close(t);
	av_packet_free(&pkt);
	avcodec_parameters_free(&par);
}

static void test_refuses(void **s)
{
	AVCodecParameters *par = avcodec_parameters_alloc();
	lsp_thumb *t = (lsp_thumb *)1;
	char err[128] = "";
	(void)s;
	assert_non_null(par);
	par->codec_type = AVMEDIA_TYPE_AUDIO;
	par->codec_id = AV_CODEC_ID_AAC;
	assert_int_equal(lsp_thumb_open(&t, par, 320, err, sizeof err), -EINVAL);
	assert_null(t);
	assert_true(err[0] != 0);
	par->codec_type = AVMEDIA_TYPE_VIDEO;
	par->codec_id = AV_CODEC_ID_H264;
	assert_int_equal(lsp_thumb_open(&t, par, 8, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_thumb_open(&t, par, LSP_THUMB_MAX_WIDTH + 1, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_thumb_open(&t, NULL, 320, err, sizeof err), -EINVAL);
	lsp_thumb_close(NULL);
	avcodec_parameters_free(&par);
}

int main(void)
{
	av_log_set_level(AV_LOG_QUIET);
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_jpeg_scaled),
		cmocka_unit_test(test_refuses),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
