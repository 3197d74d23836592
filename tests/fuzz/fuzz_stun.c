/* fuzz_stun.c — libFuzzer harness for lib/stun: framing and attribute
 * walk, integrity/fingerprint check, and the answer built from whatever
 * parsed.  Built by `make fuzz`. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_stun_msg m;
	uint8_t out[512];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5000) };
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lsp_stun_parse(buf, size, &m) == 0) {
		if (m.username && (m.username < buf || m.username + m.username_len > buf + size))
			abort();
		lsp_stun_check(buf, size, &m, "0123456789abcdefghijklmn");
		if (lsp_stun_answer(&m, (struct sockaddr *)&a, "pw", out, sizeof out) < 0)
			abort();
	}
	free(buf);
	return 0;
}
