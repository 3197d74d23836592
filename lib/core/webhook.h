/* webhook.h — signed HTTP POSTs of JSON events (libcurl): what lsp-ingest
 * asks before it admits a publish and what lsp-hook delivers for .live,
 * .health and .ended.
 *
 * The signature (docs/design.md, "Webhooks"; man/lsp-hook.1):
 *
 *   X-LSP-Signature: t=<unix seconds>,v1=<64 hex digits>
 *   v1 = HMAC-SHA256(secret, "<t>" "." body)
 *
 * t is the time the request was signed (a retry is signed again), so a
 * receiver recomputes v1 over the raw body, compares in constant time and
 * refuses a t more than a few minutes from its clock (a replay).  Every
 * request also carries Content-Type: application/json, X-LSP-Event (the
 * event name) and X-LSP-Delivery (an id that stays the same across the
 * retries of one event, for deduplication).
 *
 * The secret never leaves this module in any error text or event; an
 * lsp_webhook owns a copy and wipes it when freed. */
#ifndef LSP_WEBHOOK_H
#define LSP_WEBHOOK_H
#include <stddef.h>

#define LSP_WEBHOOK_SIG_CAP 96     /* "t=…,v1=<64 hex>" and its NUL */
#define LSP_WEBHOOK_SECRET_MAX 256 /* bytes of a secret */
#define LSP_WEBHOOK_REASON_CAP 128 /* the receiver's reason, cleaned */

/* The header value for body signed at unix time t into out (cap >=
 * LSP_WEBHOOK_SIG_CAP).  0, -ENOSPC, or -EIO if HMAC failed. */
int lsp_webhook_sign(const void *secret, size_t slen, long long t, const void *body, size_t blen, char *out,
		     size_t cap);

/* 1 when header is a signature of body by secret whose t lies within
 * tolerance_s of now, else 0 (malformed, wrong, stale or from the future). */
int lsp_webhook_verify(const void *secret, size_t slen, const char *header, const void *body, size_t blen,
		       long long now, int tolerance_s);

/* The secret from LSP_WEBHOOK_SECRET-like text, or else from a file (its
 * first line, the newline dropped): out (cap bytes, not NUL-terminated),
 * *len.  -ENOENT when neither is given (NULL or ""), -EINVAL when the
 * secret is empty or longer than cap, a negative errno when the file
 * cannot be read (err says which file, never what it holds). */
int lsp_webhook_secret(const char *text, const char *file, char *out, size_t cap, size_t *len, char *err,
		       size_t errcap);

/* The settings every tool reads from its environment:
 *   LSP_WEBHOOK_URL          http(s)://… (unset or "": no webhook)
 *   LSP_WEBHOOK_SECRET       the HMAC key, or else
 *   LSP_WEBHOOK_SECRET_FILE  a file whose first line is the key
 *   LSP_WEBHOOK_TIMEOUT      seconds a request may take (0.1..60, default 2)
 *   LSP_WEBHOOK_FAIL         open (default) or closed: admission when no
 *                            answer comes */
typedef struct {
	const char *url;            /* NULL when no webhook is set */
	char secret[LSP_WEBHOOK_SECRET_MAX];
	size_t secret_len;
	int timeout_ms;
	int fail_closed;
} lsp_webhook_conf;

/* Fill c from the environment: 0 (c->url NULL when unset), or -EINVAL /
 * a file's errno with err saying which variable is wrong (a URL set
 * without a secret is an error: every request is signed). */
int lsp_webhook_conf_env(lsp_webhook_conf *c, char *err, size_t errcap);

typedef struct lsp_webhook lsp_webhook;

/* A poster for url (http:// or https://) with secret and a whole-request
 * timeout (connect included).  0, -EINVAL (bad url, empty secret), -ENOMEM,
 * -EIO (libcurl would not start); err says which. */
int lsp_webhook_new(lsp_webhook **out, const char *url, const void *secret, size_t slen, int timeout_ms, char *err,
		    size_t errcap);
void lsp_webhook_free(lsp_webhook *w);

/* POST body as event with delivery id (NULL: a fresh random one).  Returns
 * the HTTP status (100..599) whatever it is, with the first line of the
 * answer's body (printable ASCII, at most LSP_WEBHOOK_REASON_CAP-1 bytes)
 * in reason; or negative when no answer came: -ETIMEDOUT, -ECONNREFUSED,
 * -EIO (any other failure), with err saying what (never the secret or the
 * signature).  Blocks for at most the timeout. */
int lsp_webhook_post(lsp_webhook *w, const char *event, const char *delivery, const char *body, size_t blen,
		     char *reason, size_t rcap, char *err, size_t errcap);

/* A random delivery id (32 hex digits) into out (cap >= 33): 0 or -EIO. */
int lsp_webhook_id(char *out, size_t cap);

#endif
