/* session.h — sign-in sessions: one row per session token lsp-api issued,
 * keyed by the token's SHA-256 (hex), with its user and expiry.
 *
 * The token itself is never stored: a row says the token is still good,
 * so deleting it (signing out, erasure, the expiry sweep) revokes the
 * token at once even though the token's own expiry lies ahead.
 *
 * Functions return 0 / a count / 1-or-0 as each says, or a negative
 * errno-style code with a reason in err.  The caller owns every buffer. */
#ifndef LSP_SESSION_H
#define LSP_SESSION_H
#include <stddef.h>

#include "state/account.h"
#include "state/store.h"

/* Keep a session (a hash seen before is left as it is).  0, or negative. */
int lsp_session_add(lsp_store *st, const char *hash, const char *user, long long created_at, long long expires_at,
		    char *err, size_t errcap);

/* The account of the live session hash (expires_at > now): 1 and out's
 * name, role and kid filled, 0 when there is none, or negative. */
int lsp_session_user(lsp_store *st, const char *hash, long long now, lsp_account *out, char *err, size_t errcap);

/* Forget one session.  0 (also when there was none), or negative. */
int lsp_session_rm(lsp_store *st, const char *hash, char *err, size_t errcap);

/* Forget every session expired by now.  The count removed, or negative. */
int lsp_session_sweep(lsp_store *st, long long now, char *err, size_t errcap);

#endif
