/* fuzz_edgeproxy.c — libFuzzer harness for what lsp-edge's front door
 * (lib/edge/proxyhead.c) does with an upstream's answer head: parse it and
 * rewrite it for the client.  The rewrite must parse again with the same
 * status, say Connection exactly once and carry no other hop-by-hop header.
 * Also the route table on arbitrary decoded paths.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http.h"
#include "edge/proxyhead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const conns[] = { "keep-alive", "close", "Upgrade" };
	lsp_http_req r, r2;
	char out[16384], path[LSP_HTTP_TARGET_MAX + 1];
	char *buf = malloc(size ? size : 1); /* a private copy so reads past size are caught */
	int status = 0, status2 = 0, n, m;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = lsp_http_parse_response(buf, size, &status, &r);
	if (n > 0) {
		const char *conn = conns[size % 3];
		size_t vl;
		m = lsp_proxyhead_response(&r, status, conn, out, sizeof out);
		if (m > (int)sizeof out)
			abort();
		if (m > 0) {
			int k = lsp_http_parse_response(out, (size_t)m, &status2, &r2), nconn = 0;
			if (k < 0 && (m > LSP_HTTP_HEAD_MAX - 64 || r.nheaders >= LSP_HTTP_HEADERS_MAX))
				goto done; /* one header or a few bytes past what this parser takes */
			if (k != m || status2 != status)
				abort();
			for (int i = 0; i < r2.nheaders; i++)
				if (r2.headers[i].name_len == 10 && !strncasecmp(r2.headers[i].name, "connection", 10))
					nconn++;
			if (nconn != 1 || lsp_http_header_get(&r2, "keep-alive", &vl) ||
			    lsp_http_header_get(&r2, "x-forwarded-for", &vl) ||
			    (status != 101 && lsp_http_header_get(&r2, "upgrade", &vl)))
				abort();
		}
	}
	if (size < sizeof path) {
		memcpy(path, data, size);
		path[size] = 0;
		(void)lsp_proxyhead_route(path);
	}
done:
	free(buf);
	return 0;
}
