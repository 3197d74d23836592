/* Unit tests: lib/bus/revoke.c — the revocation event lsp-api and lsp-ctl
 * publish on lsp.auth.revoke and lsp-chat parses: built, parsed back, and
 * every malformed message refused with a reason, r left zeroed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bus/revoke.h"
#include "bus/subjects.h"

static void subject(void **st)
{
	(void)st;
	assert_string_equal(LSP_SUBJ_REVOKE, "lsp.auth.revoke");
	assert_true(strchr(LSP_SUBJ_REVOKE, '*') == NULL && strchr(LSP_SUBJ_REVOKE, '>') == NULL);
}

static void build(void **st)
{
	lsp_revoke r;
	char b[LSP_REVOKE_MSG_MAX];
	int n;
	(void)st;
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, "mo", NULL, "viewer"), 0);
	n = lsp_revoke_json(b, sizeof b, &r);
	assert_int_equal(n, (int)strlen(b));
	assert_string_equal(b, "{\"reason\":\"role\",\"user\":\"mo\",\"role\":\"viewer\"}");
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ERASED, "bob", "", NULL), 0);
	lsp_revoke_json(b, sizeof b, &r);
	assert_string_equal(b, "{\"reason\":\"erased\",\"user\":\"bob\"}");
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_CHANNEL_SUSPENDED, NULL, "demo", NULL), 0);
	lsp_revoke_json(b, sizeof b, &r);
	assert_string_equal(b, "{\"reason\":\"channel_suspended\",\"channel\":\"demo\"}");
	/* the longest event fits LSP_REVOKE_MSG_MAX; a short buffer is -ENOSPC */
	{
		char u[LSP_NAME_MAX + 1], c[LSP_NAME_MAX + 1];
		memset(u, 'u', LSP_NAME_MAX);
		u[LSP_NAME_MAX] = 0;
		memset(c, 'c', LSP_NAME_MAX);
		c[LSP_NAME_MAX] = 0;
		assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_CHANNEL_OWNER, u, c, NULL), 0);
		assert_true(lsp_revoke_json(b, sizeof b, &r) > 0);
		assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, u, c, "creator"), 0);
		assert_true(lsp_revoke_json(b, sizeof b, &r) > 0);
		assert_int_equal(lsp_revoke_json(b, 20, &r), -ENOSPC);
	}
}

static void refuse_make(void **st)
{
	lsp_revoke r;
	char b[LSP_REVOKE_MSG_MAX];
	(void)st;
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_NONE, "a", "b", NULL), -EINVAL);
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, NULL, "b", NULL), -EINVAL);   /* needs a user */
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ERASED, "", NULL, NULL), -EINVAL);
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_CHANNEL_DELETED, "a", NULL, NULL), -EINVAL); /* a channel */
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, "A.b", NULL, NULL), -EINVAL); /* not a name */
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_CHANNEL_DELETED, NULL, "x\"y", NULL), -EINVAL);
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, "a", NULL, "king"), -EINVAL);
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ERASED, "a", NULL, "mod"), -EINVAL); /* role: "role" only */
	assert_int_equal(r.reason, LSP_REVOKE_NONE);
	assert_string_equal(r.user, "");
	memset(&r, 0, sizeof r);
	assert_int_equal(lsp_revoke_json(b, sizeof b, &r), -EINVAL);
}

static void parse(void **st)
{
	lsp_revoke r;
	char err[128];
	const char *m = "{\"reason\":\"role\",\"user\":\"mo\",\"role\":\"viewer\",\"extra\":[1,{}]}";
	(void)st;
	assert_int_equal(lsp_revoke_parse(m, strlen(m), &r, err, sizeof err), 0);
	assert_int_equal(r.reason, LSP_REVOKE_ROLE);
	assert_string_equal(r.user, "mo");
	assert_string_equal(r.role, "viewer");
	assert_string_equal(r.channel, "");
	m = "{\"channel\":\"demo\",\"reason\":\"channel_deleted\"}";
	assert_int_equal(lsp_revoke_parse(m, strlen(m), &r, err, sizeof err), 0);
	assert_int_equal(r.reason, LSP_REVOKE_CHANNEL_DELETED);
	assert_string_equal(r.channel, "demo");
	/* not NUL-terminated: only len bytes count */
	m = "{\"reason\":\"erased\",\"user\":\"bob\"}GARBAGE";
	assert_int_equal(lsp_revoke_parse(m, strlen(m) - 7, &r, err, sizeof err), 0);
	assert_string_equal(r.user, "bob");
}

