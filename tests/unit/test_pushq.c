/* Unit tests: lib/push/pushq.c (upload order, bounds, drop reporting, delete
 * handling, scan order) and lsp_s3_backoff_ms / lsp_s3_retriable (lib/push/s3.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/pushq.h"
#include "push/s3.h"

static const char *next(lsp_pushq *q)
{
	static char last[LSP_PUSHQ_PATH];
	lsp_pushq_item *it = lsp_pushq_peek(q);
	if (!it)
		return NULL;
	strcpy(last, it->path);
	lsp_pushq_pop(q);
	return last;
}

static void media_before_playlists(void **s)
{
	lsp_pushq *q = lsp_pushq_new(16);
	(void)s;
	assert_non_null(q);
	assert_int_equal(lsp_pushq_add(q, "master.m3u8", 0, NULL), 0);
	assert_int_equal(lsp_pushq_add(q, "720p/seg0.0.m4s", 0, NULL), 0);
	assert_int_equal(lsp_pushq_add(q, "720p/index.m3u8", 0, NULL), 0);
	assert_int_equal(lsp_pushq_add(q, "720p/seg0.1.m4s", 0, NULL), 0);
	assert_int_equal(lsp_pushq_add(q, "720p/index.m3u8", 0, NULL), 0); /* dirty twice: once */
	assert_int_equal(lsp_pushq_add(q, "720p/seg0.0.m4s", 0, NULL), 0); /* waiting already */
	assert_int_equal(lsp_pushq_total(q), 4);
	assert_string_equal(next(q), "720p/seg0.0.m4s");
	assert_string_equal(next(q), "720p/seg0.1.m4s");
	assert_string_equal(next(q), "720p/index.m3u8"); /* rung before master */
	assert_int_equal(lsp_pushq_add(q, "720p/seg0.2.m4s", 0, NULL), 0);
	assert_string_equal(next(q), "720p/seg0.2.m4s"); /* new media jumps ahead of a waiting playlist */
	assert_string_equal(next(q), "master.m3u8");
	assert_null(next(q));
	lsp_pushq_free(q);
}

static void deletes_last_and_cancel(void **s)
{
	lsp_pushq *q = lsp_pushq_new(16);
	lsp_pushq_item d;
	(void)s;
	assert_int_equal(lsp_pushq_add(q, "r/seg0.m4s", 1, &d), 0);
	assert_int_equal(lsp_pushq_add(q, "r/seg5.m4s", 0, NULL), 0);
	assert_int_equal(lsp_pushq_add(q, "r/index.m3u8", 0, NULL), 0);
	/* a delete of a waiting upload cancels it and reports it */
	assert_int_equal(lsp_pushq_add(q, "r/seg5.m4s", 1, &d), 2);
	assert_string_equal(d.path, "r/seg5.m4s");
	assert_int_equal(d.kind, LSP_PUSHQ_MEDIA);
	assert_int_equal(lsp_pushq_count(q, LSP_PUSHQ_MEDIA), 0);
	assert_int_equal(lsp_pushq_count(q, LSP_PUSHQ_DELETE), 2);
	assert_string_equal(next(q), "r/index.m3u8");
	assert_int_equal(lsp_pushq_peek(q)->kind, LSP_PUSHQ_DELETE);
	assert_string_equal(next(q), "r/seg0.m4s");
	/* a re-upload cancels a waiting delete */
	assert_int_equal(lsp_pushq_add(q, "r/seg5.m4s", 0, NULL), 0);
	assert_int_equal(lsp_pushq_count(q, LSP_PUSHQ_DELETE), 0);
	assert_string_equal(next(q), "r/seg5.m4s");
	assert_null(next(q));
	lsp_pushq_free(q);
}

static void bound_drops_oldest(void **s)
{
	lsp_pushq *q = lsp_pushq_new(3);
	lsp_pushq_item d;
	char p[32];
	(void)s;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "seg%d.m4s", i);
		assert_int_equal(lsp_pushq_add(q, p, 0, &d), 0);
	}
	lsp_pushq_peek(q)->attempts = 4; /* the head was failing */
	assert_int_equal(lsp_pushq_add(q, "seg3.m4s", 0, &d), 1);
	assert_string_equal(d.path, "seg0.m4s");
	assert_int_equal(d.attempts, 4);
	assert_int_equal(lsp_pushq_add(q, "seg4.m4s", 0, &d), 1);
	assert_string_equal(d.path, "seg1.m4s");
	assert_string_equal(next(q), "seg2.m4s");
	assert_string_equal(next(q), "seg3.m4s");
	assert_string_equal(next(q), "seg4.m4s");
	assert_null(next(q));
	/* deletes have the same bound */
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "old%d.m4s", i);
		assert_int_equal(lsp_pushq_add(q, p, 1, &d), i < 3 ? 0 : 1);
	}
	assert_string_equal(d.path, "old0.m4s");
	char longp[LSP_PUSHQ_PATH + 10];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = 0;
	assert_int_equal(lsp_pushq_add(q, longp, 0, &d), -ENAMETOOLONG);
	assert_null(lsp_pushq_new(0));
	lsp_pushq_free(q);
}

static void scan_order(void **s)
{
	const char *v[] = { "src/seg10.m4s", "src/index.m3u8", "src/seg2.1.m4s", "src/seg2.m4s", "src/init.mp4",
			    "src/seg2.0.m4s", "src/seg10.0.m4s", "360p/seg1.m4s", "master.m3u8" };
	const char *want[] = { "master.m3u8", "360p/seg1.m4s", "src/init.mp4", "src/seg2.0.m4s", "src/seg2.1.m4s",
			       "src/seg2.m4s", "src/seg10.0.m4s", "src/seg10.m4s", "src/index.m3u8" };
	(void)s;
	qsort(v, sizeof v / sizeof v[0], sizeof v[0], lsp_pushq_scan_cmp);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_string_equal(v[i], want[i]);
	assert_int_equal(lsp_pushq_kind("a/b.m3u8"), LSP_PUSHQ_PLAYLIST);
	assert_int_equal(lsp_pushq_kind("a/b.m3u"), LSP_PUSHQ_MEDIA);
}

static void backoff(void **s)
{
	(void)s;
	for (int a = 1; a < 40; a++)
		for (uint32_t r = 0; r < 5000; r += 97) {
			long d = lsp_s3_backoff_ms(a, 200, 10000, r * 2654435761u);
			long full = 200L << (a - 1 < 10 ? a - 1 : 10);
			if (full > 10000)
				full = 10000;
			assert_true(d >= full / 2 && d <= full);
		}
	assert_int_equal(lsp_s3_backoff_ms(1, 200, 10000, 0), 100);
	assert_int_equal(lsp_s3_backoff_ms(1, 200, 10000, 100), 200);
	assert_true(lsp_s3_backoff_ms(1000000, 200, 10000, 12345) <= 10000);
	assert_true(lsp_s3_retriable(-EAGAIN));
	assert_false(lsp_s3_retriable(-EACCES));
	assert_false(lsp_s3_retriable(-EPROTO));
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(media_before_playlists), cmocka_unit_test(deletes_last_and_cancel),
		cmocka_unit_test(bound_drops_oldest),     cmocka_unit_test(scan_order),
		cmocka_unit_test(backoff),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
