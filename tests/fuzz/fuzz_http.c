/* fuzz_http.c — libFuzzer harness for the HTTP request- and response-head
 * parsers, the helpers lsp-edge applies to what they return (path decode,
 * query, range) and the LL-HLS playlist state parser.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "edge/plstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_http_req r;
	char path[LSP_HTTP_TARGET_MAX + 1], v[64];
	uint64_t a, b;
	lsp_plstate ps;
	/* a private copy so reads past size are caught by ASan */
	char *buf = malloc(size ? size : 1);
	int n;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = lsp_http_parse(buf, size, &r);
	if (n > 0) {
		size_t vl;
		const char *rv;
		if ((size_t)n > size || r.path_len > r.target_len)
			abort();
		lsp_http_path_decode(r.path, r.path_len, path, sizeof path);
		lsp_http_query_get(r.query, r.query_len, "_HLS_msn", v, sizeof v);
		lsp_http_query_get(r.query, r.query_len, "_HLS_part", v, sizeof v);
		if ((rv = lsp_http_header_get(&r, "range", &vl)) && lsp_http_range(rv, vl, 1000, &a, &b) == 0 &&
		    (a > b || b >= 1000))
			abort();
	}
	{
		int status = 0;
		n = lsp_http_parse_response(buf, size, &status, &r);
		if (n > 0 && ((size_t)n > size || status < 100 || status > 599))
			abort();
	}
	if (lsp_plstate_parse(buf, size, &ps) == 0)
		lsp_plstate_ready(&ps, ps.msn + ps.segments, ps.parts);
	free(buf);
	return 0;
}
