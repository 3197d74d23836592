/* tsin.h — open a live MPEG-TS input (a pipe or a file) for reading with
 * libavformat, probing little so a live pipeline starts fast: probesize
 * 1 MB, analyzeduration 0.5 s, every PMT scanned (multi-program ladders).
 * Shared by lsp-package and lsp-record. */
#ifndef LSP_TSIN_H
#define LSP_TSIN_H
#include <libavformat/avformat.h>
#include <stddef.h>

/* Open input ("-" or NULL = stdin) into *out with cb as its interrupt
 * callback and read the stream info.  0 on success; -ENOMEM or -EIO with a
 * reason in err, *out then NULL and nothing left open. */
int lsp_tsin_open(AVFormatContext **out, const char *input, AVIOInterruptCB cb, char *err, size_t errcap);

/* A table of ic's streams for the caller to fill (stream index → its own
 * slot), every entry -1, owned by the caller (free()).  The number of
 * entries (>= 0), or -ENOMEM with err. */
int lsp_tsin_map(const AVFormatContext *ic, int **map, char *err, size_t errcap);

/* Read the next packet into pkt and look its stream up in map (nmap
 * entries): 1 with *slot its entry (-1: a stream the caller does not use),
 * 0 at the end of input or once *stop is set (stop may be NULL), -EIO
 * with err.  On 1 the caller unrefs pkt. */
/* Give pkt a dts when it has none: its pts, else (frames split from one
 * PES, e.g. audio read while probing, come without timestamps) prev + the
 * packet's duration, or prev_dur, or one audio frame of par.  prev is the
 * stream's last dts (AV_NOPTS_VALUE: none yet), in tb.  Returns 1 when pkt
 * has a dts now (pts set too when it was filled from prev), 0 when not. */
int lsp_tsin_fill_ts(AVPacket *pkt, const AVCodecParameters *par, AVRational tb, int64_t prev, int64_t prev_dur);

int lsp_tsin_read(AVFormatContext *ic, AVPacket *pkt, const int *map, int nmap, const volatile int *stop, int *slot,
		  char *err, size_t errcap);

#endif
