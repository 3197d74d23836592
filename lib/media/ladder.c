/* ladder.c — parse and fit the ABR ladder (contract in ladder.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/ladder.h"

static const struct {
	int height, width, kbps; /* width for 16:9 */
} table[] = {
	{ 2160, 3840, 14000 }, { 1440, 2560, 8000 }, { 1080, 1920, 5000 }, { 720, 1280, 2800 },
	{ 480, 854, 1400 },    { 360, 640, 800 },    { 240, 426, 400 },    { 144, 256, 200 },
};
enum { NTABLE = sizeof table / sizeof table[0] };

int lsp_ladder_kbps(int width, int height)
{
	double px, lo_px, hi_px;
	int i;
	if (height <= 0)
		return table[NTABLE - 1].kbps;
	for (i = 0; i < NTABLE; i++)
		if (table[i].height == height && (table[i].width == width || width <= 0))
			return table[i].kbps;
	if (width <= 0)
		width = height * 16 / 9;
	px = (double)width * height;
	if (px >= (double)table[0].width * table[0].height)
		return table[0].kbps;
	for (i = 1; i < NTABLE; i++) {
		lo_px = (double)table[i].width * table[i].height;
		hi_px = (double)table[i - 1].width * table[i - 1].height;
		if (px >= lo_px)
			return (int)(table[i].kbps + (table[i - 1].kbps - table[i].kbps) * (px - lo_px) / (hi_px - lo_px));
	}
	return table[NTABLE - 1].kbps;
}

/* Strict decimal in [min,max] over s[0..len). */
static int num(const char *s, size_t len, long min, long max, int *out)
{
	long v = 0;
	size_t i;
	if (len == 0 || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_item(const char *s, size_t len, lsp_rung *r)
{
	const char *x, *at;
	int w = 0, h = 0, k = 0;
	memset(r, 0, sizeof *r);
	if (len == 3 && memcmp(s, "src", 3) == 0) {
		snprintf(r->name, sizeof r->name, "src");
		r->passthrough = 1;
		return 0;
	}
	if (len >= 2 && s[len - 1] == 'p') {
		if (num(s, len - 1, 64, 4320, &h) < 0 || h % 2)
			return -1;
		r->height = h;
		r->kbps = lsp_ladder_kbps(0, h);
		snprintf(r->name, sizeof r->name, "%dp", h);
		return 0;
	}
	x = memchr(s, 'x', len);
	if (!x)
		return -1;
	at = memchr(x, '@', len - (size_t)(x - s));
	if (num(s, (size_t)(x - s), 64, 7680, &w) < 0 ||
	    num(x + 1, (size_t)((at ? at : s + len) - x - 1), 64, 4320, &h) < 0 || w % 2 || h % 2)
		return -1;
	if (at && num(at + 1, (size_t)(s + len - at - 1), 50, 100000, &k) < 0)
		return -1;
	r->width = w;
	r->height = h;
	r->kbps = at ? k : lsp_ladder_kbps(w, h);
	snprintf(r->name, sizeof r->name, "%dx%d", w, h);
	return 0;
}

static int taller_first(const void *a, const void *b)
{
	const lsp_rung *x = a, *y = b;
	if (x->passthrough != y->passthrough)
		return y->passthrough - x->passthrough;
	if (x->height != y->height)
		return y->height - x->height;
	return y->width - x->width;
}

int lsp_ladder_parse(const char *spec, lsp_rung *r, int cap, char *err, size_t errcap)
{
	const char *p = spec, *e;
	size_t len;
	int n = 0, i;
	if (!spec || !*spec) {
		snprintf(err, errcap, "empty ladder");
		return -EINVAL;
	}
	for (;;) {
		e = strchr(p, ',');
		len = e ? (size_t)(e - p) : strlen(p);
		if (n >= cap) {
			snprintf(err, errcap, "too many rungs (at most %d)", cap);
			return -EINVAL;
		}
		if (parse_item(p, len, &r[n]) < 0) {
			snprintf(err, errcap, "bad rung '%.*s' (want 720p, 1280x720, 1280x720@2800 or src)",
				 (int)(len > 32 ? 32 : len), p);
			return -EINVAL;
		}
		for (i = 0; i < n; i++)
			if (strcmp(r[i].name, r[n].name) == 0) {
				snprintf(err, errcap, "rung '%s' given twice", r[n].name);
				return -EINVAL;
			}
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	qsort(r, (size_t)n, sizeof *r, taller_first);
	return n;
}

int lsp_ladder_default(lsp_rung *r, int cap)
{
	static const int h[] = { 1080, 720, 480, 360 };
	int i, n = cap < 4 ? cap : 4;
	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].height = h[i];
		r[i].kbps = lsp_ladder_kbps(0, h[i]);
		snprintf(r[i].name, sizeof r[i].name, "%dp", h[i]);
	}
	return n;
}

int lsp_ladder_fit(lsp_rung *r, int n, int src_w, int src_h)
{
	int i, m = 0, enc = 0, asked = 0;
	if (src_w < 2 || src_h < 2 || src_w > 16384 || src_h > 16384)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		asked += !r[i].passthrough;
		if (!r[i].passthrough && r[i].height > src_h)
			continue;
		r[m] = r[i];
		if (!r[m].passthrough) {
			enc++;
			if (r[m].width == 0) {
				/* nearest even width: round(src_w * h / src_h / 2) * 2 */
				long w = ((long)src_w * r[m].height + src_h) / (2L * src_h) * 2;
				r[m].width = (int)(w < 2 ? 2 : w);
			}
		}
		m++;
	}
	if (asked && enc == 0 && m < LSP_LADDER_MAX) {
		lsp_rung *s = &r[m++];
		memset(s, 0, sizeof *s);
		s->width = src_w / 2 * 2;
		s->height = src_h / 2 * 2;
		s->kbps = lsp_ladder_kbps(s->width, s->height);
		snprintf(s->name, sizeof s->name, "%dp", s->height);
	}
	return m;
}

