/* api.c — lsp-api's routes; see api.h for the contract and docs/api.md for
 * the HTTP surface.
 *
 *   request ─▶ route (method, path) ─▶ caller (bearer | cookie session)
 *           ─▶ role bit ∈ route.roles? (401 anonymous / 403 otherwise)
 *           ─▶ CSRF (cookie sessions, unsafe methods) ─▶ JSON body ─▶ handler
 *
 * A session token is a lib/state/token.c token: user, a chat role (mod for
 * platform mods and admins, else viewer), the channel scope "*" — or, for
 * a kid-mode account, the reserved scope "-kid" that matches no channel,
 * so lsp-chat refuses its sends and tips — and an expiry.  Its SHA-256 is
 * the sessions row; a token whose row is gone (signed out, erased) is
 * refused here even before it expires. */
#include "api/api.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "state/chandir.h"
#include "state/dsar.h"
#include "core/key.h"
#include "state/ledger.h"
#include "api/passwd.h"
#include "state/token.h"
#include "state/vod.h"
#include "core/clock.h"

#define RL_SLOTS 4096
#define RL_PROBE 8
#define RL_KEY_MAX (LSP_NAME_MAX + 56)
#define PATH_MAX_API 512
#define KID_SCOPE "-kid"
#define CHAT_TOKEN_TTL 3600
#define TITLE_MAX 140
#define CATEGORY_MAX 64
#define PW_MIN 8
#define PW_MAX 256
#define RECORDINGS_MAX (256 * 1024)

typedef struct {
	char key[RL_KEY_MAX];
	double tokens;
	int64_t ts; /* ms */
} rl_ent;

struct lsp_api {
	lsp_api_cfg cfg;
	rl_ent *rl;
	char dummy_hash[LSP_PASSWD_HASH_MAX]; /* verified against when the user is unknown */
};

/* One request in flight. */
typedef struct {
	lsp_api *a;
	const lsp_apisrv_req *rq;
	lsp_apisrv_resp *rs;
	char path[PATH_MAX_API];
	char arg[LSP_NAME_MAX + 1];   /* the {name} segment */
	json_t *body;                 /* parsed JSON object, or NULL */
	/* the caller */
	int role;                     /* LSP_API_* bit */
	int kid, cookie;
	char user[LSP_NAME_MAX + 1];
	char sess_hash[LSP_HASH_HEX];
	char err[512];
} call;

typedef void (*route_fn)(call *c);

typedef struct {
	const char *method, *pattern;
	int roles;
	route_fn fn;
} route;

/* ---- responses ---------------------------------------------------------- */

static void add_header(call *c, const char *fmt, const char *a, const char *b)
{
	size_t l = strlen(c->rs->headers);
	snprintf(c->rs->headers + l, sizeof c->rs->headers - l, fmt, a, b);
}

static void reply(call *c, int status, json_t *o)
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

