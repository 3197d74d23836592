/* fmp4.c — CMAF fragmenter over libavformat's mp4 muxer; see fmp4.h.
 *
 *   caller ──pkt──▶ av_write_frame ──▶ mov muxer ──avio──▶ mem_write ──▶ f->buf
 *                   av_write_frame(NULL) flushes one moof+mdat into f->buf
 *
 * f->buf is cleared at the start of every call that produces bytes, so it
 * holds exactly one init section or one fragment. */
#include "media/fmp4.h"
#include "media/averr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

struct lsp_fmp4 {
	AVFormatContext *oc;
	AVIOContext *pb;
	unsigned char *iobuf;
	uint8_t *buf;       /* bytes produced by the muxer */
	size_t len, cap;
	uint8_t *init;      /* copy of the init section */
	size_t init_len;
	int oom;
	int ntracks;
	AVRational tb[LSP_FMP4_MAX_TRACKS];
	AVPacket *pkt;
};

static int mem_write(void *opaque, uint8_t *data, int size)
{
	lsp_fmp4 *f = opaque;
	if (size <= 0)
		return 0;
	if (f->len + (size_t)size > f->cap) {
		size_t ncap = f->cap ? f->cap : 65536;
		uint8_t *nb;
		while (ncap < f->len + (size_t)size)
			ncap *= 2;
		if (!(nb = av_realloc(f->buf, ncap))) {
			f->oom = 1;
			return AVERROR(ENOMEM);
		}
		f->buf = nb;
		f->cap = ncap;
	}
	memcpy(f->buf + f->len, data, (size_t)size);
	f->len += (size_t)size;
	return size;
}

int lsp_fmp4_open(lsp_fmp4 **out, const AVCodecParameters *const *par, const AVRational *tb, int n,
		  char *err, size_t errcap)
{
	lsp_fmp4 *f = NULL;
	AVDictionary *opts = NULL;
	int rc;

	*out = NULL;
	if (n < 1 || n > LSP_FMP4_MAX_TRACKS) {
		snprintf(err, errcap, "fmp4: bad track count %d", n);
		return AVERROR(EINVAL);
	}
	if (!(f = av_mallocz(sizeof *f)) || !(f->pkt = av_packet_alloc())) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errcap, "fmp4: out of memory");
		goto fail;
	}
	f->ntracks = n;
	if ((rc = avformat_alloc_output_context2(&f->oc, NULL, "mp4", NULL)) < 0) {
		lsp_averr(err, errcap, "fmp4: mp4 muxer", rc);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		AVStream *st = avformat_new_stream(f->oc, NULL);
		if (!st) {
			rc = AVERROR(ENOMEM);
			snprintf(err, errcap, "fmp4: out of memory");
			goto fail;
		}
		if ((rc = avcodec_parameters_copy(st->codecpar, par[i])) < 0) {
			lsp_averr(err, errcap, "fmp4: codec parameters", rc);
			goto fail;
		}
		/* HEVC as 'hvc1' (parameter sets in the sample entry too), the
		 * tag HLS asks for; everything else the muxer's default */
		st->codecpar->codec_tag = par[i]->codec_id == AV_CODEC_ID_HEVC ? MKTAG('h', 'v', 'c', '1') : 0;
		st->time_base = tb[i];
		f->tb[i] = tb[i];
	}
	if (!(f->iobuf = av_malloc(4096))) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errcap, "fmp4: out of memory");
		goto fail;
	}
	f->pb = avio_alloc_context(f->iobuf, 4096, 1, f, NULL, mem_write, NULL);
	if (!f->pb) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errcap, "fmp4: out of memory");
		goto fail;
	}
	f->iobuf = NULL; /* owned by pb now */
	f->pb->seekable = 0;
	f->oc->pb = f->pb;
	f->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
	/* keep input timestamps: tfdt is the absolute decode time */
	f->oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
	av_dict_set(&opts, "movflags", "empty_moov+default_base_moof+frag_custom+frag_discont+cmaf+skip_trailer", 0);
	rc = avformat_write_header(f->oc, &opts);
	av_dict_free(&opts);
	if (rc < 0) {
		lsp_averr(err, errcap, "fmp4: init section", rc);
		goto fail;
	}
	avio_flush(f->pb);
	if (f->oom || f->len == 0) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errcap, "fmp4: no init section");
		goto fail;
	}
	if (!(f->init = av_malloc(f->len))) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errcap, "fmp4: out of memory");
		goto fail;
	}
	memcpy(f->init, f->buf, f->len);
	f->init_len = f->len;
	f->len = 0;
	*out = f;
	return 0;
fail:
	lsp_fmp4_close(f);
	return rc;
}

const uint8_t *lsp_fmp4_init(const lsp_fmp4 *f, size_t *len)
{
	*len = f->init_len;
	return f->init;
}

