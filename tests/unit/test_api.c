/* Unit tests: lib/api/api*.c driven without sockets — requests are parsed
 * with lib/core/http.c and handed to lsp_api_serve over the fixture's store
 * (SQLite in a temp dir, or Postgres with LSP_TEST_PG_URL): routing
 * (404/405/OPTIONS), sign-up and sessions, the role check, CSRF for cookie
 * sessions, kid-mode, the events the routes report, kicks and health
 * through the config's callbacks, the session sweep, and the route
 * table's shape. */
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
#include "state/session.h"
#include "state/store.h"
#include "fixture.h"

static lsp_api *api;
static const unsigned char secret[] = "unit-secret";
static char events[4096]; /* "name k=v k=v\n" per event */
static char kicks[512];   /* "channel " per kick */

static void on_event(void *ctx, const lsp_event *ev)
{
	size_t o = strlen(events);
	(void)ctx;
	o += (size_t)snprintf(events + o, sizeof events - o, "%s", ev->name);
	for (int i = 0; i < ev->n && o < sizeof events; i++)
		o += (size_t)snprintf(events + o, sizeof events - o, " %s=%s", ev->keys[i],
				      ev->vals[i].type == LSV_STR ? ev->vals[i].s : "?");
	if (o < sizeof events)
		snprintf(events + o, sizeof events - o, "\n");
}

static int on_kick(void *ctx, const char *channel)
{
	size_t o = strlen(kicks);
	(void)ctx;
	snprintf(kicks + o, sizeof kicks - o, "%s ", channel);
	return 0;
}

static int on_health(void *ctx, const char *channel, char *out, size_t cap)
{
	(void)ctx;
	if (strcmp(channel, "c1") != 0)
		return -1;
	snprintf(out, cap, "{\"fps\":30}");
	return 0;
}

static int setup(void **s)
{
	lsp_api_cfg cfg = { .secret = secret, .secretlen = sizeof secret - 1, .scrypt_log2n = 10,
			    .event = on_event, .kick = on_kick, .health = on_health };
	char err[256];
	fx *f;
	if (fx_setup(s) < 0)
		return -1;
	f = *s;
	cfg.st = f->st;
	cfg.data_dir = f->dir;
	events[0] = kicks[0] = 0;
	return lsp_api_open(&api, &cfg, err, sizeof err);
}

