/* api_reply.c — how lsp-api's routes answer and read a request: the JSON
 * answer and error shapes, extra header lines, request headers, the body's
 * strings and CORS.  See api_int.h.  The answer's body is malloc'd here
 * and handed to the lsp_apisrv_resp, whose server frees it. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void api_add_header(api_call *c, const char *fmt, const char *a, const char *b)
{
	size_t l = strlen(c->rs->headers);
	snprintf(c->rs->headers + l, sizeof c->rs->headers - l, fmt, a, b);
}

void api_reply(api_call *c, int status, json_t *o)
{
	c->rs->status = status;
	if (!o)
		return;
	c->rs->body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	c->rs->body_len = c->rs->body ? strlen(c->rs->body) : 0;
	if (!c->rs->body)
		c->rs->status = 500;
	json_decref(o);
}

void api_fail(api_call *c, int status, const char *code, const char *msg)
{
	api_reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

void api_store_fail(api_call *c, int rc)
{
	if (rc == -ENOENT) {
		api_fail(c, 404, "not_found", "no such object");
		return;
	}
	api_event(c, LSP_ERROR, "store failure", "reason", LSV_S(c->err), NULL);
	api_fail(c, 500, "store", "the store failed; try again");
}

int api_header(const api_call *c, const char *name, char *out, size_t cap)
{
	size_t n;
	const char *v = lsp_http_header_get(c->rq->head, name, &n);
	if (!v || n >= cap)
		return 0;
	memcpy(out, v, n);
	out[n] = 0;
	return 1;
}

int api_body_only(api_call *c, const char *const *keys)
{
	const char *k;
	json_t *v;
	char msg[128];
	json_object_foreach(c->body, k, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (!keys[i]) {
			snprintf(msg, sizeof msg, "unknown field %.64s", k);
			api_fail(c, 400, "unknown_field", msg);
			return -1;
		}
	}
	return 0;
}

const char *api_bstr(const api_call *c, const char *k)
{
	return c->body ? json_string_value(json_object_get(c->body, k)) : NULL;
}

void api_cors(api_call *c)
{
	char origin[256];
	const char *list = c->a->cfg.cors;
	size_t ol;
	if (!list || !api_header(c, "origin", origin, sizeof origin))
		return;
	ol = strlen(origin);
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		if (n == ol && !memcmp(s, origin, n)) {
			api_add_header(c,
				       "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true%s\r\n",
				       origin, "");
			api_add_header(c, "Vary: Origin\r\n%s%s", "", "");
			return;
		}
		s += n;
		if (*s == ',')
			s++;
	}
}
