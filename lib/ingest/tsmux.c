/* tsmux.c — MPEG-TS muxing of RTMP/FLV media via libavformat; see tsmux.h.
 * The muxer context, its AVIOContext and buffers are owned here; the fd is
 * the caller's. */
#include "ingest/tsmux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

#define AVIO_BUF 4096

struct lsp_tsmux {
	int fd;
	int epipe;
	AVFormatContext *oc;
	AVIOContext *pb;
	AVPacket *pkt;
	int started, has_video, has_audio;
	int vidx, aidx;
	lsp_flv_avc avc;
	lsp_flv_aac aac;
	lsp_flv_opus opus;
	int opus_on;
	int64_t last_dts[2];
	long long nudged;
};

static int write_cb(void *opaque, uint8_t *buf, int size)
{
	lsp_tsmux *m = opaque;
	int off = 0;
	while (off < size) {
		ssize_t n = write(m->fd, buf + off, (size_t)(size - off));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				m->epipe = 1;
			return AVERROR(errno);
		}
		off += (int)n;
	}
	return size;
}

static int averr(char *err, size_t errcap, int rc, const char *what)
{
	char b[128];
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "%s: %s", what, b);
	return -EIO;
}

int lsp_tsmux_open(lsp_tsmux **out, int fd, char *err, size_t errcap)
{
	lsp_tsmux *m = calloc(1, sizeof *m);
	uint8_t *buf = NULL;
	int rc;
	if (!m)
		goto nomem;
	m->fd = fd;
	m->vidx = m->aidx = -1;
	m->last_dts[0] = m->last_dts[1] = INT64_MIN;
	if ((rc = avformat_alloc_output_context2(&m->oc, NULL, "mpegts", NULL)) < 0 || !m->oc) {
		averr(err, errcap, rc, "mpegts muxer");
		free(m);
		return -EIO;
	}
	if (!(buf = av_malloc(AVIO_BUF)))
		goto nomem;
	if (!(m->pb = avio_alloc_context(buf, AVIO_BUF, 1, m, NULL, write_cb, NULL))) {
		av_free(buf);
		goto nomem;
	}
	m->oc->pb = m->pb;
	m->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
	if (!(m->pkt = av_packet_alloc()))
		goto nomem;
	*out = m;
	return 0;
nomem:
	snprintf(err, errcap, "out of memory");
	lsp_tsmux_close(m, NULL, 0);
	return -ENOMEM;
}

int lsp_tsmux_video_config(lsp_tsmux *m, uint32_t codec, const uint8_t *rec, size_t len, char *err, size_t errcap)
{
	if (m->started)
		return 0;
	if (codec != LSP_FLV_AVC && codec != LSP_FLV_HEVC) {
		snprintf(err, errcap, "video codec not muxed");
		return -ENOTSUP;
	}
	if ((codec == LSP_FLV_AVC ? lsp_flv_avc_config(rec, len, &m->avc) : lsp_flv_hevc_config(rec, len, &m->avc)) < 0) {
		snprintf(err, errcap, "bad %s decoder configuration record", codec == LSP_FLV_AVC ? "AVC" : "HEVC");
		return -EINVAL;
	}
	m->has_video = 1;
	return 0;
}

int lsp_tsmux_audio_config(lsp_tsmux *m, uint32_t codec, const uint8_t *rec, size_t len, char *err, size_t errcap)
{
	if (m->started)
		return 0;
	if (codec == LSP_FLV_OPUS) {
		if (lsp_flv_opus_config(rec, len, &m->opus) < 0) {
			snprintf(err, errcap, "bad Opus ID header");
			return -EINVAL;
		}
		m->opus_on = 1;
	} else if (codec == LSP_FLV_AAC) {
		if (lsp_flv_aac_config(rec, len, &m->aac) < 0) {
			snprintf(err, errcap, "bad or unsupported AAC AudioSpecificConfig");
			return -EINVAL;
		}
		m->opus_on = 0;
	} else {
		snprintf(err, errcap, "audio codec not muxed");
		return -ENOTSUP;
	}
	m->has_audio = 1;
	return 0;
}

