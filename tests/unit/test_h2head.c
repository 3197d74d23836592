/* test_h2head.c — lib/edge/h2head.c: HTTP/2 request headers become an
 * HTTP/1.1 head that core/http parses (pseudo-headers, Host, limits, bad
 * bytes), and response header lines become lower-case pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/h2head.h"

static int add(lsp_h2head *h, const char *n, const char *v)
{
	return lsp_h2head_add(h, (const unsigned char *)n, strlen(n), (const unsigned char *)v, strlen(v));
}

static void request(void **state)
{
	lsp_h2head h = { 0 };
	lsp_http_req rq;
	char buf[LSP_HTTP_HEAD_MAX], v[32];
	size_t vl;
	const char *r;
	(void)state;
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(add(&h, ":scheme", "https"), 0);
	assert_int_equal(add(&h, ":authority", "edge.example:8443"), 0);
	assert_int_equal(add(&h, ":path", "/hls/demo/360p/index.m3u8?_HLS_msn=12&_HLS_part=3"), 0);
	assert_int_equal(add(&h, "range", "bytes=0-9"), 0);
	assert_int_equal(add(&h, "cookie", "a=1"), 0);
	assert_int_equal(add(&h, "cookie", "b=2"), 0);
	assert_true(lsp_h2head_parse(&h, buf, &rq) > 0);
	assert_int_equal(rq.method, LSP_HTTP_GET);
	assert_int_equal(rq.path_len, strlen("/hls/demo/360p/index.m3u8"));
	assert_int_equal(lsp_http_query_get(rq.query, rq.query_len, "_HLS_part", v, sizeof v), 1);
	assert_string_equal(v, "3");
	assert_non_null(r = lsp_http_header_get(&rq, "host", &vl));
	assert_int_equal(vl, 17);
	assert_memory_equal(r, "edge.example:8443", 17);
	assert_non_null(r = lsp_http_header_get(&rq, "Range", &vl));
	assert_memory_equal(r, "bytes=0-9", 9);
	assert_int_equal(rq.content_length, -1);
	h.body = 5; /* DATA seen without content-length: counted as one */
	assert_true(lsp_h2head_parse(&h, buf, &rq) > 0);
	assert_int_equal(rq.content_length, 5);
	lsp_h2head_free(&h);
	lsp_h2head_free(&h);
}

static void refused(void **state)
{
	lsp_h2head h = { 0 };
	lsp_http_req rq;
	char buf[LSP_HTTP_HEAD_MAX], *big = malloc(LSP_HTTP_HEAD_MAX * 5);
	(void)state;
	assert_non_null(big);
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -400); /* no :path */
	assert_int_equal(add(&h, ":path", "/a b"), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -400);
	lsp_h2head_free(&h);

	memset(&h, 0, sizeof h);
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(add(&h, ":path", "/"), 0);
	assert_int_equal(add(&h, "x-a", "1\r\nInjected: yes"), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -400);
	lsp_h2head_free(&h);

	memset(&h, 0, sizeof h);
	memset(big, 'a', LSP_HTTP_TARGET_MAX + 1);
	big[0] = '/';
	big[LSP_HTTP_TARGET_MAX + 1] = 0;
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(add(&h, ":path", big), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -414);
	lsp_h2head_free(&h);

	memset(&h, 0, sizeof h);
	memset(big, 'a', 9000);
	big[9000] = 0;
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(add(&h, ":path", "/"), 0);
	assert_int_equal(add(&h, "x-big", big), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -431);
	/* a header block far past the limits: the connection goes */
	memset(big, 'a', LSP_H2HEAD_FLOOD);
	big[LSP_H2HEAD_FLOOD] = 0;
	assert_int_equal(add(&h, "x-flood", big), -1);
	lsp_h2head_free(&h);

	memset(&h, 0, sizeof h);
	assert_int_equal(add(&h, ":method", "GET"), 0);
	assert_int_equal(add(&h, ":method", "POST"), 0); /* twice */
	assert_int_equal(add(&h, ":path", "/"), 0);
	assert_int_equal(lsp_h2head_parse(&h, buf, &rq), -400);
	lsp_h2head_free(&h);
	free(big);
}

static void lines(void **state)
{
	const char *n[8], *v[8];
	size_t nl[8], vl[8], k;
	char scratch[64];
	(void)state;
	k = lsp_h2head_lines("Accept-Ranges: bytes\r\nConnection: close\r\nContent-Range: bytes */10\r\n", n, nl, v, vl, 8,
			     scratch, sizeof scratch);
	assert_int_equal(k, 2);
	assert_int_equal(nl[0], 13);
	assert_memory_equal(n[0], "accept-ranges", 13);
	assert_memory_equal(v[0], "bytes", vl[0]);
	assert_memory_equal(n[1], "content-range", 13);
	assert_int_equal(vl[1], 10);
	assert_int_equal(lsp_h2head_lines(NULL, n, nl, v, vl, 8, scratch, sizeof scratch), 0);
	assert_int_equal(lsp_h2head_lines("no colon\r\n", n, nl, v, vl, 8, scratch, sizeof scratch), 0);
	assert_int_equal(lsp_h2head_lines("A: 1\r\nB: 2\r\n", n, nl, v, vl, 1, scratch, sizeof scratch), 1);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(request), cmocka_unit_test(refused), cmocka_unit_test(lines) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
