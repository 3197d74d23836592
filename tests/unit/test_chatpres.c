/* Unit tests: lib/chat/chatpres.c — the /presence channel list (empty items,
 * repeats, escapes, bad names, the bound), the JSON answer and its head. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chat/chatpres.h"

static lsp_chatpres_list l;

static int parse(const char *q)
{
	char err[128];
	return lsp_chatpres_parse(q, q ? strlen(q) : 0, &l, err, sizeof err);
}

static void list(void **s)
{
	(void)s;
	assert_int_equal(parse("channels=a,b-2,c_3"), 0);
	assert_int_equal(l.all, 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "a");
	assert_string_equal(l.name[2], "c_3");
	/* empty items skipped, repeats kept once, other parameters ignored, escapes decoded */
	assert_int_equal(parse("x=1&channels=,a,,a%2Cb,a,&y"), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[1], "b");
	assert_int_equal(parse("channels="), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.all, 0);
	/* no parameter, or no query: every channel */
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(l.all, 1);
	assert_int_equal(parse("chan=a"), 0);
	assert_int_equal(l.all, 1);
}

static void refused(void **s)
{
	char q[2048], name[80];
	size_t o;
	(void)s;
	assert_int_equal(parse("channels=A"), -EINVAL);
	assert_int_equal(parse("channels=a/b"), -EINVAL);
	assert_int_equal(parse("channels=a%2Fb"), -EINVAL);
	assert_int_equal(parse("channels=a%00"), -EINVAL);
	assert_int_equal(parse("channels=%zz"), -EINVAL);
	assert_int_equal(parse("channels=a+b"), -EINVAL); /* '+' is a space */
	memset(name, 'x', 65);
	name[65] = 0;
	snprintf(q, sizeof q, "channels=%s", name);
	assert_int_equal(parse(q), -EINVAL);
	name[64] = 0;
	snprintf(q, sizeof q, "channels=%s", name);
	assert_int_equal(parse(q), 0);
	/* 100 names pass, the 101st is refused; repeats do not count */
	o = (size_t)snprintf(q, sizeof q, "channels=");
	for (int i = 0; i < LSP_CHATPRES_MAX; i++)
		o += (size_t)snprintf(q + o, sizeof q - o, "c%d,c%d,", i, i);
	assert_int_equal(parse(q), 0);
	assert_int_equal(l.n, LSP_CHATPRES_MAX);
	snprintf(q + o, sizeof q - o, "one-more");
	assert_int_equal(parse(q), -EINVAL);
}

static void json(void **s)
{
	const char *names[] = { "a", "b", "c" };
	long counts[] = { 12, 0, -3 };
	char buf[64];
	(void)s;
	assert_int_equal(lsp_chatpres_json(buf, sizeof buf, names, counts, 3), 20);
	assert_string_equal(buf, "{\"a\":12,\"b\":0,\"c\":0}");
	assert_int_equal(lsp_chatpres_json(buf, sizeof buf, names, counts, 0), 2);
	assert_string_equal(buf, "{}");
	assert_int_equal(lsp_chatpres_json(buf, 3, names, counts, 0), 2);
	assert_int_equal(lsp_chatpres_json(buf, 20, names, counts, 3), -ENOSPC); /* no room for the NUL */
	assert_int_equal(lsp_chatpres_json(buf, 21, names, counts, 3), 20);
}

static void head(void **s)
{
	char h[512];
	(void)s;
	assert_true(lsp_chatpres_head(h, sizeof h, 200, 7, 1, 1) > 0);
	assert_non_null(strstr(h, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(h, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(h, "Content-Length: 7\r\n"));
	assert_non_null(strstr(h, "Cache-Control: public, max-age=1\r\n"));
	assert_non_null(strstr(h, "Access-Control-Allow-Origin: *\r\n"));
	assert_non_null(strstr(h, "Connection: keep-alive\r\n\r\n"));
	assert_null(strstr(h, "Credentials"));
	assert_true(lsp_chatpres_head(h, sizeof h, 400, 9, 1, 0) > 0);
	assert_non_null(strstr(h, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(h, "Connection: close\r\n"));
	assert_true(lsp_chatpres_head(h, sizeof h, 405, 9, 1, 0) > 0);
	assert_non_null(strstr(h, "Allow: GET, HEAD, OPTIONS\r\n"));
	assert_true(lsp_chatpres_head(h, sizeof h, 204, 0, 1, 1) > 0);
	assert_non_null(strstr(h, "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"));
	assert_null(strstr(h, "Content-Length"));
	assert_int_equal(lsp_chatpres_head(h, 40, 200, 7, 1, 1), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(list),
		cmocka_unit_test(refused),
		cmocka_unit_test(json),
		cmocka_unit_test(head),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
