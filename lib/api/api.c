/* api.c — lsp-api's route table and dispatch; see api.h for the contract
 * and docs/api.md for the HTTP surface.  The routes themselves live in
 * api_session.c, api_user.c and api_channel.c (api_int.h lists who owns
 * what).
 *
 *   request ─▶ route (method, path) ─▶ caller (bearer | cookie session)
 *           ─▶ role bit ∈ route.roles? (401 anonymous / 403 otherwise)
 *           ─▶ CSRF (cookie sessions, unsafe methods) ─▶ JSON body ─▶ handler
 *
 * The lsp_api owns its rate-limit table; each request's api_call is
 * calloc'd here, wiped and freed once answered. */
#include "api/api_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "state/session.h"

typedef void (*route_fn)(api_call *c);

typedef struct {
	const char *method, *pattern;
	int roles;
	route_fn fn;
} route;

/* 200 "ok" when the store answers a round trip now, else 503 "degraded"
 * (the store reconnects on its own; see lib/state/store_pg.c). */
static void h_health(api_call *c)
{
	int up = lsp_store_ping(c->a->cfg.st, c->err, sizeof c->err) == 0;
	api_reply(c, up ? 200 : 503,
		  json_pack("{s:s,s:s,s:b}", "status", up ? "ok" : "degraded", "store", lsp_store_backend(c->a->cfg.st),
			    "store_ok", up));
}

#define CR (LSP_API_CREATOR | LSP_API_ADMIN)
static const route routes[] = {
	{ "GET", "/api/v1/health", LSP_API_ALL, h_health },
	{ "POST", "/api/v1/signup", LSP_API_ALL, api_h_signup },
	{ "POST", "/api/v1/signin", LSP_API_ALL, api_h_signin },
	{ "POST", "/api/v1/signout", LSP_API_USERS, api_h_signout },
	{ "GET", "/api/v1/me", LSP_API_USERS, api_h_me },
	{ "DELETE", "/api/v1/me", LSP_API_USERS, api_h_erase },
	{ "GET", "/api/v1/me/export", LSP_API_USERS, api_h_export },
	{ "POST", "/api/v1/chat/token", LSP_API_USERS, api_h_chat_token },
	{ "GET", "/api/v1/channels", LSP_API_ALL, api_h_channels },
	{ "POST", "/api/v1/channels", CR, api_h_channel_create },
	{ "GET", "/api/v1/channels/{name}", LSP_API_ALL, api_h_channel_get },
	{ "PATCH", "/api/v1/channels/{name}", CR, api_h_channel_patch },
	{ "DELETE", "/api/v1/channels/{name}", CR, api_h_channel_delete },
	{ "POST", "/api/v1/channels/{name}/key", CR, api_h_key_rotate },
	{ "POST", "/api/v1/channels/{name}/publish-token", CR, api_h_publish_token },
	{ "GET", "/api/v1/channels/{name}/health", CR, api_h_channel_health },
	{ "GET", "/api/v1/channels/{name}/recordings", CR, api_h_recordings },
	{ "POST", "/api/v1/channels/{name}/suspend", LSP_API_ADMIN, api_h_suspend },
	{ "POST", "/api/v1/channels/{name}/playback-token", LSP_API_USERS, api_h_playback_token },
	{ "GET", "/api/v1/users/{name}", LSP_API_MOD | LSP_API_ADMIN, api_h_user_get },
	{ "POST", "/api/v1/users/{name}/role", LSP_API_ADMIN, api_h_user_role },
	{ "DELETE", "/api/v1/users/{name}", LSP_API_ADMIN, api_h_user_erase },
};
#define NROUTES (sizeof routes / sizeof routes[0])

void lsp_api_routes(void (*fn)(void *ctx, const char *method, const char *pattern, int roles), void *ctx)
{
	for (size_t i = 0; i < NROUTES; i++)
		fn(ctx, routes[i].method, routes[i].pattern, routes[i].roles);
}

int lsp_api_role_bit(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "viewer"))
		return LSP_API_VIEWER;
	if (!strcmp(name, "creator"))
		return LSP_API_CREATOR;
	if (!strcmp(name, "mod"))
		return LSP_API_MOD;
	if (!strcmp(name, "admin"))
		return LSP_API_ADMIN;
	return 0;
}

/* 1 when path matches pattern; the {name} segment goes to arg. */
static int match(const char *pattern, const char *path, char *arg, size_t cap)
{
	while (*pattern && *path) {
		if (*pattern == '{') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= cap)
				return 0;
			memcpy(arg, path, n);
			arg[n] = 0;
			if (!lsp_name_valid(arg))
				return 0;
			path += n;
			pattern = strchr(pattern, '}');
			if (!pattern)
				return 0;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return !*pattern && !*path;
}

/* The route for method and c->path (c->arg filled), or NULL with the
 * methods the path does take in allow ("" when the path is unknown). */
static const route *find_route(api_call *c, const char *method, char *allow, size_t cap)
{
	allow[0] = 0;
	for (size_t i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, c->path, c->arg, sizeof c->arg))
			continue;
		if (!strcmp(routes[i].method, method) || (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET")))
			return &routes[i];
		if (strlen(allow) + strlen(routes[i].method) + 3 < cap)
			snprintf(allow + strlen(allow), cap - strlen(allow), "%s%s", allow[0] ? ", " : "",
				 routes[i].method);
	}
	return NULL;
}

