/* Unit tests: lib/state/dsar.c over SQLite in a temp dir — export gathers the
 * user's rows, erase removes or anonymises them in one transaction and
 * writes an audit row; the chat archive is idempotent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/dsar.h"
#include "state/ledger.h"
#include "state/store.h"

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof dir, "/tmp/lsp-dsar-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	(void)s;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int row_int(void *ctx, int ncol, const char *const *v)
{
	if (ncol > 0 && v[0])
		*(int *)ctx = atoi(v[0]);
	return 1;
}

static int count(lsp_store *st, const char *sql, const char *p1)
{
	char err[256];
	int n = -1;
	const char *p[1] = { p1 };
	assert_true(lsp_store_exec(st, sql, p1 ? 1 : 0, p, row_int, &n, err, sizeof err) >= 0);
	return n;
}

static void export_erase(void **s)
{
	lsp_store *st;
	lsp_tip_result r;
	char err[256], *out = NULL;
	long long bal;
	const char *ev1 = "{\"type\":\"say\",\"id\":\"m2\",\"channel\":\"stage\",\"user\":\"ben\","
			  "\"text\":\"hi ann\",\"ts\":1700000000000}",
		   *ev2 = "{\"type\":\"presence\",\"n\":3}", *ev3 = "{\"type\":\"say\"}";
	(void)s;
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), 0);
	assert_int_equal(lsp_user_add(st, "ann", err, sizeof err), 0);
	assert_int_equal(lsp_user_add(st, "ben", err, sizeof err), 0);
	assert_int_equal(lsp_ledger_credit(st, "ann", 100, &bal, err, sizeof err), 0);
	assert_true(lsp_ledger_tip(st, "ann", "stage", 30, "k1", "yay", &r, err, sizeof err) >= 0);
	assert_int_equal(lsp_dsar_chat_add(st, "m1", "stage", "ann", "hello there", 10, err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_add(st, "m1", "stage", "ann", "hello there", 10, err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_event(st, ev1, strlen(ev1), err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_event(st, ev2, strlen(ev2), err, sizeof err), 0);
	assert_true(lsp_dsar_chat_event(st, ev3, strlen(ev3), err, sizeof err) < 0);
	assert_int_equal(count(st, "SELECT count(*) FROM chat_messages", NULL), 2);
	assert_int_equal(count(st, "SELECT created_at FROM chat_messages WHERE id = 'm2'", NULL), 1700000000);

	assert_int_equal(lsp_dsar_export(st, "ann", "self", &out, err, sizeof err), 0);
	assert_non_null(strstr(out, "\"hello there\""));
	assert_non_null(strstr(out, "\"yay\""));
	assert_null(strstr(out, "hi ann")); /* ben's message is not ann's data */
	free(out);
	assert_int_equal(lsp_dsar_export(st, "nobody", "self", &out, err, sizeof err), -ENOENT);

	assert_int_equal(lsp_dsar_erase(st, "ann", "operator", err, sizeof err), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM users WHERE name = $1", "ann"), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM chat_messages WHERE user_name = $1", "ann"), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM chat_messages", NULL), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM tips WHERE user_name = $1", "ann"), 0);
	assert_int_equal(count(st, "SELECT amount FROM tips WHERE user_name LIKE 'erased-%'", NULL), 30);
	assert_int_equal(count(st, "SELECT count(*) FROM ledger_accounts WHERE name = $1", "user:ann"), 0);
	assert_int_equal(count(st, "SELECT balance FROM ledger_accounts WHERE name LIKE 'user:erased-%'", NULL), 70);
	assert_int_equal(lsp_ledger_check(st, err, sizeof err), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM privacy_audit WHERE action = 'erase'", NULL), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM privacy_audit WHERE subject LIKE '%ann%'", NULL), 0);
	assert_int_equal(lsp_dsar_erase(st, "ann", "operator", err, sizeof err), -ENOENT);
	lsp_store_close(st);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(export_erase, setup, teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
