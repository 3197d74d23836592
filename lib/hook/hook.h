/* hook.h — lsp-hook's engine: subscribe to the stream subjects on NATS
 * (lsp.stream.<channel>.{live,health,ended}, bus/subjects.h) in a queue
 * group, wrap each message as a webhook event and deliver it, signed
 * (core/webhook), from one bounded queue per receiver (hook/hookq) with
 * retries.
 *
 * Receivers: the global URL (wh) and each distinct channel URL (route)
 * get a queue of their own, made at their first event and freed once it
 * is empty, so a receiver that is down or slow delays only its own events:
 * order, backoff and max_age_ms are per receiver.  queue_cap bounds the
 * events of all receivers together; one more drops the oldest event of the
 * longest queue ("webhook dropped", reason queue full).  At most
 * concurrency POSTs are in flight at once, one per receiver, on threads of
 * a core/jobpool.
 *
 * Threads: nats.c's callback thread validates, routes (the channel's URL,
 * under its own lock: it may ask the store), queues (under the lock) and
 * wakes the loop through an eventfd; lsp_hook_run, on the caller's thread,
 * hands due heads to the pool's threads, which POST and nothing else, and
 * takes their answers back through the pool's eventfd; it never blocks on
 * a receiver.  No media process waits on any of it: ingest publishes on
 * NATS and goes on.
 *
 * The body of each POST (compact JSON):
 *   {"event":"live","channel":"c","time":<unix s>,"data":<the bus message>}
 * Delivery: 2xx delivered; no answer, 408, 425, 429 or 5xx: retried with
 * backoff (retry_base_ms doubling up to retry_max_ms) until max_age_ms;
 * any other status: dropped as rejected.  .health is posted at most once
 * per health_interval_s per channel (0: every message).
 *
 * Events (level, name: fields; "hook" is the webhook's event name, as
 * "event" is the log line's own):
 *   info  "subscribed": subject queue               ready (sd_notify on it)
 *   debug "webhook delivered": hook channel status attempts ms
 *   warn  "webhook failed": hook channel status (-1: no answer) reason
 *         attempts retry_s suppressed              one per 10 s at most
 *   debug "webhook skipped": hook channel      no receiver (no global URL
 *                                              and none of the channel's own),
 *                                              when the event arrives
 *   warn  "webhook dropped": hook channel reason suppressed
 *         (reason: queue full, too old, rejected <status>, bad message)
 * Metrics (when cfg->mx): lsp_hook_delivered_total{event},
 * lsp_hook_failures_total{event}, lsp_hook_dropped_total{event,reason}
 * (reason: full, expired, rejected, bad), lsp_hook_queue_length (events
 * of all receivers), lsp_hook_receivers (receivers holding events),
 * lsp_hook_in_flight (POSTs under way).  A receiver's URL is in no event
 * or metric (a channel's may carry a token).
 * Neither carries the secret or the signature. */
#ifndef LSP_HOOK_H
#define LSP_HOOK_H
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/metrics.h"
#include "core/webhook.h"

typedef struct {
	const char *nats_url;
	const char *queue_group;  /* NULL or "": every lsp-hook posts every event */
	lsp_webhook *wh;          /* the global receiver's poster (owned by the caller,
				   * used by one thread at a time); NULL: none, only
				   * channels with their own URL (route) get events */
	/* A channel's own receiver (state/chanhook.h): route fills url ("" when
	 * the channel has none; negative when it cannot tell: then wh), asked
	 * when an event arrives and remembered LSP_HOOK_ROUTE_TTL_MS per channel.  A POST to
	 * it is signed with secret and lasts timeout_ms at most.  NULL: wh only. */
	int (*route)(void *ctx, const char *channel, char *url, size_t cap);
	void *route_ctx;
	const void *secret;
	size_t secret_len;
	int timeout_ms;
	size_t queue_cap;         /* events held at most, all receivers together
				   * (the oldest of the longest queue dropped) */
	int concurrency;          /* POSTs in flight at once (1..64; 0: 4) */
	int health_interval_s;
	int retry_base_ms, retry_max_ms;
	int64_t max_age_ms;
	lsp_metrics *mx;          /* may be NULL */
	lsp_event_fn event;       /* may be NULL */
	void *event_ctx;
} lsp_hook_cfg;

#define LSP_HOOK_ROUTE_TTL_MS 5000 /* a channel's own URL is looked up again after this */
#define LSP_HOOK_URL_MAX 1024      /* bytes of a channel's own URL, NUL included */
#define LSP_HOOK_CONCURRENCY 4     /* POSTs in flight at once, by default */

typedef struct lsp_hook lsp_hook;

/* Declare the metric families in mx (call once, before lsp_hook_open). */
void lsp_hook_metrics(lsp_metrics *mx);

/* Connect to NATS (nats_url NULL: no bus, for tests that offer messages
 * themselves) and subscribe.  0 or negative errno with err. */
int lsp_hook_open(lsp_hook **out, const lsp_hook_cfg *cfg, char *err, size_t errcap);

/* A bus message (what the subscription calls; any thread): 0 queued or
 * skipped (a throttled .health, a subject that is not a stream event),
 * negative when dropped. */
int lsp_hook_offer(lsp_hook *h, const char *subject, const char *data, size_t len);

/* Deliver until stopfd is readable (or, with stopfd < 0, until every
 * queue is empty).  Returns the number of events still queued. */
size_t lsp_hook_run(lsp_hook *h, int stopfd);

void lsp_hook_close(lsp_hook *h);

#endif
