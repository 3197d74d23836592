/* key.c — stream key generation, hashing and checking; see key.h. */
#include "core/key.h"
#include "core/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

int lsp_name_valid(const char *name)
{
	size_t n = 0;
	if (!name)
		return 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c == '-' && n > 0)))
			return 0;
		if (n >= LSP_NAME_MAX)
			return 0;
	}
	return n > 0;
}

int lsp_key_new(const char *channel, char *out, size_t cap)
{
	unsigned char r[LSP_KEY_RAND_BYTES];
	size_t cl = strlen(channel);
	if (!lsp_name_valid(channel) || cap < cl + 2 + 2 * sizeof r)
		return -1;
	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	snprintf(out, cap, "%s_", channel);
	lsp_hex_encode(r, sizeof r, out + cl + 1);
	OPENSSL_cleanse(r, sizeof r);
	return 0;
}

void lsp_key_hash(const char *key, char out[LSP_HASH_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		memset(out, '0', 64); /* unreachable in practice; never matches a real hash */
		out[64] = 0;
		return;
	}
	lsp_hex_encode(md, 32, out);
}

int lsp_key_channel(const char *key, char *name, size_t cap)
{
	const char *us;
	size_t nl, hl;
	if (!key)
		return -1;
	us = strrchr(key, '_');
	if (!us)
		return -1;
	nl = (size_t)(us - key);
	hl = strlen(us + 1);
	if (nl == 0 || nl > LSP_NAME_MAX || nl + 1 > cap || hl != 2 * LSP_KEY_RAND_BYTES)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		char c = us[1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	memcpy(name, key, nl);
	name[nl] = 0;
	return lsp_name_valid(name) ? 0 : -1;
}

int lsp_key_check(const char *key, const char *stored_hex)
{
	char h[LSP_HASH_HEX];
	int ok;
	if (!key || !stored_hex || strlen(stored_hex) != 64)
		return 0;
	lsp_key_hash(key, h);
	ok = CRYPTO_memcmp(h, stored_hex, 64) == 0;
	OPENSSL_cleanse(h, sizeof h);
	return ok;
}
