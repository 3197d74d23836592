/* Unit tests: lib/core/webhook.c — the X-LSP-Signature scheme (a vector
 * computed independently with Python's hmac), verification (tampering,
 * replay window, malformed headers), the secret from text or a file, the
 * settings from the environment, and a POST that finds nobody. */
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

#include "core/webhook.h"

static const char body[] = "{\"event\":\"live\"}";

static void sign_vector(void **st)
{
	char sig[LSP_WEBHOOK_SIG_CAP];
	(void)st;
	/* python3: hmac.new(b"s3cret", b"1700000000." + body, sha256).hexdigest() */
	assert_int_equal(lsp_webhook_sign("s3cret", 6, 1700000000, body, strlen(body), sig, sizeof sig), 0);
	assert_string_equal(sig, "t=1700000000,v1=96cb8378a7ab468c32b611a021a1a27696b3a08fc04d7a01aab4f049bd9d376f");
	assert_int_equal(lsp_webhook_sign("s3cret", 6, 1700000000, body, strlen(body), sig, 20), -ENOSPC);
	assert_string_equal(sig, "");
}

static void verify(void **st)
{
	char sig[LSP_WEBHOOK_SIG_CAP], bad[LSP_WEBHOOK_SIG_CAP];
	size_t n = strlen(body);
	(void)st;
	assert_int_equal(lsp_webhook_sign("k", 1, 1000, body, n, sig, sizeof sig), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, sig, body, n, 1000, 300), 1);
	assert_int_equal(lsp_webhook_verify("k", 1, sig, body, n, 1300, 300), 1);
	assert_int_equal(lsp_webhook_verify("k", 1, sig, body, n, 1301, 300), 0); /* replayed late */
	assert_int_equal(lsp_webhook_verify("k", 1, sig, body, n, 699, 300), 0);  /* from the future */
	assert_int_equal(lsp_webhook_verify("K", 1, sig, body, n, 1000, 300), 0); /* other secret */
	assert_int_equal(lsp_webhook_verify("k", 1, sig, body, n - 1, 1000, 300), 0); /* body cut */
	memcpy(bad, sig, sizeof bad);
	bad[strlen(bad) - 1] ^= 1;
	assert_int_equal(lsp_webhook_verify("k", 1, bad, body, n, 1000, 300), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, "t=1000,v1=00", body, n, 1000, 300), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, "v1=00,t=1000", body, n, 1000, 300), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, "t=,v1=", body, n, 1000, 300), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, NULL, body, n, 1000, 300), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, "t=99999999999999999999999,v1=0", body, n, 1000, 300), 0);
	/* an empty body signs and verifies too */
	assert_int_equal(lsp_webhook_sign("k", 1, 5, "", 0, sig, sizeof sig), 0);
	assert_int_equal(lsp_webhook_verify("k", 1, sig, "", 0, 5, 0), 1);
}

static void secret(void **st)
{
	char out[LSP_WEBHOOK_SECRET_MAX], err[256], path[] = "/tmp/lsp-test-secret.XXXXXX";
	size_t len;
	int fd;
	FILE *f;
	(void)st;
	assert_int_equal(lsp_webhook_secret("abc", "/nonexistent", out, sizeof out, &len, err, sizeof err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(lsp_webhook_secret(NULL, NULL, out, sizeof out, &len, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_webhook_secret("", "/nonexistent/x", out, sizeof out, &len, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x"));
	assert_int_equal(lsp_webhook_secret("abcdef", NULL, out, 4, &len, err, sizeof err), -EINVAL);
	assert_int_not_equal(fd = mkstemp(path), -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("from-a-file\nsecond line\n", f);
	fclose(f);
	assert_int_equal(lsp_webhook_secret(NULL, path, out, sizeof out, &len, err, sizeof err), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(out, "from-a-file", 11);
	assert_null(strstr(err, "from-a-file"));
	f = fopen(path, "w");
	fputs("\n", f);
	fclose(f);
	assert_int_equal(lsp_webhook_secret(NULL, path, out, sizeof out, &len, err, sizeof err), -EINVAL);
	unlink(path);
}

static void conf_env(void **st)
{
	lsp_webhook_conf c;
	char err[256];
	(void)st;
	unsetenv("LSP_WEBHOOK_URL");
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), 0);
	assert_null(c.url);
	setenv("LSP_WEBHOOK_URL", "ftp://x", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), -EINVAL);
	setenv("LSP_WEBHOOK_URL", "http://127.0.0.1:9/hook", 1);
	unsetenv("LSP_WEBHOOK_SECRET");
	unsetenv("LSP_WEBHOOK_SECRET_FILE");
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), -EINVAL); /* unsigned: refused */
	setenv("LSP_WEBHOOK_SECRET", "sekrit", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), 0);
	assert_string_equal(c.url, "http://127.0.0.1:9/hook");
	assert_int_equal(c.timeout_ms, 2000);
	assert_int_equal(c.fail_closed, 0);
	assert_int_equal(c.secret_len, 6);
	setenv("LSP_WEBHOOK_TIMEOUT", "0.5", 1);
	setenv("LSP_WEBHOOK_FAIL", "closed", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), 0);
	assert_int_equal(c.timeout_ms, 500);
	assert_int_equal(c.fail_closed, 1);
	setenv("LSP_WEBHOOK_TIMEOUT", "0", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), -EINVAL);
	setenv("LSP_WEBHOOK_TIMEOUT", "2s", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), -EINVAL);
	setenv("LSP_WEBHOOK_TIMEOUT", "2", 1);
	setenv("LSP_WEBHOOK_FAIL", "maybe", 1);
	assert_int_equal(lsp_webhook_conf_env(&c, err, sizeof err), -EINVAL);
	assert_null(strstr(err, "sekrit"));
}

static void post_nobody(void **st)
{
	lsp_webhook *w = NULL;
	char err[256], reason[LSP_WEBHOOK_REASON_CAP], id[40];
	(void)st;
	assert_int_equal(lsp_webhook_new(&w, "gopher://x", "k", 1, 1000, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_webhook_new(&w, "http://127.0.0.1:1/", "", 0, 1000, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_webhook_new(&w, "http://127.0.0.1:1/", "k", 1, 1000, err, sizeof err), 0);
	/* port 1: nobody listens, so the answer is a refusal, not a hang */
	assert_int_equal(lsp_webhook_post(w, "live", NULL, body, strlen(body), reason, sizeof reason, err, sizeof err),
			 -ECONNREFUSED);
	assert_null(strstr(err, "v1="));
	lsp_webhook_free(w);
	assert_int_equal(lsp_webhook_id(id, sizeof id), 0);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(lsp_webhook_id(id, 8), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_vector), cmocka_unit_test(verify),   cmocka_unit_test(secret),
		cmocka_unit_test(conf_env),    cmocka_unit_test(post_nobody),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
