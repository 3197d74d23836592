/* chanhook.h — a channel's own webhook receiver: the URL its owner set
 * (channels.webhook_url, "" none) to which lsp-ingest and lsp-rtc send the
 * channel's admission requests and lsp-hook its .live/.health/.ended,
 * instead of the platform's LSP_WEBHOOK_URL.  Signed with the same
 * LSP_WEBHOOK_SECRET (the receiver learns it from the operator).
 *
 * Who may point a channel's events somewhere is the caller's to check
 * (lsp-api: owner or admin; lsp-ctl: the operator); what may be stored is
 * this file's: an http:// or https:// URL with a host, printable ASCII
 * without spaces, at most LSP_CHANHOOK_URL_MAX bytes.  Operators who do
 * not want the platform to POST to addresses its users choose set
 * LSP_WEBHOOK_PER_CHANNEL=0: lsp_chanhook_enabled then says no and the
 * tools use the global URL only.
 *
 * Functions return 0 or 1 as each says, or a negative errno-style code
 * with a reason in err; the caller owns every buffer. */
#ifndef LSP_CHANHOOK_H
#define LSP_CHANHOOK_H
#include <stddef.h>

#include "state/store.h"

#define LSP_CHANHOOK_URL_MAX 512 /* bytes, NUL not counted */

/* 1 when url may be stored as a channel's webhook URL, else 0 ("" is
 * not a URL: it clears, see lsp_chanhook_set). */
int lsp_chanhook_valid(const char *url);

/* 0 when $LSP_WEBHOOK_PER_CHANNEL is "0" (per-channel URLs ignored), else 1. */
int lsp_chanhook_enabled(void);

/* Channel's URL into out (cap > LSP_CHANHOOK_URL_MAX; "" when it has
 * none).  st NULL: a store opened from the environment for this call.
 * 1 the channel exists, 0 it does not (out ""), or negative (out ""). */
int lsp_chanhook_get(lsp_store *st, const char *channel, char *out, size_t cap, char *err, size_t errcap);

/* Set channel's URL ("" clears it).  0, -EINVAL (not a valid URL: err
 * says what is wanted), -ENOENT (no such channel), or negative. */
int lsp_chanhook_set(lsp_store *st, const char *channel, const char *url, char *err, size_t errcap);

#endif
