/* Unit tests: lib/media/pack.c + pack_publish.c — the LL-HLS packager
 * driven with a canned TS made at test time (media_ts.h): part, segment
 * and playlist files in a temporary directory, their names and EXT-X-PART
 * lines, publication before the event that reports it (and no temporary
 * file left), the window sliding, numbering from first_seq and past what a
 * previous run left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/event.h"
#include "media/avlog.h"
#include "media/pack.h"
#include "media_ts.h"

struct fx {
	char root[64], in[128], in2[128], out[128], src[160];
};

struct seen {
	const char *dir;          /* the rung directory, to look at while running */
	int rungs, starts, parts, segments, ends, published_late, tmp_seen;
	long long first_seq, last_seq, next_seq, bytes;
	char rung[32];
	int height;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/lsp-test-pack.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->in, sizeof f->in, "%s/in.ts", f->root);
	snprintf(f->in2, sizeof f->in2, "%s/in2.ts", f->root);
	snprintf(f->out, sizeof f->out, "%s/ch", f->root);
	snprintf(f->src, sizeof f->src, "%s/src", f->out);
	/* 3 s, IDR every 0.5 s, audio; 4 s of the same without audio */
	if (ts_make(f->in, 90, 15, 1) < 0 || ts_make(f->in2, 120, 15, 0) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static long fsize(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Whole file into a NUL-terminated buffer (caller frees); *n its size. */
static char *slurp(const char *dir, const char *name, size_t *n)
{
	char p[512];
	char *b = NULL;
	size_t len = 0;
	FILE *fp;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (!(fp = fopen(p, "rb")))
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0) {
		long sz = ftell(fp);
		if (sz >= 0 && (b = malloc((size_t)sz + 1))) {
			rewind(fp);
			len = fread(b, 1, (size_t)sz, fp);
			b[len] = 0;
		}
	}
	fclose(fp);
	if (n)
		*n = len;
	return b;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t k = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, k) == 0;
	return n;
}

static int has_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

/* The packager's events: what each says must already be on disk. */
static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *s = ctx;
	char name[64];
	assert_non_null(ev->name);
	if (lsp_event_is(ev, "rung")) {
		s->rungs++;
		snprintf(s->rung, sizeof s->rung, "%s", lsp_event_str(ev, "rung"));
		s->height = (int)lsp_event_int(ev, "height", -1);
	} else if (lsp_event_is(ev, "start")) {
		s->starts++;
		s->published_late += fsize(s->dir, "init.mp4") <= 0;
	} else if (lsp_event_is(ev, "part")) {
		s->parts++;
		snprintf(name, sizeof name, "seg%lld.%lld.m4s", lsp_event_int(ev, "seq", -1), lsp_event_int(ev, "part", -1));
		s->published_late += fsize(s->dir, name) != lsp_event_int(ev, "bytes", -2);
		s->tmp_seen += has_tmp(s->dir);
	} else if (lsp_event_is(ev, "segment")) {
		long long seq = lsp_event_int(ev, "seq", -1);
		if (s->segments++ == 0)
			s->first_seq = seq;
		else
			assert_int_equal(seq, s->last_seq + 1);
		s->last_seq = seq;
		snprintf(name, sizeof name, "seg%lld.m4s", seq);
		s->published_late += fsize(s->dir, name) != lsp_event_int(ev, "bytes", -2);
		s->bytes += lsp_event_int(ev, "bytes", 0);
		s->tmp_seen += has_tmp(s->dir);
	} else if (lsp_event_is(ev, "end")) {
		s->ends++;
		s->next_seq = lsp_event_int(ev, "next_seq", -1);
	}
}

static int package(const char *in, const char *out, double segment, int window, long long first_seq,
		   struct seen *s)
{
	lsp_pack_opts o = { .input = in, .out = out, .part = 0.2, .segment = segment, .window = window,
			    .first_seq = first_seq, .event = on_event, .event_ctx = s };
	lsp_pack *p = NULL;
	char err[256] = "";
	int rc;
	if ((rc = lsp_pack_open(&p, &o, err, sizeof err)) < 0) {
		print_error("open: %s\n", err);
		return rc;
	}
	while ((rc = lsp_pack_step(p, err, sizeof err)) > 0)
		;
	if (rc == 0)
		rc = lsp_pack_finish(p, err, sizeof err);
	if (rc < 0)
		print_error("package: %s\n", err);
	lsp_pack_close(p);
	return rc;
}