static void round_trip(void **st)
{
	static const lsp_revoke_reason k[] = { LSP_REVOKE_ROLE, LSP_REVOKE_ERASED, LSP_REVOKE_CHANNEL_SUSPENDED,
					       LSP_REVOKE_CHANNEL_DELETED, LSP_REVOKE_CHANNEL_OWNER };
	lsp_revoke r, p;
	char b[LSP_REVOKE_MSG_MAX], err[128];
	(void)st;
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		int n;
		assert_int_equal(lsp_revoke_make(&r, k[i], "user-1", "chan_2", k[i] == LSP_REVOKE_ROLE ? "mod" : NULL), 0);
		assert_true((n = lsp_revoke_json(b, sizeof b, &r)) > 0);
		assert_int_equal(lsp_revoke_parse(b, (size_t)n, &p, err, sizeof err), 0);
		assert_memory_equal(&r, &p, sizeof r);
		assert_int_equal(lsp_revoke_reason_parse(lsp_revoke_reason_name(k[i])), k[i]);
	}
	assert_null(lsp_revoke_reason_name(LSP_REVOKE_NONE));
	assert_int_equal(lsp_revoke_reason_parse("revoke"), LSP_REVOKE_NONE);
	assert_int_equal(lsp_revoke_reason_parse(NULL), LSP_REVOKE_NONE);
}

static void refuse_parse(void **st)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"\"erased\"",
		"{}",
		"{\"reason\":\"nuke\",\"user\":\"a\"}",
		"{\"reason\":7,\"user\":\"a\"}",
		"{\"reason\":\"erased\"}",                                  /* no user */
		"{\"reason\":\"channel_suspended\",\"user\":\"a\"}",       /* no channel */
		"{\"reason\":\"erased\",\"user\":\"A\"}",                  /* not a name */
		"{\"reason\":\"erased\",\"user\":\"a.b\"}",                /* a dot would be a subject part */
		"{\"reason\":\"erased\",\"user\":7}",
		"{\"reason\":\"erased\",\"user\":\"a\\u0000b\"}",          /* an embedded NUL */
		"{\"reason\":\"role\",\"user\":\"a\",\"role\":\"root\"}",
		"{\"reason\":\"erased\",\"user\":\"a\",\"role\":\"mod\"}",
		"{\"reason\":\"erased\",\"user\":\"a\",\"user\":\"b\"}",   /* duplicate member */
		"{\"reason\":\"erased\",\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", /* 65 */
	};
	lsp_revoke r;
	char err[128], big[LSP_REVOKE_MSG_MAX * 4 + 64];
	(void)st;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		assert_int_equal(lsp_revoke_parse(bad[i], strlen(bad[i]), &r, err, sizeof err), -EINVAL);
		assert_true(strncmp(err, "revocation event: ", 18) == 0);
		assert_int_equal(r.reason, LSP_REVOKE_NONE);
		assert_string_equal(r.user, "");
		assert_string_equal(r.channel, "");
	}
	/* a valid object padded past the bound is refused before it is parsed */
	memset(big, ' ', sizeof big);
	memcpy(big, "{\"reason\":\"erased\",\"user\":\"a\"}", 31);
	assert_int_equal(lsp_revoke_parse(big, sizeof big, &r, err, sizeof err), -EINVAL);
	assert_string_equal(err, "revocation event: message too long");
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(subject),    cmocka_unit_test(build),      cmocka_unit_test(refuse_make),
		cmocka_unit_test(parse),      cmocka_unit_test(round_trip), cmocka_unit_test(refuse_parse),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
