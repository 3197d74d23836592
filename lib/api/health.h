/* health.h — lsp-api's table of the latest ingest health of each channel,
 * filled from the NATS subject lsp.stream.<channel>.health and read by
 * GET /api/v1/channels/{name}/health (lsp_api_cfg.health).
 *
 * Bounded: LSP_HEALTH_CHANNELS channels (a channel first heard of when
 * the table is full is not kept) and LSP_HEALTH_JSON_MAX bytes of JSON
 * each (a longer message is ignored).  lsp_health_on_msg runs on the bus's
 * thread and lsp_health_get on the server's: a mutex stands between them.
 * The table owns its copies; callers own their buffers. */
#ifndef LSP_HEALTH_H
#define LSP_HEALTH_H
#include <stddef.h>

#define LSP_HEALTH_CHANNELS 256
#define LSP_HEALTH_JSON_MAX 1024

typedef struct lsp_health lsp_health;

/* An empty table.  0, or -ENOMEM. */
int lsp_health_new(lsp_health **out);
void lsp_health_free(lsp_health *h);

/* An lsp_bus_msg_fn (ctx is the table): keeps data as the latest health
 * of the channel subject names; ignores other subjects. */
void lsp_health_on_msg(void *ctx, const char *subject, const char *data, size_t len);

/* The latest health JSON of channel into out (truncated to cap); 0, or
 * -1 when none is known (ctx NULL included).  Fits lsp_api_cfg.health. */
int lsp_health_get(void *ctx, const char *channel, char *out, size_t cap);

/* Without NATS: the ingest's status file <run_dir>/<channel>.health.json
 * (lib/ingest writes it once a second while publishing and removes it at
 * the end) into out, when it was written within LSP_HEALTH_FILE_FRESH_S
 * of now (unix seconds): a file left by a killed ingest goes stale.  0, or
 * -1 when there is none, it is stale, too long for cap, or unreadable. */
#define LSP_HEALTH_FILE_FRESH_S 5
int lsp_health_file(const char *run_dir, const char *channel, long long now, char *out, size_t cap);

#endif
