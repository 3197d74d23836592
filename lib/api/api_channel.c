/* api_channel.c — the channel routes: the public list, creation with its
 * first stream key, metadata (title, category, mature), deletion, key
 * rotation, live health, recordings, an admin's suspension, visibility
 * and the age gate (with their directory markers) and playback tokens.  See
 * api_int.h.  Rows come from lib/state/chanmeta.c; the live state from
 * <data_dir>/hls (lib/state/chandir.c) and the ingest health from the
 * config's health callback (NATS), else from the ingest's status file
 * <data_dir>/run/<name>.health.json; recordings from <data_dir>/vod.  A stream key
 * exists here only long enough to answer with it: it is wiped before the
 * handler returns, and only its hash is stored. */
#include "api/api_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/health.h"
#include "core/sigtok.h"
#include "state/account.h"
#include "state/chandir.h"
#include "state/chanhook.h"
#include "state/pubtoken.h"
#include "state/token.h"
#include "state/vod.h"

/* ---- loading and showing a channel ------------------------------------------ */

/* May this caller see the owner's fields of ch and change it? */
static int mine(const api_call *c, const lsp_chanmeta *ch)
{
	return c->role == LSP_API_ADMIN || (c->role != LSP_API_ANON && !strcmp(ch->owner, c->user));
}

int api_load_chan(api_call *c, lsp_chanmeta *ch, int owner)
{
	int rc = lsp_chanmeta_get(c->a->cfg.st, c->arg, ch, c->err, sizeof c->err), m;
	if (rc < 0) {
		api_store_fail(c, rc);
		return -1;
	}
	m = mine(c, ch);
	if (rc == 0 || (ch->mature && c->kid) || (ch->suspended && !m)) {
		api_fail(c, 404, "not_found", "no such channel");
		return -1;
	}
	if (owner && !m) {
		api_fail(c, 403, "forbidden", "only the channel's owner or an admin may do this");
		return -1;
	}
	return 0;
}

static json_t *chan_json(const lsp_chanmeta *ch, int mine)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:b}", "name", ch->name, "title", ch->title, "category",
			      ch->category, "mature", ch->mature, "owner", ch->owner, "visibility",
			      lsp_chanmeta_visibility_name(ch->visibility), "age_gate", ch->age_gate);
	if (o && mine) {
		json_object_set_new(o, "suspended", json_boolean(ch->suspended));
		json_object_set_new(o, "has_key", json_boolean(ch->has_key));
		json_object_set_new(o, "created_at", json_integer(ch->created_at));
		json_object_set_new(o, "key_changed_at", json_integer(ch->key_changed_at));
		json_object_set_new(o, "ladder", json_string(lsp_chanmeta_ladder_name(ch->ladder)));
	}
	return o;
}

void api_kick(api_call *c, const char *channel, int *kicked)
{
	*kicked = 0;
	if (c->a->cfg.kick && c->a->cfg.kick(c->a->cfg.kick_ctx, channel) == 0)
		*kicked = 1;
}

/* ---- the list ----------------------------------------------------------------- */

struct list {
	api_call *c;
	json_t *arr;
};

static int add_listed(void *ctx, const lsp_chanmeta *ch)
{
	struct list *l = ctx;
	int m = mine(l->c, ch);
	if ((ch->mature && l->c->kid) || (ch->suspended && !m) || (ch->visibility != LSP_CHANMETA_PUBLIC && !m))
		return 0; /* unlisted and private channels: in their owner's list only */
	json_array_append_new(l->arr, chan_json(ch, m));
	return 0;
}

void api_h_channels(api_call *c)
{
	struct list l = { c, json_array() };
	int rc;
	if (!l.arr) {
		api_fail(c, 500, "oom", "out of memory");
		return;
	}
	rc = lsp_chanmeta_list(c->a->cfg.st, add_listed, &l, c->err, sizeof c->err);
	if (rc < 0) {
		json_decref(l.arr);
		api_store_fail(c, rc);
		return;
	}
	api_reply(c, 200, json_pack("{s:o}", "channels", l.arr));
}

