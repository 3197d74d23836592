/* token.h — signed chat tokens (HMAC-SHA256), stateless.
 *
 * A token is "v1.<payload>.<mac>", both parts base64url without padding:
 * payload = "<user>|<role>|<channel or *>|<expiry unix seconds>", mac =
 * HMAC-SHA256(secret, "v1." + payload-b64).  Verification recomputes the
 * MAC and compares it in constant time before it looks at any field, then
 * checks the expiry.  Tokens are bearer secrets: never log them.
 *
 * The secret comes from LSP_SECRET, or from <data_dir>/chat.secret (32
 * random bytes as hex, created with mode 0600 on first use). */
#ifndef LSP_TOKEN_H
#define LSP_TOKEN_H
#include <stddef.h>

#include "core/key.h"

#define LSP_TOKEN_MAX 512
#define LSP_SECRET_MAX 128

enum lsp_role { LSP_ROLE_VIEWER = 0, LSP_ROLE_MOD = 1, LSP_ROLE_OWNER = 2 };

typedef struct {
	char user[LSP_NAME_MAX + 1];
	char channel[LSP_NAME_MAX + 1]; /* "*" = any channel; "-<name>" a reserved scope that allows none */
	int role;                       /* enum lsp_role */
	long long exp;                  /* unix seconds */
} lsp_token;

/* "viewer"/"mod"/"owner" → role, -1 if unknown; and back. */
int lsp_role_parse(const char *s);
const char *lsp_role_name(int role);

/* Secret from LSP_SECRET (if non-empty) or the file under data_dir,
 * created when missing.  Returns its length (> 0) or a negative code. */
int lsp_token_secret(const char *data_dir, unsigned char *key, size_t cap, char *err, size_t errcap);

/* Issue a token into out (cap >= LSP_TOKEN_MAX).  0 or -EINVAL. */
int lsp_token_issue(const unsigned char *key, size_t keylen, const lsp_token *t, char *out, size_t cap);

/* Verify: 0 and *t filled; -EINVAL malformed or forged; -ETIMEDOUT
 * expired (now >= exp).  *t is only filled on success. */
int lsp_token_verify(const unsigned char *key, size_t keylen, const char *tok, size_t len, long long now,
		     lsp_token *t);

/* 1 if the token allows acting in channel (its own or "*"); a reserved
 * scope (starting with '-', as kid-mode's "-kid") allows none. */
int lsp_token_allows(const lsp_token *t, const char *channel);

#endif
