/* pack_codec.c — the RFC 6381 codec strings of a rung (avc1.PPCCLL,
 * hvc1.P.C.TL.B, mp4a.40.AOT) and the picture size a key frame's SPS gives
 * when the stream parameters have none; see pack_int.h. */
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
static void avc_codec(const uint8_t *x, int n, char *dst, size_t cap)
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

/* The HEVC profile_tier_level's general part, 12 bytes: space/tier/profile,
 * 4 bytes of compatibility flags, 6 of constraint flags, the level.  The
 * same bytes open hvcC (after its version byte) and an SPS (after the
 * NAL header and one byte of ids), there with emulation prevention. */
static int hevc_ptl(const uint8_t *x, int n, uint8_t ptl[12])
{
	if (n >= 13 && x[0] == 1) { /* hvcC */
		memcpy(ptl, x + 1, 12);
		return 0;
	}
	for (int i = 0; i + 3 < n; i++) {
		if (!(x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1) || ((x[i + 3] >> 1) & 0x3f) != 33)
			continue;
		int k = 0, zeros = 0;
		for (int j = i + 6; j < n && k < 12; j++) { /* NAL header (2), ids (1) */
			if (zeros >= 2 && x[j] == 3) { /* emulation prevention */
				zeros = 0;
				continue;
			}
			zeros = x[j] == 0 ? zeros + 1 : 0;
			ptl[k++] = x[j];
		}
		return k == 12 ? 0 : -1;
	}
	return -1;
}

/* "hvc1.[A-C]P.C.TL[.B...]" (ISO/IEC 14496-15 annex E): profile space and
 * idc, the compatibility flags bit-reversed in hex, tier and level, then
 * the constraint bytes up to the last non-zero one. */
static void hevc_codec(const uint8_t *x, int n, char *dst, size_t cap)
{
	uint8_t ptl[12];
	uint32_t f, rev = 0;
	int last = -1, off;

	snprintf(dst, cap, "hvc1.1.6.L93.B0"); /* Main, level 3.1: the common case */
	if (hevc_ptl(x, n, ptl) < 0)
		return;
	f = (uint32_t)ptl[1] << 24 | (uint32_t)ptl[2] << 16 | (uint32_t)ptl[3] << 8 | ptl[4];
	for (int b = 0; b < 32; b++)
		rev |= ((f >> b) & 1u) << (31 - b);
	off = snprintf(dst, cap, "hvc1.%s%d.%X.%c%d", (const char *[]){ "", "A", "B", "C" }[ptl[0] >> 6],
		       ptl[0] & 0x1f, rev, (ptl[0] & 0x20) ? 'H' : 'L', ptl[11]);
	for (int b = 0; b < 6; b++)
		if (ptl[5 + b])
			last = b;
	for (int b = 0; b <= last && off > 0 && (size_t)off < cap; b++)
		off += snprintf(dst + off, cap - (size_t)off, ".%X", ptl[5 + b]);
}

void pack_video_codec(enum AVCodecID id, const uint8_t *x, int n, char *dst, size_t cap)
{
	if (id == AV_CODEC_ID_HEVC)
		hevc_codec(x, n, dst, cap);
	else
		avc_codec(x, n, dst, cap);
}

/* Picture size from the SPS in a key frame (the codec's parser reads it). */
void pack_video_size_from(AVCodecParameters *par, const AVPacket *pkt)
{
	AVCodecParserContext *pc = av_parser_init(par->codec_id);
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

