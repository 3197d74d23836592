/* pack_publish.c — the packager's publishing (see pack_int.h for the
 * pieces): the media playlist of a rung (index.m3u8, LL-HLS), the
 * multivariant playlists (master.m3u8, master-dvr.m3u8), the DVR playlist
 * (dvr.m3u8), and removing segment files once no playlist names them.
 * Every file is published with lsp_fsio_publish() (write + rename); the
 * caller publishes media before the playlist that names it.  Playlist text
 * buffers belong to the rung. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsio.h"
#include "media/pack_int.h"

/* ---- publishing ----------------------------------------------------- */

int pack_publish(rung *r, const char *name, const void *b, size_t n, char *err, size_t errcap)
{
	return lsp_fsio_publish(r->dir, name, b, n, 0, err, errcap);
}

/* An EXT-X-RENDITION-REPORT for every other rung whose playlist is out:
 * the segment and part of its newest part.  Returns how many. */
static int reports(lsp_pack *p, const rung *r, lsp_m3u8_report *rep, char (*uri)[80])
{
	int n = 0;
	for (int i = 0; i < p->nr; i++) {
		const rung *o = p->r[i];
		if (o == r || !o->started || !o->target_fixed || o->ended)
			continue;
		if (o->cur.nparts > 0)
			rep[n] = (lsp_m3u8_report){ uri[n], o->cur.seq, o->cur.nparts - 1 };
		else if (o->nhist > 0)
			rep[n] = (lsp_m3u8_report){ uri[n], o->hist[o->nhist - 1].seq, o->hist[o->nhist - 1].nparts - 1 };
		else
			continue;
		snprintf(uri[n], sizeof uri[n], "../%s/index.m3u8", o->name);
		n++;
	}
	return n;
}

int pack_write_playlist(lsp_pack *p, rung *r, char *err, size_t errcap)
{
	lsp_m3u8_seg segs[LSP_PACK_MAX_WINDOW], cur;
	lsp_m3u8_report rep[LSP_PACK_MAX_RUNGS];
	char uri[LSP_PACK_MAX_RUNGS][80];
	int first = r->nhist > p->o.window ? r->nhist - p->o.window : 0, n = 0, len;
	if (!r->target_fixed) /* no playlist before its target duration is known */
		return 0;
	lsp_m3u8_media m = {
		.version = 6,
		.target = r->target,
		.part_target = p->o.part,
		.part_hold_back = 3 * p->o.part,
		.hold_back = 3 * r->target,
		.can_skip_until = 6 * r->target,
		.ended = r->ended,
		.reports = rep,
	};
	m.disc_seq = r->disc_gone;
	for (int i = 0; i < first; i++)
		m.disc_seq += (uint64_t)r->hist[i].disc;
	for (int i = first; i < r->nhist; i++, n++)
		segs[n] = (lsp_m3u8_seg){ r->hist[i].seq, r->hist[i].dur, r->hist[i].pdt,
					  r->hist[i].nparts, r->hist[i].disc, r->hist[i].parts, r->hist[i].gap };
	cur = (lsp_m3u8_seg){ r->cur.seq, 0, r->cur.pdt, r->cur.nparts, r->cur.disc, r->cur.parts, 0 };
	m.disc_seq += (uint64_t)(n > 0 ? segs[0].disc : cur.disc); /* the first one's tag is not written */
	m.nreports = reports(p, r, rep, uri);
	m.segs = segs;
	m.nsegs = n;
	m.cur = &cur;
	/* parts stay listed for at least three target durations */
	m.part_segs = (int)ceil(3.0 * r->target / p->o.segment);
	len = lsp_m3u8_write_media(r->pl, PL_CAP, &m);
	if (len < 0) {
		snprintf(err, errcap, "%s: playlist too large", r->name);
		return len;
	}
	return pack_publish(r, "index.m3u8", r->pl, (size_t)len, err, errcap);
}

