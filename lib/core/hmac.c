/* hmac.c — HMAC-SHA256 over OpenSSL; see hmac.h. */
#include "core/hmac.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

int lsp_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[LSP_HMAC_LEN])
{
	unsigned int ml = LSP_HMAC_LEN;
	static const uint8_t none = 0;
	if (keylen > INT_MAX ||
	    !HMAC(EVP_sha256(), keylen ? key : &none, (int)keylen, msglen ? msg : &none, msglen, out, &ml) ||
	    ml != LSP_HMAC_LEN) {
		memset(out, 0, LSP_HMAC_LEN);
		return -EIO;
	}
	return 0;
}

int lsp_hmac_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
