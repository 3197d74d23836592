/* m3u8.c — LL-HLS playlist writers; see m3u8.h for the contract.
 * Pure functions over the caller's state: no I/O, no clock, no allocation. */
#include "media/m3u8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	char *buf;
	size_t cap, off;
	int over;
} out_t;

static void put(out_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (o->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->cap - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->off) {
		o->over = 1;
		return;
	}
	o->off += (size_t)n;
}

static int finish(out_t *o)
{
	if (o->over)
		return -ENOSPC;
	return (int)o->off;
}

int lsp_m3u8_iso8601(char *buf, size_t cap, double t)
{
	long long ms = llround(t * 1000.0);
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char day[32];
	int n;
	if (!gmtime_r(&s, &tm) || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -ENOSPC;
	n = snprintf(buf, cap, "%s.%03lldZ", day, ms % 1000);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

static void put_pdt(out_t *o, double pdt)
{
	char iso[48];
	if (pdt > 0 && lsp_m3u8_iso8601(iso, sizeof iso, pdt) == 0)
		put(o, "#EXT-X-PROGRAM-DATE-TIME:%s\n", iso);
}

static void put_parts(out_t *o, const lsp_m3u8_seg *s)
{
	for (int i = 0; i < s->nparts; i++)
		put(o, "#EXT-X-PART:DURATION=%.5f,URI=\"seg%llu.%d.m4s\"%s\n", s->parts[i].dur,
		    (unsigned long long)s->seq, i, s->parts[i].independent ? ",INDEPENDENT=YES" : "");
}

/* A gap segment's parts near the live edge, where every segment lists
 * them: part-target long pieces marked GAP=YES (nothing to load). */
static void put_gap_parts(out_t *o, const lsp_m3u8_seg *s, double part_target)
{
	long n = part_target > 0 ? lround(s->dur / part_target) : 1;
	if (n < 1)
		n = 1;
	if (n > 1000)
		n = 1000;
	for (long i = 0; i < n; i++)
		put(o, "#EXT-X-PART:DURATION=%.5f,URI=\"seg%llu.%ld.m4s\",GAP=YES\n", s->dur / (double)n,
		    (unsigned long long)s->seq, i);
}

/* NOLINTNEXTLINE(readability-non-const-parameter): written through o.buf; clang-tidy 14 misses initializer lists */
int lsp_m3u8_write_media(char *buf, size_t cap, const lsp_m3u8_media *m)
{
	out_t o = { buf, cap, 0, 0 };
	uint64_t first;

	if (!buf || cap == 0 || !m || m->nsegs < 0 || (m->nsegs > 0 && !m->segs) ||
	    (m->nsegs == 0 && !m->cur) || m->target < 1 || m->part_target <= 0)
		return -EINVAL;
	first = m->nsegs > 0 ? m->segs[0].seq : m->cur->seq;
	put(&o, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n", m->version, m->target);
	put(&o, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f", m->part_hold_back);
	if (m->can_skip_until > 0)
		put(&o, ",CAN-SKIP-UNTIL=%.3f", m->can_skip_until);
	if (m->hold_back > 0)
		put(&o, ",HOLD-BACK=%.3f", m->hold_back);
	put(&o, "\n#EXT-X-PART-INF:PART-TARGET=%.3f\n", m->part_target);
	put(&o, "#EXT-X-MEDIA-SEQUENCE:%llu\n", (unsigned long long)first);
	if (m->disc_seq > 0)
		put(&o, "#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n", (unsigned long long)m->disc_seq);
	put(&o, "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n");
	for (int i = 0; i < m->nsegs; i++) {
		const lsp_m3u8_seg *s = &m->segs[i];
		if (s->disc && i > 0)
			put(&o, "#EXT-X-DISCONTINUITY\n");
		put_pdt(&o, s->pdt);
		if (i >= m->nsegs - m->part_segs) {
			if (s->gap)
				put_gap_parts(&o, s, m->part_target);
			else
				put_parts(&o, s);
		}
		if (s->gap)
			put(&o, "#EXT-X-GAP\n");
		put(&o, "#EXTINF:%.5f,\nseg%llu.m4s\n", s->dur, (unsigned long long)s->seq);
	}
	if (m->ended) {
		put(&o, "#EXT-X-ENDLIST\n");
		return finish(&o);
	}
	if (m->cur) {
		if (m->cur->disc && m->cur->nparts > 0 && m->nsegs > 0)
			put(&o, "#EXT-X-DISCONTINUITY\n");
		if (m->cur->nparts > 0)
			put_pdt(&o, m->cur->pdt);
		put_parts(&o, m->cur);
		put(&o, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg%llu.%d.m4s\"\n",
		    (unsigned long long)m->cur->seq, m->cur->nparts);
	}
	for (int i = 0; i < m->nreports && m->reports; i++)
		put(&o, "#EXT-X-RENDITION-REPORT:URI=\"%s\",LAST-MSN=%llu,LAST-PART=%d\n", m->reports[i].uri,
		    (unsigned long long)m->reports[i].last_msn, m->reports[i].last_part);
	return finish(&o);
}

/* NOLINTNEXTLINE(readability-non-const-parameter): written through o.buf; clang-tidy 14 misses initializer lists */
int lsp_m3u8_write_master(char *buf, size_t cap, int version, const lsp_m3u8_variant *v, int n)
{
	out_t o = { buf, cap, 0, 0 };
	if (!buf || cap == 0 || n < 0 || (n > 0 && !v))
		return -EINVAL;
	put(&o, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", version);
	for (int i = 0; i < n; i++) {
		put(&o, "#EXT-X-STREAM-INF:BANDWIDTH=%ld", v[i].bandwidth);
		if (v[i].avg_bandwidth > 0)
			put(&o, ",AVERAGE-BANDWIDTH=%ld", v[i].avg_bandwidth);
		if (v[i].width > 0 && v[i].height > 0)
			put(&o, ",RESOLUTION=%dx%d", v[i].width, v[i].height);
		if (v[i].codecs && v[i].codecs[0])
			put(&o, ",CODECS=\"%s\"", v[i].codecs);
		if (v[i].fps > 0)
			put(&o, ",FRAME-RATE=%.3f", v[i].fps);
		put(&o, "\n%s\n", v[i].uri);
	}
	return finish(&o);
}

/* NOLINTNEXTLINE(readability-non-const-parameter): written through o.buf; clang-tidy 14 misses initializer lists */
int lsp_m3u8_write_list(char *buf, size_t cap, const lsp_m3u8_list *l)
{
	out_t o = { buf, cap, 0, 0 };
	int target;
	if (!buf || cap == 0 || !l || l->n < 0 || (l->n > 0 && !l->items))
		return -EINVAL;
	target = l->min_target > 0 ? l->min_target : 1;
	for (int i = 0; i < l->n; i++)
		if ((int)lround(l->items[i].dur) > target) /* EXTINF rounded <= target */
			target = (int)lround(l->items[i].dur);
	put(&o, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:%d\n", target);
	if (l->type)
		put(&o, "#EXT-X-PLAYLIST-TYPE:%s\n", l->type);
	put(&o, "#EXT-X-MEDIA-SEQUENCE:%llu\n", (unsigned long long)l->seq);
	if (l->disc_seq > 0)
		put(&o, "#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n", (unsigned long long)l->disc_seq);
	put(&o, "#EXT-X-INDEPENDENT-SEGMENTS\n");
	for (int i = 0; i < l->n; i++) {
		const lsp_m3u8_item *it = &l->items[i];
		if (!it->uri)
			return -EINVAL;
		if (it->disc && i > 0)
			put(&o, "#EXT-X-DISCONTINUITY\n");
		if (it->map)
			put(&o, "#EXT-X-MAP:URI=\"%s\"\n", it->map);
		put_pdt(&o, it->pdt);
		if (it->gap)
			put(&o, "#EXT-X-GAP\n");
		put(&o, "#EXTINF:%.5f,\n%s\n", it->dur, it->uri);
	}
	if (l->ended)
		put(&o, "#EXT-X-ENDLIST\n");
	return finish(&o);
}

long long lsp_m3u8_seg_number(const char *name, int *part)
{
	unsigned long long n, pn = 0;
	char *end, *pe;
	size_t l = strlen(name);
	if (part)
		*part = -1;
	if (l < 8 || strncmp(name, "seg", 3) != 0 || name[3] < '0' || name[3] > '9' ||
	    strcmp(name + l - 4, ".m4s") != 0)
		return -1;
	errno = 0;
	n = strtoull(name + 3, &end, 10);
	if (errno || n > (unsigned long long)LLONG_MAX || *end != '.')
		return -1;
	if (end != name + l - 4) { /* a part: ".P.m4s" */
		if (end[1] < '0' || end[1] > '9')
			return -1;
		pn = strtoull(end + 1, &pe, 10);
		if (errno || pn > INT_MAX || pe != name + l - 4)
			return -1;
		if (part)
			*part = (int)pn;
	}
	return (long long)n;
}
