/* h2head.c — HTTP/2 header lists to and from lsp-edge's HTTP/1.1 heads;
 * see h2head.h.  No I/O; the request side allocates its two buffers on
 * first use, bounded by the same limits as an HTTP/1.1 head. */
#include "edge/h2head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_ctl(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == 0)
			return 1;
	return 0;
}

static void pseudo(lsp_h2head *h, const unsigned char *name, size_t nl, const unsigned char *value, size_t vl)
{
	if (nl == 7 && !memcmp(name, ":method", 7)) {
		if (h->method[0] || vl == 0 || vl >= sizeof h->method || memchr(value, ' ', vl))
			h->bad = 400;
		else
			memcpy(h->method, value, vl), h->method[vl] = 0;
	} else if (nl == 5 && !memcmp(name, ":path", 5)) {
		if (h->path || vl == 0 || memchr(value, ' ', vl))
			h->bad = 400;
		else if (vl > LSP_HTTP_TARGET_MAX)
			h->bad = 414;
		else if (!(h->path = malloc(vl)))
			h->bad = 503;
		else
			memcpy(h->path, value, vl), h->plen = vl;
	} else if (nl == 10 && !memcmp(name, ":authority", 10)) {
		if (h->auth[0] || vl >= sizeof h->auth || memchr(value, ' ', vl))
			h->bad = 400;
		else
			memcpy(h->auth, value, vl), h->auth[vl] = 0;
	} /* :scheme, :protocol: nothing to keep */
}

int lsp_h2head_add(lsp_h2head *h, const unsigned char *name, size_t nl, const unsigned char *value, size_t vl)
{
	h->hbytes += nl + vl + 32; /* as HPACK counts a header's size */
	if (h->hbytes > LSP_H2HEAD_FLOOD)
		return -1;
	if (h->bad)
		return 0;
	if (nl == 0 || has_ctl(name, nl) || has_ctl(value, vl) || (name[0] != ':' && memchr(name, ':', nl))) {
		h->bad = 400;
		return 0;
	}
	if (name[0] == ':') {
		pseudo(h, name, nl, value, vl);
		return 0;
	}
	if (!h->hdr && !(h->hdr = malloc(LSP_HTTP_HEAD_MAX))) {
		h->bad = 503;
		return 0;
	}
	if (h->hlen + nl + vl + 4 > LSP_HTTP_HEAD_MAX) {
		h->bad = 431;
		return 0;
	}
	memcpy(h->hdr + h->hlen, name, nl);
	memcpy(h->hdr + h->hlen + nl, ": ", 2);
	memcpy(h->hdr + h->hlen + nl + 2, value, vl);
	memcpy(h->hdr + h->hlen + nl + 2 + vl, "\r\n", 2);
	h->hlen += nl + vl + 4;
	return 0;
}

int lsp_h2head_parse(const lsp_h2head *h, char *buf, lsp_http_req *rq)
{
	int n;
	if (h->bad)
		return -h->bad;
	if (!h->method[0] || !h->path)
		return -400;
	n = snprintf(buf, LSP_HTTP_HEAD_MAX, "%s %.*s HTTP/1.1\r\n%s%s%s%.*s\r\n", h->method, (int)h->plen, h->path,
		     h->auth[0] ? "Host: " : "", h->auth, h->auth[0] ? "\r\n" : "", (int)h->hlen, h->hdr ? h->hdr : "");
	if (n < 0 || n >= LSP_HTTP_HEAD_MAX)
		return -431;
	n = lsp_http_parse(buf, (size_t)n, rq);
	if (n == 0)
		return -400;
	if (n > 0 && h->body > 0 && rq->content_length <= 0)
		rq->content_length = h->body;
	return n;
}

void lsp_h2head_free(lsp_h2head *h)
{
	free(h->hdr);
	free(h->path);
	h->hdr = h->path = NULL;
}

size_t lsp_h2head_lines(const char *lines, const char **names, size_t *nlens, const char **values, size_t *vlens,
			size_t max, char *scratch, size_t cap)
{
	size_t k = 0, used = 0;
	while (lines && *lines && k < max) {
		const char *colon = strchr(lines, ':'), *eol = strstr(lines, "\r\n"), *v;
		size_t nl;
		if (!colon || !eol || colon > eol)
			break;
		nl = (size_t)(colon - lines);
		if (used + nl > cap)
			break;
		for (v = colon + 1; *v == ' '; v++)
			;
		for (size_t i = 0; i < nl; i++)
			scratch[used + i] = (char)(lines[i] >= 'A' && lines[i] <= 'Z' ? lines[i] + 32 : lines[i]);
		if (nl && !(nl == 10 && !memcmp(scratch + used, "connection", 10))) {
			names[k] = scratch + used;
			nlens[k] = nl;
			values[k] = v;
			vlens[k] = (size_t)(eol - v);
			k++;
			used += nl;
		}
		lines = eol + 2;
	}
	return k;
}
