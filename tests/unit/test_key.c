/* Unit tests: lib/core/key.c (names, key shape, hashing, constant-time check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/key.h"

static void names(void **s)
{
	(void)s;
	assert_true(lsp_name_valid("demo"));
	assert_true(lsp_name_valid("a-b_c-9"));
	assert_false(lsp_name_valid(""));
	assert_false(lsp_name_valid("Demo"));
	assert_false(lsp_name_valid("a.b"));
	assert_false(lsp_name_valid("a/b"));
	assert_false(lsp_name_valid(NULL));
	assert_false(lsp_name_valid("-x"));      /* would read as an option */
	assert_false(lsp_name_valid("--help"));
	assert_true(lsp_name_valid("_x"));
	assert_true(lsp_name_valid("x-"));
	char n64[65], n65[66];
	memset(n64, 'a', 64); n64[64] = 0;
	memset(n65, 'a', 65); n65[65] = 0;
	assert_true(lsp_name_valid(n64));
	assert_false(lsp_name_valid(n65));
}

static void new_and_check(void **s)
{
	char k1[LSP_KEY_MAX], k2[LSP_KEY_MAX], h[LSP_HASH_HEX], ch[LSP_NAME_MAX + 1];
	(void)s;
	assert_int_equal(lsp_key_new("my_chan", k1, sizeof k1), 0);
	assert_int_equal(lsp_key_new("my_chan", k2, sizeof k2), 0);
	assert_string_not_equal(k1, k2);
	assert_int_equal(strlen(k1), strlen("my_chan_") + 48);
	assert_int_equal(lsp_key_channel(k1, ch, sizeof ch), 0);
	assert_string_equal(ch, "my_chan");
	lsp_key_hash(k1, h);
	assert_int_equal(strlen(h), 64);
	assert_true(lsp_key_check(k1, h));
	assert_false(lsp_key_check(k2, h));
	assert_false(lsp_key_check(k1, ""));
	assert_false(lsp_key_check(k1, NULL));
	assert_int_equal(lsp_key_new("Bad", k1, sizeof k1), -1);
	assert_int_equal(lsp_key_new("ok", k1, 10), -1);
}

static void known_hash(void **s)
{
	char h[LSP_HASH_HEX];
	(void)s;
	lsp_key_hash("abc", h); /* SHA-256 test vector */
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void bad_keys(void **s)
{
	char ch[LSP_NAME_MAX + 1];
	(void)s;
	assert_int_equal(lsp_key_channel("nounderscore", ch, sizeof ch), -1);
	assert_int_equal(lsp_key_channel("_0123456789abcdef0123456789abcdef0123456789abcdef", ch, sizeof ch), -1);
	assert_int_equal(lsp_key_channel("x_0123", ch, sizeof ch), -1);
	assert_int_equal(lsp_key_channel("x_0123456789ABCDEF0123456789abcdef0123456789abcdef", ch, sizeof ch), -1);
	assert_int_equal(lsp_key_channel("X_0123456789abcdef0123456789abcdef0123456789abcdef", ch, sizeof ch), -1);
	assert_int_equal(lsp_key_channel("x_0123456789abcdef0123456789abcdef0123456789abcdef", ch, sizeof ch), 0);
	assert_int_equal(lsp_key_channel(NULL, ch, sizeof ch), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(names), cmocka_unit_test(new_and_check),
		cmocka_unit_test(known_hash), cmocka_unit_test(bad_keys),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