/* The JSON object body into c->body: 0, or -1 (answered). */
static int read_body(api_call *c)
{
	char ct[128];
	json_error_t je;
	if (c->rq->body_len == 0)
		return 0;
	if (!api_header(c, "content-type", ct, sizeof ct) || strncasecmp(ct, "application/json", 16) != 0) {
		api_fail(c, 415, "content_type", "bodies are application/json");
		return -1;
	}
	c->body = json_loadb(c->rq->body, c->rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!c->body || !json_is_object(c->body)) {
		api_fail(c, 400, "bad_json", "the body must be one JSON object");
		return -1;
	}
	return 0;
}

void lsp_api_serve(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs)
{
	api_call *c = calloc(1, sizeof *c);
	const route *r;
	char method[16], allow[128];
	size_t ml = rq->head->method_len;
	if (!c) {
		rs->status = 503;
		return;
	}
	c->a = ctx;
	c->rq = rq;
	c->rs = rs;
	rs->headers[0] = 0;
	if (ml >= sizeof method) {
		api_fail(c, 501, "method", "unknown method");
		goto done;
	}
	memcpy(method, rq->head->method_s, ml);
	method[ml] = 0;
	if (lsp_http_path_decode(rq->head->path, rq->head->path_len, c->path, sizeof c->path) < 0) {
		api_fail(c, 400, "bad_path", "bad request path");
		goto done;
	}
	api_cors(c);
	if (!strcmp(method, "OPTIONS")) { /* CORS preflight */
		api_add_header(c, "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE\r\n%s%s", "", "");
		api_add_header(c, "Access-Control-Allow-Headers: Content-Type, Authorization, X-CSRF-Token\r\n%s%s", "", "");
		api_add_header(c, "Access-Control-Max-Age: 600\r\n%s%s", "", "");
		api_reply(c, 204, NULL);
		goto done;
	}
	if (!(r = find_route(c, method, allow, sizeof allow))) {
		if (allow[0]) {
			api_add_header(c, "Allow: %s\r\n%s", allow, "");
			api_fail(c, 405, "method_not_allowed", "method not allowed here");
		} else
			api_fail(c, 404, "not_found", "no such route");
		goto done;
	}
	if (api_authenticate(c) != 0)
		goto done;
	if (!(r->roles & c->role)) {
		if (c->role == LSP_API_ANON)
			api_fail(c, 401, "unauthenticated", "sign in first");
		else
			api_fail(c, 403, "forbidden", "your role may not do this");
		goto done;
	}
	if (read_body(c) < 0)
		goto done;
	r->fn(c);
done:
	json_decref(c->body);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

int lsp_api_tick(void *ctx)
{
	lsp_api *a = ctx;
	char err[256];
	long long now = (long long)time(NULL);
	if (now < a->next_sweep)
		return 0;
	a->next_sweep = now + API_SWEEP_S;
	if (lsp_session_sweep(a->cfg.st, now, err, sizeof err) < 0)
		lsp_event_emit(a->cfg.event, a->cfg.event_ctx, LSP_WARN, "expired sessions not swept", "reason",
			       LSV_S(err), NULL);
	return 0;
}

int lsp_api_open(lsp_api **out, const lsp_api_cfg *cfg, char *err, size_t errcap)
{
	lsp_api *a = calloc(1, sizeof *a);
	*out = NULL;
	if (!a || lsp_ratelimit_new(&a->rl, API_RL_SLOTS, API_RL_PROBE) < 0) {
		free(a);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	a->cfg = *cfg;
	if (a->cfg.scrypt_log2n <= 0)
		a->cfg.scrypt_log2n = LSP_PASSWD_LOG2N;
	if (a->cfg.session_ttl <= 0)
		a->cfg.session_ttl = 7 * 86400;
	if (a->cfg.kid_age <= 0)
		a->cfg.kid_age = 13;
	if (a->cfg.rl_user_burst <= 0)
		a->cfg.rl_user_burst = 5;
	if (a->cfg.rl_user_per_s <= 0)
		a->cfg.rl_user_per_s = 1.0 / 60;
	if (a->cfg.rl_addr_burst <= 0)
		a->cfg.rl_addr_burst = 30;
	if (a->cfg.rl_addr_per_s <= 0)
		a->cfg.rl_addr_per_s = 0.5;
	if (a->cfg.rl_signup_burst <= 0)
		a->cfg.rl_signup_burst = 10;
	if (a->cfg.rl_signup_per_s <= 0) /* the burst again over an hour */
		a->cfg.rl_signup_per_s = a->cfg.rl_signup_burst / 3600.0;
	if (!a->cfg.st || !a->cfg.secret || a->cfg.secretlen == 0) {
		snprintf(err, errcap, "lsp-api needs a store and a secret");
		lsp_api_close(a);
		return -EINVAL;
	}
	if (lsp_passwd_hash("not a password", a->cfg.scrypt_log2n, a->dummy_hash, sizeof a->dummy_hash) < 0) {
		snprintf(err, errcap, "scrypt is not available");
		lsp_api_close(a);
		return -EIO;
	}
	if (a->cfg.pw_threads > 0 && lsp_pwpool_new(&a->pool, a->cfg.pw_threads,
						      a->cfg.pw_queue > 0 ? a->cfg.pw_queue : 64, api_pending_drop, NULL) < 0) {
		snprintf(err, errcap, "unable to start the password threads");
		lsp_api_close(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void lsp_api_close(lsp_api *a)
{
	if (!a)
		return;
	lsp_jobpool_free(a->pool);
	lsp_ratelimit_free(a->rl);
	free(a);
}
