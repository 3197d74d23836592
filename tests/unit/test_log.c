/* Unit tests: lib/core/log.c — every line is one JSON object, escaped, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static char *capture(lsp_log_t *lg, FILE **f)
{
	static char buf[16384];
	size_t n;
	fflush(*f);
	rewind(*f);
	n = fread(buf, 1, sizeof buf - 1, *f);
	buf[n] = 0;
	fclose(*f);
	*f = NULL;
	(void)lg;
	return buf;
}

static void fields(void **s)
{
	lsp_log_t lg;
	FILE *f = tmpfile();
	char *out;
	(void)s;
	lsp_log_init(&lg, "lsp-test");
	lg.out = f;
	lsp_log(&lg, LSP_INFO, "hello \"world\"\n", "n", LSV_I(42), "s", LSV_S("a\\b\x01"), "ok", LSV_B(1),
		"r", LSV_D(1.5), NULL);
	lsp_log(&lg, LSP_DEBUG, "hidden", NULL);
	out = capture(&lg, &f);
	assert_non_null(strstr(out, "\"level\":\"info\",\"tool\":\"lsp-test\""));
	assert_non_null(strstr(out, "\"event\":\"hello \\\"world\\\"\\n\""));
	assert_non_null(strstr(out, "\"n\":42"));
	assert_non_null(strstr(out, "\"s\":\"a\\\\b\\u0001\""));
	assert_non_null(strstr(out, "\"ok\":true"));
	assert_non_null(strstr(out, "\"r\":1.500"));
	assert_null(strstr(out, "hidden"));
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_int_equal(out[strlen(out) - 2], '}');
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
}

static void truncation(void **s)
{
	lsp_log_t lg;
	FILE *f = tmpfile();
	char big[900];
	char *out;
	(void)s;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	lsp_log_init(&lg, "lsp-test");
	lg.out = f;
	lsp_log(&lg, LSP_WARN, "big", "a", LSV_S(big), "b", LSV_S(big), "c", LSV_S(big), "d", LSV_S(big),
		"e", LSV_S(big), "f", LSV_S(big), NULL);
	out = capture(&lg, &f);
	assert_true(strlen(out) <= 4096);
	assert_non_null(strstr(out, "\"truncated\":true}"));
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void escape_bounds(void **s)
{
	char b[8];
	(void)s;
	assert_int_equal(lsp_json_escape(b, sizeof b, "abc"), 3);
	assert_int_equal(lsp_json_escape(b, sizeof b, "abcdefghij"), -1);
	assert_int_equal(strlen(b), 7);
	assert_int_equal(lsp_json_escape(b, sizeof b, "\x01\x02"), -1);
}

static void level_env(void **s)
{
	lsp_log_t lg;
	(void)s;
	setenv("LSP_LOG_LEVEL", "warn", 1);
	lsp_log_init(&lg, "x");
	assert_int_equal(lg.level, LSP_WARN);
	unsetenv("LSP_LOG_LEVEL");
	lsp_log_init(&lg, "x");
	assert_int_equal(lg.level, LSP_INFO);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(fields), cmocka_unit_test(truncation),
					cmocka_unit_test(escape_bounds), cmocka_unit_test(level_env) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
