/* rtp.c — RTP/RTCP framing and H.264 payload format; see rtp.h.
 * Pure functions over caller buffers (the depacketizer's buffer is the
 * caller's too). */
#include "rtc/rtp.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

int lsp_rtp_is(const uint8_t *p, size_t len)
{
	return len >= 12 && (p[0] & 0xc0) == 0x80;
}

int lsp_rtp_is_rtcp(const uint8_t *p, size_t len)
{
	return len >= 8 && (p[0] & 0xc0) == 0x80 && p[1] >= 192 && p[1] <= 223;
}

int lsp_rtp_parse(const uint8_t *p, size_t len, lsp_rtp_hdr *h)
{
	size_t off, pad = 0;
	if (!lsp_rtp_is(p, len))
		return -1;
	h->marker = p[1] >> 7;
	h->pt = p[1] & 0x7f;
	h->seq = rd16(p + 2);
	h->ts = rd32(p + 4);
	h->ssrc = rd32(p + 8);
	off = 12 + 4 * (size_t)(p[0] & 0x0f);
	if (off > len)
		return -1;
	if (p[0] & 0x10) { /* header extension */
		if (off + 4 > len)
			return -1;
		off += 4 + 4 * (size_t)rd16(p + off + 2);
		if (off > len)
			return -1;
	}
	if (p[0] & 0x20) {
		if (len == off)
			return -1;
		pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return -1;
	}
	h->hdr_len = off;
	h->payload_len = len - off - pad;
	return 0;
}

void lsp_rtp_header(uint8_t *p, int pt, int marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	wr16(p + 2, seq);
	wr32(p + 4, ts);
	wr32(p + 8, ssrc);
}

int lsp_rtcp_parse(const uint8_t *p, size_t len, lsp_rtcp_info *i)
{
	size_t off = 0;
	memset(i, 0, sizeof *i);
	while (off + 4 <= len) {
		const uint8_t *q = p + off;
		int fmt = q[0] & 0x1f, pt = q[1];
		size_t plen = 4 * ((size_t)rd16(q + 2) + 1);
		if ((q[0] & 0xc0) != 0x80 || off + plen > len)
			return -1;
		switch (pt) {
		case 200: /* SR */
			if (plen < 28)
				return -1;
			i->sr = 1;
			i->sr_ssrc = rd32(q + 4);
			i->sr_ntp = (uint64_t)rd32(q + 8) << 32 | rd32(q + 12);
			i->sr_rtp = rd32(q + 16);
			break;
		case 201: /* RR */
			if (plen >= 8 + 24 && fmt >= 1) {
				i->rr++;
				i->rr_lost = rd32(q + 12) & 0xffffff;
				for (int b = 0; b < fmt && 8 + 24 * (size_t)(b + 1) <= plen && i->nrb < LSP_RTCP_RB_MAX; b++) {
					i->rb_ssrc[i->nrb] = rd32(q + 8 + 24 * (size_t)b);
					i->rb_frac[i->nrb++] = q[12 + 24 * (size_t)b];
				}
			}
			break;
		case 203: i->bye = 1; break;
		case 205: /* transport feedback */
			if (fmt == 1 && plen >= 16) {
				uint32_t media = rd32(q + 8);
				for (size_t k = 12; k + 4 <= plen; k += 4) {
					uint16_t pid = rd16(q + k), blp = rd16(q + k + 2);
					for (int b = -1; b < 16; b++) {
						if (b >= 0 && !(blp & (1u << b)))
							continue;
						if (i->nnack == LSP_RTCP_NACK_MAX)
							break;
						i->nack_ssrc[i->nnack] = media;
						i->nack[i->nnack++] = (uint16_t)(pid + b + 1);
					}
				}
			}
			break;
		case 206: /* payload-specific feedback */
			if (plen >= 12) {
				if (fmt == 1) {
					i->pli = 1;
					i->media_ssrc = rd32(q + 8);
				} else if (fmt == 4 && plen >= 20) {
					i->fir = 1;
					i->media_ssrc = rd32(q + 12);
				} else if (fmt == 15 && plen >= 24 && !memcmp(q + 12, "REMB", 4)) {
					/* 6-bit exponent, 18-bit mantissa; at least 1 bps */
					uint64_t m = (uint64_t)(q[17] & 3) << 16 | rd16(q + 18);
					unsigned e = q[17] >> 2;
					i->remb = e > 40 ? UINT64_MAX >> 1 : m << e;
					if (!i->remb)
						i->remb = 1;
				}
			}
			break;
		default: break;
		}
		off += plen;
	}
	return off == len ? 0 : -1;
}

