/* Unit tests: lib/state/account.c and lib/state/session.c over the
 * fixture's store (SQLite, or Postgres with LSP_TEST_PG_URL): sign-in
 * columns, profiles, roles; sessions found while live, gone when removed,
 * expired or swept, and a repeated hash kept once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "state/account.h"
#include "state/ledger.h"
#include "state/session.h"
#include "fixture.h"

static void accounts(void **s)
{
	fx *f = *s;
	lsp_account a;
	char hash[64], err[256];
	assert_int_equal(lsp_user_add(f->st, "ann", err, sizeof err), 0);
	/* a user made by lsp-ctl has no password: not one to sign in as */
	assert_int_equal(lsp_account_login(f->st, "ann", hash, sizeof hash, &a, err, sizeof err), 0);
	assert_string_equal(hash, "");
	assert_int_equal(lsp_account_login(f->st, "nobody", hash, sizeof hash, &a, err, sizeof err), 0);
	assert_int_equal(lsp_account_set_login(f->st, "ann", "scrypt$x", "creator", 1, err, sizeof err), 0);
	assert_int_equal(lsp_account_login(f->st, "ann", hash, sizeof hash, &a, err, sizeof err), 1);
	assert_string_equal(hash, "scrypt$x");
	assert_string_equal(a.name, "ann");
	assert_string_equal(a.role, "creator");
	assert_int_equal(a.kid, 1);
	/* the profile */
	assert_int_equal(lsp_account_get(f->st, "ann", &a, err, sizeof err), 1);
	assert_string_equal(a.name, "ann");
	assert_string_equal(a.role, "creator");
	assert_true(a.created_at > 1600000000);
	assert_int_equal(lsp_account_get(f->st, "nobody", &a, err, sizeof err), 0);
	/* roles */
	assert_int_equal(lsp_account_set_role(f->st, "ann", "admin", err, sizeof err), 0);
	assert_int_equal(lsp_account_get(f->st, "ann", &a, err, sizeof err), 1);
	assert_string_equal(a.role, "admin");
	assert_int_equal(lsp_account_set_role(f->st, "nobody", "admin", err, sizeof err), -ENOENT);
	assert_string_equal(err, "no user nobody");
}

static void sessions(void **s)
{
	fx *f = *s;
	lsp_account a;
	char err[256];
	assert_int_equal(lsp_user_add(f->st, "bob", err, sizeof err), 0);
	assert_int_equal(lsp_account_set_login(f->st, "bob", "h", "mod", 0, err, sizeof err), 0);
	assert_int_equal(lsp_session_add(f->st, "aa", "bob", 1000, 2000, err, sizeof err), 0);
	assert_int_equal(lsp_session_add(f->st, "aa", "bob", 1000, 9000, err, sizeof err), 0); /* kept once */
	assert_int_equal(lsp_session_add(f->st, "bb", "bob", 1000, 5000, err, sizeof err), 0);
	assert_int_equal(lsp_session_add(f->st, "cc", "ghost", 1000, 5000, err, sizeof err), 0);
	assert_int_equal(lsp_session_user(f->st, "aa", 1999, &a, err, sizeof err), 1);
	assert_string_equal(a.name, "bob");
	assert_string_equal(a.role, "mod");
	assert_int_equal(a.kid, 0);
	assert_int_equal(lsp_session_user(f->st, "aa", 2000, &a, err, sizeof err), 0); /* expired (the first row kept) */
	assert_string_equal(a.name, "");
	assert_int_equal(lsp_session_user(f->st, "cc", 1500, &a, err, sizeof err), 0); /* no such user */
	assert_int_equal(lsp_session_user(f->st, "zz", 1500, &a, err, sizeof err), 0);
	/* sign-out, then the sweep of what expired */
	assert_int_equal(lsp_session_rm(f->st, "bb", err, sizeof err), 0);
	assert_int_equal(lsp_session_rm(f->st, "bb", err, sizeof err), 0);
	assert_int_equal(lsp_session_user(f->st, "bb", 1500, &a, err, sizeof err), 0);
	assert_int_equal(lsp_session_sweep(f->st, 2000, err, sizeof err), 1); /* aa */
	assert_int_equal(lsp_session_sweep(f->st, 2000, err, sizeof err), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM sessions", NULL), 1); /* cc */
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(accounts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(sessions, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
