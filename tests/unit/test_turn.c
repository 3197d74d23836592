/* test_turn — lib/rtc/turn: the TURN REST credential is
 * base64(HMAC-SHA1(secret, "<expiry>:<id>")) (vectors computed apart, with
 * Python's hmac and base64); the ICE-server document lists the URLs with a
 * credential expiring ttl seconds from now, or none at all; bad URLs,
 * TTLs, ids and a turn: URL without a secret are refused; small buffers
 * are -ENOSPC, never overrun. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/turn.h"

static const unsigned char K[] = "0123456789abcdef";

static void cred_known(void **st)
{
	char user[LSP_TURN_USER_MAX], cred[LSP_TURN_CRED_MAX];
	static const unsigned char k2[] = "north-sea-secret-42";
	(void)st;
	assert_int_equal(lsp_turn_cred(K, 16, 1700000000, "whep-abc", user, sizeof user, cred, sizeof cred), 0);
	assert_string_equal(user, "1700000000:whep-abc");
	assert_string_equal(cred, "gym+3vUSBEmjkP4QBdv4pkVteZc=");
	assert_int_equal(lsp_turn_cred(k2, sizeof k2 - 1, 1700003600, "viewer", user, sizeof user, cred, sizeof cred), 0);
	assert_string_equal(user, "1700003600:viewer");
	assert_string_equal(cred, "XZlNzclvwRjIxYLpp01zDv995ns=");
	/* refused: no secret, bad expiry, bad ids, short buffers */
	assert_int_equal(lsp_turn_cred(NULL, 0, 1700000000, "a", user, sizeof user, cred, sizeof cred), -EINVAL);
	assert_int_equal(lsp_turn_cred(K, 16, 0, "a", user, sizeof user, cred, sizeof cred), -EINVAL);
	assert_int_equal(lsp_turn_cred(K, 16, 1, "", user, sizeof user, cred, sizeof cred), -EINVAL);
	assert_int_equal(lsp_turn_cred(K, 16, 1, "a:b", user, sizeof user, cred, sizeof cred), -EINVAL);
	assert_int_equal(lsp_turn_cred(K, 16, 1, "a\"b", user, sizeof user, cred, sizeof cred), -EINVAL);
	assert_int_equal(lsp_turn_cred(K, 16, 1, "a", user, 3, cred, sizeof cred), -ENOSPC);
	assert_int_equal(lsp_turn_cred(K, 16, 1, "a", user, sizeof user, cred, 28), -ENOSPC);
}

static void check_cfg(void **st)
{
	char err[200];
	lsp_turn_cfg t = { NULL, NULL, 0, 3600 };
	(void)st;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), 0);
	t.urls = "stun:stun.example.com:3478";
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), 1); /* STUN needs no secret */
	t.urls = "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349?transport=tcp";
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "secret"));
	t.secret = K;
	t.secret_len = 16;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), 2);
	t.ttl = 59;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
	t.ttl = 86401;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
	t.ttl = 60;
	static const char *const bad[] = { "http://x", "turn:", "turn:a,,turn:b", "turn:a,", ",turn:a", "turn:a b",
					   "turn:a\"b", "turn:a\\b", "turn:\x01", "TURN:a" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t.urls = bad[i];
		assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
	}
	char many[64 * 10] = "";
	for (int i = 0; i < LSP_TURN_URLS_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%sturn:h%d", i ? "," : "", i);
	t.urls = many;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
	*strrchr(many, ',') = 0;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), LSP_TURN_URLS_MAX);
	char longu[LSP_TURN_URL_MAX + 8];
	memset(longu, 'a', sizeof longu - 1);
	longu[sizeof longu - 1] = 0;
	memcpy(longu, "turn:", 5);
	t.urls = longu;
	assert_int_equal(lsp_turn_check(&t, err, sizeof err), -EINVAL);
}

static void json_doc(void **st)
{
	char out[LSP_TURN_JSON_MAX];
	lsp_turn_cfg t = { NULL, NULL, 0, 3600 };
	(void)st;
	assert_int_equal(lsp_turn_json(&t, 1700000000, "whep-abc", out, sizeof out), (int)strlen("{\"iceServers\":[]}"));
	assert_string_equal(out, "{\"iceServers\":[]}");
	t.urls = "turn:10.0.0.1:3478?transport=udp,turns:t.example.com:5349?transport=tcp";
	t.secret = K;
	t.secret_len = 16;
	int n = lsp_turn_json(&t, 1699996400, "whep-abc", out, sizeof out);
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "{\"iceServers\":[{\"urls\":[\"turn:10.0.0.1:3478?transport=udp\","
				 "\"turns:t.example.com:5349?transport=tcp\"],\"username\":\"1700000000:whep-abc\","
				 "\"credential\":\"gym+3vUSBEmjkP4QBdv4pkVteZc=\"}],\"ttl\":3600}");
	/* every shorter buffer: -ENOSPC, NUL-terminated inside it */
	for (int cap = 1; cap <= n; cap++) {
		char small[LSP_TURN_JSON_MAX];
		memset(small, 'x', sizeof small);
		assert_int_equal(lsp_turn_json(&t, 1699996400, "whep-abc", small, (size_t)cap), -ENOSPC);
		assert_int_equal(small[cap], 'x');
	}
	/* STUN only, no secret: URLs, no username or credential */
	t.urls = "stun:s.example.com";
	t.secret = NULL;
	t.secret_len = 0;
	assert_true(lsp_turn_json(&t, 1, "x", out, sizeof out) > 0);
	assert_string_equal(out, "{\"iceServers\":[{\"urls\":[\"stun:s.example.com\"]}],\"ttl\":3600}");
	/* a bad id with a secret: refused, not written */
	t.urls = "turn:a";
	t.secret = K;
	t.secret_len = 16;
	assert_int_equal(lsp_turn_json(&t, 1, "a b", out, sizeof out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(cred_known), cmocka_unit_test(check_cfg),
					cmocka_unit_test(json_doc) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
