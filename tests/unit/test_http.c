/* test_http.c — the request- and response-head parsers, path decoding,
 * query, range and the LL-HLS playlist state used for blocking reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/http.h"
#include "edge/plstate.h"

static int parse(const char *s, lsp_http_req *r)
{
	return lsp_http_parse(s, strlen(s), r);
}

static void t_basic(void **st)
{
	lsp_http_req r;
	const char *s = "GET /hls/demo/720p/index.m3u8?_HLS_msn=12&_HLS_part=3 HTTP/1.1\r\n"
			"Host: example\r\nUser-Agent:  x y  \r\n\r\nGET / HTTP/1.1\r\n";
	size_t vl;
	const char *v;
	int n = parse(s, &r);
	(void)st;
	assert_int_equal(n, (int)(strstr(s, "\r\n\r\n") - s + 4));
	assert_int_equal(r.method, LSP_HTTP_GET);
	assert_int_equal(r.minor, 1);
	assert_true(r.keep_alive);
	assert_int_equal(r.path_len, strlen("/hls/demo/720p/index.m3u8"));
	assert_memory_equal(r.query, "_HLS_msn=12&_HLS_part=3", r.query_len);
	assert_int_equal(r.nheaders, 2);
	v = lsp_http_header_get(&r, "user-agent", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 3);
	assert_memory_equal(v, "x y", 3);
	assert_null(lsp_http_header_get(&r, "cookie", &vl));
}

static void t_incomplete_and_limits(void **st)
{
	lsp_http_req r;
	char big[LSP_HTTP_HEAD_MAX + 100];
	(void)st;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r), 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\n", &r), 0);
	/* a head without end that fills the buffer */
	memset(big, 'a', sizeof big);
	memcpy(big, "GET /", 5);
	assert_int_equal(lsp_http_parse(big, LSP_HTTP_HEAD_MAX, &r), -414);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(lsp_http_parse(big, LSP_HTTP_HEAD_MAX, &r), -431);
	/* 65 headers */
	{
		char h[4096];
		size_t o = (size_t)snprintf(h, sizeof h, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < 65; i++)
			o += (size_t)snprintf(h + o, sizeof h - o, "H%d: v\r\n", i);
		snprintf(h + o, sizeof h - o, "\r\n");
		assert_int_equal(parse(h, &r), -431);
	}
}

static void t_bad(void **st)
{
	lsp_http_req r;
	(void)st;
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &r), -505);
	assert_int_equal(parse("GET / FTP/1.0\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET  / HTTP/1.1\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET http://x/ HTTP/1.1\r\n\r\n", &r), -400);
	assert_int_equal(parse("G(T / HTTP/1.1\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\n folded\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &r), -501);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", &r), -400);
}

static void t_keepalive(void **st)
{
	lsp_http_req r;
	(void)st;
	assert_true(parse("HEAD / HTTP/1.1\r\n\r\n", &r) > 0);
	assert_int_equal(r.method, LSP_HTTP_HEAD);
	assert_true(r.keep_alive);
	assert_true(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &r) > 0);
	assert_false(r.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	assert_false(r.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) > 0);
	assert_true(r.keep_alive);
	assert_true(parse("OPTIONS * HTTP/1.1\n\n", &r) > 0); /* bare LF tolerated */
	assert_int_equal(r.method, LSP_HTTP_OPTIONS);
}

