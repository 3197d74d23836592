/* test_tsin.c — lib/tsin: a missing input fails cleanly; the stream map starts empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsin.h"

static int never(void *opaque)
{
	(void)opaque;
	return 0;
}

static void missing_input(void **s)
{
	AVFormatContext *ic = (AVFormatContext *)1;
	char err[256] = "";
	(void)s;
	assert_true(lsp_tsin_open(&ic, "/nonexistent/lsp/in.ts", (AVIOInterruptCB){ never, NULL }, err, sizeof err) < 0);
	assert_null(ic);
	assert_true(strlen(err) > 0);
}

static void stream_map(void **s)
{
	AVFormatContext *ic = avformat_alloc_context();
	char err[64];
	int *map = NULL;
	(void)s;
	assert_non_null(ic);
	assert_int_equal(lsp_tsin_map(ic, &map, err, sizeof err), 0); /* no streams: still a table */
	assert_non_null(map);
	free(map);
	for (int i = 0; i < 3; i++)
		assert_non_null(avformat_new_stream(ic, NULL));
	assert_int_equal(lsp_tsin_map(ic, &map, err, sizeof err), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(map[i], -1);
	free(map);
	avformat_free_context(ic);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(missing_input), cmocka_unit_test(stream_map) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
