/* rtcrelay.c — origin → edge ring-entry framing; see rtcrelay.h for the
 * contract.  The reader owns its payload buffer; the caller owns the bytes
 * it feeds and the header buffers it asks to be filled. */
#include "rtc/rtcrelay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void lsp_rtcrelay_hdr(uint8_t *out, int kind, int flags, uint64_t seq, int64_t pts, int64_t dts, size_t len)
{
	out[0] = (uint8_t)kind;
	out[1] = (uint8_t)flags;
	out[2] = out[3] = 0;
	out[4] = (uint8_t)(len >> 24);
	out[5] = (uint8_t)(len >> 16);
	out[6] = (uint8_t)(len >> 8);
	out[7] = (uint8_t)len;
	wr64(out + 8, seq);
	wr64(out + 16, (uint64_t)pts);
	wr64(out + 24, (uint64_t)dts);
}

void lsp_rtcrelay_gen(uint8_t *out, uint64_t generation, uint64_t id)
{
	lsp_rtcrelay_hdr(out, LSP_RTCRELAY_GEN, 0, generation, 0, 0, LSP_RTCRELAY_GEN_LEN);
	wr64(out + LSP_RTCRELAY_HDR, id);
}

uint64_t lsp_rtcrelay_gen_id(const lsp_rtcrelay_frame *f)
{
	return f->kind == LSP_RTCRELAY_GEN && f->len == LSP_RTCRELAY_GEN_LEN ? rd64(f->data) : 0;
}

void lsp_rtcrelay_init(lsp_rtcrelay_rd *rd, size_t max)
{
	memset(rd, 0, sizeof *rd);
	rd->max = max;
}

void lsp_rtcrelay_reset(lsp_rtcrelay_rd *rd)
{
	rd->preface_ok = 0;
	rd->hgot = 0;
	rd->got = 0;
	rd->in_payload = 0;
}

void lsp_rtcrelay_free(lsp_rtcrelay_rd *rd)
{
	free(rd->buf);
	rd->buf = NULL;
	rd->cap = 0;
	lsp_rtcrelay_reset(rd);
}

static int ts_ok(int64_t v)
{
	return v == INT64_MIN || (v >= -LSP_RTCRELAY_TS_MAX && v <= LSP_RTCRELAY_TS_MAX);
}

/* A complete header in rd->hdr: check it and start its payload. */
static int start_frame(lsp_rtcrelay_rd *rd)
{
	const uint8_t *h = rd->hdr;
	lsp_rtcrelay_frame *f = &rd->f;
	size_t len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	f->kind = h[0];
	f->flags = h[1];
	f->seq = rd64(h + 8);
	f->pts = (int64_t)rd64(h + 16);
	f->dts = (int64_t)rd64(h + 24);
	f->len = len;
	f->data = NULL;
	if (h[2] || h[3] || f->kind < LSP_RTCRELAY_VIDEO || f->kind > LSP_RTCRELAY_KEYREQ)
		return -EPROTO;
	if ((f->kind == LSP_RTCRELAY_GEN && len != LSP_RTCRELAY_GEN_LEN) || (f->kind > LSP_RTCRELAY_GEN && len))
		return -EPROTO;
	if (!ts_ok(f->pts) || !ts_ok(f->dts))
		return -EPROTO;
	if (len > rd->max)
		return -E2BIG;
	if (len > rd->cap) {
		size_t nc = rd->cap ? rd->cap : 4096;
		uint8_t *nb;
		while (nc < len)
			nc = nc > rd->max / 2 ? rd->max : nc * 2;
		if (!(nb = realloc(rd->buf, nc)))
			return -ENOMEM;
		rd->buf = nb;
		rd->cap = nc;
	}
	rd->got = 0;
	rd->in_payload = 1;
	return 0;
}

int lsp_rtcrelay_feed(lsp_rtcrelay_rd *rd, const uint8_t *p, size_t len, size_t *used, lsp_rtcrelay_frame *f)
{
	size_t o = 0;
	int rc;
	*used = 0;
	while (o < len) {
		if (!rd->preface_ok) {
			size_t k = LSP_RTCRELAY_PREFACE_LEN - rd->hgot;
			if (k > len - o)
				k = len - o;
			if (memcmp(p + o, &LSP_RTCRELAY_PREFACE[rd->hgot], k) != 0) {
				*used = o;
				return -EPROTO;
			}
			rd->hgot += k;
			o += k;
			if (rd->hgot == LSP_RTCRELAY_PREFACE_LEN) {
				rd->preface_ok = 1;
				rd->hgot = 0;
			}
			continue;
		}
		if (!rd->in_payload) {
			size_t k = LSP_RTCRELAY_HDR - rd->hgot;
			if (k > len - o)
				k = len - o;
			memcpy(rd->hdr + rd->hgot, p + o, k);
			rd->hgot += k;
			o += k;
			if (rd->hgot < LSP_RTCRELAY_HDR)
				break;
			rd->hgot = 0;
			if ((rc = start_frame(rd)) < 0) {
				*used = o;
				return rc;
			}
		}
		if (rd->got < rd->f.len) {
			size_t k = rd->f.len - rd->got;
			if (k > len - o)
				k = len - o;
			memcpy(rd->buf + rd->got, p + o, k);
			rd->got += k;
			o += k;
		}
		if (rd->got == rd->f.len) {
			rd->in_payload = 0;
			*f = rd->f;
			f->data = rd->f.len ? rd->buf : (const uint8_t *)"";
			*used = o;
			return 1;
		}
	}
	*used = o;
	return 0;
}