int lsp_rtcp_sr(uint8_t *p, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp, uint32_t pkts,
		uint32_t octets)
{
	if (cap < 28)
		return -1;
	p[0] = 0x80;
	p[1] = 200;
	wr16(p + 2, 6);
	wr32(p + 4, ssrc);
	wr32(p + 8, (uint32_t)(ntp >> 32));
	wr32(p + 12, (uint32_t)ntp);
	wr32(p + 16, rtp);
	wr32(p + 20, pkts);
	wr32(p + 24, octets);
	return 28;
}

int lsp_rtcp_pli(uint8_t *p, size_t cap, uint32_t sender, uint32_t media)
{
	if (cap < 12)
		return -1;
	p[0] = 0x81;
	p[1] = 206;
	wr16(p + 2, 2);
	wr32(p + 4, sender);
	wr32(p + 8, media);
	return 12;
}

int lsp_rtcp_nack(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint16_t pid, uint16_t blp)
{
	if (cap < 16)
		return -1;
	p[0] = 0x81;
	p[1] = 205;
	wr16(p + 2, 3);
	wr32(p + 4, sender);
	wr32(p + 8, media);
	wr16(p + 12, pid);
	wr16(p + 14, blp);
	return 16;
}

int lsp_rtcp_remb(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint64_t bps)
{
	unsigned exp = 0;
	if (cap < 24)
		return -1;
	while (bps >= (1u << 18)) {
		bps >>= 1;
		exp++;
	}
	p[0] = 0x8f; /* FMT 15: application layer feedback */
	p[1] = 206;
	wr16(p + 2, 5);
	wr32(p + 4, sender);
	wr32(p + 8, 0);
	p[12] = 'R', p[13] = 'E', p[14] = 'M', p[15] = 'B'; /* the unique identifier */
	p[16] = 1;
	p[17] = (uint8_t)((exp << 2) | (bps >> 16));
	wr16(p + 18, (unsigned)(bps & 0xffff));
	wr32(p + 20, media);
	return 24;
}

int lsp_rtcp_rr(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint32_t ext_seq)
{
	if (cap < 32)
		return -1;
	memset(p, 0, 32);
	p[0] = 0x81;
	p[1] = 201;
	wr16(p + 2, 7);
	wr32(p + 4, sender);
	wr32(p + 8, media);
	wr32(p + 16, ext_seq);
	return 32;
}

