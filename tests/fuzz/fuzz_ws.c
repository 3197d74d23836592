/* libFuzzer harness: lib/chat/ws.c — the frame receiver (header parse, unmask,
 * reassembly, UTF-8, close codes) over arbitrary bytes, plus the upgrade
 * handshake over whatever lsp_http_parse accepts.  Build: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "chat/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t msg[256], *in;
	lsp_ws_rx rx;
	lsp_ws_event ev;
	lsp_http_req req;
	char out[512];
	size_t off = 0;

	if (size && data[0] & 1) { /* the handshake path */
		if (lsp_http_parse((const char *)data + 1, size - 1, &req) > 0)
			lsp_ws_handshake(&req, out, sizeof out);
		return 0;
	}
	in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	lsp_ws_rx_init(&rx, msg, sizeof msg, size && (data[0] & 2));
	while (off < size) {
		size_t used = lsp_ws_rx_feed(&rx, in + off, size - off, &ev);
		if (ev.type == LSP_WS_EV_ERROR || used == 0)
			break;
		if (ev.type == LSP_WS_EV_MESSAGE && ev.len > rx.cap)
			abort();
		off += used;
	}
	free(in);
	return 0;
}
