/* avlog.c — libav's av_log messages handed to the tool as "libav" events
 * (contract in avlog.h).
 *
 * Global state, and why: av_log_set_callback() takes a bare function with
 * no context pointer, and libav keeps it process-wide.  So the tool's sink
 * (fn, ctx) lives in the one static slot below, written once by
 * lsp_avlog_route() from main before any libav object or thread exists and
 * only read afterwards; the message counter that caps bursts is atomic
 * because libav may log from its codec threads.  Nothing else here is
 * mutable.  lib/ prints nothing: a message goes to the sink or nowhere. */
#include "media/avlog.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include <libavutil/log.h>

enum { CAP_FIRST = 50, CAP_EVERY = 100 };

static struct {
	lsp_event_fn fn;
	void *ctx;
} sink;                         /* set once by lsp_avlog_route() */
static atomic_long lines;       /* messages seen, for the cap */

/* libav's name for the object that logged, e.g. "h264", or "". */
static const char *component(void *avcl)
{
	const AVClass *c = avcl ? *(const AVClass *const *)avcl : NULL;
	return c && c->item_name ? c->item_name(avcl) : "";
}

static void on_av_log(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[512];
	int pfx = 0; /* the component goes in its own field */
	size_t n;
	long k;

	if (level > av_log_get_level() || !sink.fn)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &pfx);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = 0;
	if (n == 0)
		return;
	k = atomic_fetch_add(&lines, 1) + 1;
	if (k > CAP_FIRST && k % CAP_EVERY != 0)
		return;
	lsp_event_emit(sink.fn, sink.ctx, level <= AV_LOG_ERROR ? LSP_WARN : LSP_DEBUG, "libav", "message",
		       LSV_S(line), "component", LSV_S(component(avcl)), "count", LSV_I(k), NULL);
}

void lsp_avlog_route(lsp_event_fn fn, void *ctx, enum lsp_avlog_pass pass)
{
	sink.fn = fn;
	sink.ctx = ctx;
	av_log_set_level(!fn || pass == LSP_AVLOG_NONE ? AV_LOG_QUIET
			 : pass == LSP_AVLOG_ERRORS     ? AV_LOG_ERROR
							: AV_LOG_WARNING);
	av_log_set_callback(on_av_log);
}