/* ---- metadata ------------------------------------------------------------------- */

/* The body's title / category / mature / visibility / age_gate / ladder
 * are well-typed: 0, or -1 (answered). */
static int check_meta(api_call *c)
{
	json_t *t = json_object_get(c->body, "title"), *g = json_object_get(c->body, "category"),
	       *m = json_object_get(c->body, "mature"), *v = json_object_get(c->body, "visibility"),
	       *a = json_object_get(c->body, "age_gate"), *l = json_object_get(c->body, "ladder");
	if ((t && (!json_is_string(t) || strlen(json_string_value(t)) > API_TITLE_MAX)) ||
	    (g && (!json_is_string(g) || strlen(json_string_value(g)) > API_CATEGORY_MAX)) ||
	    (m && !json_is_boolean(m)) || (a && !json_is_boolean(a))) {
		api_fail(c, 400, "bad_request",
			 "title (<= 140 bytes), category (<= 64 bytes) are strings, mature and age_gate booleans");
		return -1;
	}
	if (v && (!json_is_string(v) || lsp_chanmeta_visibility_parse(json_string_value(v)) < 0)) {
		api_fail(c, 400, "bad_visibility", "visibility is \"public\", \"unlisted\" or \"private\"");
		return -1;
	}
	if (l && (!json_is_string(l) || lsp_chanmeta_ladder_parse(json_string_value(l)) < 0)) {
		api_fail(c, 400, "bad_ladder", "ladder is \"on-demand\", \"always\" or \"off\"");
		return -1;
	}
	if ((v = json_object_get(c->body, "webhook_url")) &&
	    (!json_is_string(v) || (*json_string_value(v) && !lsp_chanhook_valid(json_string_value(v))))) {
		api_fail(c, 400, "bad_webhook_url",
			 "webhook_url is an http:// or https:// URL with a host, at most 512 bytes, or \"\" to clear it");
		return -1;
	}
	return 0;
}

/* The channel's own webhook URL into o (its owner's and admins' view). */
static void put_hook(api_call *c, json_t *o, const char *name)
{
	char url[LSP_CHANHOOK_URL_MAX + 1] = "", err[128];
	if (!o)
		return;
	(void)lsp_chanhook_get(c->a->cfg.st, name, url, sizeof url, err, sizeof err);
	json_object_set_new(o, "webhook_url", json_string(url));
}

/* Make the channel's directory markers (lib/state/chandir.h) match its
 * row, so lsp-edge and lsp-rtc, which read no database, hide and guard it,
 * and lsp-channel encodes the ladder its policy asks for.
 * 0, or -1 answered 500: the row says private and the edge might not know. */
