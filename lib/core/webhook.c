/* webhook.c — signed JSON POSTs over one libcurl easy handle; see
 * webhook.h for the signature scheme and the contract.  The handle owns a
 * copy of the url and of the secret (wiped on free); the answer's body is
 * kept to its first LSP_WEBHOOK_REASON_CAP bytes and the rest discarded. */
#include "core/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/hex.h"
#include "core/hmac.h"

struct lsp_webhook {
	CURL *curl;
	char *url;
	unsigned char secret[LSP_WEBHOOK_SECRET_MAX];
	size_t slen;
	long timeout_ms;
	char answer[LSP_WEBHOOK_REASON_CAP];
	size_t alen;
};

/* HMAC over "<t>.<body>": lsp_hmac_sha256 takes one buffer, so the
 * prefix and the body are joined in a heap copy (bodies are small). */
static int mac(const void *secret, size_t slen, long long t, const void *body, size_t blen,
	       uint8_t out[LSP_HMAC_LEN])
{
	char pre[32];
	int n = snprintf(pre, sizeof pre, "%lld.", t);
	unsigned char *msg;
	int rc;
	if (n < 0 || (size_t)n >= sizeof pre || blen > ((size_t)1 << 30))
		return -EINVAL;
	if (!(msg = malloc((size_t)n + blen + 1)))
		return -ENOMEM;
	memcpy(msg, pre, (size_t)n);
	if (blen)
		memcpy(msg + n, body, blen);
	rc = lsp_hmac_sha256(secret, slen, msg, (size_t)n + blen, out);
	free(msg);
	return rc;
}

int lsp_webhook_sign(const void *secret, size_t slen, long long t, const void *body, size_t blen, char *out,
		     size_t cap)
{
	uint8_t m[LSP_HMAC_LEN];
	char hx[2 * LSP_HMAC_LEN + 1];
	int rc, n;
	if (cap)
		out[0] = 0;
	if ((rc = mac(secret, slen, t, body, blen, m)) < 0)
		return rc;
	lsp_hex_encode(m, sizeof m, hx);
	n = snprintf(out, cap, "t=%lld,v1=%s", t, hx);
	OPENSSL_cleanse(m, sizeof m);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = 0;
		return -ENOSPC;
	}
	return 0;
}

int lsp_webhook_verify(const void *secret, size_t slen, const char *header, const void *body, size_t blen,
		       long long now, int tolerance_s)
{
	uint8_t m[LSP_HMAC_LEN];
	char want[2 * LSP_HMAC_LEN + 1];
	const char *p, *v;
	long long t = 0;
	int digits = 0, ok;
	if (!header || strncmp(header, "t=", 2) != 0)
		return 0;
	for (p = header + 2; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
		t = t * 10 + (*p - '0');
	if (digits == 0 || strncmp(p, ",v1=", 4) != 0)
		return 0;
	v = p + 4;
	if (strlen(v) != 2 * LSP_HMAC_LEN || t < now - tolerance_s || t > now + tolerance_s)
		return 0;
	if (mac(secret, slen, t, body, blen, m) < 0)
		return 0;
	lsp_hex_encode(m, sizeof m, want);
	ok = lsp_hmac_equal(want, v, 2 * LSP_HMAC_LEN);
	OPENSSL_cleanse(m, sizeof m);
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}

int lsp_webhook_secret(const char *text, const char *file, char *out, size_t cap, size_t *len, char *err,
		       size_t errcap)
{
	size_t n;
	*len = 0;
	if (text && *text) {
		n = strlen(text);
		if (n > cap) {
			snprintf(err, errcap, "webhook secret longer than %zu bytes", cap);
			return -EINVAL;
		}
		memcpy(out, text, n);
		*len = n;
		return 0;
	}
	if (file && *file) {
		char buf[LSP_WEBHOOK_SECRET_MAX + 2];
		FILE *f = fopen(file, "re");
		int e;
		if (!f) {
			e = errno;
			snprintf(err, errcap, "webhook secret file %s: %s", file, strerror(e));
			return -e;
		}
		n = fread(buf, 1, sizeof buf, f);
		e = ferror(f) ? EIO : 0;
		(void)fclose(f);
		if (e) {
			snprintf(err, errcap, "webhook secret file %s: read error", file);
			OPENSSL_cleanse(buf, sizeof buf);
			return -EIO;
		}
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\r') {
				n = i;
				break;
			}
		if (n == 0 || n > cap || n > LSP_WEBHOOK_SECRET_MAX) {
			snprintf(err, errcap, "webhook secret file %s: empty or longer than %zu bytes", file,
				 cap < LSP_WEBHOOK_SECRET_MAX ? cap : (size_t)LSP_WEBHOOK_SECRET_MAX);
			OPENSSL_cleanse(buf, sizeof buf);
			return -EINVAL;
		}
		memcpy(out, buf, n);
		OPENSSL_cleanse(buf, sizeof buf);
		*len = n;
		return 0;
	}
	snprintf(err, errcap, "no webhook secret (LSP_WEBHOOK_SECRET or LSP_WEBHOOK_SECRET_FILE)");
	return -ENOENT;
}