static int cmp_variant(const void *a, const void *b)
{
	const lsp_m3u8_variant *x = a, *y = b;
	return (x->bandwidth < y->bandwidth) - (x->bandwidth > y->bandwidth);
}

int pack_write_master(lsp_pack *p, char *err, size_t errcap)
{
	lsp_m3u8_variant v[LSP_PACK_MAX_RUNGS];
	char uri[LSP_PACK_MAX_RUNGS][80], buf[8192];
	int n = 0, len;
	for (int i = 0; i < p->nr; i++) {
		rung *r = p->r[i];
		if (r->peak_bps <= 0)
			continue;
		double fps = r->fps;
		if ((fps <= 0 || fps > 120) && r->frames_dur > 0) /* e.g. a 90 kHz time base as a rate */
			fps = (double)r->nframes / r->frames_dur;
		if (fps > 120)
			fps = 0;
		snprintf(uri[n], sizeof uri[n], "%s/index.m3u8", r->name);
		v[n] = (lsp_m3u8_variant){ uri[n], r->peak_bps,
					   r->tot_dur > 0 ? lround(r->tot_bytes * 8 / r->tot_dur) : 0,
					   r->width, r->height, fps, r->codecs };
		r->published_peak = r->peak_bps;
		n++;
	}
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof v[0], cmp_variant);
	if ((len = lsp_m3u8_write_master(buf, sizeof buf, 6, v, n)) < 0) {
		snprintf(err, errcap, "multivariant playlist too large");
		return len;
	}
	p->master_written = 1;
	if ((len = lsp_fsio_publish(p->o.out, "master.m3u8", buf, (size_t)len, 0, err, errcap)) < 0 ||
	    p->o.dvr <= 0)
		return len;
	/* the same ladder over the DVR playlists (v[i].uri points into uri[]) */
	for (int i = 0; i < n; i++) {
		char *s = strrchr(uri[i], '/');
		if (s)
			snprintf(s, sizeof uri[i] - (size_t)(s - uri[i]), "/dvr.m3u8");
	}
	if ((len = lsp_m3u8_write_master(buf, sizeof buf, 6, v, n)) < 0) {
		snprintf(err, errcap, "multivariant playlist too large");
		return len;
	}
	return lsp_fsio_publish(p->o.out, "master-dvr.m3u8", buf, (size_t)len, 0, err, errcap);
}

int pack_maybe_master(lsp_pack *p, char *err, size_t errcap)
{
	int all = 1, grew = 0, ahead = 0;
	for (int i = 0; i < p->nr; i++) /* a rung three segments in */
		ahead |= p->r[i]->peak_bps > 0 && p->r[i]->cur.seq >= p->seq0 + 3;
	for (int i = 0; i < p->nr; i++) {
		rung *r = p->r[i];
		if (r->peak_bps <= 0 && (r->started || !ahead))
			all = 0; /* not waited for: a rung that has not started by then (lsp-transcode
				  * keeps it idle: policy off); listed once it has a segment */
		else if (r->peak_bps > r->published_peak + r->published_peak / 10)
			grew = 1;
	}
	if ((!p->master_written && all) || (p->master_written && grew))
		return pack_write_master(p, err, errcap);
	return 0;
}

void pack_remove_segment(rung *r, const seginfo *s)
{
	char name[64], e[256];
	for (int i = 0; i < s->nparts; i++) {
		snprintf(name, sizeof name, "seg%llu.%d.m4s", (unsigned long long)s->seq, i);
		lsp_fsio_unlink(r->dir, name, e, sizeof e);
	}
	if (r->ndvr > 0 && s->seq >= r->dvr[0].seq)
		return; /* the complete segment stays for DVR */
	snprintf(name, sizeof name, "seg%llu.m4s", (unsigned long long)s->seq);
	lsp_fsio_unlink(r->dir, name, e, sizeof e);
}

