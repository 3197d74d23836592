/* Unit tests: lib/core/opt.c (strict numbers, host:port). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/opt.h"

static void numbers(void **s)
{
	long v = 7;
	double d = 0;
	(void)s;
	assert_int_equal(lsp_opt_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(lsp_opt_long("101", 0, 100, &v), -1);
	assert_int_equal(lsp_opt_long("-1", 0, 100, &v), -1);
	assert_int_equal(lsp_opt_long("4x", 0, 100, &v), -1);
	assert_int_equal(lsp_opt_long("", 0, 100, &v), -1);
	assert_int_equal(lsp_opt_long("99999999999999999999", 0, 100, &v), -1);
	assert_int_equal(v, 42);
	assert_int_equal(lsp_opt_double("0.2", 0.05, 5, &d), 0);
	assert_true(d > 0.19 && d < 0.21);
	assert_int_equal(lsp_opt_double("nan", 0, 5, &d), -1);
	assert_int_equal(lsp_opt_double("9", 0, 5, &d), -1);
}

static void hostport(void **s)
{
	char h[64];
	int p = 0;
	(void)s;
	assert_int_equal(lsp_opt_hostport(":1935", "0.0.0.0", h, sizeof h, &p), 0);
	assert_string_equal(h, "0.0.0.0");
	assert_int_equal(p, 1935);
	assert_int_equal(lsp_opt_hostport("8080", "127.0.0.1", h, sizeof h, &p), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(lsp_opt_hostport("127.0.0.1:80", "x", h, sizeof h, &p), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(lsp_opt_hostport("[::1]:443", "x", h, sizeof h, &p), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(p, 443);
	assert_int_equal(lsp_opt_hostport("host:99999", "x", h, sizeof h, &p), -1);
	assert_int_equal(lsp_opt_hostport("[::1]443", "x", h, sizeof h, &p), -1);
	assert_int_equal(lsp_opt_hostport("averyveryverylonghostname:1", "x", h, 8, &p), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(numbers), cmocka_unit_test(hostport) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
