/* fuzz_rtclayer.c — libFuzzer harness for the body of a WHEP layer request
 * (lib/rtc/rtclayer.c, POST <session>/layer): whatever it accepts must be
 * a valid rung name that fits.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtc/rtclayer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[LSP_RTC_RUNG_MAX], small[4];
	if (lsp_rtc_layer_parse((const char *)data, size, out, sizeof out) == 0 &&
	    (strlen(out) >= sizeof out || !lsp_rtc_rung_valid(out)))
		__builtin_trap();
	if (lsp_rtc_layer_parse((const char *)data, size, small, sizeof small) == 0 && strlen(small) >= sizeof small)
		__builtin_trap();
	return 0;
}
