/* turn.c — TURN REST credentials and the ICE-server document for pages;
 * see turn.h.  HMAC-SHA1 and base64 come from OpenSSL (the TURN server
 * fixes SHA-1 here, not lsp: core/hmac.h is HMAC-SHA256). */
#include "rtc/turn.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SHA1_LEN 20

static int url_char_ok(int c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ',';
}

/* The scheme of the URL at u (len bytes): 1 turn/turns, 2 stun/stuns, 0 other. */
static int scheme(const char *u, size_t len)
{
	if ((len > 5 && !strncmp(u, "turn:", 5)) || (len > 6 && !strncmp(u, "turns:", 6)))
		return 1;
	if ((len > 5 && !strncmp(u, "stun:", 5)) || (len > 6 && !strncmp(u, "stuns:", 6)))
		return 2;
	return 0;
}

static int bad(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errcap)
		vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int lsp_turn_check(const lsp_turn_cfg *t, char *err, size_t errcap)
{
	const char *p = t->urls;
	int n = 0, turn = 0;
	if (t->ttl < LSP_TURN_TTL_MIN || t->ttl > LSP_TURN_TTL_MAX)
		return bad(err, errcap, "TTL %d s out of %d..%d", t->ttl, LSP_TURN_TTL_MIN, LSP_TURN_TTL_MAX);
	if (!p || !*p)
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		int k;
		if (len == 0 || len > LSP_TURN_URL_MAX)
			return bad(err, errcap, "URL %d: empty or over %d bytes", n + 1, LSP_TURN_URL_MAX);
		for (size_t i = 0; i < len; i++)
			if (!url_char_ok((unsigned char)p[i]))
				return bad(err, errcap, "URL %d: a character that is not allowed", n + 1);
		if (!(k = scheme(p, len)))
			return bad(err, errcap, "URL %d: not turn:, turns:, stun: or stuns:", n + 1);
		turn |= k == 1;
		if (++n > LSP_TURN_URLS_MAX)
			return bad(err, errcap, "more than %d URLs", LSP_TURN_URLS_MAX);
		if (!p[len])
			break;
		p += len + 1;
	}
	if (turn && (!t->secret || !t->secret_len))
		return bad(err, errcap, "turn: URLs need a shared secret");
	return n;
}

static int id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > LSP_TURN_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int lsp_turn_cred(const unsigned char *secret, size_t slen, long long expiry, const char *id, char *user, size_t ucap,
		  char *cred, size_t ccap)
{
	unsigned char mac[SHA1_LEN];
	unsigned int ml = sizeof mac;
	int n;
	if (!secret || !slen || slen > INT_MAX || expiry <= 0 || !id || !id_ok(id))
		return -EINVAL;
	if (ccap < LSP_TURN_CRED_MAX)
		return -ENOSPC;
	n = snprintf(user, ucap, "%lld:%s", expiry, id);
	if (n < 0 || (size_t)n >= ucap)
		return -ENOSPC;
	if (!HMAC(EVP_sha1(), secret, (int)slen, (const unsigned char *)user, (size_t)n, mac, &ml) || ml != SHA1_LEN) {
		user[0] = 0;
		cred[0] = 0;
		return -EIO;
	}
	EVP_EncodeBlock((unsigned char *)cred, mac, SHA1_LEN); /* 28 characters and a NUL */
	return 0;
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (n >= cap - *o)
		return -ENOSPC;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = 0;
	return 0;
}

#define PUTS(s) put(out, cap, &o, (s), strlen(s))

int lsp_turn_json(const lsp_turn_cfg *t, long long now, const char *id, char *out, size_t cap)
{
	char user[LSP_TURN_USER_MAX], cred[LSP_TURN_CRED_MAX], ttl[48];
	const char *p = t->urls;
	size_t o = 0;
	int rc;
	if (!cap)
		return -ENOSPC;
	out[0] = 0;
	if (!p || !*p)
		return PUTS("{\"iceServers\":[]}") < 0 ? -ENOSPC : (int)o;
	if (PUTS("{\"iceServers\":[{\"urls\":[") < 0)
		return -ENOSPC;
	for (int first = 1;; first = 0) {
		size_t len = strcspn(p, ",");
		if ((!first && PUTS(",") < 0) || PUTS("\"") < 0 || put(out, cap, &o, p, len) < 0 || PUTS("\"") < 0)
			return -ENOSPC;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (PUTS("]") < 0)
		return -ENOSPC;
	if (t->secret && t->secret_len) {
		if ((rc = lsp_turn_cred(t->secret, t->secret_len, now + t->ttl, id, user, sizeof user, cred, sizeof cred)) < 0)
			return rc;
		/* user: digits, ':' and id characters; cred: base64 — neither needs escaping */
		rc = PUTS(",\"username\":\"") < 0 || PUTS(user) < 0 || PUTS("\",\"credential\":\"") < 0 || PUTS(cred) < 0 ||
		     PUTS("\"");
		memset(cred, 0, sizeof cred);
		if (rc)
			return -ENOSPC;
	}
	snprintf(ttl, sizeof ttl, "}],\"ttl\":%d}", t->ttl);
	return PUTS(ttl) < 0 ? -ENOSPC : (int)o;
}
