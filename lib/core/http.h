/* http.h — a bounded HTTP/1.1 request-head parser, without I/O.
 *
 * The caller owns the bytes; the parser only looks at them and fills an
 * lsp_http_req whose strings point into the caller's buffer (they are not
 * NUL-terminated: each comes with a length).  Limits are fixed: a head of
 * at most LSP_HTTP_HEAD_MAX bytes, a request target of at most
 * LSP_HTTP_TARGET_MAX bytes, at most LSP_HTTP_HEADERS_MAX header lines.
 * Nothing is allocated, so a request can be parsed from any byte string
 * (tests/fuzz/fuzz_http.c feeds it random ones).
 *
 *   bytes ──▶ lsp_http_parse ──▶ 0 (need more) | n (head is n bytes) | -status
 *
 * Helpers decode the path safely (no "..", no NUL, no encoded '/'), read a
 * query parameter, find a header and parse a single byte Range. */
#ifndef LSP_HTTP_H
#define LSP_HTTP_H
#include <stddef.h>
#include <stdint.h>

#define LSP_HTTP_HEAD_MAX 8192
#define LSP_HTTP_TARGET_MAX 4096
#define LSP_HTTP_HEADERS_MAX 64

enum lsp_http_method {
	LSP_HTTP_OTHER = 0, LSP_HTTP_GET, LSP_HTTP_HEAD, LSP_HTTP_OPTIONS, LSP_HTTP_POST,
};

typedef struct {
	const char *name, *value;
	size_t name_len, value_len;
} lsp_http_header;

typedef struct {
	int method;                 /* enum lsp_http_method */
	const char *method_s;       /* as sent */
	size_t method_len;
	const char *target;         /* raw request target: path[?query] */
	size_t target_len;
	const char *path;           /* raw (still percent-encoded) path */
	size_t path_len;
	const char *query;          /* after '?', NULL if none */
	size_t query_len;
	int minor;                  /* HTTP/1.<minor>: 0 or 1 */
	int keep_alive;             /* 1 when the connection may be reused */
	long long content_length;   /* -1 when absent */
	int chunked;                /* Transfer-Encoding: chunked was sent */
	int nheaders;
	lsp_http_header headers[LSP_HTTP_HEADERS_MAX];
} lsp_http_req;

/* Parse a request head from buf[0..len).
 * Returns the head's length (> 0, including the blank line) when complete,
 * 0 when more bytes are needed (and len < LSP_HTTP_HEAD_MAX), or a negative
 * HTTP status: -400 malformed, -414 target too long, -431 head or header
 * count too large, -501 unknown transfer coding, -505 not HTTP/1.x.
 * On a negative return *req is partly filled and must not be used. */
int lsp_http_parse(const char *buf, size_t len, lsp_http_req *req);

/* Parse a response head ("HTTP/1.x NNN reason" + headers), for a relay
 * reading its origin.  Same returns as lsp_http_parse; the status code goes
 * to *status and the headers to res (method and target are left empty). */
int lsp_http_parse_response(const char *buf, size_t len, int *status, lsp_http_req *res);

/* Header value by case-insensitive name; NULL when absent (*vlen untouched). */
const char *lsp_http_header_get(const lsp_http_req *req, const char *name, size_t *vlen);

/* Percent-decode the raw path into out (NUL-terminated).  Rejects, with -1,
 * a path that does not start with '/', contains NUL or an encoded '/' or
 * '\\', a "." or ".." segment, a bad escape, or does not fit in cap. */
int lsp_http_path_decode(const char *path, size_t len, char *out, size_t cap);

/* 1 if the comma-separated header value v (len bytes) holds token tok,
 * compared without case ("keep-alive", "Upgrade", "chunked"…); else 0. */
int lsp_http_list_has(const char *v, size_t len, const char *tok);

/* Value of query parameter name (first match, percent-decoded) into out.
 * Returns its length, -1 when absent, -2 when malformed or too long. */
int lsp_http_query_get(const char *query, size_t len, const char *name, char *out, size_t cap);

/* One "bytes=a-b" / "bytes=a-" / "bytes=-n" range against a body of size
 * bytes: 0 and [*start,*end] inclusive when satisfiable, -1 when not
 * satisfiable (answer 416), -2 when the header is not one we serve (ignore
 * it and send the whole body). */
int lsp_http_range(const char *v, size_t len, uint64_t size, uint64_t *start, uint64_t *end);

/* Reason phrase for a status code ("OK", "Not Found" ...). */
const char *lsp_http_reason(int status);

#endif
