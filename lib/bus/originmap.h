/* originmap.h — which origin serves which live channel, learned from NATS.
 *
 * Ingest nodes announce `lsp.stream.<channel>.live` (and once a second
 * `.health`) with an "origin" field: the HTTP base URL of the lsp-edge on
 * that node (e.g. "http://10.0.0.2:8080").  `.ended` withdraws it.  The map
 * keeps channel → origin URL and when it was last confirmed:
 *
 *   .live  from origin O          → channel served by O (always: a new start
 *                                   wins, this is the failover path)
 *   .health from O                → refresh if O is current; take over only
 *                                   when the current one is stale (> ttl)
 *   .ended (origin O, or none)    → forget, unless another origin took over
 *   no word for ttl ms            → lookups fail (the origin is presumed dead)
 *                                   — unless the whole bus has been silent
 *                                   that long (NATS down): then the last
 *                                   known origin is kept
 *
 * Thread model: NATS callbacks run on a nats.c thread and only touch the
 * table under the map's mutex; lookups (the edge's loop) take the same
 * mutex.  The map owns its bus connection, its subscriptions and the table;
 * bounded to ORIGINMAP_MAX channels (more are dropped and counted).
 * Functions return 0 or a negative errno, a reason in err where there is one. */
#ifndef LSP_ORIGINMAP_H
#define LSP_ORIGINMAP_H
#include <stddef.h>
#include <stdint.h>

#define LSP_ORIGIN_URL_MAX 128

typedef struct lsp_originmap lsp_originmap;

/* nats_url NULL: no bus (tests feed messages with lsp_originmap_feed). */
int lsp_originmap_open(lsp_originmap **out, const char *nats_url, int ttl_ms, char *err, size_t errcap);
void lsp_originmap_close(lsp_originmap *m);

/* Apply one bus message (subject lsp.stream.<ch>.<what>) at time now_ms
 * (CLOCK_MONOTONIC ms).  Returns 1 when the channel's origin changed, else 0. */
int lsp_originmap_feed(lsp_originmap *m, const char *subject, const char *data, size_t len, int64_t now_ms);

/* The origin URL of channel at now_ms into url: 0, or -ENOENT. */
int lsp_originmap_lookup(lsp_originmap *m, const char *channel, int64_t now_ms, char *url, size_t cap);

/* lsp_edge_cfg.route: the origin for a request path /hls/<ch>/…,
 * /api/channels/<ch>/… or /vod/<ch>/…; 0 or -ENOENT.  ctx is the map. */
int lsp_originmap_route(void *ctx, const char *path, char *url, size_t cap);

/* The channels live somewhere now (as lsp_originmap_lookup would answer)
 * as the directory's JSON, sorted by name:
 * [{"name":"demo","live":true,"rungs":[]}, ...] (rungs are the origin's to
 * tell).  Returns the length, or -ENOSPC when out is too small. */
int lsp_originmap_json(lsp_originmap *m, int64_t now_ms, char *out, size_t cap);

/* lsp_edge_cfg.list: lsp_originmap_json at the current monotonic time. */
int lsp_originmap_list(void *ctx, char *out, size_t cap);

/* Origin switches seen (a channel moving from one origin to another). */
long long lsp_originmap_switches(lsp_originmap *m);

#endif
