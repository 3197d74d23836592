/* Unit tests: lib/state/store.c over SQLite in a temp dir (Postgres is covered by
 * tests/integ/ctl.sh against a real server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/store.h"

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof dir, "/tmp/lsp-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	(void)s;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count(void *ctx, const lsp_channel *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static void channels(void **s)
{
	lsp_store *st;
	lsp_channel c;
	char err[256];
	int n = 0;
	(void)s;
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), 0);
	assert_string_equal(lsp_store_backend(st), "sqlite");
	assert_int_equal(lsp_store_schema_version(st), 23);
	assert_int_equal(lsp_store_channel_add(st, "one", "aa", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(st, "one", "bb", err, sizeof err), -EEXIST);
	assert_int_equal(lsp_store_channel_add(st, "two", "cc", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_get(st, "one", &c, err, sizeof err), 0);
	assert_string_equal(c.key_hash, "aa");
	assert_true(c.created_at > 0);
	assert_int_equal(lsp_store_channel_set_key(st, "one", NULL, err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_get(st, "one", &c, err, sizeof err), 0);
	assert_string_equal(c.key_hash, "");
	assert_int_equal(lsp_store_channel_set_key(st, "nope", "x", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_store_channel_list(st, count, &n, err, sizeof err), 2);
	assert_int_equal(n, 2);
	assert_int_equal(lsp_store_channel_rm(st, "two", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_rm(st, "two", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_store_channel_get(st, "two", &c, err, sizeof err), -ENOENT);
	lsp_store_close(st);
	/* reopen: data persists, migrations are not re-applied */
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), 0);
	assert_int_equal(lsp_store_schema_version(st), 23);
	assert_int_equal(lsp_store_channel_list(st, NULL, NULL, err, sizeof err), 1);
	lsp_store_close(st);
}

static void bad_url(void **s)
{
	lsp_store *st = (lsp_store *)1;
	char err[256];
	(void)s;
	assert_int_equal(lsp_store_open(&st, dir, "mysql://x", err, sizeof err), -EINVAL);
	assert_null(st);
	assert_int_equal(lsp_store_open(&st, "/proc/nonexistent/x", NULL, err, sizeof err), -EIO);
	assert_non_null(strstr(err, "unable to create"));
}

static void newer_schema(void **s)
{
	lsp_store *st;
	char err[256];
	(void)s;
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), 0);
	assert_true(lsp_store_exec(st, "INSERT INTO schema_version (version) VALUES (99)", 0, NULL, NULL, NULL, err,
				   sizeof err) >= 0);
	lsp_store_close(st);
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), -EPROTO);
	assert_non_null(strstr(err, "newer"));
}

/* Column text to integer: NULL-safe, and defined where atoll is not. */
static void int_values(void **s)
{
	(void)s;
	assert_true(lsp_store_int(NULL) == 0);
	assert_true(lsp_store_int("") == 0);
	assert_true(lsp_store_int("42") == 42);
	assert_true(lsp_store_int("-7") == -7);
	assert_true(lsp_store_int("1700000000123") == 1700000000123LL);
	assert_true(lsp_store_int("99999999999999999999") == LLONG_MAX);
	assert_true(lsp_store_int("t") == 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(int_values),
		cmocka_unit_test_setup_teardown(channels, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_url, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema, setup, teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
