/* ratelimit.c — keyed, bounded token buckets; see ratelimit.h. */
#include "api/ratelimit.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char key[LSP_RATELIMIT_KEY_MAX];
	double tokens;
	int burst;
	double per_s;
	int64_t ts; /* ms of the last refill */
} rl_ent;

struct lsp_ratelimit {
	int slots, probe;
	unsigned char hkey[32];
	rl_ent *e;
};

int lsp_ratelimit_new(lsp_ratelimit **out, int slots, int probe)
{
	lsp_ratelimit *rl;
	*out = NULL;
	if (slots < 1 || probe < 1 || probe > slots)
		return -EINVAL;
	if (!(rl = calloc(1, sizeof *rl)) || !(rl->e = calloc((size_t)slots, sizeof *rl->e))) {
		free(rl);
		return -ENOMEM;
	}
	rl->slots = slots;
	rl->probe = probe;
	if (RAND_bytes(rl->hkey, (int)sizeof rl->hkey) != 1) {
		lsp_ratelimit_free(rl);
		return -EIO;
	}
	*out = rl;
	return 0;
}

void lsp_ratelimit_free(lsp_ratelimit *rl)
{
	if (!rl)
		return;
	OPENSSL_cleanse(rl->hkey, sizeof rl->hkey);
	free(rl->e);
	free(rl);
}

/* Refill e to now; its token count after. */
static double refill(rl_ent *e, int64_t now)
{
	if (now > e->ts) {
		e->tokens += (double)(now - e->ts) / 1000.0 * e->per_s;
		e->ts = now;
	}
	if (e->tokens > e->burst)
		e->tokens = e->burst;
	return e->tokens;
}

int lsp_ratelimit_take(lsp_ratelimit *rl, const char *key, int burst, double per_s, int64_t now_ms)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	uint32_t h;
	rl_ent *e = NULL, *fresh = NULL;
	char k[LSP_RATELIMIT_KEY_MAX];

	if (burst < 1 || per_s <= 0)
		return 0;
	snprintf(k, sizeof k, "%s", key);
	if (!HMAC(EVP_sha256(), rl->hkey, (int)sizeof rl->hkey, (const unsigned char *)k, strlen(k), mac, &ml) ||
	    ml < 4)
		return 1;
	h = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	for (int i = 0; i < rl->probe; i++) {
		rl_ent *x = &rl->e[(h + (uint32_t)i) % (uint32_t)rl->slots];
		if (x->key[0] && strcmp(x->key, k) == 0) {
			e = x;
			break;
		}
		/* a slot is free when empty or refilled: replacing it forgets nothing */
		if (!fresh && (!x->key[0] || refill(x, now_ms) >= x->burst))
			fresh = x;
	}
	if (!e) {
		if (!fresh) /* every bucket nearby still remembers failures: fail closed */
			return (int)(1 / per_s) + 1;
		e = fresh;
		snprintf(e->key, sizeof e->key, "%s", k);
		e->tokens = burst;
		e->ts = now_ms;
	}
	e->burst = burst;
	e->per_s = per_s;
	refill(e, now_ms);
	if (e->tokens < 1)
		return (int)((1 - e->tokens) / per_s) + 1;
	e->tokens -= 1;
	return 0;
}
