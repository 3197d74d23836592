/* chatkv.h — lsp-chat's shared counters in Redis (hiredis): presence per
 * channel summed over nodes, and a per-user token bucket for rate limits.
 *
 * Calls are synchronous with a short timeout (200 ms); a node whose Redis
 * is down gets a negative code and falls back to its local view.  An
 * outage is rate-limited: after a connection failure calls fail at once
 * (no timeout) until a retry is due (1 s, doubling to 30 s); the first
 * failure of an outage returns -EIO, the later ones -ENOTCONN, so a caller
 * that logs only -EIO writes one warning per outage, not one per message.
 * The context is owned by the lsp_chatkv. */
#ifndef LSP_CHATKV_H
#define LSP_CHATKV_H
#include <stddef.h>

typedef struct lsp_chatkv lsp_chatkv;

/* url: redis://host:port[/db] */
int lsp_chatkv_open(lsp_chatkv **out, const char *url, char *err, size_t errcap);
void lsp_chatkv_close(lsp_chatkv *kv);

/* Record this node's count for channel and return the sum over nodes that
 * reported in the last 10 s.  Returns 0 or a negative code. */
int lsp_chatkv_presence(lsp_chatkv *kv, const char *channel, const char *node, long count, long long now_ms,
			long *total, char *err, size_t errcap);

/* Read the sums for n channels (n <= LSP_CHATKV_READ_MAX) in one round
 * trip, counting only nodes that reported in the last 10 s; nothing is
 * written.  totals[i] is the sum for channels[i] (0 when nobody reported).
 * Returns 0 or a negative code (totals untouched). */
#define LSP_CHATKV_READ_MAX 128
int lsp_chatkv_presence_read(lsp_chatkv *kv, const char *const *channels, int n, long long now_ms, long *totals,
			     char *err, size_t errcap);

/* Token bucket for key: rate tokens per second, burst capacity.  Returns
 * 1 allowed, 0 refused, negative on a Redis failure. */
int lsp_chatkv_allow(lsp_chatkv *kv, const char *key, double rate, int burst, long long now_ms, char *err,
		     size_t errcap);

#endif
