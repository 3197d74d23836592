/* sigv4.h — AWS Signature Version 4 (HMAC-SHA256) for S3-compatible
 * requests.  Pure: no I/O, no clock, no allocation beyond the stack; the
 * caller supplies the time stamp and every header that is to be signed.
 *
 * The steps are exposed one by one (canonical request, string to sign,
 * signing key, Authorization header) so each can be checked against the
 * published examples.  Paths and query values are given unencoded and are
 * encoded here the S3 way: every byte except A-Z a-z 0-9 - _ . ~ becomes
 * %XX, and '/' is kept in the path (encoded once, as S3 wants).
 *
 * Functions that build text return 0, or -ENOSPC when the output did not
 * fit / -EINVAL on a malformed input, and then fill err; they never print.
 * The secret key is only read, never copied into any output or message. */
#ifndef LSP_SIGV4_H
#define LSP_SIGV4_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { LSP_SIGV4_MAXHDR = 16, LSP_SIGV4_HEX = 65, LSP_SIGV4_AMZDATE = 17 };

typedef struct {
	const char *name;  /* any case; signed in lower case */
	const char *value; /* trimmed, inner runs of spaces folded to one */
} lsp_sigv4_hdr;

typedef struct {
	const char *method;       /* "PUT", "GET", "DELETE" ... */
	const char *path;         /* unencoded absolute path, e.g. "/bucket/a b.m4s" */
	const char *query;        /* unencoded "k=v&k2" or NULL; sorted here */
	const lsp_sigv4_hdr *hdrs; /* every header to sign: host and x-amz-date at least */
	size_t nhdrs;             /* <= LSP_SIGV4_MAXHDR */
	const char *payload_hash; /* lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
} lsp_sigv4_req;

typedef struct {
	const char *access_key;
	const char *secret_key;
	const char *region;  /* "us-east-1" */
	const char *service; /* "s3" */
} lsp_sigv4_cred;

/* Lower-case hex SHA-256 of len bytes. */
void lsp_sigv4_sha256_hex(const void *buf, size_t len, char out[LSP_SIGV4_HEX]);

/* "YYYYMMDDTHHMMSSZ" for t (UTC); "" past the year 9999. */
void lsp_sigv4_amzdate(time_t t, char out[LSP_SIGV4_AMZDATE]);

/* Percent-encode s the S3 way (keep_slash: leave '/' as is). */
int lsp_sigv4_uri_encode(const char *s, int keep_slash, char *out, size_t cap);

/* Canonical request and its ';'-joined signed header list. */
int lsp_sigv4_canonical(const lsp_sigv4_req *r, char *out, size_t cap, char *signed_hdrs, size_t shcap,
			char *err, size_t errcap);

/* "AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256(canonical)>". */
int lsp_sigv4_string_to_sign(const char *amzdate, const char *scope, const char *canonical, char *out,
			     size_t cap);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8), region), service), "aws4_request"). */
void lsp_sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
			   uint8_t key[32]);

/* The whole Authorization header value for r at amzdate:
 * "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 *  SignedHeaders=..., Signature=<64 hex>".  sig (may be NULL) receives the
 * bare signature. */
int lsp_sigv4_authorization(const lsp_sigv4_cred *c, const char *amzdate, const lsp_sigv4_req *r, char *out,
			    size_t cap, char sig[LSP_SIGV4_HEX], char *err, size_t errcap);

#endif
