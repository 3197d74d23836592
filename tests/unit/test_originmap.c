/* Unit tests: lib/bus/originmap.c (channel → origin from .live/.health/.ended,
 * takeover rules, staleness, routes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/originmap.h"

#define LIVE(o) "{\"channel\":\"a\",\"origin\":\"" o "\"}"

static int feed(lsp_originmap *m, const char *subj, const char *json, int64_t now)
{
	return lsp_originmap_feed(m, subj, json, strlen(json), now);
}

static void live_health_ended(void **st)
{
	lsp_originmap *m;
	char err[128], url[128];
	(void)st;
	assert_int_equal(lsp_originmap_open(&m, NULL, 3000, err, sizeof err), 0);
	assert_int_equal(lsp_originmap_lookup(m, "a", 0, url, sizeof url), -ENOENT);
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("http://10.0.0.2:8080"), 1000), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 1000, url, sizeof url), 0);
	assert_string_equal(url, "http://10.0.0.2:8080");
	/* a second origin's heartbeat does not steal a fresh channel */
	assert_int_equal(feed(m, "lsp.stream.a.health", LIVE("http://10.0.0.3:8080"), 2000), 0);
	assert_int_equal(lsp_originmap_lookup(m, "a", 2000, url, sizeof url), 0);
	assert_string_equal(url, "http://10.0.0.2:8080");
	/* the current origin's heartbeat keeps it fresh */
	assert_int_equal(feed(m, "lsp.stream.a.health", LIVE("http://10.0.0.2:8080"), 3500), 0);
	assert_int_equal(lsp_originmap_lookup(m, "a", 6000, url, sizeof url), 0);
	/* silence of the whole bus (NATS down): the last word is kept */
	assert_int_equal(lsp_originmap_lookup(m, "a", 6600, url, sizeof url), 0);
	/* silence of this origin while the bus speaks: presumed dead */
	assert_int_equal(feed(m, "lsp.stream.b.health", "{\"origin\":\"http://10.0.0.9:8080\"}", 6550), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 6600, url, sizeof url), -ENOENT);
	/* then another origin's heartbeat takes over (failover) */
	assert_int_equal(feed(m, "lsp.stream.a.health", LIVE("http://10.0.0.3:8080"), 6700), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 6700, url, sizeof url), 0);
	assert_string_equal(url, "http://10.0.0.3:8080");
	/* .live always moves the channel */
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("http://10.0.0.4:8080"), 6800), 1);
	assert_int_equal(lsp_originmap_switches(m), 2);
	/* .ended from an origin that lost the channel changes nothing */
	assert_int_equal(feed(m, "lsp.stream.a.ended", LIVE("http://10.0.0.3:8080"), 6900), 0);
	assert_int_equal(lsp_originmap_lookup(m, "a", 6900, url, sizeof url), 0);
	assert_string_equal(url, "http://10.0.0.4:8080");
	/* .ended without origin (or from the current one) forgets it */
	assert_int_equal(feed(m, "lsp.stream.a.ended", "{\"channel\":\"a\",\"reason\":\"disconnect\"}", 7000), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 7000, url, sizeof url), -ENOENT);
	/* and it can come back (tombstone reuse) */
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("http://10.0.0.2:8080"), 8000), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 8000, url, sizeof url), 0);
	lsp_originmap_close(m);
}

static void directory(void **st)
{
	lsp_originmap *m;
	char err[128], out[256];
	(void)st;
	assert_int_equal(lsp_originmap_open(&m, NULL, 3000, err, sizeof err), 0);
	assert_int_equal(lsp_originmap_json(m, 0, out, sizeof out), 2);
	assert_string_equal(out, "[]");
	feed(m, "lsp.stream.zed.live", LIVE("http://10.0.0.2:8080"), 1000);
	feed(m, "lsp.stream.abc.live", LIVE("http://10.0.0.3:8080"), 1000);
	feed(m, "lsp.stream.gone.live", LIVE("http://10.0.0.3:8080"), 1000);
	feed(m, "lsp.stream.gone.ended", "{\"channel\":\"gone\"}", 1100);
	assert_true(lsp_originmap_json(m, 2000, out, sizeof out) > 0);
	assert_string_equal(out, "[{\"name\":\"abc\",\"live\":true,\"rungs\":[]},"
				 "{\"name\":\"zed\",\"live\":true,\"rungs\":[]}]");
	/* zed's origin falls silent while abc's speaks: zed leaves the list */
	feed(m, "lsp.stream.abc.health", LIVE("http://10.0.0.3:8080"), 4500);
	assert_true(lsp_originmap_json(m, 4600, out, sizeof out) > 0);
	assert_string_equal(out, "[{\"name\":\"abc\",\"live\":true,\"rungs\":[]}]");
	assert_int_equal(lsp_originmap_json(m, 4600, out, 20), -ENOSPC);
	lsp_originmap_close(m);
}

