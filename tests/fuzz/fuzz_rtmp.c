/* fuzz_rtmp — libFuzzer harness for the RTMP server state machine
 * (lib/ingest/rtmp.c) and the FLV/AMF0 code it hands data to.  Byte 0 picks the
 * mode: bit 0 prepends a valid handshake (so the fuzzer reaches the chunk
 * layer at once), bit 1 refuses decisions instead of accepting, bits 2-7
 * set the feed piece size.  A codec that cannot be served (a tag's, or
 * onMetaData's videocodecid) is refused mid-publish as lsp-ingest does. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest/flv.h"
#include "ingest/rtmp.h"

/* 1 when the tag's codec cannot be served */
static int media(const lsp_rtmp_event *ev)
{
	lsp_flv_frame f;
	lsp_flv_avc avc;
	lsp_flv_aac aac;
	uint8_t out[4096];
	int rc = lsp_flv_parse(ev->kind, ev->data, ev->len, &f);
	if (rc < 0)
		return rc == -ENOTSUP;
	if (f.kind == LSP_FLV_VIDEO && f.is_header &&
	    (f.codec == LSP_FLV_HEVC ? lsp_flv_hevc_config(f.data, f.len, &avc) : lsp_flv_avc_config(f.data, f.len, &avc)) == 0)
		lsp_flv_avc_annexb(&avc, f.data, f.len, 1, out, sizeof out);
	if (f.kind == LSP_FLV_AUDIO && f.is_header && lsp_flv_aac_config(f.data, f.len, &aac) == 0)
		lsp_flv_adts_header(&aac, f.len, out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t hs[1 + 2 * 1536];
	lsp_rtmp *r;
	size_t piece, off = 0;
	int mode;
	char err[128];
	if (size < 1)
		return 0;
	mode = data[0];
	data++, size--;
	piece = (size_t)(mode >> 2) * 97 + 1;
	if (!(r = lsp_rtmp_new(0, 1)))
		return 0;
	if (mode & 1) {
		hs[0] = 3;
		lsp_rtmp_feed(r, hs, sizeof hs);
	}
	for (;;) {
		lsp_rtmp_event ev;
		size_t outn;
		int rc;
		if (off < size) {
			size_t n = size - off < piece ? size - off : piece;
			off += lsp_rtmp_feed(r, data + off, n);
		}
		rc = lsp_rtmp_step(r, &ev, err, sizeof err);
		lsp_rtmp_out(r, &outn);
		lsp_rtmp_out_done(r, outn);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (off >= size)
				break;
			continue;
		}
		switch (ev.type) {
		case LSP_RTMP_EV_CONNECT:
		case LSP_RTMP_EV_PUBLISH:
			if (mode & 2)
				lsp_rtmp_refuse(r, "NetStream.Publish.BadName", "refused");
			else
				lsp_rtmp_accept(r);
			break;
		case LSP_RTMP_EV_MEDIA:
			if (media(&ev))
				lsp_rtmp_refuse(r, "NetStream.Publish.Rejected", "lsp accepts H.264 or HEVC video");
			break;
		case LSP_RTMP_EV_META:
			if (ev.vcodec > 16 && ev.vcodec != LSP_FLV_AVC && ev.vcodec != LSP_FLV_HEVC)
				lsp_rtmp_refuse(r, "NetStream.Publish.Rejected", "lsp accepts H.264 or HEVC video");
			break;
		default:
			break;
		}
	}
	lsp_rtmp_free(r);
	return 0;
}
