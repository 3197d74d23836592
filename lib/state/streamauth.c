/* streamauth.c — stream-key check; see streamauth.h. */
#include "state/streamauth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/key.h"

static int suspended_row(void *ctx, int ncol, const char *const *vals)
{
	*(int *)ctx = ncol > 0 && lsp_store_int(vals[0]) != 0;
	return 1;
}

int lsp_streamauth_check(lsp_store *st, const char *key, char *channel, size_t cap, const char **reason,
			 char *err, size_t errcap)
{
	lsp_store *own = NULL;
	lsp_channel ch;
	int rc, susp = 0;
	*reason = "unknown key";
	if (cap == 0)
		return LSP_STREAMAUTH_UNKNOWN;
	if (lsp_key_channel(key, channel, cap) < 0) {
		channel[0] = 0;
		return LSP_STREAMAUTH_UNKNOWN;
	}
	if (!st) {
		if ((rc = lsp_store_open_env(&own, err, errcap)) < 0)
			goto fail;
		st = own;
	}
	rc = lsp_store_channel_get(st, channel, &ch, err, errcap);
	if (rc == -ENOENT) {
		rc = LSP_STREAMAUTH_UNKNOWN;
		goto done;
	}
	if (rc < 0)
		goto fail;
	{
		const char *p[1] = { channel };
		/* the column comes with a later schema version; no answer = not suspended */
		char e2[64];
		(void)lsp_store_exec(st, "SELECT suspended FROM channels WHERE name = $1", 1, p, suspended_row,
				     &susp, e2, sizeof e2);
	}
	if (susp) {
		*reason = "channel suspended";
		rc = LSP_STREAMAUTH_SUSPENDED;
	} else if (!ch.key_hash[0]) {
		*reason = "revoked key";
		rc = LSP_STREAMAUTH_REVOKED;
	} else if (!lsp_key_check(key, ch.key_hash)) {
		rc = LSP_STREAMAUTH_UNKNOWN;
	} else {
		*reason = NULL;
		rc = LSP_STREAMAUTH_OK;
	}
done:
	lsp_store_close(own);
	return rc;
fail:
	*reason = "store unavailable";
	lsp_store_close(own);
	return rc < 0 ? rc : -EIO;
}
