/* test_edgehold.c — lsp-edge's hold table (lib/edge/edge_hold.c) without
 * sockets: canned LL-HLS playlists published (write + rename, like the
 * packager) into a temp directory, blocking requests (_HLS_msn/_HLS_part)
 * and held parts put on it, inotify polled, deadlines passed by hand.
 * Checks what is answered now, what is held, what an update releases, what
 * is refused as too far ahead, and what times out with which status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge_int.h"

#define NOW 1000000 /* ms: any monotonic time */

typedef struct {
	edge_waiter *wt;
	int status;
	char file[256];
	char cache[64];
	char body[4096];
	int has_body;
} got_t;

typedef struct {
	char root[64];
	int dfd;
	edge_holds h;
	got_t got[16];
	int n;
} fix_t;

static void on_answer(void *ctx, edge_waiter *wt, const edge_answer *a)
{
	fix_t *f = ctx;
	got_t *g;
	assert_true(f->n < 16);
	assert_int_equal(wt->kind, H_NONE); /* off every list before the call */
	assert_null(wt->rel);
	g = &f->got[f->n++];
	memset(g, 0, sizeof *g);
	g->wt = wt;
	g->status = a->status;
	if (a->file)
		snprintf(g->file, sizeof g->file, "%s", a->file);
	if (a->b) {
		g->has_body = 1;
		snprintf(g->body, sizeof g->body, "%.*s", (int)a->b->len, a->b->data);
		snprintf(g->cache, sizeof g->cache, "%s", a->cache);
		edge_body_put(a->b);
	}
}

/* root/path, written to a temp name and renamed into place. */
static void publish(fix_t *f, const char *rel, const char *text)
{
	char p[512], t[520];
	FILE *fp;
	snprintf(p, sizeof p, "%s/%s", f->root, rel);
	snprintf(t, sizeof t, "%s.tmp", p);
	assert_non_null(fp = fopen(t, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(t, p), 0);
}

/* A live media playlist: sequence s, c whole segments, p parts of the open one. */
static void playlist(fix_t *f, const char *rel, long long s, int c, int p)
{
	char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof buf,
				    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.2\n"
				    "#EXT-X-MEDIA-SEQUENCE:%lld\n", s);
	for (int i = 0; i < c; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "#EXTINF:1.0,\nseg%lld.m4s\n", s + i);
	for (int i = 0; i < p; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "#EXT-X-PART:DURATION=0.2,URI=\"seg%lld.%d.m4s\"\n",
				      s + c, i);
	publish(f, rel, buf);
}

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof *f);
	char p[128], err[128];
	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/test_edgehold.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(p, sizeof p, "%s/ch", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/ch/720p", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/ch/240p", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_true((f->dfd = open(f->root, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(edge_holds_init(&f->h, f->root, f->dfd, 1000, on_answer, f, err, sizeof err), 0);
	playlist(f, "ch/720p/index.m3u8", 7, 1, 2); /* open segment 8, parts 8.0 8.1 */
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	fix_t *f = *state;
	edge_holds_fini(&f->h);
	close(f->dfd);
	assert_int_equal(nftw(f->root, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static int ask(fix_t *f, edge_waiter *wt, long long msn, long long part, edge_answer *a)
{
	return edge_hold_playlist(&f->h, wt, "ch/720p/index.m3u8", msn, part, NOW, a);
}

static void t_answered_now(void **state)
{
	fix_t *f = *state;
	edge_waiter wt = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &wt, 7, -1, &a), 1); /* a whole segment listed */
	assert_int_equal(a.status, 200);
	assert_non_null(a.b);
	assert_non_null(strstr(a.b->data, "seg8.1.m4s"));
	assert_string_equal(a.cache, "public, max-age=6");
	edge_body_put(a.b);
	assert_int_equal(ask(f, &wt, 8, 1, &a), 1); /* a part listed */
	assert_int_equal(a.status, 200);
	edge_body_put(a.b);
	assert_int_equal(wt.kind, H_NONE);
	assert_int_equal(f->h.held, 0);
	assert_int_equal(f->h.total, 0);
}

static void t_too_far_and_missing(void **state)
{
	fix_t *f = *state;
	edge_waiter wt = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &wt, 10, -1, &a), 1); /* two segments past the open one */
	assert_int_equal(a.status, 400);
	assert_null(a.b);
	assert_int_equal(ask(f, &wt, 8, 100, &a), 1); /* a part no segment holds */
	assert_int_equal(a.status, 400);
	assert_int_equal(edge_hold_playlist(&f->h, &wt, "ch/720p/nope.m3u8", 1, -1, NOW, &a), 1);
	assert_int_equal(a.status, 404);
	assert_int_equal(edge_hold_playlist(&f->h, &wt, "nochan/720p/index.m3u8", 1, -1, NOW, &a), 1);
	assert_int_equal(a.status, 404);
	assert_int_equal(f->h.held, 0);
	assert_int_equal(f->n, 0);
}

static void t_held_until_advance(void **state)
{
	fix_t *f = *state;
	edge_waiter w1 = { 0 }, w2 = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &w1, 8, 2, &a), 0); /* the next part */
	assert_int_equal(ask(f, &w2, 9, -1, &a), 0); /* the next segment but one */
	assert_int_equal(w1.kind, H_PLAYLIST);
	assert_int_equal(w1.deadline, NOW + 3000); /* 3 target durations */
	assert_int_equal(f->h.held, 2);
	assert_int_equal(f->h.total, 2);
	assert_int_equal(f->h.nwatches, 1); /* both on the rung directory */

	edge_holds_poll(&f->h); /* nothing changed */
	assert_int_equal(f->n, 0);
	publish(f, "ch/720p/seg8.2.m4s", "part"); /* not the playlist */
	playlist(f, "ch/720p/index.m3u8", 7, 1, 2); /* unchanged playlist */
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 0);

	playlist(f, "ch/720p/index.m3u8", 7, 1, 3); /* part 8.2 is out */
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 1);
	assert_ptr_equal(f->got[0].wt, &w1);
	assert_int_equal(f->got[0].status, 200);
	assert_true(f->got[0].has_body);
	assert_non_null(strstr(f->got[0].body, "URI=\"seg8.2.m4s\""));
	assert_string_equal(f->got[0].cache, "public, max-age=6");
	assert_int_equal(f->h.held, 1);

	playlist(f, "ch/720p/index.m3u8", 7, 2, 0); /* segment 8 done: 9 open */
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 1);
	playlist(f, "ch/720p/index.m3u8", 7, 3, 0); /* segment 9 done */
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 2);
	assert_ptr_equal(f->got[1].wt, &w2);
	assert_int_equal(f->got[1].status, 200);
	assert_non_null(strstr(f->got[1].body, "seg9.m4s"));
	assert_int_equal(f->h.held, 0);
	assert_int_equal(f->h.timeouts, 0);
}