static void parts_segments_playlists(void **state)
{
	struct fx *f = *state;
	struct seen s = { .dir = f->src };
	char *pl, *master, *seg, *cat, name[64];
	size_t seglen, plen, off = 0;

	assert_int_equal(package(f->in, f->out, 1, 6, 100, &s), 0);
	/* one rung "src" (a single program without a rung-like name), 64x48 */
	assert_int_equal(s.rungs, 1);
	assert_string_equal(s.rung, "src");
	assert_int_equal(s.height, TS_H);
	assert_int_equal(s.starts, 1);
	assert_int_equal(s.ends, 1);
	/* 3 s in 1 s segments cut at the 0.5 s key frames: seg100..seg102 */
	assert_int_equal(s.segments, 3);
	assert_int_equal(s.first_seq, 100);
	assert_int_equal(s.next_seq, 103);
	assert_true(s.parts >= 3 * 4); /* 0.2 s parts, about five a segment */
	assert_int_equal(s.published_late, 0);
	assert_int_equal(s.tmp_seen, 0);
	assert_int_equal(has_tmp(f->src) + has_tmp(f->out), 0);
	assert_true(fsize(f->src, "init.mp4") > 0);
	assert_int_equal(fsize(f->src, "seg103.m4s"), -1);
	assert_int_equal(fsize(f->src, "seg99.m4s"), -1);

	/* a segment is its parts, concatenated */
	for (int k = 100; k <= 102; k++) {
		snprintf(name, sizeof name, "seg%d.m4s", k);
		assert_non_null(seg = slurp(f->src, name, &seglen));
		assert_non_null(cat = malloc(seglen + 1));
		off = 0;
		for (int i = 0;; i++) {
			char *part;
			snprintf(name, sizeof name, "seg%d.%d.m4s", k, i);
			if (!(part = slurp(f->src, name, &plen)))
				break;
			assert_true(off + plen <= seglen);
			memcpy(cat + off, part, plen);
			off += plen;
			free(part);
		}
		assert_int_equal(off, seglen);
		assert_memory_equal(cat, seg, seglen);
		free(cat);
		free(seg);
	}

	/* the media playlist: every segment, its parts, ended */
	assert_non_null(pl = slurp(f->src, "index.m3u8", NULL));
	assert_non_null(strstr(pl, "#EXT-X-MEDIA-SEQUENCE:100\n"));
	assert_non_null(strstr(pl, "#EXT-X-PART-INF:PART-TARGET=0.200\n"));
	assert_non_null(strstr(pl, "#EXT-X-MAP:URI=\"init.mp4\"\n"));
	assert_non_null(strstr(pl, "\nseg100.m4s\n"));
	assert_non_null(strstr(pl, "\nseg102.m4s\n#EXT-X-ENDLIST\n"));
	assert_int_equal(count_lines(pl, "#EXTINF:"), 3);
	assert_int_equal(count_lines(pl, "#EXT-X-PRELOAD-HINT"), 0);
	/* the first part of a segment starts at a key frame */
	assert_non_null(strstr(pl, "#EXT-X-PART:DURATION=0.20000,URI=\"seg100.0.m4s\",INDEPENDENT=YES\n"));
	assert_non_null(strstr(pl, ",URI=\"seg101.0.m4s\",INDEPENDENT=YES\n"));
	assert_non_null(strstr(pl, ",URI=\"seg100.1.m4s\"\n"));
	assert_int_equal(count_lines(pl, "#EXT-X-PART:"), s.parts);
	free(pl);

	/* the multivariant playlist names the rung with its size and codecs */
	assert_non_null(master = slurp(f->out, "master.m3u8", NULL));
	assert_non_null(strstr(master, "RESOLUTION=64x48,CODECS=\"avc1."));
	assert_non_null(strstr(master, ",mp4a.40.2\""));
	assert_non_null(strstr(master, "\nsrc/index.m3u8\n"));
	assert_int_equal(fsize(f->out, "master-dvr.m3u8"), -1);
	free(master);
}

