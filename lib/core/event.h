/* event.h — how library code tells its tool what happened.
 *
 * Library code never logs, counts or signals readiness itself: it reports
 * an event — a level, a stable name and typed key/value fields — to the
 * one callback its tool gave it:
 *
 *   lsp_event_emit(cfg->event, cfg->event_ctx, LSP_INFO, "publish started",
 *                  "channel", LSV_S(name), "bytes", LSV_I(n), NULL);
 *
 * The tool writes the event as a log line (lsp_log_event), and keys its
 * metrics and readiness off ev->name — a fixed string the library owns and
 * never reuses for another meaning — and off the fields, never off message
 * text.  The fields live on the emitter's stack: a callback that keeps one
 * copies it.  Secrets never travel in a field (see log.h). */
#ifndef LSP_EVENT_H
#define LSP_EVENT_H
#include "core/log.h"

typedef struct {
	int level;               /* enum lsp_level */
	const char *name;        /* stable event name; logged as "event" */
	int n;                   /* fields */
	const char *const *keys;
	const lsp_logv *vals;
} lsp_event;

typedef void (*lsp_event_fn)(void *ctx, const lsp_event *ev);

/* Report an event to fn (nothing when fn is NULL).  The variable part is
 * key, lsp_logv pairs ended by NULL; at most LSP_LOG_FIELDS_MAX are kept. */
void lsp_event_emit(lsp_event_fn fn, void *ctx, int level, const char *name, ...);

/* Field key of ev, or NULL when absent. */
const lsp_logv *lsp_event_get(const lsp_event *ev, const char *key);

/* Field key as text (NULL when absent or not a string) / as a number
 * (dflt when absent or not a number; a double is truncated by _int). */
const char *lsp_event_str(const lsp_event *ev, const char *key);
long long lsp_event_int(const lsp_event *ev, const char *key, long long dflt);
double lsp_event_double(const lsp_event *ev, const char *key, double dflt);

/* Is this the event called name?  (NULL-safe strcmp.) */
int lsp_event_is(const lsp_event *ev, const char *name);

/* Write ev as one JSON log line (level, "event": name, the fields). */
void lsp_log_event(const lsp_log_t *lg, const lsp_event *ev);

/* The same as an lsp_event_fn, ctx a const lsp_log_t *: for a tool whose
 * only answer to an event is its log line. */
void lsp_event_log(void *lg, const lsp_event *ev);

#endif
