/* hook.c — lsp-hook's engine; see hook.h for the contract.
 *
 *   nats.c thread                       lsp_hook_run (caller's thread)
 *   on_msg → lsp_hook_offer               poll(stopfd, wake, pool, next due)
 *     parse subject, check JSON           lock: collect the pool's answers:
 *     throttle .health                      delivered → pop, failed → backoff,
 *     route: the channel's URL              rejected/too old → pop; an empty
 *     lock: find/make its receiver          receiver is freed
 *       full? drop the oldest of the      hand each idle receiver's due head
 *       longest queue; push; unlock         to the pool (up to concurrency)
 *     write(wake)                         unlock
 *                                        pool threads: POST one event each
 *
 * The lsp_hook owns the bus, the subscription, the receivers (each a
 * queue, a poster for a channel URL and its one POST), the pool, the
 * eventfd, the throttle table and the route cache; the global poster
 * belongs to the caller.  A receiver with a POST in flight is never freed:
 * the pool's thread uses its poster and its job; the loop frees it when
 * the answer is back and its queue is empty. */
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
#include "core/jobpool.h"
#include "core/key.h"
#include "core/ratelim.h"
#include "hook/hookq.h"

enum { THROTTLE_SLOTS = 1024, LOG_EVERY_MS = 10000, ROUTE_SLOTS = 64, RCV_BUCKETS = 256 };

/* A channel's own URL as last looked up (under rmu). */
struct route {
	char channel[LSP_HOOKQ_CHANNEL];
	char url[LSP_HOOK_URL_MAX];
	int64_t at;
};

struct slot {
	char channel[LSP_HOOKQ_CHANNEL];
	int64_t last_ms;
};

struct rcv;

/* One POST: the receiver's head, copied (the queue may drop it meanwhile),
 * and the answer.  The loop fills it, a pool thread posts it. */
struct post {
	lsp_job job;               /* first: the pool hands back &job */
	struct rcv *r;
	lsp_webhook *w;            /* NULL: the poster could not be made */
	char event[LSP_HOOKQ_EVENT], channel[LSP_HOOKQ_CHANNEL], id[LSP_HOOKQ_ID];
	char *body;
	size_t len;
	int attempts;
	int status;
	char reason[LSP_WEBHOOK_REASON_CAP], err[256];
	int64_t t0, t1;
};

/* A receiver: the global one (url "") or one channel URL. */
struct rcv {
	struct rcv *hnext;         /* its hash bucket */
	struct rcv *prev, *next;   /* the service order: the last served is last */
	lsp_hookq *q;
	lsp_webhook *own;          /* a channel URL's poster, made at its first POST */
	int busy;                  /* a POST in flight (post is the pool's) */
	struct post post;
	char url[];                /* "" : the global receiver (cfg.wh) */
};

struct lsp_hook {
	lsp_hook_cfg cfg;
	lsp_bus *bus;
	lsp_bus_sub *sub;
	int wake;                  /* eventfd */
	lsp_jobpool *pool;
	pthread_mutex_t mu;        /* receivers, counts, throttle table, rate limits */
	struct rcv *bucket[RCV_BUCKETS];
	struct rcv *first, *last;
	size_t nrcv, total, busy;
	struct slot *slots;        /* THROTTLE_SLOTS, by hash of the channel */
	lsp_ratelim rl_fail, rl_drop;
	pthread_mutex_t rmu;       /* routes */
	struct route *routes;      /* ROUTE_SLOTS, by hash of the channel */
};

void lsp_hook_metrics(lsp_metrics *mx)
{
	lsp_metrics_def(mx, "lsp_hook_delivered_total", LSP_METRIC_COUNTER, "webhook events delivered (2xx)");
	lsp_metrics_def(mx, "lsp_hook_failures_total", LSP_METRIC_COUNTER,
			"webhook attempts that failed and will be retried");
	lsp_metrics_def(mx, "lsp_hook_dropped_total", LSP_METRIC_COUNTER,
			"webhook events given up (reason: full, expired, rejected, bad)");
	lsp_metrics_def(mx, "lsp_hook_queue_length", LSP_METRIC_GAUGE, "webhook events waiting, all receivers");
	lsp_metrics_def(mx, "lsp_hook_receivers", LSP_METRIC_GAUGE, "webhook receivers with events waiting");
	lsp_metrics_def(mx, "lsp_hook_in_flight", LSP_METRIC_GAUGE, "webhook POSTs under way");
}