int lsp_webhook_conf_env(lsp_webhook_conf *c, char *err, size_t errcap)
{
	const char *u = getenv("LSP_WEBHOOK_URL"), *t = getenv("LSP_WEBHOOK_TIMEOUT"), *f = getenv("LSP_WEBHOOK_FAIL");
	char *end = NULL;
	double secs = 2;
	int rc;
	memset(c, 0, sizeof *c);
	c->timeout_ms = 2000;
	if (!u || !*u)
		return 0;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
		snprintf(err, errcap, "LSP_WEBHOOK_URL must start with http:// or https://");
		return -EINVAL;
	}
	if (t && *t) {
		errno = 0;
		secs = strtod(t, &end);
		if (errno || end == t || *end || !(secs >= 0.1 && secs <= 60)) {
			snprintf(err, errcap, "LSP_WEBHOOK_TIMEOUT must be seconds from 0.1 to 60");
			return -EINVAL;
		}
	}
	if (f && *f && strcmp(f, "open") != 0 && strcmp(f, "closed") != 0) {
		snprintf(err, errcap, "LSP_WEBHOOK_FAIL must be open or closed");
		return -EINVAL;
	}
	if ((rc = lsp_webhook_secret(getenv("LSP_WEBHOOK_SECRET"), getenv("LSP_WEBHOOK_SECRET_FILE"), c->secret,
				     sizeof c->secret, &c->secret_len, err, errcap)) < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	c->url = u;
	c->timeout_ms = (int)(secs * 1000 + 0.5);
	c->fail_closed = f && strcmp(f, "closed") == 0;
	return 0;
}

int lsp_webhook_id(char *out, size_t cap)
{
	unsigned char r[16];
	if (cap < 2 * sizeof r + 1 || RAND_bytes(r, sizeof r) != 1)
		return -EIO;
	lsp_hex_encode(r, sizeof r, out);
	return 0;
}

int lsp_webhook_new(lsp_webhook **out, const char *url, const void *secret, size_t slen, int timeout_ms, char *err,
		    size_t errcap)
{
	lsp_webhook *w;
	*out = NULL;
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    strlen(url) > 4096) {
		snprintf(err, errcap, "webhook url must start with http:// or https://");
		return -EINVAL;
	}
	if (slen == 0 || slen > LSP_WEBHOOK_SECRET_MAX) {
		snprintf(err, errcap, "webhook secret empty or longer than %d bytes", LSP_WEBHOOK_SECRET_MAX);
		return -EINVAL;
	}
	if (timeout_ms <= 0) {
		snprintf(err, errcap, "webhook timeout must be positive");
		return -EINVAL;
	}
	if (!(w = calloc(1, sizeof *w)) || !(w->url = strdup(url))) {
		free(w);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	/* curl_global_init is thread-safe from libcurl 7.84 (Debian 12: 7.88) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(w->curl = curl_easy_init())) {
		snprintf(err, errcap, "libcurl would not start");
		free(w->url);
		free(w);
		return -EIO;
	}
	memcpy(w->secret, secret, slen);
	w->slen = slen;
	w->timeout_ms = timeout_ms;
	*out = w;
	return 0;
}

void lsp_webhook_free(lsp_webhook *w)
{
	if (!w)
		return;
	if (w->curl)
		curl_easy_cleanup(w->curl);
	OPENSSL_cleanse(w->secret, sizeof w->secret);
	free(w->url);
	free(w);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	lsp_webhook *w = ctx;
	size_t len = sz * n, room = sizeof w->answer - 1 - w->alen;
	size_t k = len < room ? len : room;
	memcpy(w->answer + w->alen, p, k);
	w->alen += k;
	return len;
}

/* The answer's first line as printable ASCII (a log field, not markup). */
static void clean_reason(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\n' || c == '\r')
			break;
		out[o++] = (char)((c >= 0x20 && c < 0x7f) ? c : '?');
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = 0;
}

int lsp_webhook_post(lsp_webhook *w, const char *event, const char *delivery, const char *body, size_t blen,
		     char *reason, size_t rcap, char *err, size_t errcap)
{
	char sig[LSP_WEBHOOK_SIG_CAP], id[40], line[3][160];
	struct curl_slist *hl = NULL, *t;
	long status = 0;
	CURLcode cc;
	int rc;

	if (rcap)
		reason[0] = 0;
	if (!delivery) {
		if (lsp_webhook_id(id, sizeof id) < 0) {
			snprintf(err, errcap, "no random delivery id");
			return -EIO;
		}
		delivery = id;
	}
	if ((rc = lsp_webhook_sign(w->secret, w->slen, (long long)time(NULL), body, blen, sig, sizeof sig)) < 0) {
		snprintf(err, errcap, "cannot sign the request");
		return rc == -ENOMEM ? rc : -EIO;
	}
	snprintf(line[0], sizeof line[0], "X-LSP-Event: %.64s", event);
	snprintf(line[1], sizeof line[1], "X-LSP-Delivery: %.64s", delivery);
	snprintf(line[2], sizeof line[2], "X-LSP-Signature: %s", sig);
	OPENSSL_cleanse(sig, sizeof sig);
	{
		const char *want[] = { "Content-Type: application/json", "Expect:", line[0], line[1], line[2] };
		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
			if (!(t = curl_slist_append(hl, want[i]))) {
				OPENSSL_cleanse(line[2], sizeof line[2]);
				curl_slist_free_all(hl);
				snprintf(err, errcap, "out of memory");
				return -ENOMEM;
			}
			hl = t;
		}
	}
	OPENSSL_cleanse(line[2], sizeof line[2]); /* libcurl copied it */
	w->alen = 0;
	curl_easy_reset(w->curl); /* keeps the connection cache */
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(w->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "lsp-webhook/" LSP_VERSION);
	cc = curl_easy_perform(w->curl);
	curl_slist_free_all(hl);
	if (cc != CURLE_OK) {
		snprintf(err, errcap, "%s", curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT     ? -ETIMEDOUT
		       : cc == CURLE_COULDNT_CONNECT      ? -ECONNREFUSED
							  : -EIO;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 100 || status > 599) {
		snprintf(err, errcap, "bad HTTP status %ld", status);
		return -EIO;
	}
	clean_reason(w->answer, w->alen, reason, rcap);
	return (int)status;
}
