/* s3.c — S3-compatible PUT/DELETE with SigV4 over one reused libcurl easy
 * handle; see s3.h for the contract.  The handle owns copies of the
 * configuration strings (the secret is wiped on close). */
#include "push/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "push/sigv4.h"

enum { FIELD = 256, BODYMAX = 4096, URLMAX = 4096 };

struct lsp_s3 {
	CURL *curl;
	char scheme[16], host[FIELD], base[FIELD]; /* host incl. ":port"; base path without trailing '/' */
	char region[64], bucket[FIELD], ak[FIELD], sk[FIELD], token[2048];
	int path_style;
	long timeout_ms, connect_ms;
	long connections;
	char body[BODYMAX];
	size_t bodylen;
};

static int cpy(char *dst, size_t cap, const char *s)
{
	int n = snprintf(dst, cap, "%s", s ? s : "");
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int lsp_s3_open(lsp_s3 **out, const lsp_s3_conf *c, char *err, size_t errcap)
{
	lsp_s3 *s;
	char ep[URLMAX];
	const char *p, *slash;

	*out = NULL;
	if (!c->bucket || !c->bucket[0] || strchr(c->bucket, '/')) {
		snprintf(err, errcap, "s3: bad bucket name");
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "s3: out of memory");
		return -ENOMEM;
	}
	if (cpy(s->region, sizeof s->region, c->region ? c->region : "us-east-1") < 0 ||
	    cpy(s->bucket, sizeof s->bucket, c->bucket) < 0 || cpy(s->ak, sizeof s->ak, c->access_key) < 0 ||
	    cpy(s->sk, sizeof s->sk, c->secret_key) < 0 || cpy(s->token, sizeof s->token, c->session_token) < 0) {
		snprintf(err, errcap, "s3: region, bucket or credentials too long");
		goto fail;
	}
	if (c->endpoint)
		snprintf(ep, sizeof ep, "%s", c->endpoint);
	else
		snprintf(ep, sizeof ep, "https://s3.%s.amazonaws.com", s->region);
	if (!strncmp(ep, "http://", 7))
		p = ep + 7, snprintf(s->scheme, sizeof s->scheme, "http");
	else if (!strncmp(ep, "https://", 8))
		p = ep + 8, snprintf(s->scheme, sizeof s->scheme, "https");
	else {
		snprintf(err, errcap, "s3: endpoint must start with http:// or https://");
		goto fail;
	}
	slash = strchr(p, '/');
	if (slash == p || !*p || (slash ? (size_t)(slash - p) : strlen(p)) >= sizeof s->host) {
		snprintf(err, errcap, "s3: endpoint has no host");
		goto fail;
	}
	memcpy(s->host, p, slash ? (size_t)(slash - p) : strlen(p));
	if (slash && cpy(s->base, sizeof s->base, slash) < 0) {
		snprintf(err, errcap, "s3: endpoint path too long");
		goto fail;
	}
	for (size_t n = strlen(s->base); n > 0 && s->base[n - 1] == '/'; n--)
		s->base[n - 1] = 0;
	if (!c->path_style && strlen(s->bucket) + 1 + strlen(s->host) >= sizeof s->host) {
		snprintf(err, errcap, "s3: virtual host name too long");
		goto fail;
	}
	s->path_style = c->path_style;
	s->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
	s->connect_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 3000;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s->curl = curl_easy_init())) {
		snprintf(err, errcap, "s3: unable to start libcurl");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	lsp_s3_close(s);
	return -EINVAL;
}

void lsp_s3_close(lsp_s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	memset(s->sk, 0, sizeof s->sk);
	free(s);
}

long lsp_s3_connections(const lsp_s3 *s) { return s->connections; }

static size_t on_body(char *d, size_t sz, size_t n, void *ctx)
{
	lsp_s3 *s = ctx;
	size_t len = sz * n, room = sizeof s->body - 1 - s->bodylen;
	size_t take = len < room ? len : room;
	memcpy(s->body + s->bodylen, d, take);
	s->bodylen += take;
	s->body[s->bodylen] = 0;
	return len;
}

/* "<Code>X</Code>" from an S3 error document, or "". */
static void error_code(const char *body, char *out, size_t cap)
{
	const char *a = strstr(body, "<Code>"), *b = a ? strstr(a, "</Code>") : NULL;
	out[0] = 0;
	if (a && b) {
		size_t n = (size_t)(b - a - 6);
		if (n >= cap)
			n = cap - 1;
		memcpy(out, a + 6, n);
		out[n] = 0;
	}
}

