/* fuzz_rtp.c — libFuzzer harness for lib/rtp: RTP header parse, RTCP
 * compound parse, the H.264 depacketizer fed the input as a run of RTP
 * packets (2-byte length prefixes), and the packetizer fed it as an Annex B
 * access unit, and the SPS size reader (with REMB and RR loss in the
 * RTCP parse).  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/rtp.h"

static int count(void *ctx, const uint8_t *pre, size_t prelen, const uint8_t *p, size_t len, int marker)
{
	size_t *n = ctx;
	if (prelen + len > 1200)
		abort();
	*n += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_rtp_hdr h;
	lsp_rtcp_info in;
	lsp_h264_depack d = { 0 };
	uint8_t au[65536];
	size_t off = 0, n = 0;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lsp_rtp_parse(buf, size, &h) == 0 && h.hdr_len + h.payload_len > size)
		abort();
	lsp_rtcp_parse(buf, size, &in);
	if (in.nnack > LSP_RTCP_NACK_MAX)
		abort();
	d.buf = au;
	d.cap = sizeof au;
	while (off + 2 <= size) {
		size_t l = (size_t)(buf[off] << 8 | buf[off + 1]) % 1500;
		off += 2;
		if (l > size - off)
			l = size - off;
		if (lsp_rtp_parse(buf + off, l, &h) == 0 &&
		    lsp_h264_depack_put(&d, &h, buf + off + h.hdr_len, h.payload_len) == 1) {
			if (d.len > d.cap)
				abort();
			lsp_h264_depack_reset(&d);
		}
		off += l;
	}
	lsp_h264_packetize(buf, size, 1200, count, &n);
	if (n > size)
		abort();
	{ /* the input as an SPS (its first byte forced to NAL type 7) */
		int w, ht;
		if (size)
			buf[0] = (uint8_t)((buf[0] & 0xe0) | 7);
		if (lsp_h264_sps_size(buf, size, &w, &ht) == 0 && (w <= 0 || ht <= 0 || w > 16384 || ht > 32768))
			abort();
	}
	free(buf);
	return 0;
}
