/* fuzz_flv — libFuzzer harness for FLV tag bodies and the AVC/AAC helpers
 * (lib/ingest/flv.c).  Byte 0 picks audio or video (bit 0) and the NAL length
 * size (bits 1-2) used for non-header frames. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/flv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_flv_frame f;
	lsp_flv_avc avc;
	lsp_flv_aac aac;
	uint8_t out[8192], h[7];
	int kind;
	if (size < 1)
		return 0;
	kind = data[0] & 1 ? LSP_FLV_VIDEO : LSP_FLV_AUDIO;
	memset(&avc, 0, sizeof avc);
	avc.nal_len_size = ((data[0] >> 1) & 3) + 1;
	if (lsp_flv_parse(kind, data + 1, size - 1, &f) < 0)
		return 0;
	if (f.kind == LSP_FLV_VIDEO) {
		if (f.is_header) {
			if (lsp_flv_avc_config(f.data, f.len, &avc) == 0 && avc.ps_len > sizeof avc.ps)
				__builtin_trap();
		} else {
			int n = lsp_flv_avc_annexb(&avc, f.data, f.len, f.keyframe, out, sizeof out);
			if (n > (int)sizeof out)
				__builtin_trap();
		}
	} else {
		if (lsp_flv_aac_config(f.data, f.len, &aac) == 0)
			lsp_flv_adts_header(&aac, f.len, h);
	}
	return 0;
}
