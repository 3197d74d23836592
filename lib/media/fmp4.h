/* fmp4.h — a CMAF fragmenter: libavformat's mp4 muxer writing into memory.
 *
 * One lsp_fmp4 muxes up to LSP_FMP4_MAX_TRACKS tracks (e.g. one H.264 video
 * and one AAC audio) into fragmented MP4 with movflags
 * empty_moov+default_base_moof+frag_custom+cmaf:
 *
 *   lsp_fmp4_open()   -> init section (ftyp+moov), read with lsp_fmp4_init()
 *   lsp_fmp4_write()  -> buffers one sample (caller sets pkt->duration)
 *   lsp_fmp4_cut()    -> one fragment (moof+mdat of everything written since
 *                        the previous cut); the bytes stay valid until the
 *                        next call on the object
 *
 * Codec parameters must be complete at open: H.264 extradata (SPS/PPS,
 * Annex B or avcC) and AAC extradata (AudioSpecificConfig; ADTS packets are
 * converted by the muxer).  Timestamps keep the input's values (tfdt carries
 * the absolute decode time), so rungs cut from one source stay aligned.
 *
 * The object owns its muxer and buffers; lsp_fmp4_close(NULL) is a no-op.
 * Functions return 0 or a negative AVERROR and fill err. */
#ifndef LSP_FMP4_H
#define LSP_FMP4_H
#include <stddef.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>

#define LSP_FMP4_MAX_TRACKS 4

typedef struct lsp_fmp4 lsp_fmp4;

/* Open a muxer for n tracks; track i takes packets in time base tb[i]. */
int lsp_fmp4_open(lsp_fmp4 **out, const AVCodecParameters *const *par, const AVRational *tb, int n,
		  char *err, size_t errcap);

/* The init section written at open. */
const uint8_t *lsp_fmp4_init(const lsp_fmp4 *f, size_t *len);

/* Add one packet (not consumed; timestamps in tb[track]) to the open fragment. */
int lsp_fmp4_write(lsp_fmp4 *f, int track, const AVPacket *pkt, char *err, size_t errcap);

/* Close the open fragment; buf and len receive its bytes (len 0 when empty). */
int lsp_fmp4_cut(lsp_fmp4 *f, const uint8_t **buf, size_t *len, char *err, size_t errcap);

void lsp_fmp4_close(lsp_fmp4 *f);

/* Parameter repair before open, for streams probed without extradata.
 * Give an ADTS AAC stream an AudioSpecificConfig built from its rate,
 * channels and profile (0, or AVERROR(EINVAL) for an unknown rate). */
int lsp_fmp4_aac_asc(AVCodecParameters *par);
/* Give an H.264 or HEVC stream (par->codec_id) Annex B parameter-set
 * extradata (SPS/PPS; VPS/SPS/PPS) taken from key frame pkt (0;
 * AVERROR_INVALIDDATA when pkt holds none; a no-op when present). */
int lsp_fmp4_ps_extradata(AVCodecParameters *par, const AVPacket *pkt);

#endif
