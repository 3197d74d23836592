/* flv.c — FLV tag bodies (legacy and E-RTMP), AVC/HEVC/AAC/Opus
 * configuration, Annex B and ADTS; see flv.h.  Pure functions over caller buffers: every length is checked
 * before it is read. */
#include "ingest/flv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* E-RTMP v2 ModEx: skip each modifier (size, data, then the next
 * type/packet-type byte) until a real packet type; *off past the last. */
static int skip_modex(const uint8_t *b, size_t len, size_t *off, int *pt)
{
	while (*pt == 7) {
		size_t n;
		if (*off >= len)
			return -EINVAL;
		n = (size_t)b[(*off)++] + 1;
		if (n == 256) {
			if (len - *off < 2)
				return -EINVAL;
			n = ((size_t)b[*off] << 8 | b[*off + 1]) + 1;
			*off += 2;
		}
		if (len - *off < n + 1)
			return -EINVAL;
		*off += n;
		*pt = b[(*off)++] & 15;
	}
	return 0;
}

static void set_cts(lsp_flv_frame *f, const uint8_t *p)
{
	uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	if (c & 0x800000)
		c |= 0xff000000u;
	f->cts = (int32_t)c;
}

/* Legacy video: codec id 7 (AVC) or 12 (HEVC), AVCPacketType, SI24 cts. */
static int legacy_video(const uint8_t *b, size_t len, lsp_flv_frame *f)
{
	int ftype = b[0] >> 4, codec = b[0] & 15;
	if (codec != 7 && codec != 12) {
		f->legacy = codec;
		return -ENOTSUP;
	}
	f->codec = codec == 7 ? LSP_FLV_AVC : LSP_FLV_HEVC;
	if (len < 5)
		return -EINVAL;
	set_cts(f, b + 2);
	f->keyframe = ftype == 1;
	f->is_header = b[1] == 0;
	f->eos = b[1] == 2;
	if (b[1] > 2)
		return -EINVAL;
	f->data = b + 5;
	f->len = len - 5;
	return 0;
}

static int ex_video(const uint8_t *b, size_t len, lsp_flv_frame *f)
{
	int ftype = (b[0] >> 4) & 7, pt = b[0] & 15, rc;
	size_t off = 1;
	if ((rc = skip_modex(b, len, &off, &pt)) < 0)
		return rc;
	if (pt == 6) { /* multitrack: one track per message is all we serve */
		f->legacy = -1;
		return -ENOTSUP;
	}
	if (len - off < 4)
		return -EINVAL;
	f->codec = rd32(b + off);
	off += 4;
	if (f->codec != LSP_FLV_AVC && f->codec != LSP_FLV_HEVC)
		return -ENOTSUP;
	f->keyframe = ftype == 1;
	if (ftype == 5) /* command frame (seek start/end): no media */
		return 0;
	switch (pt) {
	case 0:
		f->is_header = 1;
		break;
	case 1:
		if (len - off < 3)
			return -EINVAL;
		set_cts(f, b + off);
		off += 3;
		break;
	case 2:
		f->eos = 1;
		return 0;
	case 3:
		break;
	case 4: /* AMF metadata (HDR colour info) */
	case 5: /* MPEG2TSSequenceStart: AV1 only */
		return 0;
	default:
		return -EINVAL;
	}
	f->data = b + off;
	f->len = len - off;
	return 0;
}

static int ex_audio(const uint8_t *b, size_t len, lsp_flv_frame *f)
{
	int pt = b[0] & 15, rc;
	size_t off = 1;
	if ((rc = skip_modex(b, len, &off, &pt)) < 0)
		return rc;
	if (pt == 5) {
		f->legacy = -1;
		return -ENOTSUP;
	}
	if (len - off < 4)
		return -EINVAL;
	f->codec = rd32(b + off);
	off += 4;
	if (f->codec != LSP_FLV_AAC && f->codec != LSP_FLV_OPUS)
		return -ENOTSUP;
	f->keyframe = 1;
	switch (pt) {
	case 0:
		f->is_header = 1;
		break;
	case 1:
		break;
	case 2:
		f->eos = 1;
		return 0;
	case 4: /* MultichannelConfig: the ID header / ASC says enough */
		return 0;
	default:
		return -EINVAL;
	}
	f->data = b + off;
	f->len = len - off;
	return 0;
}

int lsp_flv_parse(int kind, const uint8_t *b, size_t len, lsp_flv_frame *f)
{
	memset(f, 0, sizeof *f);
	f->kind = kind;
	if (len < 1)
		return -EINVAL;
	if (kind == LSP_FLV_VIDEO)
		return b[0] & 0x80 ? ex_video(b, len, f) : legacy_video(b, len, f);
	if (kind == LSP_FLV_AUDIO) {
		int fmt = b[0] >> 4;
		if (fmt == 9)
			return ex_audio(b, len, f);
		if (fmt != 10) {
			f->legacy = fmt;
			return -ENOTSUP;
		}
		f->codec = LSP_FLV_AAC;
		if (len < 2 || b[1] > 1)
			return -EINVAL;
		f->is_header = b[1] == 0;
		f->keyframe = 1;
		f->data = b + 2;
		f->len = len - 2;
		return 0;
	}
	return -EINVAL;
}

