/* api_int.h — what the pieces of lsp-api's routes share (lib/api/api*.c);
 * not for use outside lib/api.
 *
 *   api_reply.c    responses, request headers, the JSON body, CORS
 *   api_session.c  rate limits, sessions, CSRF, sign-up / sign-in / sign-out
 *   api_user.c     profiles, roles, data export and erasure, chat tokens
 *   api_channel.c  channels: list, create, metadata, keys, health,
 *                  recordings, suspension
 *   api.c          the route table, dispatch, open/close, the tick
 *
 * One request is one `api_call`, calloc'd by lsp_api_serve and wiped and
 * freed when it is answered; every piece writes its answer through
 * api_reply / api_fail.  The lsp_api (rate-limit table, config) is owned
 * by whoever opened it. */
#ifndef LSP_API_INT_H
#define LSP_API_INT_H
#include <jansson.h>
#include <stdint.h>

#include "api/api.h"
#include "api/passwd.h"
#include "api/pwpool.h"
#include "api/ratelimit.h"
#include "core/event.h"
#include "core/key.h"
#include "state/account.h"
#include "state/chanmeta.h"

#define API_RL_SLOTS 4096
#define API_RL_PROBE 8
#define API_RL_KEY_MAX (LSP_NAME_MAX + 56)
#define API_PATH_MAX 512
#define API_KID_SCOPE "-kid"         /* a kid-mode session: no chat anywhere */
#define API_SESSION_SCOPE "-session" /* any other session: not a chat token either */
#define API_CHAT_TOKEN_TTL 600        /* chat tokens: one channel, ten minutes */
#define API_TITLE_MAX LSP_CHANMETA_TITLE_MAX
#define API_CATEGORY_MAX LSP_CHANMETA_CATEGORY_MAX
#define API_PW_MIN 8
#define API_PW_MAX 256
#define API_RECORDINGS_MAX (256 * 1024)
#define API_ADULT_AGE 18 /* declared age from which an account may open age-gated channels */
#define API_SWEEP_S 60 /* expired sessions are dropped this often */

struct lsp_api {
	lsp_api_cfg cfg;
	lsp_ratelimit *rl;                    /* sign-in/sign-up buckets */
	char dummy_hash[LSP_PASSWD_HASH_MAX]; /* verified against when the user is unknown */
	long long next_sweep;                 /* unix seconds */
	lsp_jobpool *pool;                    /* scrypt threads (api/pwpool); NULL: hash inline */
};

/* One request in flight. */
typedef struct {
	lsp_api *a;
	const lsp_apisrv_req *rq;
	lsp_apisrv_resp *rs;
	char path[API_PATH_MAX];
	char arg[LSP_NAME_MAX + 1];   /* the {name} segment */
	json_t *body;                 /* parsed JSON object, or NULL */
	/* the caller */
	int role;                     /* LSP_API_* bit */
	int kid, cookie;
	char user[LSP_NAME_MAX + 1];
	char sess_hash[LSP_HASH_HEX];
	char err[512];
} api_call;

/* A sign-in or sign-up waiting for its password work (lib/api/pwpool):
 * the request as far as it got (no rq: the request bytes are gone by the
 * time the work is done), the answer's headers so far, and what the
 * second half needs.  Owned by the pool while queued, else by whoever
 * holds it; wiped when freed. */
typedef struct api_pending {
	lsp_pwjob job;                 /* first: the pool hands back &job */
	api_call c;
	lsp_apisrv_resp rs;
	unsigned long long ticket;
	void (*then)(api_call *c, struct api_pending *pd); /* answers through c */
	char name[LSP_NAME_MAX + 1], role[LSP_ACCOUNT_ROLE_MAX], peer[64];
	int kid, found, adult;
} api_pending;

/* Report an event through the config's lsp_event_fn (fields: key,
 * LSV_x(value) pairs ended by NULL). */