static int request(lsp_s3 *s, const char *method, const char *key, const void *buf, size_t len,
		   const char *ctype, const char *cache_control, long *status, char *err, size_t errcap)
{
	char path[URLMAX], epath[URLMAX], url[URLMAX * 2], host[FIELD * 2], amz[LSP_SIGV4_AMZDATE];
	char phash[LSP_SIGV4_HEX], auth[1024], line[8][2200], code[128];
	lsp_sigv4_hdr h[6];
	size_t nh = 0;
	struct curl_slist *hl = NULL, *t;
	lsp_sigv4_cred cred = { s->ak, s->sk, s->region, "s3" };
	lsp_sigv4_req r;
	CURLcode cc;
	long nconn = 0;
	int rc = -EIO, n;

	*status = 0;
	if (!key || !*key || key[0] == '/') {
		snprintf(err, errcap, "s3: bad object key");
		return -EINVAL;
	}
	if (s->path_style)
		n = snprintf(path, sizeof path, "%s/%s/%s", s->base, s->bucket, key);
	else
		n = snprintf(path, sizeof path, "%s/%s", s->base, key);
	if (n < 0 || (size_t)n >= sizeof path || lsp_sigv4_uri_encode(path, 1, epath, sizeof epath) < 0) {
		snprintf(err, errcap, "s3: object key too long");
		return -EINVAL;
	}
	if (s->path_style)
		snprintf(host, sizeof host, "%s", s->host);
	else
		snprintf(host, sizeof host, "%s.%s", s->bucket, s->host);
	snprintf(url, sizeof url, "%s://%s%s", s->scheme, host, epath);
	lsp_sigv4_amzdate(time(NULL), amz);
	lsp_sigv4_sha256_hex(buf ? buf : "", buf ? len : 0, phash);
	h[nh++] = (lsp_sigv4_hdr){ "host", host };
	h[nh++] = (lsp_sigv4_hdr){ "x-amz-content-sha256", phash };
	h[nh++] = (lsp_sigv4_hdr){ "x-amz-date", amz };
	if (ctype)
		h[nh++] = (lsp_sigv4_hdr){ "content-type", ctype };
	if (s->token[0])
		h[nh++] = (lsp_sigv4_hdr){ "x-amz-security-token", s->token };
	r = (lsp_sigv4_req){ method, path, NULL, h, nh, phash };
	if ((rc = lsp_sigv4_authorization(&cred, amz, &r, auth, sizeof auth, NULL, err, errcap)) < 0)
		return rc;

	/* headers: the signed ones exactly as signed, plus the unsigned extras */
	snprintf(line[0], sizeof line[0], "Authorization: %s", auth);
	snprintf(line[1], sizeof line[1], "Host: %s", host);
	snprintf(line[2], sizeof line[2], "x-amz-content-sha256: %s", phash);
	snprintf(line[3], sizeof line[3], "x-amz-date: %s", amz);
	snprintf(line[4], sizeof line[4], "Content-Type: %s", ctype ? ctype : "");
	snprintf(line[5], sizeof line[5], "Cache-Control: %s", cache_control ? cache_control : "");
	snprintf(line[6], sizeof line[6], "x-amz-security-token: %s", s->token);
	snprintf(line[7], sizeof line[7], "Expect:"); /* no 100-continue round trip */
	for (int i = 0; i < 8; i++) {
		if ((i == 4 && !ctype) || (i == 5 && !cache_control) || (i == 6 && !s->token[0]))
			continue;
		if (!(t = curl_slist_append(hl, line[i]))) {
			snprintf(err, errcap, "s3: out of memory");
			rc = -ENOMEM;
			goto fail;
		}
		hl = t;
	}

	curl_easy_reset(s->curl); /* keeps the connection cache: keep-alive survives */
	s->bodylen = 0;
	s->body[0] = 0;
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "lsp-push");
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, buf ? buf : "");
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(buf ? len : 0));
	} else {
		curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &nconn);
	s->connections += nconn;
	if (cc != CURLE_OK) {
		snprintf(err, errcap, "%s %s: %s", method, key, curl_easy_strerror(cc));
		rc = -EAGAIN;
		goto fail;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300) {
		rc = 0;
		goto fail;
	}
	error_code(s->body, code, sizeof code);
	snprintf(err, errcap, "%s %s: HTTP %ld%s%s", method, key, *status, code[0] ? " " : "", code);
	if (*status >= 500 || *status == 408 || *status == 429)
		rc = -EAGAIN;
	else if (*status == 401 || *status == 403)
		rc = -EACCES;
	else
		rc = -EPROTO;
fail:
	curl_slist_free_all(hl);
	memset(auth, 0, sizeof auth);
	return rc;
}

int lsp_s3_put(lsp_s3 *s, const char *key, const void *buf, size_t len, const char *ctype,
	       const char *cache_control, long *status, char *err, size_t errcap)
{
	return request(s, "PUT", key, buf, len, ctype, cache_control, status, err, errcap);
}

int lsp_s3_delete(lsp_s3 *s, const char *key, long *status, char *err, size_t errcap)
{
	return request(s, "DELETE", key, NULL, 0, NULL, NULL, status, err, errcap);
}

long lsp_s3_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd)
{
	long d = base_ms > 0 ? base_ms : 1;
	if (cap_ms < d)
		cap_ms = d;
	for (int i = 1; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	return d / 2 + (long)(rnd % (uint32_t)(d - d / 2 + 1));
}

int lsp_s3_retriable(int rc) { return rc == -EAGAIN; }
