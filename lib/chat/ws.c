/* ws.c — RFC 6455 server side without I/O; see ws.h for the contract.
 * Pure functions over caller-owned bytes: no allocation, no I/O. */
#include "chat/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int lsp_ws_accept(const char *key, size_t keylen, char *out, size_t cap)
{
	unsigned char buf[128], md[SHA_DIGEST_LENGTH];
	size_t gl = sizeof ws_guid - 1;
	if (cap < LSP_WS_ACCEPT_LEN + 1 || keylen == 0 || keylen + gl > sizeof buf)
		return -1;
	memcpy(buf, key, keylen);
	memcpy(buf + keylen, ws_guid, gl);
	SHA1(buf, keylen + gl, md);
	if (EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH) != LSP_WS_ACCEPT_LEN)
		return -1;
	return 0;
}

/* A client key is base64 of 16 bytes: 24 characters ending in "==". */
static int key_ok(const char *k, size_t n)
{
	if (n != 24 || k[22] != '=' || k[23] != '=')
		return 0;
	for (size_t i = 0; i < 22; i++) {
		unsigned char c = (unsigned char)k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		      c == '/'))
			return 0;
	}
	return 1;
}

int lsp_ws_handshake(const lsp_http_req *req, char *out, size_t cap)
{
	const char *v;
	size_t vl = 0;
	char acc[LSP_WS_ACCEPT_LEN + 1];
	int n;

	if (req->method != LSP_HTTP_GET)
		return -405;
	if (req->minor < 1)
		return -400;
	if (!(v = lsp_http_header_get(req, "Upgrade", &vl)) || !lsp_http_list_has(v, vl, "websocket"))
		return -426;
	if (!(v = lsp_http_header_get(req, "Connection", &vl)) || !lsp_http_list_has(v, vl, "upgrade"))
		return -400;
	if (!(v = lsp_http_header_get(req, "Sec-WebSocket-Version", &vl)) || vl != 2 || memcmp(v, "13", 2) != 0)
		return -426;
	if (!(v = lsp_http_header_get(req, "Sec-WebSocket-Key", &vl)) || !key_ok(v, vl))
		return -400;
	if (lsp_ws_accept(v, vl, acc, sizeof acc) < 0)
		return -400;
	n = snprintf(out, cap,
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n",
		     acc);
	if (n < 0 || (size_t)n >= cap)
		return -400;
	return n;
}

int lsp_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t need;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3, cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += need + 1;
	}
	return 1;
}

int lsp_ws_frame_parse(const uint8_t *buf, size_t len, lsp_ws_frame *f)
{
	size_t h = 2;
	uint64_t pl;
	if (len < 2)
		return 0;
	memset(f, 0, sizeof *f);
	f->fin = buf[0] >> 7;
	f->opcode = buf[0] & 0x0F;
	f->masked = buf[1] >> 7;
	if (buf[0] & 0x70)
		return -LSP_WS_PROTOCOL; /* no extension negotiated */
	switch (f->opcode) {
	case LSP_WS_CONT: case LSP_WS_TEXT: case LSP_WS_BINARY:
		break;
	case LSP_WS_CLOSE: case LSP_WS_PING: case LSP_WS_PONG:
		if (!f->fin || (buf[1] & 0x7F) > 125)
			return -LSP_WS_PROTOCOL;
		break;
	default:
		return -LSP_WS_PROTOCOL;
	}
	pl = buf[1] & 0x7F;
	if (pl == 126) {
		if (len < 4)
			return 0;
		pl = ((uint64_t)buf[2] << 8) | buf[3];
		if (pl < 126)
			return -LSP_WS_PROTOCOL;
		h = 4;
	} else if (pl == 127) {
		if (len < 10)
			return 0;
		pl = 0;
		for (int i = 0; i < 8; i++)
			pl = (pl << 8) | buf[2 + i];
		if (pl >> 63 || pl < 65536)
			return -LSP_WS_PROTOCOL;
		h = 10;
	}
	if (f->masked) {
		if (len < h + 4)
			return 0;
		memcpy(f->mask, buf + h, 4);
		h += 4;
	}
	f->len = pl;
	f->hdr = h;
	return (int)h;
}

