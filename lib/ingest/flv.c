/* flv.c — FLV tag bodies, AVC/AAC configuration, Annex B and ADTS; see
 * flv.h.  Pure functions over caller buffers: every length is checked
 * before it is read. */
#include "ingest/flv.h"

#include <errno.h>
#include <string.h>

int lsp_flv_parse(int kind, const uint8_t *b, size_t len, lsp_flv_frame *f)
{
	memset(f, 0, sizeof *f);
	f->kind = kind;
	if (len < 1)
		return -EINVAL;
	if (kind == LSP_FLV_VIDEO) {
		int ftype = b[0] >> 4, codec = b[0] & 15;
		uint32_t c;
		if (ftype & 8) /* enhanced RTMP extended header: other codecs */
			return -ENOTSUP;
		if (codec != 7)
			return -ENOTSUP;
		if (len < 5)
			return -EINVAL;
		c = (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
		if (c & 0x800000)
			c |= 0xff000000u;
		f->cts = (int32_t)c;
		f->keyframe = ftype == 1;
		f->is_header = b[1] == 0;
		f->eos = b[1] == 2;
		if (b[1] > 2)
			return -EINVAL;
		f->data = b + 5;
		f->len = len - 5;
		return 0;
	}
	if (kind == LSP_FLV_AUDIO) {
		if ((b[0] >> 4) != 10)
			return -ENOTSUP;
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

int lsp_flv_avc_annexb(const lsp_flv_avc *c, const uint8_t *p, size_t len, int with_ps,
		       uint8_t *out, size_t cap)
{
	size_t off = 0, o = 0;
	int ns = c->nal_len_size;
	if (ns < 1 || ns > 4)
		return -EINVAL;
	if (with_ps && c->ps_len) {
		if (cap < c->ps_len)
			return -ENOSPC;
		memcpy(out, c->ps, c->ps_len);
		o = c->ps_len;
	}
	while (off < len) {
		size_t n = 0;
		int rc;
		if (len - off < (size_t)ns)
			return -EINVAL;
		for (int i = 0; i < ns; i++)
			n = n << 8 | p[off + i];
		off += (size_t)ns;
		if (len - off < n)
			return -EINVAL;
		if (n > 0) {
			int t = p[off] & 31;
			/* Drop in-band AUDs/parameter sets only when we add our own. */
			if (!(with_ps && c->ps_len && (t == 7 || t == 8)) &&
			    (rc = put_nal(out, cap, &o, p + off, n)) < 0)
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
