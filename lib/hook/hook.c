/* hook.c — lsp-hook's engine; see hook.h for the contract.
 *
 *   nats.c thread                        lsp_hook_run (caller's thread)
 *   on_msg → lsp_hook_offer                poll(stopfd, wake, head due)
 *     parse subject, check JSON            copy the head under the lock
 *     throttle .health                     POST it (lock released)
 *     lock, push (drop oldest), unlock     lock: delivered → pop,
 *     write(wake)                            failed → backoff, rejected → pop
 *
 * The lsp_hook owns the bus, the subscription, the queue, the eventfd and
 * the throttle table; the webhook poster belongs to the caller. */
#include "hook/hook.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>

#include "bus/bus.h"
#include "bus/subjects.h"
#include "core/clock.h"
#include "core/key.h"
#include "core/ratelim.h"
#include "hook/hookq.h"

enum { THROTTLE_SLOTS = 1024, LOG_EVERY_MS = 10000, ROUTE_SLOTS = 64 };

/* A channel's own URL as last looked up (the run thread's alone). */
struct route {
	char channel[LSP_HOOKQ_CHANNEL];
	char url[LSP_HOOK_URL_MAX];
	int known;                 /* route answered (url "" : none) */
	int64_t at;
};

struct slot {
	char channel[LSP_HOOKQ_CHANNEL];
	int64_t last_ms;
};

struct lsp_hook {
	lsp_hook_cfg cfg;
	lsp_bus *bus;
	lsp_bus_sub *sub;
	int wake;                  /* eventfd */
	pthread_mutex_t mu;        /* the queue, the throttle table, rl_drop */
	lsp_hookq *q;
	struct slot *slots;        /* THROTTLE_SLOTS, by hash of the channel */
	lsp_ratelim rl_fail, rl_drop;
	struct route *routes;      /* ROUTE_SLOTS, by hash of the channel */
};

void lsp_hook_metrics(lsp_metrics *mx)
{
	lsp_metrics_def(mx, "lsp_hook_delivered_total", LSP_METRIC_COUNTER, "webhook events delivered (2xx)");
	lsp_metrics_def(mx, "lsp_hook_failures_total", LSP_METRIC_COUNTER,
			"webhook attempts that failed and will be retried");
	lsp_metrics_def(mx, "lsp_hook_dropped_total", LSP_METRIC_COUNTER,
			"webhook events given up (reason: full, expired, rejected, bad)");
	lsp_metrics_def(mx, "lsp_hook_queue_length", LSP_METRIC_GAUGE, "webhook events waiting");
}

static void dropped(lsp_hook *h, const char *event, const char *channel, const char *label, const char *reason)
{
	long long held = 0;
	lsp_metrics_add(h->cfg.mx, "lsp_hook_dropped_total", 1, "event", event, "reason", label, NULL);
	if (lsp_ratelim_ok(&h->rl_drop, lsp_clock_mono_ms(), LOG_EVERY_MS, &held))
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_WARN, "webhook dropped", "hook", LSV_S(event),
			       "channel", LSV_S(channel), "reason", LSV_S(reason), "suppressed", LSV_I(held), NULL);
}

static void on_msg(void *ctx, const char *subject, const char *data, size_t len)
{
	(void)lsp_hook_offer(ctx, subject, data, len);
}

