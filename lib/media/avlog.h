/* avlog.h — libav's own messages (av_log) as the tool's events.
 *
 * libavformat/libavcodec report trouble as plain text on stderr, which
 * would break a tool's one-JSON-object-a-line log.  A tool that links
 * libav calls lsp_avlog_route() once at the start of main, before it opens
 * anything and before any thread exists; from then on every libav message
 * that passes becomes one event named "libav" (fields: "message" — the
 * text, one line, "component" — libav's name for the object that spoke,
 * e.g. "h264" or "mpegts", and "count" — messages so far) handed to fn.
 * Levels: libav panic/fatal/error → LSP_WARN, libav warning → LSP_DEBUG.
 * A burst (damaged input can make a decoder complain per packet) is
 * capped: the first 50 messages pass, then every 100th.
 *
 *   lsp_avlog_route(on_event, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
 *
 * A tool with no event handler of its own passes lsp_event_log (core/event.h)
 * with its logger (const lsp_log_t *) as ctx. */
#ifndef LSP_AVLOG_H
#define LSP_AVLOG_H
#include "core/event.h"

enum lsp_avlog_pass {
	LSP_AVLOG_NONE = 0,  /* libav says nothing (AV_LOG_QUIET) */
	LSP_AVLOG_ERRORS,    /* errors and worse */
	LSP_AVLOG_WARNINGS,  /* warnings too (a tool running at debug level) */
};

/* Route libav's messages to fn(ctx, ev) and set libav's level to pass.
 * fn NULL: libav says nothing.  Call once, from main, before threads:
 * libav's callback has no context pointer, so fn and ctx are kept in the
 * one static slot of avlog.c (see there). */
void lsp_avlog_route(lsp_event_fn fn, void *ctx, enum lsp_avlog_pass pass);

#endif