static void t_not_a_playlist_yet(void **state)
{
	fix_t *f = *state;
	edge_waiter wt = { 0 };
	edge_answer a;

	publish(f, "ch/240p/index.m3u8", "half written\n");
	assert_int_equal(edge_hold_playlist(&f->h, &wt, "ch/240p/index.m3u8", 0, -1, NOW, &a), 0);
	assert_int_equal(wt.deadline, NOW + 6000); /* no target duration known */
	playlist(f, "ch/240p/index.m3u8", 0, 1, 0);
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->got[0].status, 200);
}

static void t_endlist(void **state)
{
	fix_t *f = *state;
	edge_waiter wt = { 0 };
	edge_answer a;

	publish(f, "ch/240p/vod.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.m4s\n#EXT-X-ENDLIST\n");
	assert_int_equal(edge_hold_playlist(&f->h, &wt, "ch/240p/vod.m3u8", 5, -1, NOW, &a), 1);
	assert_int_equal(a.status, 200);
	edge_body_put(a.b);
}

static void t_part(void **state)
{
	fix_t *f = *state;
	edge_waiter w1 = { 0 }, w2 = { 0 };
	edge_answer a;

	assert_int_equal(edge_hold_part(&f->h, &w1, "ch/720p/seg8.3.m4s", NOW, &a), 0);
	assert_int_equal(edge_hold_part(&f->h, &w2, "ch/720p/seg8.4.m4s", NOW, &a), 0);
	assert_int_equal(w1.kind, H_PART);
	assert_int_equal(w1.deadline, NOW + 1000); /* part_hold_ms */
	publish(f, "ch/720p/seg8.3.m4s", "bytes of 8.3");
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 1);
	assert_ptr_equal(f->got[0].wt, &w1);
	assert_int_equal(f->got[0].status, 200);
	assert_string_equal(f->got[0].file, "ch/720p/seg8.3.m4s");
	assert_false(f->got[0].has_body);
	assert_int_equal(f->h.held, 1);

	/* already there: answered with the file; no directory: 404 */
	assert_int_equal(edge_hold_part(&f->h, &w1, "ch/720p/seg8.3.m4s", NOW, &a), 1);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.file, "ch/720p/seg8.3.m4s");
	assert_int_equal(edge_hold_part(&f->h, &w1, "ch/nope/seg0.0.m4s", NOW, &a), 1);
	assert_int_equal(a.status, 404);
	assert_int_equal(w1.kind, H_NONE);
	edge_hold_drop(&f->h, &w2); /* it lives on this stack */
	assert_int_equal(f->h.held, 0);
}

