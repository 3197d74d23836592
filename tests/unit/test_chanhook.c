/* Unit tests: lib/state/chanhook.c — which URLs a channel may name as its
 * own webhook receiver (http/https with a host, printable, bounded), and
 * setting, reading and clearing it over the fixture's store (SQLite, or
 * Postgres with LSP_TEST_PG_URL); LSP_WEBHOOK_PER_CHANNEL=0 turns it off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/chanhook.h"
#include "fixture.h"

static void valid(void **s)
{
	char big[LSP_CHANHOOK_URL_MAX + 8];
	(void)s;
	assert_true(lsp_chanhook_valid("http://127.0.0.1:9000/hook"));
	assert_true(lsp_chanhook_valid("https://hooks.example.com/lsp?tenant=7"));
	assert_true(lsp_chanhook_valid("http://[::1]:80/"));
	assert_false(lsp_chanhook_valid(NULL));
	assert_false(lsp_chanhook_valid(""));
	assert_false(lsp_chanhook_valid("http://"));
	assert_false(lsp_chanhook_valid("https:///path"));
	assert_false(lsp_chanhook_valid("http://:80/"));
	assert_false(lsp_chanhook_valid("ftp://example.com/"));
	assert_false(lsp_chanhook_valid("file:///etc/passwd"));
	assert_false(lsp_chanhook_valid("gopher://x"));
	assert_false(lsp_chanhook_valid("HTTP://example.com/"));
	assert_false(lsp_chanhook_valid("http://exa mple.com/"));
	assert_false(lsp_chanhook_valid("http://example.com/\r\nX-Evil: 1"));
	assert_false(lsp_chanhook_valid("http://ex\xc3\xa4mple.com/"));
	memcpy(big, "http://", 7);
	memset(big + 7, 'a', sizeof big - 8);
	big[sizeof big - 1] = 0;
	assert_false(lsp_chanhook_valid(big));
	big[LSP_CHANHOOK_URL_MAX] = 0; /* exactly the bound */
	assert_true(lsp_chanhook_valid(big));
	unsetenv("LSP_WEBHOOK_PER_CHANNEL");
	assert_true(lsp_chanhook_enabled());
	setenv("LSP_WEBHOOK_PER_CHANNEL", "0", 1);
	assert_false(lsp_chanhook_enabled());
	setenv("LSP_WEBHOOK_PER_CHANNEL", "1", 1);
	assert_true(lsp_chanhook_enabled());
	unsetenv("LSP_WEBHOOK_PER_CHANNEL");
}

static void stored(void **s)
{
	fx *f = *s;
	char err[256], url[LSP_CHANHOOK_URL_MAX + 1], small[16];
	assert_int_equal(lsp_chanhook_get(f->st, "nope", url, sizeof url, err, sizeof err), 0);
	assert_string_equal(url, "");
	assert_int_equal(lsp_chanhook_set(f->st, "nope", "http://h/x", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_store_channel_add(f->st, "own", "h1", err, sizeof err), 0);
	assert_int_equal(lsp_chanhook_get(f->st, "own", url, sizeof url, err, sizeof err), 1);
	assert_string_equal(url, "");
	assert_int_equal(lsp_chanhook_set(f->st, "own", "ftp://h/x", err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "http"));
	assert_int_equal(lsp_chanhook_set(f->st, "own", "https://h.example/x?y=1", err, sizeof err), 0);
	assert_int_equal(lsp_chanhook_get(f->st, "own", url, sizeof url, err, sizeof err), 1);
	assert_string_equal(url, "https://h.example/x?y=1");
	assert_int_equal(lsp_chanhook_get(f->st, "own", small, sizeof small, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_chanhook_set(f->st, "own", "", err, sizeof err), 0);
	assert_int_equal(lsp_chanhook_get(f->st, "own", url, sizeof url, err, sizeof err), 1);
	assert_string_equal(url, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid),
		cmocka_unit_test_setup_teardown(stored, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
