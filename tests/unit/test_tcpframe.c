/* test_tcpframe — lib/rtc/tcpframe (RFC 4571): packets framed with the
 * header writer come back identical whether the stream arrives whole, a
 * byte at a time or cut anywhere; a zero length, one over the bound and
 * anything after it are refused; a callback's error stops the feed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/tcpframe.h"

struct got {
	uint8_t data[8192];
	size_t o, lens[16];
	int n, stop_at;
};

static int take(void *ctx, const uint8_t *p, size_t len)
{
	struct got *g = ctx;
	if (g->n == g->stop_at)
		return -EPIPE;
	assert_true(g->o + len <= sizeof g->data && g->n < 16);
	memcpy(g->data + g->o, p, len);
	g->o += len;
	g->lens[g->n++] = len;
	return 0;
}

/* three packets (1, 300, 1500 bytes) on one stream */
static size_t build(uint8_t *b, uint8_t *flat)
{
	static const size_t lens[] = { 1, 300, 1500 };
	size_t o = 0, f = 0;
	for (int k = 0; k < 3; k++) {
		assert_int_equal(lsp_tcpframe_head(b + o, lens[k]), 2);
		o += 2;
		for (size_t i = 0; i < lens[k]; i++)
			b[o++] = flat[f++] = (uint8_t)(i * 7 + (size_t)k);
	}
	return o;
}

static void whole_and_pieces(void **state)
{
	uint8_t b[4096], flat[4096];
	size_t n = build(b, flat);
	(void)state;
	for (size_t step = 1; step <= n; step = step < 8 ? step + 1 : step * 3) {
		lsp_tcpframe_rd rd;
		struct got g = { .stop_at = -1 };
		lsp_tcpframe_init(&rd, 1500);
		for (size_t o = 0; o < n; o += step)
			assert_int_equal(lsp_tcpframe_feed(&rd, b + o, o + step <= n ? step : n - o, take, &g), 0);
		assert_int_equal(g.n, 3);
		assert_int_equal(g.lens[0], 1);
		assert_int_equal(g.lens[1], 300);
		assert_int_equal(g.lens[2], 1500);
		assert_memory_equal(g.data, flat, 1801);
	}
}

static void malformed(void **state)
{
	lsp_tcpframe_rd rd;
	struct got g = { .stop_at = -1 };
	uint8_t zero[] = { 0, 0, 1, 2 }, big[] = { 0x05, 0xdd }, ok[] = { 0, 1, 9 };
	(void)state;
	lsp_tcpframe_init(&rd, 1500);
	assert_int_equal(lsp_tcpframe_feed(&rd, zero, sizeof zero, take, &g), -EBADMSG);
	assert_int_equal(lsp_tcpframe_feed(&rd, ok, sizeof ok, take, &g), -EBADMSG); /* spent */
	assert_int_equal(g.n, 0);
	lsp_tcpframe_init(&rd, 1500); /* 1501 > the bound, even a byte at a time */
	assert_int_equal(lsp_tcpframe_feed(&rd, big, 1, take, &g), 0);
	assert_int_equal(lsp_tcpframe_feed(&rd, big + 1, 1, take, &g), -EBADMSG);
	lsp_tcpframe_init(&rd, 0); /* 0: LSP_TCPFRAME_MAX */
	assert_int_equal(rd.max, LSP_TCPFRAME_MAX);
	assert_int_equal(lsp_tcpframe_feed(&rd, big, sizeof big, take, &g), 0);
	assert_int_equal(lsp_tcpframe_head(big, 0), -1);
	assert_int_equal(lsp_tcpframe_head(big, 65536), -1);
	assert_int_equal(lsp_tcpframe_head(big, 65535), 2);
	assert_int_equal(big[0], 0xff);
}

static void callback_stops(void **state)
{
	uint8_t b[4096], flat[4096];
	size_t n = build(b, flat);
	lsp_tcpframe_rd rd;
	struct got g = { .stop_at = 1 };
	(void)state;
	lsp_tcpframe_init(&rd, 1500);
	assert_int_equal(lsp_tcpframe_feed(&rd, b, n, take, &g), -EPIPE);
	assert_int_equal(g.n, 1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(whole_and_pieces),
		cmocka_unit_test(malformed),
		cmocka_unit_test(callback_stops),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
