/* thumb.h — still pictures of a live stream: one H.264 key frame decoded
 * (libavcodec), scaled down (libswscale) and encoded as a JPEG (libavcodec
 * mjpeg), published atomically with lsp_fsio_publish().
 *
 * Each call decodes just the key frame it is given (the decoder is drained
 * and flushed after it), so the cost is one intra frame per picture and no
 * state carries between pictures.  Used by lsp-package --thumb for
 * <channel>/thumb.jpg, which the channel directory shows.
 *
 * Functions return 0 or a negative error code and fill err; they never
 * print or exit. */
#ifndef LSP_THUMB_H
#define LSP_THUMB_H
#include <stddef.h>

struct AVCodecParameters;
struct AVPacket;
typedef struct lsp_thumb lsp_thumb;

#define LSP_THUMB_MAX_WIDTH 4096

/* Open a decoder for the H.264 stream described by par; pictures are at
 * most max_width pixels wide (aspect kept; 16..LSP_THUMB_MAX_WIDTH).
 * -EINVAL for a stream that is not H.264 or a bad width, -ENOMEM, -EIO. */
int lsp_thumb_open(lsp_thumb **out, const struct AVCodecParameters *par, int max_width, char *err,
		   size_t errcap);

/* Decode key frame pkt and publish it as JPEG dir/name.  -EAGAIN when the
 * packet gave no picture (e.g. not decodable on its own), -EIO for codec
 * trouble, or the error of lsp_fsio_publish(). */
int lsp_thumb_write(lsp_thumb *t, const struct AVPacket *pkt, const char *dir, const char *name, char *err,
		    size_t errcap);

void lsp_thumb_close(lsp_thumb *t);

#endif
