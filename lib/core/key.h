/* key.h — stream keys and channel names.
 *
 * A stream key is "<channel>_<48 hex digits>": 192 bits from the OS RNG
 * after the channel name, so ingest can find the channel row without a
 * search and compare hashes in constant time.  Only the SHA-256 of a key
 * (64 hex digits) is ever stored; keys are never logged. */
#ifndef LSP_KEY_H
#define LSP_KEY_H
#include <stddef.h>

#define LSP_NAME_MAX 64
#define LSP_KEY_RAND_BYTES 24
#define LSP_KEY_MAX (LSP_NAME_MAX + 1 + 2 * LSP_KEY_RAND_BYTES + 1)
#define LSP_HASH_HEX 65

/* 1 if name matches [a-z0-9_][a-z0-9_-]{0,63}, else 0: never empty, never
 * mistaken for a command-line option (no leading '-'). */
int lsp_name_valid(const char *name);

/* New key for channel into out (cap >= LSP_KEY_MAX). 0, or -1 if the RNG failed. */
int lsp_key_new(const char *channel, char *out, size_t cap);

/* SHA-256 of key as lower-case hex (65 bytes with NUL). */
void lsp_key_hash(const char *key, char out[LSP_HASH_HEX]);

/* Channel part of a well-formed key into name (cap >= LSP_NAME_MAX+1).
 * 0, or -1 if the key is not of our shape. */
int lsp_key_channel(const char *key, char *name, size_t cap);

/* 1 if hash(key) equals stored_hex, compared in constant time; else 0. */
int lsp_key_check(const char *key, const char *stored_hex);

#endif
