/* tsscan.c — MPEG-TS observer; see tsscan.h.
 *
 *   packet: 0x47 | PUSI,PID(13) | AFC,CC | [adaptation] | payload
 *   PID 0 PAT → first program's PMT PID → PMT → stream_type,PID pairs
 *   video/audio PID with PUSI → PES header → PTS */
#include "ingest/tsscan.h"

#include <string.h>

void lsp_tsscan_init(lsp_tsscan *t)
{
	memset(t, 0, sizeof *t);
	t->pmt_pid = t->vpid = t->apid = -1;
	t->v_pts = t->a_pts = t->kf_pts = t->kf_prev = -1;
}

const char *lsp_tsscan_codec(int st)
{
	switch (st) {
	case 0x1b: return "h264";
	case 0x24: return "hevc";
	case 0x0f: return "aac";
	case 0x11: return "aac_latm";
	case 0x03:
	case 0x04: return "mp3";
	case 0x81: return "ac3";
	default: return NULL;
	}
}

static int is_video(int st) { return st == 0x1b || st == 0x24 || st == 0x02 || st == 0x01 || st == 0x10; }
static int is_audio(int st) { return st == 0x0f || st == 0x11 || st == 0x03 || st == 0x04 || st == 0x81; }

/* p: payload starting at the pointer field; n its length */
static void section(lsp_tsscan *t, int pid, const uint8_t *p, size_t n)
{
	size_t off, end, sl;
	if (n < 1 || (size_t)p[0] + 1 >= n)
		return;
	off = (size_t)p[0] + 1;
	p += off;
	n -= off;
	if (n < 12)
		return;
	sl = ((size_t)(p[1] & 0x0f) << 8) | p[2];
	end = 3 + sl; /* CRC included */
	if (end > n || sl < 9)
		return;
	end -= 4;
	if (pid == 0 && p[0] == 0x00) {
		for (off = 8; off + 4 <= end; off += 4) {
			int prog = (p[off] << 8) | p[off + 1];
			if (prog != 0) {
				t->pmt_pid = ((p[off + 2] & 0x1f) << 8) | p[off + 3];
				return;
			}
		}
	} else if (pid == t->pmt_pid && p[0] == 0x02) {
		size_t pil = ((size_t)(p[10] & 0x0f) << 8) | p[11];
		for (off = 12 + pil; off + 5 <= end;) {
			int st = p[off], epid = ((p[off + 1] & 0x1f) << 8) | p[off + 2];
			size_t eil = ((size_t)(p[off + 3] & 0x0f) << 8) | p[off + 4];
			if (t->vpid < 0 && is_video(st)) {
				t->vpid = epid;
				t->vtype = st;
			} else if (t->apid < 0 && is_audio(st)) {
				t->apid = epid;
				t->atype = st;
			}
			off += 5 + eil;
		}
	}
}

static int64_t pes_pts(const uint8_t *p, size_t n)
{
	if (n < 14 || p[0] != 0 || p[1] != 0 || p[2] != 1 || !(p[7] & 0x80))
		return -1;
	return ((int64_t)(p[9] & 0x0e) << 29) | ((int64_t)p[10] << 22) | ((int64_t)(p[11] & 0xfe) << 14) |
	       ((int64_t)p[12] << 7) | (p[13] >> 1);
}

/* 1 when the PES header carries a DTS that differs from its PTS. */
static int pes_reordered(const uint8_t *p, size_t n)
{
	int64_t dts;
	if (n < 19 || (p[7] & 0xc0) != 0xc0)
		return 0;
	dts = ((int64_t)(p[14] & 0x0e) << 29) | ((int64_t)p[15] << 22) | ((int64_t)(p[16] & 0xfe) << 14) |
	      ((int64_t)p[17] << 7) | (p[18] >> 1);
	return dts != pes_pts(p, n);
}

static void packet(lsp_tsscan *t, const uint8_t *p)
{
	int pusi = p[1] & 0x40, pid = ((p[1] & 0x1f) << 8) | p[2], afc = (p[3] >> 4) & 3, rai = 0;
	size_t off = 4;
	t->packets++;
	if (afc & 2) {
		if (p[4] > 183)
			return;
		rai = p[4] > 0 && (p[5] & 0x40);
		off += 1 + (size_t)p[4];
	}
	if (!(afc & 1) || off >= 188)
		return;
	if (pusi && (pid == 0 || pid == t->pmt_pid)) {
		section(t, pid, p + off, 188 - off);
		return;
	}
	if (!pusi)
		return;
	if (pid == t->vpid) {
		int64_t pts = pes_pts(p + off, 188 - off);
		t->frames++;
		if (pts >= 0)
			t->v_pts = pts;
		t->bframes |= pes_reordered(p + off, 188 - off);
		if (rai) {
			t->keyframes++;
			t->kf_prev = t->kf_pts;
			t->kf_pts = pts;
		}
	} else if (pid == t->apid) {
		int64_t pts = pes_pts(p + off, 188 - off);
		if (pts >= 0)
			t->a_pts = pts;
	}
}

void lsp_tsscan_feed(lsp_tsscan *t, const uint8_t *p, size_t n)
{
	if (t->clen > 0) {
		size_t take = 188 - t->clen < n ? 188 - t->clen : n;
		memcpy(t->carry + t->clen, p, take);
		t->clen += take;
		p += take;
		n -= take;
		if (t->clen < 188)
			return;
		packet(t, t->carry);
		t->clen = 0;
	}
	while (n > 0) {
		if (p[0] != 0x47) {
			t->skipped++;
			p++;
			n--;
			continue;
		}
		if (n < 188) {
			memcpy(t->carry, p, n);
			t->clen = n;
			return;
		}
		packet(t, p);
		p += 188;
		n -= 188;
	}
}