int pack_write_dvr(rung *r, char *err, size_t errcap)
{
	int n = r->ndvr - r->dvr_first, len = -ENOSPC;
	lsp_m3u8_item *it;
	char (*uri)[32];
	if (n <= 0)
		return 0;
	if (!(it = calloc((size_t)n, sizeof *it)) || !(uri = calloc((size_t)n, sizeof *uri))) {
		free(it);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	uint64_t disc_seq = r->dvr_disc_gone;
	for (int i = 0; i <= r->dvr_first; i++) /* the first listed one's tag is not written */
		disc_seq += (uint64_t)r->dvr[i].disc;
	for (int i = 0; i < n; i++) {
		const dvrseg *d = &r->dvr[r->dvr_first + i];
		snprintf(uri[i], sizeof uri[i], "seg%llu.m4s", (unsigned long long)d->seq);
		it[i] = (lsp_m3u8_item){ uri[i], d->dur, d->pdt, d->disc, i == 0 ? "init.mp4" : NULL, d->gap };
	}
	lsp_m3u8_list l = { NULL, r->target, r->dvr[r->dvr_first].seq, disc_seq, it, n, r->ended };
	for (size_t per = 128; per <= 4096; per *= 2) { /* bytes an item: grow until it fits */
		size_t want = 512 + (size_t)n * per;
		if (r->dvrcap < want) {
			char *nb = realloc(r->dvrpl, want);
			if (!nb) {
				len = -ENOMEM;
				break;
			}
			r->dvrpl = nb;
			r->dvrcap = want;
		}
		if ((len = lsp_m3u8_write_list(r->dvrpl, r->dvrcap, &l)) != -ENOSPC)
			break;
	}
	free(it);
	free(uri);
	if (len < 0) {
		snprintf(err, errcap, "%s: DVR playlist: %s", r->name, strerror(-len));
		return len;
	}
	return pack_publish(r, "dvr.m3u8", r->dvrpl, (size_t)len, err, errcap);
}

/* A segment was completed: list it for DVR, drop what left the window. */
int pack_dvr_add(lsp_pack *p, rung *r, const seginfo *s, char *err, size_t errcap)
{
	int rc = pack_dvr_push(p, r, s, err, errcap);
	return rc < 0 ? rc : pack_write_dvr(r, err, errcap);
}

/* The same without writing the DVR playlist (a run of gap segments). */
int pack_dvr_push(lsp_pack *p, rung *r, const seginfo *s, char *err, size_t errcap)
{
	char name[64], e[256];
	if (r->ndvr == r->capdvr) {
		int nc = r->capdvr ? r->capdvr * 2 : 256;
		dvrseg *nd = realloc(r->dvr, sizeof *nd * (size_t)nc);
		if (!nd) {
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		r->dvr = nd;
		r->capdvr = nc;
	}
	r->dvr[r->ndvr++] = (dvrseg){ s->seq, s->dur, s->pdt, s->disc, s->gap };
	r->dvr_dur += s->dur;
	while (r->ndvr - r->dvr_first > 1 && r->dvr_dur - r->dvr[r->dvr_first].dur >= p->o.dvr)
		r->dvr_dur -= r->dvr[r->dvr_first++].dur;
	while (r->dvr_first > LSP_PACK_GRACE) {
		uint64_t seq = r->dvr[0].seq;
		if (r->nhist == 0 || seq < r->hist[0].seq) { /* not in the LL playlist any more */
			snprintf(name, sizeof name, "seg%llu.m4s", (unsigned long long)seq);
			lsp_fsio_unlink(r->dir, name, e, sizeof e);
		}
		r->dvr_disc_gone += (uint64_t)r->dvr[0].disc;
		memmove(r->dvr, r->dvr + 1, sizeof *r->dvr * (size_t)(r->ndvr - 1));
		r->ndvr--;
		r->dvr_first--;
	}
	return 0;
}
