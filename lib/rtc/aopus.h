/* aopus.h — AAC (ADTS frames) → Opus 48 kHz stereo 20 ms packets, through
 * libavcodec (aac decoder, swresample, libopus encoder).  lsp-rtc runs one
 * per channel, never one per viewer.
 *
 * Timestamps: the first frame's pts (90 kHz) anchors the Opus clock
 * (48 kHz); after that every packet advances it by 960, and a jump of more
 * than 200 ms in the input re-anchors it.  The context owns every codec
 * object; the callback borrows each packet for the duration of the call.
 * Functions return 0 or a negative code with a reason in err. */
#ifndef LSP_AOPUS_H
#define LSP_AOPUS_H
#include <stddef.h>
#include <stdint.h>

typedef struct lsp_aopus lsp_aopus;
typedef void (*lsp_aopus_fn)(void *ctx, const uint8_t *p, size_t len, uint32_t ts48);

int lsp_aopus_open(lsp_aopus **out, int bitrate, char *err, size_t errcap);
/* Feed one ADTS frame; cb gets each Opus packet produced. */
int lsp_aopus_put(lsp_aopus *a, const uint8_t *adts, size_t len, int64_t pts90, lsp_aopus_fn cb,
		  void *ctx, char *err, size_t errcap);
void lsp_aopus_close(lsp_aopus *a);

#endif
