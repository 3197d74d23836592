/* h2head.h — HTTP/2 header lists and lsp-edge's HTTP/1.1 heads, without
 * I/O (lib/edge/edge_h2.c uses it).  A request stream's headers, as
 * nghttp2 hands them over one by one, become an HTTP/1.1 head parsed by
 * core/http, so HTTP/2 requests meet the same parser, limits and routing
 * as HTTP/1.1 ones; a response's extra header lines ("Name: value\r\n")
 * become lower-case name/value pairs.  The caller owns every buffer; an
 * lsp_h2head owns the two it allocates (lsp_h2head_free). */
#ifndef LSP_H2HEAD_H
#define LSP_H2HEAD_H
#include <stddef.h>

#include "core/http.h"

#define LSP_H2HEAD_FLOOD (4 * LSP_HTTP_HEAD_MAX) /* header bytes past which a connection is dropped */

typedef struct {
	int bad;                 /* the status to answer instead (400, 414, 431, 503), 0 none */
	char *hdr;               /* regular headers as "name: value\r\n" (LSP_HTTP_HEAD_MAX), owned */
	size_t hlen, hbytes;     /* bytes in hdr; header bytes seen in all */
	char *path;              /* :path, owned */
	size_t plen;
	char method[16], auth[256];
	long long body;          /* request body bytes seen (the caller counts them) */
} lsp_h2head;

/* One header of the request: pseudo-headers kept aside, the others
 * appended as a line.  A bad one, or a head past the limits, sets h->bad
 * (the stream is answered with it).  0, or -1 when the header block is
 * past LSP_H2HEAD_FLOOD (drop the connection). */
int lsp_h2head_add(lsp_h2head *h, const unsigned char *name, size_t nl, const unsigned char *value, size_t vl);

/* The request as an HTTP/1.1 head ("METHOD path HTTP/1.1", Host from
 * :authority, the other headers) in buf (LSP_HTTP_HEAD_MAX bytes), parsed
 * into rq (its strings point into buf).  The head's length, or -status
 * (h->bad, 400 without :method or :path, what the parser refuses).  A body
 * seen counts as Content-Length when none was sent. */
int lsp_h2head_parse(const lsp_h2head *h, char *buf, lsp_http_req *rq);

/* Free what h allocated; h may be reused zeroed.  Safe twice. */
void lsp_h2head_free(lsp_h2head *h);

/* Response header lines "Name: value\r\n…" as pairs: names lower-cased
 * into scratch[cap], values pointing into lines; Connection left out (no
 * such header in HTTP/2).  How many pairs were filled (max at most). */
size_t lsp_h2head_lines(const char *lines, const char **names, size_t *nlens, const char **values, size_t *vlens,
			size_t max, char *scratch, size_t cap);

#endif