static int sync_access(api_call *c, const char *name)
{
	char root[4096];
	lsp_chanmeta ch;
	int rc = lsp_chanmeta_get(c->a->cfg.st, name, &ch, c->err, sizeof c->err);
	if (rc <= 0) {
		api_store_fail(c, rc < 0 ? rc : -ENOENT);
		return -1;
	}
	snprintf(root, sizeof root, "%s/hls", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if ((rc = lsp_chandir_set_access(root, name, lsp_chanmeta_access_flags(&ch))) < 0 ||
	    (rc = lsp_chandir_set_ladder(root, name, ch.ladder)) < 0) {
		api_event(c, LSP_ERROR, "directory not updated", "channel", LSV_S(name), "reason", LSV_S(strerror(-rc)),
			  NULL);
		api_fail(c, 500, "directory", "the channel's access or ladder markers could not be written");
		return -1;
	}
	return 0;
}

/* title / category / mature / visibility / age_gate / ladder from the
 * body into the row, then the directory markers; 0 or -1 (answered). */
static int set_meta(api_call *c, const char *name)
{
	json_t *m, *v, *a, *l = NULL, *h = NULL;
	int rc;
	if (check_meta(c) < 0)
		return -1;
	m = json_object_get(c->body, "mature");
	v = json_object_get(c->body, "visibility");
	a = json_object_get(c->body, "age_gate");
	rc = lsp_chanmeta_set(c->a->cfg.st, name, api_bstr(c, "title"), api_bstr(c, "category"),
			      m ? json_is_true(m) : -1, c->err, sizeof c->err);
	if (rc >= 0 && (h = json_object_get(c->body, "webhook_url")))
		rc = lsp_chanhook_set(c->a->cfg.st, name, json_string_value(h), c->err, sizeof c->err);
	if (rc >= 0 && (v || a))
		rc = lsp_chanmeta_set_access(c->a->cfg.st, name, v ? lsp_chanmeta_visibility_parse(json_string_value(v)) : -1,
					     a ? json_is_true(a) : -1, c->err, sizeof c->err);
	if (rc >= 0 && (l = json_object_get(c->body, "ladder")))
		rc = lsp_chanmeta_set_ladder(c->a->cfg.st, name, lsp_chanmeta_ladder_parse(json_string_value(l)), c->err,
					     sizeof c->err);
	if (rc < 0) {
		api_store_fail(c, rc);
		return -1;
	}
	if (sync_access(c, name) < 0) /* always: a new channel loses a namesake's stale markers */
		return -1;
	if (l)
		api_event(c, LSP_INFO, "channel ladder set", "channel", LSV_S(name), "ladder", LSV_S(json_string_value(l)),
			  "by", LSV_S(c->user), NULL);
	if (h) /* not the URL itself: it may carry a token */
		api_event(c, LSP_INFO, "channel webhook set", "channel", LSV_S(name), "set",
			  LSV_B(*json_string_value(h) != 0), "by", LSV_S(c->user), NULL);
	if (v || a)
		api_event(c, LSP_INFO, "channel access set", "channel", LSV_S(name), "visibility",
			  LSV_S(v ? json_string_value(v) : "(unchanged)"), "age_gate",
			  LSV_S(a ? (json_is_true(a) ? "true" : "false") : "(unchanged)"), "by", LSV_S(c->user), NULL);
	return 0;
}

/* ---- the routes ----------------------------------------------------------------- */

void api_h_channel_create(api_call *c)
{
	const char *name = api_bstr(c, "name");
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	lsp_chanmeta ch;
	json_t *o;
	int rc;
	if (!c->body || !name || !lsp_name_valid(name) || name[0] == '-') {
		api_fail(c, 400, "bad_name", "name must match [a-z0-9_][a-z0-9_-]{0,63}");
		return;
	}
	if (check_meta(c) < 0)
		return;
	if (lsp_key_new(name, key, sizeof key) < 0) {
		api_fail(c, 500, "rng", "unable to draw a key");
		return;
	}
	lsp_key_hash(key, hash);
	rc = lsp_store_channel_add(c->a->cfg.st, name, hash, c->err, sizeof c->err);
	if (rc == -EEXIST) {
		api_fail(c, 409, "exists", "that channel exists");
		goto done;
	}
	if (rc < 0 || (rc = lsp_chanmeta_set_owner(c->a->cfg.st, name, c->user, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		goto done;
	}
	if (set_meta(c, name) < 0)
		goto done;
	snprintf(c->arg, sizeof c->arg, "%s", name);
	if (api_load_chan(c, &ch, 1) < 0)
		goto done;
	o = chan_json(&ch, 1);
	put_hook(c, o, name);
	json_object_set_new(o, "key", json_string(key));
	api_event(c, LSP_INFO, "channel created", "channel", LSV_S(name), "user", LSV_S(c->user), NULL);
	api_reply(c, 201, o);
done:
	OPENSSL_cleanse(key, sizeof key);
}

void api_h_channel_get(api_call *c)
{
	lsp_chanmeta ch;
	json_t *o;
	if (api_load_chan(c, &ch, 0) < 0)
		return;
	o = chan_json(&ch, mine(c, &ch));
	if (mine(c, &ch))
		put_hook(c, o, ch.name);
	api_reply(c, 200, o);
}

void api_h_channel_patch(api_call *c)
{
	static const char *const fields[] = { "title", "category", "mature", "visibility", "age_gate", "ladder",
					      "webhook_url", NULL }; /* = ChannelPatch */
	lsp_chanmeta ch;
	json_t *o;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	if (!c->body) {
		api_fail(c, 400, "bad_request", "a JSON object body is required");
		return;
	}
	if (api_body_only(c, fields) < 0)
		return;
	if (set_meta(c, c->arg) < 0 || api_load_chan(c, &ch, 1) < 0)
		return;
	o = chan_json(&ch, 1);
	put_hook(c, o, ch.name);
	api_reply(c, 200, o);
}

void api_h_channel_delete(api_call *c)
{
	lsp_chanmeta ch;
	int rc, kicked;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	if ((rc = lsp_store_channel_rm(c->a->cfg.st, c->arg, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		return;
	}
	api_kick(c, c->arg, &kicked);
	api_revoke(c, LSP_REVOKE_CHANNEL_DELETED, NULL, c->arg, NULL);
	api_purge_recordings(c, c->arg);
	api_event(c, LSP_INFO, "channel deleted", "channel", LSV_S(c->arg), "user", LSV_S(c->user), NULL);
	api_reply(c, 204, NULL);
}

void api_h_key_rotate(api_call *c)
{
	lsp_chanmeta ch;
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	int rc, kicked;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	if (ch.suspended) {
		api_fail(c, 409, "suspended", "the channel is suspended; an admin must lift it first");
		return;
	}
	if (lsp_key_new(c->arg, key, sizeof key) < 0) {
		api_fail(c, 500, "rng", "unable to draw a key");
		return;
	}
	lsp_key_hash(key, hash);
	if ((rc = lsp_store_channel_set_key(c->a->cfg.st, c->arg, hash, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		goto done;
	}
	api_kick(c, c->arg, &kicked); /* a publisher on the old key goes too */
	api_event(c, LSP_INFO, "stream key rotated", "channel", LSV_S(c->arg), "user", LSV_S(c->user), NULL);
	api_reply(c, 200, json_pack("{s:s,s:s,s:I,s:b}", "name", c->arg, "key", key, "key_changed_at",
				    (json_int_t)time(NULL), "kicked", kicked));
done:
	OPENSSL_cleanse(key, sizeof key);
}

/* A WHIP publish token for the owner's session (state/pubtoken.h): the
 * studio goes live with it, and the stream key OBS uses stays as it is. */
void api_h_publish_token(api_call *c)
{
	lsp_chanmeta ch;
	char tok[LSP_TOKEN_MAX];
	long long exp = (long long)time(NULL) + LSP_PUBTOKEN_TTL;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	if (c->kid) {
		api_fail(c, 403, "kid_mode", "kid-mode accounts cannot publish");
		return;
	}
	if (ch.suspended) {
		api_fail(c, 409, "suspended", "the channel is suspended; an admin must lift it first");
		return;
	}
	if (lsp_pubtoken_issue(c->a->cfg.secret, c->a->cfg.secretlen, c->user, c->arg, exp, tok, sizeof tok) < 0) {
		api_fail(c, 500, "token", "unable to issue a publish token");
		return;
	}
	api_event(c, LSP_INFO, "publish token issued", "channel", LSV_S(c->arg), "user", LSV_S(c->user), NULL);
	api_reply(c, 200, json_pack("{s:s,s:s,s:I}", "channel", c->arg, "token", tok, "expires_at", (json_int_t)exp));
	OPENSSL_cleanse(tok, sizeof tok);
}

void api_h_channel_health(api_call *c)
{
	lsp_chanmeta ch;
	char root[4096], buf[8192], nh[2048];
	json_t *o, *live = NULL, *ing = NULL;
	int n;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	snprintf(root, sizeof root, "%s/hls", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	n = lsp_chandir_json(root, c->arg, time(NULL), buf, sizeof buf);
	if (n > 0)
		live = json_loadb(buf, (size_t)n, 0, NULL);
	if (c->a->cfg.health && c->a->cfg.health(c->a->cfg.health_ctx, c->arg, nh, sizeof nh) == 0)
		ing = json_loads(nh, 0, NULL);
	snprintf(root, sizeof root, "%s/run", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if (!ing && lsp_health_file(root, c->arg, (long long)time(NULL), nh, sizeof nh) == 0)
		ing = json_loads(nh, 0, NULL); /* no NATS: the ingest's status file */
	o = json_pack("{s:s,s:b,s:b,s:b}", "name", c->arg, "suspended", ch.suspended, "has_key", ch.has_key, "live",
		      live && json_is_true(json_object_get(live, "live")));
	if (o) {
		json_t *rungs = live ? json_object_get(live, "rungs") : NULL;
		json_object_set_new(o, "rungs", rungs ? json_incref(rungs) : json_array());
		json_object_set_new(o, "ingest", ing ? ing : json_null());
	} else {
		json_decref(ing);
	}
	json_decref(live);
	api_reply(c, 200, o);
}

void api_h_recordings(api_call *c)
{
	lsp_chanmeta ch;
	char root[4096], *buf;
	json_t *arr;
	int n;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	snprintf(root, sizeof root, "%s/vod", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if (!(buf = malloc(API_RECORDINGS_MAX))) {
		api_fail(c, 500, "oom", "out of memory");
		return;
	}
	n = lsp_vod_json(root, c->arg, buf, API_RECORDINGS_MAX);
	arr = n > 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	free(buf);
	if (n < 0 || !json_is_array(arr)) {
		json_decref(arr);
		api_fail(c, 500, "recordings", "unable to list the recordings");
		return;
	}
	api_reply(c, 200, json_pack("{s:s,s:o}", "name", c->arg, "recordings", arr));
}

void api_purge_recordings(api_call *c, const char *channel)
{
	char root[4096];
	int n;
	snprintf(root, sizeof root, "%s/vod", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if ((n = lsp_vod_purge(root, channel, c->err, sizeof c->err)) < 0)
		api_event(c, LSP_ERROR, "recordings not purged", "channel", LSV_S(channel), "reason", LSV_S(c->err),
			  NULL);
	else if (n > 0)
		api_event(c, LSP_INFO, "recordings purged", "channel", LSV_S(channel), "count", LSV_I(n), NULL);
}

void api_h_suspend(api_call *c)
{
	char root[4096];
	lsp_chanmeta ch;
	json_t *s = c->body ? json_object_get(c->body, "suspended") : NULL;
	int rc, on, kicked = 0;
	if (api_load_chan(c, &ch, 1) < 0)
		return;
	if (!json_is_boolean(s)) {
		api_fail(c, 400, "bad_request", "body: {\"suspended\": true|false}");
		return;
	}
	on = json_is_true(s);
	if ((rc = lsp_chanmeta_suspend(c->a->cfg.st, c->arg, on, c->err, sizeof c->err)) < 0) {
		api_store_fail(c, rc);
		return;
	}
	if (on) {
		api_kick(c, c->arg, &kicked);
		api_revoke(c, LSP_REVOKE_CHANNEL_SUSPENDED, NULL, c->arg, NULL);
	}
	snprintf(root, sizeof root, "%s/hls", c->a->cfg.data_dir ? c->a->cfg.data_dir : "./var");
	if ((rc = lsp_chandir_hide(root, c->arg, on)) < 0)
		api_event(c, LSP_ERROR, "directory not updated", "channel", LSV_S(c->arg), "reason",
			  LSV_S(strerror(-rc)), NULL);
	api_event(c, LSP_INFO, on ? "channel suspended" : "channel reinstated", "channel", LSV_S(c->arg), "by",
		  LSV_S(c->user), NULL);
	api_reply(c, 200, json_pack("{s:s,s:b,s:b}", "name", c->arg, "suspended", on, "kicked", kicked));
}

/* ---- playback tokens ------------------------------------------------------------ */

/* POST /channels/{name}/playback-token {"ttl": seconds?}: a signed token
 * (core/sigtok.h, lsp_sigtok_play) for the caller, who must be the owner,
 * an admin or a mod for a private channel, and a signed-in adult (or the
 * owner, an admin, a mod) for an age-gated one.  A channel that needs no
 * token answers {"required": false} and none: a token given for an open
 * channel would outlive its closing. */
void api_h_playback_token(api_call *c)
{
	lsp_chanmeta ch;
	lsp_account acc;
	char tok[LSP_SIGTOK_MAX], hls[LSP_NAME_MAX + LSP_SIGTOK_MAX + 32];
	json_t *t = c->body ? json_object_get(c->body, "ttl") : NULL;
	long long ttl = LSP_SIGTOK_PLAY_TTL, exp;
	const char *why = NULL;
	int staff, rc;
	if (api_load_chan(c, &ch, 0) < 0)
		return;
	if (t && (!json_is_integer(t) || json_integer_value(t) < 10 || json_integer_value(t) > LSP_SIGTOK_PLAY_AHEAD)) {
		api_fail(c, 400, "bad_request", "ttl is an integer number of seconds, 10..86400");
		return;
	}
	if (t)
		ttl = json_integer_value(t);
	if (!(lsp_chanmeta_access_flags(&ch) & LSP_CHANDIR_F_SIGNED)) {
		api_reply(c, 200, json_pack("{s:s,s:b}", "name", c->arg, "required", 0));
		return;
	}
	staff = mine(c, &ch) || c->role == LSP_API_MOD;
	if (!staff && ch.visibility == LSP_CHANMETA_PRIVATE)
		why = "private";
	if (!staff && !why && ch.age_gate) {
		rc = lsp_account_get(c->a->cfg.st, c->user, &acc, c->err, sizeof c->err);
		if (rc < 0) {
			api_store_fail(c, rc);
			return;
		}
		if (rc == 0 || !acc.adult || acc.kid || c->kid)
			why = "age_gate";
	}
	if (why) {
		api_event(c, LSP_WARN, "playback token refused", "channel", LSV_S(c->arg), "user", LSV_S(c->user),
			  "reason", LSV_S(why), NULL);
		if (!strcmp(why, "private"))
			api_fail(c, 403, "private", "this channel is private: only its owner and moderators may watch");
		else
			api_fail(c, 403, "age_gate", "this channel is for signed-in adults (18+) only");
		return;
	}
	if (!c->a->cfg.play_secret || !c->a->cfg.play_secret_len) {
		api_fail(c, 503, "playback_tokens_off", "this server has no playback secret (--playback-secret-file)");
		return;
	}
	exp = (long long)time(NULL) + ttl;
	if (lsp_sigtok_sign(&lsp_sigtok_play, c->a->cfg.play_secret, c->a->cfg.play_secret_len, c->arg, exp, c->user,
			    tok, sizeof tok) < 0) {
		api_fail(c, 500, "sign", "unable to sign a playback token");
		return;
	}
	snprintf(hls, sizeof hls, "/hls/%s/~%s/master.m3u8", c->arg, tok);
	api_event(c, LSP_INFO, "playback token issued", "channel", LSV_S(c->arg), "user", LSV_S(c->user), "expires_at",
		  LSV_I(exp), NULL);
	api_reply(c, 200, json_pack("{s:s,s:b,s:s,s:I,s:s}", "name", c->arg, "required", 1, "token", tok, "expires_at",
				    (json_int_t)exp, "hls", hls));
	OPENSSL_cleanse(tok, sizeof tok);
	OPENSSL_cleanse(hls, sizeof hls);
}
