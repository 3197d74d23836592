/* s3.h — a minimal S3-compatible object client: PUT and DELETE of one
 * object, signed with AWS Signature Version 4 (lib/sigv4), over one reused
 * libcurl easy handle so consecutive requests share a keep-alive
 * connection.
 *
 * One request is one attempt: the caller owns the retry policy (see
 * lsp_s3_backoff_ms for the delay and lsp_s3_retriable for the class).
 * Addressing: path style puts the bucket in the path
 * (ENDPOINT/bucket/key), virtual-host style in the host name
 * (scheme://bucket.HOST/key).  The endpoint defaults to
 * https://s3.REGION.amazonaws.com.
 *
 * Functions return 0 on a 2xx answer, or a negative code and fill err with
 * the HTTP status and S3's error Code (e.g. "HTTP 403 SignatureDoesNotMatch"):
 *   -EAGAIN  5xx, 408, 429, or a transport failure / timeout  (retry)
 *   -EACCES  401 or 403                                       (credentials)
 *   -EPROTO  any other 4xx                                    (request/config)
 * The secret key is kept in the handle and never appears in err. */
#ifndef LSP_S3_H
#define LSP_S3_H
#include <stddef.h>
#include <stdint.h>

typedef struct lsp_s3 lsp_s3;

typedef struct {
	const char *endpoint;      /* "http://127.0.0.1:9000"; NULL: https://s3.REGION.amazonaws.com */
	const char *region;        /* NULL: us-east-1 */
	const char *bucket;
	int path_style;            /* 1: ENDPOINT/bucket/key; 0: bucket.HOST/key */
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* x-amz-security-token, or NULL */
	long timeout_ms;           /* whole request; 0: 10000 */
	long connect_timeout_ms;   /* 0: 3000 */
} lsp_s3_conf;

/* Copy the configuration into a new handle.  Fails with -EINVAL on a bad
 * endpoint or bucket, -ENOMEM. */
int lsp_s3_open(lsp_s3 **out, const lsp_s3_conf *c, char *err, size_t errcap);

/* PUT len bytes as key (no leading '/').  ctype and cache_control may be NULL.
 * *status gets the HTTP status (0 when no answer came). */
int lsp_s3_put(lsp_s3 *s, const char *key, const void *buf, size_t len, const char *ctype,
	       const char *cache_control, long *status, char *err, size_t errcap);

/* DELETE key; S3 answers 204 for a missing key too. */
int lsp_s3_delete(lsp_s3 *s, const char *key, long *status, char *err, size_t errcap);

/* Connections opened so far (keep-alive reuse shows as fewer than requests). */
long lsp_s3_connections(const lsp_s3 *s);

void lsp_s3_close(lsp_s3 *s);

/* Delay before retry number attempt (1, 2, ...): base * 2^(attempt-1)
 * capped at cap, then "equal jitter": half fixed, half drawn from rnd
 * (any 32-bit value).  Always in [min(base,cap)/2, cap]. */
long lsp_s3_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd);

/* 1 if rc (from put/delete) is worth retrying as is. */
int lsp_s3_retriable(int rc);

#endif