const char *lsp_flv_codec_name(int kind, uint32_t codec, int legacy, char *buf, size_t cap)
{
	static const struct {
		uint32_t fourcc;
		const char *name;
	} known[] = {
		{ LSP_FLV_AVC, "H.264" }, { LSP_FLV_HEVC, "HEVC" }, { LSP_FLV_AV1, "AV1" }, { LSP_FLV_VP9, "VP9" },
		{ LSP_FLV_FOURCC('v', 'p', '0', '8'), "VP8" }, { LSP_FLV_AAC, "AAC" }, { LSP_FLV_OPUS, "Opus" },
		{ LSP_FLV_FOURCC('f', 'L', 'a', 'C'), "FLAC" }, { LSP_FLV_FOURCC('a', 'c', '-', '3'), "AC-3" },
		{ LSP_FLV_FOURCC('e', 'c', '-', '3'), "E-AC-3" }, { LSP_FLV_FOURCC('.', 'm', 'p', '3'), "MP3" },
	};
	static const char *const vids[16] = { [2] = "Sorenson H.263", [3] = "Screen Video", [4] = "VP6",
					      [5] = "VP6 with alpha", [6] = "Screen Video 2", [7] = "H.264",
					      [12] = "HEVC", [13] = "AV1" };
	static const char *const aids[16] = { [0] = "PCM", [1] = "ADPCM", [2] = "MP3", [3] = "PCM",
					      [4] = "Nellymoser", [5] = "Nellymoser", [6] = "Nellymoser",
					      [7] = "G.711 A-law", [8] = "G.711 mu-law", [10] = "AAC", [11] = "Speex",
					      [13] = "Opus", [14] = "MP3", [15] = "device-specific sound" };
	if (cap == 0)
		return buf;
	if (codec) {
		char cc[5];
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (known[i].fourcc == codec) {
				snprintf(buf, cap, "%s", known[i].name);
				return buf;
			}
		for (int i = 0; i < 4; i++) {
			int ch = (int)(codec >> (24 - 8 * i)) & 0xff;
			cc[i] = '?'; /* printable, and safe inside quotes */
			if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '"' && ch != '\\')
				cc[i] = (char)ch;
		}
		cc[4] = 0;
		snprintf(buf, cap, "FourCC '%s'", cc);
	} else if (legacy < 0) {
		snprintf(buf, cap, "multitrack %s", kind == LSP_FLV_VIDEO ? "video" : "audio");
	} else {
		const char *n = (kind == LSP_FLV_VIDEO ? vids : aids)[legacy & 15];
		snprintf(buf, cap, "%s (legacy %s id %d)", n ? n : "unknown", kind == LSP_FLV_VIDEO ? "codec" : "sound format",
			 legacy & 15);
	}
	return buf;
}

static int put_nal(uint8_t *out, size_t cap, size_t *o, const uint8_t *p, size_t n)
{
	static const uint8_t sc[4] = { 0, 0, 0, 1 };
	if (cap - *o < n + 4)
		return -ENOSPC;
	memcpy(out + *o, sc, 4);
	memcpy(out + *o + 4, p, n);
	*o += n + 4;
	return 0;
}

int lsp_flv_avc_config(const uint8_t *p, size_t len, lsp_flv_avc *c)
{
	size_t off = 6, o = 0;
	int nsps, npps;
	memset(c, 0, sizeof *c);
	if (len < 7 || p[0] != 1)
		return -EINVAL;
	c->profile = p[1];
	c->level = p[3];
	c->nal_len_size = (p[4] & 3) + 1;
	nsps = p[5] & 31;
	for (int pass = 0; pass < 2; pass++) {
		int cnt = pass == 0 ? nsps : -1;
		if (pass == 1) {
			if (off >= len)
				return -EINVAL;
			npps = p[off++];
			cnt = npps;
		}
		for (int i = 0; i < cnt; i++) {
			size_t n;
			if (len - off < 2)
				return -EINVAL;
			n = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
			if (len - off < n)
				return -EINVAL;
			if (put_nal(c->ps, sizeof c->ps, &o, p + off, n) < 0)
				return -EINVAL;
			off += n;
		}
	}
	c->ps_len = o;
	return 0;
}

/* hvcC: 22 bytes of profile/level fields (lengthSizeMinusOne in the low
 * bits of byte 21), numOfArrays, then arrays of {type, count, {len, NAL}}. */
