/* plstate.c — LL-HLS media playlist state for blocking reload; see plstate.h. */
#include "edge/plstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int starts(const char *l, size_t ll, const char *p)
{
	size_t n = strlen(p);
	return ll >= n && memcmp(l, p, n) == 0;
}

/* Number after prefix in line l (bounded copy, strtod/strtoll). */
static double num_after(const char *l, size_t ll, size_t off, int *ok)
{
	char tmp[32];
	size_t n = ll - off;
	char *end;
	double v;
	if (n == 0 || n >= sizeof tmp) {
		*ok = 0;
		return 0;
	}
	memcpy(tmp, l + off, n);
	tmp[n] = 0;
	v = strtod(tmp, &end);
	*ok = end != tmp;
	return v;
}

int lsp_plstate_parse(const char *buf, size_t len, lsp_plstate *st)
{
	size_t p = 0;
	memset(st, 0, sizeof *st);
	if (len < 7 || memcmp(buf, "#EXTM3U", 7) != 0)
		return -1;
	while (p < len) {
		const char *l = buf + p, *nl = memchr(l, '\n', len - p);
		size_t ll = nl ? (size_t)(nl - l) : len - p;
		int ok;
		double v;
		p += ll + 1;
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (ll < 4 || l[0] != '#')
			continue;
		if (starts(l, ll, "#EXTINF:")) {
			st->segments++;
			st->parts = 0;
		} else if (starts(l, ll, "#EXT-X-PART:")) {
			st->parts++;
		} else if (starts(l, ll, "#EXT-X-MEDIA-SEQUENCE:")) {
			v = num_after(l, ll, 22, &ok);
			if (ok && v >= 0)
				st->msn = (long long)v;
		} else if (starts(l, ll, "#EXT-X-TARGETDURATION:")) {
			v = num_after(l, ll, 22, &ok);
			if (ok && v > 0)
				st->target = v;
		} else if (starts(l, ll, "#EXT-X-PART-INF:")) {
			const char *a = memmem(l, ll, "PART-TARGET=", 12);
			if (a) {
				size_t off = (size_t)(a - l) + 12, e = off;
				while (e < ll && l[e] != ',')
					e++;
				v = num_after(l, e, off, &ok);
				if (ok && v > 0)
					st->part_target = v;
			}
		} else if (starts(l, ll, "#EXT-X-ENDLIST")) {
			st->endlist = 1;
		}
	}
	return 0;
}

int lsp_plstate_ready(const lsp_plstate *st, long long msn, long long part)
{
	long long next = st->msn + st->segments; /* the open segment */
	if (msn < next)
		return 1;
	if (st->endlist)
		return 1;
	if (msn > next + 1)
		return -1;
	if (msn == next && part >= 0 && part < st->parts)
		return 1;
	/* advance part limit: a part index far beyond what a segment can hold */
	if (part > 0 && st->part_target > 0 && st->target > 0 &&
	    (double)part > 3.0 * st->target / st->part_target + 3)
		return -1;
	return 0;
}

/* ---- delta updates -------------------------------------------------- */

/* Is line l one of a media segment's own tags (or its URI)? */
static int seg_line(const char *l, size_t ll)
{
	static const char *const tags[] = { "#EXTINF:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-PART:",
					    "#EXT-X-DISCONTINUITY", "#EXT-X-BYTERANGE:", "#EXT-X-GAP",
					    "#EXT-X-BITRATE:", "#EXT-X-KEY:", "#EXT-X-DATERANGE:" };
	if (ll > 0 && l[0] != '#')
		return 1;
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		if (starts(l, ll, tags[i]))
			return 1;
	return 0;
}

/* Index of the first ',' in line l[0..ll), or ll (bounded: l is not a string). */
static size_t comma(const char *l, size_t ll)
{
	const char *c = memchr(l, ',', ll);
	return c ? (size_t)(c - l) : ll;
}

/* Value of attribute name= in line l, as a number; -1 when absent. */
static double attr_num(const char *l, size_t ll, const char *name)
{
	size_t n = strlen(name), e;
	const char *a = memmem(l, ll, name, n);
	int ok;
	double v;
	if (!a || (a > l && a[-1] != ',' && a[-1] != ':'))
		return -1;
	e = (size_t)(a - l) + n;
	while (e < ll && l[e] != ',')
		e++;
	v = num_after(l, e, (size_t)(a - l) + n, &ok);
	return ok ? v : -1;
}

