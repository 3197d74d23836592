/* fuzz_sigtok.c — libFuzzer harness for lib/core/sigtok's token check (the
 * parser of the playback tokens lsp-edge and lsp-rtc read from URLs and
 * headers, and of relay tokens) and the edge's "~<token>/" path split.
 * Any input is checked as a playback and as a relay token for a fixed
 * channel: it must be refused (no one forges the MAC by chance) with a
 * reason from the documented set, without reading past its length; the
 * path split must give a path no longer than its input and a token inside
 * it.  A token signed here must check.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigtok.h"
#include "edge/playpath.h"

static const uint8_t K[] = "fuzz-secret-0123456789";

static void reason_ok(const char *why)
{
	if (!why || (strcmp(why, "malformed token") && strcmp(why, "bad signature") && strcmp(why, "token expired") &&
		     strcmp(why, "token lives too long")))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = malloc(size ? size : 1), v[LSP_SIGTOK_VIEWER_MAX + 1], path[512], out[512], t[LSP_SIGTOK_MAX];
	const char *why = NULL, *pt;
	size_t pl;
	long long exp;
	if (!tok)
		return 0;
	memcpy(tok, data, size); /* exactly size bytes: ASan sees an over-read */
	if (lsp_sigtok_check(&lsp_sigtok_play, K, sizeof K - 1, "demo", tok, size, 2000000000LL, v, sizeof v, &exp,
			     &why) == 0)
		abort();
	reason_ok(why);
	if (lsp_sigtok_check(&lsp_sigtok_relay, K, sizeof K - 1, "demo", tok, size, 2000000000LL, NULL, 0, NULL,
			     &why) == 0)
		abort();
	reason_ok(why);
	if (size < sizeof path) {
		memcpy(path, data, size);
		path[size] = 0;
		if (edge_play_split(path, out, sizeof out, &pt, &pl) > 0 &&
		    (strlen(out) > strlen(path) || pt < path || pt + pl > path + strlen(path) || !pl))
			abort();
	}
	/* a viewer made of the input's safe bytes round-trips */
	for (pl = 0; pl < size && pl < LSP_SIGTOK_VIEWER_MAX; pl++) {
		char c = (char)data[pl];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			break;
		v[pl] = c;
	}
	v[pl] = 0;
	if (lsp_sigtok_sign(&lsp_sigtok_play, K, sizeof K - 1, "demo", 2000000000LL, v, t, sizeof t) != 0 ||
	    lsp_sigtok_check(&lsp_sigtok_play, K, sizeof K - 1, "demo", t, strlen(t), 2000000000LL - 5, out,
			     sizeof out, NULL, &why) != 0 ||
	    strcmp(out, v) != 0)
		abort();
	free(tok);
	return 0;
}
