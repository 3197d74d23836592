/* proxyhead.c — the front door's header work, without I/O: which upstream
 * a path goes to, which headers belong to one hop, and the response head
 * rewritten for the client.  Pure functions over lsp_http_req (core/http);
 * fuzzed by tests/fuzz/fuzz_edgeproxy.c.  See proxyhead.h. */
#include "edge/proxyhead.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int lsp_proxyhead_route(const char *path)
{
	if (!strncmp(path, "/api/v1/", 8) || !strcmp(path, "/api/v1"))
		return LSP_PROXY_API;
	if (!strncmp(path, "/ws/", 4) || !strcmp(path, "/presence"))
		return LSP_PROXY_CHAT;
	if (!strncmp(path, "/whep/", 6) || !strncmp(path, "/whip/", 6))
		return LSP_PROXY_RTC;
	return -1;
}

static int hdr_is(const lsp_http_header *h, const char *name)
{
	return h->name_len == strlen(name) && !strncasecmp(h->name, name, h->name_len);
}

int lsp_proxyhead_hop(const lsp_http_header *h)
{
	static const char *const drop[] = { "connection", "keep-alive", "proxy-connection", "upgrade",
					    "te", "trailer", "expect", "x-forwarded-for", "x-forwarded-proto",
					    "x-forwarded-host", "forwarded" };
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		if (hdr_is(h, drop[i]))
			return 1;
	return 0;
}

int lsp_proxyhead_h2_keep(const lsp_http_header *h)
{
	return !lsp_proxyhead_hop(h) && !hdr_is(h, "transfer-encoding") && !hdr_is(h, "content-length") &&
	       !hdr_is(h, "date") && !hdr_is(h, "server") && h->name_len > 0;
}

int lsp_proxyhead_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n > cap - *len)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	return 0;
}

int lsp_proxyhead_put_header(char *out, size_t cap, size_t *len, const lsp_http_header *h)
{
	if (lsp_proxyhead_put(out, cap, len, h->name, h->name_len) < 0 || lsp_proxyhead_put(out, cap, len, ": ", 2) < 0 ||
	    lsp_proxyhead_put(out, cap, len, h->value, h->value_len) < 0 || lsp_proxyhead_put(out, cap, len, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int lsp_proxyhead_response(const lsp_http_req *r, int status, const char *conn, char *out, size_t cap)
{
	size_t len = 0;
	char line[64];
	int n;
	n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, lsp_http_reason(status));
	if (n < 0 || lsp_proxyhead_put(out, cap, &len, line, (size_t)n) < 0)
		return -1;
	for (int i = 0; i < r->nheaders; i++) {
		const lsp_http_header *h = &r->headers[i];
		int keep = !lsp_proxyhead_hop(h) || (status == 101 && hdr_is(h, "upgrade"));
		if (keep && lsp_proxyhead_put_header(out, cap, &len, h) < 0)
			return -1;
	}
	if (lsp_proxyhead_put(out, cap, &len, "Connection: ", 12) < 0 || lsp_proxyhead_put(out, cap, &len, conn, strlen(conn)) < 0 ||
	    lsp_proxyhead_put(out, cap, &len, "\r\n\r\n", 4) < 0)
		return -1;
	return (int)len;
}

