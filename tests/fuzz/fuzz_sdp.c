/* fuzz_sdp.c — libFuzzer harness for lib/sdp: offer parsing and the answer
 * written from any offer that parsed.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_sdp_offer o;
	char ans[16384];
	lsp_sdp_local l = { "ufrag", "pwdpwdpwdpwdpwdpwdpwdpwd", "AA:BB", "127.0.0.1,::1", 8189, 1, 1, 2, "lsp", 8189 };
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lsp_sdp_parse(buf, size, &o) == 0) {
		if (o.nmedia < 1 || o.nmedia > LSP_SDP_MEDIA_MAX)
			abort();
		int n = lsp_sdp_answer(&o, &l, ans, sizeof ans);
		if (n >= (int)sizeof ans)
			abort();
		l.send = 0;
		lsp_sdp_answer(&o, &l, ans, sizeof ans);
	}
	free(buf);
	return 0;
}
