/* rtcauth.h — relay tokens, and the playback-token check on WHEP offers
 * (lsp_rtcauth_play, below).  Relay tokens: how an edge lsp-rtc proves to its origin (or
 * to the relay above it) that it may read a channel with GET /relay/C.
 *
 * Both ends share a secret (LSP_RELAY_SECRET or --relay-secret-file).
 * The edge sends, on every connection,
 *
 *     Authorization: Bearer v1.<expiry>.<mac>
 *
 * expiry: unix seconds, LSP_RTCAUTH_TTL after it was made; mac: 64
 * lower-case hex digits of HMAC-SHA256(secret, "lsp-relay.v1|<channel>|
 * <expiry>").  The channel is in the MAC, not in the token: a token for
 * one channel opens no other.  The origin recomputes the MAC and compares
 * it in constant time before it trusts the expiry; it accepts a token
 * until LSP_RTCAUTH_SKEW seconds after its expiry (clocks differ) and
 * refuses one that expires more than LSP_RTCAUTH_AHEAD seconds from now
 * (no long-lived tokens).  Tokens and secrets are never logged.
 *
 * Without a secret an origin answers /relay to loopback peers only (one
 * box needs no secret; nothing off the box can read a channel unasked).
 *
 * Functions return 0 or a negative errno; none allocates. */
#ifndef LSP_RTCAUTH_H
#define LSP_RTCAUTH_H
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"

#define LSP_RTCAUTH_TTL 60        /* seconds an edge's token lives */
#define LSP_RTCAUTH_SKEW 30       /* accepted this long after its expiry */
#define LSP_RTCAUTH_AHEAD 300     /* refused when it expires later than this */
#define LSP_RTCAUTH_TOKEN_MAX 96  /* "v1." + 20 digits + "." + 64 hex + NUL fits */
#define LSP_RTCAUTH_SECRET_MIN 16 /* bytes */
#define LSP_RTCAUTH_SECRET_MAX 256

/* A token for channel expiring at exp (unix seconds) into out (cap >=
 * LSP_RTCAUTH_TOKEN_MAX).  0, -EINVAL (no secret, bad exp), -ENOSPC, -EIO. */
int lsp_rtcauth_sign(const uint8_t *secret, size_t slen, const char *channel, long long exp, char *out, size_t cap);

/* Check tok (len bytes, not NUL-terminated) for channel at time now.
 * 0 when it is good; -EACCES with *reason ("malformed token", "bad
 * signature", "token expired", "token lives too long") when not. */
int lsp_rtcauth_check(const uint8_t *secret, size_t slen, const char *channel, const char *tok, size_t len,
		      long long now, const char **reason);

/* The secret in file path: its bytes, trailing white space dropped, at
 * least LSP_RTCAUTH_SECRET_MIN and at most cap.  The file must not be
 * readable or writable by group or others.  Its length, or a negative
 * errno with err filled (never with the secret in it). */
int lsp_rtcauth_secret_file(const char *path, uint8_t *out, size_t cap, char *err, size_t errcap);

/* Playback: may a WHEP offer rq for channel be answered?  When
 * <hls_root>/<channel> holds the .signed marker (state/chandir.h: the
 * channel is private or age-gated), rq must carry a playback token
 * (core/sigtok.h, lsp_sigtok_play) for channel as "Authorization: Bearer
 * <token>" or "?token=<token>", good at now under secret (slen 0: none is
 * good).  0 yes; -EACCES with *reason ("no playback token", "playback
 * tokens off", or sigtok's reasons) when not.  hls_root NULL: 0. */
int lsp_rtcauth_play(const char *hls_root, const uint8_t *secret, size_t slen, const char *channel,
		     const lsp_http_req *rq, long long now, const char **reason);

/* 1 if the peer of connected socket fd is a loopback address (127/8,
 * ::1, ::ffff:127/104), else 0. */
int lsp_rtcauth_loopback(int fd);

#endif
