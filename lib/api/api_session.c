/* api_session.c — who is calling: sign-up, sign-in and sign-out, the
 * sessions they issue, the per-request session check with its CSRF rule,
 * and the sign-in rate limits.  See api_int.h.
 *
 * A session token is a lib/state/token.c token: user, a chat role (mod
 * for platform mods and admins, else viewer), a reserved scope that
 * matches no channel ("-session", or "-kid" for a kid-mode account), so
 * lsp-chat never takes a session token for chat — chat uses the
 * short-lived, one-channel tokens of POST /api/v1/chat/token — and an
 * expiry.  Its
 * SHA-256 is the sessions row (lib/state/session.c); a token whose row is
 * gone (signed out, erased) is refused here even before it expires.
 * The rate-limit table belongs to the lsp_api; nothing else here keeps
 * state between requests. */
#include "api/api_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "state/account.h"
#include "state/ledger.h"
#include "state/session.h"
#include "state/token.h"

/* ---- rate limits ---------------------------------------------------------- */

/* 429 with Retry-After: w seconds (>= 1). */
static int refuse(api_call *c, int w, const char *msg)
{
	char ra[16];
	snprintf(ra, sizeof ra, "%d", w);
	api_add_header(c, "Retry-After: %s%s\r\n", ra, "");
	api_fail(c, 429, "rate_limited", msg);
	return 1;
}

int api_limited(api_call *c, const char *user)
{
	char k[API_RL_KEY_MAX];
	int w = 0, w2;
	snprintf(k, sizeof k, "a:%s", c->rq->peer);
	w = lsp_ratelimit_take(c->a->rl, k, c->a->cfg.rl_addr_burst, c->a->cfg.rl_addr_per_s, lsp_clock_mono_ms());
	if (user) {
		snprintf(k, sizeof k, "u:%s", user);
		if ((w2 = lsp_ratelimit_take(c->a->rl, k, c->a->cfg.rl_user_burst, c->a->cfg.rl_user_per_s,
					     lsp_clock_mono_ms())) > w)
			w = w2;
	}
	if (!w)
		return 0;
	api_event(c, LSP_WARN, "rate limited", "user", LSV_S(user ? user : ""), "peer", LSV_S(c->rq->peer), NULL);
	return refuse(c, w, "too many attempts; wait and retry");
}

/* Accounts made from one address: --rate-signup a burst, refilled over an
 * hour.  Taken only for a well-formed sign-up, so typos cost nothing. */
