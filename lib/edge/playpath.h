/* playpath.h — the playback-token path form (edge_play.c checks the token):
 *
 *   /hls/<channel>/~<token>/<rung>/index.m3u8   (and /vod/<channel>/~<token>/…)
 *
 * edge_play_split takes rel = "<channel>/~<token>/<rest>" apart: out gets
 * "<channel>/<rest>", *tok points at the token inside rel (*toklen bytes).
 * Returns 1 with a token, 0 without one (out = rel, *tok NULL), -1 when the
 * token part is malformed (empty, too long, nothing after it) or out is too
 * small. */
#ifndef LSP_EDGE_PLAYPATH_H
#define LSP_EDGE_PLAYPATH_H
#include <stddef.h>

int edge_play_split(const char *rel, char *out, size_t cap, const char **tok, size_t *toklen);

#endif
