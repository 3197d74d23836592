/* rtcauth.c — relay tokens (see rtcauth.h for the contract) over
 * core/sigtok, and the loopback test for token-less /relay. */
#include "rtc/rtcauth.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/http.h"
#include "core/sigtok.h"
#include "state/chandir.h"

/* The token format, its check and the secret file are core/sigtok's (the
 * playback tokens lsp-edge checks share them); a relay token is its
 * "v1" kind, whose constants are this header's. */
_Static_assert(LSP_RTCAUTH_SECRET_MIN == LSP_SIGTOK_SECRET_MIN && LSP_RTCAUTH_SECRET_MAX == LSP_SIGTOK_SECRET_MAX,
	       "relay secrets are sigtok secrets");

int lsp_rtcauth_sign(const uint8_t *secret, size_t slen, const char *channel, long long exp, char *out, size_t cap)
{
	return lsp_sigtok_sign(&lsp_sigtok_relay, secret, slen, channel, exp, NULL, out, cap);
}

int lsp_rtcauth_check(const uint8_t *secret, size_t slen, const char *channel, const char *tok, size_t len,
		      long long now, const char **reason)
{
	return lsp_sigtok_check(&lsp_sigtok_relay, secret, slen, channel, tok, len, now, NULL, 0, NULL, reason);
}

int lsp_rtcauth_secret_file(const char *path, uint8_t *out, size_t cap, char *err, size_t errcap)
{
	return lsp_sigtok_secret_file(path, out, cap, err, errcap);
}

int lsp_rtcauth_play(const char *hls_root, const uint8_t *secret, size_t slen, const char *channel,
		     const lsp_http_req *rq, long long now, const char **reason)
{
	char q[LSP_SIGTOK_MAX];
	const char *tok = NULL, *v;
	size_t len = 0, vl = 0;
	int rc;
	*reason = NULL;
	if (!hls_root || !(lsp_chandir_access(hls_root, channel) & LSP_CHANDIR_F_SIGNED))
		return 0;
	if ((v = lsp_http_header_get(rq, "Authorization", &vl)) && vl > 7 && !strncasecmp(v, "Bearer ", 7)) {
		tok = v + 7;
		len = vl - 7;
	} else if (rq->query && lsp_http_query_get(rq->query, rq->query_len, "token", q, sizeof q) > 0) {
		tok = q;
		len = strlen(q);
	}
	if (!tok) {
		*reason = "no playback token";
		return -EACCES;
	}
	if (!secret || !slen) {
		*reason = "playback tokens off";
		rc = -EACCES;
	} else {
		rc = lsp_sigtok_check(&lsp_sigtok_play, secret, slen, channel, tok, len, now, NULL, 0, NULL, reason);
	}
	memset(q, 0, sizeof q);
	return rc;
}

int lsp_rtcauth_loopback(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}
