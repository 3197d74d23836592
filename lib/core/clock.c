/* clock.c — see clock.h.  No state. */
#include "core/clock.h"

#include <time.h>

static struct timespec read_clock(clockid_t id)
{
	struct timespec ts = { 0, 0 };
	if (clock_gettime(id, &ts) < 0)
		ts.tv_sec = ts.tv_nsec = 0;
	return ts;
}

int64_t lsp_clock_mono_ms(void)
{
	struct timespec ts = read_clock(CLOCK_MONOTONIC);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lsp_clock_wall_ms(void)
{
	struct timespec ts = read_clock(CLOCK_REALTIME);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double lsp_clock_wall_s(void)
{
	struct timespec ts = read_clock(CLOCK_REALTIME);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