static void t_path(void **st)
{
	char out[64];
	(void)st;
	assert_int_equal(lsp_http_path_decode("/a%20b/c", 8, out, sizeof out), 6);
	assert_string_equal(out, "/a b/c");
	assert_int_equal(lsp_http_path_decode("/hls/../x", 9, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/hls/..", 7, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/hls/%2e%2e/x", 13, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/./x", 4, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/a%2fb", 6, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/a%5cb", 6, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/a%00b", 6, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/a%2", 4, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/a%zz", 5, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("x", 1, out, sizeof out), -1);
	assert_int_equal(lsp_http_path_decode("/..a/.b", 7, out, sizeof out), 7); /* names, not dots */
	assert_int_equal(lsp_http_path_decode("/aaaaaaaa", 9, out, 5), -1);
}

static void t_query(void **st)
{
	char v[16];
	const char *q = "a=1&_HLS_msn=42&_HLS_part=%33&empty=&x";
	(void)st;
	assert_int_equal(lsp_http_query_get(q, strlen(q), "_HLS_msn", v, sizeof v), 2);
	assert_string_equal(v, "42");
	assert_int_equal(lsp_http_query_get(q, strlen(q), "_HLS_part", v, sizeof v), 1);
	assert_string_equal(v, "3");
	assert_int_equal(lsp_http_query_get(q, strlen(q), "empty", v, sizeof v), 0);
	assert_int_equal(lsp_http_query_get(q, strlen(q), "x", v, sizeof v), 0);
	assert_int_equal(lsp_http_query_get(q, strlen(q), "_HLS", v, sizeof v), -1);
	assert_int_equal(lsp_http_query_get(NULL, 0, "a", v, sizeof v), -1);
	assert_int_equal(lsp_http_query_get("a=%4", 4, "a", v, sizeof v), -2);
	assert_int_equal(lsp_http_query_get("a=12345678901234567890", 22, "a", v, sizeof v), -2);
}

static void t_range(void **st)
{
	uint64_t a, b;
	(void)st;
	assert_int_equal(lsp_http_range("bytes=0-9", 9, 100, &a, &b), 0);
	assert_true(a == 0 && b == 9);
	assert_int_equal(lsp_http_range("bytes=90-", 9, 100, &a, &b), 0);
	assert_true(a == 90 && b == 99);
	assert_int_equal(lsp_http_range("bytes=-10", 9, 100, &a, &b), 0);
	assert_true(a == 90 && b == 99);
	assert_int_equal(lsp_http_range("bytes=50-500", 12, 100, &a, &b), 0);
	assert_true(a == 50 && b == 99);
	assert_int_equal(lsp_http_range("bytes=100-", 10, 100, &a, &b), -1);
	assert_int_equal(lsp_http_range("bytes=0-1,5-6", 13, 100, &a, &b), -2);
	assert_int_equal(lsp_http_range("items=0-1", 9, 100, &a, &b), -2);
	assert_int_equal(lsp_http_range("bytes=5-1", 9, 100, &a, &b), -2);
}

static void t_plstate(void **st)
{
	const char *pl = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.334\n"
			 "#EXT-X-MEDIA-SEQUENCE:10\n"
			 "#EXT-X-PART:DURATION=0.334,URI=\"seg10.0.m4s\"\n#EXTINF:1.0,\nseg10.m4s\n"
			 "#EXTINF:1.0,\nseg11.m4s\n"
			 "#EXT-X-PART:DURATION=0.334,URI=\"seg12.0.m4s\"\n"
			 "#EXT-X-PART:DURATION=0.334,URI=\"seg12.1.m4s\"\n"
			 "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg12.2.m4s\"\n";
	lsp_plstate s;
	(void)st;
	assert_int_equal(lsp_plstate_parse(pl, strlen(pl), &s), 0);
	assert_int_equal(s.msn, 10);
	assert_int_equal(s.segments, 2);
	assert_int_equal(s.parts, 2);
	assert_true(s.target == 2.0);
	assert_true(s.part_target > 0.33 && s.part_target < 0.34);
	assert_int_equal(lsp_plstate_ready(&s, 11, -1), 1);
	assert_int_equal(lsp_plstate_ready(&s, 11, 7), 1);
	assert_int_equal(lsp_plstate_ready(&s, 12, 1), 1);
	assert_int_equal(lsp_plstate_ready(&s, 12, 2), 0);  /* the preload hint: hold */
	assert_int_equal(lsp_plstate_ready(&s, 12, -1), 0); /* segment 12 not complete */
	assert_int_equal(lsp_plstate_ready(&s, 13, 0), 0);
	assert_int_equal(lsp_plstate_ready(&s, 14, -1), -1);
	assert_int_equal(lsp_plstate_ready(&s, 12, 500), -1);
	s.endlist = 1;
	assert_int_equal(lsp_plstate_ready(&s, 13, 0), 1);
	assert_int_equal(lsp_plstate_parse("nope", 4, &s), -1);
}

static void t_response(void **st)
{
	lsp_http_req r;
	int status = 0;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 3\r\n"
			 "Cache-Control: max-age=60\r\n\r\nabc";
	size_t vl;
	(void)st;
	assert_int_equal(lsp_http_parse_response(ok, strlen(ok), &status, &r), (int)strlen(ok) - 3);
	assert_int_equal(status, 200);
	assert_int_equal(r.content_length, 3);
	assert_non_null(lsp_http_header_get(&r, "cache-control", &vl));
	assert_int_equal(lsp_http_parse_response("HTTP/1.1 204\r\n\r\n", 16, &status, &r), 16);
	assert_int_equal(status, 204);
	assert_int_equal(lsp_http_parse_response("HTTP/1.1 200 OK\r\n", 17, &status, &r), 0);
	assert_int_equal(lsp_http_parse_response("HTTP/2 200 OK\r\n\r\n", 19, &status, &r), -400);
	assert_int_equal(lsp_http_parse_response("HTTP/1.1 99 x\r\n\r\n", 18, &status, &r), -400);
	assert_int_equal(lsp_http_parse_response("HTTP/1.1 200x\r\n\r\n", 18, &status, &r), -400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_basic), cmocka_unit_test(t_incomplete_and_limits), cmocka_unit_test(t_bad),
		cmocka_unit_test(t_keepalive), cmocka_unit_test(t_path), cmocka_unit_test(t_query),
		cmocka_unit_test(t_range), cmocka_unit_test(t_plstate), cmocka_unit_test(t_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
