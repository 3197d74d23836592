/* ringtee.c — TS passthrough + demux into a ring; see ringtee.h.
 * The demuxer context, its AVIOContext and the packet are owned here. */
#include "media/ringtee.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#define IO_BUF 4096

struct tee {
	int in, out, epipe, rerr;
	long long bytes;
};

static int read_cb(void *opaque, uint8_t *buf, int size)
{
	struct tee *t = opaque;
	ssize_t n;
	do
		n = read(t->in, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		t->rerr = errno;
		return AVERROR(errno);
	}
	if (n == 0)
		return AVERROR_EOF;
	t->bytes += n;
	for (ssize_t off = 0; t->out >= 0 && off < n;) {
		ssize_t w = write(t->out, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == EPIPE)
				t->epipe = 1;
			return AVERROR(EPIPE);
		}
		off += w;
	}
	return (int)n;
}

int lsp_h264_is_idr(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			int t = p[i + 3] & 0x1f;
			if (t == 5)
				return 1;
			i += 2;
		}
	}
	return 0;
}

static int64_t to90k(int64_t ts, AVRational tb)
{
	if (ts == AV_NOPTS_VALUE)
		return AV_NOPTS_VALUE;
	return av_rescale_q(ts, tb, (AVRational){ 1, 90000 });
}

/* Split a PES payload of ADTS frames into ring entries, 1024 samples each. */
static void put_adts(lsp_ring *r, const uint8_t *p, size_t len, int64_t pts, int rate,
		     lsp_ringtee_stats *st)
{
	static const int rates[16] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
				       16000, 12000, 11025, 8000, 7350, 0, 0, 0 };
	size_t off = 0;
	int k = 0;
	while (off + 7 <= len) {
		const uint8_t *a = p + off;
		size_t fl;
		if (a[0] != 0xff || (a[1] & 0xf6) != 0xf0)
			break;
		fl = ((size_t)(a[3] & 3) << 11) | ((size_t)a[4] << 3) | (a[5] >> 5);
		if (fl < 7 || off + fl > len)
			break;
		if (!rate)
			rate = rates[(a[2] >> 2) & 15];
		int64_t t = pts == AV_NOPTS_VALUE || !rate ? pts : pts + (int64_t)k * 1024 * 90000 / rate;
		if (lsp_ring_write(r, LSP_RING_AUDIO, 0, t, t, a, fl) == 0)
			st->audio++;
		else
			st->dropped++;
		off += fl;
		k++;
	}
	if (off < len)
		st->dropped++;
}

int lsp_ringtee_run(int in_fd, int out_fd, lsp_ring *ring, lsp_ringtee_stats *st, char *err,
		    size_t errcap)
{
	struct tee t = { .in = in_fd, .out = out_fd };
	AVFormatContext *ic = NULL;
	AVIOContext *pb = NULL;
	AVPacket *pkt = NULL;
	uint8_t *buf = NULL;
	int rc, vidx = -1, aidx = -1;
	char b[128];
	memset(st, 0, sizeof *st);
	if (!ring) { /* no ring (it could not be created): a plain copy */
		uint8_t cp[IO_BUF];
		while (read_cb(&t, cp, sizeof cp) > 0) /* read_cb copies to out */
			;
		st->bytes = t.bytes;
		if (t.epipe || t.rerr) {
			snprintf(err, errcap, "%s", t.epipe ? "output closed" : strerror(t.rerr));
			return t.epipe ? -EPIPE : -t.rerr;
		}
		return 0;
	}
	if (!(buf = av_malloc(IO_BUF)) || !(pb = avio_alloc_context(buf, IO_BUF, 0, &t, read_cb, NULL, NULL)) ||
	    !(ic = avformat_alloc_context()) || !(pkt = av_packet_alloc())) {
		if (!pb)
			av_free(buf);
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ic->pb = pb;
	ic->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN | AVFMT_FLAG_NOBUFFER;
	if ((rc = avformat_open_input(&ic, NULL, av_find_input_format("mpegts"), NULL)) < 0) {
		ic = NULL; /* freed by a failed open */
		goto averr;
	}
	for (;;) {
		AVStream *s;
		rc = av_read_frame(ic, pkt);
		if (rc < 0)
			break;
		s = ic->streams[pkt->stream_index];
		if (vidx < 0 && s->codecpar->codec_id == AV_CODEC_ID_H264)
			vidx = pkt->stream_index;
		if (aidx < 0 && s->codecpar->codec_id == AV_CODEC_ID_AAC)
			aidx = pkt->stream_index;
		if (pkt->stream_index == vidx) {
			int key = lsp_h264_is_idr(pkt->data, (size_t)pkt->size);
			int64_t pts = to90k(pkt->pts, s->time_base), dts = to90k(pkt->dts, s->time_base);
			if (dts == AV_NOPTS_VALUE)
				dts = pts;
			if (lsp_ring_write(ring, LSP_RING_VIDEO, key ? LSP_RING_KEY : 0, pts, dts, pkt->data,
					   (size_t)pkt->size) == 0) {
				st->video++;
				st->keys += key;
			} else
				st->dropped++;
		} else if (pkt->stream_index == aidx) {
			put_adts(ring, pkt->data, (size_t)pkt->size, to90k(pkt->pts, s->time_base),
				 s->codecpar->sample_rate, st);
		}
		av_packet_unref(pkt);
	}
	st->bytes = t.bytes;
	if (t.epipe) {
		snprintf(err, errcap, "output closed");
		rc = -EPIPE;
		goto out;
	}
	if (t.rerr) {
		snprintf(err, errcap, "read: %s", strerror(t.rerr));
		rc = -t.rerr;
		goto out;
	}
	if (rc == AVERROR_EOF) {
		rc = 0;
		goto out;
	}
averr:
	st->bytes = t.bytes;
	if (t.epipe) {
		snprintf(err, errcap, "output closed");
		rc = -EPIPE;
		goto out;
	}
	if (rc == AVERROR_EOF) {
		rc = 0;
		goto out;
	}
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "mpegts demux: %s", b);
	/* the tee outlives the demuxer: pass the rest through unchanged */
	{
		uint8_t cp[IO_BUF];
		while (read_cb(&t, cp, sizeof cp) > 0)
			;
		st->bytes = t.bytes;
	}
	rc = t.epipe ? -EPIPE : -EIO;
out:
	av_packet_free(&pkt);
	if (ic)
		avformat_close_input(&ic);
	if (pb) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	}
	return rc;
}