static int signup_limited(api_call *c)
{
	char k[API_RL_KEY_MAX];
	int w;
	snprintf(k, sizeof k, "s:%s", c->rq->peer);
	w = lsp_ratelimit_take(c->a->rl, k, c->a->cfg.rl_signup_burst, c->a->cfg.rl_signup_per_s, lsp_clock_mono_ms());
	if (!w)
		return 0;
	api_event(c, LSP_WARN, "sign-up limited", "peer", LSV_S(c->rq->peer), NULL);
	return refuse(c, w, "too many new accounts from this address; wait and retry");
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

/* Issue a session for user and answer status with the profile. */
static void new_session(api_call *c, int status, const char *user, const char *role, int kid)
{
	lsp_token t;
	unsigned char r[2];
	char tok[LSP_TOKEN_MAX], hash[LSP_HASH_HEX], csrf[33], cookie[LSP_TOKEN_MAX + 160];
	long long n = (long long)time(NULL);
	int rc;
	memset(&t, 0, sizeof t);
	snprintf(t.user, sizeof t.user, "%s", user);
	snprintf(t.channel, sizeof t.channel, "%s", kid ? API_KID_SCOPE : API_SESSION_SCOPE);
	t.role = lsp_api_role_bit(role) & (LSP_API_MOD | LSP_API_ADMIN) ? LSP_ROLE_MOD : LSP_ROLE_VIEWER;
	if (RAND_bytes(r, sizeof r) != 1) /* spread expiries so two sign-ins rarely share a token */
		r[0] = r[1] = 0;
	t.exp = n + c->a->cfg.session_ttl + ((r[0] << 8 | r[1]) % 600);
	if (lsp_token_issue(c->a->cfg.secret, c->a->cfg.secretlen, &t, tok, sizeof tok) < 0) {
		api_fail(c, 500, "token", "unable to issue a session");
		return;
	}
	lsp_key_hash(tok, hash);
	if ((rc = lsp_session_add(c->a->cfg.st, hash, user, n, t.exp, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		goto done;
	}
	csrf_of(c->a, tok, csrf);
	snprintf(cookie, sizeof cookie, "lsp_session=%s; Path=/api/; Max-Age=%lld; HttpOnly; Secure; SameSite=Strict", tok,
		 t.exp - n);
	api_add_header(c, "Set-Cookie: %s%s\r\n", cookie, "");
	snprintf(cookie, sizeof cookie, "lsp_csrf=%s; Path=/; Max-Age=%lld; Secure; SameSite=Strict", csrf, t.exp - n);
	api_add_header(c, "Set-Cookie: %s%s\r\n", cookie, "");
	api_reply(c, status,
		  json_pack("{s:{s:s,s:s,s:b},s:s,s:s,s:I}", "user", "name", user, "role", role, "kid", kid, "token", tok,
			    "csrf", csrf, "expires_at", (json_int_t)t.exp));
done:
	OPENSSL_cleanse(tok, sizeof tok);
	OPENSSL_cleanse(cookie, sizeof cookie);
}

void api_clear_cookies(api_call *c)
{
	api_add_header(c, "Set-Cookie: lsp_session=; Path=/api/; Max-Age=0; HttpOnly; Secure; SameSite=Strict\r\n%s%s",
		       "", "");
	api_add_header(c, "Set-Cookie: lsp_csrf=; Path=/; Max-Age=0; Secure; SameSite=Strict\r\n%s%s", "", "");
}

/* The session token of the request (bearer first, then the lsp_session
 * cookie) into tok; 0 none, 1 found, -1 a bearer too long (answered). */
static int session_token(api_call *c, char *tok, size_t cap)
{
	char auth[LSP_TOKEN_MAX + 16], ck[4096];
	tok[0] = 0;
	if (api_header(c, "authorization", auth, sizeof auth) && strncasecmp(auth, "Bearer ", 7) == 0) {
		size_t l = strlen(auth + 7);
		if (l == 0 || l >= cap) {
			api_fail(c, 401, "bad_session", "sign in again");
			return -1;
		}
		memcpy(tok, auth + 7, l + 1);
		return 1;
	}
	if (!api_header(c, "cookie", ck, sizeof ck))
		return 0;
	for (char *s = ck; s && *s;) {
		char *e = strchr(s, ';');
		while (*s == ' ')
			s++;
		if (strncmp(s, "lsp_session=", 12) == 0) {
			size_t l = e ? (size_t)(e - s - 12) : strlen(s + 12);
			if (l > 0 && l < cap) {
				memcpy(tok, s + 12, l);
				tok[l] = 0;
				c->cookie = 1;
			}
			break;
		}
		s = e ? e + 1 : NULL;
	}
	return tok[0] != 0;
}

int api_authenticate(api_call *c)
{
	char tok[LSP_TOKEN_MAX];
	lsp_account who;
	lsp_token t;
	int rc;
	c->role = LSP_API_ANON;
	if ((rc = session_token(c, tok, sizeof tok)) <= 0)
		return rc < 0 ? 401 : 0;
	if ((rc = lsp_token_verify(c->a->cfg.secret, c->a->cfg.secretlen, tok, strlen(tok), (long long)time(NULL),
				   &t)) < 0) {
		api_fail(c, 401, rc == -ETIMEDOUT ? "session_expired" : "bad_session", "sign in again");
		return 401;
	}
	lsp_key_hash(tok, c->sess_hash);
	rc = lsp_session_user(c->a->cfg.st, c->sess_hash, (long long)time(NULL), &who, c->err, sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return 500;
	}
	if (rc != 1 || !lsp_api_role_bit(who.role)) {
		api_fail(c, 401, "bad_session", "the session has ended; sign in again");
		return 401;
	}
	snprintf(c->user, sizeof c->user, "%s", who.name);
	c->role = lsp_api_role_bit(who.role);
	c->kid = who.kid;
	if (c->cookie) { /* the double-submit check, for methods that change state */
		const char *m = c->rq->head->method_s;
		size_t ml = c->rq->head->method_len;
		char got[64], want[33];
		if (!(ml == 3 && !memcmp(m, "GET", 3)) && !(ml == 4 && !memcmp(m, "HEAD", 4))) {
			csrf_of(c->a, tok, want);
			if (!api_header(c, "x-csrf-token", got, sizeof got) || strlen(got) != 32 ||
			    CRYPTO_memcmp(got, want, 32) != 0) {
				api_fail(c, 403, "csrf", "missing or wrong X-CSRF-Token for a cookie session");
				return 403;
			}
		}
	}
	return 0;
}

/* ---- sign-up, sign-in, sign-out ---------------------------------------------- */

/* Password work: on the pool's threads when there is a pool, so the loop
 * keeps answering while scrypt runs; the answer is then deferred and given
 * by lsp_api_wake.  Without a pool (tests, fuzzers) it runs here. */
void api_pending_free(lsp_pwjob *j)
{
	api_pending *pd = (api_pending *)j;
	OPENSSL_cleanse(pd, sizeof *pd);
	free(pd);
}

void api_pending_drop(void *ctx, lsp_job *j)
{
	(void)ctx;
	api_pending_free((lsp_pwjob *)j);
}

void api_pw_start(api_call *c, api_pending *pd)
{
	pd->c = *c;
	pd->c.rq = NULL;
	pd->c.body = NULL;
	pd->c.rs = &pd->rs;
	pd->ticket = c->rq->ticket;
	snprintf(pd->peer, sizeof pd->peer, "%s", c->rq->peer);
	memcpy(pd->rs.headers, c->rs->headers, sizeof pd->rs.headers);
	if (!c->a->pool) {
		lsp_pwpool_run(&pd->job);
		pd->c.rs = c->rs;
		pd->then(&pd->c, pd);
		api_pending_free(&pd->job);
		return;
	}
	if (lsp_jobpool_submit(c->a->pool, &pd->job.job) < 0) {
		api_pending_free(&pd->job);
		api_add_header(c, "Retry-After: 1\r\n%s%s", "", "");
		api_event(c, LSP_WARN, "password queue full", "peer", LSV_S(c->rq->peer), NULL);
		api_fail(c, 503, "busy", "too many sign-ins at once; retry in a second");
		return;
	}
	c->rs->defer = 1;
}

int lsp_api_wake_fd(const lsp_api *a) { return a->pool ? lsp_jobpool_fd(a->pool) : -1; }

void lsp_api_wake(void *ctx, lsp_apisrv *s)
{
	lsp_api *a = ctx;
	for (lsp_job *j = lsp_jobpool_done(a->pool), *next; j; j = next) {
		api_pending *pd = (api_pending *)j; /* its job, first, starts with the lsp_job */
		next = j->next;
		pd->then(&pd->c, pd);
		lsp_apisrv_finish(s, pd->ticket, &pd->rs);
		api_pending_free(&pd->job);
	}
}

static api_pending *pending_new(api_call *c, int op, const char *pw, void (*then)(api_call *, api_pending *))
{
	api_pending *pd = calloc(1, sizeof *pd);
	if (!pd) {
		api_fail(c, 503, "busy", "out of memory; retry");
		return NULL;
	}
	pd->job.op = op;
	pd->job.log2n = c->a->cfg.scrypt_log2n;
	snprintf(pd->job.pw, sizeof pd->job.pw, "%s", pw);
	pd->then = then;
	return pd;
}

static void signup_done(api_call *c, api_pending *pd)
{
	int rc;
	if (pd->job.rc < 0) {
		api_fail(c, 500, "hash", "unable to hash the password");
		return;
	}
	rc = lsp_user_add(c->a->cfg.st, pd->name, c->err, sizeof c->err);
	if (rc == -EEXIST) {
		api_fail(c, 409, "exists", "that name is taken");
		return;
	}
	if (rc < 0 ||
	    (rc = lsp_account_set_login(c->a->cfg.st, pd->name, pd->job.hash, pd->role, pd->kid, c->err, sizeof c->err)) <
		    0 ||
	    (rc = lsp_account_set_adult(c->a->cfg.st, pd->name, pd->adult, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		return;
	}
	api_event(c, LSP_INFO, "signed up", "user", LSV_S(pd->name), "role", LSV_S(pd->role), NULL);
	new_session(c, 201, pd->name, pd->role, pd->kid);
}

void api_h_signup(api_call *c)
{
	const char *name = api_bstr(c, "name"), *pw = api_bstr(c, "password");
	json_t *age = c->body ? json_object_get(c->body, "age") : NULL,
	       *cr = c->body ? json_object_get(c->body, "creator") : NULL;
	api_pending *pd;
	int kid;
	if (api_limited(c, NULL))
		return;
	if (!name || !lsp_name_valid(name) || name[0] == '-' || !strncmp(name, "erased-", 7)) {
		api_fail(c, 400, "bad_name", "name must match [a-z0-9_][a-z0-9_-]{0,63}");
		return;
	}
	if (!pw || strlen(pw) < API_PW_MIN || strlen(pw) > API_PW_MAX) {
		api_fail(c, 400, "bad_password", "password must be 8 to 256 bytes");
		return;
	}
	if (!json_is_integer(age) || json_integer_value(age) < 0 || json_integer_value(age) > 150) {
		api_fail(c, 400, "bad_age", "age (declared, in years) is required: an integer 0..150");
		return;
	}
	if (cr && !json_is_boolean(cr)) {
		api_fail(c, 400, "bad_request", "creator must be a boolean");
		return;
	}
	kid = json_integer_value(age) < c->a->cfg.kid_age;
	if (kid && json_is_true(cr)) {
		api_fail(c, 403, "kid_mode", "kid-mode accounts cannot be creators");
		return;
	}
	if (signup_limited(c))
		return;
	if (!(pd = pending_new(c, LSP_PWPOOL_HASH, pw, signup_done)))
		return;
	snprintf(pd->name, sizeof pd->name, "%s", name);
	snprintf(pd->role, sizeof pd->role, "%s", json_is_true(cr) ? "creator" : "viewer");
	pd->kid = kid;
	pd->adult = json_integer_value(age) >= API_ADULT_AGE;
	api_pw_start(c, pd);
}

static void signin_done(api_call *c, api_pending *pd)
{
	if (!pd->found || pd->job.rc != 1) {
		api_event(c, LSP_INFO, "sign-in refused", "user", LSV_S(pd->name), "peer", LSV_S(pd->peer), NULL);
		api_fail(c, 401, "bad_credentials", "wrong name or password");
		return;
	}
	api_event(c, LSP_INFO, "signed in", "user", LSV_S(pd->name), NULL);
	new_session(c, 200, pd->name, pd->role, pd->kid);
}

void api_h_signin(api_call *c)
{
	const char *name = api_bstr(c, "name"), *pw = api_bstr(c, "password");
	api_pending *pd;
	lsp_account acc;
	int found;
	if (!name || !pw || !lsp_name_valid(name) || strlen(pw) > API_PW_MAX) {
		api_fail(c, 400, "bad_request", "name and password are required");
		return;
	}
	if (api_limited(c, name))
		return;
	if (!(pd = pending_new(c, LSP_PWPOOL_VERIFY, pw, signin_done)))
		return;
	found = lsp_account_login(c->a->cfg.st, name, pd->job.hash, sizeof pd->job.hash, &acc, c->err, sizeof c->err);
	if (found < 0) {
		api_pending_free(&pd->job);
		api_store_fail(c, found);
		return;
	}
	/* the same work whether or not the user exists */
	if (!found)
		snprintf(pd->job.hash, sizeof pd->job.hash, "%s", c->a->dummy_hash);
	pd->found = found;
	snprintf(pd->name, sizeof pd->name, "%s", name);
	if (found) {
		snprintf(pd->role, sizeof pd->role, "%s", acc.role);
		pd->kid = acc.kid;
	}
	api_pw_start(c, pd);
}

void api_h_signout(api_call *c)
{
	int rc = lsp_session_rm(c->a->cfg.st, c->sess_hash, c->err, sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return;
	}
	api_clear_cookies(c);
	api_reply(c, 204, NULL);
}
