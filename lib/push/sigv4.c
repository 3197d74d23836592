/* sigv4.c — AWS Signature Version 4; see sigv4.h for the contract.
 * Holds no state.  HMAC and SHA-256 come from OpenSSL (EVP/HMAC one-shot
 * calls); everything else is string building into caller buffers. */
#include "push/sigv4.h"
#include "core/hex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

enum { MAXQ = 32, VALMAX = 1024, NAMEMAX = 64 };

typedef struct {
	char *p;
	size_t cap, len;
	int over;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
	if (b->over || b->len + n + 1 > b->cap) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

void lsp_sigv4_sha256_hex(const void *buf, size_t len, char out[LSP_SIGV4_HEX])
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256(buf, len, d);
	lsp_hex_encode(d, sizeof d, out);
}

void lsp_sigv4_amzdate(time_t t, char out[LSP_SIGV4_AMZDATE])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(out, LSP_SIGV4_AMZDATE, "%Y%m%dT%H%M%SZ", &tm) == 0)
		out[0] = 0; /* past year 9999: an empty date the server refuses */
}

static void enc(sbuf *b, const char *s, size_t n, int keep_slash)
{
	static const char x[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			char o = (char)c;
			put(b, &o, 1);
		} else {
			char o[3] = { '%', x[c >> 4], x[c & 15] };
			put(b, o, 3);
		}
	}
}

int lsp_sigv4_uri_encode(const char *s, int keep_slash, char *out, size_t cap)
{
	sbuf b = { out, cap, 0, 0 };
	if (cap)
		out[0] = 0;
	enc(&b, s, strlen(s), keep_slash);
	return b.over ? -ENOSPC : 0;
}

typedef struct {
	char k[VALMAX], v[VALMAX];
} qpair;

static int qcmp(const void *a, const void *b)
{
	const qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

typedef struct {
	char name[NAMEMAX];
	const char *value;
} hpair;

static int hcmp(const void *a, const void *b)
{
	return strcmp(((const hpair *)a)->name, ((const hpair *)b)->name);
}

/* Header value: leading/trailing blanks dropped, inner runs folded to one. */
static void put_value(sbuf *b, const char *v)
{
	int space = 0;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			put(b, " ", 1);
		space = 0;
		put(b, v, 1);
	}
}

int lsp_sigv4_canonical(const lsp_sigv4_req *r, char *out, size_t cap, char *signed_hdrs, size_t shcap,
			char *err, size_t errcap)
{
	qpair *q = NULL;
	hpair h[LSP_SIGV4_MAXHDR];
	sbuf b = { out, cap, 0, 0 }, sh = { signed_hdrs, shcap, 0, 0 };
	size_t nq = 0;
	int rc = -EINVAL;

	if (cap)
		out[0] = 0;
	if (shcap)
		signed_hdrs[0] = 0;
	if (!r->method || !r->path || r->path[0] != '/' || !r->payload_hash || r->nhdrs > LSP_SIGV4_MAXHDR) {
		snprintf(err, errcap, "sigv4: bad request (method, absolute path, payload hash, <= %d headers)",
			 LSP_SIGV4_MAXHDR);
		return -EINVAL;
	}
	if (!(q = calloc(MAXQ, sizeof *q))) {
		snprintf(err, errcap, "sigv4: out of memory");
		return -ENOMEM;
	}
	puts_(&b, r->method);
	put(&b, "\n", 1);
	enc(&b, r->path, strlen(r->path), 1);
	put(&b, "\n", 1);

	/* query: split, encode, sort */
	for (const char *s = r->query; s && *s;) {
		const char *amp = strchr(s, '&'), *end = amp ? amp : s + strlen(s), *eq = memchr(s, '=', (size_t)(end - s));
		sbuf kb, vb;
		if (end == s) {
			s = amp ? amp + 1 : end;
			continue;
		}
		if (nq == MAXQ) {
			snprintf(err, errcap, "sigv4: more than %d query parameters", MAXQ);
			goto fail;
		}
		kb = (sbuf){ q[nq].k, VALMAX, 0, 0 };
		vb = (sbuf){ q[nq].v, VALMAX, 0, 0 };
		q[nq].k[0] = q[nq].v[0] = 0;
		enc(&kb, s, (size_t)((eq ? eq : end) - s), 0);
		if (eq)
			enc(&vb, eq + 1, (size_t)(end - eq - 1), 0);
		if (kb.over || vb.over) {
			snprintf(err, errcap, "sigv4: query parameter too long");
			goto fail;
		}
		nq++;
		s = amp ? amp + 1 : end;
	}
	qsort(q, nq, sizeof *q, qcmp);
	for (size_t i = 0; i < nq; i++) {
		if (i)
			put(&b, "&", 1);
		puts_(&b, q[i].k);
		put(&b, "=", 1);
		puts_(&b, q[i].v);
	}
	put(&b, "\n", 1);

	/* headers: lower-case names, sorted, duplicates joined by ',' */
	for (size_t i = 0; i < r->nhdrs; i++) {
		size_t n = strlen(r->hdrs[i].name);
		if (n == 0 || n >= NAMEMAX || !r->hdrs[i].value) {
			snprintf(err, errcap, "sigv4: bad header name");
			goto fail;
		}
		for (size_t j = 0; j <= n; j++)
			h[i].name[j] = (char)tolower((unsigned char)r->hdrs[i].name[j]);
		h[i].value = r->hdrs[i].value;
	}
	qsort(h, r->nhdrs, sizeof *h, hcmp);
	for (size_t i = 0; i < r->nhdrs; i++) {
		int dup = i > 0 && !strcmp(h[i].name, h[i - 1].name);
		if (dup) {
			b.len--; /* reopen the previous line: drop its '\n' */
			put(&b, ",", 1);
		} else {
			puts_(&b, h[i].name);
			put(&b, ":", 1);
			if (i)
				put(&sh, ";", 1);
			puts_(&sh, h[i].name);
		}
		put_value(&b, h[i].value);
		put(&b, "\n", 1);
	}
	put(&b, "\n", 1);
	puts_(&b, sh.p ? sh.p : "");
	put(&b, "\n", 1);
	puts_(&b, r->payload_hash);
	if (b.over || sh.over) {
		snprintf(err, errcap, "sigv4: canonical request does not fit in %zu bytes", cap);
		rc = -ENOSPC;
		goto fail;
	}
	rc = 0;
fail:
	free(q);
	return rc;
}

