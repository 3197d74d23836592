/* sigtok.h — short HMAC-signed tokens bound to a channel, shared by the
 * relay tokens of lsp-rtc (rtc/rtcauth.h) and the playback tokens lsp-api
 * issues and lsp-edge / lsp-rtc check.
 *
 * A token is text safe in a URL path, a query and a header:
 *
 *     <tag>.<expiry>[.<viewer>].<mac>
 *
 * tag: the kind's fixed tag ("v1" relay, "p1" playback); expiry: unix
 * seconds, 1 to 18 digits; viewer (only where the kind allows one): 1 to
 * LSP_SIGTOK_VIEWER_MAX of [a-z0-9_-]; mac: 64 lower-case hex digits of
 * HMAC-SHA256(secret, "<domain>|<channel>|<expiry>[|<viewer>]").  The
 * channel is in the MAC, not in the token: a token opens one channel.  The
 * domain (e.g. "lsp-relay.v1", "lsp-play.v1") keeps one kind from passing
 * as another under the same secret.  A checker recomputes the MAC and
 * compares it in constant time before it trusts the expiry; it accepts a
 * token until skew seconds after its expiry and refuses one that expires
 * more than ahead seconds from now.  Tokens and secrets are never logged.
 *
 * Functions return 0 or a negative errno; none allocates. */
#ifndef LSP_SIGTOK_H
#define LSP_SIGTOK_H
#include <stddef.h>
#include <stdint.h>

#define LSP_SIGTOK_VIEWER_MAX 64
#define LSP_SIGTOK_MAX 176 /* tag + 20 digits + viewer + 64 hex + dots + NUL fits */
#define LSP_SIGTOK_SECRET_MIN 16 /* bytes */
#define LSP_SIGTOK_SECRET_MAX 256

typedef struct {
	const char *tag;    /* "v1": the token's first field, [a-z0-9]{1,8} */
	const char *domain; /* first part of the MAC'd message */
	int viewer_ok;      /* 1: a viewer field may be present */
	long long skew;     /* seconds a token is still good after its expiry */
	long long ahead;    /* refused when it expires later than now + ahead */
} lsp_sigtok_kind;

/* The two kinds lsp signs.  Relay: "v1.<exp>.<mac>", domain
 * "lsp-relay.v1", 60 s lives, 30 s skew, 300 s ahead at most (rtc/rtcauth.h).
 * Playback: "p1.<exp>[.<viewer>].<mac>", domain "lsp-play.v1", issued by
 * lsp-api for LSP_SIGTOK_PLAY_TTL seconds (a caller may ask for less), 30
 * s skew, at most LSP_SIGTOK_PLAY_AHEAD ahead. */
#define LSP_SIGTOK_PLAY_TTL 14400    /* 4 h: a long stream plays through */
#define LSP_SIGTOK_PLAY_AHEAD 86400  /* 1 day */
extern const lsp_sigtok_kind lsp_sigtok_relay, lsp_sigtok_play;

/* A token of kind k for channel expiring at exp (unix seconds), for viewer
 * (NULL or "" for none; must be NULL unless k->viewer_ok) into out (cap >=
 * LSP_SIGTOK_MAX).  0, -EINVAL (no secret, bad exp or viewer), -ENOSPC,
 * -EIO. */
int lsp_sigtok_sign(const lsp_sigtok_kind *k, const uint8_t *secret, size_t slen, const char *channel, long long exp,
		    const char *viewer, char *out, size_t cap);

/* Check tok (len bytes, not NUL-terminated) of kind k for channel at time
 * now.  0 when good (then the viewer, "" for none, into viewer when vcap >
 * 0, and the expiry into *exp when exp is not NULL); -EACCES with *reason
 * ("malformed token", "bad signature", "token expired", "token lives too
 * long") when not. */
int lsp_sigtok_check(const lsp_sigtok_kind *k, const uint8_t *secret, size_t slen, const char *channel,
		     const char *tok, size_t len, long long now, char *viewer, size_t vcap, long long *exp,
		     const char **reason);

/* The secret in file path: its bytes, trailing white space dropped, at
 * least LSP_SIGTOK_SECRET_MIN and at most cap.  The file must not be
 * readable or writable by group or others.  Its length, or a negative
 * errno with err filled (never with the secret in it). */
int lsp_sigtok_secret_file(const char *path, uint8_t *out, size_t cap, char *err, size_t errcap);

/* The secret from file (when not NULL) else from the environment variable
 * env (its bytes, at least LSP_SIGTOK_SECRET_MIN).  Its length, 0 when
 * neither is set, or a negative errno with err filled. */
int lsp_sigtok_secret_load(const char *file, const char *env, uint8_t *out, size_t cap, char *err, size_t errcap);

#endif
