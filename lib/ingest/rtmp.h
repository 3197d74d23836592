/* rtmp.h — the server side of RTMP publishing, sans I/O.
 *
 * The caller owns the socket.  It feeds received bytes in with
 * lsp_rtmp_feed(), pulls events out with lsp_rtmp_step(), answers the two
 * decisions (connect, publish) with lsp_rtmp_accept()/lsp_rtmp_refuse(),
 * and writes whatever lsp_rtmp_out() holds to the peer.  Nothing here
 * blocks, reads a clock, or touches a file descriptor, so it can be driven
 * by canned bytes in tests and by a fuzzer.
 *
 * Everything is bounded: the input buffer (LSP_RTMP_IN_CAP), the output
 * buffer (LSP_RTMP_OUT_CAP), the message size (LSP_RTMP_MAX_MSG), the
 * number of chunk streams (LSP_RTMP_MAX_CS) and the total bytes held for
 * partial messages.  A peer exceeding a bound gets a negative error from
 * lsp_rtmp_step() (with a reason in err) and the caller closes.
 * The object owns its buffers; event data stays valid until the next call
 * to lsp_rtmp_step() or lsp_rtmp_free(). */
#ifndef LSP_RTMP_H
#define LSP_RTMP_H
#include <stddef.h>
#include <stdint.h>

#define LSP_RTMP_IN_CAP (32 * 1024)
#define LSP_RTMP_OUT_CAP (16 * 1024)
#define LSP_RTMP_MAX_MSG (8 * 1024 * 1024)
#define LSP_RTMP_MAX_CS 16
#define LSP_RTMP_OUT_CHUNK 4096

enum lsp_rtmp_stage {
	LSP_RTMP_HS_C0C1,      /* waiting for C0+C1 */
	LSP_RTMP_HS_C2,        /* S0+S1+S2 queued, waiting for C2 */
	LSP_RTMP_WAIT_CONNECT, /* handshake done, waiting for connect */
	LSP_RTMP_CONNECT_PENDING, /* connect event given, caller decides */
	LSP_RTMP_READY,        /* connected: releaseStream/FCPublish/createStream/publish */
	LSP_RTMP_PUBLISH_PENDING, /* publish event given, caller decides */
	LSP_RTMP_PUBLISHING,   /* media flows */
	LSP_RTMP_ENDED,        /* unpublished or refused: nothing more is parsed */
};

enum lsp_rtmp_ev_type {
	LSP_RTMP_EV_CONNECT = 1, /* app, tcurl */
	LSP_RTMP_EV_PUBLISH,     /* name (stream key, query string removed) */
	LSP_RTMP_EV_MEDIA,       /* kind (8 audio, 9 video), ts, data, len: an FLV tag body */
	LSP_RTMP_EV_META,        /* width, height, fps from onMetaData (0 when absent),
				  * vcodec, acodec (videocodecid/audiocodecid: a legacy
				  * FLV id or a FourCC; -1 when absent) */
	LSP_RTMP_EV_UNPUBLISH,   /* FCUnpublish / deleteStream / closeStream */
};

typedef struct {
	int type;
	char app[128];
	char tcurl[256];
	char name[256];
	int kind;
	uint32_t ts;
	const uint8_t *data;
	size_t len;
	double width, height, fps;
	int64_t vcodec, acodec;
} lsp_rtmp_event;

typedef struct lsp_rtmp lsp_rtmp;

/* New session; seed varies the S1 filler bytes, epoch_ms goes into S1.
 * NULL when out of memory. */
lsp_rtmp *lsp_rtmp_new(uint32_t epoch_ms, uint64_t seed);
void lsp_rtmp_free(lsp_rtmp *r);

/* Copy up to len received bytes in; returns how many were taken (0 when
 * the input buffer is full: call lsp_rtmp_step() first). */
size_t lsp_rtmp_feed(lsp_rtmp *r, const uint8_t *p, size_t len);
/* Free input space now. */
size_t lsp_rtmp_space(const lsp_rtmp *r);

/* 1 with *ev filled, 0 when more input (or a decision) is needed,
 * negative on a protocol violation (err says why). */
int lsp_rtmp_step(lsp_rtmp *r, lsp_rtmp_event *ev, char *err, size_t errcap);

/* Answer the pending connect or publish.  refuse queues an error status
 * with code/description and moves to ENDED; while PUBLISHING it queues the
 * onStatus error alone (a stream lsp cannot serve).  -EINVAL if nothing
 * pending, -ENOBUFS if the output buffer is full. */
int lsp_rtmp_accept(lsp_rtmp *r);
int lsp_rtmp_refuse(lsp_rtmp *r, const char *code, const char *desc);

/* Bytes waiting to be sent; lsp_rtmp_out_done() drops n of them. */
const uint8_t *lsp_rtmp_out(const lsp_rtmp *r, size_t *len);
void lsp_rtmp_out_done(lsp_rtmp *r, size_t n);

int lsp_rtmp_stage(const lsp_rtmp *r);
const char *lsp_rtmp_stage_name(int stage);
/* Bytes consumed from the peer so far (after the handshake too). */
uint64_t lsp_rtmp_bytes_in(const lsp_rtmp *r);

#endif
