/* fuzz_amf0 — libFuzzer harness for the AMF0 decoder (lib/ingest/amf0.c): walk
 * every value, look up properties in objects, copy strings, and re-encode
 * what decoded. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/amf0.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_amf0_rd rd;
	lsp_amf0_val v, x;
	uint8_t out[512];
	lsp_amf0_wr w;
	char s[64];
	lsp_amf0_rd_init(&rd, data, size);
	lsp_amf0_wr_init(&w, out, sizeof out);
	while (lsp_amf0_next(&rd, &v) == 0) {
		switch (v.type) {
		case LSP_AMF0_NUMBER: lsp_amf0_put_number(&w, v.num); break;
		case LSP_AMF0_BOOLEAN: lsp_amf0_put_bool(&w, v.num != 0); break;
		case LSP_AMF0_STRING:
			if (lsp_amf0_cstr(&v, s, sizeof s) == 0)
				lsp_amf0_put_string(&w, s);
			break;
		case LSP_AMF0_OBJECT:
		case LSP_AMF0_ECMA_ARRAY:
		case LSP_AMF0_TYPED_OBJECT:
			lsp_amf0_put_object_begin(&w);
			static const char *keys[] = { "app", "tcUrl", "width", "height", "framerate", "" };
			for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
				if (lsp_amf0_prop(&v, keys[i], &x) == 0) {
					lsp_amf0_put_key(&w, keys[i]);
					if (lsp_amf0_cstr(&x, s, sizeof s) == 0)
						lsp_amf0_put_string(&w, s);
					else
						lsp_amf0_put_number(&w, x.num);
				}
			lsp_amf0_put_object_end(&w);
			break;
		default: lsp_amf0_put_null(&w); break;
		}
	}
	/* what we wrote must decode again */
	if (!w.err) {
		lsp_amf0_rd_init(&rd, out, w.len);
		while (lsp_amf0_next(&rd, &v) == 0)
			;
		if (rd.off != w.len)
			__builtin_trap();
	}
	return 0;
}