static void fail(call *c, int status, const char *code, const char *msg)
{
	reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

static void log_ev(call *c, int level, const char *msg, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	if (c->a->cfg.log)
		c->a->cfg.log(c->a->cfg.log_ctx, level, msg, k1, v1, k2, v2);
}

static void store_fail(call *c, int rc)
{
	if (rc == -ENOENT) {
		fail(c, 404, "not_found", "no such object");
		return;
	}
	log_ev(c, 3, "store failure", "reason", c->err, NULL, NULL);
	fail(c, 500, "store", "the store failed; try again");
}

/* ---- rate limits ---------------------------------------------------------- */

/* Token bucket for key: 0 allowed (one token taken), else seconds to wait. */
static int rl_take(lsp_api *a, const char *key, int burst, double per_s)
{
	uint32_t h = 2166136261u;
	int64_t now = lsp_clock_mono_ms();
	rl_ent *e = NULL, *old = NULL;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (int i = 0; i < RL_PROBE; i++) {
		rl_ent *x = &a->rl[(h + (uint32_t)i) % RL_SLOTS];
		if (x->key[0] && strcmp(x->key, key) == 0) {
			e = x;
			break;
		}
		if (!old || !x->key[0] || (old->key[0] && x->ts < old->ts))
			old = x;
	}
	if (!e) { /* empty slot or the least recently used one in the probe window */
		e = old;
		snprintf(e->key, sizeof e->key, "%s", key);
		e->tokens = burst;
		e->ts = now;
	}
	e->tokens += (double)(now - e->ts) / 1000.0 * per_s;
	if (e->tokens > burst)
		e->tokens = burst;
	e->ts = now;
	if (e->tokens < 1)
		return (int)((1 - e->tokens) / per_s) + 1;
	e->tokens -= 1;
	return 0;
}

static int limited(call *c, const char *user)
{
	char k[RL_KEY_MAX], ra[16];
	int w = 0, w2;
	snprintf(k, sizeof k, "a:%s", c->rq->peer);
	w = rl_take(c->a, k, c->a->cfg.rl_addr_burst, c->a->cfg.rl_addr_per_s);
	if (user) {
		snprintf(k, sizeof k, "u:%s", user);
		if ((w2 = rl_take(c->a, k, c->a->cfg.rl_user_burst, c->a->cfg.rl_user_per_s)) > w)
			w = w2;
	}
	if (!w)
		return 0;
	snprintf(ra, sizeof ra, "%d", w);
	add_header(c, "Retry-After: %s%s\r\n", ra, "");
	log_ev(c, 2, "rate limited", "user", user ? user : "", "peer", c->rq->peer);
	fail(c, 429, "rate_limited", "too many attempts; wait and retry");
	return 1;
}

/* ---- sessions -------------------------------------------------------------- */

static void csrf_of(lsp_api *a, const char *tok, char out[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	char msg[LSP_TOKEN_MAX + 8];
	int n = snprintf(msg, sizeof msg, "csrf:%s", tok);
	HMAC(EVP_sha256(), a->cfg.secret, (int)a->cfg.secretlen, (const unsigned char *)msg, (size_t)n, mac, &ml);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static int role_bit(const char *r)
{
	if (!r)
		return 0;
	if (!strcmp(r, "viewer"))
		return LSP_API_VIEWER;
	if (!strcmp(r, "creator"))
		return LSP_API_CREATOR;
	if (!strcmp(r, "mod"))
		return LSP_API_MOD;
	if (!strcmp(r, "admin"))
		return LSP_API_ADMIN;
	return 0;
}

int lsp_api_role_bit(const char *name) { return role_bit(name); }

/* Issue a session for user and answer status with the profile. */
static void new_session(call *c, int status, const char *user, const char *role, int kid)
{
	lsp_token t;
	unsigned char r[2];
	char tok[LSP_TOKEN_MAX], hash[LSP_HASH_HEX], now[24], exp[24], csrf[33], cookie[LSP_TOKEN_MAX + 160];
	const char *p[4] = { hash, user, now, exp };
	long long n = (long long)time(NULL);
	int rc;
	memset(&t, 0, sizeof t);
	snprintf(t.user, sizeof t.user, "%s", user);
	snprintf(t.channel, sizeof t.channel, "%s", kid ? KID_SCOPE : "*");
	t.role = role_bit(role) & (LSP_API_MOD | LSP_API_ADMIN) ? LSP_ROLE_MOD : LSP_ROLE_VIEWER;
	if (RAND_bytes(r, sizeof r) != 1) /* spread expiries so two sign-ins rarely share a token */
		r[0] = r[1] = 0;
	t.exp = n + c->a->cfg.session_ttl + ((r[0] << 8 | r[1]) % 600);
	if (lsp_token_issue(c->a->cfg.secret, c->a->cfg.secretlen, &t, tok, sizeof tok) < 0) {
		fail(c, 500, "token", "unable to issue a session");
		return;
	}
	lsp_key_hash(tok, hash);
	snprintf(now, sizeof now, "%lld", n);
	snprintf(exp, sizeof exp, "%lld", t.exp);
	rc = lsp_store_exec(c->a->cfg.st,
			    "INSERT INTO sessions (hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4) "
			    "ON CONFLICT (hash) DO NOTHING",
			    4, p, NULL, NULL, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	csrf_of(c->a, tok, csrf);
	snprintf(cookie, sizeof cookie, "lsp_session=%s; Path=/api/; Max-Age=%lld; HttpOnly; Secure; SameSite=Strict", tok,
		 t.exp - n);
	add_header(c, "Set-Cookie: %s%s\r\n", cookie, "");
	snprintf(cookie, sizeof cookie, "lsp_csrf=%s; Path=/; Max-Age=%lld; Secure; SameSite=Strict", csrf, t.exp - n);
	add_header(c, "Set-Cookie: %s%s\r\n", cookie, "");
	reply(c, status,
	      json_pack("{s:{s:s,s:s,s:b},s:s,s:s,s:I}", "user", "name", user, "role", role, "kid", kid, "token", tok,
			"csrf", csrf, "expires_at", (json_int_t)t.exp));
}

static void clear_cookies(call *c)
{
	add_header(c, "Set-Cookie: lsp_session=; Path=/api/; Max-Age=0; HttpOnly; Secure; SameSite=Strict\r\n%s%s",
		   "", "");
	add_header(c, "Set-Cookie: lsp_csrf=; Path=/; Max-Age=0; Secure; SameSite=Strict\r\n%s%s", "", "");
}

struct who {
	call *c;
	int found;
};

static int row_who(void *ctx, int ncol, const char *const *v)
{
	struct who *w = ctx;
	if (ncol < 3 || !v[0] || !v[1])
		return 1;
	snprintf(w->c->user, sizeof w->c->user, "%s", v[0]);
	w->c->role = role_bit(v[1]);
	w->c->kid = lsp_store_int(v[2]) != 0;
	w->found = w->c->role != 0;
	return 1;
}

/* Copy a header's value (NUL-terminated) into out; 0 when absent or too long. */
static int header(const call *c, const char *name, char *out, size_t cap)
{
	size_t n;
	const char *v = lsp_http_header_get(c->rq->head, name, &n);
	if (!v || n >= cap)
		return 0;
	memcpy(out, v, n);
	out[n] = 0;
	return 1;
}

/* The caller: 0 (anonymous or a live session), or a status already answered. */
static int authenticate(call *c)
{
	char auth[LSP_TOKEN_MAX + 16], ck[4096], tok[LSP_TOKEN_MAX], now[24];
	const char *p[2] = { c->sess_hash, now };
	lsp_token t;
	struct who w = { c, 0 };
	int rc;
	c->role = LSP_API_ANON;
	tok[0] = 0;
	if (header(c, "authorization", auth, sizeof auth) && strncasecmp(auth, "Bearer ", 7) == 0) {
		size_t l = strlen(auth + 7);
		if (l == 0 || l >= sizeof tok) {
			fail(c, 401, "bad_session", "sign in again");
			return 401;
		}
		memcpy(tok, auth + 7, l + 1);
	} else if (header(c, "cookie", ck, sizeof ck)) {
		for (char *s = ck; s && *s;) {
			char *e = strchr(s, ';');
			while (*s == ' ')
				s++;
			if (strncmp(s, "lsp_session=", 12) == 0) {
				size_t l = e ? (size_t)(e - s - 12) : strlen(s + 12);
				if (l > 0 && l < sizeof tok) {
					memcpy(tok, s + 12, l);
					tok[l] = 0;
					c->cookie = 1;
				}
				break;
			}
			s = e ? e + 1 : NULL;
		}
	}
	if (!tok[0])
		return 0;
	if ((rc = lsp_token_verify(c->a->cfg.secret, c->a->cfg.secretlen, tok, strlen(tok), (long long)time(NULL),
				   &t)) < 0) {
		fail(c, 401, rc == -ETIMEDOUT ? "session_expired" : "bad_session", "sign in again");
		return 401;
	}
	lsp_key_hash(tok, c->sess_hash);
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	rc = lsp_store_exec(c->a->cfg.st,
			    "SELECT u.name, u.role, u.kid FROM sessions s JOIN users u ON u.name = s.user_name "
			    "WHERE s.hash = $1 AND s.expires_at > $2",
			    2, p, row_who, &w, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return 500;
	}
	if (!w.found) {
		c->role = LSP_API_ANON;
		fail(c, 401, "bad_session", "the session has ended; sign in again");
		return 401;
	}
	if (c->cookie) { /* the double-submit check, for methods that change state */
		const char *m = c->rq->head->method_s;
		size_t ml = c->rq->head->method_len;
		char got[64], want[33];
		if (!(ml == 3 && !memcmp(m, "GET", 3)) && !(ml == 4 && !memcmp(m, "HEAD", 4))) {
			csrf_of(c->a, tok, want);
			if (!header(c, "x-csrf-token", got, sizeof got) || strlen(got) != 32 ||
			    CRYPTO_memcmp(got, want, 32) != 0) {
				fail(c, 403, "csrf", "missing or wrong X-CSRF-Token for a cookie session");
				return 403;
			}
		}
	}
	return 0;
}

/* ---- helpers over the body and the store ----------------------------------- */

static const char *bstr(call *c, const char *k)
{
	return c->body ? json_string_value(json_object_get(c->body, k)) : NULL;
}

struct chan {
	int found;
	char name[LSP_NAME_MAX + 1], title[TITLE_MAX * 4 + 1], category[CATEGORY_MAX * 4 + 1],
		owner[LSP_NAME_MAX + 1];
	int mature, suspended, has_key;
	long long created_at, key_changed_at;
};

static int row_chan(void *ctx, int ncol, const char *const *v)
{
	struct chan *ch = ctx;
	if (ncol < 9)
		return 1;
	ch->found = 1;
	snprintf(ch->name, sizeof ch->name, "%s", v[0] ? v[0] : "");
	snprintf(ch->title, sizeof ch->title, "%s", v[1] ? v[1] : "");
	snprintf(ch->category, sizeof ch->category, "%s", v[2] ? v[2] : "");
	ch->mature = lsp_store_int(v[3]) != 0;
	ch->suspended = lsp_store_int(v[4]) != 0;
	snprintf(ch->owner, sizeof ch->owner, "%s", v[5] ? v[5] : "");
	ch->created_at = lsp_store_int(v[6]);
	ch->key_changed_at = lsp_store_int(v[7]);
	ch->has_key = v[8] && *v[8];
	return 1;
}

#define CHAN_COLS "name, title, category, mature, suspended, owner, created_at, key_changed_at, key_hash"

/* Load c->arg; answers 404 (also for a channel this caller may not see) and
 * returns -1, or 0.  owner: 1 when the caller must own it (or be admin). */
static int load_chan(call *c, struct chan *ch, int owner)
{
	const char *p[1] = { c->arg };
	int rc, mine;
	memset(ch, 0, sizeof *ch);
	rc = lsp_store_exec(c->a->cfg.st, "SELECT " CHAN_COLS " FROM channels WHERE name = $1", 1, p, row_chan, ch,
			    c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return -1;
	}
	mine = c->role == LSP_API_ADMIN || (c->role != LSP_API_ANON && !strcmp(ch->owner, c->user));
	if (!ch->found || (ch->mature && c->kid) || (ch->suspended && !mine)) {
		fail(c, 404, "not_found", "no such channel");
		return -1;
	}
	if (owner && !mine) {
		fail(c, 403, "forbidden", "only the channel's owner or an admin may do this");
		return -1;
	}
	return 0;
}

static json_t *chan_json(const struct chan *ch, int mine)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s}", "name", ch->name, "title", ch->title, "category", ch->category,
			      "mature", ch->mature, "owner", ch->owner);
	if (o && mine) {
		json_object_set_new(o, "suspended", json_boolean(ch->suspended));
		json_object_set_new(o, "has_key", json_boolean(ch->has_key));
		json_object_set_new(o, "created_at", json_integer(ch->created_at));
		json_object_set_new(o, "key_changed_at", json_integer(ch->key_changed_at));
	}
	return o;
}

static void kick(call *c, const char *channel, int *kicked)
{
	*kicked = 0;
	if (c->a->cfg.kick && c->a->cfg.kick(c->a->cfg.kick_ctx, channel) == 0)
		*kicked = 1;
}

/* ---- handlers --------------------------------------------------------------- */

static void h_health(call *c)
{
	reply(c, 200, json_pack("{s:s,s:s}", "status", "ok", "store", lsp_store_backend(c->a->cfg.st)));
}

static void h_signup(call *c)
{
	const char *name = bstr(c, "name"), *pw = bstr(c, "password");
	json_t *age = c->body ? json_object_get(c->body, "age") : NULL, *cr = c->body ? json_object_get(c->body, "creator") : NULL;
	char hash[LSP_PASSWD_HASH_MAX], kids[4];
	const char *p[4];
	const char *role;
	int kid, rc;
	if (limited(c, NULL))
		return;
	if (!name || !lsp_name_valid(name) || name[0] == '-' || !strncmp(name, "erased-", 7)) {
		fail(c, 400, "bad_name", "name must match [a-z0-9_][a-z0-9_-]{0,63}");
		return;
	}
	if (!pw || strlen(pw) < PW_MIN || strlen(pw) > PW_MAX) {
		fail(c, 400, "bad_password", "password must be 8 to 256 bytes");
		return;
	}
	if (!json_is_integer(age) || json_integer_value(age) < 0 || json_integer_value(age) > 150) {
		fail(c, 400, "bad_age", "age (declared, in years) is required: an integer 0..150");
		return;
	}
	if (cr && !json_is_boolean(cr)) {
		fail(c, 400, "bad_request", "creator must be a boolean");
		return;
	}
	kid = json_integer_value(age) < c->a->cfg.kid_age;
	if (kid && json_is_true(cr)) {
		fail(c, 403, "kid_mode", "kid-mode accounts cannot be creators");
		return;
	}
	role = json_is_true(cr) ? "creator" : "viewer";
	if (lsp_passwd_hash(pw, c->a->cfg.scrypt_log2n, hash, sizeof hash) < 0) {
		fail(c, 500, "hash", "unable to hash the password");
		return;
	}
	rc = lsp_user_add(c->a->cfg.st, name, c->err, sizeof c->err);
	if (rc == -EEXIST) {
		fail(c, 409, "exists", "that name is taken");
		return;
	}
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	snprintf(kids, sizeof kids, "%d", kid);
	p[0] = name;
	p[1] = hash;
	p[2] = role;
	p[3] = kids;
	rc = lsp_store_exec(c->a->cfg.st, "UPDATE users SET pw_hash = $2, role = $3, kid = $4 WHERE name = $1", 4, p,
			    NULL, NULL, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	log_ev(c, 1, "signed up", "user", name, "role", role);
	new_session(c, 201, name, role, kid);
}

struct cred {
	int found, kid;
	char hash[LSP_PASSWD_HASH_MAX], role[16];
};

static int row_cred(void *ctx, int ncol, const char *const *v)
{
	struct cred *r = ctx;
	if (ncol < 3)
		return 1;
	r->found = v[0] != NULL;
	snprintf(r->hash, sizeof r->hash, "%s", v[0] ? v[0] : "");
	snprintf(r->role, sizeof r->role, "%s", v[1] ? v[1] : "viewer");
	r->kid = lsp_store_int(v[2]) != 0;
	return 1;
}

static void h_signin(call *c)
{
	const char *name = bstr(c, "name"), *pw = bstr(c, "password");
	const char *p[1] = { name };
	struct cred r;
	int rc;
	if (!name || !pw || !lsp_name_valid(name) || strlen(pw) > PW_MAX) {
		fail(c, 400, "bad_request", "name and password are required");
		return;
	}
	if (limited(c, name))
		return;
	memset(&r, 0, sizeof r);
	rc = lsp_store_exec(c->a->cfg.st, "SELECT pw_hash, role, kid FROM users WHERE name = $1", 1, p, row_cred, &r,
			    c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	/* the same work whether or not the user exists */
	rc = lsp_passwd_verify(pw, r.found ? r.hash : c->a->dummy_hash);
	if (!r.found || rc != 1) {
		log_ev(c, 1, "sign-in refused", "user", name, "peer", c->rq->peer);
		fail(c, 401, "bad_credentials", "wrong name or password");
		return;
	}
	log_ev(c, 1, "signed in", "user", name, NULL, NULL);
	new_session(c, 200, name, r.role, r.kid);
}

static void h_signout(call *c)
{
	const char *p[1] = { c->sess_hash };
	int rc = lsp_store_exec(c->a->cfg.st, "DELETE FROM sessions WHERE hash = $1", 1, p, NULL, NULL, c->err,
				sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	clear_cookies(c);
	reply(c, 204, NULL);
}

struct prof {
	json_t *o;
};

static int row_prof(void *ctx, int ncol, const char *const *v)
{
	struct prof *pr = ctx;
	if (ncol < 4)
		return 1;
	pr->o = json_pack("{s:s,s:s,s:b,s:I}", "name", v[0] ? v[0] : "", "role", v[1] ? v[1] : "viewer", "kid",
			  lsp_store_int(v[2]) != 0, "created_at", (json_int_t)lsp_store_int(v[3]));
	return 1;
}

static void profile(call *c, const char *user)
{
	const char *p[1] = { user };
	struct prof pr = { NULL };
	int rc = lsp_store_exec(c->a->cfg.st, "SELECT name, role, kid, created_at FROM users WHERE name = $1", 1, p,
				row_prof, &pr, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	if (!pr.o) {
		fail(c, 404, "not_found", "no such user");
		return;
	}
	reply(c, 200, pr.o);
}

static void h_me(call *c) { profile(c, c->user); }

static void h_export(call *c)
{
	char *out = NULL;
	int rc = lsp_dsar_export(c->a->cfg.st, c->user, "self", &out, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	log_ev(c, 1, "data export", "user", c->user, NULL, NULL);
	add_header(c, "Content-Disposition: attachment; filename=\"lsp-export-%s.json\"\r\n%s", c->user, "");
	c->rs->status = 200;
	c->rs->body = out;
	c->rs->body_len = strlen(out);
}

/* Collect the names of channels a user owns (to kick after an erasure). */
struct owned {
	char names[16][LSP_NAME_MAX + 1];
	int n;
};

static int row_owned(void *ctx, int ncol, const char *const *v)
{
	struct owned *o = ctx;
	if (ncol > 0 && v[0] && o->n < 16)
		snprintf(o->names[o->n++], sizeof o->names[0], "%s", v[0]);
	return 0;
}

/* Erase user (actor asked); kick the publishers of the channels that go
 * with the account.  0 or negative (answered). */
static int erase(call *c, const char *user, const char *actor)
{
	struct owned o = { .n = 0 };
	const char *p[1] = { user };
	int rc, kicked;
	rc = lsp_store_exec(c->a->cfg.st, "SELECT name FROM channels WHERE owner = $1", 1, p, row_owned, &o, c->err,
			    sizeof c->err);
	if (rc >= 0)
		rc = lsp_dsar_erase(c->a->cfg.st, user, actor, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return rc;
	}
	for (int i = 0; i < o.n; i++)
		kick(c, o.names[i], &kicked);
	return 0;
}

static void h_erase(call *c)
{
	if (erase(c, c->user, "self") < 0)
		return;
	log_ev(c, 1, "account erased", "by", "self", NULL, NULL);
	clear_cookies(c);
	reply(c, 204, NULL);
}

static void h_chat_token(call *c)
{
	const char *chname = bstr(c, "channel");
	lsp_token t;
	char tok[LSP_TOKEN_MAX];
	memset(&t, 0, sizeof t);
	if (c->kid) {
		fail(c, 403, "kid_mode", "chat sending and tipping are off for kid-mode accounts");
		return;
	}
	snprintf(t.user, sizeof t.user, "%s", c->user);
	snprintf(t.channel, sizeof t.channel, "*");
	t.role = c->role & (LSP_API_MOD | LSP_API_ADMIN) ? LSP_ROLE_MOD : LSP_ROLE_VIEWER;
	if (chname) {
		struct chan ch;
		if (!lsp_name_valid(chname)) {
			fail(c, 400, "bad_name", "bad channel name");
			return;
		}
		snprintf(c->arg, sizeof c->arg, "%s", chname);
		if (load_chan(c, &ch, 0) < 0)
			return;
		snprintf(t.channel, sizeof t.channel, "%s", chname);
		if (c->role == LSP_API_ADMIN || !strcmp(ch.owner, c->user))
			t.role = LSP_ROLE_OWNER;
	}
	t.exp = (long long)time(NULL) + CHAT_TOKEN_TTL;
	if (lsp_token_issue(c->a->cfg.secret, c->a->cfg.secretlen, &t, tok, sizeof tok) < 0) {
		fail(c, 500, "token", "unable to issue a token");
		return;
	}
	reply(c, 200, json_pack("{s:s,s:s,s:s,s:I}", "token", tok, "role", lsp_role_name(t.role), "channel", t.channel,
				"expires_at", (json_int_t)t.exp));
}

struct list {
	call *c;
	json_t *arr;
};

static int row_list(void *ctx, int ncol, const char *const *v)
{
	struct list *l = ctx;
	struct chan ch;
	int mine;
	memset(&ch, 0, sizeof ch);
	row_chan(&ch, ncol, v);
	mine = l->c->role == LSP_API_ADMIN || (l->c->role != LSP_API_ANON && !strcmp(ch.owner, l->c->user));
	if ((ch.mature && l->c->kid) || (ch.suspended && !mine))
		return 0;
	json_array_append_new(l->arr, chan_json(&ch, mine));
	return 0;
}

static void h_channels(call *c)
{
	struct list l = { c, json_array() };
	int rc;
	if (!l.arr) {
		fail(c, 500, "oom", "out of memory");
		return;
	}
	rc = lsp_store_exec(c->a->cfg.st, "SELECT " CHAN_COLS " FROM channels ORDER BY name", 0, NULL, row_list, &l,
			    c->err, sizeof c->err);
	if (rc < 0) {
		json_decref(l.arr);
		store_fail(c, rc);
		return;
	}
	reply(c, 200, json_pack("{s:o}", "channels", l.arr));
}

/* The body's title / category / mature are well-typed: 0, or -1 (answered). */
static int check_meta(call *c)
{
	json_t *t = json_object_get(c->body, "title"), *g = json_object_get(c->body, "category"),
	       *m = json_object_get(c->body, "mature");
	if ((t && (!json_is_string(t) || strlen(json_string_value(t)) > TITLE_MAX)) ||
	    (g && (!json_is_string(g) || strlen(json_string_value(g)) > CATEGORY_MAX)) || (m && !json_is_boolean(m))) {
		fail(c, 400, "bad_request", "title (<= 140 bytes), category (<= 64 bytes) are strings, mature a boolean");
		return -1;
	}
	return 0;
}

/* title / category / mature from the body into the row; 0 or -1 (answered). */
static int set_meta(call *c, const char *name)
{
	json_t *t = json_object_get(c->body, "title"), *g = json_object_get(c->body, "category"),
	       *m = json_object_get(c->body, "mature");
	const char *p[2] = { name, NULL };
	int rc = 0;
	if (check_meta(c) < 0)
		return -1;
	if (t && rc >= 0) {
		p[1] = json_string_value(t);
		rc = lsp_store_exec(c->a->cfg.st, "UPDATE channels SET title = $2 WHERE name = $1", 2, p, NULL, NULL,
				    c->err, sizeof c->err);
	}
	if (g && rc >= 0) {
		p[1] = json_string_value(g);
		rc = lsp_store_exec(c->a->cfg.st, "UPDATE channels SET category = $2 WHERE name = $1", 2, p, NULL, NULL,
				    c->err, sizeof c->err);
	}
	if (m && rc >= 0) {
		p[1] = json_is_true(m) ? "1" : "0";
		rc = lsp_store_exec(c->a->cfg.st, "UPDATE channels SET mature = $2 WHERE name = $1", 2, p, NULL, NULL,
				    c->err, sizeof c->err);
	}
	if (rc < 0) {
		store_fail(c, rc);
		return -1;
	}
	return 0;
}

static void h_channel_create(call *c)
{
	const char *name = bstr(c, "name");
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	const char *p[2] = { name, c->user };
	struct chan ch;
	json_t *o;
	int rc;
	if (!c->body || !name || !lsp_name_valid(name) || name[0] == '-') {
		fail(c, 400, "bad_name", "name must match [a-z0-9_][a-z0-9_-]{0,63}");
		return;
	}
	if (check_meta(c) < 0)
		return;
	if (lsp_key_new(name, key, sizeof key) < 0) {
		fail(c, 500, "rng", "unable to draw a key");
		return;
	}
	lsp_key_hash(key, hash);
	rc = lsp_store_channel_add(c->a->cfg.st, name, hash, c->err, sizeof c->err);
	if (rc == -EEXIST) {
		fail(c, 409, "exists", "that channel exists");
		goto done;
	}
	if (rc < 0 || (rc = lsp_store_exec(c->a->cfg.st, "UPDATE channels SET owner = $2 WHERE name = $1", 2, p, NULL,
					   NULL, c->err, sizeof c->err)) < 0) {
		store_fail(c, rc);
		goto done;
	}
	if (set_meta(c, name) < 0)
		goto done;
	snprintf(c->arg, sizeof c->arg, "%s", name);
	if (load_chan(c, &ch, 1) < 0)
		goto done;
	o = chan_json(&ch, 1);
	json_object_set_new(o, "key", json_string(key));
	log_ev(c, 1, "channel created", "channel", name, "user", c->user);
	reply(c, 201, o);
done:
	OPENSSL_cleanse(key, sizeof key);
}

static void h_channel_get(call *c)
{
	struct chan ch;
	if (load_chan(c, &ch, 0) < 0)
		return;
	reply(c, 200, chan_json(&ch, c->role == LSP_API_ADMIN || (c->role != LSP_API_ANON && !strcmp(ch.owner, c->user))));
}

static void h_channel_patch(call *c)
{
	struct chan ch;
	if (load_chan(c, &ch, 1) < 0)
		return;
	if (!c->body) {
		fail(c, 400, "bad_request", "a JSON object body is required");
		return;
	}
	if (set_meta(c, c->arg) < 0 || load_chan(c, &ch, 1) < 0)
		return;
	reply(c, 200, chan_json(&ch, 1));
}

static void h_channel_delete(call *c)
{
	struct chan ch;
	int rc, kicked;
	if (load_chan(c, &ch, 1) < 0)
		return;
	if ((rc = lsp_store_channel_rm(c->a->cfg.st, c->arg, c->err, sizeof c->err)) < 0) {
		store_fail(c, rc);
		return;
	}
	kick(c, c->arg, &kicked);
	log_ev(c, 1, "channel deleted", "channel", c->arg, "user", c->user);
	reply(c, 204, NULL);
}

static void h_key_rotate(call *c)
{
	struct chan ch;
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	int rc, kicked;
	if (load_chan(c, &ch, 1) < 0)
		return;
	if (ch.suspended) {
		fail(c, 409, "suspended", "the channel is suspended; an admin must lift it first");
		return;
	}
	if (lsp_key_new(c->arg, key, sizeof key) < 0) {
		fail(c, 500, "rng", "unable to draw a key");
		return;
	}
	lsp_key_hash(key, hash);
	if ((rc = lsp_store_channel_set_key(c->a->cfg.st, c->arg, hash, c->err, sizeof c->err)) < 0) {
		store_fail(c, rc);
		goto done;
	}
	kick(c, c->arg, &kicked); /* a publisher on the old key goes too */
	log_ev(c, 1, "stream key rotated", "channel", c->arg, "user", c->user);
	reply(c, 200, json_pack("{s:s,s:s,s:I,s:b}", "name", c->arg, "key", key, "key_changed_at",
				(json_int_t)time(NULL), "kicked", kicked));
done:
	OPENSSL_cleanse(key, sizeof key);
}

static void h_channel_health(call *c)
{
	struct chan ch;
	char root[4096], buf[8192], nh[2048];
	json_t *o, *live = NULL, *ing = NULL;
	int n;
	if (load_chan(c, &ch, 1) < 0)
		return;
	snprintf(root, sizeof root, "%s/hls", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	n = lsp_chandir_json(root, c->arg, time(NULL), buf, sizeof buf);
	if (n > 0)
		live = json_loadb(buf, (size_t)n, 0, NULL);
	if (c->a->cfg.health && c->a->cfg.health(c->a->cfg.health_ctx, c->arg, nh, sizeof nh) == 0)
		ing = json_loads(nh, 0, NULL);
	o = json_pack("{s:s,s:b,s:b,s:b}", "name", c->arg, "suspended", ch.suspended, "has_key", ch.has_key, "live",
		      live && json_is_true(json_object_get(live, "live")));
	if (o) {
		json_t *rungs = live ? json_object_get(live, "rungs") : NULL;
		json_object_set_new(o, "rungs", rungs ? json_incref(rungs) : json_array());
		json_object_set_new(o, "ingest", ing ? ing : json_null());
	}
	json_decref(live);
	reply(c, 200, o);
}

static void h_recordings(call *c)
{
	struct chan ch;
	char root[4096], *buf;
	json_t *arr;
	int n;
	if (load_chan(c, &ch, 1) < 0)
		return;
	snprintf(root, sizeof root, "%s/vod", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if (!(buf = malloc(RECORDINGS_MAX))) {
		fail(c, 500, "oom", "out of memory");
		return;
	}
	n = lsp_vod_json(root, c->arg, buf, RECORDINGS_MAX);
	arr = n > 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	free(buf);
	if (n < 0 || !json_is_array(arr)) {
		json_decref(arr);
		fail(c, 500, "recordings", "unable to list the recordings");
		return;
	}
	reply(c, 200, json_pack("{s:s,s:o}", "name", c->arg, "recordings", arr));
}

static void h_suspend(call *c)
{
	struct chan ch;
	json_t *s = c->body ? json_object_get(c->body, "suspended") : NULL;
	const char *p[1] = { c->arg };
	int rc, kicked = 0;
	if (load_chan(c, &ch, 1) < 0)
		return;
	if (!json_is_boolean(s)) {
		fail(c, 400, "bad_request", "body: {\"suspended\": true|false}");
		return;
	}
	rc = lsp_store_exec(c->a->cfg.st,
			    json_is_true(s) ? "UPDATE channels SET suspended = 1, key_hash = NULL WHERE name = $1"
					    : "UPDATE channels SET suspended = 0 WHERE name = $1",
			    1, p, NULL, NULL, c->err, sizeof c->err);
	if (rc < 0) {
		store_fail(c, rc);
		return;
	}
	if (json_is_true(s))
		kick(c, c->arg, &kicked);
	log_ev(c, 1, json_is_true(s) ? "channel suspended" : "channel reinstated", "channel", c->arg, "by", c->user);
	reply(c, 200, json_pack("{s:s,s:b,s:b}", "name", c->arg, "suspended", json_is_true(s), "kicked", kicked));
}

static void h_user_get(call *c) { profile(c, c->arg); }

int lsp_api_set_role(lsp_store *st, const char *user, const char *role, char *err, size_t errcap)
{
	const char *p[2] = { user, role };
	int rc;
	if (!role_bit(role)) {
		snprintf(err, errcap, "role must be viewer, creator, mod or admin");
		return -EINVAL;
	}
	rc = lsp_store_exec(st, "UPDATE users SET role = $2 WHERE name = $1", 2, p, NULL, NULL, err, errcap);
	if (rc == 0) {
		snprintf(err, errcap, "no user %s", user);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

static void h_user_role(call *c)
{
	const char *role = bstr(c, "role");
	int rc;
	if (!role || !role_bit(role)) {
		fail(c, 400, "bad_role", "role must be viewer, creator, mod or admin");
		return;
	}
	if ((rc = lsp_api_set_role(c->a->cfg.st, c->arg, role, c->err, sizeof c->err)) < 0) {
		store_fail(c, rc);
		return;
	}
	log_ev(c, 1, "role set", "user", c->arg, "role", role);
	profile(c, c->arg);
}

static void h_user_erase(call *c)
{
	if (erase(c, c->arg, c->user) < 0)
		return;
	log_ev(c, 1, "account erased", "by", c->user, NULL, NULL);
	reply(c, 204, NULL);
}

#define CR (LSP_API_CREATOR | LSP_API_ADMIN)
static const route routes[] = {
	{ "GET", "/api/v1/health", LSP_API_ALL, h_health },
	{ "POST", "/api/v1/signup", LSP_API_ALL, h_signup },
	{ "POST", "/api/v1/signin", LSP_API_ALL, h_signin },
	{ "POST", "/api/v1/signout", LSP_API_USERS, h_signout },
	{ "GET", "/api/v1/me", LSP_API_USERS, h_me },
	{ "DELETE", "/api/v1/me", LSP_API_USERS, h_erase },
	{ "GET", "/api/v1/me/export", LSP_API_USERS, h_export },
	{ "POST", "/api/v1/chat/token", LSP_API_USERS, h_chat_token },
	{ "GET", "/api/v1/channels", LSP_API_ALL, h_channels },
	{ "POST", "/api/v1/channels", CR, h_channel_create },
	{ "GET", "/api/v1/channels/{name}", LSP_API_ALL, h_channel_get },
	{ "PATCH", "/api/v1/channels/{name}", CR, h_channel_patch },
	{ "DELETE", "/api/v1/channels/{name}", CR, h_channel_delete },
	{ "POST", "/api/v1/channels/{name}/key", CR, h_key_rotate },
	{ "GET", "/api/v1/channels/{name}/health", CR, h_channel_health },
	{ "GET", "/api/v1/channels/{name}/recordings", CR, h_recordings },
	{ "POST", "/api/v1/channels/{name}/suspend", LSP_API_ADMIN, h_suspend },
	{ "GET", "/api/v1/users/{name}", LSP_API_MOD | LSP_API_ADMIN, h_user_get },
	{ "POST", "/api/v1/users/{name}/role", LSP_API_ADMIN, h_user_role },
	{ "DELETE", "/api/v1/users/{name}", LSP_API_ADMIN, h_user_erase },
};
#define NROUTES (sizeof routes / sizeof routes[0])

void lsp_api_routes(void (*fn)(void *ctx, const char *method, const char *pattern, int roles), void *ctx)
{
	for (size_t i = 0; i < NROUTES; i++)
		fn(ctx, routes[i].method, routes[i].pattern, routes[i].roles);
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

static void cors(call *c)
{
	char origin[256];
	const char *list = c->a->cfg.cors;
	size_t ol;
	if (!list || !header(c, "origin", origin, sizeof origin))
		return;
	ol = strlen(origin);
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		if (n == ol && !memcmp(s, origin, n)) {
			add_header(c, "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true%s\r\n",
				   origin, "");
			add_header(c, "Vary: Origin\r\n%s%s", "", "");
			return;
		}
		s += n;
		if (*s == ',')
			s++;
	}
}

void lsp_api_serve(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs)
{
	call *c = calloc(1, sizeof *c);
	const route *r = NULL;
	char method[16], allow[128] = "";
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
		fail(c, 501, "method", "unknown method");
		goto done;
	}
	memcpy(method, rq->head->method_s, ml);
	method[ml] = 0;
	if (lsp_http_path_decode(rq->head->path, rq->head->path_len, c->path, sizeof c->path) < 0) {
		fail(c, 400, "bad_path", "bad request path");
		goto done;
	}
	cors(c);
	if (!strcmp(method, "OPTIONS")) { /* CORS preflight */
		add_header(c, "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE\r\n%s%s", "", "");
		add_header(c, "Access-Control-Allow-Headers: Content-Type, Authorization, X-CSRF-Token\r\n%s%s", "", "");
		add_header(c, "Access-Control-Max-Age: 600\r\n%s%s", "", "");
		reply(c, 204, NULL);
		goto done;
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, c->path, c->arg, sizeof c->arg))
			continue;
		if (!strcmp(routes[i].method, method) || (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
			r = &routes[i];
			break;
		}
		if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow)
			snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "",
				 routes[i].method);
	}
	if (!r) {
		if (allow[0]) {
			add_header(c, "Allow: %s\r\n%s", allow, "");
			fail(c, 405, "method_not_allowed", "method not allowed here");
		} else
			fail(c, 404, "not_found", "no such route");
		goto done;
	}
	if (authenticate(c) != 0)
		goto done;
	if (!(r->roles & c->role)) {
		if (c->role == LSP_API_ANON)
			fail(c, 401, "unauthenticated", "sign in first");
		else
			fail(c, 403, "forbidden", "your role may not do this");
		goto done;
	}
	if (rq->body_len > 0) {
		char ct[128];
		json_error_t je;
		if (!header(c, "content-type", ct, sizeof ct) || strncasecmp(ct, "application/json", 16) != 0) {
			fail(c, 415, "content_type", "bodies are application/json");
			goto done;
		}
		c->body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!c->body || !json_is_object(c->body)) {
			fail(c, 400, "bad_json", "the body must be one JSON object");
			goto done;
		}
	}
	r->fn(c);
done:
	json_decref(c->body);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

int lsp_api_open(lsp_api **out, const lsp_api_cfg *cfg, char *err, size_t errcap)
{
	lsp_api *a = calloc(1, sizeof *a);
	*out = NULL;
	if (!a || !(a->rl = calloc(RL_SLOTS, sizeof *a->rl))) {
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
	if (!a->cfg.st || !a->cfg.secret || a->cfg.secretlen == 0) {
		snprintf(err, errcap, "lsp-api needs a store and a secret");
		free(a->rl);
		free(a);
		return -EINVAL;
	}
	if (lsp_passwd_hash("not a password", a->cfg.scrypt_log2n, a->dummy_hash, sizeof a->dummy_hash) < 0) {
		snprintf(err, errcap, "scrypt is not available");
		free(a->rl);
		free(a);
		return -EIO;
	}
	*out = a;
	return 0;
}

void lsp_api_close(lsp_api *a)
{
	if (!a)
		return;
	free(a->rl);
	free(a);
}
