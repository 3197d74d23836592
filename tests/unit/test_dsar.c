/* Unit tests: lib/state/dsar.c over the fixture's store (SQLite in a temp
 * dir, or Postgres with LSP_TEST_PG_URL) — export gathers the user's rows,
 * erase removes or anonymises them in one transaction and writes an audit
 * row; the chat archive is idempotent. */
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
#include "fixture.h"

static void export_erase(void **s)
{
	fx *f = *s;
	lsp_store *st = f->st;
	lsp_tip_result r;
	char err[256], *out = NULL;
	long long bal;
	const char *ev1 = "{\"type\":\"say\",\"id\":\"m2\",\"channel\":\"stage\",\"user\":\"ben\","
			  "\"text\":\"hi ann\",\"ts\":1700000000000}",
		   *ev2 = "{\"type\":\"presence\",\"n\":3}", *ev3 = "{\"type\":\"say\"}";
	assert_int_equal(lsp_user_add(st, "ann", err, sizeof err), 0);
	assert_int_equal(lsp_user_add(st, "ben", err, sizeof err), 0);
	assert_int_equal(lsp_ledger_credit(st, "ann", 100, &bal, err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(st, "stage", "h", err, sizeof err), 0);
	assert_true(lsp_ledger_tip(st, "ann", "stage", 30, "k1", "yay", &r, err, sizeof err) >= 0);
	assert_int_equal(lsp_dsar_chat_add(st, "m1", "stage", "ann", "hello there", 10, err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_add(st, "m1", "stage", "ann", "hello there", 10, err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_event(st, ev1, strlen(ev1), err, sizeof err), 0);
	assert_int_equal(lsp_dsar_chat_event(st, ev2, strlen(ev2), err, sizeof err), 0);
	assert_true(lsp_dsar_chat_event(st, ev3, strlen(ev3), err, sizeof err) < 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages", NULL), 2);
	assert_int_equal(fx_count(f, "SELECT created_at FROM chat_messages WHERE id = 'm2'", NULL), 1700000000);

	assert_int_equal(lsp_dsar_export(st, "ann", "self", &out, err, sizeof err), 0);
	assert_non_null(strstr(out, "\"hello there\""));
	assert_non_null(strstr(out, "\"yay\""));
	assert_null(strstr(out, "hi ann")); /* ben's message is not ann's data */
	free(out);
	assert_int_equal(lsp_dsar_export(st, "nobody", "self", &out, err, sizeof err), -ENOENT);

	assert_int_equal(lsp_dsar_erase(st, "ann", "operator", err, sizeof err), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM users WHERE name = $1", "ann"), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages WHERE user_name = $1", "ann"), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages", NULL), 1);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM tips WHERE user_name = $1", "ann"), 0);
	assert_int_equal(fx_count(f, "SELECT amount FROM tips WHERE user_name LIKE 'erased-%'", NULL), 30);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM ledger_accounts WHERE name = $1", "user:ann"), 0);
	assert_int_equal(fx_count(f, "SELECT balance FROM ledger_accounts WHERE name LIKE 'user:erased-%'", NULL), 70);
	assert_int_equal(lsp_ledger_check(st, err, sizeof err), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM privacy_audit WHERE action = 'erase'", NULL), 1);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM privacy_audit WHERE subject LIKE '%ann%'", NULL), 0);
	assert_int_equal(lsp_dsar_erase(st, "ann", "operator", err, sizeof err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(export_erase, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
