/* chanhook.c — a channel's own webhook URL; see chanhook.h.  Holds no
 * state: each call runs one statement on the caller's store (or on one
 * opened from the environment for that call). */
#include "state/chanhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lsp_chanhook_valid(const char *url)
{
	size_t n, skip;
	if (!url)
		return 0;
	n = strlen(url);
	skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
	if (!skip || n > LSP_CHANHOOK_URL_MAX || n == skip || url[skip] == '/' || url[skip] == ':' ||
	    url[skip] == '?' || url[skip] == '#')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return 0;
	return 1;
}

int lsp_chanhook_enabled(void)
{
	const char *v = getenv("LSP_WEBHOOK_PER_CHANNEL");
	return !v || strcmp(v, "0") != 0;
}

struct got {
	char *out;
	size_t cap;
	int found;
};

static int row(void *ctx, int ncol, const char *const *v)
{
	struct got *g = ctx;
	g->found = 1;
	/* a stored value that is no longer a good URL counts as none */
	if (ncol > 0 && v[0] && lsp_chanhook_valid(v[0]))
		snprintf(g->out, g->cap, "%s", v[0]);
	return 1;
}

int lsp_chanhook_get(lsp_store *st, const char *channel, char *out, size_t cap, char *err, size_t errcap)
{
	lsp_store *own = NULL;
	struct got g = { out, cap, 0 };
	const char *p[1] = { channel };
	int rc;
	if (cap)
		out[0] = 0;
	if (cap <= LSP_CHANHOOK_URL_MAX) {
		snprintf(err, errcap, "buffer too small");
		return -EINVAL;
	}
	if (!st) {
		if ((rc = lsp_store_open_env(&own, err, errcap)) < 0)
			return rc;
		st = own;
	}
	rc = lsp_store_exec(st, "SELECT webhook_url FROM channels WHERE name = $1", 1, p, row, &g, err, errcap);
	lsp_store_close(own);
	if (rc < 0) {
		out[0] = 0;
		return rc;
	}
	return g.found;
}

int lsp_chanhook_set(lsp_store *st, const char *channel, const char *url, char *err, size_t errcap)
{
	const char *p[2] = { channel, url };
	int rc;
	if (*url && !lsp_chanhook_valid(url)) {
		snprintf(err, errcap, "webhook_url must be an http:// or https:// URL with a host, at most %d bytes",
			 LSP_CHANHOOK_URL_MAX);
		return -EINVAL;
	}
	rc = lsp_store_exec(st, "UPDATE channels SET webhook_url = $2 WHERE name = $1", 2, p, NULL, NULL, err, errcap);
	if (rc == 0) {
		snprintf(err, errcap, "no channel %s", channel);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}
