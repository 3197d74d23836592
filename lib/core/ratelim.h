/* ratelim.h — at most one log line per interval for a thing that can
 * happen thousands of times a second (a refused connection, a dependency
 * that is down), with a count of what was held back.
 *
 *   lsp_ratelim rl = { 0 };
 *   long long held;
 *   if (lsp_ratelim_ok(&rl, lsp_clock_mono_ms(), 1000, &held))
 *           log("connection refused", "suppressed", held);
 *
 * The caller owns the struct (zeroed = ready); nothing here allocates. */
#ifndef LSP_RATELIM_H
#define LSP_RATELIM_H
#include <stdint.h>

typedef struct {
	int64_t next_ms;      /* the next time an event may be let through */
	long long held;       /* events held back since the last one let through */
	int started;
} lsp_ratelim;

/* 1 when the event at now_ms may be logged (the first one, then one per
 * interval_ms at most): *held (may be NULL) gets the number held back since
 * the previous one let through, and the count restarts.  0 otherwise: the
 * event is counted as held back. */
int lsp_ratelim_ok(lsp_ratelim *r, int64_t now_ms, int interval_ms, long long *held);

#endif
