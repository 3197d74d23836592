/* Unit tests: lib/state/vod.c (settings text and store row, list/json/rm/gc of
 * recording directories) and lsp_m3u8_write_list() (lib/media/m3u8.c), on the
 * fixture's data dir and store (tests/unit/fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/m3u8.h"
#include "state/store.h"
#include "state/vod.h"
#include "fixture.h"

static char root[128];

/* The fixture's data dir and store, and <dir>/vod for the recordings. */
static int setup(void **s)
{
	if (fx_setup(s) < 0)
		return -1;
	snprintf(root, sizeof root, "%s/vod", ((fx *)*s)->dir);
	return mkdir(root, 0755);
}

/* A fake recording: rec.state plus a segment of `bytes` bytes. */
static void fake(const char *ch, const char *id, double started, double ended, long bytes)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", root, ch);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/%s/%s", root, ch, id);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/%s/rec.state", root, ch, id);
	assert_non_null(f = fopen(p, "w"));
	fprintf(f, "channel %s\nid %s\nstarted %.3f\nupdated %.3f\nended %.3f\nsessions 1\nsegments 1\n"
		   "duration 12.500\nbytes %ld\nnext_dts 900000\n", ch, id, started, ended > 0 ? ended : started + 12, ended, bytes);
	fclose(f);
	snprintf(p, sizeof p, "%s/%s/%s/index.m3u8", root, ch, id);
	assert_non_null(f = fopen(p, "w"));
	fprintf(f, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:%s\n"
		   "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.00000,\nseg0.m4s\n#EXT-X-ENDLIST\n", ended > 0 ? "VOD" : "EVENT");
	fclose(f);
	snprintf(p, sizeof p, "%s/%s/%s/seg0.m4s", root, ch, id);
	assert_non_null(f = fopen(p, "w"));
	for (long i = 0; i < bytes; i++)
		fputc('x', f);
	fclose(f);
}