size_t lsp_ws_frame_hdr(uint8_t *out, int opcode, int fin, uint64_t len)
{
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

void lsp_ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] ^= mask[(off + i) & 3];
}

void lsp_ws_rx_init(lsp_ws_rx *rx, uint8_t *buf, size_t cap, int require_mask)
{
	memset(rx, 0, sizeof *rx);
	rx->msg = buf;
	rx->cap = cap;
	rx->require_mask = require_mask;
}

static size_t fail(lsp_ws_rx *rx, lsp_ws_event *ev, int code)
{
	rx->failed = code;
	ev->type = LSP_WS_EV_ERROR;
	ev->code = code;
	return 0;
}

size_t lsp_ws_rx_feed(lsp_ws_rx *rx, uint8_t *buf, size_t len, lsp_ws_event *ev)
{
	lsp_ws_frame f;
	int h;
	uint8_t *p;

	memset(ev, 0, sizeof *ev);
	if (rx->failed)
		return fail(rx, ev, rx->failed);
	h = lsp_ws_frame_parse(buf, len, &f);
	if (h < 0)
		return fail(rx, ev, -h);
	if (h == 0)
		return 0;
	if (rx->require_mask && !f.masked)
		return fail(rx, ev, LSP_WS_PROTOCOL);
	/* Too big is decided from the header alone, before the payload comes. */
	if (f.opcode < LSP_WS_CLOSE) {
		size_t have = f.opcode == LSP_WS_CONT ? rx->len : 0;
		if (f.len > rx->cap - have)
			return fail(rx, ev, LSP_WS_TOO_BIG);
	}
	if ((uint64_t)(len - (size_t)h) < f.len)
		return 0;
	p = buf + h;
	if (f.masked)
		lsp_ws_unmask(p, (size_t)f.len, f.mask, 0);
	switch (f.opcode) {
	case LSP_WS_CONT:
		if (!rx->opcode)
			return fail(rx, ev, LSP_WS_PROTOCOL);
		break;
	case LSP_WS_TEXT: case LSP_WS_BINARY:
		if (rx->opcode)
			return fail(rx, ev, LSP_WS_PROTOCOL); /* new message inside a fragmented one */
		rx->opcode = f.opcode;
		rx->len = 0;
		break;
	case LSP_WS_PING: case LSP_WS_PONG:
		ev->type = f.opcode == LSP_WS_PING ? LSP_WS_EV_PING : LSP_WS_EV_PONG;
		ev->data = p;
		ev->len = (size_t)f.len;
		return (size_t)h + (size_t)f.len;
	case LSP_WS_CLOSE:
		ev->type = LSP_WS_EV_CLOSE;
		ev->code = 1005;
		if (f.len == 1)
			return fail(rx, ev, LSP_WS_PROTOCOL);
		if (f.len >= 2) {
			int c = (p[0] << 8) | p[1];
			if (c < 1000 || c == 1004 || c == 1005 || c == 1006 || (c > 1014 && c < 3000) || c > 4999)
				return fail(rx, ev, LSP_WS_PROTOCOL);
			if (!lsp_utf8_valid(p + 2, (size_t)f.len - 2))
				return fail(rx, ev, LSP_WS_BAD_DATA);
			ev->code = c;
			ev->data = p + 2;
			ev->len = (size_t)f.len - 2;
		}
		return (size_t)h + (size_t)f.len;
	}
	memcpy(rx->msg + rx->len, p, (size_t)f.len);
	rx->len += (size_t)f.len;
	if (f.fin) {
		if (rx->opcode == LSP_WS_TEXT && !lsp_utf8_valid(rx->msg, rx->len))
			return fail(rx, ev, LSP_WS_BAD_DATA);
		ev->type = LSP_WS_EV_MESSAGE;
		ev->opcode = rx->opcode;
		ev->data = rx->msg;
		ev->len = rx->len;
		rx->opcode = 0;
		rx->len = 0; /* data stays readable until the next feed */
	}
	return (size_t)h + (size_t)f.len;
}
