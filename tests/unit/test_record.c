/* Unit tests: lib/media/record.c + record_dir.c — the broadcast recorder
 * driven with a canned TS made at test time (media_ts.h) into a temporary
 * root: the segments, the VOD playlist, rec.state read back with
 * lsp_fsio_kv_get(), a reconnect within the grace continuing the same
 * broadcast (numbering, discontinuity, init-1.mp4, sessions), and a new
 * broadcast without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/event.h"
#include "core/fsio.h"
#include "media/avlog.h"
#include "media/record.h"
#include "media_ts.h"

struct fx {
	char root[64], in[128], vod[128];
};

struct seen {
	int started, reopened, segments, finished, session;
	long long first_seq, last_seq, bytes, total_segments;
	char id[48];
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
	snprintf(f->root, sizeof f->root, "/tmp/lsp-test-record.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->in, sizeof f->in, "%s/in.ts", f->root);
	snprintf(f->vod, sizeof f->vod, "%s/vod", f->root);
	if (ts_make(f->in, 90, 15, 1) < 0) /* 3 s, IDR every 0.5 s, audio */
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

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *s = ctx;
	assert_non_null(ev->name);
	if (lsp_event_is(ev, "started") || lsp_event_is(ev, "reopened")) {
		s->started += lsp_event_is(ev, "started");
		s->reopened += lsp_event_is(ev, "reopened");
		s->session = (int)lsp_event_int(ev, "session", -1);
		snprintf(s->id, sizeof s->id, "%s", lsp_event_str(ev, "id"));
	} else if (lsp_event_is(ev, "segment")) {
		long long seq = lsp_event_int(ev, "seq", -1);
		if (s->segments++ == 0)
			s->first_seq = seq;
		else
			assert_int_equal(seq, s->last_seq + 1);
		s->last_seq = seq;
		s->bytes += lsp_event_int(ev, "bytes", 0);
	} else if (lsp_event_is(ev, "finished")) {
		s->finished++;
		s->total_segments = lsp_event_int(ev, "segments", -1);
	}
}