typedef struct {
	char *out;
	size_t cap, off;
	int over;
} sbuf;

static void add(sbuf *b, const char *s, size_t n)
{
	if (b->over || b->cap - b->off <= n) {
		b->over = 1;
		return;
	}
	memcpy(b->out + b->off, s, n);
	b->off += n;
	b->out[b->off] = 0;
}

/* NOLINTNEXTLINE(readability-non-const-parameter): written through b.out; clang-tidy 14 misses initializer lists */
long lsp_plstate_skip(const char *buf, size_t len, char *out, size_t cap)
{
	double until = -1, total = 0, open_parts = 0, end = 0;
	size_t p = 0, body = len, cut = len;
	long long nseg = 0, skip = 0;
	int in_body = 0, version = 1, have_version = 0;
	sbuf b = { out, cap, 0, 0 };
	char tag[64];

	if (len < 7 || memcmp(buf, "#EXTM3U", 7) != 0 || cap == 0)
		return 0;
	/* pass 1: where the segments start, how long the playlist is */
	while (p < len) {
		const char *l = buf + p, *nl = memchr(l, '\n', len - p);
		size_t ll = nl ? (size_t)(nl - l) : len - p, at = p;
		int ok;
		p += ll + 1;
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			continue;
		if (!in_body && seg_line(l, ll)) {
			in_body = 1;
			body = at;
		}
		if (starts(l, ll, "#EXT-X-ENDLIST") || starts(l, ll, "#EXT-X-SKIP:"))
			return 0;
		if (starts(l, ll, "#EXT-X-SERVER-CONTROL:"))
			until = attr_num(l, ll, "CAN-SKIP-UNTIL=");
		else if (starts(l, ll, "#EXT-X-VERSION:")) {
			double v = num_after(l, ll, 15, &ok);
			if (ok)
				version = (int)v;
			have_version = 1;
		} else if (starts(l, ll, "#EXTINF:")) {
			double v = num_after(l, comma(l, ll), 8, &ok);
			total += ok ? v : 0;
			open_parts = 0;
		} else if (starts(l, ll, "#EXT-X-PART:")) {
			double v = attr_num(l, ll, "DURATION=");
			open_parts += v > 0 ? v : 0;
		}
	}
	if (until <= 0 || body == len)
		return 0;
	total += open_parts;
	/* pass 2: skip the segments that end before the skip boundary */
	p = body;
	while (p < len) {
		const char *l = buf + p, *nl = memchr(l, '\n', len - p);
		size_t ll = nl ? (size_t)(nl - l) : len - p;
		int ok;
		p += ll + 1;
		if (starts(l, ll, "#EXTINF:")) {
			double v = num_after(l, comma(l, ll), 8, &ok);
			end += ok ? v : 0;
		} else if (ll > 0 && l[0] != '#' && l[0] != '\r') { /* a segment's URI ends it */
			if (end > total - until + 1e-6)
				break;
			nseg++;
			cut = p < len ? p : len;
		}
	}
	skip = nseg;
	if (skip <= 0)
		return 0;
	/* the header, EXT-X-VERSION raised to 9, EXT-X-SKIP, then the rest */
	p = 0;
	while (p < body) {
		const char *l = buf + p, *nl = memchr(l, '\n', body - p);
		size_t ll = nl ? (size_t)(nl - l) + 1 : body - p;
		if (starts(l, ll, "#EXT-X-VERSION:") && version < 9)
			add(&b, "#EXT-X-VERSION:9\n", 17);
		else
			add(&b, l, ll);
		if (p == 0 && !have_version)
			add(&b, "#EXT-X-VERSION:9\n", 17);
		p += ll;
	}
	if (b.off > 0 && out[b.off - 1] != '\n')
		add(&b, "\n", 1);
	snprintf(tag, sizeof tag, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%lld\n", skip);
	add(&b, tag, strlen(tag));
	add(&b, buf + cut, len - cut);
	return b.over ? -1 : (long)b.off;
}