static void t_timeouts(void **state)
{
	fix_t *f = *state;
	edge_waiter pl = { 0 }, part = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &pl, 8, 2, &a), 0);
	assert_int_equal(edge_hold_part(&f->h, &part, "ch/720p/seg8.2.m4s", NOW, &a), 0);
	edge_holds_expire(&f->h, NOW + 999);
	assert_int_equal(f->n, 0);
	edge_holds_expire(&f->h, NOW + 1000); /* the part never came: 404 */
	assert_int_equal(f->n, 1);
	assert_ptr_equal(f->got[0].wt, &part);
	assert_int_equal(f->got[0].status, 404);
	assert_int_equal(f->h.timeouts, 1);
	edge_holds_expire(&f->h, NOW + 2999);
	assert_int_equal(f->n, 1);
	edge_holds_expire(&f->h, NOW + 3000); /* the playlist did not move: 503 */
	assert_int_equal(f->n, 2);
	assert_ptr_equal(f->got[1].wt, &pl);
	assert_int_equal(f->got[1].status, 503);
	assert_false(f->got[1].has_body);
	assert_int_equal(f->h.timeouts, 2);
	assert_int_equal(f->h.held, 0);
	/* answered ones stay answered */
	playlist(f, "ch/720p/index.m3u8", 7, 1, 3);
	edge_holds_poll(&f->h);
	edge_holds_expire(&f->h, NOW + 10000);
	assert_int_equal(f->n, 2);
}

static void t_drop(void **state)
{
	fix_t *f = *state;
	edge_waiter w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &w1, 8, 2, &a), 0);
	assert_int_equal(ask(f, &w2, 8, 2, &a), 0);
	assert_int_equal(ask(f, &w3, 8, 2, &a), 0);
	edge_hold_drop(&f->h, &w2); /* the middle of the list: the viewer went away */
	edge_hold_drop(&f->h, &w2); /* twice is nothing */
	assert_int_equal(w2.kind, H_NONE);
	assert_int_equal(f->h.held, 2);
	playlist(f, "ch/720p/index.m3u8", 7, 1, 3);
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 2);
	assert_true(f->got[0].wt != &w2 && f->got[1].wt != &w2);
	assert_int_equal(f->h.held, 0);
}

static void t_directory_gone(void **state)
{
	fix_t *f = *state;
	edge_waiter w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	edge_answer a;
	char p[256];

	assert_int_equal(edge_hold_part(&f->h, &w1, "ch/240p/seg0.0.m4s", NOW, &a), 0);
	assert_int_equal(ask(f, &w2, 8, 2, &a), 0);
	assert_int_equal(f->h.nwatches, 2);
	snprintf(p, sizeof p, "%s/ch/240p", f->root);
	assert_int_equal(rmdir(p), 0);
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 1);
	assert_ptr_equal(f->got[0].wt, &w1);
	assert_int_equal(f->got[0].status, 404);
	assert_int_equal(f->h.nwatches, 1); /* its watch is gone, the other kept */
	assert_ptr_equal(w2.w, &f->h.watches[0]);
	assert_int_equal(ask(f, &w3, 8, 2, &a), 0);
	assert_int_equal(f->h.nwatches, 1);
	playlist(f, "ch/720p/index.m3u8", 7, 1, 3);
	edge_holds_poll(&f->h);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->h.held, 0);
}

static void t_fini_drops(void **state)
{
	fix_t *f = *state;
	edge_waiter w1 = { 0 };
	edge_answer a;

	assert_int_equal(ask(f, &w1, 8, 2, &a), 0);
	edge_holds_fini(&f->h); /* frees w1's copy; answers nobody */
	assert_int_equal(w1.kind, H_NONE);
	assert_null(w1.rel);
	assert_int_equal(f->n, 0);
	edge_holds_fini(&f->h); /* teardown's second one is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_answered_now, setup, teardown),
		cmocka_unit_test_setup_teardown(t_too_far_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(t_held_until_advance, setup, teardown),
		cmocka_unit_test_setup_teardown(t_not_a_playlist_yet, setup, teardown),
		cmocka_unit_test_setup_teardown(t_endlist, setup, teardown),
		cmocka_unit_test_setup_teardown(t_part, setup, teardown),
		cmocka_unit_test_setup_teardown(t_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(t_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(t_directory_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fini_drops, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
