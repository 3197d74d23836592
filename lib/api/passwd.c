/* passwd.c — scrypt password hashes; see passwd.h for the contract. */
#include "api/passwd.h"
#include "core/hex.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT 16
#define OUT 32
#define R 8
#define P 1

static int kdf(const char *pw, const unsigned char *salt, int log2n, int r, int p, unsigned char out[OUT])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_SCRYPT, NULL);
	size_t n = OUT;
	int ok = c && EVP_PKEY_derive_init(c) > 0 &&
		 EVP_PKEY_CTX_set1_pbe_pass(c, pw, (int)strlen(pw)) > 0 &&
		 EVP_PKEY_CTX_set1_scrypt_salt(c, salt, SALT) > 0 &&
		 EVP_PKEY_CTX_set_scrypt_N(c, (uint64_t)1 << log2n) > 0 && EVP_PKEY_CTX_set_scrypt_r(c, (uint64_t)r) > 0 &&
		 EVP_PKEY_CTX_set_scrypt_p(c, (uint64_t)p) > 0 &&
		 EVP_PKEY_CTX_set_scrypt_maxmem_bytes(c, (uint64_t)256 << 20) > 0 && EVP_PKEY_derive(c, out, &n) > 0 &&
		 n == OUT;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -EIO;
}

int lsp_passwd_hash(const char *pw, int log2n, char *out, size_t cap)
{
	unsigned char salt[SALT], h[OUT];
	char sh[2 * SALT + 1], hh[2 * OUT + 1];
	int rc;
	if (!pw || log2n < 10 || log2n > 20 || cap < LSP_PASSWD_HASH_MAX)
		return -EINVAL;
	if (RAND_bytes(salt, SALT) != 1)
		return -EIO;
	if ((rc = kdf(pw, salt, log2n, R, P, h)) < 0)
		return rc;
	lsp_hex_encode(salt, SALT, sh);
	lsp_hex_encode(h, OUT, hh);
	OPENSSL_cleanse(h, sizeof h);
	snprintf(out, cap, "scrypt$%d$%d$%d$%s$%s", log2n, R, P, sh, hh);
	return 0;
}

/* One "<digits>$" parameter of a stored hash, lo..hi; advances *s past the '$'. */
static int param(const char **s, long lo, long hi, int *out)
{
	char *end;
	long v;
	if (**s < '0' || **s > '9')
		return -1;
	errno = 0;
	v = strtol(*s, &end, 10);
	if (errno || *end != '$' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	*s = end + 1;
	return 0;
}

int lsp_passwd_verify(const char *pw, const char *stored)
{
	unsigned char salt[SALT], want[OUT], got[OUT];
	int log2n, r, p, rc;
	if (!pw || !stored || strncmp(stored, "scrypt$", 7) != 0)
		return -EINVAL;
	stored += 7;
	if (param(&stored, 10, 20, &log2n) < 0 || param(&stored, 1, 32, &r) < 0 || param(&stored, 1, 16, &p) < 0)
		return -EINVAL;
	if (strlen(stored) != 2 * SALT + 1 + 2 * OUT || stored[2 * SALT] != '$' || lsp_hex_decode(stored, SALT, salt) < 0 ||
	    lsp_hex_decode(stored + 2 * SALT + 1, OUT, want) < 0)
		return -EINVAL;
	if ((rc = kdf(pw, salt, log2n, r, p, got)) < 0)
		return rc;
	rc = CRYPTO_memcmp(got, want, OUT) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return rc;
}
