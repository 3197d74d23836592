/* tsin.c — live MPEG-TS input; see tsin.h. */
#include "media/tsin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/averr.h"

int lsp_tsin_open(AVFormatContext **out, const char *input, AVIOInterruptCB cb, char *err, size_t errcap)
{
	AVFormatContext *ic = avformat_alloc_context();
	AVDictionary *opts = NULL;
	const char *url = (!input || strcmp(input, "-") == 0) ? "pipe:0" : input;
	char msg[128];
	int rc;

	*out = NULL;
	if (!ic) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	ic->interrupt_callback = cb;
	av_dict_set(&opts, "probesize", "1000000", 0);
	av_dict_set(&opts, "analyzeduration", "500000", 0);
	av_dict_set(&opts, "fpsprobesize", "0", 0);
	av_dict_set(&opts, "scan_all_pmts", "1", 0);
	rc = avformat_open_input(&ic, url, av_find_input_format("mpegts"), &opts);
	av_dict_free(&opts);
	if (rc < 0) { /* avformat_open_input freed ic */
		av_strerror(rc, msg, sizeof msg);
		snprintf(err, errcap, "unable to open input: %s", msg);
		return -EIO;
	}
	if ((rc = avformat_find_stream_info(ic, NULL)) < 0) {
		av_strerror(rc, msg, sizeof msg);
		snprintf(err, errcap, "unable to read input streams: %s", msg);
		avformat_close_input(&ic);
		return -EIO;
	}
	*out = ic;
	return 0;
}

int lsp_tsin_map(const AVFormatContext *ic, int **map, char *err, size_t errcap)
{
	int n = (int)ic->nb_streams;
	if (!(*map = malloc(sizeof(int) * (size_t)(n ? n : 1)))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		(*map)[i] = -1;
	return n;
}

int lsp_tsin_read(AVFormatContext *ic, AVPacket *pkt, const int *map, int nmap, const volatile int *stop, int *slot,
		  char *err, size_t errcap)
{
	int rc = av_read_frame(ic, pkt);
	if (rc == AVERROR_EOF || rc == AVERROR_EXIT)
		return 0;
	if (rc < 0) {
		if (stop && *stop)
			return 0;
		lsp_averr(err, errcap, "input", rc);
		return -EIO;
	}
	*slot = pkt->stream_index >= 0 && pkt->stream_index < nmap ? map[pkt->stream_index] : -1;
	return 1;
}

int lsp_tsin_fill_ts(AVPacket *pkt, const AVCodecParameters *par, AVRational tb, int64_t prev, int64_t prev_dur)
{
	if (pkt->dts == AV_NOPTS_VALUE)
		pkt->dts = pkt->pts;
	if (pkt->dts == AV_NOPTS_VALUE && prev != AV_NOPTS_VALUE) {
		int64_t d = pkt->duration > 0 ? pkt->duration : prev_dur;
		if (d <= 0 && par->codec_type == AVMEDIA_TYPE_AUDIO && par->sample_rate > 0)
			d = av_rescale_q(par->frame_size > 0 ? par->frame_size : 1024, (AVRational){ 1, par->sample_rate },
					 tb);
		if (d > 0)
			pkt->dts = pkt->pts = prev + d;
	}
	return pkt->dts != AV_NOPTS_VALUE;
}
