/* log.h — structured logs: one JSON object per line on a stream (stderr).
 *
 * A logger is a small value owned by the tool's main; library code never
 * logs, it returns errors.  Fields are typed key/value pairs ended by NULL:
 *
 *   lsp_log(&lg, LSP_INFO, "publish started", "channel", LSV_S(name),
 *           "bytes", LSV_I(n), NULL);
 *
 * Secrets are never passed to the logger: keys and tokens stay out of
 * every field by convention, and lsp_log_redact() masks a value if a caller
 * must mention one. */
#ifndef LSP_LOG_H
#define LSP_LOG_H
#include <stdio.h>

enum lsp_level { LSP_DEBUG = 0, LSP_INFO = 1, LSP_WARN = 2, LSP_ERROR = 3, LSP_FATAL = 4 };

typedef struct {
	const char *prog;   /* tool name, e.g. "lsp-ingest" */
	int level;          /* lowest level written */
	FILE *out;          /* stderr unless a test says otherwise */
} lsp_log_t;

enum { LSV_STR = 1, LSV_INT, LSV_DBL, LSV_BOOL };
typedef struct {
	int type;
	const char *s;
	long long i;
	double d;
} lsp_logv;

#define LSV_S(x) ((lsp_logv){ LSV_STR, (x), 0, 0 })
#define LSV_I(x) ((lsp_logv){ LSV_INT, NULL, (long long)(x), 0 })
#define LSV_D(x) ((lsp_logv){ LSV_DBL, NULL, 0, (double)(x) })
#define LSV_B(x) ((lsp_logv){ LSV_BOOL, NULL, (x) ? 1 : 0, 0 })

/* Initialise: level from LSP_LOG_LEVEL (debug|info|warn|error), default info. */
void lsp_log_init(lsp_log_t *lg, const char *prog);

/* Write one line: {"ts":"…","level":"info","tool":"…","event":"…",k:v…}.
 * Never fails visibly; a line longer than 4 KiB is truncated but stays JSON. */
void lsp_log(const lsp_log_t *lg, int level, const char *msg, ...);

/* The same line from arrays: n fields keys[i] = vals[i] (a NULL key is
 * skipped).  lsp_log() collects its arguments (at most LSP_LOG_FIELDS_MAX;
 * more are dropped) and calls this. */
#define LSP_LOG_FIELDS_MAX 32
void lsp_log_kv(const lsp_log_t *lg, int level, const char *event, int n, const char *const *keys,
		const lsp_logv *vals);

/* Escape s as a JSON string body into dst (always NUL-terminated).
 * Returns the length written, or -1 if it did not fit (dst holds a prefix). */
int lsp_json_escape(char *dst, size_t cap, const char *s);

#endif
