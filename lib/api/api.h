/* api.h — lsp-api's routes: accounts, sessions, channels and stream keys,
 * privacy requests, as JSON over HTTP (docs/api.md, docs/openapi.json).
 *
 * lsp_api_serve is an lsp_apisrv handler: it never does I/O of its own
 * beyond the store (and the kick callback), so it can be driven from a
 * fuzzer or a test with a parsed request.  Every route is one row of a
 * const table naming the roles that may call it; the handler checks the
 * caller's role against that row before it runs, then ownership where a
 * route is about one channel.  Sessions are lib/state/token.c tokens (the format
 * lsp-chat verifies) whose SHA-256 is kept in the sessions table
 * (lib/state/session.c), so signing out revokes them here at once.  Every
 * row is read and written through lib/state (account, session, chanmeta,
 * store, ledger, dsar): no SQL lives in lib/api.  Passwords use lib/api/passwd.c.
 * Login and sign-up are rate-limited per account and per client address
 * in a bounded in-memory table.  The lsp_api owns that table; the caller
 * owns the store, the secret and the config strings, which must outlive
 * it. */
#ifndef LSP_API_H
#define LSP_API_H
#include <stddef.h>

#include "api/apisrv.h"
#include "bus/revoke.h"
#include "core/event.h"
#include "state/store.h"

typedef struct lsp_api lsp_api;

/* Roles as bits, for the route table and the tests. */
enum {
	LSP_API_ANON = 1, LSP_API_VIEWER = 2, LSP_API_CREATOR = 4, LSP_API_MOD = 8, LSP_API_ADMIN = 16,
};
#define LSP_API_USERS (LSP_API_VIEWER | LSP_API_CREATOR | LSP_API_MOD | LSP_API_ADMIN)
#define LSP_API_ALL (LSP_API_ANON | LSP_API_USERS)

typedef struct {
	lsp_store *st;
	const unsigned char *secret;  /* lib/state/token.c secret (shared with lsp-chat) */
	size_t secretlen;
	const char *data_dir;         /* for channel live state under <data_dir>/hls */
	/* Playback tokens (core/sigtok.h lsp_sigtok_play) for private and
	 * age-gated channels; NULL: none are issued (503). */
	const unsigned char *play_secret;
	size_t play_secret_len;
	const char *cors;             /* comma-separated allowed origins, or NULL */
	int scrypt_log2n;             /* default LSP_PASSWD_LOG2N */
	long long session_ttl;        /* seconds, default 7 days */
	int kid_age;                  /* declared age below which an account is kid-mode (13) */
	/* Sign-in buckets: per account (default 5, refilling 1 a minute) and per
	 * client address, sign-ups included (default 30, refilling 1 per 2 s). */
	int rl_user_burst, rl_addr_burst, rl_signup_burst;
	double rl_user_per_s, rl_addr_per_s, rl_signup_per_s; /* sign-up: accounts made per address */
	/* Cut the live publisher of channel (NATS lsp.ctl.<channel>.kick); may be
	 * NULL.  Returns 0 or negative. */
	int (*kick)(void *ctx, const char *channel);
	void *kick_ctx;
	/* Latest health JSON of a channel from NATS into out; 0, or negative
	 * when none is known.  May be NULL. */
	int (*health)(void *ctx, const char *channel, char *out, size_t cap);
	void *health_ctx;
	/* Tell every lsp-chat node that chat rights narrowed (bus/revoke.h:
	 * NATS lsp.auth.revoke): called after a role change, an erasure (also
	 * once per channel that went with the account), a channel's deletion
	 * or suspension.  May be NULL (lsp-chat's periodic re-check then
	 * catches up).  Returns 0 or negative. */
	int (*revoke)(void *ctx, const lsp_revoke *r);
	void *revoke_ctx;
	/* What happened (never a secret in a field); may be NULL.  Events:
	 * "signed up" (user, role), "signed in" (user), "sign-in refused"
	 * (user, peer), "rate limited" (user, peer; warn), "store failure"
	 * (reason; error), "data export" (user), "account erased" (by),
	 * "role set" (user, role), "channel created" / "channel deleted" /
	 * "stream key rotated" (channel, user), "publish token issued"
	 * (channel, user), "channel suspended" /
	 * "channel reinstated" (channel, by), "channel access set" (channel,
	 * visibility, age_gate, by), "channel webhook set" (channel, set, by;
	 * never the URL), "playback token issued" (channel, user,
	 * expires_at), "playback token refused" (channel, user, reason; warn),
	 * "directory not updated" (channel, reason; error), "expired sessions not swept"
	 * (reason; warn, from lsp_api_tick), "password queue full" (peer; warn).
	 * The revoke callback of lib/api/kick.c adds "revocation sent" /
	 * "revocation not sent". */
	lsp_event_fn event;
	void *event_ctx;
	/* Password hashing threads (sign-in, sign-up): 0 hashes inline, on the
	 * caller's thread; > 0 starts that many, with a queue of pw_queue
	 * (default 64) beyond which a sign-in is answered 503 + Retry-After.
	 * With threads the answer is deferred: the server must poll
	 * lsp_api_wake_fd and call lsp_api_wake (lsp_apisrv_cfg.wake). */
	int pw_threads, pw_queue;
} lsp_api_cfg;

int lsp_api_open(lsp_api **out, const lsp_api_cfg *cfg, char *err, size_t errcap);
void lsp_api_close(lsp_api *a);

/* The lsp_apisrv handler (ctx is the lsp_api). */
void lsp_api_serve(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs);

/* The descriptor that is readable when password work is done (-1 without
 * threads), and the lsp_apisrv wake that answers the requests it was for
 * (ctx is the lsp_api). */
int lsp_api_wake_fd(const lsp_api *a);
void lsp_api_wake(void *ctx, lsp_apisrv *s);

/* The lsp_apisrv tick (ctx is the lsp_api): once a minute, drops the
 * sessions that have expired.  Returns 0. */
int lsp_api_tick(void *ctx);

/* The route table, for --routes and the authorisation test: calls fn for
 * each route with its method, path pattern and role bits. */
void lsp_api_routes(void (*fn)(void *ctx, const char *method, const char *pattern, int roles), void *ctx);

/* Role name ("viewer", "creator", "mod", "admin") → bit, 0 when unknown. */
int lsp_api_role_bit(const char *name);

/* Set a user's platform role (operator bootstrap).  0, -ENOENT, -EINVAL. */
int lsp_api_set_role(lsp_store *st, const char *user, const char *role, char *err, size_t errcap);

#endif
