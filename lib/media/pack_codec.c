/* pack_codec.c — the RFC 6381 codec strings of a rung (avc1.PPCCLL,
 * mp4a.40.AOT) and the picture size an H.264 key frame's SPS gives when
 * the stream parameters have none; see pack_int.h. */
#include <stdio.h>
#include <string.h>

#include "media/pack_int.h"

int pack_aac_freq_index(int rate)
{
	static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
				     22050, 16000, 12000, 11025, 8000, 7350 };
	for (int i = 0; i < 13; i++)
		if (rates[i] == rate)
			return i;
	return -1;
}

int pack_aac_aot(const AVCodecParameters *par)
{
	return par->profile >= 0 && par->profile < 30 ? par->profile + 1 : 2;
}

/* "avc1.PPCCLL" from the SPS in Annex B or avcC extradata. */
void pack_avc_codec(const uint8_t *x, int n, char *dst, size_t cap)
{
	snprintf(dst, cap, "avc1.42e01e");
	if (n >= 4 && x[0] == 1) {
		snprintf(dst, cap, "avc1.%02x%02x%02x", x[1], x[2], x[3]);
		return;
	}
	for (int i = 0; i + 6 < n; i++) {
		if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
			snprintf(dst, cap, "avc1.%02x%02x%02x", x[i + 4], x[i + 5], x[i + 6]);
			return;
		}
	}
}

/* Picture size from the SPS in a key frame (the H.264 parser reads it). */
void pack_avc_size_from(AVCodecParameters *par, const AVPacket *pkt)
{
	AVCodecParserContext *pc = av_parser_init(AV_CODEC_ID_H264);
	AVCodecContext *cc = avcodec_alloc_context3(NULL);
	uint8_t *out;
	int outlen;
	if (pc && cc) {
		av_parser_parse2(pc, cc, &out, &outlen, pkt->data, pkt->size, pkt->pts, pkt->dts, 0);
		av_parser_parse2(pc, cc, &out, &outlen, NULL, 0, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
		if (pc->width > 0 && pc->height > 0) {
			par->width = pc->width;
			par->height = pc->height;
		}
	}
	av_parser_close(pc);
	avcodec_free_context(&cc);
}

