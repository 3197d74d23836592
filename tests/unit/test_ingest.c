/* test_ingest — the pure parts of lib/ingest: {channel} template expansion
 * (used for -o and --exec) and its bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/ingest.h"

static void test_expand(void **st)
{
	char out[64];
	(void)st;
	assert_int_equal(lsp_ingest_expand("/srv/{channel}.ts", "alpha", out, sizeof out), 0);
	assert_string_equal(out, "/srv/alpha.ts");
	assert_int_equal(lsp_ingest_expand("a {channel} b {channel}", "x", out, sizeof out), 0);
	assert_string_equal(out, "a x b x");
	assert_int_equal(lsp_ingest_expand("no template", "x", out, sizeof out), 0);
	assert_string_equal(out, "no template");
	assert_int_equal(lsp_ingest_expand("{chan}{channel", "x", out, sizeof out), 0);
	assert_string_equal(out, "{chan}{channel");
	assert_int_equal(lsp_ingest_expand("", "x", out, sizeof out), 0);
	assert_string_equal(out, "");
}

static void test_expand_bounds(void **st)
{
	char out[8];
	(void)st;
	assert_int_equal(lsp_ingest_expand("{channel}", "1234567", out, sizeof out), 0);
	assert_string_equal(out, "1234567");
	assert_int_equal(lsp_ingest_expand("{channel}", "12345678", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(lsp_ingest_expand("12345678", "", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(lsp_ingest_expand("x", "", out, 0), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