static void settings_text(void **s)
{
	lsp_vod_settings v = { 0 };
	char err[128];
	(void)s;
	assert_int_equal(lsp_vod_settings_parse("record=on", &v, err, sizeof err), 0);
	assert_int_equal(v.record, 1);
	assert_int_equal(lsp_vod_settings_parse("retention=30d", &v, err, sizeof err), 0);
	assert_int_equal(v.retention_s, 30 * 86400);
	assert_int_equal(lsp_vod_settings_parse("retention=12h", &v, err, sizeof err), 0);
	assert_int_equal(v.retention_s, 12 * 3600);
	assert_int_equal(lsp_vod_settings_parse("retention=3600", &v, err, sizeof err), 0);
	assert_int_equal(v.retention_s, 3600);
	assert_int_equal(lsp_vod_settings_parse("maxsize=2G", &v, err, sizeof err), 0);
	assert_int_equal(v.max_bytes, 2LL << 30);
	assert_int_equal(lsp_vod_settings_parse("retention=off", &v, err, sizeof err), 0);
	assert_int_equal(v.retention_s, 0);
	assert_int_equal(lsp_vod_settings_parse("record=maybe", &v, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_vod_settings_parse("retention=3x", &v, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_vod_settings_parse("retention=-1", &v, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_vod_settings_parse("colour=red", &v, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_vod_settings_parse("record", &v, err, sizeof err), -EINVAL);
	assert_int_equal(v.record, 1); /* failures leave the rest alone */
}

static void settings_store(void **s)
{
	lsp_store *st = ((fx *)*s)->st;
	lsp_vod_settings v;
	char err[256];
	assert_int_equal(lsp_vod_settings_set(st, "nope", "record=on", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_store_channel_add(st, "demo", "h", err, sizeof err), 0);
	assert_int_equal(lsp_vod_settings_get(st, "demo", &v, err, sizeof err), 0);
	assert_int_equal(v.record, 0); /* no row: off, keep forever */
	assert_int_equal(v.retention_s, 0);
	assert_int_equal(lsp_vod_settings_set(st, "demo", "record=on", err, sizeof err), 0);
	assert_int_equal(lsp_vod_settings_set(st, "demo", "retention=30d", err, sizeof err), 0);
	assert_int_equal(lsp_vod_settings_set(st, "demo", "bogus=1", err, sizeof err), -EINVAL);
	assert_int_equal(lsp_vod_settings_get(st, "demo", &v, err, sizeof err), 0);
	assert_int_equal(v.record, 1);
	assert_int_equal(v.retention_s, 30 * 86400);
}

static int collect_ids(void *ctx, const lsp_vod_info *v)
{
	char *buf = ctx;
	strcat(buf, v->id);
	strcat(buf, ":");
	strcat(buf, v->state);
	strcat(buf, " ");
	return 0;
}

static void list_json_rm(void **s)
{
	char ids[512] = "", err[256], js[2048], lock[512];
	int fd, n;
	(void)s;
	assert_int_equal(lsp_vod_list(root, "demo", collect_ids, ids, err, sizeof err), 0); /* none yet */
	fake("demo", "20261126T083000Z", 1795681800, 1795681900, 10);
	fake("demo", "20261126T090000Z", 1795683600, 0, 20);
	fake("other", "20261126T090000Z", 1795683600, 1795683700, 30);
	assert_int_equal(lsp_vod_list(root, "demo", collect_ids, ids, err, sizeof err), 2);
	assert_string_equal(ids, "20261126T083000Z:done 20261126T090000Z:interrupted ");
	assert_int_equal(lsp_vod_list(root, NULL, NULL, NULL, err, sizeof err), 3);
	/* a held lock means "recording" */
	snprintf(lock, sizeof lock, "%s/demo/20261126T090000Z/.lock", root);
	assert_true((fd = open(lock, O_RDWR | O_CREAT, 0644)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_true(lsp_vod_json(root, "demo", js, sizeof js) > 0);
	assert_non_null(strstr(js, "[{\"id\":\"20261126T090000Z\",\"started\":1795683600,\"duration\":12.500,"));
	assert_non_null(strstr(js, "\"state\":\"recording\""));
	assert_non_null(strstr(js, "\"url\":\"/vod/demo/20261126T083000Z/index.m3u8\"}]"));
	assert_int_equal(lsp_vod_rm(root, "demo", "20261126T090000Z", err, sizeof err), -EBUSY);
	close(fd);
	assert_int_equal(lsp_vod_rm(root, "demo", "20261126T090000Z", err, sizeof err), 0);
	assert_int_equal(lsp_vod_rm(root, "demo", "20261126T090000Z", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_vod_rm(root, "demo", "../other", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_vod_json(root, "nochannel", js, sizeof js), 2);
	assert_string_equal(js, "[]");
	fake("demo", "20261126T100000Z", 1795687200, 1795687300, 5);
	n = lsp_vod_json(root, "demo", js, 200); /* the newest that fit */
	assert_int_equal(n, (int)strlen(js));
	assert_non_null(strstr(js, "[{\"id\":\"20261126T100000Z\""));
	assert_null(strstr(js, "20261126T083000Z"));
	assert_int_equal(js[strlen(js) - 1], ']');
	assert_int_equal(lsp_vod_json(root, "demo", js, 8), 2);
	assert_string_equal(js, "[]");
}

/* A deleted channel's recordings: gone from the listing at once, removed
 * (one being written is left under .purged/ for later), and a new owner
 * of the name starts with none (issue #20). */
static void purge(void **s)
{
	char ids[512] = "", err[256], lock[512];
	int fd;
	(void)s;
	assert_int_equal(lsp_vod_purge(root, "gone", err, sizeof err), 0); /* nothing there */
	fake("gone", "20261126T083000Z", 1795681800, 1795681900, 10);
	fake("gone", "20261126T090000Z", 1795683600, 1795683700, 10);
	fake("kept", "20261126T090000Z", 1795683600, 1795683700, 10);
	snprintf(lock, sizeof lock, "%s/gone/20261126T090000Z/.lock", root);
	assert_true((fd = open(lock, O_RDWR | O_CREAT, 0644)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(lsp_vod_purge(root, "gone", err, sizeof err), 1);
	close(fd);
	assert_int_equal(lsp_vod_list(root, "gone", collect_ids, ids, err, sizeof err), 0);
	assert_int_equal(lsp_vod_list(root, NULL, NULL, NULL, err, sizeof err), 1); /* "kept" only */
	assert_int_equal(lsp_vod_purge(root, "../kept", err, sizeof err), -EINVAL);
	/* the name registered again records into a fresh directory */
	fake("gone", "20261127T083000Z", 1795768200, 1795768300, 10);
	assert_int_equal(lsp_vod_list(root, "gone", NULL, NULL, err, sizeof err), 1);
}

static int nremoved;
static void on_removed(void *ctx, const lsp_vod_info *v, const char *why)
{
	(void)v;
	strcat(ctx, why);
	strcat(ctx, " ");
	nremoved++;
}

static void gc(void **s)
{
	lsp_store *st = ((fx *)*s)->st;
	char err[256], why[128] = "";
	double now = 1795700000;
	assert_int_equal(lsp_store_channel_add(st, "aged", "h", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(st, "big", "h", err, sizeof err), 0);
	fake("aged", "20261120T000000Z", now - 7 * 86400, now - 7 * 86400 + 60, 10); /* a week old */
	fake("aged", "20261126T000000Z", now - 3600, now - 3000, 10);                /* an hour old */
	fake("big", "20261126T010000Z", now - 300, now - 200, 3000);
	fake("big", "20261126T020000Z", now - 200, now - 100, 3000);
	fake("big", "20261126T030000Z", now - 100, now - 50, 3000);
	fake("keep", "20261101T000000Z", now - 30 * 86400, now - 30 * 86400, 10);   /* no settings */
	/* nothing set: nothing removed */
	assert_int_equal(lsp_vod_gc(root, st, now, on_removed, why, err, sizeof err), 0);
	assert_int_equal(lsp_vod_settings_set(st, "aged", "retention=2d", err, sizeof err), 0);
	assert_int_equal(lsp_vod_settings_set(st, "big", "maxsize=7K", err, sizeof err), 0);
	assert_int_equal(lsp_vod_gc(root, st, now, on_removed, why, err, sizeof err), 2);
	assert_string_equal(why, "age size ");
	assert_int_equal(lsp_vod_list(root, "aged", NULL, NULL, err, sizeof err), 1);
	assert_int_equal(lsp_vod_list(root, "big", NULL, NULL, err, sizeof err), 2);  /* the oldest went */
	assert_int_equal(lsp_vod_list(root, "keep", NULL, NULL, err, sizeof err), 1);
	assert_int_equal(lsp_vod_gc(root, st, now, NULL, NULL, err, sizeof err), 0);  /* idempotent */
}

static int get_state(void *ctx, const lsp_vod_info *v)
{
	strcat(ctx, v->state);
	strcat(ctx, " ");
	return 0;
}

static void gc_finalizes(void **s)
{
	char err[256], why[128] = "", states[128] = "", p[512], line[128];
	double now = 1795700000;
	FILE *f;
	int vod = 0;
	(void)s;
	fake("crashed", "20261126T000000Z", now - 7200, 0, 10);   /* died 2 h ago */
	fake("crashed", "20261126T050000Z", now - 600, 0, 10);    /* died 10 min ago: may be reopened */
	assert_int_equal(lsp_vod_gc(root, NULL, now, on_removed, why, err, sizeof err), 0);
	assert_string_equal(why, "finalized ");
	assert_int_equal(lsp_vod_list(root, "crashed", get_state, states, err, sizeof err), 2);
	assert_string_equal(states, "done interrupted ");
	snprintf(p, sizeof p, "%s/crashed/20261126T000000Z/index.m3u8", root);
	assert_non_null(f = fopen(p, "r"));
	while (fgets(line, sizeof line, f))
		vod += !strcmp(line, "#EXT-X-PLAYLIST-TYPE:VOD\n");
	fclose(f);
	assert_int_equal(vod, 1);
}

static void list_playlist(void **s)
{
	static const lsp_m3u8_item it[] = {
		{ "seg0.m4s", 4.0, 1767225600.0, 0, "init.mp4", 0 },
		{ "seg1.m4s", 4.4, 0, 0, NULL, 0 },
		{ "seg2.m4s", 2.0, 1767225700.5, 1, "init-1.mp4", 0 },
	};
	static const char want[] =
		"#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
		"#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n"
		"#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:4.00000,\nseg0.m4s\n"
		"#EXTINF:4.40000,\nseg1.m4s\n"
		"#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-1.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:40.500Z\n"
		"#EXTINF:2.00000,\nseg2.m4s\n#EXT-X-ENDLIST\n";
	char buf[1024];
	lsp_m3u8_list l = { "VOD", 1, 0, 0, it, 3, 1 };
	(void)s;
	assert_int_equal(lsp_m3u8_write_list(buf, sizeof buf, &l), (int)strlen(want));
	assert_string_equal(buf, want);
	l.type = NULL;
	l.ended = 0;
	l.seq = 7;
	l.items = it + 1;
	l.n = 1;
	l.min_target = 5;
	assert_true(lsp_m3u8_write_list(buf, sizeof buf, &l) > 0);
	assert_null(strstr(buf, "PLAYLIST-TYPE"));
	assert_null(strstr(buf, "ENDLIST"));
	assert_non_null(strstr(buf, "#EXT-X-TARGETDURATION:5\n#EXT-X-MEDIA-SEQUENCE:7\n"));
	assert_int_equal(lsp_m3u8_write_list(buf, 40, &l), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(settings_text),
		cmocka_unit_test_setup_teardown(settings_store, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(list_json_rm, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(gc, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(purge, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(gc_finalizes, setup, fx_teardown),
		cmocka_unit_test(list_playlist),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
