/* tcpframe.h — RFC 4571 framing, as ICE-TCP (RFC 6544) carries STUN, DTLS
 * and SRTP: each packet on the TCP stream is preceded by its length, two
 * bytes big-endian.  No I/O: bytes in, whole packets out.
 *
 *   stream ── 00 3c │ 60-byte STUN │ 00 9a │ DTLS record │ … ──▶ packets
 *
 * A reader is a fixed buffer (one packet at most); lsp_tcpframe_feed
 * calls fn for every whole packet in what the bytes complete, in order,
 * however the stream was cut.  A zero length or one over the reader's
 * bound is malformed: the stream cannot be resynchronised, so the caller
 * closes that connection (and only that one). */
#ifndef LSP_TCPFRAME_H
#define LSP_TCPFRAME_H
#include <stddef.h>
#include <stdint.h>

#define LSP_TCPFRAME_MAX 4096 /* a packet's length at most (STUN, DTLS records, SRTP) */

typedef struct {
	size_t max;                    /* this reader's bound (<= LSP_TCPFRAME_MAX) */
	size_t have;                   /* bytes of the current frame held, header included */
	uint8_t buf[2 + LSP_TCPFRAME_MAX];
} lsp_tcpframe_rd;

/* A reader for packets of 1..max bytes (0 or more than LSP_TCPFRAME_MAX:
 * LSP_TCPFRAME_MAX). */
void lsp_tcpframe_init(lsp_tcpframe_rd *rd, size_t max);

/* Bytes in: fn(ctx, packet, len) for each whole packet (the packet lives
 * until fn returns; a negative return stops the feed and is returned).
 * 0 when every byte was taken, -EBADMSG on a malformed length (the reader
 * is then spent). */
int lsp_tcpframe_feed(lsp_tcpframe_rd *rd, const uint8_t *p, size_t n,
		      int (*fn)(void *ctx, const uint8_t *pkt, size_t len), void *ctx);

/* The two-byte header for a packet of len bytes into out: 2, or -1 when
 * len is 0 or over 65535. */
int lsp_tcpframe_head(uint8_t out[2], size_t len);

#endif