static int start(lsp_tsmux *m, char *err, size_t errcap)
{
	AVStream *st;
	int rc;
	if (m->has_video) {
		if (!(st = avformat_new_stream(m->oc, NULL)))
			goto nomem;
		st->time_base = (AVRational){ 1, 1000 };
		st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
		st->codecpar->codec_id = m->avc.hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
		if (m->avc.ps_len) {
			if (!(st->codecpar->extradata = av_mallocz(m->avc.ps_len + AV_INPUT_BUFFER_PADDING_SIZE)))
				goto nomem;
			memcpy(st->codecpar->extradata, m->avc.ps, m->avc.ps_len);
			st->codecpar->extradata_size = (int)m->avc.ps_len;
		}
		m->vidx = st->index;
	}
	if (m->has_audio) {
		if (!(st = avformat_new_stream(m->oc, NULL)))
			goto nomem;
		st->time_base = (AVRational){ 1, 1000 };
		st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
		if (m->opus_on) {
			st->codecpar->codec_id = AV_CODEC_ID_OPUS;
			st->codecpar->sample_rate = 48000;
			st->codecpar->initial_padding = m->opus.pre_skip;
			av_channel_layout_default(&st->codecpar->ch_layout, m->opus.channels);
			if (!(st->codecpar->extradata = av_mallocz(m->opus.head_len + AV_INPUT_BUFFER_PADDING_SIZE)))
				goto nomem;
			memcpy(st->codecpar->extradata, m->opus.head, m->opus.head_len);
			st->codecpar->extradata_size = (int)m->opus.head_len;
		} else {
			st->codecpar->codec_id = AV_CODEC_ID_AAC;
			st->codecpar->sample_rate = m->aac.sample_rate;
			av_channel_layout_default(&st->codecpar->ch_layout, m->aac.channels);
		}
		m->aidx = st->index;
	}
	if ((rc = avformat_write_header(m->oc, NULL)) < 0)
		return m->epipe ? (snprintf(err, errcap, "downstream closed"), -EPIPE)
				: averr(err, errcap, rc, "TS header");
	m->started = 1;
	return 0;
nomem:
	snprintf(err, errcap, "out of memory");
	return -ENOMEM;
}