static uint32_t fnv(const char *s)
{
	uint32_t x = 2166136261u;
	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 16777619u;
	return x;
}

/* Under h->mu. */
static void gauges(lsp_hook *h)
{
	lsp_metrics_set(h->cfg.mx, "lsp_hook_queue_length", (double)h->total, NULL);
	lsp_metrics_set(h->cfg.mx, "lsp_hook_receivers", (double)h->nrcv, NULL);
	lsp_metrics_set(h->cfg.mx, "lsp_hook_in_flight", (double)h->busy, NULL);
}

/* Under h->mu. */
static void dropped(lsp_hook *h, const char *event, const char *channel, const char *label, const char *reason)
{
	long long held = 0;
	lsp_metrics_add(h->cfg.mx, "lsp_hook_dropped_total", 1, "event", event, "reason", label, NULL);
	if (lsp_ratelim_ok(&h->rl_drop, lsp_clock_mono_ms(), LOG_EVERY_MS, &held))
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_WARN, "webhook dropped", "hook", LSV_S(event),
			       "channel", LSV_S(channel), "reason", LSV_S(reason), "suppressed", LSV_I(held), NULL);
}

/* ---- receivers (under h->mu) ------------------------------------------------- */

static void order_unlink(lsp_hook *h, struct rcv *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->first = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		h->last = r->prev;
	r->prev = r->next = NULL;
}

static void order_append(lsp_hook *h, struct rcv *r)
{
	r->prev = h->last;
	r->next = NULL;
	if (h->last)
		h->last->next = r;
	else
		h->first = r;
	h->last = r;
}

static struct rcv *rcv_find(const lsp_hook *h, const char *url)
{
	for (struct rcv *r = h->bucket[fnv(url) % RCV_BUCKETS]; r; r = r->hnext)
		if (strcmp(r->url, url) == 0)
			return r;
	return NULL;
}

/* A new, empty receiver for url, or NULL (out of memory). */
static struct rcv *rcv_new(lsp_hook *h, const char *url)
{
	size_t ul = strlen(url);
	struct rcv *r = calloc(1, sizeof *r + ul + 1);
	struct rcv **b;
	if (!r)
		return NULL;
	memcpy(r->url, url, ul + 1);
	if (!(r->q = lsp_hookq_new(h->cfg.queue_cap))) {
		free(r);
		return NULL;
	}
	b = &h->bucket[fnv(url) % RCV_BUCKETS];
	r->hnext = *b;
	*b = r;
	order_append(h, r);
	h->nrcv++;
	return r;
}

/* Free r when it holds nothing (no event, no POST in flight). */
static void rcv_release(lsp_hook *h, struct rcv *r)
{
	struct rcv **p;
	if (r->busy || lsp_hookq_len(r->q))
		return;
	for (p = &h->bucket[fnv(r->url) % RCV_BUCKETS]; *p != r; p = &(*p)->hnext)
		;
	*p = r->hnext;
	order_unlink(h, r);
	h->nrcv--;
	lsp_hookq_free(r->q);
	lsp_webhook_free(r->own);
	free(r);
}

/* Make room for one event: drop the oldest of the longest queue. */
static void make_room(lsp_hook *h)
{
	struct rcv *big = NULL;
	const lsp_hookq_item *old;
	for (struct rcv *r = h->first; r; r = r->next)
		if (!big || lsp_hookq_len(r->q) > lsp_hookq_len(big->q))
			big = r;
	if (!big || !(old = lsp_hookq_head(big->q)))
		return;
	dropped(h, old->event, old->channel, "full", "queue full");
	lsp_hookq_pop(big->q); /* in flight: its answer finds another head and is ignored */
	h->total--;
	rcv_release(h, big);
}

/* ---- arrival (any thread) ---------------------------------------------------- */