int lsp_hook_open(lsp_hook **out, const lsp_hook_cfg *cfg, char *err, size_t errcap)
{
	lsp_hook *h;
	int rc = -ENOMEM;
	*out = NULL;
	if (!cfg->wh || cfg->queue_cap == 0) {
		snprintf(err, errcap, "hook: no webhook or a zero queue");
		return -EINVAL;
	}
	if (!(h = calloc(1, sizeof *h))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	h->cfg = *cfg;
	h->wake = -1;
	pthread_mutex_init(&h->mu, NULL);
	if (!(h->q = lsp_hookq_new(cfg->queue_cap)) || !(h->slots = calloc(THROTTLE_SLOTS, sizeof *h->slots)) ||
	    !(h->routes = calloc(ROUTE_SLOTS, sizeof *h->routes))) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if ((h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (cfg->nats_url) {
		if ((rc = lsp_bus_open_ev(&h->bus, cfg->nats_url, 5000, "lsp-hook", cfg->event, cfg->event_ctx, err,
					  errcap)) < 0)
			goto fail;
		if ((rc = lsp_bus_subscribe_queue(h->bus, LSP_SUBJ_STREAM_ANY, cfg->queue_group, on_msg, h, &h->sub,
						  err, errcap)) < 0)
			goto fail;
		lsp_event_emit(cfg->event, cfg->event_ctx, LSP_INFO, "subscribed", "subject", LSV_S(LSP_SUBJ_STREAM_ANY),
			       "queue", LSV_S(cfg->queue_group ? cfg->queue_group : ""), NULL);
	}
	*out = h;
	return 0;
fail:
	lsp_hook_close(h);
	return rc;
}

void lsp_hook_close(lsp_hook *h)
{
	if (!h)
		return;
	if (h->sub)
		lsp_bus_unsubscribe(h->sub); /* waits for a running callback */
	lsp_bus_close(h->bus);
	if (h->wake >= 0)
		close(h->wake);
	lsp_hookq_free(h->q);
	free(h->slots);
	free(h->routes);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* 1 when this .health may be posted now (and it is noted), else 0.
 * Under h->mu.  Two channels sharing a slot only post a little more. */
static int health_due(lsp_hook *h, const char *channel, int64_t now, int ended)
{
	uint32_t x = 2166136261u;
	struct slot *s;
	for (const char *p = channel; *p; p++)
		x = (x ^ (unsigned char)*p) * 16777619u;
	s = &h->slots[x % THROTTLE_SLOTS];
	if (ended) { /* the next publish's first .health goes out at once */
		if (strcmp(s->channel, channel) == 0)
			s->channel[0] = 0;
		return 1;
	}
	if (h->cfg.health_interval_s > 0 && strcmp(s->channel, channel) == 0 &&
	    now - s->last_ms < (int64_t)h->cfg.health_interval_s * 1000)
		return 0;
	snprintf(s->channel, sizeof s->channel, "%s", channel);
	s->last_ms = now;
	return 1;
}

int lsp_hook_offer(lsp_hook *h, const char *subject, const char *data, size_t len)
{
	char channel[LSP_NAME_MAX + 8], id[LSP_HOOKQ_ID];
	const char *event;
	json_t *msg, *body;
	char *text;
	lsp_hookq_item gone;
	int64_t now = lsp_clock_mono_ms();
	int rc;

	switch (lsp_subject_parse(subject, channel, sizeof channel)) {
	case LSP_SUBJ_LIVE: event = "live"; break;
	case LSP_SUBJ_HEALTH: event = "health"; break;
	case LSP_SUBJ_ENDED: event = "ended"; break;
	default: return 0;
	}
	if (!(msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(msg)) {
		json_decref(msg);
		pthread_mutex_lock(&h->mu);
		dropped(h, event, channel, "bad", "bad message");
		pthread_mutex_unlock(&h->mu);
		return -EINVAL;
	}
	if (event[0] != 'l') { /* .health throttled; .ended resets the throttle */
		pthread_mutex_lock(&h->mu);
		rc = health_due(h, channel, now, event[0] == 'e');
		pthread_mutex_unlock(&h->mu);
		if (!rc) {
			json_decref(msg);
			return 0;
		}
	}
	body = json_pack("{s:s, s:s, s:f, s:o}", "event", event, "channel", channel, "time", lsp_clock_wall_s(),
			 "data", msg); /* "o" takes msg's reference */
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text || lsp_webhook_id(id, sizeof id) < 0) {
		free(text);
		pthread_mutex_lock(&h->mu);
		dropped(h, event, channel, "bad", "out of memory");
		pthread_mutex_unlock(&h->mu);
		return -ENOMEM;
	}
	pthread_mutex_lock(&h->mu);
	rc = lsp_hookq_push(h->q, event, channel, id, text, strlen(text), now, &gone);
	if (rc == 1)
		dropped(h, gone.event, gone.channel, "full", "queue full");
	else if (rc < 0)
		dropped(h, event, channel, "bad", "out of memory");
	lsp_metrics_set(h->cfg.mx, "lsp_hook_queue_length", (double)lsp_hookq_len(h->q), NULL);
	pthread_mutex_unlock(&h->mu);
	free(text);
	if (rc >= 0) {
		uint64_t one = 1;
		ssize_t w = write(h->wake, &one, sizeof one);
		(void)w;
	}
	return rc < 0 ? rc : 0;
}

/* The channel's own URL into url: 1 it has one, 0 not (or unknown). */
static int route_url(lsp_hook *h, const char *channel, int64_t now, char *url, size_t cap)
{
	uint32_t x = 2166136261u;
	struct route *r;
	url[0] = 0;
	if (!h->cfg.route || !h->cfg.secret_len)
		return 0;
	for (const char *p = channel; *p; p++)
		x = (x ^ (unsigned char)*p) * 16777619u;
	r = &h->routes[x % ROUTE_SLOTS];
	if (strcmp(r->channel, channel) != 0 || now - r->at >= LSP_HOOK_ROUTE_TTL_MS) {
		snprintf(r->channel, sizeof r->channel, "%s", channel);
		r->at = now;
		r->url[0] = 0;
		r->known = h->cfg.route(h->cfg.route_ctx, channel, r->url, sizeof r->url) == 0;
		if (!r->known)
			r->url[0] = 0;
	}
	snprintf(url, cap, "%s", r->url);
	return url[0] != 0;
}

/* The answer decides: 1 delivered, 0 retry, -1 rejected (give up). */
static int verdict(int status)
{
	if (status >= 200 && status < 300)
		return 1;
	if (status < 0 || status == 408 || status == 425 || status == 429 || status >= 500)
		return 0;
	return -1;
}

/* Post the head once if it is due.  Returns the ms to wait before the next
 * try (-1: the queue is empty). */
static int64_t deliver_one(lsp_hook *h)
{
	lsp_hookq_item it;
	char reason[LSP_WEBHOOK_REASON_CAP], err[256], why[96], url[LSP_HOOK_URL_MAX];
	lsp_webhook *own = NULL;
	const lsp_hookq_item *hd;
	int64_t wait, t0, now;
	int status, v, old;
	long long held = 0;

	pthread_mutex_lock(&h->mu);
	wait = lsp_hookq_wait_ms(h->q, lsp_clock_mono_ms());
	if (wait != 0) {
		pthread_mutex_unlock(&h->mu);
		return wait;
	}
	it = *lsp_hookq_head(h->q);
	if (!(it.body = malloc(it.len + 1))) {
		pthread_mutex_unlock(&h->mu);
		return 1000;
	}
	memcpy(it.body, lsp_hookq_head(h->q)->body, it.len + 1);
	pthread_mutex_unlock(&h->mu);

	t0 = lsp_clock_mono_ms();
	err[0] = reason[0] = 0;
	if (route_url(h, it.channel, t0, url, sizeof url)) { /* the channel's own receiver */
		if (lsp_webhook_new(&own, url, h->cfg.secret, h->cfg.secret_len,
				    h->cfg.timeout_ms > 0 ? h->cfg.timeout_ms : 2000, err, sizeof err) == 0)
			status = lsp_webhook_post(own, it.event, it.id, it.body, it.len, reason, sizeof reason, err,
						  sizeof err);
		else
			status = -EIO;
		lsp_webhook_free(own);
	} else if (h->cfg.wh) {
		status = lsp_webhook_post(h->cfg.wh, it.event, it.id, it.body, it.len, reason, sizeof reason, err,
					  sizeof err);
	} else { /* nobody to tell */
		free(it.body);
		pthread_mutex_lock(&h->mu);
		if ((hd = lsp_hookq_head(h->q)) && !strcmp(hd->id, it.id))
			lsp_hookq_pop(h->q);
		lsp_metrics_set(h->cfg.mx, "lsp_hook_queue_length", (double)lsp_hookq_len(h->q), NULL);
		wait = lsp_hookq_wait_ms(h->q, lsp_clock_mono_ms());
		pthread_mutex_unlock(&h->mu);
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_DEBUG, "webhook skipped", "hook", LSV_S(it.event),
			       "channel", LSV_S(it.channel), NULL);
		return wait;
	}
	free(it.body);
	now = lsp_clock_mono_ms();
	v = verdict(status);

	pthread_mutex_lock(&h->mu);
	hd = lsp_hookq_head(h->q);
	if (!hd || strcmp(hd->id, it.id) != 0) { /* dropped while in flight */
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	if (v == 1) {
		lsp_hookq_pop(h->q);
		lsp_metrics_add(h->cfg.mx, "lsp_hook_delivered_total", 1, "event", it.event, NULL);
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_DEBUG, "webhook delivered", "hook", LSV_S(it.event),
			       "channel", LSV_S(it.channel), "status", LSV_I(status), "attempts",
			       LSV_I(it.attempts + 1), "ms", LSV_I(now - t0), NULL);
	} else if (v < 0) {
		snprintf(why, sizeof why, "rejected %d", status);
		lsp_hookq_pop(h->q);
		dropped(h, it.event, it.channel, "rejected", why);
	} else {
		lsp_metrics_add(h->cfg.mx, "lsp_hook_failures_total", 1, "event", it.event, NULL);
		old = lsp_hookq_fail(h->q, now, h->cfg.retry_base_ms, h->cfg.retry_max_ms, h->cfg.max_age_ms);
		if (lsp_ratelim_ok(&h->rl_fail, now, LOG_EVERY_MS, &held)) {
			if (status >= 0)
				snprintf(err, sizeof err, "HTTP %d", status);
			lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_WARN, "webhook failed", "hook",
				       LSV_S(it.event), "channel", LSV_S(it.channel), "status",
				       LSV_I(status >= 0 ? status : -1), "reason", LSV_S(err), "attempts",
				       LSV_I(it.attempts + 1), "retry_s",
				       LSV_D(old ? 0
						 : lsp_hookq_backoff(it.attempts + 1, h->cfg.retry_base_ms,
								     h->cfg.retry_max_ms) /
							   1000.0),
				       "suppressed", LSV_I(held), NULL);
		}
		if (old) {
			lsp_hookq_pop(h->q);
			dropped(h, it.event, it.channel, "expired", "too old");
		}
	}
	lsp_metrics_set(h->cfg.mx, "lsp_hook_queue_length", (double)lsp_hookq_len(h->q), NULL);
	wait = lsp_hookq_wait_ms(h->q, lsp_clock_mono_ms());
	pthread_mutex_unlock(&h->mu);
	return wait;
}

size_t lsp_hook_run(lsp_hook *h, int stopfd)
{
	size_t left;
	for (;;) {
		struct pollfd pf[2] = { { h->wake, POLLIN, 0 }, { stopfd, POLLIN, 0 } };
		int64_t wait = deliver_one(h);
		if (stopfd < 0 && wait < 0)
			break;
		if (wait == 0) { /* more due: still look at stop between posts */
			if (stopfd >= 0 && poll(&pf[1], 1, 0) > 0)
				break;
			continue;
		}
		if (poll(pf, stopfd >= 0 ? 2 : 1, wait < 0 || wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			uint64_t n;
			ssize_t r = read(h->wake, &n, sizeof n);
			(void)r;
		}
		if (stopfd >= 0 && (pf[1].revents & POLLIN))
			break;
	}
	pthread_mutex_lock(&h->mu);
	left = lsp_hookq_len(h->q);
	pthread_mutex_unlock(&h->mu);
	return left;
}