int lsp_h264_next_nal(const uint8_t *p, size_t len, size_t *off, const uint8_t **nal, size_t *nlen)
{
	size_t i = *off, s;
	/* find a start code at or after i */
	for (; i + 3 <= len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
			break;
	if (i + 3 > len)
		return 0;
	s = i + 3;
	for (i = s; i + 3 <= len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && (p[i + 2] == 1 || (p[i + 2] == 0 && i + 3 < len && p[i + 3] == 1)))
			break;
	if (i + 3 > len)
		i = len;
	*nal = p + s;
	*nlen = i - s;
	while (*nlen && (*nal)[*nlen - 1] == 0) /* trailing zeros belong to the next start code */
		(*nlen)--;
	*off = i;
	return 1;
}

int lsp_h264_packetize(const uint8_t *au, size_t len, size_t mtu, lsp_rtp_payload_fn cb, void *ctx)
{
	const uint8_t *nal, *keep[256];
	size_t off = 0, nl, klen[256];
	int n = 0, count = 0;
	if (mtu < 16)
		return -1;
	while (n < 256 && lsp_h264_next_nal(au, len, &off, &nal, &nl)) {
		int t;
		if (!nl)
			continue;
		t = nal[0] & 0x1f;
		if (t == 9 || t == 12) /* access unit delimiter, filler */
			continue;
		keep[n] = nal;
		klen[n++] = nl;
	}
	for (int k = 0; k < n; k++) {
		int last = k == n - 1;
		nal = keep[k];
		nl = klen[k];
		if (nl <= mtu) {
			if (cb(ctx, NULL, 0, nal, nl, last))
				return -1;
			count++;
			continue;
		}
		uint8_t ind = (uint8_t)((nal[0] & 0xe0) | 28), type = nal[0] & 0x1f;
		size_t pos = 1, chunk = mtu - 2;
		while (pos < nl) {
			size_t c = nl - pos < chunk ? nl - pos : chunk;
			uint8_t pre[2] = { ind, type };
			if (pos == 1)
				pre[1] |= 0x80;
			if (pos + c == nl)
				pre[1] |= 0x40;
			if (cb(ctx, pre, 2, nal + pos, c, last && pos + c == nl))
				return -1;
			count++;
			pos += c;
		}
	}
	return count;
}

static int append(lsp_h264_depack *d, const uint8_t *pre, size_t prelen, const uint8_t *p, size_t len)
{
	if (d->len + prelen + len > d->cap)
		return -1;
	if (prelen)
		memcpy(d->buf + d->len, pre, prelen);
	if (len)
		memcpy(d->buf + d->len + prelen, p, len);
	d->len += prelen + len;
	return 0;
}

static const uint8_t sc[4] = { 0, 0, 0, 1 };

static int put_nal(lsp_h264_depack *d, const uint8_t *p, size_t len)
{
	if (!len)
		return -1;
	if ((p[0] & 0x1f) == 5)
		d->key = 1;
	return append(d, sc, 4, p, len);
}

void lsp_h264_depack_reset(lsp_h264_depack *d)
{
	d->len = 0;
	d->in_fu = d->broken = d->key = 0;
}

int lsp_h264_depack_put(lsp_h264_depack *d, const lsp_rtp_hdr *h, const uint8_t *p, size_t len)
{
	int t, bad = 0;
	if (d->have_seq && h->seq != d->next_seq)
		d->broken = 1; /* a loss inside the unit */
	if (d->len && h->ts != d->ts) { /* a new unit began without a marker */
		lsp_h264_depack_reset(d);
	}
	d->have_seq = 1;
	d->next_seq = (uint16_t)(h->seq + 1);
	d->ts = h->ts;
	t = len ? p[0] & 0x1f : 0; /* 0: no payload, refused below */
	if (t >= 1 && t <= 23)
		bad = put_nal(d, p, len) < 0;
	else if (t == 24) { /* STAP-A */
		size_t off = 1;
		while (!bad && off + 2 <= len) {
			size_t nl = rd16(p + off);
			if (off + 2 + nl > len)
				bad = 1;
			else
				bad = put_nal(d, p + off + 2, nl) < 0;
			off += 2 + nl;
		}
	} else if (t == 28) { /* FU-A */
		uint8_t fh;
		fh = len >= 3 ? p[1] : 0;
		if (len >= 3 && (fh & 0x80)) {
			uint8_t nh = (uint8_t)((p[0] & 0xe0) | (fh & 0x1f));
			bad = put_nal(d, &nh, 1) < 0 || append(d, NULL, 0, p + 2, len - 2) < 0;
			d->in_fu = !(fh & 0x40);
		} else if (len < 3 || !d->in_fu)
			bad = 1;
		else {
			bad = append(d, NULL, 0, p + 2, len - 2) < 0;
			if (fh & 0x40)
				d->in_fu = 0;
		}
	} else
		bad = 1;
	if (bad)
		d->broken = 1;
	if (!h->marker)
		return 0;
	if (d->broken || !d->len) {
		lsp_h264_depack_reset(d);
		return -1;
	}
	return 1;
}

/* ------------------------------------------------------------ SPS size */

/* A bit reader over an RBSP that drops emulation prevention bytes
 * (00 00 03) as it goes; reads past the end give zeros and set over. */
struct bits {
	const uint8_t *p;
	size_t len, pos; /* pos: the next byte */
	int bit, zeros, over;
	uint8_t cur;
};

static int bit1(struct bits *b)
{
	if (!b->bit) {
		if (b->pos >= b->len) {
			b->over = 1;
			return 0;
		}
		b->cur = b->p[b->pos++];
		if (b->zeros >= 2 && b->cur == 3) { /* emulation prevention */
			b->zeros = 0;
			if (b->pos >= b->len) {
				b->over = 1;
				return 0;
			}
			b->cur = b->p[b->pos++];
		}
		b->zeros = b->cur ? 0 : b->zeros + 1;
		b->bit = 8;
	}
	b->bit--;
	return (b->cur >> b->bit) & 1;
}

static uint32_t bitsn(struct bits *b, int n)
{
	uint32_t v = 0;
	while (n-- > 0)
		v = v << 1 | (uint32_t)bit1(b);
	return v;
}

static uint32_t ue(struct bits *b)
{
	int lz = 0;
	while (!bit1(b) && !b->over)
		if (++lz > 31) {
			b->over = 1;
			return 0;
		}
	return lz ? ((1u << lz) - 1 + bitsn(b, lz)) : 0;
}

static void skip_scaling(struct bits *b, int n)
{
	int last = 8, next = 8;
	for (int j = 0; j < n && !b->over; j++) {
		if (next) {
			uint32_t d = ue(b); /* se(v) as ue: only its size matters */
			int32_t delta = (d & 1) ? (int32_t)((d + 1) / 2) : -(int32_t)(d / 2);
			next = (last + delta + 256) % 256;
		}
		last = next ? next : last;
	}
}

int lsp_h264_sps_size(const uint8_t *sps, size_t len, int *w, int *h)
{
	struct bits b = { sps, len, 1, 0, 0, 0, 0 };
	uint32_t profile, cf = 1, mbw, mbh, frame_mbs, cl = 0, cr = 0, ct = 0, cb = 0;
	if (len < 4 || (sps[0] & 0x1f) != 7)
		return -1;
	profile = bitsn(&b, 8);
	bitsn(&b, 16); /* constraint flags, level */
	ue(&b);        /* seq_parameter_set_id */
	if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 || profile == 83 ||
	    profile == 86 || profile == 118 || profile == 128 || profile == 138 || profile == 139 || profile == 134 ||
	    profile == 135) {
		if ((cf = ue(&b)) == 3)
			bit1(&b); /* separate_colour_plane_flag */
		ue(&b);           /* bit depths */
		ue(&b);
		bit1(&b);
		if (bit1(&b)) /* seq_scaling_matrix_present_flag */
			for (int i = 0; i < (cf != 3 ? 8 : 12) && !b.over; i++)
				if (bit1(&b))
					skip_scaling(&b, i < 6 ? 16 : 64);
	}
	ue(&b); /* log2_max_frame_num_minus4 */
	switch (ue(&b)) { /* pic_order_cnt_type */
	case 0: ue(&b); break;
	case 1: {
		uint32_t n;
		bit1(&b);
		ue(&b);
		ue(&b);
		n = ue(&b);
		if (n > 255)
			return -1;
		for (uint32_t i = 0; i < n && !b.over; i++)
			ue(&b);
		break;
	}
	default: break;
	}
	ue(&b);   /* max_num_ref_frames */
	bit1(&b); /* gaps_in_frame_num_allowed */
	mbw = ue(&b) + 1;
	mbh = ue(&b) + 1;
	frame_mbs = (uint32_t)bit1(&b);
	if (!frame_mbs)
		bit1(&b); /* mb_adaptive_frame_field */
	bit1(&b);         /* direct_8x8_inference */
	if (bit1(&b)) {   /* frame_cropping_flag */
		cl = ue(&b);
		cr = ue(&b);
		ct = ue(&b);
		cb = ue(&b);
	}
	if (b.over || mbw > 1024 || mbh > 1024)
		return -1;
	{
		uint32_t cx = cf == 1 || cf == 2 ? 2 : 1, cy = (cf == 1 ? 2 : 1) * (2 - frame_mbs);
		long ww = (long)mbw * 16 - (long)(cl + cr) * cx, hh = (long)mbh * 16 * (2 - frame_mbs) - (long)(ct + cb) * cy;
		if (cl + cr > 8192 || ct + cb > 8192 || ww <= 0 || hh <= 0)
			return -1;
		*w = (int)ww;
		*h = (int)hh;
	}
	return 0;
}
