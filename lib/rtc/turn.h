/* turn.h — TURN servers for the pages, with time-limited credentials in
 * the TURN REST convention a TURN server such as coturn checks with
 * use-auth-secret / static-auth-secret (the long-term credential
 * mechanism of RFC 8489 §9.2 with a password derived from a shared
 * secret):
 *
 *     username   = "<expiry, unix seconds>:<id>"
 *     credential = base64(HMAC-SHA1(secret, username))
 *
 * The TURN server recomputes the credential from the username and its
 * copy of the secret, and refuses a username whose expiry has passed: no
 * per-user state on either side.  lsp-rtc answers GET /whep/ice-servers
 * (and /whip/ice-servers) with lsp_turn_json's document, which a page
 * hands to RTCPeerConnection({iceServers}).  Secrets and credentials are
 * never logged.  Nothing here allocates; functions return 0 (or a
 * length) or a negative errno. */
#ifndef LSP_TURN_H
#define LSP_TURN_H
#include <stddef.h>

#define LSP_TURN_URLS_MAX 8        /* URLs in LSP_TURN_URLS */
#define LSP_TURN_URL_MAX 255       /* bytes of one URL */
#define LSP_TURN_TTL_DEFAULT 3600  /* seconds a credential lives */
#define LSP_TURN_TTL_MIN 60
#define LSP_TURN_TTL_MAX 86400
#define LSP_TURN_ID_MAX 64         /* bytes of the id part of a username */
#define LSP_TURN_USER_MAX (20 + 1 + LSP_TURN_ID_MAX + 1)
#define LSP_TURN_CRED_MAX 29       /* base64 of 20 bytes + NUL */
#define LSP_TURN_JSON_MAX 4096     /* lsp_turn_json's document fits */

typedef struct {
	const char *urls;            /* comma-separated turn:, turns: and stun: URLs; NULL or "": none */
	const unsigned char *secret; /* shared with the TURN server; needed for turn:/turns: URLs */
	size_t secret_len;
	int ttl;                     /* seconds, LSP_TURN_TTL_MIN..LSP_TURN_TTL_MAX */
} lsp_turn_cfg;

/* Check a cfg before serving with it: the URLs (each scheme turn:, turns:
 * or stun:, printable without quotes, backslashes or spaces, at most
 * LSP_TURN_URLS_MAX of LSP_TURN_URL_MAX bytes), the TTL, and a secret when
 * any URL is turn: or turns:.  The number of URLs (0: none), or -EINVAL
 * with err filled (never with the secret). */
int lsp_turn_check(const lsp_turn_cfg *t, char *err, size_t errcap);

/* The username and credential for id ([A-Za-z0-9_.-], 1..LSP_TURN_ID_MAX
 * bytes) expiring at expiry: user (cap >= LSP_TURN_USER_MAX) and cred
 * (cap >= LSP_TURN_CRED_MAX).  0, -EINVAL (no secret, bad id or expiry),
 * -ENOSPC, -EIO (the HMAC failed; nothing usable written). */
int lsp_turn_cred(const unsigned char *secret, size_t slen, long long expiry, const char *id, char *user, size_t ucap,
		  char *cred, size_t ccap);

/* The JSON document for a page, for a cfg lsp_turn_check accepted, at
 * time now, credentials made for id:
 *   {"iceServers":[{"urls":[…],"username":"…","credential":"…"}],"ttl":N}
 * (username and credential only with a secret), or {"iceServers":[]}
 * without URLs.  Its length, or -ENOSPC / -EINVAL / -EIO. */
int lsp_turn_json(const lsp_turn_cfg *t, long long now, const char *id, char *out, size_t cap);

#endif