static int teardown(void **s)
{
	lsp_api_close(api);
	api = NULL;
	return fx_teardown(s);
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
	ar.ticket = 0;
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
	fx *f = *s;
	char b[4096], h[2048];
	assert_int_equal(req("GET", "/api/v1/health", NULL, NULL, b, sizeof b, NULL, 0), 200);
	assert_non_null(strstr(b, f->url[0] ? "\"postgres\"" : "\"sqlite\""));
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
	/* PATCH takes the ChannelPatch fields only (docs/openapi.json) */
	assert_int_equal(req("PATCH", "/api/v1/channels/c1", auth, "{\"title\":\"T\",\"colour\":\"red\"}", b, sizeof b,
			     NULL, 0),
			 400);
	assert_non_null(strstr(b, "\"unknown_field\""));
	assert_int_equal(req("PATCH", "/api/v1/channels/c1", auth, "{\"title\":\"T\"}", b, sizeof b, NULL, 0), 200);
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

/* The routes' events, the kick and health callbacks, erasure kicking the
 * publishers of the channels that go with the account. */
static void events_kicks(void **s)
{
	fx *f = *s;
	char b[4096], tok[600], auth[700], err[256];
	const char *ct = "Content-Type: application/json\r\n";
	assert_int_equal(req("POST", "/api/v1/signup", ct,
			     "{\"name\":\"dee\",\"password\":\"long enough\",\"age\":30,\"creator\":true}", b, sizeof b,
			     NULL, 0),
			 201);
	field(b, "token", tok, sizeof tok);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n%s", tok, ct);
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"c1\",\"title\":\"T\"}", b, sizeof b, NULL, 0),
			 201);
	assert_int_equal(req("POST", "/api/v1/channels/c1/key", auth, NULL, b, sizeof b, NULL, 0), 200);
	assert_non_null(strstr(b, "\"kicked\":true"));
	assert_string_equal(kicks, "c1 ");
	assert_int_equal(req("GET", "/api/v1/channels/c1/health", auth, NULL, b, sizeof b, NULL, 0), 200);
	assert_non_null(strstr(b, "\"ingest\":{\"fps\":30}"));
	assert_non_null(strstr(b, "\"live\":false"));
	assert_int_equal(req("POST", "/api/v1/signin", ct, "{\"name\":\"dee\",\"password\":\"wrong one\"}", b, sizeof b,
			     NULL, 0),
			 401);
	/* an operator makes dee an admin: the next request has the new role */
	assert_int_equal(lsp_api_set_role(f->st, "dee", "king", err, sizeof err), -EINVAL);
	assert_int_equal(lsp_api_set_role(f->st, "nobody", "admin", err, sizeof err), -ENOENT);
	assert_int_equal(lsp_api_set_role(f->st, "dee", "admin", err, sizeof err), 0);
	assert_int_equal(req("POST", "/api/v1/channels/c1/suspend", auth, "{\"suspended\":true}", b, sizeof b, NULL, 0),
			 200);
	assert_non_null(strstr(b, "\"suspended\":true"));
	assert_int_equal(req("POST", "/api/v1/channels", auth, "{\"name\":\"c2\"}", b, sizeof b, NULL, 0), 201);
	kicks[0] = 0;
	assert_int_equal(req("DELETE", "/api/v1/me", auth, NULL, b, sizeof b, NULL, 0), 204);
	assert_true(!strcmp(kicks, "c1 c2 ") || !strcmp(kicks, "c2 c1 "));
	assert_int_equal(req("GET", "/api/v1/me", auth, NULL, b, sizeof b, NULL, 0), 401);
	assert_string_equal(events, "signed up user=dee role=creator\n"
				    "channel created channel=c1 user=dee\n"
				    "stream key rotated channel=c1 user=dee\n"
				    "sign-in refused user=dee peer=10.0.0.1\n"
				    "channel suspended channel=c1 by=dee\n"
				    "channel created channel=c2 user=dee\n"
				    "account erased by=self\n");
}

/* The tick drops expired sessions, once a minute at most. */
static void sweep(void **s)
{
	fx *f = *s;
	char err[256];
	assert_int_equal(lsp_session_add(f->st, "h1", "x", 1, 2, err, sizeof err), 0);
	assert_int_equal(lsp_session_add(f->st, "h2", "x", 1, 4000000000LL, err, sizeof err), 0);
	assert_int_equal(lsp_api_tick(api), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM sessions", NULL), 1);
	assert_int_equal(lsp_session_add(f->st, "h3", "x", 1, 2, err, sizeof err), 0);
	assert_int_equal(lsp_api_tick(api), 0); /* too soon: left for the next sweep */
	assert_int_equal(fx_count(f, "SELECT count(*) FROM sessions", NULL), 2);
	assert_string_equal(events, "");
}

/* Accounts per address: ten, then 429 with Retry-After; a malformed
 * sign-up costs nothing; another address is not affected. */
static void signup_limit(void **s)
{
	char b[4096], h[2048], body[160];
	(void)s;
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof body, "{\"name\":\"many%d\",\"password\":\"long enough\",\"age\":30}", i);
		assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n", body, b, sizeof b,
				     NULL, 0),
				 201);
		if (i == 4) /* a typo in between: 400, not counted */
			assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n",
					     "{\"name\":\"typo\",\"password\":\"long enough\"}", b, sizeof b, NULL, 0),
					 400);
	}
	assert_int_equal(req("POST", "/api/v1/signup", "Content-Type: application/json\r\n",
			     "{\"name\":\"many10\",\"password\":\"long enough\",\"age\":30}", b, sizeof b, h,
			     sizeof h),
			 429);
	assert_non_null(strstr(b, "rate_limited"));
	assert_non_null(strstr(h, "Retry-After: "));
	assert_non_null(strstr(events, "sign-up limited"));
	assert_int_equal(req("POST", "/api/v1/signin", "Content-Type: application/json\r\n",
			     "{\"name\":\"many3\",\"password\":\"long enough\"}", b, sizeof b, NULL, 0),
			 200); /* signing in is not sign-up */
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
		cmocka_unit_test_setup_teardown(events_kicks, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(signup_limit, setup, teardown),
		cmocka_unit_test(table),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
