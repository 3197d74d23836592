/* libFuzzer harness: lib/edge/plstate.c over arbitrary playlist bytes —
 * the blocking-reload state and the delta update (_HLS_skip) built from
 * it, into a buffer just big enough and into one too small. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/plstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *out = malloc(size + 64);
	lsp_plstate ps;
	long n;
	if (!buf || !out)
		goto done;
	memcpy(buf, data, size); /* a private copy: reads past size are caught */
	if (lsp_plstate_parse(buf, size, &ps) == 0)
		lsp_plstate_ready(&ps, ps.msn + ps.segments, ps.parts);
	n = lsp_plstate_skip(buf, size, out, size + 64);
	if (n > 0 && (n > (long)(size + 64) || out[n] != 0)) /* NUL-terminated, within cap */
		abort();
	if (n > 0 && lsp_plstate_skip(buf, size, out, (size_t)n) != -1)
		abort();
done:
	free(buf);
	free(out);
	return 0;
}
