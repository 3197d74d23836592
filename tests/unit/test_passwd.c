/* Unit tests: lib/api/passwd.c — scrypt hashes: round trip, salt, parameters
 * read back from the stored string, malformed strings refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/passwd.h"

static void round_trip(void **s)
{
	char a[LSP_PASSWD_HASH_MAX], b[LSP_PASSWD_HASH_MAX];
	(void)s;
	assert_int_equal(lsp_passwd_hash("correct horse", 10, a, sizeof a), 0);
	assert_int_equal(lsp_passwd_hash("correct horse", 10, b, sizeof b), 0);
	assert_int_equal(strncmp(a, "scrypt$10$8$1$", 14), 0);
	assert_string_not_equal(a, b); /* a fresh salt each time */
	assert_int_equal(lsp_passwd_verify("correct horse", a), 1);
	assert_int_equal(lsp_passwd_verify("correct horse", b), 1);
	assert_int_equal(lsp_passwd_verify("correct horsf", a), 0);
	assert_int_equal(lsp_passwd_verify("", a), 0);
}

static void params_stored(void **s)
{
	char a[LSP_PASSWD_HASH_MAX], c[LSP_PASSWD_HASH_MAX];
	(void)s;
	assert_int_equal(lsp_passwd_hash("pw", 11, a, sizeof a), 0);
	assert_int_equal(strncmp(a, "scrypt$11$", 10), 0);
	/* the same salt and hash under another N no longer match */
	snprintf(c, sizeof c, "scrypt$12%s", a + 9);
	assert_int_equal(lsp_passwd_verify("pw", c), 0);
	assert_int_equal(lsp_passwd_verify("pw", a), 1);
}

static void malformed(void **s)
{
	char a[LSP_PASSWD_HASH_MAX];
	(void)s;
	assert_int_equal(lsp_passwd_hash("pw", 9, a, sizeof a), -EINVAL);
	assert_int_equal(lsp_passwd_hash("pw", 10, a, 20), -EINVAL);
	assert_int_equal(lsp_passwd_verify("pw", ""), -EINVAL);
	assert_int_equal(lsp_passwd_verify("pw", "plain"), -EINVAL);
	assert_int_equal(lsp_passwd_verify("pw", "scrypt$30$8$1$00$00"), -EINVAL);
	assert_int_equal(lsp_passwd_verify("pw", "scrypt$10$8$1$zz$zz"), -EINVAL);
	assert_int_equal(lsp_passwd_hash("pw", 10, a, sizeof a), 0);
	a[strlen(a) - 1] = 'g'; /* not hex */
	assert_int_equal(lsp_passwd_verify("pw", a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(params_stored),
		cmocka_unit_test(malformed),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
