/* fuzz_revoke.c — libFuzzer harness for the revocation event lsp-chat reads
 * off NATS (lib/bus/revoke.c): whatever the bytes, a parse either fails
 * with r zeroed or yields an event whose names are valid and which builds
 * back to JSON that parses to the same event.  Built by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/revoke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_revoke r, again;
	static const lsp_revoke zero;
	char err[160], json[LSP_REVOKE_MSG_MAX];
	char *buf = malloc(size ? size : 1); /* a private copy, not NUL-terminated: overreads are caught */
	int n;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lsp_revoke_parse(buf, size, &r, err, sizeof err) < 0) {
		if (memcmp(&r, &zero, sizeof r) != 0 || strncmp(err, "revocation event: ", 18) != 0)
			abort();
	} else {
		if (!lsp_revoke_reason_name(r.reason) || (r.user[0] && !lsp_name_valid(r.user)) ||
		    (r.channel[0] && !lsp_name_valid(r.channel)) || (!r.user[0] && !r.channel[0]))
			abort();
		n = lsp_revoke_json(json, sizeof json, &r);
		if (n <= 0 || lsp_revoke_parse(json, (size_t)n, &again, err, sizeof err) < 0 ||
		    memcmp(&r, &again, sizeof r) != 0)
			abort();
	}
	free(buf);
	return 0;
}
