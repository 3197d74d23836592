/* fuzz_apijson.c — libFuzzer harness for lsp-api's request handling: the
 * first input byte picks a route, the rest is the request body.  The
 * harness builds an HTTP head (a valid bearer session, a JSON content
 * type), parses it with lib/core/http.c and hands it to lsp_api_serve, so the
 * JSON body checks, routing, authorisation and every handler's field
 * validation run on hostile bytes.  The store is a stub defined here (one
 * canned row for every query: the caller is an admin, channels exist), so
 * no database is touched; the answer must be a well-formed status with a
 * JSON body.  Built by `make fuzz` and tests/integ/fuzz.sh. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/http.h"
#include "state/store.h"
#include "state/token.h"

/* ---- the stub store ---- */
struct lsp_store {
	int unused;
};

long long lsp_store_int(const char *v) { return v ? strtoll(v, NULL, 10) : 0; }

int lsp_store_exec(lsp_store *st, const char *sql, int nparam, const char *const *params, lsp_store_row_fn row,
		   void *ctx, char *err, size_t errcap)
{
	static const char *const v[9] = { "fz", "admin", "0", "0", "0", "fz", "1", "1", "ab" };
	(void)st, (void)nparam, (void)params, (void)err, (void)errcap;
	if (row && strncmp(sql, "SELECT", 6) == 0)
		row(ctx, 9, v);
	return 1;
}
int lsp_store_open(lsp_store **out, const char *d, const char *u, char *err, size_t errcap)
{
	(void)out, (void)d, (void)u, (void)err, (void)errcap;
	return -EIO;
}
int lsp_store_open_env(lsp_store **out, char *err, size_t errcap) { return lsp_store_open(out, 0, 0, err, errcap); }
void lsp_store_close(lsp_store *st) { (void)st; }
const char *lsp_store_backend(const lsp_store *st) { (void)st; return "sqlite"; }
int lsp_store_schema_version(lsp_store *st) { (void)st; return 0; }
int lsp_store_ping(lsp_store *st, char *err, size_t errcap)
{
	(void)st;
	(void)err;
	(void)errcap;
	return 0;
}
int lsp_store_channel_add(lsp_store *st, const char *n, const char *h, char *err, size_t errcap)
{
	(void)st, (void)n, (void)h, (void)err, (void)errcap;
	return 0;
}
int lsp_store_channel_rm(lsp_store *st, const char *n, char *err, size_t errcap)
{
	(void)st, (void)n, (void)err, (void)errcap;
	return 0;
}
int lsp_store_channel_get(lsp_store *st, const char *n, lsp_channel *out, char *err, size_t errcap)
{
	(void)st, (void)n, (void)out, (void)err, (void)errcap;
	return -ENOENT;
}
int lsp_store_channel_set_key(lsp_store *st, const char *n, const char *h, char *err, size_t errcap)
{
	(void)st, (void)n, (void)h, (void)err, (void)errcap;
	return 0;
}
int lsp_store_channel_list(lsp_store *st, int (*fn)(void *, const lsp_channel *), void *ctx, char *err, size_t errcap)
{
	(void)st, (void)fn, (void)ctx, (void)err, (void)errcap;
	return 0;
}

static const char *const routes[][2] = {
	{ "POST", "/api/v1/signup" },	       { "POST", "/api/v1/signin" },
	{ "POST", "/api/v1/chat/token" },      { "POST", "/api/v1/channels" },
	{ "PATCH", "/api/v1/channels/fz" },    { "POST", "/api/v1/channels/fz/suspend" },
	{ "POST", "/api/v1/users/fz/role" },   { "POST", "/api/v1/channels/fz/key" },
	{ "GET", "/api/v1/me/export" },	       { "DELETE", "/api/v1/me" },
	{ "GET", "/api/v1/channels" },	       { "GET", "/api/v1/channels/fz/health" },
	{ "OPTIONS", "/api/v1/channels" },     { "POST", "/api/v1/signout" },
};
#define NR (sizeof routes / sizeof routes[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lsp_api *api;
	static struct lsp_store st;
	static const unsigned char secret[] = "fuzz-secret";
	static char tok[LSP_TOKEN_MAX];
	lsp_http_req rq;
	lsp_apisrv_req ar;
	lsp_apisrv_resp rs;
	char *buf;
	int hl, n;
	if (!api) {
		lsp_api_cfg cfg = { .st = &st, .secret = secret, .secretlen = sizeof secret - 1, .data_dir = "/nonexistent",
				    .scrypt_log2n = 10, .cors = "http://a" };
		lsp_token t = { .user = "fz", .channel = "*", .role = LSP_ROLE_MOD, .exp = 4000000000LL };
		char err[256];
		if (lsp_api_open(&api, &cfg, err, sizeof err) < 0 ||
		    lsp_token_issue(secret, sizeof secret - 1, &t, tok, sizeof tok) < 0)
			abort();
	}
	if (size < 1 || size > 20000)
		return 0;
	if (!(buf = malloc(1024 + size)))
		return 0;
	n = snprintf(buf, 1024,
		     "%s %s HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nAuthorization: Bearer %s\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     routes[data[0] % NR][0], routes[data[0] % NR][1], tok, size - 1);
	memcpy(buf + n, data + 1, size - 1);
	hl = lsp_http_parse(buf, (size_t)n + size - 1, &rq);
	if (hl != n)
		abort();
	memset(&rs, 0, sizeof rs);
	ar.head = &rq;
	ar.body = size > 1 ? buf + n : NULL;
	ar.body_len = size - 1;
	ar.peer = "127.0.0.1";
	ar.tls = 0;
	ar.ticket = 0;
	lsp_api_serve(api, &ar, &rs);
	if (rs.status < 200 || rs.status > 599 || (rs.body && strlen(rs.body) != rs.body_len))
		abort();
	free(rs.body);
	free(buf);
	return 0;
}
