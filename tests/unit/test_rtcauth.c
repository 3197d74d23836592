/* test_rtcauth — lib/core/hmac and lib/rtc/rtcauth: HMAC-SHA256 matches
 * the RFC 4231-style known answer; a relay token signed for a channel
 * checks for that channel only, until its expiry plus the skew; a token
 * that lives too long, a flipped bit, a truncated or padded token, another
 * secret, and malformed shapes are refused with their reason; the secret
 * file must be private and of sane length; loopback peers are told apart. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/hmac.h"
#include "rtc/rtcauth.h"

static const uint8_t K[] = "0123456789abcdef";
#define KL 16

static void hmac_known(void **st)
{
	(void)st;
	static const char msg[] = "The quick brown fox jumps over the lazy dog";
	static const uint8_t want[32] = { 0xf7, 0xbc, 0x83, 0xf4, 0x30, 0x53, 0x84, 0x24, 0xb1, 0x32, 0x98,
					  0xe6, 0xaa, 0x6f, 0xb1, 0x43, 0xef, 0x4d, 0x59, 0xa1, 0x49, 0x46,
					  0x17, 0x59, 0x97, 0x47, 0x9d, 0xbc, 0x2d, 0x1a, 0x3c, 0xd8 };
	uint8_t md[LSP_HMAC_LEN];
	assert_int_equal(lsp_hmac_sha256("key", 3, msg, strlen(msg), md), 0);
	assert_memory_equal(md, want, 32);
	assert_true(lsp_hmac_equal(md, want, 32));
	md[31] ^= 1;
	assert_false(lsp_hmac_equal(md, want, 32));
}

static void token_roundtrip(void **st)
{
	(void)st;
	char t[LSP_RTCAUTH_TOKEN_MAX];
	const char *why = "x";
	assert_int_equal(lsp_rtcauth_sign(K, KL, "demo", 2000000000LL, t, sizeof t), 0);
	/* the same MAC Python's hmac module gives for this key and message */
	assert_string_equal(t, "v1.2000000000.18b89ef8f165304b812871c84f6dc962997c8a4177f350ef6a29faac8cbaf3c4");
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t), 2000000000LL - 60, &why), 0);
	assert_null(why);
	/* still good within the skew after expiry, not after */
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t), 2000000000LL + LSP_RTCAUTH_SKEW - 1, &why), 0);
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t), 2000000000LL + LSP_RTCAUTH_SKEW, &why),
			 -EACCES);
	assert_string_equal(why, "token expired");
	/* one that expires too far ahead */
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t), 2000000000LL - LSP_RTCAUTH_AHEAD - 1, &why),
			 -EACCES);
	assert_string_equal(why, "token lives too long");
	/* another channel, another secret */
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo2", t, strlen(t), 2000000000LL - 60, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	assert_int_equal(lsp_rtcauth_check((const uint8_t *)"another secret!!", KL, "demo", t, strlen(t),
					   2000000000LL - 60, &why), -EACCES);
	assert_string_equal(why, "bad signature");
	/* a later expiry with the old MAC */
	t[3] = '3';
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t), 2000000000LL - 60, &why), -EACCES);
	assert_string_equal(why, "bad signature");
}

static void token_malformed(void **st)
{
	(void)st;
	char t[LSP_RTCAUTH_TOKEN_MAX], b[200];
	const char *why;
	long long now = 2000000000LL - 60;
	static const char *const bad[] = { "", "v1", "v1.", "v2.2000000000.00", "v1..abcd", "v1.-5.ab",
					   "v1.2000000000", "v1.2000000000.", "v1.0.18b89ef8f165304b812871c84f6dc962997c8a4177f350ef6a29faac8cbaf3c4",
					   "v1.99999999999999999999999.18b89ef8f165304b812871c84f6dc962997c8a4177f350ef6a29faac8cbaf3c4" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(lsp_rtcauth_check(K, KL, "demo", bad[i], strlen(bad[i]), now, &why), -EACCES);
		assert_string_equal(why, "malformed token");
	}
	assert_int_equal(lsp_rtcauth_sign(K, KL, "demo", 2000000000LL, t, sizeof t), 0);
	/* truncated, padded */
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", t, strlen(t) - 1, now, &why), -EACCES);
	snprintf(b, sizeof b, "%s0", t);
	assert_int_equal(lsp_rtcauth_check(K, KL, "demo", b, strlen(b), now, &why), -EACCES);
	/* no secret: nothing checks, nothing signs */
	assert_int_equal(lsp_rtcauth_check(NULL, 0, "demo", t, strlen(t), now, &why), -EACCES);
	assert_int_equal(lsp_rtcauth_sign(NULL, 0, "demo", 2000000000LL, b, sizeof b), -EINVAL);
	assert_int_equal(lsp_rtcauth_sign(K, KL, "demo", 2000000000LL, b, 20), -ENOSPC);
}

static void secret_file(void **st)
{
	(void)st;
	char path[] = "/tmp/test_rtcauth_XXXXXX", err[300];
	uint8_t out[LSP_RTCAUTH_SECRET_MAX];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdefXYZ\n\n", 21), 21);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(lsp_rtcauth_secret_file(path, out, sizeof out, err, sizeof err), 19);
	assert_memory_equal(out, "0123456789abcdefXYZ", 19);
	assert_int_equal(fchmod(fd, 0640), 0);
	assert_int_equal(lsp_rtcauth_secret_file(path, out, sizeof out, err, sizeof err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "0123456789"));
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "tinyq\n", 6, 0), 6);
	assert_int_equal(lsp_rtcauth_secret_file(path, out, sizeof out, err, sizeof err), -EINVAL);
	assert_null(strstr(err, "tinyq"));
	assert_non_null(strstr(err, "shorter than"));
	close(fd);
	unlink(path);
	assert_int_equal(lsp_rtcauth_secret_file(path, out, sizeof out, err, sizeof err), -ENOENT);
}

static void loopback(void **st)
{
	(void)st;
	int sv[2];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	assert_true(l >= 0 && c >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
	assert_true((s = accept(l, NULL, NULL)) >= 0);
	assert_int_equal(lsp_rtcauth_loopback(s), 1);
	close(s);
	close(c);
	close(l);
	/* no peer address (a socket pair): not loopback */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(lsp_rtcauth_loopback(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(lsp_rtcauth_loopback(-1), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(hmac_known),  cmocka_unit_test(token_roundtrip), cmocka_unit_test(token_malformed),
		cmocka_unit_test(secret_file), cmocka_unit_test(loopback),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
