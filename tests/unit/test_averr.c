/* test_averr.c — lib/averr: "what: reason" messages, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include <libavutil/error.h>

#include "media/averr.h"

static void averr_message(void **s)
{
	char e[64];
	(void)s;
	assert_int_equal(lsp_averr(e, sizeof e, "open decoder", AVERROR(ENOMEM)), AVERROR(ENOMEM));
	assert_string_equal(e, "open decoder: Cannot allocate memory");
	assert_int_equal(lsp_averr(e, 8, "a long what", AVERROR_EOF), AVERROR_EOF);
	assert_int_equal(strlen(e), 7); /* truncated, still terminated */
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(averr_message) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
