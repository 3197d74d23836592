/* Unit tests: lib/api/api.c driven without sockets — requests are parsed with
 * lib/core/http.c and handed to lsp_api_serve over a SQLite store in a temp
 * dir: routing (404/405/OPTIONS), sign-up and sessions, the role check,
 * CSRF for cookie sessions, kid-mode, and the route table's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/http.h"
#include "state/store.h"

static char dir[64];
static lsp_store *st;
static lsp_api *api;
static const unsigned char secret[] = "unit-secret";

static int setup(void **s)
{
	lsp_api_cfg cfg = { .secret = secret, .secretlen = sizeof secret - 1, .scrypt_log2n = 10 };
	char err[256];
	(void)s;
	snprintf(dir, sizeof dir, "/tmp/lsp-api-XXXXXX");
	if (!mkdtemp(dir) || lsp_store_open(&st, dir, NULL, err, sizeof err) < 0)
		return -1;
	cfg.st = st;
	cfg.data_dir = dir;
	return lsp_api_open(&api, &cfg, err, sizeof err);
}

static int teardown(void **s)
{
	char cmd[128];
	(void)s;
	lsp_api_close(api);
	lsp_store_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One request; returns the status, the body in out (cap bytes). */
static int req(const char *method, const char *path, const char *hdrs, const char *body, char *out, size_t cap,
	       char *headers_out, size_t hcap)
{
	char buf[8192];
	lsp_http_req rq;
	lsp_apisrv_req ar;
	lsp_apisrv_resp rs;
	size_t bl = body ? strlen(body) : 0;
	int n = snprintf(buf, sizeof buf, "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %zu\r\n\r\n%s", method, path,
			 hdrs ? hdrs : "", bl, body ? body : "");
	int hl = lsp_http_parse(buf, (size_t)n, &rq);
	assert_true(hl > 0);
	memset(&rs, 0, sizeof rs);
	ar.head = &rq;
	ar.body = bl ? buf + hl : NULL;
	ar.body_len = bl;
	ar.peer = "10.0.0.1";
	ar.tls = 0;
	lsp_api_serve(api, &ar, &rs);
	snprintf(out, cap, "%.*s", (int)rs.body_len, rs.body ? rs.body : "");
	if (headers_out)
		snprintf(headers_out, hcap, "%s", rs.headers);
	free(rs.body);
	return rs.status;
}

static void field(const char *json, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n;
	snprintf(pat, sizeof pat, "\"%s\":\"", name);
	p = strstr(json, pat);
	assert_non_null(p);
	p += strlen(pat);
	n = strcspn(p, "\"");
	assert_true(n < cap);
	memcpy(out, p, n);
	out[n] = 0;
}

static void routing(void **s)
{
	char b[4096], h[2048];
	(void)s;
	assert_int_equal(req("GET", "/api/v1/health", NULL, NULL, b, sizeof b, NULL, 0), 200);
	assert_non_null(strstr(b, "\"sqlite\""));
	assert_int_equal(req("GET", "/api/v1/nothing", NULL, NULL, b, sizeof b, NULL, 0), 404);
	assert_int_equal(req("PUT", "/api/v1/me", NULL, NULL, b, sizeof b, h, sizeof h), 405);
	assert_non_null(strstr(h, "Allow: GET, DELETE"));
	assert_int_equal(req("OPTIONS", "/api/v1/me", NULL, NULL, b, sizeof b, h, sizeof h), 204);
	assert_int_equal(req("GET", "/api/v1/channels/..", NULL, NULL, b, sizeof b, NULL, 0), 400);
	assert_int_equal(req("GET", "/api/v1/channels/BAD", NULL, NULL, b, sizeof b, NULL, 0), 404);
	assert_int_equal(req("GET", "/api/v1/me", NULL, NULL, b, sizeof b, NULL, 0), 401);
	assert_int_equal(req("GET", "/api/v1/me", "Authorization: Bearer v1.x.y\r\n", NULL, b, sizeof b, NULL, 0), 401);
}

