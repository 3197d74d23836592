/* Unit tests: lib/hook/hook.c without NATS — which bus messages are queued
 * (stream events only, valid JSON objects only), the .health throttle and
 * its reset by .ended, the bound (oldest dropped, counted), and the
 * delivery loop giving up on events that no receiver takes (port 1:
 * refused at once), all read back from the metrics registry.  Receivers
 * (channels' own URLs, against tests/unit/hookrecv.h, a receiver on a
 * loopback socket in this process): one queue each, the global cap dropping the oldest of the
 * longest queue, empty receivers freed, and a receiver that hangs holding
 * back only its own events — unless --concurrency is 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/webhook.h"
#include "hook/hook.h"
#include "hookrecv.h"

static int has(lsp_metrics *mx, const char *line)
{
	char *txt = NULL;
	size_t len = 0;
	int found;
	assert_int_equal(lsp_metrics_render(mx, &txt, &len), 0);
	found = strstr(txt, line) != NULL;
	if (!found)
		fprintf(stderr, "missing \"%s\" in:\n%s\n", line, txt);
	free(txt);
	return found;
}

static int offer(lsp_hook *h, const char *subject, const char *json)
{
	return lsp_hook_offer(h, subject, json, strlen(json));
}

static void queue_throttle_drop(void **st)
{
	lsp_metrics *mx = NULL;
	lsp_webhook *wh = NULL;
	lsp_hook *h = NULL;
	char err[256];
	lsp_hook_cfg cfg = { .queue_cap = 5, .health_interval_s = 3600, .retry_base_ms = 1, .retry_max_ms = 1,
			     .max_age_ms = 0 };
	(void)st;
	assert_int_equal(lsp_metrics_new(&mx, "test"), 0);
	lsp_hook_metrics(mx);
	assert_int_equal(lsp_webhook_new(&wh, "http://127.0.0.1:1/", "k", 1, 1000, err, sizeof err), 0);
	cfg.wh = wh;
	cfg.mx = mx;
	assert_int_equal(lsp_hook_open(&h, &cfg, err, sizeof err), 0);

	assert_int_equal(offer(h, "lsp.chat.a", "{}"), 0); /* not a stream event: ignored */
	assert_int_equal(offer(h, "lsp.stream.a.live", "{\"channel\":\"a\"}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.health", "{\"fps\":25}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.health", "{\"fps\":25}"), 0); /* throttled */
	assert_int_equal(offer(h, "lsp.stream.b.health", "{\"fps\":30}"), 0); /* another channel */
	assert_true(has(mx, "lsp_hook_queue_length 3\n"));
	assert_int_equal(offer(h, "lsp.stream.a.ended", "{\"reason\":\"x\"}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.health", "{\"fps\":25}"), 0); /* after ended: posted */
	assert_true(has(mx, "lsp_hook_queue_length 5\n"));
	assert_true(offer(h, "lsp.stream.a.live", "not json") < 0);
	assert_true(offer(h, "lsp.stream.a.live", "[1]") < 0);
	assert_true(offer(h, "lsp.stream.A.live", "{}") == 0); /* not a channel name: ignored */
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"live\",reason=\"bad\"} 2\n"));
	assert_int_equal(offer(h, "lsp.stream.c.live", "{}"), 0); /* full: a's live goes */
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"live\",reason=\"full\"} 1\n"));
	assert_true(has(mx, "lsp_hook_queue_length 5\n"));

	/* nobody at port 1 and no time to retry: each is tried once, then dropped */
	assert_int_equal(lsp_hook_run(h, -1), 0);
	assert_true(has(mx, "lsp_hook_queue_length 0\n"));
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"health\",reason=\"expired\"} 3\n"));
	assert_true(has(mx, "lsp_hook_failures_total{event=\"ended\"} 1\n"));
	lsp_hook_close(h);
	lsp_webhook_free(wh);
	lsp_metrics_free(mx);
}

/* ---- receivers ------------------------------------------------------------- */

/* Channel a: /hang; b: /ok; anything else: no URL of its own. */
static int route(void *ctx, const char *channel, char *url, size_t cap)
{
	const struct hookrecv *s = ctx;
	url[0] = 0;
	if (!strcmp(channel, "a") || !strcmp(channel, "b"))
		snprintf(url, cap, "http://127.0.0.1:%d/%s", s->port, channel[0] == 'a' ? "hang" : "ok");
	return 0;
}

/* The events the loop emitted, as "<name>:<channel>", in order. */
struct seen {
	char ev[32][48];
	int n;
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *s = ctx;
	const char *ch = lsp_event_str(ev, "channel");
	if (s->n < 32 && (lsp_event_is(ev, "webhook delivered") || lsp_event_is(ev, "webhook failed")))
		snprintf(s->ev[s->n++], sizeof s->ev[0], "%s:%s", lsp_event_is(ev, "webhook failed") ? "failed" : "ok",
			 ch ? ch : "");
}

static int find(const struct seen *s, const char *what)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->ev[i], what))
			return i;
	return -1;
}

/* One queue per receiver under one cap: the longest loses its oldest;
 * a channel with no receiver at all is skipped, not queued. */
