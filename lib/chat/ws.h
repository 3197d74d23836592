/* ws.h — WebSocket (RFC 6455) for a server, without I/O.
 *
 * The caller owns every byte and every socket; this module only looks at
 * bytes and writes into buffers it is given.
 *
 *   client                         server (lsp_ws_*)
 *     GET /ws/<ch> HTTP/1.1  ───▶  lsp_http_parse + lsp_ws_handshake:
 *     Upgrade: websocket           checks method, version 13, Upgrade,
 *     Sec-WebSocket-Key: k         Connection, key; writes the 101 reply
 *                            ◀───  101 Switching Protocols
 *                                  Sec-WebSocket-Accept: b64(sha1(k+GUID))
 *     masked frames          ───▶  lsp_ws_rx_feed: frame header, unmask,
 *                                  reassemble fragments, UTF-8 check of
 *                                  text and close reasons, control frames
 *                            ◀───  lsp_ws_frame_hdr + payload (unmasked)
 *
 * Limits are the caller's: a reassembled message never exceeds the rx
 * buffer's capacity (larger → close 1009).  Protocol violations give a
 * close code (1002 protocol error, 1007 bad UTF-8, 1009 too big) and the
 * receiver stays in a failed state; it never reads out of bounds. */
#ifndef LSP_WS_H
#define LSP_WS_H
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"

enum {
	LSP_WS_CONT = 0x0, LSP_WS_TEXT = 0x1, LSP_WS_BINARY = 0x2,
	LSP_WS_CLOSE = 0x8, LSP_WS_PING = 0x9, LSP_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1). */
enum {
	LSP_WS_NORMAL = 1000, LSP_WS_GOING_AWAY = 1001, LSP_WS_PROTOCOL = 1002,
	LSP_WS_UNSUPPORTED = 1003, LSP_WS_BAD_DATA = 1007, LSP_WS_POLICY = 1008,
	LSP_WS_TOO_BIG = 1009, LSP_WS_INTERNAL = 1011, LSP_WS_TRY_LATER = 1013,
};

#define LSP_WS_ACCEPT_LEN 28   /* base64 of 20 bytes */
#define LSP_WS_HDR_MAX 14

/* Sec-WebSocket-Accept for a client key into out (cap >= 29).  0 or -1. */
int lsp_ws_accept(const char *key, size_t keylen, char *out, size_t cap);

/* Check an upgrade request already parsed by lsp_http_parse and, when it is
 * a valid WebSocket opening handshake, write the 101 response into out.
 * Returns the response length (> 0), or a negative HTTP status (-400 bad
 * handshake, -405 not GET, -426 missing/unsupported version) — the caller
 * answers that status and closes. */
int lsp_ws_handshake(const lsp_http_req *req, char *out, size_t cap);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int lsp_utf8_valid(const uint8_t *s, size_t len);

/* One parsed frame header. */
typedef struct {
	int fin, opcode, masked;
	uint8_t mask[4];
	uint64_t len;     /* payload length */
	size_t hdr;       /* header length in bytes */
} lsp_ws_frame;

/* Parse a frame header from buf[0..len).  Returns the header length (> 0),
 * 0 when more bytes are needed, or -close code when the header is invalid
 * (reserved bits, unknown opcode, control frame fragmented or > 125 bytes,
 * non-minimal length, 64-bit length with the top bit set). */
int lsp_ws_frame_parse(const uint8_t *buf, size_t len, lsp_ws_frame *f);

/* Server frame header (no mask) for a payload of len bytes into out
 * (LSP_WS_HDR_MAX bytes).  Returns the header length. */
size_t lsp_ws_frame_hdr(uint8_t *out, int opcode, int fin, uint64_t len);

/* Unmask (or mask) p in place; off is the offset of p within the payload. */
void lsp_ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t off);

/* Receiver: reassembles messages into a caller-provided buffer. */
typedef struct {
	uint8_t *msg;      /* caller's buffer for the message being built */
	size_t cap;        /* its size: the largest message accepted */
	size_t len;        /* bytes in msg */
	int opcode;        /* TEXT/BINARY of the message being built, 0 if none */
	int require_mask;  /* 1 on a server: client frames must be masked */
	int failed;        /* close code once a violation was seen */
} lsp_ws_rx;

enum { LSP_WS_EV_NONE = 0, LSP_WS_EV_MESSAGE, LSP_WS_EV_PING, LSP_WS_EV_PONG, LSP_WS_EV_CLOSE, LSP_WS_EV_ERROR };

typedef struct {
	int type;            /* LSP_WS_EV_* */
	int opcode;          /* MESSAGE: TEXT or BINARY */
	const uint8_t *data; /* MESSAGE: rx->msg; PING/PONG/CLOSE: inside the input */
	size_t len;
	int code;            /* CLOSE: the peer's code (1005 if none); ERROR: ours */
} lsp_ws_event;

void lsp_ws_rx_init(lsp_ws_rx *rx, uint8_t *buf, size_t cap, int require_mask);

/* Consume at most one frame from buf[0..len) (unmasking it in place).
 * Returns the bytes consumed (0 when a whole frame is not there yet; the
 * caller keeps the bytes and calls again with more) and sets *ev.  A
 * frame is only consumed whole, so the caller's input buffer must hold a
 * frame of up to rx->cap + LSP_WS_HDR_MAX bytes.  After ERROR, every call
 * returns 0 with ERROR again. */
size_t lsp_ws_rx_feed(lsp_ws_rx *rx, uint8_t *buf, size_t len, lsp_ws_event *ev);

#endif
