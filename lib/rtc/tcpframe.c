/* tcpframe.c — RFC 4571 framing (see tcpframe.h).  The reader owns nothing
 * but its buffer; a malformed length spends it for good. */
#include "rtc/tcpframe.h"

#include <errno.h>
#include <string.h>

void lsp_tcpframe_init(lsp_tcpframe_rd *rd, size_t max)
{
	rd->max = max && max <= LSP_TCPFRAME_MAX ? max : LSP_TCPFRAME_MAX;
	rd->have = 0;
}

int lsp_tcpframe_feed(lsp_tcpframe_rd *rd, const uint8_t *p, size_t n,
		      int (*fn)(void *ctx, const uint8_t *pkt, size_t len), void *ctx)
{
	if (rd->have == (size_t)-1)
		return -EBADMSG;
	while (n > 0) {
		size_t want, take, len;
		if (rd->have < 2) { /* the header, maybe a byte at a time */
			rd->buf[rd->have++] = *p++;
			n--;
			if (rd->have < 2)
				continue;
			len = (size_t)rd->buf[0] << 8 | rd->buf[1];
			if (!len || len > rd->max) {
				rd->have = (size_t)-1;
				return -EBADMSG;
			}
			continue;
		}
		len = (size_t)rd->buf[0] << 8 | rd->buf[1];
		want = 2 + len - rd->have;
		if (rd->have == 2 && n >= len) { /* whole in the input: no copy */
			int rc;
			rd->have = 0;
			if ((rc = fn(ctx, p, len)) < 0)
				return rc;
			p += len;
			n -= len;
			continue;
		}
		take = n < want ? n : want;
		memcpy(rd->buf + rd->have, p, take);
		rd->have += take;
		p += take;
		n -= take;
		if (rd->have == 2 + len) {
			int rc;
			rd->have = 0;
			if ((rc = fn(ctx, rd->buf + 2, len)) < 0)
				return rc;
		}
	}
	return 0;
}

int lsp_tcpframe_head(uint8_t out[2], size_t len)
{
	if (!len || len > 65535)
		return -1;
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	return 2;
}