static void receivers_share_the_cap(void **st)
{
	struct hookrecv s;
	lsp_metrics *mx = NULL;
	lsp_hook *h = NULL;
	char err[256];
	lsp_hook_cfg cfg = { .queue_cap = 5, .route = route, .route_ctx = &s, .secret = "k", .secret_len = 1,
			     .timeout_ms = 1000, .retry_base_ms = 1, .retry_max_ms = 1, .max_age_ms = 0 };
	(void)st;
	hookrecv_start(&s, "k");
	assert_int_equal(lsp_metrics_new(&mx, "test"), 0);
	lsp_hook_metrics(mx);
	cfg.mx = mx;
	assert_int_equal(lsp_hook_open(&h, &cfg, err, sizeof err), 0); /* no global URL: channels' own only */
	assert_int_equal(offer(h, "lsp.stream.a.live", "{\"n\":1}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.health", "{\"n\":2}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.ended", "{\"n\":3}"), 0);
	assert_int_equal(offer(h, "lsp.stream.a.live", "{\"n\":4}"), 0);
	assert_int_equal(offer(h, "lsp.stream.b.live", "{\"n\":5}"), 0);
	assert_int_equal(offer(h, "lsp.stream.c.live", "{}"), 0); /* nobody to tell: skipped */
	assert_true(has(mx, "lsp_hook_queue_length 5\n"));
	assert_true(has(mx, "lsp_hook_receivers 2\n"));
	assert_int_equal(offer(h, "lsp.stream.b.ended", "{\"n\":6}"), 0); /* a is the longest: its live goes */
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"live\",reason=\"full\"} 1\n"));
	assert_int_equal(offer(h, "lsp.stream.b.live", "{\"n\":7}"), 0); /* a 3, b 2: a's health goes */
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"health\",reason=\"full\"} 1\n"));
	assert_int_equal(offer(h, "lsp.stream.b.live", "{\"n\":8}"), 0); /* b 3 now: b's live (5) goes */
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"live\",reason=\"full\"} 2\n"));
	assert_true(has(mx, "lsp_hook_queue_length 5\n"));
	assert_true(has(mx, "lsp_hook_receivers 2\n"));
	lsp_hook_close(h); /* frees both receivers and their events (ASan) */
	lsp_metrics_free(mx);
	hookrecv_stop(&s);
}

/* a's receiver hangs (no answer until the timeout); b's answers at once.
 * concurrency 4: b's three events are delivered, in order, before a's one
 * attempt fails; concurrency 1: a is posted first and b waits behind it. */
static void run_pair(int concurrency, struct seen *seen, struct hookrecv *s)
{
	lsp_metrics *mx = NULL;
	lsp_hook *h = NULL;
	char err[256];
	lsp_hook_cfg cfg = { .queue_cap = 16, .concurrency = concurrency, .route = route, .route_ctx = s,
			     .secret = "k", .secret_len = 1, .timeout_ms = concurrency > 1 ? 3000 : 500,
			     .retry_base_ms = 1, .retry_max_ms = 1, .max_age_ms = 0, .event = on_event,
			     .event_ctx = seen };
	memset(seen, 0, sizeof *seen);
	hookrecv_start(s, "k");
	assert_int_equal(lsp_metrics_new(&mx, "test"), 0);
	lsp_hook_metrics(mx);
	cfg.mx = mx;
	assert_int_equal(lsp_hook_open(&h, &cfg, err, sizeof err), 0);
	assert_int_equal(offer(h, "lsp.stream.a.live", "{}"), 0);
	assert_int_equal(offer(h, "lsp.stream.b.live", "{}"), 0);
	assert_int_equal(offer(h, "lsp.stream.b.health", "{}"), 0);
	assert_int_equal(offer(h, "lsp.stream.b.ended", "{}"), 0);
	assert_int_equal(lsp_hook_run(h, -1), 0); /* until every queue is empty */
	assert_true(has(mx, "lsp_hook_delivered_total{event=\"ended\"} 1\n"));
	assert_true(has(mx, "lsp_hook_dropped_total{event=\"live\",reason=\"expired\"} 1\n"));
	assert_true(has(mx, "lsp_hook_receivers 0\n")); /* empty receivers are freed */
	assert_true(has(mx, "lsp_hook_in_flight 0\n"));
	lsp_hook_close(h);
	lsp_metrics_free(mx);
	hookrecv_stop(s);
	assert_int_equal(s->hung, 1);
	assert_int_equal(s->bad, 0); /* every request signed */
	assert_int_equal(s->n, 3); /* b's, in order */
	assert_string_equal(s->got[0], "b:live");
	assert_string_equal(s->got[1], "b:health");
	assert_string_equal(s->got[2], "b:ended");
}

static void hung_receiver_holds_only_its_own(void **st)
{
	struct hookrecv s;
	struct seen seen;
	(void)st;
	run_pair(4, &seen, &s);
	assert_true(find(&seen, "failed:a") >= 0);
	for (int i = 0; i < 3; i++) /* b's three before a's failure */
		assert_true(i < find(&seen, "failed:a") && !strcmp(seen.ev[i], "ok:b"));
	run_pair(1, &seen, &s); /* one POST at a time: b waits for a */
	assert_int_equal(find(&seen, "failed:a"), 0);
	assert_int_equal(find(&seen, "ok:b"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(queue_throttle_drop),
					    cmocka_unit_test(receivers_share_the_cap),
					    cmocka_unit_test(hung_receiver_holds_only_its_own) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
