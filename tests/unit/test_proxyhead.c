/* test_proxyhead.c — the front door's header work (lib/edge/proxyhead.c):
 * which paths go to which upstream (and which stay on the edge), which
 * headers never cross a hop, and an upstream's answer head rewritten for
 * the client (Connection set once, Upgrade kept only on a 101, a head that
 * does not fit refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edge/proxyhead.h"

static void test_routes(void **s)
{
	(void)s;
	assert_int_equal(lsp_proxyhead_route("/api/v1/health"), LSP_PROXY_API);
	assert_int_equal(lsp_proxyhead_route("/api/v1"), LSP_PROXY_API);
	assert_int_equal(lsp_proxyhead_route("/ws/demo"), LSP_PROXY_CHAT);
	assert_int_equal(lsp_proxyhead_route("/presence"), LSP_PROXY_CHAT);
	assert_int_equal(lsp_proxyhead_route("/whep/demo"), LSP_PROXY_RTC);
	assert_int_equal(lsp_proxyhead_route("/whip/demo/abc"), LSP_PROXY_RTC);
	/* the edge's own */
	assert_int_equal(lsp_proxyhead_route("/api/channels"), -1);
	assert_int_equal(lsp_proxyhead_route("/api/channels/demo/vods"), -1);
	assert_int_equal(lsp_proxyhead_route("/api/v10/x"), -1);
	assert_int_equal(lsp_proxyhead_route("/hls/demo/src/index.m3u8"), -1);
	assert_int_equal(lsp_proxyhead_route("/ws"), -1);
	assert_int_equal(lsp_proxyhead_route("/presence/x"), -1);
	assert_int_equal(lsp_proxyhead_route("/studio"), -1);
	assert_int_equal(lsp_proxyhead_route("/"), -1);
}

static int rewrite(const char *in, const char *conn, char *out, size_t cap, int *status)
{
	lsp_http_req r;
	int n = lsp_http_parse_response(in, strlen(in), status, &r);
	assert_true(n > 0);
	n = lsp_proxyhead_response(&r, *status, conn, out, cap);
	if (n >= 0)
		out[n] = 0;
	return n;
}

static void test_response(void **s)
{
	char out[1024];
	int st, n;
	(void)s;
	n = rewrite("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
		    "Keep-Alive: timeout=5\r\nContent-Length: 2\r\nUpgrade: h2c\r\n\r\n{}",
		    "keep-alive", out, sizeof out - 1, &st);
	assert_int_equal(st, 200);
	assert_string_equal(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
				 "Connection: keep-alive\r\n\r\n");
	assert_int_equal(n, (int)strlen(out));
	n = rewrite("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: abc=\r\n\r\n",
		    "Upgrade", out, sizeof out - 1, &st);
	assert_int_equal(st, 101);
	assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc=\r\n"
				 "Connection: Upgrade\r\n\r\n");
	/* HTTP/1.0 answers go out as 1.1 with the edge's own framing word */
	rewrite("HTTP/1.0 404 Nope\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", "close", out, sizeof out - 1, &st);
	assert_string_equal(out, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
	/* too small: refused, never cut */
	assert_int_equal(rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "close", out, 30, &st), -1);
}

static void test_hop(void **s)
{
	lsp_http_header h = { .name = "Keep-Alive", .name_len = 10, .value = "x", .value_len = 1 };
	(void)s;
	assert_true(lsp_proxyhead_hop(&h));
	h.name = "X-FORWARDED-FOR"; h.name_len = 15;
	assert_true(lsp_proxyhead_hop(&h));
	h.name = "Content-Length"; h.name_len = 14;
	assert_false(lsp_proxyhead_hop(&h));
	h.name = "TEx"; h.name_len = 2; /* "TE" */
	assert_true(lsp_proxyhead_hop(&h));
	h.name_len = 3;
	assert_false(lsp_proxyhead_hop(&h));
}

/* What of an upstream's answer goes on to an HTTP/2 client. */
static void test_h2_keep(void **s)
{
	static const struct {
		const char *name;
		int keep;
	} t[] = { { "Location", 1 },	      { "Content-Type", 1 }, { "Link", 1 },   { "ETag", 1 },
		  { "Connection", 0 },	      { "Keep-Alive", 0 },   { "Upgrade", 0 }, { "Transfer-Encoding", 0 },
		  { "content-length", 0 }, { "Date", 0 },	     { "SERVER", 0 }, { "", 0 } };
	(void)s;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		lsp_http_header h = { .name = t[i].name, .name_len = strlen(t[i].name), .value = "v", .value_len = 1 };
		assert_int_equal(lsp_proxyhead_h2_keep(&h), t[i].keep);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_hop),
		cmocka_unit_test(test_h2_keep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
