/* test_ingest_rtmpc.h — a canned RTMP publisher for the ingest tests
 * (test_ingest, test_ingestsrv): the bytes a client sends for the
 * handshake (C0, C1, C2), connect(app), createStream and publish(key), in
 * one buffer — lib/rtmp takes them pipelined — plus, optionally, one
 * video message.  Chunk size 128, as a client starts with. */
#ifndef TEST_INGEST_RTMPC_H
#define TEST_INGEST_RTMPC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/amf0.h"

struct rtmpc {
	uint8_t p[16384];
	size_t n;
};

/* One message as chunks of 128: a type 0 header, then type 3 ones. */
static inline void rtmpc_chunked(struct rtmpc *b, int csid, uint8_t type, uint32_t msid, const uint8_t *p, size_t n)
{
	size_t off = 0;
	uint8_t *o = b->p + b->n;
	o[0] = (uint8_t)csid;
	o[1] = o[2] = o[3] = 0; /* timestamp */
	o[4] = (uint8_t)(n >> 16), o[5] = (uint8_t)(n >> 8), o[6] = (uint8_t)n;
	o[7] = type;
	o[8] = (uint8_t)msid, o[9] = (uint8_t)(msid >> 8), o[10] = 0, o[11] = 0;
	b->n += 12;
	for (;;) {
		size_t c = n - off < 128 ? n - off : 128;
		memcpy(b->p + b->n, p + off, c);
		b->n += c;
		off += c;
		if (off >= n)
			break;
		b->p[b->n++] = (uint8_t)(0xc0 | csid);
	}
}

/* A command: name, transaction id, then the connect object (app) or null,
 * then for publish the stream name and "live". */
static inline void rtmpc_cmd(struct rtmpc *b, uint32_t msid, const char *name, double txn, const char *app,
			     const char *stream)
{
	uint8_t m[512];
	lsp_amf0_wr w;
	lsp_amf0_wr_init(&w, m, sizeof m);
	lsp_amf0_put_string(&w, name);
	lsp_amf0_put_number(&w, txn);
	if (app) {
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "app");
		lsp_amf0_put_string(&w, app);
		lsp_amf0_put_key(&w, "tcUrl");
		lsp_amf0_put_string(&w, "rtmp://127.0.0.1/live");
		lsp_amf0_put_object_end(&w);
	} else {
		lsp_amf0_put_null(&w);
	}
	if (stream) {
		lsp_amf0_put_string(&w, stream);
		lsp_amf0_put_string(&w, "live");
	}
	rtmpc_chunked(b, 3, 20, msid, m, w.len);
}

/* The whole publish: handshake, connect(app), createStream, publish(key). */
static inline void rtmpc_publish(struct rtmpc *b, const char *app, const char *key)
{
	b->p[0] = 3;
	for (int i = 1; i < 1 + 1536 * 2; i++)
		b->p[i] = (uint8_t)(i * 7);
	b->n = 1 + 1536 * 2;
	rtmpc_cmd(b, 0, "connect", 1, app, NULL);
	rtmpc_cmd(b, 0, "createStream", 2, NULL, NULL);
	rtmpc_cmd(b, 1, "publish", 3, NULL, key);
}

/* One media message (8 audio, 9 video) on stream 1: an FLV tag body. */
static inline void rtmpc_tag(struct rtmpc *b, uint8_t type, const uint8_t *p, size_t n)
{
	rtmpc_chunked(b, type == 8 ? 4 : 6, type, 1, p, n);
}

/* One H.264 inter frame on stream 1, n bytes in all (at least 5): before
 * any sequence header it is not muxed, but it is counted in bytes. */
static inline void rtmpc_video(struct rtmpc *b, size_t n)
{
	uint8_t m[1024] = { 0x27, 1 };
	rtmpc_tag(b, 9, m, n < sizeof m ? n : sizeof m);
}

#endif