/* Record in as channel "t"; id/dir/seconds/reopened of the run. */
static void record(const struct fx *f, int grace, struct seen *s, char *id, char *dir, double *secs, int *reopened)
{
	lsp_record_opts o = { .input = f->in, .root = f->vod, .channel = "t", .segment = 1, .grace = grace,
			      .nosync = 1, .event = on_event, .event_ctx = s };
	lsp_record *r = NULL;
	char err[256] = "";
	int rc;
	rc = lsp_record_open(&r, &o, err, sizeof err);
	if (rc < 0)
		print_error("open: %s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(lsp_record_id(r), ""); /* nothing chosen before the first key frame */
	while ((rc = lsp_record_step(r, err, sizeof err)) > 0)
		;
	if (rc == 0)
		rc = lsp_record_finish(r, err, sizeof err);
	if (rc < 0)
		print_error("record: %s\n", err);
	assert_int_equal(rc, 0);
	snprintf(id, 48, "%s", lsp_record_id(r));
	snprintf(dir, 256, "%s", lsp_record_dir(r));
	*secs = lsp_record_seconds(r);
	*reopened = lsp_record_reopened(r);
	lsp_record_close(r);
}

static double kv_num(const char *dir, const char *key)
{
	char v[64] = "";
	assert_int_equal(lsp_fsio_kv_get(dir, "rec.state", key, v, sizeof v), 0);
	return strtod(v, NULL);
}

static char *slurp(const char *dir, const char *name)
{
	char p[512];
	char *b;
	size_t n;
	FILE *fp;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_non_null(fp = fopen(p, "rb"));
	assert_non_null(b = calloc(1, 65536));
	n = fread(b, 1, 65535, fp);
	fclose(fp);
	b[n] = 0;
	return b;
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static long fsize(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void record_reopen_new(void **state)
{
	struct fx *f = *state;
	struct seen s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	char id[48], id2[48], id3[48], dir[256], dir2[256], dir3[256], want[320], v[64];
	double secs;
	int reopened;
	char *pl;

	/* first session: a new broadcast, 3 x 1 s segments */
	record(f, 30, &s1, id, dir, &secs, &reopened);
	assert_int_equal(reopened, 0);
	assert_int_equal(s1.started, 1);
	assert_int_equal(s1.reopened, 0);
	assert_int_equal(s1.session, 0);
	assert_string_equal(s1.id, id);
	assert_int_equal(strlen(id), 16); /* YYYYMMDDTHHMMSSZ */
	assert_int_equal(id[8], 'T');
	snprintf(want, sizeof want, "%s/t/%s", f->vod, id);
	assert_string_equal(dir, want);
	assert_int_equal(s1.segments, 3);
	assert_int_equal(s1.first_seq, 0);
	assert_int_equal(s1.finished, 1);
	assert_int_equal(s1.total_segments, 3);
	assert_true(secs > 2.9 && secs < 3.1);
	assert_true(fsize(dir, "init.mp4") > 0);
	assert_true(fsize(dir, "seg2.m4s") > 0);
	assert_int_equal(fsize(dir, "seg3.m4s"), -1);
	assert_int_equal(fsize(dir, ".index.m3u8.tmp") + fsize(dir, ".rec.state.tmp"), -2);

	/* rec.state, read the way lib/state/vod.c reads it */
	assert_int_equal(lsp_fsio_kv_get(dir, "rec.state", "channel", v, sizeof v), 0);
	assert_string_equal(v, "t");
	assert_int_equal(lsp_fsio_kv_get(dir, "rec.state", "id", v, sizeof v), 0);
	assert_string_equal(v, id);
	assert_int_equal(kv_num(dir, "sessions"), 1);
	assert_int_equal(kv_num(dir, "segments"), 3);
	assert_int_equal(kv_num(dir, "bytes"), s1.bytes);
	assert_true(kv_num(dir, "duration") > 2.9 && kv_num(dir, "duration") < 3.1);
	assert_true(kv_num(dir, "ended") >= kv_num(dir, "started") && kv_num(dir, "started") > 0);
	assert_true(kv_num(dir, "updated") >= kv_num(dir, "started"));
	assert_true(kv_num(dir, "next_dts") > 0);
	assert_int_equal(lsp_fsio_kv_get(dir, "rec.state", "nosuchkey", v, sizeof v), -ENOENT);

	/* the VOD playlist */
	pl = slurp(dir, "index.m3u8");
	assert_non_null(strstr(pl, "#EXT-X-PLAYLIST-TYPE:VOD\n"));
	assert_non_null(strstr(pl, "#EXT-X-MAP:URI=\"init.mp4\"\n"));
	assert_non_null(strstr(pl, "#EXT-X-PROGRAM-DATE-TIME:"));
	assert_non_null(strstr(pl, "\nseg0.m4s\n"));
	assert_non_null(strstr(pl, "\nseg2.m4s\n#EXT-X-ENDLIST\n"));
	assert_int_equal(count(pl, "#EXTINF:"), 3);
	assert_int_equal(count(pl, "#EXT-X-DISCONTINUITY"), 0);
	free(pl);

	/* a reconnect within the grace continues the same broadcast */
	record(f, 30, &s2, id2, dir2, &secs, &reopened);
	assert_int_equal(reopened, 1);
	assert_int_equal(s2.reopened, 1);
	assert_int_equal(s2.started, 0);
	assert_int_equal(s2.session, 1);
	assert_string_equal(id2, id);
	assert_string_equal(dir2, dir);
	assert_int_equal(s2.first_seq, 3); /* numbering goes on */
	assert_int_equal(s2.last_seq, 5);
	assert_int_equal(s2.total_segments, 6);
	assert_true(secs > 2.9 && secs < 3.1); /* this session's seconds */
	assert_true(fsize(dir, "init-1.mp4") > 0);
	assert_int_equal(kv_num(dir, "sessions"), 2);
	assert_int_equal(kv_num(dir, "segments"), 6);
	assert_int_equal(kv_num(dir, "bytes"), s1.bytes + s2.bytes);
	assert_true(kv_num(dir, "duration") > 5.9 && kv_num(dir, "duration") < 6.1);
	pl = slurp(dir, "index.m3u8");
	assert_int_equal(count(pl, "#EXTINF:"), 6);
	assert_int_equal(count(pl, "#EXT-X-DISCONTINUITY\n"), 1);
	assert_non_null(strstr(pl, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-1.mp4\"\n"));
	assert_non_null(strstr(pl, "\nseg5.m4s\n#EXT-X-ENDLIST\n"));
	assert_non_null(strstr(pl, "#EXT-X-PLAYLIST-TYPE:VOD\n"));
	free(pl);

	/* without a grace: always a new broadcast, numbered from 0 */
	record(f, 0, &s3, id3, dir3, &secs, &reopened);
	assert_int_equal(reopened, 0);
	assert_int_equal(s3.started, 1);
	assert_string_not_equal(id3, id);
	assert_int_equal(s3.first_seq, 0);
	assert_int_equal(kv_num(dir3, "sessions"), 1);
	assert_int_equal(kv_num(dir, "sessions"), 2); /* the old one untouched */
}

static void bad_options(void **state)
{
	struct fx *f = *state;
	lsp_record_opts o = { .input = f->in, .root = f->vod, .channel = "Bad/Name" };
	lsp_record *r = (lsp_record *)&o;
	char err[256] = "";
	assert_int_equal(lsp_record_open(&r, &o, err, sizeof err), -EINVAL);
	assert_null(r);
	assert_true(err[0] != 0);
	o.channel = "t";
	o.input = "/nonexistent/lsp/in.ts";
	assert_true(lsp_record_open(&r, &o, err, sizeof err) < 0);
	assert_null(r);
	assert_int_equal(access(f->vod, F_OK), -1); /* nothing created */
	lsp_record_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(record_reopen_new, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_options, setup, teardown),
	};
	lsp_avlog_route(NULL, NULL, LSP_AVLOG_NONE); /* libav quiet */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
