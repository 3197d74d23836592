/* test_pubtoken.c — WHIP publish tokens (lib/state/pubtoken.c): issue and
 * check round trip; expired, forged, wrong-key, chat tokens and a
 * suspended or missing channel are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "core/key.h"
#include "state/chanmeta.h"
#include "state/pubtoken.h"
#include "state/streamauth.h"
#include "state/token.h"

static const unsigned char SEC[] = "unit-test-secret";
#define SL (sizeof SEC - 1)

static int check(fx *f, const char *tok, long long now, char *ch, const char **why)
{
	char err[256];
	return lsp_pubtoken_check(f->st, SEC, SL, tok, now, ch, LSP_NAME_MAX + 1, why, err, sizeof err);
}

static void round_trip(void **state)
{
	fx *f = *state;
	char tok[LSP_TOKEN_MAX], ch[LSP_NAME_MAX + 1], hash[LSP_HASH_HEX];
	const char *why = NULL;
	lsp_key_hash("show_0000", hash);
	assert_int_equal(lsp_store_channel_add(f->st, "show", hash, f->err, sizeof f->err), 0);
	assert_int_equal(lsp_pubtoken_issue(SEC, SL, "ann", "show", 1000, tok, sizeof tok), 0);
	assert_true(lsp_pubtoken_like(tok));
	assert_false(lsp_pubtoken_like("show_0123"));
	assert_int_equal(check(f, tok, 999, ch, &why), LSP_STREAMAUTH_OK);
	assert_string_equal(ch, "show");
	assert_null(why);
	/* expired */
	assert_int_equal(check(f, tok, 1000, ch, &why), LSP_STREAMAUTH_UNKNOWN);
	assert_string_equal(why, "expired publish token");
	/* another secret */
	{
		char err[128];
		assert_int_equal(lsp_pubtoken_check(f->st, (const unsigned char *)"other", 5, tok, 999, ch, sizeof ch, &why,
						    err, sizeof err),
				 LSP_STREAMAUTH_UNKNOWN);
	}
	/* forged: one character of the MAC changed */
	tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(check(f, tok, 999, ch, &why), LSP_STREAMAUTH_UNKNOWN);
	/* a chat token with the owner role, signed with the plain secret, is not a publish token */
	{
		lsp_token t;
		memset(&t, 0, sizeof t);
		snprintf(t.user, sizeof t.user, "ann");
		snprintf(t.channel, sizeof t.channel, "show");
		t.role = LSP_ROLE_OWNER;
		t.exp = 1000;
		assert_int_equal(lsp_token_issue(SEC, SL, &t, tok, sizeof tok), 0);
		assert_int_equal(check(f, tok, 999, ch, &why), LSP_STREAMAUTH_UNKNOWN);
	}
	/* a suspended channel, and one that does not exist */
	assert_int_equal(lsp_pubtoken_issue(SEC, SL, "ann", "show", 1000, tok, sizeof tok), 0);
	assert_int_equal(lsp_chanmeta_suspend(f->st, "show", 1, f->err, sizeof f->err), 0);
	assert_int_equal(check(f, tok, 999, ch, &why), LSP_STREAMAUTH_SUSPENDED);
	assert_int_equal(lsp_pubtoken_issue(SEC, SL, "ann", "gone", 1000, tok, sizeof tok), 0);
	assert_int_equal(check(f, tok, 999, ch, &why), LSP_STREAMAUTH_UNKNOWN);
	/* bad input */
	assert_int_equal(lsp_pubtoken_issue(SEC, SL, "Bad!", "show", 1000, tok, sizeof tok), -EINVAL);
	assert_int_equal(lsp_pubtoken_issue(SEC, 0, "ann", "show", 1000, tok, sizeof tok), -EINVAL);
	assert_int_equal(check(f, "v1.garbage", 999, ch, &why), LSP_STREAMAUTH_UNKNOWN);
	assert_int_equal(check(f, "", 999, ch, &why), LSP_STREAMAUTH_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
