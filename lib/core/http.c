/* http.c — bounded HTTP/1.1 request-head parser; see http.h.
 * Pure functions over caller-owned bytes: no allocation, no I/O. */
#include "core/http.h"

#include <string.h>
#include <strings.h>

#include "core/hex.h"

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int eq_ci(const char *a, size_t alen, const char *b)
{
	size_t bl = strlen(b);
	return alen == bl && strncasecmp(a, b, bl) == 0;
}

int lsp_http_list_has(const char *v, size_t len, const char *tok)
{
	size_t i = 0, tl = strlen(tok);
	while (i < len) {
		size_t s, e;
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* Find the end of the head: offset just past "\r\n\r\n" (or "\n\n"), 0 if absent. */
static size_t head_end(const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Next line [*p, eol) without its CR LF; advances *p.  -1 if no LF before end. */
static int next_line(const char *b, size_t end, size_t *p, size_t *ls, size_t *ll)
{
	size_t i = *p;
	while (i < end && b[i] != '\n')
		i++;
	if (i >= end)
		return -1;
	*ls = *p;
	*ll = i - *p;
	if (*ll && b[*p + *ll - 1] == '\r')
		(*ll)--;
	*p = i + 1;
	return 0;
}

/* Header lines from *p up to the blank line; fills req's headers and the
 * framing fields.  0, or a negative status (-400, -431, -501). */
static int parse_headers(const char *buf, size_t end, size_t *pp, lsp_http_req *req, int *conn_close, int *conn_keep)
{
	size_t p = *pp, ls, ll, i;
	const char *l;
	while (p < end) {
		lsp_http_header *h;
		size_t c, vs, ve;
		if (next_line(buf, end, &p, &ls, &ll) < 0)
			return -400;
		if (ll == 0)
			break;
		l = buf + ls;
		if (l[0] == ' ' || l[0] == '\t')
			return -400; /* obsolete line folding */
		for (c = 0; c < ll && l[c] != ':'; c++)
			if (!is_tchar((unsigned char)l[c]))
				return -400;
		if (c == 0 || c >= ll)
			return -400;
		if (req->nheaders >= LSP_HTTP_HEADERS_MAX)
			return -431;
		for (vs = c + 1; vs < ll && (l[vs] == ' ' || l[vs] == '\t'); vs++)
			;
		for (ve = ll; ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'); ve--)
			;
		for (i = vs; i < ve; i++) {
			unsigned char ch = (unsigned char)l[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -400;
		}
		h = &req->headers[req->nheaders++];
		h->name = l;
		h->name_len = c;
		h->value = l + vs;
		h->value_len = ve - vs;
		if (eq_ci(h->name, c, "connection")) {
			*conn_close |= lsp_http_list_has(h->value, h->value_len, "close");
			*conn_keep |= lsp_http_list_has(h->value, h->value_len, "keep-alive");
		} else if (eq_ci(h->name, c, "content-length")) {
			long long v = 0;
			if (h->value_len == 0 || h->value_len > 15 || req->content_length >= 0)
				return -400;
			for (i = 0; i < h->value_len; i++) {
				if (h->value[i] < '0' || h->value[i] > '9')
					return -400;
				v = v * 10 + (h->value[i] - '0');
			}
			req->content_length = v;
		} else if (eq_ci(h->name, c, "transfer-encoding")) {
			if (!lsp_http_list_has(h->value, h->value_len, "chunked"))
				return -501;
			req->chunked = 1;
		}
	}
	*pp = p;
	return 0;
}

int lsp_http_parse(const char *buf, size_t len, lsp_http_req *req)
{
	size_t end, p = 0, ls, ll, i, sp1, sp2;
	const char *l;
	int conn_close = 0, conn_keep = 0, rc;

	memset(req, 0, sizeof *req);
	req->content_length = -1;
	/* tolerate empty lines before the request line (RFC 9112 2.2) */
	while (p < len && (buf[p] == '\r' || buf[p] == '\n') && p < 4)
		p++;
	end = head_end(buf + p, len - p);
	if (!end) {
		if (len >= LSP_HTTP_HEAD_MAX) {
			/* a request line that is already too long says 414 */
			const char *nl = memchr(buf, '\n', len);
			return nl ? -431 : -414;
		}
		return 0;
	}
	end += p;
	if (end > LSP_HTTP_HEAD_MAX)
		return -431;
	if (next_line(buf, end, &p, &ls, &ll) < 0)
		return -400;
	l = buf + ls;
	for (sp1 = 0; sp1 < ll && l[sp1] != ' '; sp1++)
		if (!is_tchar((unsigned char)l[sp1]))
			return -400;
	if (sp1 == 0 || sp1 >= ll)
		return -400;
	for (sp2 = sp1 + 1; sp2 < ll && l[sp2] != ' '; sp2++) {
		unsigned char c = (unsigned char)l[sp2];
		if (c <= 0x20 || c == 0x7f)
			return -400;
	}
	if (sp2 == sp1 + 1 || sp2 >= ll)
		return -400;
	req->method_s = l;
	req->method_len = sp1;
	if (sp1 == 3 && !memcmp(l, "GET", 3)) req->method = LSP_HTTP_GET;
	else if (sp1 == 4 && !memcmp(l, "HEAD", 4)) req->method = LSP_HTTP_HEAD;
	else if (sp1 == 7 && !memcmp(l, "OPTIONS", 7)) req->method = LSP_HTTP_OPTIONS;
	else if (sp1 == 4 && !memcmp(l, "POST", 4)) req->method = LSP_HTTP_POST;
	else req->method = LSP_HTTP_OTHER;
	req->target = l + sp1 + 1;
	req->target_len = sp2 - sp1 - 1;
	if (req->target_len > LSP_HTTP_TARGET_MAX)
		return -414;
	if (ll - sp2 - 1 != 8 || memcmp(l + sp2 + 1, "HTTP/1.", 7) != 0)
		return (ll - sp2 - 1 >= 5 && !memcmp(l + sp2 + 1, "HTTP/", 5)) ? -505 : -400;
	if (l[ll - 1] != '0' && l[ll - 1] != '1')
		return -505;
	req->minor = l[ll - 1] - '0';
	/* origin-form only ("/path?q"); "*" is accepted for OPTIONS */
	if (req->target[0] != '/' && !(req->target_len == 1 && req->target[0] == '*'))
		return -400;
	req->path = req->target;
	req->path_len = req->target_len;
	for (i = 0; i < req->target_len; i++) {
		if (req->target[i] == '?') {
			req->path_len = i;
			req->query = req->target + i + 1;
			req->query_len = req->target_len - i - 1;
			break;
		}
		if (req->target[i] == '#')
			return -400;
	}
	if ((rc = parse_headers(buf, end, &p, req, &conn_close, &conn_keep)) < 0)
		return rc;
	if (req->chunked && req->content_length >= 0)
		return -400; /* request smuggling shape */
	req->keep_alive = req->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return (int)end;
}

int lsp_http_parse_response(const char *buf, size_t len, int *status, lsp_http_req *res)
{
	size_t end, p = 0, ls, ll;
	int cc = 0, ck = 0, rc;
	const char *l;

	memset(res, 0, sizeof *res);
	res->content_length = -1;
	if (!(end = head_end(buf, len)))
		return len >= LSP_HTTP_HEAD_MAX ? -431 : 0;
	if (end > LSP_HTTP_HEAD_MAX)
		return -431;
	if (next_line(buf, end, &p, &ls, &ll) < 0)
		return -400;
	l = buf + ls;
	/* "HTTP/1.x NNN[ reason]" */
	if (ll < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
	    l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' ||
	    (ll > 12 && l[12] != ' '))
		return -400;
	res->minor = l[7] - '0';
	*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if ((rc = parse_headers(buf, end, &p, res, &cc, &ck)) < 0)
		return rc;
	if (res->chunked && res->content_length >= 0)
		return -400;
	res->keep_alive = res->minor == 1 ? !cc : (ck && !cc);
	return (int)end;
}

const char *lsp_http_header_get(const lsp_http_req *req, const char *name, size_t *vlen)
{
	for (int i = 0; i < req->nheaders; i++)
		if (eq_ci(req->headers[i].name, req->headers[i].name_len, name)) {
			if (vlen)
				*vlen = req->headers[i].value_len;
			return req->headers[i].value;
		}
	return NULL;
}

int lsp_http_path_decode(const char *path, size_t len, char *out, size_t cap)
{
	size_t i, o = 0, seg = 0;
	if (len == 0 || path[0] != '/' || cap == 0)
		return -1;
	for (i = 0; i <= len; i++) {
		char c;
		if (i == len || path[i] == '/') {
			size_t sl = o - seg;
			/* the segment just ended is out[seg..o) */
			if ((sl == 1 && out[seg] == '.') || (sl == 2 && out[seg] == '.' && out[seg + 1] == '.'))
				return -1;
			if (i == len)
				break;
			c = '/';
		} else if (path[i] == '%') {
			int h, lo;
			if (i + 2 >= len)
				return -1;
			h = lsp_hex_digit(path[i + 1]);
			lo = lsp_hex_digit(path[i + 2]);
			if (h < 0 || lo < 0)
				return -1;
			c = (char)(h * 16 + lo);
			if (c == 0 || c == '/' || c == '\\')
				return -1;
			i += 2;
		} else {
			c = path[i];
			if (c == 0)
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
		if (c == '/')
			seg = o;
	}
	out[o] = 0;
	return (int)o;
}

int lsp_http_query_get(const char *q, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), i = 0;
	if (!q || cap == 0)
		return -1;
	while (i < len) {
		size_t s = i, e, eq;
		while (i < len && q[i] != '&')
			i++;
		e = i++;
		for (eq = s; eq < e && q[eq] != '='; eq++)
			;
		if (eq - s == nl && memcmp(q + s, name, nl) == 0) {
			size_t o = 0, k = eq < e ? eq + 1 : e;
			for (; k < e; k++) {
				char c = q[k];
				if (c == '%') {
					int h, lo;
					if (k + 2 >= e)
						return -2;
					h = lsp_hex_digit(q[k + 1]);
					lo = lsp_hex_digit(q[k + 2]);
					if (h < 0 || lo < 0)
						return -2;
					c = (char)(h * 16 + lo);
					k += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (c == 0 || o + 1 >= cap)
					return -2;
				out[o++] = c;
			}
			out[o] = 0;
			return (int)o;
		}
	}
	return -1;
}

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int lsp_http_range(const char *v, size_t len, uint64_t size, uint64_t *start, uint64_t *end)
{
	const char *dash;
	uint64_t a, b;
	if (len < 7 || strncasecmp(v, "bytes=", 6) != 0)
		return -2;
	v += 6;
	len -= 6;
	if (memchr(v, ',', len))
		return -2; /* multipart ranges: send the whole body */
	dash = memchr(v, '-', len);
	if (!dash)
		return -2;
	if (dash == v) { /* suffix: last n bytes */
		if (parse_u64(v + 1, len - 1, &b) < 0)
			return -2;
		if (b == 0 || size == 0)
			return -1;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 0;
	}
	if (parse_u64(v, (size_t)(dash - v), &a) < 0)
		return -2;
	if ((size_t)(dash - v) + 1 == len) {
		b = size ? size - 1 : 0;
	} else {
		if (parse_u64(dash + 1, len - (size_t)(dash - v) - 1, &b) < 0 || b < a)
			return -2;
		if (b >= size)
			b = size ? size - 1 : 0;
	}
	if (a >= size)
		return -1;
	*start = a;
	*end = b;
	return 0;
}

const char *lsp_http_reason(int s)
{
	switch (s) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
