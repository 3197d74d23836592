/* pubtoken.c — WHIP publish tokens; see pubtoken.h for the contract. */
#include "state/pubtoken.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "state/chanmeta.h"
#include "state/streamauth.h"
#include "state/token.h"

static const char LABEL[] = "lsp publish token v1";

/* The signing key: HMAC-SHA256(secret, LABEL) into k (32 bytes). */
static int derive(const unsigned char *secret, size_t secretlen, unsigned char k[32])
{
	unsigned int kl = 0;
	if (!secret || secretlen == 0 ||
	    !HMAC(EVP_sha256(), secret, (int)secretlen, (const unsigned char *)LABEL, sizeof LABEL - 1, k, &kl) ||
	    kl != 32)
		return -EINVAL;
	return 0;
}

int lsp_pubtoken_like(const char *tok)
{
	return tok && !strncmp(tok, "v1.", 3);
}

int lsp_pubtoken_issue(const unsigned char *secret, size_t secretlen, const char *user, const char *channel,
		       long long exp, char *out, size_t cap)
{
	unsigned char k[32];
	lsp_token t;
	int rc;
	if (!user || !channel || !lsp_name_valid(user) || !lsp_name_valid(channel) || derive(secret, secretlen, k) < 0)
		return -EINVAL;
	memset(&t, 0, sizeof t);
	snprintf(t.user, sizeof t.user, "%s", user);
	snprintf(t.channel, sizeof t.channel, "%s", channel);
	t.role = LSP_ROLE_OWNER;
	t.exp = exp;
	rc = lsp_token_issue(k, sizeof k, &t, out, cap);
	OPENSSL_cleanse(k, sizeof k);
	return rc;
}

int lsp_pubtoken_check(lsp_store *st, const unsigned char *secret, size_t secretlen, const char *tok, long long now,
		       char *channel, size_t cap, const char **reason, char *err, size_t errcap)
{
	unsigned char k[32];
	lsp_store *own = NULL;
	lsp_chanmeta ch;
	lsp_token t;
	int rc;
	*reason = "unknown key";
	if (cap == 0)
		return LSP_STREAMAUTH_UNKNOWN;
	channel[0] = 0;
	if (!tok || derive(secret, secretlen, k) < 0)
		return LSP_STREAMAUTH_UNKNOWN;
	rc = lsp_token_verify(k, sizeof k, tok, strlen(tok), now, &t);
	OPENSSL_cleanse(k, sizeof k);
	if (rc == -ETIMEDOUT)
		*reason = "expired publish token";
	if (rc < 0 || t.role != LSP_ROLE_OWNER || !lsp_name_valid(t.channel))
		return LSP_STREAMAUTH_UNKNOWN;
	snprintf(channel, cap, "%s", t.channel);
	if (!st) {
		if ((rc = lsp_store_open_env(&own, err, errcap)) < 0)
			goto fail;
		st = own;
	}
	if ((rc = lsp_chanmeta_get(st, t.channel, &ch, err, errcap)) < 0)
		goto fail;
	if (rc == 0)
		rc = LSP_STREAMAUTH_UNKNOWN;
	else if (ch.suspended) {
		*reason = "channel suspended";
		rc = LSP_STREAMAUTH_SUSPENDED;
	} else {
		*reason = NULL;
		rc = LSP_STREAMAUTH_OK;
	}
	lsp_store_close(own);
	return rc;
fail:
	*reason = "store unavailable";
	lsp_store_close(own);
	return rc < 0 ? rc : -EIO;
}
