/* transcode_ring.c — each encoded rung also written into its own
 * shared-memory ring (media/ring.h), so a WebRTC server can feed viewers a
 * rung without B-frames and at a smaller size than the source (see
 * transcode_int.h for the pieces).
 *
 *   encoder packet (Annex B, 90 kHz) ──▶ ring "<prefix>~<rung>"  (video, IDR flag)
 *   AAC packet ──▶ + ADTS header ──▶ every rung's ring           (audio)
 *
 * Rings are created when the output opens (cfg->ring_prefix set), written
 * beside the TS output, marked ended and unmapped at close; the files stay
 * (readers may hold them).  "~" never appears in a channel name, so a
 * rung ring cannot collide with a channel's own ring.  A shed rung's ring receives nothing until the
 * rung is restored, like its program.  An entry the ring refuses (too
 * large) is counted, never fatal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/key.h"
#include "media/averr.h"
#include "media/transcode_int.h"

enum { RING_SLOTS = 4096, RING_MIB = 16 };

int transcode_rings_open(lsp_transcode *t, char *err, size_t errcap)
{
	char name[LSP_NAME_MAX + 40], path[512];
	int i, rc;
	if (!t->cfg.ring_prefix)
		return 0;
	for (i = 0; i < t->nr; i++) {
		struct rung *r = &t->rungs[i];
		if (r->r.passthrough)
			continue;
		snprintf(name, sizeof name, "%s~%s", t->cfg.ring_prefix, r->r.name);
		if (lsp_ring_path(name, path, sizeof path) < 0) {
			snprintf(err, errcap, "ring path too long for %s", name);
			return -EINVAL;
		}
		if ((rc = lsp_ring_create(&r->ring, path, RING_SLOTS, (uint64_t)RING_MIB << 20, err, errcap)) < 0)
			return rc == -EBUSY ? -EBUSY : -EIO;
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_INFO, "rung ring", "rung", LSV_S(r->r.name), "path",
			       LSV_S(path), NULL);
	}
	return 0;
}

void transcode_ring_video(lsp_transcode *t, struct rung *r, const AVPacket *pkt, AVRational tb)
{
	const AVRational k90 = { 1, 90000 };
	if (!r->ring || pkt->pts == AV_NOPTS_VALUE)
		return;
	if (lsp_ring_write(r->ring, LSP_RING_VIDEO, (pkt->flags & AV_PKT_FLAG_KEY) ? LSP_RING_KEY : 0,
			   av_rescale_q(pkt->pts, tb, k90),
			   av_rescale_q(pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts, tb, k90), pkt->data,
			   (size_t)pkt->size) < 0)
		t->st.ring_refused++;
}

/* One AAC frame (48 kHz stereo LC from our encoder) with its ADTS header
 * into the ring of every rung being encoded. */
void transcode_ring_audio(lsp_transcode *t, const AVPacket *pkt, AVRational tb)
{
	uint8_t buf[7 + 8192];
	size_t flen = (size_t)pkt->size + 7;
	int i, prof = 1 /* LC */, sr = 3 /* 48000 */, ch = 2;
	int64_t pts;
	if (!t->cfg.ring_prefix || pkt->pts == AV_NOPTS_VALUE || flen > sizeof buf)
		return;
	buf[0] = 0xFF;
	buf[1] = 0xF1; /* MPEG-4, no CRC */
	buf[2] = (uint8_t)(prof << 6 | sr << 2 | ch >> 2);
	buf[3] = (uint8_t)((ch & 3) << 6 | (int)(flen >> 11));
	buf[4] = (uint8_t)(flen >> 3);
	buf[5] = (uint8_t)((flen & 7) << 5 | 0x1F);
	buf[6] = 0xFC;
	memcpy(buf + 7, pkt->data, (size_t)pkt->size);
	pts = av_rescale_q(pkt->pts, tb, (AVRational){ 1, 90000 });
	for (i = 0; i < t->nr; i++)
		if (t->rungs[i].ring && !t->rungs[i].off &&
		    lsp_ring_write(t->rungs[i].ring, LSP_RING_AUDIO, 0, pts, pts, buf, flen) < 0)
			t->st.ring_refused++;
}

void transcode_rings_close(lsp_transcode *t)
{
	int i;
	for (i = 0; i < t->nr; i++)
		if (t->rungs[i].ring) {
			lsp_ring_end(t->rungs[i].ring);
			lsp_ring_close(t->rungs[i].ring);
			t->rungs[i].ring = NULL;
		}
}
