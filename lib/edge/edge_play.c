/* edge_play.c — playback tokens at the edge: which /hls/ requests of a
 * private or age-gated channel may be answered.
 *
 * A channel whose directory holds the .signed marker (state/chandir.h,
 * written by lsp-api) is served only to a request carrying a good playback
 * token (core/sigtok.h, lsp_sigtok_play) for that channel, either
 *
 *   in the path:   /hls/<channel>/~<token>/<rung>/index.m3u8
 *   in the query:  /hls/<channel>/<rung>/index.m3u8?token=<token>
 *
 * The path form is what players use: every URI in lsp's playlists is
 * relative, so hls.js and Safari resolve the media playlists, parts,
 * segments and init sections of /hls/<channel>/~<token>/master.m3u8 under
 * the same prefix and carry the token on every request with no playlist
 * rewritten (a query is not inherited by relative URIs).  The query form
 * is for tools (ffprobe, curl) fetching one file.  A refusal is 403 with
 * a JSON body and one "playback refused" event (channel, reason, never the
 * token).  Owns nothing; internal, see edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/key.h"
#include "core/sigtok.h"
#include "state/chandir.h"

int edge_play_gate(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *ch, const char *tok, size_t toklen)
{
	char marker[LSP_NAME_MAX + sizeof LSP_CHANDIR_SIGNED + 2], q[LSP_SIGTOK_MAX], body[160];
	const char *why = NULL;
	if ((size_t)snprintf(marker, sizeof marker, "%s/" LSP_CHANDIR_SIGNED, ch) >= sizeof marker)
		return 1; /* not a channel name (checked before); nothing to guard */
	if (faccessat(e->hls_fd, marker, F_OK, 0) != 0)
		return 1;
	if (!tok && rq && rq->query &&
	    lsp_http_query_get(rq->query, rq->query_len, "token", q, sizeof q) >= 0) {
		tok = q;
		toklen = strlen(q);
	}
	if (!tok || !toklen)
		why = "no playback token";
	else if (!e->cfg.play_secret || !e->cfg.play_secret_len)
		why = "playback tokens off";
	else
		(void)lsp_sigtok_check(&lsp_sigtok_play, e->cfg.play_secret, e->cfg.play_secret_len, ch, tok, toklen,
				       (long long)time(NULL), NULL, 0, NULL, &why);
	memset(q, 0, sizeof q);
	if (!why)
		return 1;
	e->play_refused++;
	lsp_event_emit(e->cfg.event, e->cfg.event_ctx, LSP_WARN, "playback refused", "channel", LSV_S(ch), "reason",
		       LSV_S(why), NULL);
	snprintf(body, sizeof body, "{\"error\":\"forbidden\",\"reason\":\"%s\"}\n", why);
	edge_respond_text(e, c, 403, "application/json", "no-store", body);
	return 0;
}