static void on_msg(void *ctx, const char *subject, const char *data, size_t len)
{
	(void)lsp_hook_offer(ctx, subject, data, len);
}

/* 1 when this .health may be posted now (and it is noted), else 0.
 * Under h->mu.  Two channels sharing a slot only post a little more. */
static int health_due(lsp_hook *h, const char *channel, int64_t now, int ended)
{
	struct slot *s = &h->slots[fnv(channel) % THROTTLE_SLOTS];
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

/* The channel's own URL into url (cap >= LSP_HOOK_URL_MAX): "" when it has
 * none or it cannot be told (then the global receiver). */
static void route_url(lsp_hook *h, const char *channel, int64_t now, char *url, size_t cap)
{
	struct route *r;
	url[0] = 0;
	if (!h->cfg.route || !h->cfg.secret_len)
		return;
	pthread_mutex_lock(&h->rmu);
	r = &h->routes[fnv(channel) % ROUTE_SLOTS];
	if (strcmp(r->channel, channel) != 0 || now - r->at >= LSP_HOOK_ROUTE_TTL_MS) {
		snprintf(r->channel, sizeof r->channel, "%s", channel);
		r->at = now;
		r->url[0] = 0;
		if (h->cfg.route(h->cfg.route_ctx, channel, r->url, sizeof r->url) < 0)
			r->url[0] = 0;
	}
	snprintf(url, cap, "%s", r->url);
	pthread_mutex_unlock(&h->rmu);
}

/* Queue text for channel's receiver.  Under h->mu.  0 queued, 1 skipped
 * (nobody to tell), negative errno (dropped, counted). */
static int enqueue(lsp_hook *h, const char *event, const char *channel, const char *url, const char *id,
		   const char *text, int64_t now)
{
	struct rcv *r;
	int rc;
	if (!url[0] && !h->cfg.wh) {
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_DEBUG, "webhook skipped", "hook", LSV_S(event),
			       "channel", LSV_S(channel), NULL);
		return 1;
	}
	if (h->total >= h->cfg.queue_cap)
		make_room(h);
	if (!(r = rcv_find(h, url)) && !(r = rcv_new(h, url))) {
		dropped(h, event, channel, "bad", "out of memory");
		return -ENOMEM;
	}
	rc = lsp_hookq_push(r->q, event, channel, id, text, strlen(text), now, NULL);
	if (rc < 0) {
		dropped(h, event, channel, "bad", rc == -ENOMEM ? "out of memory" : "bad message");
		rcv_release(h, r);
		return rc;
	}
	h->total++;
	return 0;
}

int lsp_hook_offer(lsp_hook *h, const char *subject, const char *data, size_t len)
{
	char channel[LSP_NAME_MAX + 8], id[LSP_HOOKQ_ID], url[LSP_HOOK_URL_MAX];
	const char *event;
	json_t *msg, *body;
	char *text;
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
	route_url(h, channel, now, url, sizeof url); /* may ask the store: not under h->mu */
	pthread_mutex_lock(&h->mu);
	rc = enqueue(h, event, channel, url, id, text, now);
	gauges(h);
	pthread_mutex_unlock(&h->mu);
	free(text);
	if (rc == 0) {
		uint64_t one = 1;
		ssize_t w = write(h->wake, &one, sizeof one);
		(void)w;
	}
	return rc < 0 ? rc : 0;
}

/* ---- delivery ---------------------------------------------------------------- */

/* A pool thread: one POST, nothing else. */
static void post_run(void *ctx, lsp_job *job)
{
	struct post *p = (struct post *)job;
	(void)ctx;
	p->reason[0] = p->err[0] = 0;
	p->t0 = lsp_clock_mono_ms();
	if (p->w)
		p->status = lsp_webhook_post(p->w, p->event, p->id, p->body, p->len, p->reason, sizeof p->reason,
					     p->err, sizeof p->err);
	else
		p->status = -EIO;
	p->t1 = lsp_clock_mono_ms();
}