/* H.264 Table A-1: level_idc, max macroblocks per second, max frame size
 * in macroblocks, max video bit rate (kb/s, Baseline/Main; High is x1.25). */
static const struct {
	int idc;
	long mbps, fs, br;
} levels[] = {
	{ 10, 1485, 99, 64 },          { 11, 3000, 396, 192 },        { 12, 6000, 396, 384 },
	{ 13, 11880, 396, 768 },       { 20, 11880, 396, 2000 },      { 21, 19800, 792, 4000 },
	{ 22, 20250, 1620, 4000 },     { 30, 40500, 1620, 10000 },    { 31, 108000, 3600, 14000 },
	{ 32, 216000, 5120, 20000 },   { 40, 245760, 8192, 20000 },   { 41, 245760, 8192, 50000 },
	{ 42, 522240, 8704, 50000 },   { 50, 589824, 22080, 135000 }, { 51, 983040, 36864, 240000 },
	{ 52, 2073600, 36864, 240000 },
};

int lsp_ladder_h264_level(int width, int height, double fps, int kbps)
{
	long fs = (long)((width + 15) / 16) * ((height + 15) / 16);
	double mbps;
	size_t i;
	if (fps <= 0)
		fps = 30;
	if (kbps < 0)
		kbps = 0;
	mbps = fs * fps;
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (fs <= levels[i].fs && mbps <= (double)levels[i].mbps && kbps * 4L <= levels[i].br * 5L)
			return levels[i].idc;
	return 52;
}

void lsp_ladder_rate_from_times(const double *ts, int n, int *num, int *den)
{
	static const int std[][2] = { { 24000, 1001 }, { 24, 1 }, { 25, 1 }, { 30000, 1001 }, { 30, 1 },
				      { 48, 1 },       { 50, 1 }, { 60000, 1001 }, { 60, 1 } };
	double fps, best = 1;
	int i, pick = -1;
	*num = 30;
	*den = 1;
	if (n < 2 || !(ts[n - 1] > ts[0]))
		return;
	fps = (n - 1) / (ts[n - 1] - ts[0]); /* mean spacing: jitter only moves the two ends */
	for (i = 0; i < (int)(sizeof std / sizeof std[0]); i++) {
		double off = fabs(fps / ((double)std[i][0] / std[i][1]) - 1);
		if (off <= 0.04 && off < best) {
			best = off;
			pick = i;
		}
	}
	if (pick >= 0) {
		*num = std[pick][0];
		*den = std[pick][1];
		return;
	}
	*num = fps < 1 ? 1 : fps > 120 ? 120 : (int)lround(fps);
	*den = 1;
}
