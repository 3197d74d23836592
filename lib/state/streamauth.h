/* streamauth.h — the one stream-key check every ingest path uses (RTMP,
 * RTMPS, SRT in lsp-ingest; WHIP in lsp-rtc): key → channel name (lib/key)
 * → channel row (lib/store) → suspended flag and key hash.
 *
 * Never logs; the key is only read, never copied anywhere but the hash
 * check.  The caller owns every buffer. */
#ifndef LSP_STREAMAUTH_H
#define LSP_STREAMAUTH_H
#include <stddef.h>

#include "state/store.h"

enum {
	LSP_STREAMAUTH_OK = 0,
	LSP_STREAMAUTH_UNKNOWN = 1,   /* not a key, no such channel, hash mismatch */
	LSP_STREAMAUTH_REVOKED = 2,   /* the channel has no key */
	LSP_STREAMAUTH_SUSPENDED = 3, /* an admin suspended the channel */
};

/* Check key.  st: an open store, or NULL to open one from the environment
 * (LSP_DB_URL, LSP_DATA_DIR) for this one check.  On return channel holds
 * the channel the key names ("" when it names none) and *reason a short
 * static text for refusals ("unknown key", "revoked key", "channel
 * suspended").  Returns one of the LSP_STREAMAUTH_* values, or a negative
 * code when the store cannot answer (err says why; *reason "store
 * unavailable"). */
int lsp_streamauth_check(lsp_store *st, const char *key, char *channel, size_t cap, const char **reason,
			 char *err, size_t errcap);

#endif
