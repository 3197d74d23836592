/* flv.h — FLV audio/video tag bodies as carried in RTMP messages (type 8
 * audio, 9 video), legacy and Enhanced RTMP (E-RTMP v1/v2).
 *
 * Served: H.264 (legacy codec id 7 or FourCC avc1), HEVC (FourCC hvc1, or
 * the legacy id 12 some encoders use), AAC (sound format 10 or FourCC
 * mp4a) and Opus (FourCC Opus).  Anything else parses to -ENOTSUP with the
 * codec named in the frame (f->codec, f->legacy), so that the caller can
 * refuse the stream and say why (lsp_flv_codec_name).
 *
 * E-RTMP video: byte 0 = IsExHeader (0x80) | FrameType << 4 | PacketType;
 * ModEx packets (7) are skipped, multitrack (6) is not served; then the
 * FourCC; PacketType SequenceStart 0 (config record), CodedFrames 1 (SI24
 * composition time for avc1/hvc1, then NAL units), SequenceEnd 2,
 * CodedFramesX 3 (composition time 0), Metadata 4 and MPEG2TSSequenceStart
 * 5 (carried no further).  E-RTMP audio: SoundFormat 9 | AudioPacketType,
 * the same ModEx skip, then the FourCC; SequenceStart 0, CodedFrames 1,
 * SequenceEnd 2, MultichannelConfig 4 (ignored), multitrack 5 not served.
 *
 * lsp_flv_parse() splits a tag body into an lsp_flv_frame whose data points
 * into the caller's buffer.  Helpers turn AVC/HEVC configuration records
 * and length-prefixed NAL units into Annex B byte streams (what MPEG-TS
 * wants), AAC AudioSpecificConfig + raw frames into ADTS, and check an Opus
 * ID header.  No allocation; every output goes to a caller buffer with its
 * capacity.  Functions return 0 / a length on success and a negative
 * errno-style code on bad input (-EINVAL malformed, -ENOTSUP other codec,
 * -ENOSPC output too small). */
#ifndef LSP_FLV_H
#define LSP_FLV_H
#include <stddef.h>
#include <stdint.h>

enum { LSP_FLV_AUDIO = 8, LSP_FLV_VIDEO = 9 };

#define LSP_FLV_FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define LSP_FLV_AVC LSP_FLV_FOURCC('a', 'v', 'c', '1')
#define LSP_FLV_HEVC LSP_FLV_FOURCC('h', 'v', 'c', '1')
#define LSP_FLV_AV1 LSP_FLV_FOURCC('a', 'v', '0', '1')
#define LSP_FLV_VP9 LSP_FLV_FOURCC('v', 'p', '0', '9')
#define LSP_FLV_AAC LSP_FLV_FOURCC('m', 'p', '4', 'a')
#define LSP_FLV_OPUS LSP_FLV_FOURCC('O', 'p', 'u', 's')

typedef struct {
	int kind;            /* LSP_FLV_AUDIO or LSP_FLV_VIDEO */
	uint32_t codec;      /* FourCC (legacy ids mapped: 7 avc1, 12 hvc1, 10 mp4a); 0 unknown */
	int legacy;          /* legacy codec id / sound format when codec is 0; -1 multitrack */
	int is_header;       /* AVC decoder configuration / AAC AudioSpecificConfig */
	int keyframe;        /* video: frame type 1; audio: always 1 */
	int eos;             /* AVC end of sequence */
	int32_t cts;         /* video composition time offset (ms), may be negative */
	const uint8_t *data; /* payload after the FLV/AVC/AAC packet headers */
	size_t len;
} lsp_flv_frame;

/* A frame with len 0 and no error carries nothing to mux (sequence end,
 * E-RTMP metadata, command frames). */
int lsp_flv_parse(int kind, const uint8_t *body, size_t len, lsp_flv_frame *f);

/* The codec in words for people ("AV1", "VP6 (legacy id 4)", "FourCC
 * 'xyz1'"), written into buf; returns buf. */
const char *lsp_flv_codec_name(int kind, uint32_t codec, int legacy, char *buf, size_t cap);

typedef struct {
	int hevc;            /* 0 H.264, 1 HEVC */
	int nal_len_size;    /* 1..4 */
	int profile, level;
	uint8_t ps[2048];    /* SPS and PPS (HEVC: VPS, SPS, PPS) in Annex B form */
	size_t ps_len;
} lsp_flv_avc;

/* Parse an AVCDecoderConfigurationRecord into *c. */
int lsp_flv_avc_config(const uint8_t *p, size_t len, lsp_flv_avc *c);
/* Parse an HEVCDecoderConfigurationRecord (hvcC) into *c (hevc = 1). */
int lsp_flv_hevc_config(const uint8_t *p, size_t len, lsp_flv_avc *c);

/* Length-prefixed NAL units → Annex B into out; with_ps prepends the
 * parameter sets (for keyframes).  HEVC access units start with an access
 * unit delimiter (NAL type 35) of our own; in-band ones are dropped.
 * Returns bytes written. */
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

typedef struct {
	int channels;        /* 1..255 */
	int pre_skip;        /* samples at 48 kHz */
	uint8_t head[19 + 2 + 255]; /* the ID header as received (libav's extradata) */
	size_t head_len;
} lsp_flv_opus;

/* Check an Opus ID header ("OpusHead", RFC 7845 5.1) into *o. */
int lsp_flv_opus_config(const uint8_t *p, size_t len, lsp_flv_opus *o);

#endif
