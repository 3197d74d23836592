/* passwd.h — password hashes with scrypt (OpenSSL's KDF).
 *
 * A stored hash is one self-describing string:
 *   "scrypt$<log2 N>$<r>$<p>$<salt, 32 hex>$<hash, 64 hex>"
 * with a fresh 16-byte salt per hash from the OS RNG, so the parameters
 * can be raised later and old hashes still verify.  Verification compares
 * in constant time.  Passwords are never logged or kept after the call. */
#ifndef LSP_PASSWD_H
#define LSP_PASSWD_H
#include <stddef.h>

#define LSP_PASSWD_HASH_MAX 160
#define LSP_PASSWD_LOG2N 15 /* N = 32768, r = 8, p = 1: 32 MiB, tens of ms */

/* Hash pw into out (cap >= LSP_PASSWD_HASH_MAX) with N = 2^log2n (10..20).
 * 0, -EINVAL (bad parameter), or -EIO (RNG or KDF failure). */
int lsp_passwd_hash(const char *pw, int log2n, char *out, size_t cap);

/* 1 when pw matches stored, 0 when not, -EINVAL when stored is not ours. */
int lsp_passwd_verify(const char *pw, const char *stored);

#endif
