/* fuzz_streamid — libFuzzer harness for the two parsers of SRT-borne bytes
 * in lsp-ingest: the streamid → stream key parser (lib/ingest/srtin.c) and the
 * MPEG-TS observer (lib/ingest/tsscan.c).  The first byte picks which; for the TS
 * scan the rest is fed in runs of varying length so packets split across
 * feeds are exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/srtin.h"
#include "ingest/tsscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		char sid[LSP_SRTIN_KEY_MAX + 8], key[128];
		size_t n = size - 1 < sizeof sid - 1 ? size - 1 : sizeof sid - 1;
		memcpy(sid, data + 1, n);
		sid[n] = 0;
		if (lsp_srtin_streamid_key(sid, key, sizeof key) == 0 && strlen(key) >= sizeof key)
			__builtin_trap();
	} else {
		lsp_tsscan t;
		size_t off = 1, step = (data[0] >> 1) + 1;
		lsp_tsscan_init(&t);
		while (off < size) {
			size_t n = size - off < step ? size - off : step;
			lsp_tsscan_feed(&t, data + off, n);
			off += n;
			step = step * 7 % 400 + 1;
		}
		(void)lsp_tsscan_codec(t.vtype);
	}
	return 0;
}
