/* log.c — JSON-lines logger; see log.h for the contract.  The logger holds
 * no state of its own beyond the lsp_log_t the caller owns. */
#include "core/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *level_name[] = { "debug", "info", "warn", "error", "fatal" };

void lsp_log_init(lsp_log_t *lg, const char *prog)
{
	const char *e = getenv("LSP_LOG_LEVEL");
	lg->prog = prog;
	lg->out = stderr;
	lg->level = LSP_INFO;
	if (e) {
		for (int i = 0; i <= LSP_FATAL; i++)
			if (strcasecmp(e, level_name[i]) == 0)
				lg->level = i;
	}
}

int lsp_json_escape(char *dst, size_t cap, const char *s)
{
	size_t o = 0;
	if (cap == 0)
		return -1;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[8];
		const char *add = tmp;
		size_t n;
		if (c == '"') add = "\\\"";
		else if (c == '\\') add = "\\\\";
		else if (c == '\n') add = "\\n";
		else if (c == '\r') add = "\\r";
		else if (c == '\t') add = "\\t";
		else if (c < 0x20 || c == 0x7f) snprintf(tmp, sizeof tmp, "\\u%04x", c);
		else { tmp[0] = (char)c; tmp[1] = 0; }
		n = strlen(add);
		if (o + n + 1 > cap) {
			dst[o] = 0;
			return -1;
		}
		memcpy(dst + o, add, n);
		o += n;
	}
	dst[o] = 0;
	return (int)o;
}

/* Append formatted text to buf at *off, clamping at cap. */
static void put(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (*off >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = (*off + (size_t)n < cap) ? *off + (size_t)n : cap;
}

void lsp_log_kv(const lsp_log_t *lg, int level, const char *event, int n, const char *const *keys,
		const lsp_logv *vals)
{
	char line[4096], esc[1024], ts[40];
	size_t off = 0, good;
	struct timeval tv;
	struct tm tm;

	if (!lg || level < lg->level)
		return;
	if (level < 0 || level > LSP_FATAL)
		level = LSP_ERROR;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(ts, sizeof ts, "1970-01-01T00:00:00");
	put(line, sizeof line - 3, &off, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"tool\":\"%s\"",
	    ts, (int)(tv.tv_usec / 1000), level_name[level], lg->prog ? lg->prog : "lsp");
	lsp_json_escape(esc, sizeof esc, event);
	put(line, sizeof line - 3, &off, ",\"event\":\"%s\"", esc);
	good = off;
	for (int i = 0; i < n && keys && vals; i++) {
		const lsp_logv v = vals[i];
		char kesc[128];
		if (!keys[i])
			continue;
		lsp_json_escape(kesc, sizeof kesc, keys[i]);
		switch (v.type) {
		case LSV_STR:
			lsp_json_escape(esc, sizeof esc, v.s ? v.s : "");
			put(line, sizeof line - 3, &off, ",\"%s\":\"%s\"", kesc, esc);
			break;
		case LSV_INT:
			put(line, sizeof line - 3, &off, ",\"%s\":%lld", kesc, v.i);
			break;
		case LSV_DBL:
			put(line, sizeof line - 3, &off, ",\"%s\":%.3f", kesc, v.d);
			break;
		case LSV_BOOL:
			put(line, sizeof line - 3, &off, ",\"%s\":%s", kesc, v.i ? "true" : "false");
			break;
		default:
			break;
		}
		/* A field that did not fit is dropped whole so the line stays JSON. */
		if (off >= sizeof line - 40) {
			off = good;
			put(line, sizeof line - 3, &off, ",\"truncated\":true");
			break;
		}
		good = off;
	}
	line[off++] = '}';
	line[off++] = '\n';
	(void)!write(fileno(lg->out ? lg->out : stderr), line, off);
}

void lsp_log(const lsp_log_t *lg, int level, const char *msg, ...)
{
	const char *keys[LSP_LOG_FIELDS_MAX];
	lsp_logv vals[LSP_LOG_FIELDS_MAX];
	int n = 0;
	const char *k;
	va_list ap;

	if (!lg || level < lg->level)
		return;
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		lsp_logv v = va_arg(ap, lsp_logv);
		if (n < LSP_LOG_FIELDS_MAX) {
			keys[n] = k;
			vals[n++] = v;
		}
	}
	va_end(ap);
	lsp_log_kv(lg, level, msg, n, keys, vals);
}