int lsp_flv_hevc_config(const uint8_t *p, size_t len, lsp_flv_avc *c)
{
	size_t off = 23, o = 0;
	int narr;
	memset(c, 0, sizeof *c);
	c->hevc = 1;
	if (len < 23 || p[0] != 1)
		return -EINVAL;
	c->profile = p[1] & 31;
	c->level = p[12];
	c->nal_len_size = (p[21] & 3) + 1;
	narr = p[22];
	for (int a = 0; a < narr; a++) {
		int type, cnt;
		if (len - off < 3)
			return -EINVAL;
		type = p[off] & 63;
		cnt = p[off + 1] << 8 | p[off + 2];
		off += 3;
		for (int i = 0; i < cnt; i++) {
			size_t n;
			if (len - off < 2)
				return -EINVAL;
			n = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
			if (len - off < n)
				return -EINVAL;
			/* parameter sets go before each keyframe; SEI arrays do not */
			if (n > 0 && type >= 32 && type <= 34 && put_nal(c->ps, sizeof c->ps, &o, p + off, n) < 0)
				return -EINVAL;
			off += n;
		}
	}
	c->ps_len = o;
	return 0;
}

int lsp_flv_avc_annexb(const lsp_flv_avc *c, const uint8_t *p, size_t len, int with_ps,
		       uint8_t *out, size_t cap)
{
	/* HEVC AUD: type 35, layer 0, tid 1; pic_type 2 (any) + stop bit */
	static const uint8_t aud[3] = { 35 << 1, 1, 0x50 };
	size_t off = 0, o = 0;
	int ns = c->nal_len_size, rc;
	if (ns < 1 || ns > 4)
		return -EINVAL;
	if (c->hevc && (rc = put_nal(out, cap, &o, aud, sizeof aud)) < 0)
		return rc;
	if (with_ps && c->ps_len) {
		if (cap - o < c->ps_len)
			return -ENOSPC;
		memcpy(out + o, c->ps, c->ps_len);
		o += c->ps_len;
	}
	while (off < len) {
		size_t n = 0;
		if (len - off < (size_t)ns)
			return -EINVAL;
		for (int i = 0; i < ns; i++)
			n = n << 8 | p[off + i];
		off += (size_t)ns;
		if (len - off < n)
			return -EINVAL;
		if (n > 0) {
			int drop;
			/* Drop in-band parameter sets only when we add our own. */
			if (c->hevc) {
				int t = (p[off] >> 1) & 63;
				drop = t == 35 || (with_ps && c->ps_len && t >= 32 && t <= 34);
			} else {
				int t = p[off] & 31;
				drop = with_ps && c->ps_len && (t == 7 || t == 8);
			}
			if (!drop && (rc = put_nal(out, cap, &o, p + off, n)) < 0)
				return rc;
		}
		off += n;
	}
	return (int)o;
}

static const int aac_rates[13] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
				   22050, 16000, 12000, 11025, 8000, 7350 };

int lsp_flv_aac_config(const uint8_t *p, size_t len, lsp_flv_aac *c)
{
	memset(c, 0, sizeof *c);
	if (len < 2)
		return -EINVAL;
	c->object_type = p[0] >> 3;
	c->freq_index = (p[0] & 7) << 1 | p[1] >> 7;
	c->channels = (p[1] >> 3) & 15;
	if (c->object_type < 1 || c->object_type > 4 || c->freq_index > 12 || c->channels < 1 ||
	    c->channels > 7)
		return -ENOTSUP;
	c->sample_rate = aac_rates[c->freq_index];
	return 0;
}

int lsp_flv_adts_header(const lsp_flv_aac *c, size_t payload_len, uint8_t h[7])
{
	size_t n = payload_len + 7;
	if (n > 0x1fff || c->object_type < 1 || c->object_type > 4 || c->freq_index > 12)
		return -EINVAL;
	h[0] = 0xff;
	h[1] = 0xf1; /* MPEG-4, layer 0, no CRC */
	h[2] = (uint8_t)(((c->object_type - 1) << 6) | (c->freq_index << 2) | ((c->channels >> 2) & 1));
	h[3] = (uint8_t)(((c->channels & 3) << 6) | (n >> 11));
	h[4] = (uint8_t)(n >> 3);
	h[5] = (uint8_t)(((n & 7) << 5) | 0x1f);
	h[6] = 0xfc;
	return 0;
}

/* "OpusHead", version 1 (major 0), channels, pre-skip (LE), input rate,
 * gain, mapping family; family 0 is mono/stereo, others carry a table. */
int lsp_flv_opus_config(const uint8_t *p, size_t len, lsp_flv_opus *o)
{
	size_t need = 19;
	memset(o, 0, sizeof *o);
	if (len < 19 || memcmp(p, "OpusHead", 8) != 0 || (p[8] & 0xf0) != 0)
		return -EINVAL;
	o->channels = p[9];
	o->pre_skip = p[10] | p[11] << 8;
	if (o->channels < 1 || (p[18] == 0 && o->channels > 2))
		return -EINVAL;
	if (p[18] != 0)
		need = 21 + (size_t)o->channels;
	if (len < need)
		return -EINVAL;
	memcpy(o->head, p, need);
	o->head_len = need;
	return 0;
}
