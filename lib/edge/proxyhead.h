/* proxyhead.h — the front door's header work (lib/edge/edge_proxy.c uses
 * it): route table, hop-by-hop headers, the rewritten response head.  No
 * I/O, no allocation; the caller owns every buffer. */
#ifndef LSP_PROXYHEAD_H
#define LSP_PROXYHEAD_H
#include <stddef.h>

#include "core/http.h"

enum { LSP_PROXY_API, LSP_PROXY_CHAT, LSP_PROXY_RTC, LSP_PROXY_N };

/* Which upstream serves decoded path: LSP_PROXY_API for /api/v1 and
 * /api/v1/…, LSP_PROXY_CHAT for /ws/… and /presence, LSP_PROXY_RTC for
 * /whep/… and /whip/…; -1 when the edge answers it itself. */
int lsp_proxyhead_route(const char *path);

/* 1 when h belongs to one hop and is never forwarded (Connection,
 * Keep-Alive, Upgrade, TE, Trailer, Expect, X-Forwarded-*, Forwarded…). */
int lsp_proxyhead_hop(const lsp_http_header *h);

/* 1 when an upstream's response header h goes on to an HTTP/2 client:
 * not hop-by-hop, not Transfer-Encoding, and not Content-Length, Date or
 * Server (the edge writes those itself). */
int lsp_proxyhead_h2_keep(const lsp_http_header *h);

/* Append s[0..n) (or "name: value\r\n") at out + *len within cap: 0, or -1
 * when it does not fit (out may then hold part of it; *len tells). */
int lsp_proxyhead_put(char *out, size_t cap, size_t *len, const char *s, size_t n);
int lsp_proxyhead_put_header(char *out, size_t cap, size_t *len, const lsp_http_header *h);

/* An upstream's response head (parsed into r, status) rewritten for the
 * client into out: "HTTP/1.1 status reason", every header but the
 * hop-by-hop ones (Upgrade kept on a 101), then "Connection: conn".  The
 * length written (no NUL), or -1 when it does not fit in cap. */
int lsp_proxyhead_response(const lsp_http_req *r, int status, const char *conn, char *out, size_t cap);

#endif
