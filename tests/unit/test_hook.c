/* Unit tests: lib/hook/hook.c without NATS — which bus messages are queued
 * (stream events only, valid JSON objects only), the .health throttle and
 * its reset by .ended, the bound (oldest dropped, counted), and the
 * delivery loop giving up on events that no receiver takes (port 1:
 * refused at once), all read back from the metrics registry. */
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

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(queue_throttle_drop) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
