/* Unit tests: lib/state/store.c over SQLite in a temp dir, or Postgres with
 * LSP_TEST_PG_URL (tests/unit/fixture.h; tests/integ/ctl.sh also runs
 * against a real server). */
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
#include "fixture.h"

static int count(void *ctx, const lsp_channel *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static void channels(void **s)
{
	fx *f = *s;
	lsp_store *st = f->st;
	lsp_channel c;
	char err[256];
	int n = 0;
	assert_string_equal(lsp_store_backend(st), f->url[0] ? "postgres" : "sqlite");
	assert_int_equal(lsp_store_schema_version(st), 28);
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
	f->st = NULL;
	/* reopen: data persists, migrations are not re-applied */
	assert_int_equal(fx_open(f, &f->st), 0);
	assert_int_equal(lsp_store_schema_version(f->st), 28);
	assert_int_equal(lsp_store_channel_list(f->st, NULL, NULL, err, sizeof err), 1);
}

static void bad_url(void **s)
{
	fx *f = *s;
	lsp_store *st = (lsp_store *)1;
	char err[256];
	assert_int_equal(lsp_store_open(&st, f->dir, "mysql://x", err, sizeof err), -EINVAL);
	assert_null(st);
	assert_int_equal(lsp_store_open(&st, "/proc/nonexistent/x", NULL, err, sizeof err), -EIO);
	assert_non_null(strstr(err, "unable to create"));
}

static void newer_schema(void **s)
{
	fx *f = *s;
	lsp_store *st = NULL;
	char err[256];
	assert_true(lsp_store_exec(f->st, "INSERT INTO schema_version (version) VALUES (99)", 0, NULL, NULL, NULL, err,
				   sizeof err) >= 0);
	assert_int_equal(fx_open(f, &st), -EPROTO);
	assert_null(st);
	assert_non_null(strstr(f->err, "newer"));
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
		cmocka_unit_test_setup_teardown(channels, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_url, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(newer_schema, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