int lsp_tsmux_write(lsp_tsmux *m, const lsp_flv_frame *f, int64_t ts_ms, char *err, size_t errcap)
{
	int rc, idx, slot;
	AVPacket *pkt = m->pkt;
	AVStream *st;
	int64_t dts = ts_ms, pts;
	if (f->is_header || f->eos)
		return 0;
	if (!m->started && (m->has_video || m->has_audio) && (rc = start(m, err, errcap)) < 0)
		return rc;
	if (!m->started)
		return 0; /* media before any sequence header: nothing to mux yet */
	idx = f->kind == LSP_FLV_VIDEO ? m->vidx : m->aidx;
	if (idx < 0)
		return 0;
	slot = f->kind == LSP_FLV_VIDEO ? 0 : 1;
	if (f->codec && (slot == 0 ? (f->codec == LSP_FLV_HEVC) != m->avc.hevc : (f->codec == LSP_FLV_OPUS) != m->opus_on)) {
		snprintf(err, errcap, "codec changed after the stream started");
		return -EINVAL;
	}
	st = m->oc->streams[idx];
	av_packet_unref(pkt);
	if (f->kind == LSP_FLV_VIDEO) {
		size_t cap = f->len * 4 + m->avc.ps_len + 64; /* 4-byte start codes for 1-byte lengths */
		if (f->len > 64 * 1024 * 1024 || av_new_packet(pkt, (int)cap) < 0)
			goto nomem;
		rc = lsp_flv_avc_annexb(&m->avc, f->data, f->len, f->keyframe, pkt->data, cap);
		if (rc <= 0) {
			snprintf(err, errcap, "bad %s access unit", m->avc.hevc ? "HEVC" : "H.264");
			av_packet_unref(pkt);
			return -EINVAL;
		}
		av_shrink_packet(pkt, rc);
		pts = dts + f->cts;
		if (f->keyframe)
			pkt->flags |= AV_PKT_FLAG_KEY;
	} else if (m->opus_on) {
		if (f->len > 64 * 1024) {
			snprintf(err, errcap, "Opus packet too large");
			return -EINVAL;
		}
		if (av_new_packet(pkt, (int)f->len) < 0)
			goto nomem;
		memcpy(pkt->data, f->data, f->len);
		pts = dts;
		pkt->flags |= AV_PKT_FLAG_KEY;
	} else {
		uint8_t h[7];
		if (lsp_flv_adts_header(&m->aac, f->len, h) < 0) {
			snprintf(err, errcap, "bad AAC frame");
			return -EINVAL;
		}
		if (av_new_packet(pkt, (int)f->len + 7) < 0)
			goto nomem;
		memcpy(pkt->data, h, 7);
		memcpy(pkt->data + 7, f->data, f->len);
		pts = dts;
		pkt->flags |= AV_PKT_FLAG_KEY;
	}
	if (m->last_dts[slot] != INT64_MIN && dts <= m->last_dts[slot]) {
		pts += m->last_dts[slot] + 1 - dts;
		dts = m->last_dts[slot] + 1;
		m->nudged++;
	}
	if (pts < dts)
		pts = dts;
	m->last_dts[slot] = dts;
	pkt->stream_index = idx;
	pkt->dts = av_rescale_q(dts, (AVRational){ 1, 1000 }, st->time_base);
	pkt->pts = av_rescale_q(pts, (AVRational){ 1, 1000 }, st->time_base);
	rc = av_write_frame(m->oc, pkt);
	av_packet_unref(pkt);
	if (rc < 0) {
		if (m->epipe) {
			snprintf(err, errcap, "downstream closed");
			return -EPIPE;
		}
		return averr(err, errcap, rc, "TS write");
	}
	return 0;
nomem:
	snprintf(err, errcap, "out of memory");
	return -ENOMEM;
}

void lsp_tsmux_set_fd(lsp_tsmux *m, int fd) { m->fd = fd; }
int lsp_tsmux_started(const lsp_tsmux *m) { return m->started; }
int lsp_tsmux_has_video(const lsp_tsmux *m) { return m->has_video; }
int lsp_tsmux_has_audio(const lsp_tsmux *m) { return m->has_audio; }
long long lsp_tsmux_nudged(const lsp_tsmux *m) { return m->nudged; }

const char *lsp_tsmux_video_codec(const lsp_tsmux *m)
{
	return !m->has_video ? NULL : m->avc.hevc ? "hevc" : "h264";
}

const char *lsp_tsmux_audio_codec(const lsp_tsmux *m)
{
	return !m->has_audio ? NULL : m->opus_on ? "opus" : "aac";
}

int lsp_tsmux_close(lsp_tsmux *m, char *err, size_t errcap)
{
	int rc = 0;
	if (!m)
		return 0;
	if (m->started && !m->epipe) {
		int r = av_write_trailer(m->oc);
		if (r < 0 && err) {
			rc = m->epipe ? -EPIPE : averr(err, errcap, r, "TS trailer");
			if (rc == -EPIPE)
				snprintf(err, errcap, "downstream closed");
		}
	}
	if (m->pb) {
		av_freep(&m->pb->buffer);
		avio_context_free(&m->pb);
	}
	if (m->oc) {
		m->oc->pb = NULL;
		avformat_free_context(m->oc);
	}
	av_packet_free(&m->pkt);
	free(m);
	return rc;
}
