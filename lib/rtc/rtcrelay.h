/* rtcrelay.h — the framing an origin lsp-rtc uses to stream a channel's
 * ring entries to edge lsp-rtc processes, without I/O.
 *
 *   edge ──GET /relay/<channel> HTTP/1.1──────────────────▶ origin lsp-rtc
 *          Authorization: Bearer <token>   (lib/rtc/rtcauth.h)
 *   edge ◀─200, Content-Type: application/x-lsp-relay ─── (no length: the
 *           body is the stream, until either side closes)
 *   body:  "LSPRLY01"  then frames, each a 32-byte header + len bytes:
 *   edge ──"LSPRLY01", then keyframe requests (kind 6) and pings (kind 4),
 *           header only, once the 200 came ─────────────▶ origin
 *
 *     0  kind  u8     1 video AU (Annex B) | 2 audio (ADTS) | 3 generation
 *                     | 4 ping | 5 ended | 6 keyframe request (edge to
 *                     origin only)  (1 and 2 are the ring's kinds)
 *     1  flags u8     1 keyframe, 0x80 "live": the newest entry when sent
 *     2  zero  u16
 *     4  len   u32    payload bytes (8 for kind 3, 0 for kinds 4 and 5)
 *     8  seq   u64    ring sequence number (kind 3: the ring generation)
 *    16  pts   i64    90 kHz (INT64_MIN: none)
 *    24  dts   i64    90 kHz (INT64_MIN: none)
 *    32  payload      kind 3: the ring's identity (u64: another file, or
 *                     another origin, has another one)
 *                     all integers big-endian
 *
 * The origin starts every stream with a generation frame and then the
 * entries from the newest keyframe it holds; a new generation (a restarted
 * writer) is announced with another generation frame; a ping goes out
 * after a second without anything else, so a reader can tell a dead
 * origin from a quiet one.
 *
 * The reader accepts any bytes: a wrong preface, an unknown kind, a
 * nonzero reserved field, a control frame with a payload, a payload over
 * the reader's bound or a time stamp beyond +-2^42 ticks (about 1.5 years;
 * keeps later arithmetic on them from overflowing) is an error and the
 * stream is to be dropped.  The reader owns one payload buffer, grown on
 * demand up to its bound; a frame it returns borrows that buffer until the
 * next call.  Functions return 0 / 1 or a negative errno. */
#ifndef LSP_RTCRELAY_H
#define LSP_RTCRELAY_H
#include <stddef.h>
#include <stdint.h>

#define LSP_RTCRELAY_PREFACE "LSPRLY01"
#define LSP_RTCRELAY_PREFACE_LEN 8
#define LSP_RTCRELAY_HDR 32
#define LSP_RTCRELAY_CTYPE "application/x-lsp-relay"

enum {
	LSP_RTCRELAY_VIDEO = 1,
	LSP_RTCRELAY_AUDIO = 2,
	LSP_RTCRELAY_GEN = 3,
	LSP_RTCRELAY_PING = 4,
	LSP_RTCRELAY_END = 5,
	LSP_RTCRELAY_KEYREQ = 6, /* edge → origin: a viewer below waits for a keyframe */
};
#define LSP_RTCRELAY_KEY 0x01
#define LSP_RTCRELAY_LIVE 0x80
#define LSP_RTCRELAY_TS_MAX (INT64_C(1) << 42)
#define LSP_RTCRELAY_GEN_LEN 8

typedef struct {
	int kind, flags;
	uint64_t seq;
	int64_t pts, dts;
	const uint8_t *data; /* borrowed from the reader until its next call */
	size_t len;
} lsp_rtcrelay_frame;

typedef struct {
	size_t max;          /* payload bound */
	int preface_ok;
	size_t hgot;         /* header bytes (or preface bytes) held */
	uint8_t hdr[LSP_RTCRELAY_HDR];
	lsp_rtcrelay_frame f;
	uint8_t *buf;        /* payload, grown up to max */
	size_t cap, got;
	int in_payload;
} lsp_rtcrelay_rd;

/* Header for one frame into out[LSP_RTCRELAY_HDR]. */
void lsp_rtcrelay_hdr(uint8_t *out, int kind, int flags, uint64_t seq, int64_t pts, int64_t dts, size_t len);
/* A whole generation frame (header + identity) into out[LSP_RTCRELAY_HDR +
 * LSP_RTCRELAY_GEN_LEN]; lsp_rtcrelay_gen_id reads the identity back from a
 * frame the reader returned. */
void lsp_rtcrelay_gen(uint8_t *out, uint64_t generation, uint64_t id);
uint64_t lsp_rtcrelay_gen_id(const lsp_rtcrelay_frame *f);

/* Start a reader with payloads of at most max bytes (nothing allocated yet). */
void lsp_rtcrelay_init(lsp_rtcrelay_rd *rd, size_t max);
/* Consume bytes from p[0..len): *used says how many were taken.  Returns 1
 * when a frame is complete in *f (call again with the rest), 0 when all
 * bytes were taken and more are needed, -EPROTO on a framing error,
 * -E2BIG on a payload over the bound, -ENOMEM.  After an error the reader
 * must be reset before it is used again. */
int lsp_rtcrelay_feed(lsp_rtcrelay_rd *rd, const uint8_t *p, size_t len, size_t *used, lsp_rtcrelay_frame *f);
/* Forget any partial frame and expect a new stream (preface first); the
 * buffer is kept. */
void lsp_rtcrelay_reset(lsp_rtcrelay_rd *rd);
void lsp_rtcrelay_free(lsp_rtcrelay_rd *rd);

#endif
