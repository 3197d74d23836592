/* api_user.c — routes about one account: the caller's profile, an
 * operator's view of a user, platform roles, data export and erasure (the
 * privacy requests, lib/state/dsar.c) and chat tokens for lsp-chat.  See
 * api_int.h.  Nothing here keeps state between requests. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/account.h"
#include "state/dsar.h"
#include "state/token.h"

#define OWNED_KICK_MAX 256 /* channels kicked and purged after an erasure, at most */

int lsp_api_set_role(lsp_store *st, const char *user, const char *role, char *err, size_t errcap)
{
	if (!lsp_api_role_bit(role)) {
		snprintf(err, errcap, "role must be viewer, creator, mod or admin");
		return -EINVAL;
	}
	return lsp_account_set_role(st, user, role, err, errcap);
}

void api_profile(api_call *c, const char *user)
{
	lsp_account acc;
	json_t *o;
	int rc = lsp_account_get(c->a->cfg.st, user, &acc, c->err, sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return;
	}
	if (rc == 0) {
		api_fail(c, 404, "not_found", "no such user");
		return;
	}
	if (!(o = json_pack("{s:s,s:s,s:b,s:I}", "name", acc.name, "role", acc.role, "kid", acc.kid, "created_at",
			    (json_int_t)acc.created_at))) {
		api_fail(c, 500, "oom", "out of memory");
		return;
	}
	api_reply(c, 200, o);
}

void api_h_me(api_call *c) { api_profile(c, c->user); }

void api_h_user_get(api_call *c) { api_profile(c, c->arg); }

void api_h_export(api_call *c)
{
	char *out = NULL;
	int rc = lsp_dsar_export(c->a->cfg.st, c->user, "self", &out, c->err, sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return;
	}
	api_event(c, LSP_INFO, "data export", "user", LSV_S(c->user), NULL);
	api_add_header(c, "Content-Disposition: attachment; filename=\"lsp-export-%s.json\"\r\n%s", c->user, "");
	c->rs->status = 200;
	c->rs->body = out;
	c->rs->body_len = strlen(out);
}

void api_revoke(api_call *c, lsp_revoke_reason reason, const char *user, const char *channel, const char *role)
{
	lsp_revoke r;
	if (c->a->cfg.revoke && lsp_revoke_make(&r, reason, user, channel, role) == 0)
		(void)c->a->cfg.revoke(c->a->cfg.revoke_ctx, &r); /* reported by the callback */
}

/* The names of the channels a user owns (to kick after an erasure). */
struct owned {
	char names[OWNED_KICK_MAX][LSP_NAME_MAX + 1];
	int n;
};

static int add_owned(void *ctx, const char *name)
{
	struct owned *o = ctx;
	if (o->n < OWNED_KICK_MAX)
		snprintf(o->names[o->n++], sizeof o->names[0], "%s", name);
	return 0;
}

/* Erase user (actor asked); kick the publishers of the channels that go
 * with the account and purge their recordings.  0 or negative (answered). */
static int erase(api_call *c, const char *user, const char *actor)
{
	struct owned o = { .n = 0 };
	int rc, kicked;
	rc = lsp_chanmeta_owned(c->a->cfg.st, user, add_owned, &o, c->err, sizeof c->err);
	if (rc >= 0)
		rc = lsp_dsar_erase(c->a->cfg.st, user, actor, c->err, sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return rc;
	}
	api_revoke(c, LSP_REVOKE_ERASED, user, NULL, NULL);
	for (int i = 0; i < o.n; i++) {
		api_revoke(c, LSP_REVOKE_CHANNEL_DELETED, NULL, o.names[i], NULL);
		api_kick(c, o.names[i], &kicked);
		api_purge_recordings(c, o.names[i]); /* never inherited by the name's next owner */
	}
	return 0;
}

void api_h_erase(api_call *c)
{
	if (erase(c, c->user, "self") < 0)
		return;
	api_event(c, LSP_INFO, "account erased", "by", LSV_S("self"), NULL);
	api_clear_cookies(c);
	api_reply(c, 204, NULL);
}

void api_h_user_erase(api_call *c)
{
	if (erase(c, c->arg, c->user) < 0)
		return;
	api_event(c, LSP_INFO, "account erased", "by", LSV_S(c->user), NULL);
	api_reply(c, 204, NULL);
}

void api_h_user_role(api_call *c)
{
	const char *role = api_bstr(c, "role");
	int rc;
	if (!role || !lsp_api_role_bit(role)) {
		api_fail(c, 400, "bad_role", "role must be viewer, creator, mod or admin");
		return;
	}
	if ((rc = lsp_api_set_role(c->a->cfg.st, c->arg, role, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		return;
	}
	api_event(c, LSP_INFO, "role set", "user", LSV_S(c->arg), "role", LSV_S(role), NULL);
	api_revoke(c, LSP_REVOKE_ROLE, c->arg, NULL, role); /* open chat sockets re-read it */
	api_profile(c, c->arg);
}

void api_h_chat_token(api_call *c)
{
	const char *chname = api_bstr(c, "channel");
	lsp_token t;
	char tok[LSP_TOKEN_MAX];
	memset(&t, 0, sizeof t);
	if (c->kid) {
		api_fail(c, 403, "kid_mode", "chat sending and tipping are off for kid-mode accounts");
		return;
	}
	snprintf(t.user, sizeof t.user, "%s", c->user);
	t.role = c->role & (LSP_API_MOD | LSP_API_ADMIN) ? LSP_ROLE_MOD : LSP_ROLE_VIEWER;
	{ /* one channel per token: a role never outlives the token by long */
		lsp_chanmeta ch;
		if (!chname || !lsp_name_valid(chname)) {
			api_fail(c, 400, "bad_name", "bad channel name");
			return;
		}
		snprintf(c->arg, sizeof c->arg, "%s", chname);
		if (api_load_chan(c, &ch, 0) < 0)
			return;
		snprintf(t.channel, sizeof t.channel, "%s", chname);
		if (c->role == LSP_API_ADMIN || !strcmp(ch.owner, c->user))
			t.role = LSP_ROLE_OWNER;
	}
	t.exp = (long long)time(NULL) + API_CHAT_TOKEN_TTL;
	if (lsp_token_issue(c->a->cfg.secret, c->a->cfg.secretlen, &t, tok, sizeof tok) < 0) {
		api_fail(c, 500, "token", "unable to issue a token");
		return;
	}
	api_reply(c, 200, json_pack("{s:s,s:s,s:s,s:I}", "token", tok, "role", lsp_role_name(t.role), "channel",
				    t.channel, "expires_at", (json_int_t)t.exp));
}