int lsp_sigv4_string_to_sign(const char *amzdate, const char *scope, const char *canonical, char *out,
			     size_t cap)
{
	char h[LSP_SIGV4_HEX];
	int n;
	lsp_sigv4_sha256_hex(canonical, strlen(canonical), h);
	n = snprintf(out, cap, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, h);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

static void hmac(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
	unsigned int n = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

void lsp_sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
			   uint8_t key[32])
{
	char k0[256];
	uint8_t a[32], b[32];
	int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
	hmac(k0, (n < 0 || (size_t)n >= sizeof k0) ? sizeof k0 - 1 : (size_t)n, date8, a);
	hmac(a, 32, region, b);
	hmac(b, 32, service, a);
	hmac(a, 32, "aws4_request", key);
	memset(k0, 0, sizeof k0);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
}

int lsp_sigv4_authorization(const lsp_sigv4_cred *c, const char *amzdate, const lsp_sigv4_req *r, char *out,
			    size_t cap, char sig[LSP_SIGV4_HEX], char *err, size_t errcap)
{
	char *canon = NULL, sh[1024], scope[256], sts[512], date8[9], s[LSP_SIGV4_HEX];
	uint8_t key[32], d[32];
	int rc, n;
	const size_t canon_cap = 16384;

	if (!c->access_key || !c->secret_key || !c->region || !c->service || !amzdate || strlen(amzdate) != 16) {
		snprintf(err, errcap, "sigv4: missing credentials, region, service or date");
		return -EINVAL;
	}
	if (strlen(c->secret_key) > 200) {
		snprintf(err, errcap, "sigv4: secret key longer than 200 bytes");
		return -EINVAL;
	}
	memcpy(date8, amzdate, 8);
	date8[8] = 0;
	n = snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date8, c->region, c->service);
	if (n < 0 || (size_t)n >= sizeof scope) {
		snprintf(err, errcap, "sigv4: region or service too long");
		return -EINVAL;
	}
	if (!(canon = malloc(canon_cap))) {
		snprintf(err, errcap, "sigv4: out of memory");
		return -ENOMEM;
	}
	if ((rc = lsp_sigv4_canonical(r, canon, canon_cap, sh, sizeof sh, err, errcap)) < 0)
		goto fail;
	if ((rc = lsp_sigv4_string_to_sign(amzdate, scope, canon, sts, sizeof sts)) < 0) {
		snprintf(err, errcap, "sigv4: string to sign too long");
		goto fail;
	}
	lsp_sigv4_signing_key(c->secret_key, date8, c->region, c->service, key);
	hmac(key, sizeof key, sts, d);
	memset(key, 0, sizeof key);
	lsp_hex_encode(d, sizeof d, s);
	if (sig)
		memcpy(sig, s, LSP_SIGV4_HEX);
	n = snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", c->access_key,
		     scope, sh, s);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errcap, "sigv4: Authorization header does not fit in %zu bytes", cap);
		rc = -ENOSPC;
		goto fail;
	}
	rc = 0;
fail:
	free(canon);
	return rc;
}
