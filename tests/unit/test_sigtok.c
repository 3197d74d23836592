/* test_sigtok — lib/core/sigtok (signed channel tokens) and the edge's
 * token path (lib/edge/edge_play.c): a playback token carries its viewer
 * and matches the MAC Python's hmac module computes for the documented
 * message; it opens its channel only, until its expiry plus the skew, and
 * not when it lives too long; a relay token is not a playback token (nor
 * the reverse) under the same secret; flipped, truncated, padded and
 * malformed tokens are refused with their reason; a bad viewer is not
 * signed; the secret comes from a private file or the environment; the
 * edge takes a "~<token>/" segment out of a /hls/ path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sigtok.h"
#include "edge/edge_int.h"

static const uint8_t K[] = "0123456789abcdef";
#define KL 16
#define EXP 2000000000LL
#define NOW (EXP - 60)

static int check(const lsp_sigtok_kind *k, const char *ch, const char *t, long long now, char *viewer, size_t vcap,
		 const char **why)
{
	return lsp_sigtok_check(k, K, KL, ch, t, strlen(t), now, viewer, vcap, NULL, why);
}

static void playback_roundtrip(void **st)
{
	(void)st;
	char t[LSP_SIGTOK_MAX], v[LSP_SIGTOK_VIEWER_MAX + 1];
	const char *why = "x";
	long long exp = 0;
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, "carol", t, sizeof t), 0);
	/* HMAC-SHA256(K, "lsp-play.v1|demo|2000000000|carol") as Python computes it */
	assert_string_equal(t, "p1.2000000000.carol.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9");
	assert_int_equal(lsp_sigtok_check(&lsp_sigtok_play, K, KL, "demo", t, strlen(t), NOW, v, sizeof v, &exp, &why),
			 0);
	assert_null(why);
	assert_string_equal(v, "carol");
	assert_int_equal(exp, EXP);
	/* no viewer: a three-field token, its own MAC */
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, NULL, t, sizeof t), 0);
	assert_string_equal(t, "p1.2000000000.ff45fe5c63c225c5aac8747f24fe6539675b031a010e42fb90b00472804b58d3");
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, NOW, v, sizeof v, &why), 0);
	assert_string_equal(v, "");
	/* the expiry, the skew, the longest life */
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, EXP + 29, NULL, 0, &why), 0);
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, EXP + 30, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "token expired");
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, EXP - LSP_SIGTOK_PLAY_AHEAD, NULL, 0, &why), 0);
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, EXP - LSP_SIGTOK_PLAY_AHEAD - 1, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "token lives too long");
	/* another channel, another secret */
	assert_int_equal(check(&lsp_sigtok_play, "demo2", t, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	assert_int_equal(lsp_sigtok_check(&lsp_sigtok_play, (const uint8_t *)"another secret!!", KL, "demo", t,
					  strlen(t), NOW, NULL, 0, NULL, &why),
			 -EACCES);
	assert_string_equal(why, "bad signature");
}

static void tampered(void **st)
{
	(void)st;
	char t[LSP_SIGTOK_MAX], b[LSP_SIGTOK_MAX + 8];
	const char *why;
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, "carol", t, sizeof t), 0);
	/* every single-character change is refused */
	for (size_t i = 0; i < strlen(t); i++) {
		snprintf(b, sizeof b, "%s", t);
		b[i] = b[i] == '0' ? '1' : b[i] == 'a' ? 'b' : '0';
		assert_int_equal(check(&lsp_sigtok_play, "demo", b, NOW, NULL, 0, &why), -EACCES);
	}
	/* another viewer with the same MAC */
	snprintf(b, sizeof b, "p1.2000000000.carl.%s", strrchr(t, '.') + 1);
	assert_int_equal(check(&lsp_sigtok_play, "demo", b, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	/* truncated, padded, the viewer dropped */
	assert_int_equal(lsp_sigtok_check(&lsp_sigtok_play, K, KL, "demo", t, strlen(t) - 1, NOW, NULL, 0, NULL, &why),
			 -EACCES);
	snprintf(b, sizeof b, "%s0", t);
	assert_int_equal(check(&lsp_sigtok_play, "demo", b, NOW, NULL, 0, &why), -EACCES);
	snprintf(b, sizeof b, "p1.2000000000.%s", strrchr(t, '.') + 1);
	assert_int_equal(check(&lsp_sigtok_play, "demo", b, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "bad signature");
}

static void kinds_apart(void **st)
{
	(void)st;
	char t[LSP_SIGTOK_MAX], b[LSP_SIGTOK_MAX];
	const char *why;
	/* a relay token is no playback token, even renamed */
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_relay, K, KL, "demo", EXP, NULL, t, sizeof t), 0);
	assert_int_equal(check(&lsp_sigtok_relay, "demo", t, NOW, NULL, 0, &why), 0);
	assert_int_equal(check(&lsp_sigtok_play, "demo", t, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "malformed token");
	snprintf(b, sizeof b, "p1%s", t + 2);
	assert_int_equal(check(&lsp_sigtok_play, "demo", b, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	/* and the reverse; relay tokens take no viewer */
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP - 100, NULL, t, sizeof t), 0);
	snprintf(b, sizeof b, "v1%s", t + 2);
	assert_int_equal(check(&lsp_sigtok_relay, "demo", b, NOW, NULL, 0, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_relay, K, KL, "demo", EXP, "carol", t, sizeof t), -EINVAL);
}

static void malformed(void **st)
{
	(void)st;
	char t[LSP_SIGTOK_MAX];
	const char *why;
	static const char *const bad[] = {
		"", "p1", "p1.", "p2.2000000000.00", "p1..abcd", "p1.-5.ab", "p1.2000000000", "p1.2000000000.",
		"p1.2000000000..0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9",
		"p1.2000000000.Carol.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9",
		"p1.2000000000.a.b.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9",
		"p1.0.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9",
		"p1.99999999999999999999999.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b9",
		"p1.2000000000.carol.0e1242e90580cf3c4a9f819a7c18cf873a4f1cda51ce041b5377f858739bb4b",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(check(&lsp_sigtok_play, "demo", bad[i], NOW, NULL, 0, &why), -EACCES);
		assert_string_equal(why, "malformed token");
	}
	/* a viewer of 65 characters, or with a dot, is not signed */
	memset(t, 'a', 65);
	t[65] = 0;
	char big[LSP_SIGTOK_MAX];
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, t, big, sizeof big), -EINVAL);
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, "a.b", big, sizeof big), -EINVAL);
	t[64] = 0; /* 64 is the most */
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, t, big, sizeof big), 0);
	assert_int_equal(check(&lsp_sigtok_play, "demo", big, NOW, NULL, 0, &why), 0);
	/* no secret: nothing checks, nothing signs; too small a buffer */
	assert_int_equal(lsp_sigtok_check(&lsp_sigtok_play, NULL, 0, "demo", big, strlen(big), NOW, NULL, 0, NULL, &why),
			 -EACCES);
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, NULL, 0, "demo", EXP, NULL, big, sizeof big), -EINVAL);
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", EXP, NULL, big, 20), -ENOSPC);
	assert_int_equal(lsp_sigtok_sign(&lsp_sigtok_play, K, KL, "demo", 0, NULL, big, sizeof big), -EINVAL);
}

