/* chatpres.c — the presence endpoint's request and answer; see chatpres.h. */
#include "chat/chatpres.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/http.h"

int lsp_chatpres_parse(const char *query, size_t len, lsp_chatpres_list *l, char *err, size_t errcap)
{
	char v[LSP_HTTP_TARGET_MAX + 1];
	const char *p, *end;
	int r;

	l->all = 0;
	l->n = 0;
	r = query ? lsp_http_query_get(query, len, "channels", v, sizeof v) : -1;
	if (r == -1) {
		l->all = 1;
		return 0;
	}
	if (r < 0) {
		snprintf(err, errcap, "malformed channels parameter");
		return -EINVAL;
	}
	for (p = v, end = v + r; p < end;) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
		char name[LSP_NAME_MAX + 1];
		int dup = 0;
		if (n > LSP_NAME_MAX) {
			snprintf(err, errcap, "channel name longer than %d characters", LSP_NAME_MAX);
			return -EINVAL;
		}
		memcpy(name, p, n);
		name[n] = 0;
		p += n + (q ? 1 : 0);
		if (n == 0)
			continue;
		if (!lsp_name_valid(name)) {
			snprintf(err, errcap, "bad channel name (allowed: a-z 0-9 _ -)");
			return -EINVAL;
		}
		for (int i = 0; i < l->n && !dup; i++)
			dup = strcmp(l->name[i], name) == 0;
		if (dup)
			continue;
		if (l->n == LSP_CHATPRES_MAX) {
			snprintf(err, errcap, "at most %d channels per request", LSP_CHATPRES_MAX);
			return -EINVAL;
		}
		memcpy(l->name[l->n++], name, n + 1);
	}
	return 0;
}

int lsp_chatpres_json(char *buf, size_t cap, const char *const *names, const long *counts, int n)
{
	size_t off = 0;
	if (cap < 3)
		return -ENOSPC;
	buf[off++] = '{';
	for (int i = 0; i < n; i++) {
		int w = snprintf(buf + off, cap - off, "%s\"%s\":%ld", i ? "," : "", names[i],
				 counts[i] > 0 ? counts[i] : 0L);
		if (w < 0 || (size_t)w >= cap - off)
			return -ENOSPC;
		off += (size_t)w;
	}
	if (off + 2 > cap)
		return -ENOSPC;
	buf[off++] = '}';
	buf[off] = 0;
	return (int)off;
}

int lsp_chatpres_head(char *buf, size_t cap, int status, size_t blen, int max_age, int keep_alive)
{
	char cc[48];
	int n;
	if (max_age > 0)
		snprintf(cc, sizeof cc, "public, max-age=%d", max_age);
	else
		snprintf(cc, sizeof cc, "no-store");
	if (status == 204)
		n = snprintf(buf, cap,
			     "HTTP/1.1 204 No Content\r\n"
			     "Access-Control-Allow-Origin: *\r\n"
			     "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
			     "Access-Control-Max-Age: 86400\r\n"
			     "Allow: GET, HEAD, OPTIONS\r\n"
			     "Connection: %s\r\n\r\n",
			     keep_alive ? "keep-alive" : "close");
	else
		n = snprintf(buf, cap,
			     "HTTP/1.1 %d %s\r\n"
			     "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n"
			     "Cache-Control: %s\r\n"
			     "Access-Control-Allow-Origin: *\r\n"
			     "%s"
			     "Connection: %s\r\n\r\n",
			     status, lsp_http_reason(status), blen, status == 200 ? cc : "no-store",
			     status == 405 ? "Allow: GET, HEAD, OPTIONS\r\n" : "", keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