static void window_and_numbering(void **state)
{
	struct fx *f = *state;
	struct seen s = { .dir = f->src }, s2 = { .dir = f->src }, s3 = { .dir = f->src };
	long long clock_seq;
	char *pl;

	/* 4 s in 0.5 s segments: seg7..seg14, the last three listed */
	assert_int_equal(package(f->in2, f->out, 0.5, 3, 7, &s), 0);
	assert_int_equal(s.segments, 8);
	assert_int_equal(s.first_seq, 7);
	assert_int_equal(s.last_seq, 14);
	assert_int_equal(s.published_late, 0);
	assert_non_null(pl = slurp(f->src, "index.m3u8", NULL));
	assert_non_null(strstr(pl, "#EXT-X-MEDIA-SEQUENCE:12\n"));
	assert_int_equal(count_lines(pl, "#EXTINF:"), 3);
	assert_null(strstr(pl, "seg11.m4s"));
	free(pl);
	/* what left the window stays LSP_PACK_GRACE segments, then goes */
	assert_int_equal(fsize(f->src, "seg9.m4s"), -1);
	assert_int_equal(fsize(f->src, "seg9.0.m4s"), -1);
	assert_true(fsize(f->src, "seg10.m4s") > 0);
	assert_true(fsize(f->src, "seg14.m4s") > 0);
	/* audio-less input: video codec only */
	assert_non_null(pl = slurp(f->out, "master.m3u8", NULL));
	assert_null(strstr(pl, "mp4a"));
	free(pl);

	/* a run told to start lower removes what the previous run left */
	assert_int_equal(package(f->in2, f->out, 0.5, 3, 3, &s2), 0);
	assert_int_equal(s2.first_seq, 3);
	assert_int_equal(s2.last_seq, 10);
	assert_int_equal(fsize(f->src, "seg14.m4s"), -1);
	assert_int_equal(fsize(f->src, "seg11.m4s"), -1);
	assert_true(fsize(f->src, "seg10.m4s") > 0);

	/* the clock: wall-clock seconds / segment, so never below a past run */
	clock_seq = (long long)((double)time(NULL) / 0.5);
	assert_int_equal(package(f->in2, f->out, 0.5, 3, LSP_PACK_SEQ_CLOCK, &s3), 0);
	assert_true(s3.first_seq >= clock_seq && s3.first_seq <= clock_seq + 4);
	assert_int_equal(s3.last_seq, s3.first_seq + 7);
	assert_int_equal(fsize(f->src, "seg10.m4s"), -1);
}

/* Unix time of "YYYY-MM-DDTHH:MM:SS.mmmZ"; -1 if it is not one. */
static double iso_time(const char *v)
{
	struct tm tm = { 0 };
	double sec;
	if (sscanf(v, "%d-%d-%dT%d:%d:%lfZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + sec;
}

/* 6 s whose 33-bit MPEG-TS time stamps wrap 2.5 s in: every segment's
 * EXT-X-PROGRAM-DATE-TIME is near the wall clock (no 2^33 / 90 kHz =
 * 26.5 h jump) and follows the previous one by its EXTINF; the target
 * duration holds every segment. */
static void pdt_across_wrap(void **state)
{
	struct fx *f = *state;
	struct seen s = { .dir = f->src };
	const double wrap_s = (double)(INT64_C(1) << 33) / 90000;
	double now = (double)time(NULL), prev = -1, prev_dur = 0;
	char *pl, wrapped[160];
	int npdt = 0;

	snprintf(wrapped, sizeof wrapped, "%s/wrap.ts", f->root);
	assert_int_equal(ts_make_at(wrapped, 180, 30, 1, (int64_t)((wrap_s - 2.5) * 1e6)), 0);
	assert_int_equal(package(wrapped, f->out, 1, 10, 0, &s), 0);
	assert_int_equal(s.segments, 6);
	assert_non_null(pl = slurp(f->src, "index.m3u8", NULL));
	assert_non_null(strstr(pl, "#EXT-X-TARGETDURATION:1\n"));
	for (const char *l = pl; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "#EXT-X-PROGRAM-DATE-TIME:", 25) == 0) {
			double t = iso_time(l + 25);
			assert_true(t > now - 60 && t < now + 60);
			if (prev > 0)
				assert_true(fabs(t - (prev + prev_dur)) < 0.2);
			prev = t;
			npdt++;
		} else if (strncmp(l, "#EXTINF:", 8) == 0) {
			prev_dur = strtod(l + 8, NULL);
			assert_true(prev_dur > 0.9 && prev_dur < 1.1);
		}
	}
	assert_int_equal(npdt, 6);
	free(pl);
}

static void bad_input(void **state)
{
	struct fx *f = *state;
	lsp_pack_opts o = { .input = "/nonexistent/lsp/in.ts", .out = f->out, .first_seq = 0 };
	lsp_pack *p = (lsp_pack *)&o;
	char err[256] = "";
	assert_true(lsp_pack_open(&p, &o, err, sizeof err) < 0);
	assert_null(p);
	assert_true(err[0] != 0);
	lsp_pack_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(parts_segments_playlists, setup, teardown),
		cmocka_unit_test_setup_teardown(window_and_numbering, setup, teardown),
		cmocka_unit_test_setup_teardown(pdt_across_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
	};
	lsp_avlog_route(NULL, NULL, LSP_AVLOG_NONE); /* libav quiet */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
