/* ratelim.c — one log line per interval; see ratelim.h. */
#include "core/ratelim.h"

int lsp_ratelim_ok(lsp_ratelim *r, int64_t now_ms, int interval_ms, long long *held)
{
	if (r->started && now_ms < r->next_ms) {
		r->held++;
		return 0;
	}
	if (held)
		*held = r->held;
	r->held = 0;
	r->started = 1;
	r->next_ms = now_ms + (interval_ms > 0 ? interval_ms : 0);
	return 1;
}
