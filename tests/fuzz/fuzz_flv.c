/* fuzz_flv — libFuzzer harness for FLV tag bodies, legacy and Enhanced
 * RTMP (ExHeader video with ModEx/FourCC/packet types, ExHeader audio),
 * and the AVC/HEVC/AAC/Opus helpers (lib/ingest/flv.c).  Byte 0 picks audio
 * or video (bit 0) and the NAL length size (bits 1-2) used for
 * non-header frames when no configuration record was parsed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/flv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_flv_frame f;
	lsp_flv_avc avc;
	lsp_flv_aac aac;
	lsp_flv_opus opus;
	uint8_t out[8192], h[7];
	char name[64];
	int kind, rc;
	if (size < 1)
		return 0;
	kind = data[0] & 1 ? LSP_FLV_VIDEO : LSP_FLV_AUDIO;
	memset(&avc, 0, sizeof avc);
	avc.nal_len_size = ((data[0] >> 1) & 3) + 1;
	avc.hevc = (data[0] >> 3) & 1;
	rc = lsp_flv_parse(kind, data + 1, size - 1, &f);
	lsp_flv_codec_name(kind, f.codec, f.legacy, name, sizeof name);
	if (strlen(name) >= sizeof name)
		__builtin_trap();
	if (rc < 0)
		return 0;
	if (f.len > size)
		__builtin_trap();
	if (f.kind == LSP_FLV_VIDEO) {
		if (f.is_header) {
			rc = f.codec == LSP_FLV_HEVC ? lsp_flv_hevc_config(f.data, f.len, &avc)
						     : lsp_flv_avc_config(f.data, f.len, &avc);
			if (rc == 0 && avc.ps_len > sizeof avc.ps)
				__builtin_trap();
			if (rc == 0 && f.len > 0) /* the record's own NALs through the converter */
				rc = lsp_flv_avc_annexb(&avc, f.data, f.len, 1, out, sizeof out);
		} else {
			int n = lsp_flv_avc_annexb(&avc, f.data, f.len, f.keyframe, out, sizeof out);
			if (n > (int)sizeof out)
				__builtin_trap();
		}
	} else if (f.codec == LSP_FLV_OPUS) {
		if (lsp_flv_opus_config(f.data, f.len, &opus) == 0 && opus.head_len > sizeof opus.head)
			__builtin_trap();
	} else {
		if (lsp_flv_aac_config(f.data, f.len, &aac) == 0)
			lsp_flv_adts_header(&aac, f.len, h);
	}
	return 0;
}
