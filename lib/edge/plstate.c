/* plstate.c — LL-HLS media playlist state for blocking reload; see plstate.h. */
#include "edge/plstate.h"

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