static void rejects(void **st)
{
	lsp_originmap *m;
	char err[128], url[128];
	(void)st;
	assert_int_equal(lsp_originmap_open(&m, NULL, 3000, err, sizeof err), 0);
	/* no origin field, bad URLs, bad names, other subjects: ignored */
	assert_int_equal(feed(m, "lsp.stream.a.live", "{\"channel\":\"a\"}", 1), 0);
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("ftp://x"), 1), 0);
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("http://x y"), 1), 0);
	assert_int_equal(feed(m, "lsp.stream.A.live", LIVE("http://10.0.0.2:1"), 1), 0);
	assert_int_equal(feed(m, "lsp.stream..live", LIVE("http://10.0.0.2:1"), 1), 0);
	assert_int_equal(feed(m, "lsp.chat.a.live", LIVE("http://10.0.0.2:1"), 1), 0);
	assert_int_equal(lsp_originmap_feed(m, "lsp.stream.a.live", "{\"origin\":\"http://1", 14, 1), 0);
	assert_int_equal(lsp_originmap_lookup(m, "a", 1, url, sizeof url), -ENOENT);
	/* a too small buffer is a miss, never a cut URL */
	assert_int_equal(feed(m, "lsp.stream.a.live", LIVE("http://10.0.0.2:8080"), 1), 1);
	assert_int_equal(lsp_originmap_lookup(m, "a", 1, url, 8), -ENOENT);
	lsp_originmap_close(m);
}

static void routes(void **st)
{
	lsp_originmap *m;
	char err[128], url[128];
	(void)st;
	assert_int_equal(lsp_originmap_open(&m, NULL, 60000, err, sizeof err), 0);
	/* route() reads the monotonic clock: feed at the same clock */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	assert_int_equal(feed(m, "lsp.stream.demo.live", "{\"origin\":\"http://127.0.0.2:8080\"}",
			      (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000), 1);
	assert_int_equal(lsp_originmap_route(m, "/hls/demo/720p/index.m3u8", url, sizeof url), 0);
	assert_string_equal(url, "http://127.0.0.2:8080");
	assert_int_equal(lsp_originmap_route(m, "/api/channels/demo/vods", url, sizeof url), 0);
	assert_int_equal(lsp_originmap_route(m, "/api/channels/demo", url, sizeof url), 0);
	assert_int_equal(lsp_originmap_route(m, "/vod/demo/x/", url, sizeof url), 0);
	assert_int_equal(lsp_originmap_route(m, "/hls/other/720p/index.m3u8", url, sizeof url), -ENOENT);
	assert_int_equal(lsp_originmap_route(m, "/hls/demo", url, sizeof url), -ENOENT);
	assert_int_equal(lsp_originmap_route(m, "/api/channels", url, sizeof url), -ENOENT);
	assert_int_equal(lsp_originmap_route(m, "/index.html", url, sizeof url), -ENOENT);
	lsp_originmap_close(m);
}

static void many(void **st)
{
	lsp_originmap *m;
	char err[128], subj[64], url[128];
	int n = 0;
	(void)st;
	assert_int_equal(lsp_originmap_open(&m, NULL, 3000, err, sizeof err), 0);
	for (int i = 0; i < 10000; i++) {
		snprintf(subj, sizeof subj, "lsp.stream.c%d.live", i);
		feed(m, subj, LIVE("http://10.0.0.2:8080"), 1);
	}
	for (int i = 0; i < 10000; i++) {
		snprintf(subj, sizeof subj, "c%d", i);
		n += lsp_originmap_lookup(m, subj, 1, url, sizeof url) == 0;
	}
	assert_true(n >= 6000 && n < 10000); /* bounded: 3/4 of 8192 */
	lsp_originmap_close(m);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(live_health_ended),
		cmocka_unit_test(directory),
		cmocka_unit_test(rejects),
		cmocka_unit_test(routes),
		cmocka_unit_test(many),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
