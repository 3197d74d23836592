/* chatpres.h — lsp-chat's HTTP presence endpoint, without I/O: the
 * channel list a request asks for, and the bytes of the answer.
 *
 *   GET /presence?channels=a,b,c ──▶ lsp_chatpres_parse ──▶ {a,b,c}
 *   counts (the caller's) ──▶ lsp_chatpres_json ──▶ {"a":12,"b":0,"c":3}
 *   status + body ──▶ lsp_chatpres_head ──▶ "HTTP/1.1 200 OK\r\n…\r\n\r\n"
 *
 * The query is read with lsp_http_query_get (lib/core/http.c, fuzzed); every
 * name must be lsp_name_valid, at most LSP_CHATPRES_MAX names are taken,
 * empty items are skipped and repeats kept once.  Everything lives in the
 * caller's lsp_chatpres_list and buffers; nothing is allocated
 * (tests/fuzz/fuzz_chatpres.c drives it with random requests). */
#ifndef LSP_CHATPRES_H
#define LSP_CHATPRES_H
#include <stddef.h>

#include "core/key.h"

#define LSP_CHATPRES_MAX 100 /* channels per request */

typedef struct {
	int all;                 /* no "channels" parameter: every channel the node knows */
	int n;
	char name[LSP_CHATPRES_MAX][LSP_NAME_MAX + 1];
} lsp_chatpres_list;

/* Read the query string (after '?', may be NULL) into *l.  Returns 0, or
 * -EINVAL with a message in err: a malformed parameter, a bad channel
 * name, or more than LSP_CHATPRES_MAX channels. */
int lsp_chatpres_parse(const char *query, size_t len, lsp_chatpres_list *l, char *err, size_t errcap);

/* Write {"name":count,…} for n names (valid channel names, as parsed;
 * counts below zero are written as 0) into buf, NUL-terminated.  Returns the length, or -ENOSPC when cap is too
 * small (at most n * (LSP_NAME_MAX + 24) + 3 bytes are needed). */
int lsp_chatpres_json(char *buf, size_t cap, const char *const *names, const long *counts, int n);

/* Write a response head for status with a JSON body of blen bytes:
 * Content-Type, Content-Length, CORS (any origin, GET/HEAD/OPTIONS, no
 * credentials), Cache-Control (max_age seconds; 0 gives no-store) and
 * keep-alive or close.  204 (the OPTIONS answer) carries no body headers.
 * Returns the length, or -ENOSPC. */
int lsp_chatpres_head(char *buf, size_t cap, int status, size_t blen, int max_age, int keep_alive);

#endif
