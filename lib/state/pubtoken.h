/* pubtoken.h — short-lived WHIP publish tokens.
 *
 * lsp-api issues one to a channel's owner (or an admin) who is signed in
 * (POST /api/v1/channels/{name}/publish-token); lsp-rtc takes it as the
 * WHIP bearer in place of the stream key, so the studio goes live with
 * the session it already has and the stream key an encoder (OBS) uses is
 * neither shown nor rotated.
 *
 * A publish token is a lib/state/token.c token (user, role "owner", the
 * channel, expiry) signed with a key derived from the token secret,
 * HMAC-SHA256(secret, "lsp publish token v1"): a chat token never
 * verifies as a publish token, nor a publish token as a chat token or a
 * session.  Tokens are bearer secrets: never log them.  No state; the
 * caller owns every buffer. */
#ifndef LSP_PUBTOKEN_H
#define LSP_PUBTOKEN_H
#include <stddef.h>

#include "state/store.h"

#define LSP_PUBTOKEN_TTL 120 /* seconds: long enough for one WHIP offer */

/* 1 when tok has the shape of a token ("v1."), so a caller can tell it
 * from a stream key (which starts with the channel name). */
int lsp_pubtoken_like(const char *tok);

/* Issue a publish token for user on channel, valid until exp (unix
 * seconds), into out (cap >= LSP_TOKEN_MAX).  0, or -EINVAL. */
int lsp_pubtoken_issue(const unsigned char *secret, size_t secretlen, const char *user, const char *channel,
		       long long exp, char *out, size_t cap);

/* Check tok as lsp_streamauth_check checks a key (same returns, from
 * state/streamauth.h): the signature and expiry at now, then the channel
 * row in st (NULL: opened from the environment for this check) — it must
 * exist and not be suspended.  channel gets the channel the token names
 * ("" when none); *reason a static text for refusals ("unknown key",
 * "expired publish token", "channel suspended", "store unavailable"). */
int lsp_pubtoken_check(lsp_store *st, const unsigned char *secret, size_t secretlen, const char *tok, long long now,
		       char *channel, size_t cap, const char **reason, char *err, size_t errcap);

#endif