int lsp_fmp4_write(lsp_fmp4 *f, int track, const AVPacket *pkt, char *err, size_t errcap)
{
	int rc;
	if (track < 0 || track >= f->ntracks) {
		snprintf(err, errcap, "fmp4: bad track %d", track);
		return AVERROR(EINVAL);
	}
	if ((rc = av_packet_ref(f->pkt, pkt)) < 0) {
		lsp_averr(err, errcap, "fmp4: packet", rc);
		return rc;
	}
	f->pkt->stream_index = track;
	f->pkt->pos = -1;
	/* the muxer picked its own track timescale at open */
	av_packet_rescale_ts(f->pkt, f->tb[track], f->oc->streams[track]->time_base);
	/* ADTS (MPEG-TS AAC) -> raw access unit: drop the 7 or 9 byte header */
	if (f->oc->streams[track]->codecpar->codec_id == AV_CODEC_ID_AAC && f->pkt->size > 9 &&
	    f->pkt->data[0] == 0xff && (f->pkt->data[1] & 0xf0) == 0xf0 && (f->pkt->data[6] & 3) == 0) {
		int hl = (f->pkt->data[1] & 1) ? 7 : 9;
		f->pkt->data += hl;
		f->pkt->size -= hl;
	}
	rc = av_write_frame(f->oc, f->pkt);
	av_packet_unref(f->pkt);
	if (rc < 0)
		lsp_averr(err, errcap, "fmp4: write sample", rc);
	return rc;
}

int lsp_fmp4_cut(lsp_fmp4 *f, const uint8_t **buf, size_t *len, char *err, size_t errcap)
{
	int rc;
	f->len = 0;
	if ((rc = av_write_frame(f->oc, NULL)) < 0) {
		lsp_averr(err, errcap, "fmp4: flush fragment", rc);
		return rc;
	}
	avio_flush(f->pb);
	if (f->oom) {
		snprintf(err, errcap, "fmp4: out of memory");
		return AVERROR(ENOMEM);
	}
	*buf = f->buf;
	*len = f->len;
	return 0;
}

/* ---- codec parameter repair (shared by lsp-package and lsp-record) ---- */

/* Give an ADTS AAC stream an AudioSpecificConfig so the init section can
 * be written before the first packet. */
int lsp_fmp4_aac_asc(AVCodecParameters *par)
{
	static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
				     22050, 16000, 12000, 11025, 8000, 7350 };
	int fi = -1, ch = par->ch_layout.nb_channels;
	int aot = par->profile >= 0 && par->profile < 30 ? par->profile + 1 : 2;
	for (int i = 0; i < 13; i++)
		if (rates[i] == par->sample_rate)
			fi = i;
	if (par->extradata_size >= 2)
		return 0;
	if (fi < 0 || ch < 1 || ch > 7)
		return AVERROR(EINVAL);
	av_freep(&par->extradata);
	if (!(par->extradata = av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE)))
		return AVERROR(ENOMEM);
	par->extradata[0] = (uint8_t)((aot << 3) | (fi >> 1));
	par->extradata[1] = (uint8_t)(((fi & 1) << 7) | (ch << 3));
	par->extradata_size = 2;
	return 0;
}

/* Whether NAL unit header byte h is a parameter set of codec id: H.264
 * SPS/PPS (7, 8), HEVC VPS/SPS/PPS (32, 33, 34). */
static int is_param_set(enum AVCodecID id, uint8_t h)
{
	if (id == AV_CODEC_ID_HEVC)
		return ((h >> 1) & 0x3f) >= 32 && ((h >> 1) & 0x3f) <= 34;
	return (h & 0x1f) == 7 || (h & 0x1f) == 8;
}

/* H.264 or HEVC extradata (Annex B parameter sets) taken from a key frame,
 * for a stream whose probing ended before its first SPS. */
int lsp_fmp4_ps_extradata(AVCodecParameters *par, const AVPacket *pkt)
{
	static const uint8_t start[4] = { 0, 0, 0, 1 };
	const uint8_t *b = pkt->data, *end = pkt->data + pkt->size;
	uint8_t *x;
	/* each NAL copied grows by a byte (3-byte start code to 4), and takes
	 * at least 4 input bytes: 5/4 of the input bounds the output */
	size_t n = 0, cap = (size_t)pkt->size + (size_t)pkt->size / 4 + 4;
	if (par->extradata_size > 0)
		return 0;
	if (!(x = av_mallocz(cap + AV_INPUT_BUFFER_PADDING_SIZE)))
		return AVERROR(ENOMEM);
	while (b + 3 < end) {
		const uint8_t *s = b, *e;
		if (!(s[0] == 0 && s[1] == 0 && s[2] == 1)) {
			b++;
			continue;
		}
		s += 3;
		for (e = s; e + 2 < end && !(e[0] == 0 && e[1] == 0 && (e[2] == 1 || e[2] == 0)); e++)
			;
		if (e + 2 >= end)
			e = end;
		if (is_param_set(par->codec_id, *s) && e > s && n + 4 + (size_t)(e - s) <= cap) {
			memcpy(x + n, start, 4);
			memcpy(x + n + 4, s, (size_t)(e - s));
			n += 4 + (size_t)(e - s);
		}
		b = e;
	}
	if (n == 0) {
		av_free(x);
		return AVERROR_INVALIDDATA;
	}
	par->extradata = x;
	par->extradata_size = (int)n;
	return 0;
}

void lsp_fmp4_close(lsp_fmp4 *f)
{
	if (!f)
		return;
	if (f->oc) {
		/* the caller cut the last fragment; the trailer is not needed */
		avformat_free_context(f->oc);
	}
	if (f->pb) {
		av_freep(&f->pb->buffer);
		avio_context_free(&f->pb);
	}
	av_free(f->iobuf);
	av_free(f->buf);
	av_free(f->init);
	av_packet_free(&f->pkt);
	av_free(f);
}
