/* Unit tests: lib/chat/ws.c — accept key (RFC 6455 §1.3 sample), handshake
 * checks, frame parsing limits, reassembly, UTF-8 and close codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/http.h"
#include "chat/ws.h"

static void accept_key(void **s)
{
	char out[32];
	(void)s;
	assert_int_equal(lsp_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out, sizeof out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static int hs(const char *req, char *out, size_t cap)
{
	lsp_http_req r;
	int n = lsp_http_parse(req, strlen(req), &r);
	if (n <= 0)
		return n;
	return lsp_ws_handshake(&r, out, cap);
}

static void handshake(void **s)
{
	char out[512];
	(void)s;
	assert_true(hs("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
		       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		       out, sizeof out) > 0);
	assert_non_null(strstr(out, "101 Switching Protocols"));
	assert_non_null(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_int_equal(hs("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			    "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n", out, sizeof out), -400);
	assert_int_equal(hs("GET /ws/a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			    out, sizeof out), -426);
	assert_int_equal(hs("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n",
			    out, sizeof out), -426);
	assert_int_equal(hs("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			    out, sizeof out), -400);
	assert_int_equal(hs("POST /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			    out, sizeof out), -405);
}

static void utf8(void **s)
{
	(void)s;
	assert_true(lsp_utf8_valid((const uint8_t *)"plain", 5));
	assert_true(lsp_utf8_valid((const uint8_t *)"\xe2\x98\x83\xf0\x9f\x98\x80", 7));
	assert_false(lsp_utf8_valid((const uint8_t *)"\xc0\x80", 2));         /* overlong NUL */
	assert_false(lsp_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
	assert_false(lsp_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(lsp_utf8_valid((const uint8_t *)"\xe2\x98", 2));         /* truncated */
	assert_false(lsp_utf8_valid((const uint8_t *)"\xff", 1));
}

/* Build a masked client frame into out; returns its length. */
static size_t mk(uint8_t *out, int b0, const char *p, size_t n)
{
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	size_t h = lsp_ws_frame_hdr(out, b0 & 0x0F, b0 & 0x80, n);
	out[1] |= 0x80;
	out[0] = (uint8_t)b0;
	memcpy(out + h, mask, 4);
	memcpy(out + h + 4, p, n);
	lsp_ws_unmask(out + h + 4, n, mask, 0);
	return h + 4 + n;
}

static void frames(void **s)
{
	uint8_t msg[64], in[256];
	lsp_ws_rx rx;
	lsp_ws_event ev;
	size_t n, off = 0, used;
	(void)s;
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	/* fragmented text with a ping in between */
	n = mk(in, 0x01, "hel", 3);
	n += mk(in + n, 0x89, "p", 1);
	n += mk(in + n, 0x80, "lo", 2);
	assert_int_equal(lsp_ws_rx_feed(&rx, in, 3, &ev), 0); /* partial header+payload */
	used = lsp_ws_rx_feed(&rx, in, n, &ev);
	assert_int_equal(used, 9);
	assert_int_equal(ev.type, LSP_WS_EV_NONE);
	off += used;
	used = lsp_ws_rx_feed(&rx, in + off, n - off, &ev);
	assert_int_equal(ev.type, LSP_WS_EV_PING);
	assert_memory_equal(ev.data, "p", 1);
	off += used;
	used = lsp_ws_rx_feed(&rx, in + off, n - off, &ev);
	assert_int_equal(ev.type, LSP_WS_EV_MESSAGE);
	assert_int_equal(ev.len, 5);
	assert_memory_equal(ev.data, "hello", 5);
	assert_int_equal(off + used, n);
	/* too big: decided from the header alone */
	lsp_ws_rx_init(&rx, msg, 4, 1);
	n = mk(in, 0x81, "12345", 5);
	assert_int_equal(lsp_ws_rx_feed(&rx, in, 6, &ev), 0); /* header and mask, no payload yet */
	assert_int_equal(ev.type, LSP_WS_EV_ERROR);
	assert_int_equal(ev.code, LSP_WS_TOO_BIG);
	assert_int_equal(lsp_ws_rx_feed(&rx, in, n, &ev), 0); /* stays failed */
	assert_int_equal(ev.type, LSP_WS_EV_ERROR);
	/* unmasked, reserved bits, bad UTF-8, bad close code */
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	in[0] = 0x81, in[1] = 0x00;
	lsp_ws_rx_feed(&rx, in, 2, &ev);
	assert_int_equal(ev.code, LSP_WS_PROTOCOL);
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	n = mk(in, 0xC1, "x", 1);
	lsp_ws_rx_feed(&rx, in, n, &ev);
	assert_int_equal(ev.code, LSP_WS_PROTOCOL);
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	n = mk(in, 0x81, "\xff", 1);
	lsp_ws_rx_feed(&rx, in, n, &ev);
	assert_int_equal(ev.code, LSP_WS_BAD_DATA);
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	n = mk(in, 0x88, "\x03\xe8ok", 4);
	lsp_ws_rx_feed(&rx, in, n, &ev);
	assert_int_equal(ev.type, LSP_WS_EV_CLOSE);
	assert_int_equal(ev.code, 1000);
	lsp_ws_rx_init(&rx, msg, sizeof msg, 1);
	n = mk(in, 0x88, "\x03\xed", 2); /* 1005 may not be sent */
	lsp_ws_rx_feed(&rx, in, n, &ev);
	assert_int_equal(ev.type, LSP_WS_EV_ERROR);
}

static void header_sizes(void **s)
{
	uint8_t h[LSP_WS_HDR_MAX];
	lsp_ws_frame f;
	(void)s;
	assert_int_equal(lsp_ws_frame_hdr(h, LSP_WS_TEXT, 1, 125), 2);
	assert_int_equal(lsp_ws_frame_hdr(h, LSP_WS_TEXT, 1, 126), 4);
	assert_int_equal(lsp_ws_frame_parse(h, 4, &f), 4);
	assert_int_equal(f.len, 126);
	assert_int_equal(lsp_ws_frame_hdr(h, LSP_WS_TEXT, 1, 70000), 10);
	assert_int_equal(lsp_ws_frame_parse(h, 10, &f), 10);
	assert_int_equal(f.len, 70000);
	assert_int_equal(lsp_ws_frame_parse(h, 9, &f), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(accept_key), cmocka_unit_test(handshake), cmocka_unit_test(utf8),
		cmocka_unit_test(frames),     cmocka_unit_test(header_sizes),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
