/* Unit tests: lib/media/avlog.c — libav's av_log messages reach the sink as
 * "libav" events with the level mapped, filtered by the pass asked for,
 * and capped in a burst. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <libavutil/log.h>

#include "core/event.h"
#include "media/avlog.h"

struct got {
	int n, level;
	long long count;
	char msg[128], comp[32];
};

static void sink(void *ctx, const lsp_event *ev)
{
	struct got *g = ctx;
	const char *m = lsp_event_str(ev, "message"), *c = lsp_event_str(ev, "component");
	assert_true(lsp_event_is(ev, "libav"));
	assert_non_null(m);
	assert_non_null(c);
	g->n++;
	g->level = ev->level;
	g->count = lsp_event_int(ev, "count", -1);
	strncpy(g->msg, m, sizeof g->msg - 1);
	strncpy(g->comp, c, sizeof g->comp - 1);
}

/* An object with an AVClass, as libav's own contexts are. */
static const AVClass thing_class = { .class_name = "thing", .item_name = av_default_item_name,
				     .version = LIBAVUTIL_VERSION_INT };
static struct {
	const AVClass *cls;
} thing = { &thing_class };

static void route_and_levels(void **s)
{
	struct got g = { 0 };
	(void)s;
	lsp_avlog_route(sink, &g, LSP_AVLOG_ERRORS);
	av_log(&thing, AV_LOG_ERROR, "bad packet %d\n", 7);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.msg, "bad packet 7"); /* one line, no newline, no prefix */
	assert_string_equal(g.comp, "thing");
	assert_int_equal(g.level, LSP_WARN);
	assert_int_equal(g.count, 1);
	av_log(NULL, AV_LOG_WARNING, "just a warning\n"); /* below ERRORS */
	assert_int_equal(g.n, 1);

	lsp_avlog_route(sink, &g, LSP_AVLOG_WARNINGS);
	av_log(NULL, AV_LOG_WARNING, "now a warning\n");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.msg, "now a warning");
	assert_string_equal(g.comp, "");
	assert_int_equal(g.level, LSP_DEBUG);
	av_log(NULL, AV_LOG_INFO, "info stays out\n");
	av_log(NULL, AV_LOG_ERROR, "\n"); /* empty: nothing */
	assert_int_equal(g.n, 2);

	lsp_avlog_route(sink, &g, LSP_AVLOG_NONE);
	av_log(NULL, AV_LOG_FATAL, "silenced\n");
	assert_int_equal(g.n, 2);
	lsp_avlog_route(NULL, NULL, LSP_AVLOG_ERRORS); /* no sink: nothing, no crash */
	av_log(NULL, AV_LOG_ERROR, "nowhere\n");
}

static void burst_is_capped(void **s)
{
	struct got g = { 0 };
	(void)s;
	lsp_avlog_route(sink, &g, LSP_AVLOG_ERRORS);
	for (int i = 0; i < 1000; i++)
		av_log(NULL, AV_LOG_ERROR, "again %d\n", i);
	/* counted from the start of the process: 2 messages went before,
	 * so the first 48 here pass, then the 100th, 200th, ... 1000th */
	assert_int_equal(g.n, 48 + 10);
	assert_int_equal(g.count, 1000);
	lsp_avlog_route(NULL, NULL, LSP_AVLOG_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_and_levels),
		cmocka_unit_test(burst_is_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