static void sessions(void **s)
{
	char b[4096], h[2048], tok[600], csrf[40], auth[700], ck[800];
	(void)s;
	assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n",
			     "{\"name\":\"cara\",\"password\":\"long enough\",\"age\":40,\"creator\":true}", b, sizeof b, h,
			     sizeof h),
			 201);
	assert_non_null(strstr(h, "HttpOnly; Secure; SameSite=Strict"));
	field(b, "token", tok, sizeof tok);
	field(b, "csrf", csrf, sizeof csrf);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", tok);
	assert_int_equal(req("GET", "/api/v1/me", auth, NULL, b, sizeof b, NULL, 0), 200);
	assert_non_null(strstr(b, "\"role\":\"creator\""));
	/* duplicate keys, non-objects, wrong types */
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"a\",\"name\":\"b\"}", b, sizeof b, NULL, 0), 400);
	assert_int_equal(req("POST", "/api/v1/channels", auth, "[]", b, sizeof b, NULL, 0), 400);
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"c1\",\"mature\":\"yes\"}", b, sizeof b, NULL, 0),
			 400);
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"c1\"}", b, sizeof b, NULL, 0), 201);
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"c1\"}", b, sizeof b, NULL, 0), 409);
	/* cookie sessions need the CSRF header for changes */
	snprintf(ck, sizeof ck, "Cookie: a=b; lsp_session=%s\r\nContent-Type: application/json\r\n", tok);
	assert_int_equal(req("GET", "/api/v1/me", ck, NULL, b, sizeof b, NULL, 0), 200);
	assert_int_equal(req("POST", "/api/v1/channels", ck, "{\"name\":\"c2\"}", b, sizeof b, NULL, 0), 403);
	snprintf(ck + strlen(ck), sizeof ck - strlen(ck), "X-CSRF-Token: %s\r\n", csrf);
	assert_int_equal(req("POST", "/api/v1/channels", ck, "{\"name\":\"c2\"}", b, sizeof b, NULL, 0), 201);
	/* role check: a creator may not suspend */
	assert_int_equal(req("POST", "/api/v1/channels/c1/suspend", auth, "{\"suspended\":true}", b, sizeof b, NULL, 0),
			 403);
	/* sign out: the token is refused */
	assert_int_equal(req("POST", "/api/v1/signout", auth, NULL, b, sizeof b, NULL, 0), 204);
	assert_int_equal(req("GET", "/api/v1/me", auth, NULL, b, sizeof b, NULL, 0), 401);
}

static void kid_mode(void **s)
{
	char b[4096], tok[600], auth[700];
	(void)s;
	assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n",
			     "{\"name\":\"tim\",\"password\":\"long enough\",\"age\":9}", b, sizeof b, NULL, 0),
			 201);
	assert_non_null(strstr(b, "\"kid\":true"));
	field(b, "token", tok, sizeof tok);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", tok);
	assert_int_equal(req("POST", "/api/v1/chat/token", auth, "{}", b, sizeof b, NULL, 0), 403);
	assert_non_null(strstr(b, "kid_mode"));
	assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n",
			     "{\"name\":\"tom\",\"password\":\"long enough\"}", b, sizeof b, NULL, 0),
			 400);
}

static int nroutes;
static void count(void *ctx, const char *m, const char *p, int roles)
{
	(void)ctx;
	assert_true(!strncmp(p, "/api/v1/", 8));
	assert_true(roles != 0 && (roles & ~LSP_API_ALL) == 0);
	assert_true(!strcmp(m, "GET") || !strcmp(m, "POST") || !strcmp(m, "PATCH") || !strcmp(m, "DELETE"));
	nroutes++;
}

static void table(void **s)
{
	(void)s;
	lsp_api_routes(count, NULL);
	assert_true(nroutes >= 19);
	assert_int_equal(lsp_api_role_bit("admin"), LSP_API_ADMIN);
	assert_int_equal(lsp_api_role_bit("owner"), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(routing, setup, teardown),
		cmocka_unit_test_setup_teardown(sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(kid_mode, setup, teardown),
		cmocka_unit_test(table),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
