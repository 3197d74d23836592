/* flv.h — FLV audio/video tag bodies as carried in RTMP messages (type 8
 * audio, 9 video): H.264 (AVC) and AAC only.
 *
 * lsp_flv_parse() splits a tag body into an lsp_flv_frame whose data points
 * into the caller's buffer.  Helpers turn AVC configuration records and
 * length-prefixed NAL units into Annex B byte streams (what MPEG-TS wants)
 * and AAC AudioSpecificConfig + raw frames into ADTS.  No allocation; every
 * output goes to a caller buffer with its capacity.  Functions return 0 /
 * a length on success and a negative errno-style code on bad input
 * (-EINVAL malformed, -ENOTSUP other codec, -ENOSPC output too small). */
#ifndef LSP_FLV_H
#define LSP_FLV_H
#include <stddef.h>
#include <stdint.h>

enum { LSP_FLV_AUDIO = 8, LSP_FLV_VIDEO = 9 };

typedef struct {
	int kind;            /* LSP_FLV_AUDIO or LSP_FLV_VIDEO */
	int is_header;       /* AVC decoder configuration / AAC AudioSpecificConfig */
	int keyframe;        /* video: frame type 1; audio: always 1 */
	int eos;             /* AVC end of sequence */
	int32_t cts;         /* video composition time offset (ms), may be negative */
	const uint8_t *data; /* payload after the FLV/AVC/AAC packet headers */
	size_t len;
} lsp_flv_frame;

int lsp_flv_parse(int kind, const uint8_t *body, size_t len, lsp_flv_frame *f);

typedef struct {
	int nal_len_size;    /* 1..4 */
	int profile, level;
	uint8_t ps[1024];    /* SPS and PPS in Annex B form */
	size_t ps_len;
} lsp_flv_avc;

/* Parse an AVCDecoderConfigurationRecord into *c. */
int lsp_flv_avc_config(const uint8_t *p, size_t len, lsp_flv_avc *c);

/* Length-prefixed NAL units → Annex B into out; with_ps prepends the
 * parameter sets (for keyframes).  Returns bytes written. */
int lsp_flv_avc_annexb(const lsp_flv_avc *c, const uint8_t *p, size_t len, int with_ps,
		       uint8_t *out, size_t cap);

typedef struct {
	int object_type;     /* 2 = AAC LC */
	int freq_index;      /* 0..12 */
	int sample_rate;
	int channels;
} lsp_flv_aac;

/* Parse an AudioSpecificConfig (at least 2 bytes) into *c. */
int lsp_flv_aac_config(const uint8_t *p, size_t len, lsp_flv_aac *c);

/* 7-byte ADTS header for a raw frame of payload_len bytes. */
int lsp_flv_adts_header(const lsp_flv_aac *c, size_t payload_len, uint8_t hdr[7]);

#endif
