/* playpath.c — the playback-token path form of /hls/ and /vod/ (see
 * playpath.h): "<channel>/~<token>/<rest>" → "<channel>/<rest>" and the
 * token.  No I/O, no allocation: fuzzed on its own (tests/fuzz/fuzz_sigtok). */
#include "edge/playpath.h"

#include <stdio.h>
#include <string.h>

#include "core/sigtok.h"

int edge_play_split(const char *rel, char *out, size_t cap, const char **tok, size_t *toklen)
{
	const char *s = strchr(rel, '/'), *t, *te;
	*tok = NULL;
	*toklen = 0;
	if (!s || s[1] != '~')
		return (size_t)snprintf(out, cap, "%s", rel) >= cap ? -1 : 0;
	t = s + 2;
	if (!(te = strchr(t, '/')) || te == t || !te[1] || (size_t)(te - t) >= LSP_SIGTOK_MAX)
		return -1;
	if ((size_t)(s - rel) + strlen(te) + 1 > cap)
		return -1;
	memcpy(out, rel, (size_t)(s - rel));
	memcpy(out + (s - rel), te, strlen(te) + 1);
	*tok = t;
	*toklen = (size_t)(te - t);
	return 1;
}
