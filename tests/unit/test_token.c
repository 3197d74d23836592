/* Unit tests: lib/state/token.c — issue/verify, forgery, expiry, scope (the
 * reserved "-kid" scope included), and
 * lib/chat/chatmsg.c — message parsing limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chatmsg.h"
#include "state/token.h"

static const unsigned char key[] = "unit-test-secret";

static void roundtrip(void **s)
{
	lsp_token t = { .user = "alice", .channel = "*", .role = LSP_ROLE_MOD, .exp = 2000 }, r;
	char tok[LSP_TOKEN_MAX];
	(void)s;
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), 0);
	assert_int_equal(lsp_token_verify(key, sizeof key - 1, tok, strlen(tok), 1000, &r), 0);
	assert_string_equal(r.user, "alice");
	assert_int_equal(r.role, LSP_ROLE_MOD);
	assert_int_equal(r.exp, 2000);
	assert_true(lsp_token_allows(&r, "any"));
	assert_int_equal(lsp_token_verify(key, sizeof key - 1, tok, strlen(tok), 2000, &r), -ETIMEDOUT);
	/* another key, a flipped bit anywhere, truncation */
	assert_int_equal(lsp_token_verify((const unsigned char *)"other", 5, tok, strlen(tok), 1000, &r), -EINVAL);
	for (size_t i = 0; i < strlen(tok); i++) {
		char bad[LSP_TOKEN_MAX];
		strcpy(bad, tok);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(lsp_token_verify(key, sizeof key - 1, bad, strlen(bad), 1000, &r), 0);
	}
	assert_int_equal(lsp_token_verify(key, sizeof key - 1, tok, strlen(tok) - 1, 1000, &r), -EINVAL);
	t.role = LSP_ROLE_OWNER;
	strcpy(t.channel, "room");
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), 0);
	assert_int_equal(lsp_token_verify(key, sizeof key - 1, tok, strlen(tok), 1000, &r), 0);
	assert_true(lsp_token_allows(&r, "room"));
	assert_false(lsp_token_allows(&r, "hall"));
	/* a reserved scope (lsp-api's kid mode) is a valid token that allows no channel */
	strcpy(t.channel, "-kid");
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), 0);
	assert_int_equal(lsp_token_verify(key, sizeof key - 1, tok, strlen(tok), 1000, &r), 0);
	assert_string_equal(r.channel, "-kid");
	assert_false(lsp_token_allows(&r, "kid"));
	assert_false(lsp_token_allows(&r, "room"));
	assert_false(lsp_token_allows(&r, "-kid")); /* not even its own spelling (issue #20) */
	strcpy(t.channel, "-");
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), -EINVAL);
	strcpy(t.channel, "Room");
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), -EINVAL);
	strcpy(t.channel, "room");
	strcpy(t.user, "Bad|Name");
	assert_int_equal(lsp_token_issue(key, sizeof key - 1, &t, tok, sizeof tok), -EINVAL);
}

static void roles(void **s)
{
	(void)s;
	assert_int_equal(lsp_role_parse("owner"), LSP_ROLE_OWNER);
	assert_int_equal(lsp_role_parse("root"), -1);
	assert_string_equal(lsp_role_name(LSP_ROLE_VIEWER), "viewer");
}

static void messages(void **s)
{
	lsp_chatmsg m;
	char err[128], big[3000];
	(void)s;
#define P(str) lsp_chatmsg_parse(str, strlen(str), &m, err, sizeof err)
	assert_int_equal(P("{\"type\":\"say\",\"text\":\"hi\",\"ref\":\"r\"}"), LSP_CHAT_SAY);
	assert_string_equal(m.text, "hi");
	assert_string_equal(m.ref, "r");
	assert_int_equal(P("{\"type\":\"tip\",\"amount\":5,\"key\":\"k-1\"}"), LSP_CHAT_TIP);
	assert_int_equal(m.amount, 5);
	assert_int_equal(P("{\"type\":\"tip\",\"amount\":0,\"key\":\"k\"}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"tip\",\"amount\":1.5,\"key\":\"k\"}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"tip\",\"amount\":5,\"key\":\"a b\"}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"say\",\"text\":\"a\",\"text\":\"b\"}"), -EINVAL); /* duplicate key */
	assert_int_equal(P("{\"type\":\"say\",\"text\":\"a\\u0000b\"}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"dance\"}"), -ENOTSUP);
	assert_int_equal(P("[]"), -EINVAL);
	assert_int_equal(P("{\"type\":5}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"timeout\",\"user\":\"bob\",\"seconds\":60}"), LSP_CHAT_TIMEOUT);
	assert_int_equal(P("{\"type\":\"timeout\",\"user\":\"bob\"}"), -EINVAL);
	assert_int_equal(P("{\"type\":\"filter\",\"word\":\"x\",\"add\":false}"), LSP_CHAT_FILTER);
	assert_int_equal(m.add, 0);
	memset(big, 0, sizeof big);
	strcpy(big, "{\"type\":\"say\",\"text\":\"");
	memset(big + strlen(big), 'x', 501);
	strcat(big, "\"}");
	assert_int_equal(P(big), -EINVAL); /* 501 characters */
	assert_true(lsp_chat_word_match("a BadWord here", "badword"));
	assert_false(lsp_chat_word_match("fine", "badword"));
	assert_true(lsp_chatmsg_error(big, sizeof big, "x", "quote \" here", NULL) > 0);
	assert_non_null(strstr(big, "\\\""));
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(roundtrip), cmocka_unit_test(roles),
					cmocka_unit_test(messages) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