#define api_event(c, level, name, ...) \
	lsp_event_emit((c)->a->cfg.event, (c)->a->cfg.event_ctx, (level), (name), __VA_ARGS__)

/* ---- api_reply.c ---- */
/* Append one header line to the answer: fmt takes two strings. */
void api_add_header(api_call *c, const char *fmt, const char *a, const char *b);
/* Answer status with o (taken; NULL: no body). */
void api_reply(api_call *c, int status, json_t *o);
/* Answer status with {"error": code, "message": msg}. */
void api_fail(api_call *c, int status, const char *code, const char *msg);
/* Answer a store failure rc: 404 for -ENOENT, else 500 (and the event
 * "store failure" with c->err as its reason). */
void api_store_fail(api_call *c, int rc);
/* Copy a request header's value into out; 0 when absent or too long. */
int api_header(const api_call *c, const char *name, char *out, size_t cap);
/* 0 when every member of the body is one of keys (NULL-ended), else -1
 * with 400 "unknown_field" answered. */
int api_body_only(api_call *c, const char *const *keys);
/* The body's string member k, or NULL. */
const char *api_bstr(const api_call *c, const char *k);
/* Access-Control-* headers when the Origin is one of cfg.cors. */
void api_cors(api_call *c);

/* ---- api_session.c ---- */
/* Rate limits for a sign-in (user NULL for a sign-up): 0 go on, 1 answered 429. */
int api_limited(api_call *c, const char *user);
/* The caller from the bearer or cookie session: 0 (anonymous or a live
 * session), or the status already answered. */
int api_authenticate(api_call *c);
void api_clear_cookies(api_call *c);
void api_h_signup(api_call *c);
void api_h_signin(api_call *c);
void api_h_signout(api_call *c);
/* Run pd's password work: queued for the pool (the answer deferred), or
 * inline when there is no pool; a full queue answers 503 with Retry-After.
 * Takes pd. */
void api_pw_start(api_call *c, api_pending *pd);
/* Free a pending request (the pool's free_job). */
void api_pending_free(lsp_pwjob *j);
void api_pending_drop(void *ctx, lsp_job *j); /* the pool's free_job: api_pending_free */

/* ---- api_user.c ---- */
/* Answer 200 with user's profile (404 when none). */
void api_profile(api_call *c, const char *user);
void api_h_me(api_call *c);
void api_h_export(api_call *c);
void api_h_erase(api_call *c);
void api_h_chat_token(api_call *c);
void api_h_user_get(api_call *c);
void api_h_user_role(api_call *c);
void api_h_user_erase(api_call *c);
/* Publish a revocation event through cfg.revoke (when set); user and
 * channel may be NULL, role only for LSP_REVOKE_ROLE. */
void api_revoke(api_call *c, lsp_revoke_reason reason, const char *user, const char *channel, const char *role);

/* ---- api_channel.c ---- */
/* Load channel c->arg: 0, or -1 when answered (404, also for a channel
 * this caller may not see; 403 when owner is 1 and the caller neither
 * owns it nor is an admin). */
int api_load_chan(api_call *c, lsp_chanmeta *ch, int owner);
/* Cut channel's live publisher; *kicked 1 when the kick went out. */
void api_kick(api_call *c, const char *channel, int *kicked);
/* Take every recording of channel off the public path and remove it
 * (lsp_vod_purge; events "recordings purged" / "recordings not purged"). */
void api_purge_recordings(api_call *c, const char *channel);
void api_h_channels(api_call *c);
void api_h_channel_create(api_call *c);
void api_h_channel_get(api_call *c);
void api_h_channel_patch(api_call *c);
void api_h_channel_delete(api_call *c);
void api_h_key_rotate(api_call *c);
void api_h_publish_token(api_call *c);
void api_h_channel_health(api_call *c);
void api_h_recordings(api_call *c);
void api_h_suspend(api_call *c);
void api_h_playback_token(api_call *c);

#endif
