/* ratelimit.h — lsp-api's sign-in and sign-up token buckets, one per key
 * ("u:<name>", "a:<address>"), in one bounded table.
 *
 * The slot of a key comes from a keyed hash (HMAC-SHA-256 under a random
 * key drawn when the table is made), so nobody can choose names that land
 * in one probe window.  A key's bucket is only ever replaced by another
 * key's when it has refilled to its burst, i.e. when it carries no
 * memory of failed attempts: draining the victim and then trying other
 * names never resets the victim.  When every slot of a key's probe window
 * holds a bucket still refilling, the new key is refused (fail closed)
 * until one refills.  Time is passed in, so tests need no clock.
 * The table is owned by whoever made it; not thread-safe. */
#ifndef LSP_RATELIMIT_H
#define LSP_RATELIMIT_H
#include <stdint.h>

typedef struct lsp_ratelimit lsp_ratelimit;

#define LSP_RATELIMIT_KEY_MAX 128 /* longer keys are cut */

/* A table of slots buckets searched probe at a time (1 <= probe <= slots).
 * 0, -EINVAL, -ENOMEM, or -EIO when no random key could be drawn. */
int lsp_ratelimit_new(lsp_ratelimit **out, int slots, int probe);
void lsp_ratelimit_free(lsp_ratelimit *rl);

/* Take one token from key's bucket (burst tokens, refilling per_s a second)
 * at now_ms (a monotonic clock): 0 taken, else the seconds to wait (>= 1). */
int lsp_ratelimit_take(lsp_ratelimit *rl, const char *key, int burst, double per_s, int64_t now_ms);

#endif