/* A job left inside at close: its body only (the post lives in its receiver). */
static void post_free(void *ctx, lsp_job *job)
{
	struct post *p = (struct post *)job;
	(void)ctx;
	free(p->body);
	p->body = NULL;
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

/* A POST's answer is back (under h->mu): settle the head it carried. */
static void settle(lsp_hook *h, struct post *p)
{
	struct rcv *r = p->r;
	const lsp_hookq_item *hd = lsp_hookq_head(r->q);
	char why[96];
	long long held = 0;
	int v = verdict(p->status), old;

	free(p->body);
	p->body = NULL;
	r->busy = 0;
	h->busy--;
	if (!hd || strcmp(hd->id, p->id) != 0) { /* dropped while in flight */
		rcv_release(h, r);
		return;
	}
	if (v == 1) {
		lsp_hookq_pop(r->q);
		h->total--;
		lsp_metrics_add(h->cfg.mx, "lsp_hook_delivered_total", 1, "event", p->event, NULL);
		lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_DEBUG, "webhook delivered", "hook", LSV_S(p->event),
			       "channel", LSV_S(p->channel), "status", LSV_I(p->status), "attempts",
			       LSV_I(p->attempts + 1), "ms", LSV_I(p->t1 - p->t0), NULL);
	} else if (v < 0) {
		snprintf(why, sizeof why, "rejected %d", p->status);
		lsp_hookq_pop(r->q);
		h->total--;
		dropped(h, p->event, p->channel, "rejected", why);
	} else {
		lsp_metrics_add(h->cfg.mx, "lsp_hook_failures_total", 1, "event", p->event, NULL);
		old = lsp_hookq_fail(r->q, p->t1, h->cfg.retry_base_ms, h->cfg.retry_max_ms, h->cfg.max_age_ms);
		if (lsp_ratelim_ok(&h->rl_fail, p->t1, LOG_EVERY_MS, &held)) {
			if (p->status >= 0)
				snprintf(p->err, sizeof p->err, "HTTP %d", p->status);
			else if (!p->w)
				snprintf(p->err, sizeof p->err, "no poster for the channel's URL");
			lsp_event_emit(h->cfg.event, h->cfg.event_ctx, LSP_WARN, "webhook failed", "hook",
				       LSV_S(p->event), "channel", LSV_S(p->channel), "status",
				       LSV_I(p->status >= 0 ? p->status : -1), "reason", LSV_S(p->err), "attempts",
				       LSV_I(p->attempts + 1), "retry_s",
				       LSV_D(old ? 0
						 : lsp_hookq_backoff(p->attempts + 1, h->cfg.retry_base_ms,
								     h->cfg.retry_max_ms) /
							   1000.0),
				       "suppressed", LSV_I(held), NULL);
		}
		if (old) {
			lsp_hookq_pop(r->q);
			h->total--;
			dropped(h, p->event, p->channel, "expired", "too old");
		}
	}
	rcv_release(h, r);
}

/* Hand r's head to the pool (under h->mu): 0, or negative (not sent: r
 * stays idle, its head due; the caller tries again later). */
static int dispatch(lsp_hook *h, struct rcv *r)
{
	const lsp_hookq_item *hd = lsp_hookq_head(r->q);
	struct post *p = &r->post;
	char err[256];
	int rc;
	if (!hd || !(p->body = malloc(hd->len + 1)))
		return -ENOMEM;
	memcpy(p->body, hd->body, hd->len + 1);
	p->len = hd->len;
	memcpy(p->event, hd->event, sizeof p->event);
	memcpy(p->channel, hd->channel, sizeof p->channel);
	memcpy(p->id, hd->id, sizeof p->id);
	p->attempts = hd->attempts;
	p->r = r;
	if (!r->url[0])
		p->w = h->cfg.wh;
	else if (!r->own && lsp_webhook_new(&r->own, r->url, h->cfg.secret, h->cfg.secret_len,
					    h->cfg.timeout_ms > 0 ? h->cfg.timeout_ms : 2000, err, sizeof err) < 0)
		p->w = r->own = NULL; /* posted as a failure: retried, then too old */
	else
		p->w = r->own;
	if ((rc = lsp_jobpool_submit(h->pool, &p->job)) < 0) {
		free(p->body);
		p->body = NULL;
		return rc;
	}
	r->busy = 1;
	h->busy++;
	return 0;
}

