/* clock.h — the two clocks lsp reads.  Monotonic milliseconds for
 * timeouts, intervals and ages (never jumps when the wall clock is set);
 * the wall clock for times others see (PROGRAM-DATE-TIME, state files,
 * chat timestamps).  Neither can fail on Linux; if clock_gettime ever did,
 * the call reads 0. */
#ifndef LSP_CLOCK_H
#define LSP_CLOCK_H
#include <stdint.h>

int64_t lsp_clock_mono_ms(void);
int64_t lsp_clock_wall_ms(void);
double lsp_clock_wall_s(void); /* Unix seconds */

#endif