static void secret_sources(void **st)
{
	(void)st;
	char path[] = "/tmp/test_sigtok_XXXXXX", err[300];
	uint8_t out[LSP_SIGTOK_SECRET_MAX];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdefXYZ\n", 20), 20);
	assert_int_equal(fchmod(fd, 0600), 0);
	unsetenv("LSP_TEST_PLAY_SECRET");
	assert_int_equal(lsp_sigtok_secret_load(NULL, "LSP_TEST_PLAY_SECRET", out, sizeof out, err, sizeof err), 0);
	assert_int_equal(lsp_sigtok_secret_load(path, "LSP_TEST_PLAY_SECRET", out, sizeof out, err, sizeof err), 19);
	assert_memory_equal(out, "0123456789abcdefXYZ", 19);
	assert_int_equal(fchmod(fd, 0604), 0);
	assert_int_equal(lsp_sigtok_secret_load(path, NULL, out, sizeof out, err, sizeof err), -EPERM);
	assert_null(strstr(err, "0123456789"));
	setenv("LSP_TEST_PLAY_SECRET", "short", 1);
	assert_int_equal(lsp_sigtok_secret_load(NULL, "LSP_TEST_PLAY_SECRET", out, sizeof out, err, sizeof err),
			 -EINVAL);
	assert_null(strstr(err, "short"));
	setenv("LSP_TEST_PLAY_SECRET", "sixteen-bytes-at-least", 1);
	assert_int_equal(lsp_sigtok_secret_load(NULL, "LSP_TEST_PLAY_SECRET", out, sizeof out, err, sizeof err), 22);
	unsetenv("LSP_TEST_PLAY_SECRET");
	close(fd);
	unlink(path);
}

static void edge_path(void **st)
{
	(void)st;
	char out[256];
	const char *tok;
	size_t tl;
	assert_int_equal(edge_play_split("demo/720p/index.m3u8", out, sizeof out, &tok, &tl), 0);
	assert_string_equal(out, "demo/720p/index.m3u8");
	assert_null(tok);
	assert_int_equal(edge_play_split("demo/~p1.5.ab/720p/seg1.2.m4s", out, sizeof out, &tok, &tl), 1);
	assert_string_equal(out, "demo/720p/seg1.2.m4s");
	assert_int_equal(tl, 7);
	assert_memory_equal(tok, "p1.5.ab", 7);
	assert_int_equal(edge_play_split("demo/~p1.5.ab/master.m3u8", out, sizeof out, &tok, &tl), 1);
	assert_string_equal(out, "demo/master.m3u8");
	/* an empty token, nothing after it, too long a result */
	assert_int_equal(edge_play_split("demo/~/master.m3u8", out, sizeof out, &tok, &tl), -1);
	assert_int_equal(edge_play_split("demo/~abc", out, sizeof out, &tok, &tl), -1);
	assert_int_equal(edge_play_split("demo/~abc/", out, sizeof out, &tok, &tl), -1);
	assert_int_equal(edge_play_split("demo/~abc/master.m3u8", out, 10, &tok, &tl), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(playback_roundtrip), cmocka_unit_test(tampered), cmocka_unit_test(kinds_apart),
		cmocka_unit_test(malformed),	      cmocka_unit_test(secret_sources), cmocka_unit_test(edge_path),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