/* One pass of the loop: collect the answers, start what is due.  Returns
 * the ms until the next head is due (-1: none waits on time). */
static int64_t step(lsp_hook *h)
{
	lsp_job *done = lsp_jobpool_done(h->pool);
	int64_t now, wait = -1, w;
	size_t n, cap = (size_t)h->cfg.concurrency;
	struct rcv *r, *next;

	pthread_mutex_lock(&h->mu);
	for (lsp_job *j = done, *nx; j; j = nx) {
		nx = j->next;
		settle(h, (struct post *)j);
	}
	now = lsp_clock_mono_ms();
	/* in service order: a receiver just served goes to the back */
	for (n = h->nrcv, r = h->first; n > 0 && r; n--, r = next) {
		next = r->next;
		if (r->busy || (w = lsp_hookq_wait_ms(r->q, now)) < 0)
			continue;
		if (w > 0) {
			wait = wait < 0 || w < wait ? w : wait;
			continue;
		}
		if (h->busy >= cap) /* a slot frees: the pool's eventfd wakes the loop */
			continue;
		if (dispatch(h, r) < 0) {
			wait = wait < 0 || 1000 < wait ? 1000 : wait;
			continue;
		}
		order_unlink(h, r);
		order_append(h, r);
	}
	gauges(h);
	pthread_mutex_unlock(&h->mu);
	return wait;
}

size_t lsp_hook_run(lsp_hook *h, int stopfd)
{
	size_t left;
	for (;;) {
		struct pollfd pf[3] = { { h->wake, POLLIN, 0 }, { lsp_jobpool_fd(h->pool), POLLIN, 0 },
					{ stopfd, POLLIN, 0 } };
		int64_t wait = step(h);
		if (stopfd < 0) {
			pthread_mutex_lock(&h->mu);
			left = h->nrcv;
			pthread_mutex_unlock(&h->mu);
			if (!left)
				break;
		}
		if (poll(pf, stopfd >= 0 ? 3 : 2, wait < 0 || wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			uint64_t v;
			ssize_t rd = read(h->wake, &v, sizeof v);
			(void)rd;
		}
		if (stopfd >= 0 && (pf[2].revents & POLLIN))
			break;
	}
	pthread_mutex_lock(&h->mu);
	left = h->total;
	pthread_mutex_unlock(&h->mu);
	return left;
}

/* ---- open, close ------------------------------------------------------------- */

int lsp_hook_open(lsp_hook **out, const lsp_hook_cfg *cfg, char *err, size_t errcap)
{
	lsp_hook *h;
	int rc = -ENOMEM;
	*out = NULL;
	if ((!cfg->wh && !cfg->route) || cfg->queue_cap == 0 || cfg->concurrency < 0 || cfg->concurrency > 64) {
		snprintf(err, errcap, "hook: no webhook, a zero queue or a concurrency outside 1..64");
		return -EINVAL;
	}
	if (!(h = calloc(1, sizeof *h))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	h->cfg = *cfg;
	if (!h->cfg.concurrency)
		h->cfg.concurrency = LSP_HOOK_CONCURRENCY;
	h->wake = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->rmu, NULL);
	if (!(h->slots = calloc(THROTTLE_SLOTS, sizeof *h->slots)) ||
	    !(h->routes = calloc(ROUTE_SLOTS, sizeof *h->routes))) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if ((h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = lsp_jobpool_new(&h->pool, h->cfg.concurrency, h->cfg.concurrency, LSP_JOBPOOL_HELD, post_run,
				  post_free, h)) < 0) {
		snprintf(err, errcap, "unable to start the posting threads: %s", strerror(-rc));
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
	lsp_jobpool_free(h->pool);      /* joins: a POST ends within its timeout */
	for (struct rcv *r = h->first, *nx; r; r = nx) { /* the threads are gone */
		nx = r->next;
		lsp_hookq_free(r->q);
		lsp_webhook_free(r->own);
		free(r);
	}
	if (h->wake >= 0)
		close(h->wake);
	free(h->slots);
	free(h->routes);
	pthread_mutex_destroy(&h->rmu);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
