/* rtp.h — RTP/RTCP framing (RFC 3550, 4585, 5104) and H.264 payload
 * (RFC 6184: single NAL unit, STAP-A, FU-A), without I/O.
 *
 *   Annex B access unit ──lsp_h264_packetize──▶ RTP payloads (≤ mtu, marker on the last)
 *   RTP payloads ──lsp_h264_depack──▶ Annex B access unit (at the marker)
 *   RTCP compound ──lsp_rtcp_parse──▶ NACK list, PLI/FIR, SR times, RR loss, REMB
 *
 * Parsers accept any bytes and only look within len; builders write into
 * caller buffers and return the length or -1 if it does not fit. */
#ifndef LSP_RTP_H
#define LSP_RTP_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int pt, marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	size_t hdr_len;      /* payload starts here */
	size_t payload_len;  /* without padding */
} lsp_rtp_hdr;

/* 1 if the bytes look like RTP/RTCP (version 2). */
int lsp_rtp_is(const uint8_t *p, size_t len);
/* 1 if an RTP-or-RTCP packet is RTCP (payload type 192..223 with marker bit). */
int lsp_rtp_is_rtcp(const uint8_t *p, size_t len);
int lsp_rtp_parse(const uint8_t *p, size_t len, lsp_rtp_hdr *h);
/* 12-byte header (no CSRC, no extension). */
void lsp_rtp_header(uint8_t *p, int pt, int marker, uint16_t seq, uint32_t ts, uint32_t ssrc);

#define LSP_RTCP_NACK_MAX 256
#define LSP_RTCP_RB_MAX 4
typedef struct {
	int pli, fir, bye, sr;
	uint32_t media_ssrc;          /* of the last PLI/FIR */
	int nnack;
	uint16_t nack[LSP_RTCP_NACK_MAX];
	uint32_t nack_ssrc[LSP_RTCP_NACK_MAX];
	uint32_t sr_ssrc, sr_rtp;     /* last SR: sender, RTP time */
	uint64_t sr_ntp;
	int rr;                       /* receiver report blocks seen */
	uint32_t rr_lost;             /* cumulative lost of the last block */
	int nrb;                      /* report blocks of RRs and SRs kept (LSP_RTCP_RB_MAX at most): */
	uint32_t rb_ssrc[4];          /* the source each is about */
	uint8_t rb_frac[4];           /* its fraction lost since the previous report, 0..255 */
	uint64_t remb;                /* receiver-estimated max bitrate (bps) of a REMB; 0 none */
} lsp_rtcp_info;

/* Parse a (decrypted) compound RTCP packet.  0, or -1 when the framing is
 * bad (what was read before the bad part stays in *i). */
int lsp_rtcp_parse(const uint8_t *p, size_t len, lsp_rtcp_info *i);
int lsp_rtcp_sr(uint8_t *p, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp, uint32_t pkts,
		uint32_t octets);
int lsp_rtcp_pli(uint8_t *p, size_t cap, uint32_t sender, uint32_t media);
int lsp_rtcp_nack(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint16_t pid, uint16_t blp);
/* Receiver-estimated max bitrate (draft-alvestrand-rmcat-remb) for media:
 * tells a browser publisher how much it may send. */
int lsp_rtcp_remb(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint64_t bps);
/* Receiver report with one block about media (for publishers' senders). */
int lsp_rtcp_rr(uint8_t *p, size_t cap, uint32_t sender, uint32_t media, uint32_t ext_seq);

/* Split an Annex B access unit into RTP payloads of at most mtu bytes:
 * single NAL units and FU-A fragments (AUD and filler NALs dropped).
 * cb gets each payload as two pieces (a 0..2 byte prefix and a slice of
 * the AU) and the marker; a non-zero return from cb stops.  Returns the
 * number of payloads, or -1 when cb stopped. */
typedef int (*lsp_rtp_payload_fn)(void *ctx, const uint8_t *pre, size_t prelen, const uint8_t *p,
				  size_t len, int marker);
int lsp_h264_packetize(const uint8_t *au, size_t len, size_t mtu, lsp_rtp_payload_fn cb, void *ctx);

/* Next NAL unit in an Annex B buffer from *off: 1 and [*nal, *nlen), or 0 at the end. */
int lsp_h264_next_nal(const uint8_t *p, size_t len, size_t *off, const uint8_t **nal, size_t *nlen);

/* The picture size an H.264 SPS NAL unit (with its header byte, emulation
 * prevention bytes in place) declares, cropping applied: 0 and *w, *h, or
 * -1 when the bytes are not a parsable SPS. */
int lsp_h264_sps_size(const uint8_t *sps, size_t len, int *w, int *h);

/* H.264 depacketizer: RTP payloads in, Annex B access units out. */
typedef struct {
	uint8_t *buf;
	size_t cap, len;
	int in_fu, broken, key;
	uint32_t ts;
	uint16_t next_seq;
	int have_seq;
} lsp_h264_depack;
/* Feed one RTP packet's payload.  Returns 1 when an access unit is
 * complete in d->buf[0..d->len) (key set when it holds an IDR), 0 when
 * more is needed, -1 when the payload was bad or a loss broke the unit
 * (the unit is dropped; the next one starts clean). */
int lsp_h264_depack_put(lsp_h264_depack *d, const lsp_rtp_hdr *h, const uint8_t *payload, size_t len);
/* After a complete unit was consumed. */
void lsp_h264_depack_reset(lsp_h264_depack *d);

#endif
