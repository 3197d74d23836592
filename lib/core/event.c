/* event.c — events with typed fields from library code to its tool; see
 * event.h.  Holds no state: an event lives on the emitter's stack. */
#include "core/event.h"

#include <stdarg.h>
#include <string.h>

void lsp_event_emit(lsp_event_fn fn, void *ctx, int level, const char *name, ...)
{
	const char *keys[LSP_LOG_FIELDS_MAX];
	lsp_logv vals[LSP_LOG_FIELDS_MAX];
	lsp_event ev = { level, name, 0, keys, vals };
	const char *k;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		lsp_logv v = va_arg(ap, lsp_logv);
		if (ev.n < LSP_LOG_FIELDS_MAX) {
			keys[ev.n] = k;
			vals[ev.n++] = v;
		}
	}
	va_end(ap);
	fn(ctx, &ev);
}

const lsp_logv *lsp_event_get(const lsp_event *ev, const char *key)
{
	if (!ev || !key || !ev->keys || !ev->vals)
		return NULL;
	for (int i = 0; i < ev->n; i++)
		if (ev->keys[i] && !strcmp(ev->keys[i], key))
			return &ev->vals[i];
	return NULL;
}

const char *lsp_event_str(const lsp_event *ev, const char *key)
{
	const lsp_logv *v = lsp_event_get(ev, key);
	return v && v->type == LSV_STR ? v->s : NULL;
}

long long lsp_event_int(const lsp_event *ev, const char *key, long long dflt)
{
	const lsp_logv *v = lsp_event_get(ev, key);
	if (!v)
		return dflt;
	if (v->type == LSV_INT || v->type == LSV_BOOL)
		return v->i;
	if (v->type == LSV_DBL)
		return (long long)v->d;
	return dflt;
}

double lsp_event_double(const lsp_event *ev, const char *key, double dflt)
{
	const lsp_logv *v = lsp_event_get(ev, key);
	if (!v)
		return dflt;
	if (v->type == LSV_DBL)
		return v->d;
	if (v->type == LSV_INT || v->type == LSV_BOOL)
		return (double)v->i;
	return dflt;
}

int lsp_event_is(const lsp_event *ev, const char *name)
{
	return ev && ev->name && name && !strcmp(ev->name, name);
}

void lsp_log_event(const lsp_log_t *lg, const lsp_event *ev)
{
	if (ev)
		lsp_log_kv(lg, ev->level, ev->name ? ev->name : "event", ev->n, ev->keys, ev->vals);
}

void lsp_event_log(void *lg, const lsp_event *ev)
{
	lsp_log_event(lg, ev);
}
