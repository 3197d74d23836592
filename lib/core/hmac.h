/* hmac.h — HMAC-SHA256 and a constant-time comparison, for the tokens
 * lsp signs with a shared secret.  Nothing is allocated. */
#ifndef LSP_HMAC_H
#define LSP_HMAC_H
#include <stddef.h>
#include <stdint.h>

#define LSP_HMAC_LEN 32 /* bytes of an HMAC-SHA256 */

/* out = HMAC-SHA256(key, msg): 0, or -EIO if the library failed (out is
 * then unusable: a caller must treat the MAC as not matching). */
int lsp_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[LSP_HMAC_LEN]);

/* 1 if a and b (n bytes each) are equal, else 0, in time that depends
 * only on n. */
int lsp_hmac_equal(const void *a, const void *b, size_t n);

#endif
