/* Unit tests: lib/state/ledger.c and lib/state/modlog.c over SQLite in a temp
 * dir, or Postgres with LSP_TEST_PG_URL (tests/unit/fixture.h; also
 * tests/integ/chat_nodes.sh). */
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

#include "state/ledger.h"
#include "state/modlog.h"
#include "state/store.h"
#include "fixture.h"

static void ledger(void **s)
{
	lsp_store *st = ((fx *)*s)->st;
	lsp_tip_result r, r2;
	char err[256];
	long long bal = -1;
	assert_int_equal(lsp_ledger_durable(st, err, sizeof err), 0);
	assert_int_equal(lsp_user_add(st, "ann", err, sizeof err), 0);
	assert_int_equal(lsp_user_add(st, "ann", err, sizeof err), -EEXIST);
	assert_int_equal(lsp_user_add(st, "Not Ok", err, sizeof err), -EINVAL);
	assert_int_equal(lsp_user_exists(st, "ann", err, sizeof err), 1);
	assert_int_equal(lsp_user_exists(st, "zed", err, sizeof err), 0);
	assert_int_equal(lsp_ledger_credit(st, "ann", 100, &bal, err, sizeof err), 0);
	assert_int_equal(bal, 100);
	assert_int_equal(lsp_ledger_credit(st, "zed", 100, &bal, err, sizeof err), -ENOENT);
	/* tips go only to a registered, unsuspended channel (issue #20) */
	assert_int_equal(lsp_ledger_tip(st, "ann", "show", 30, "k0", "hi", &r, err, sizeof err), -ESRCH);
	assert_int_equal(lsp_store_channel_add(st, "show", "h", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(st, "gone", "h", err, sizeof err), 0);
	assert_int_equal(lsp_store_exec(st, "UPDATE channels SET suspended = 1 WHERE name = 'gone'", 0, NULL, NULL,
					NULL, err, sizeof err), 1);
	assert_int_equal(lsp_ledger_tip(st, "ann", "gone", 30, "k0", "hi", &r, err, sizeof err), -EPERM);
	assert_int_equal(lsp_ledger_balance(st, "channel:gone", &bal, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_ledger_balance(st, "user:ann", &bal, err, sizeof err), 0);
	assert_int_equal(bal, 100);
	assert_int_equal(lsp_ledger_tip(st, "ann", "show", 30, "k1", "hi", &r, err, sizeof err), 0);
	assert_int_equal(r.balance, 70);
	assert_int_equal(r.replay, 0);
	/* the same key again, even with another amount: the first result, no charge */
	assert_int_equal(lsp_ledger_tip(st, "ann", "show", 50, "k1", "hi", &r2, err, sizeof err), 1);
	assert_string_equal(r2.txn, r.txn);
	assert_int_equal(r2.amount, 30);
	assert_int_equal(r2.balance, 70);
	assert_int_equal(lsp_ledger_tip(st, "ann", "show", 71, "k2", "", &r, err, sizeof err), -ENOSPC);
	assert_int_equal(lsp_ledger_tip(st, "zed", "show", 1, "k3", "", &r, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_ledger_tip(st, "ann", "show", 70, "k2", "", &r, err, sizeof err), 0);
	assert_int_equal(r.balance, 0);
	assert_int_equal(lsp_ledger_balance(st, "channel:show", &bal, err, sizeof err), 0);
	assert_int_equal(bal, 100);
	assert_int_equal(lsp_ledger_balance(st, "channel:none", &bal, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_ledger_entries(st, "channel:show", 10, NULL, NULL, err, sizeof err), 2);
	assert_int_equal(lsp_ledger_check(st, err, sizeof err), 0);
	/* a tampered balance is found by the reconciliation */
	assert_true(lsp_store_exec(st, "UPDATE ledger_accounts SET balance = 5 WHERE name = 'user:ann'", 0, NULL, NULL,
				   NULL, err, sizeof err) == 1);
	assert_int_equal(lsp_ledger_check(st, err, sizeof err), 1);
	/* and the schema refuses a negative user balance outright */
	assert_true(lsp_store_exec(st, "UPDATE ledger_accounts SET balance = -1 WHERE name = 'user:ann'", 0, NULL,
				   NULL, NULL, err, sizeof err) < 0);
}

static int count_ban(void *ctx, const char *user, long long until)
{
	(void)user;
	(void)until;
	(*(int *)ctx)++;
	return 0;
}

static void moderation(void **s)
{
	lsp_store *st = ((fx *)*s)->st;
	char err[256];
	long long slow = -1;
	int n = 0;
	lsp_mod_action a = { LSP_MOD_BAN, "show", "mo", "bob", 0, "spam", 1000 };
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0);
	a.kind = LSP_MOD_TIMEOUT, a.target = "eve", a.seconds = 60;
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0);
	assert_int_equal(lsp_mod_bans(st, "show", 1030, count_ban, &n, err, sizeof err), 2);
	assert_int_equal(lsp_mod_bans(st, "show", 1061, NULL, NULL, err, sizeof err), 1); /* timeout over */
	a.kind = LSP_MOD_UNBAN, a.target = "bob";
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0);
	assert_int_equal(lsp_mod_bans(st, "show", 1030, NULL, NULL, err, sizeof err), 1);
	a.kind = LSP_MOD_SLOW, a.target = "", a.seconds = 10;
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0);
	assert_int_equal(lsp_mod_slow(st, "show", &slow, err, sizeof err), 0);
	assert_int_equal(slow, 10);
	a.kind = LSP_MOD_FILTER_ADD, a.target = "spoiler";
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0);
	assert_int_equal(lsp_mod_apply(st, &a, err, sizeof err), 0); /* idempotent */
	assert_int_equal(lsp_mod_words(st, "show", NULL, NULL, err, sizeof err), 1);
	assert_int_equal(lsp_mod_audit(st, "show", 100, NULL, NULL, err, sizeof err), 6);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(ledger, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(moderation, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
