/* ctl.c — the lsp-ctl command registry and its commands; see ctl.h.
 *
 * Each command opens the store itself (lsp_store_open_env), owns it until
 * it returns, and closes it on every path.  What a command writes to
 * io->out is its data; every complaint goes through io->usage and every
 * event through io->event, under the fixed names ctl.h lists (a failure's
 * own words travel in its "reason" field).  Which errors count as an
 * expected "no" differs by family, as each family's end (fail_code,
 * chat_end) says. */
#include "ctl/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "bus/revoke.h"
#include "state/chandir.h"
#include "state/chanhook.h"
#include "state/chanmeta.h"
#include "state/dsar.h"
#include "core/exit.h"
#include "core/key.h"
#include "state/ledger.h"
#include "state/modlog.h"
#include "core/opt.h"
#include "state/store.h"
#include "state/token.h"
#include "state/vod.h"

#define BAD_NAME "(want [a-z0-9_][a-z0-9_-]{0,63})"

/* ---- reporting through io's hooks ---- */

/* An event: key, LSV_x(value) pairs ended by NULL. */
#define say(io, level, name, ...) lsp_event_emit((io)->event, (io)->event_ctx, (level), (name), __VA_ARGS__)

static int usage_all(const lsp_ctl_io *io)
{
	if (io->usage)
		io->usage(io->ctx, NULL);
	return LSP_EXIT_USAGE;
}

/* A one-line usage complaint, whole however long the words are (a
 * truncated one only if memory runs out). */
static int complain(const lsp_ctl_io *io, const char *fmt, ...)
{
	char buf[512], *line;
	va_list ap;
	int len;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof buf && (line = malloc((size_t)len + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(line, (size_t)len + 1, fmt, ap);
		va_end(ap);
	} else {
		line = buf; /* it fits, or no memory: the truncated line */
	}
	if (io->usage)
		io->usage(io->ctx, line);
	if (line != buf)
		free(line);
	return LSP_EXIT_USAGE;
}

static int no_store(const lsp_ctl_io *io, const char *err)
{
	say(io, LSP_FATAL, "unable to open store", "reason", LSV_S(err), NULL);
	return LSP_EXIT_SYS;
}

static int failed(const lsp_ctl_io *io, const char *err, const char *cmd, int status)
{
	say(io, LSP_ERROR, "command failed", "command", LSV_S(cmd), "reason", LSV_S(err), NULL);
	return status;
}

/* ---- revocation events for lsp-chat (bus/revoke.h) ---- */

#define REVOKE_TIMEOUT_MS 2000

/* The bus LSP_NATS_URL names, or NULL: none named (lsp-chat's periodic
 * re-check is then the path) or unreachable (a warning; the store change
 * stands and the re-check catches up). */
static lsp_bus *revoke_bus(const lsp_ctl_io *io)
{
	const char *url = getenv("LSP_NATS_URL");
	char err[256];
	lsp_bus *b = NULL;
	if (!url || !*url)
		return NULL;
	if (lsp_bus_open(&b, url, REVOKE_TIMEOUT_MS, "lsp-ctl", err, sizeof err) < 0) {
		say(io, LSP_WARN, "revocation not sent", "reason", LSV_S(err), NULL);
		return NULL;
	}
	return b;
}

/* Publish one revocation event on b (NULL: nothing to do). */
static void revoke_send(const lsp_ctl_io *io, lsp_bus *b, lsp_revoke_reason why, const char *user,
			const char *channel)
{
	lsp_revoke r;
	char err[256] = "not a valid event";
	if (!b)
		return;
	if (lsp_revoke_make(&r, why, user, channel, NULL) < 0 ||
	    lsp_revoke_publish(b, &r, REVOKE_TIMEOUT_MS, err, sizeof err) < 0)
		say(io, LSP_WARN, "revocation not sent", "cause", LSV_S(lsp_revoke_reason_name(why)), "reason",
		    LSV_S(err), NULL);
	else
		say(io, LSP_INFO, "revocation sent", "cause", LSV_S(lsp_revoke_reason_name(why)), "user",
		    LSV_S(user ? user : ""), "channel", LSV_S(channel ? channel : ""), NULL);
}

/* channels, keys, recordings, DSAR: not found / exists is a "no" */
static int fail_code(int rc)
{
	return (rc == -ENOENT || rc == -EEXIST) ? LSP_EXIT_NO : LSP_EXIT_SYS;
}

static void iso_time(long long at, char *out, size_t cap)
{
	time_t t = (time_t)at;
	struct tm tm;
	gmtime_r(&t, &tm);
	(void)strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- data lines on io->out (ctx is the FILE *) ---- */

static int put_channel(void *ctx, const lsp_channel *c)
{
	char when[32];
	iso_time(c->created_at, when, sizeof when);
	fprintf(ctx, "%s\t%s\t%s\n", c->name, c->key_hash[0] ? "key" : "revoked", when);
	return 0;
}

static int put_entry(void *ctx, const char *txn, long long amount, const char *kind, long long at)
{
	char when[32];
	iso_time(at, when, sizeof when);
	fprintf(ctx, "%s\t%+lld\t%s\t%s\n", when, amount, kind, txn);
	return 0;
}

static int put_audit(void *ctx, long long at, const char *actor, const char *action, const char *target,
		     const char *detail)
{
	char when[32];
	iso_time(at, when, sizeof when);
	fprintf(ctx, "%s\t%s\t%s\t%s\t%s\n", when, actor, action, target, detail);
	return 0;
}

static int put_vod(void *ctx, const lsp_vod_info *v)
{
	char when[32];
	iso_time((long long)v->started, when, sizeof when);
	fprintf(ctx, "%s\t%s\t%s\t%.1f\t%lld\t%s\n", v->channel, v->id, when, v->duration, v->bytes, v->state);
	return 0;
}

static void put_removed(void *ctx, const lsp_vod_info *v, const char *why)
{
	/* "finalized": an interrupted recording closed as VOD, not removed */
	fprintf(ctx, "%s\t%s\t%s\t%s\t%lld\n", strcmp(why, "finalized") ? "removed" : "finalized", v->channel,
		v->id, why, v->bytes);
}

/* ---- channel add|list|rm, key rotate|revoke ---- */

/* A deleted channel's recordings (and an erased owner's): off the public
 * path and removed, so a later owner of the name inherits none.  0 or
 * negative. */
static int purge_vod(const char *channel, char *err, size_t errcap)
{
	char root[4096];
	int rc;
	snprintf(root, sizeof root, "%s/vod", lsp_opt_env("LSP_DATA_DIR", "./var"));
	rc = lsp_vod_purge(root, channel, err, errcap);
	return rc < 0 ? rc : 0;
}

/* A new key for name (a new channel when add): printed once, stored hashed. */
static int new_key(FILE *out, lsp_store *st, const char *name, int add, char *err, size_t errcap)
{
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	int rc;
	if (lsp_key_new(name, key, sizeof key) < 0) {
		snprintf(err, errcap, "unable to draw random bytes for a key");
		return -EIO;
	}
	lsp_key_hash(key, hash);
	rc = add ? lsp_store_channel_add(st, name, hash, err, errcap)
		 : lsp_store_channel_set_key(st, name, hash, err, errcap);
	if (rc == 0)
		fprintf(out, "%s %s\nstream key: %s\n", add ? "created channel" : "new key for channel", name, key);
	memset(key, 0, sizeof key);
	return rc;
}

/* Is user an account?  0 yes, -ENOENT (err says "no user U"), or the
 * store's negative code. */
static int user_known(lsp_store *st, const char *user, char *err, size_t errcap)
{
	int rc = lsp_user_exists(st, user, err, errcap);
	if (rc == 0) {
		snprintf(err, errcap, "no user %s", user);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

static int channel_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "";
	const char *name = NULL, *owner = NULL;
	int rc, list = !strcmp(w[1], "list"), add = !strcmp(w[1], "add");
	if (list && n != 2)
		return usage_all(io);
	if (add && n == 5 && !strcmp(w[3], "--owner")) { /* channel add NAME --owner USER */
		if (!lsp_name_valid(owner = w[4]))
			return complain(io, "bad user name " BAD_NAME);
		n = 3;
	}
	if (!list && n != 3)
		return complain(io, "%s %s needs exactly one NAME", w[0], w[1]);
	if (!list && !lsp_name_valid(name = w[2]))
		return complain(io, "bad channel name " BAD_NAME);
	if (lsp_store_open_env(&st, err, sizeof err) < 0)
		return no_store(io, err);
	if (list)
		rc = lsp_store_channel_list(st, put_channel, io->out, err, sizeof err);
	else if (add && owner) { /* the owner is checked first: no channel without its owner */
		if ((rc = user_known(st, owner, err, sizeof err)) == 0 &&
		    (rc = new_key(io->out, st, name, 1, err, sizeof err)) == 0 &&
		    (rc = lsp_chanmeta_set_owner(st, name, owner, err, sizeof err)) < 0) {
			char e2[128];
			(void)lsp_store_channel_rm(st, name, e2, sizeof e2);
		}
	} else if (add || !strcmp(w[1], "rotate"))
		rc = new_key(io->out, st, name, add, err, sizeof err);
	else if (!strcmp(w[1], "rm")) {
		rc = lsp_store_channel_rm(st, name, err, sizeof err);
		if (rc == 0) {
			lsp_bus *b = revoke_bus(io); /* open chat sockets of the channel close */
			revoke_send(io, b, LSP_REVOKE_CHANNEL_DELETED, NULL, name);
			lsp_bus_close(b);
			rc = purge_vod(name, err, sizeof err);
		}
	}
	else /* key revoke */
		rc = lsp_store_channel_set_key(st, name, NULL, err, sizeof err);
	if (add && rc == 0) { /* a deleted namesake's ladder marker is not the new channel's */
		char root[4096];
		snprintf(root, sizeof root, "%s/hls", lsp_opt_env("LSP_DATA_DIR", "./var"));
		if ((rc = lsp_chandir_set_ladder(root, name, LSP_CHANMETA_LADDER_ON_DEMAND)) < 0)
			snprintf(err, sizeof err, "%.200s/%s: unable to clear the ladder marker: %s", root, name,
				 strerror(-rc));
	}
	lsp_store_close(st);
	if (rc < 0)
		return failed(io, err, w[1], fail_code(rc));
	if (!list)
		say(io, LSP_INFO, "done", "command", LSV_S(w[1]), "channel", LSV_S(name), NULL);
	return LSP_EXIT_OK;
}

/* ---- user add|credit, token, ledger, audit: the chat side ---- */

/* The name a chat command acts on (w[2] after "user add|credit", else
 * w[1]) and its ledger account in acct ("user:NAME" is one for ledger,
 * else "channel:NAME").  NULL after a complaint, with *status its exit
 * status. */
static const char *chat_name(const lsp_ctl_io *io, int n, char **w, char *acct, size_t cap, int *status)
{
	const char *name;
	if (!strcmp(w[0], "user") && n < 3) {
		*status = complain(io, "unknown command: %s %s", w[0], w[1]);
		return NULL;
	}
	if (n < 2) {
		*status = usage_all(io);
		return NULL;
	}
	name = !strcmp(w[0], "user") ? w[2] : w[1];
	if (!strcmp(w[0], "ledger") && !strncmp(name, "user:", 5) && lsp_name_valid(name + 5)) {
		snprintf(acct, cap, "%s", name);
	} else if (!lsp_name_valid(name)) {
		*status = complain(io, "bad name " BAD_NAME);
		return NULL;
	} else {
		snprintf(acct, cap, "channel:%s", name);
	}
	return name;
}

/* The common start of a chat command of exactly want words: chat_name,
 * then the word count, then the store.  NULL after a complaint, with
 * *status its exit status; else the name, *st open. */
static const char *chat_begin(const lsp_ctl_io *io, int n, char **w, int want, char *acct, size_t cap,
			      lsp_store **st, int *status)
{
	char err[512] = "";
	const char *name = chat_name(io, n, w, acct, cap, status);
	if (!name)
		return NULL;
	if (n != want) {
		*status = usage_all(io);
		return NULL;
	}
	if (lsp_store_open_env(st, err, sizeof err) < 0) {
		*status = no_store(io, err);
		return NULL;
	}
	return name;
}

/* Close the store and report: not found / exists / no funds is a "no",
 * a bad value a usage error. */
static int chat_end(const lsp_ctl_io *io, lsp_store *st, int rc, const char *err, const char *cmd, const char *name)
{
	lsp_store_close(st);
	if (rc < 0)
		return failed(io, err, cmd,
			      (rc == -ENOENT || rc == -EEXIST || rc == -ENOSPC) ? LSP_EXIT_NO
			      : rc == -EINVAL					 ? LSP_EXIT_USAGE
										 : LSP_EXIT_SYS);
	say(io, LSP_INFO, "done", "command", LSV_S(cmd), "name", LSV_S(name), NULL);
	return LSP_EXIT_OK;
}

static int token_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	lsp_token t = { 0 };
	unsigned char key[LSP_SECRET_MAX];
	char tok[LSP_TOKEN_MAX], err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	long ttl = 86400;
	int rc = LSP_EXIT_USAGE, klen;

	if (!(name = chat_name(io, n, w, acct, sizeof acct, &rc)))
		return rc;
	t.role = LSP_ROLE_VIEWER;
	snprintf(t.channel, sizeof t.channel, "*");
	snprintf(t.user, sizeof t.user, "%s", name);
	for (int i = 2; i < n; i++) {
		if (i + 1 >= n)
			return usage_all(io);
		if (!strcmp(w[i], "--role")) {
			if ((t.role = lsp_role_parse(w[++i])) < 0)
				return usage_all(io);
		} else if (!strcmp(w[i], "--ttl")) {
			if (lsp_opt_long(w[++i], 1, 10L * 365 * 86400, &ttl) < 0)
				return usage_all(io);
		} else if (!strcmp(w[i], "--channel")) {
			if (!lsp_name_valid(w[++i]))
				return usage_all(io);
			snprintf(t.channel, sizeof t.channel, "%s", w[i]);
		} else
			return usage_all(io);
	}
	t.exp = (long long)time(NULL) + ttl;
	if (lsp_store_open_env(&st, err, sizeof err) < 0)
		return no_store(io, err);
	if ((rc = lsp_user_exists(st, name, err, sizeof err)) <= 0) {
		if (rc == 0)
			snprintf(err, sizeof err, "no user %s", name);
		rc = rc == 0 ? -ENOENT : rc;
	} else if ((klen = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), key, sizeof key, err,
					    sizeof err)) < 0) {
		rc = klen;
	} else {
		rc = lsp_token_issue(key, (size_t)klen, &t, tok, sizeof tok);
		if (rc == 0)
			fprintf(io->out, "%s\n", tok);
	}
	memset(key, 0, sizeof key);
	memset(tok, 0, sizeof tok);
	return chat_end(io, st, rc, err, w[0], name);
}

static int user_add_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	int rc = LSP_EXIT_USAGE;
	if (!(name = chat_begin(io, n, w, 3, acct, sizeof acct, &st, &rc)))
		return rc;
	if ((rc = lsp_user_add(st, name, err, sizeof err)) == 0)
		fprintf(io->out, "created user %s\n", name);
	return chat_end(io, st, rc, err, w[0], name);
}

static int user_credit_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	long amount;
	long long bal = 0;
	int rc = LSP_EXIT_USAGE;
	if (!(name = chat_begin(io, n, w, 4, acct, sizeof acct, &st, &rc)))
		return rc;
	if (lsp_opt_long(w[3], 1, 1000000000000L, &amount) < 0) {
		lsp_store_close(st);
		return usage_all(io);
	}
	if ((rc = lsp_ledger_credit(st, name, amount, &bal, err, sizeof err)) == 0)
		fprintf(io->out, "user:%s\tbalance\t%lld\n", name, bal);
	return chat_end(io, st, rc, err, w[0], name);
}

/* ledger NAME: balance and entries; ledger NAME --check: the whole ledger */
static int ledger_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	long long bal = 0;
	int rc = LSP_EXIT_USAGE, check = n == 3 && !strcmp(w[2], "--check");
	if (!(name = chat_begin(io, n, w, check ? 3 : 2, acct, sizeof acct, &st, &rc)))
		return rc;
	if (check) {
		rc = lsp_ledger_check(st, err, sizeof err);
		if (rc == 0)
			fprintf(io->out, "ledger ok\n");
		else if (rc > 0) {
			fprintf(io->out, "ledger MISMATCH: %s\n", err);
			lsp_store_close(st);
			return LSP_EXIT_NO;
		}
	} else if ((rc = lsp_ledger_balance(st, acct, &bal, err, sizeof err)) == 0) {
		fprintf(io->out, "%s\tbalance\t%lld\n", acct, bal);
		rc = lsp_ledger_entries(st, acct, 1000, put_entry, io->out, err, sizeof err);
	}
	return chat_end(io, st, rc, err, w[0], name);
}

static int audit_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	int rc = LSP_EXIT_USAGE;
	if (!(name = chat_begin(io, n, w, 2, acct, sizeof acct, &st, &rc)))
		return rc;
	rc = lsp_mod_audit(st, name, 1000, put_audit, io->out, err, sizeof err);
	return chat_end(io, st, rc, err, w[0], name);
}

/* ---- recordings (lib/state/vod.h): channel set, vod list|rm, gc ---- */

static void vod_root(char *out, size_t cap)
{
	snprintf(out, cap, "%s/vod", lsp_opt_env("LSP_DATA_DIR", "./var"));
}

/* owner=USER of channel set: both must exist (checked before any setting
 * is applied).  0, -ENOENT (err says which is missing), or negative. */
static int owner_check(lsp_store *st, const char *channel, const char *user, char *err, size_t errcap)
{
	lsp_channel ch;
	int rc;
	if (!lsp_name_valid(user)) {
		snprintf(err, errcap, "bad user name " BAD_NAME);
		return -EINVAL;
	}
	if ((rc = lsp_store_channel_get(st, channel, &ch, err, errcap)) < 0) {
		if (rc == -ENOENT)
			snprintf(err, errcap, "no channel %s", channel);
		return rc;
	}
	return user_known(st, user, err, errcap);
}

/* visibility=public|unlisted|private or age_gate=on|off for channel: 1
 * set, 0 not such a setting, or negative with err filled (-EINVAL bad
 * value).  The directory markers follow (lib/state/chandir.h), so lsp-edge
 * and lsp-rtc see the change with no database. */
static int access_set(lsp_store *st, const char *channel, const char *kv, char *err, size_t errcap)
{
	lsp_chanmeta ch;
	char root[4096];
	int vis = -1, gate = -1, rc;
	if (!strncmp(kv, "visibility=", 11)) {
		if ((vis = lsp_chanmeta_visibility_parse(kv + 11)) < 0) {
			snprintf(err, errcap, "visibility is public, unlisted or private");
			return -EINVAL;
		}
	} else if (!strncmp(kv, "age_gate=", 9)) {
		gate = !strcmp(kv + 9, "on") ? 1 : !strcmp(kv + 9, "off") ? 0 : -1;
		if (gate < 0) {
			snprintf(err, errcap, "age_gate is on or off");
			return -EINVAL;
		}
	} else {
		return 0;
	}
	if ((rc = lsp_chanmeta_set_access(st, channel, vis, gate, err, errcap)) < 0 ||
	    (rc = lsp_chanmeta_get(st, channel, &ch, err, errcap)) < 0)
		return rc;
	snprintf(root, sizeof root, "%s/hls", lsp_opt_env("LSP_DATA_DIR", "./var"));
	if ((rc = lsp_chandir_set_access(root, channel, lsp_chanmeta_access_flags(&ch))) < 0) {
		snprintf(err, errcap, "%.200s/%s: unable to write the access markers: %s", root, channel, strerror(-rc));
		return rc;
	}
	return 1;
}

/* ladder=on-demand|always|off for channel: as access_set.  The marker
 * follows (lsp_chandir_set_ladder), which lsp-channel reads when the
 * channel's next broadcast starts. */
static int ladder_set(lsp_store *st, const char *channel, const char *kv, char *err, size_t errcap)
{
	char root[4096];
	int ladder, rc;
	if (strncmp(kv, "ladder=", 7) != 0)
		return 0;
	if ((ladder = lsp_chanmeta_ladder_parse(kv + 7)) < 0) {
		snprintf(err, errcap, "ladder is on-demand, always or off");
		return -EINVAL;
	}
	if ((rc = lsp_chanmeta_set_ladder(st, channel, ladder, err, errcap)) < 0)
		return rc;
	snprintf(root, sizeof root, "%s/hls", lsp_opt_env("LSP_DATA_DIR", "./var"));
	if ((rc = lsp_chandir_set_ladder(root, channel, ladder)) < 0) {
		snprintf(err, errcap, "%.200s/%s: unable to write the ladder marker: %s", root, channel, strerror(-rc));
		return rc;
	}
	return 1;
}

static int channel_set_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "";
	int rc;
	if (n < 4 || !lsp_name_valid(w[2]))
		return usage_all(io);
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) >= 0)
		for (int i = 3; i < n && rc >= 0; i++) {
			if (!strncmp(w[i], "owner=", 6))
				rc = owner_check(st, w[2], w[i] + 6, err, sizeof err);
			else if (!strncmp(w[i], "webhook_url=", 12) && w[i][12] && !lsp_chanhook_valid(w[i] + 12)) {
				snprintf(err, sizeof err, "webhook_url must be an http:// or https:// URL with a host, at most %d bytes (empty clears it)",
					 LSP_CHANHOOK_URL_MAX);
				rc = -EINVAL;
			}
		}
	for (int i = 3; i < n && rc >= 0; i++) {
		if (!strncmp(w[i], "owner=", 6))
			rc = lsp_chanmeta_set_owner(st, w[2], w[i] + 6, err, sizeof err);
		else if (!strncmp(w[i], "webhook_url=", 12))
			rc = lsp_chanhook_set(st, w[2], w[i] + 12, err, sizeof err);
		else if ((rc = access_set(st, w[2], w[i], err, sizeof err)) == 0 &&
			 (rc = ladder_set(st, w[2], w[i], err, sizeof err)) == 0)
			rc = lsp_vod_settings_set(st, w[2], w[i], err, sizeof err);
	}
	lsp_store_close(st);
	if (rc == -EINVAL)
		return failed(io, err, "channel set", LSP_EXIT_USAGE);
	return rc < 0 ? failed(io, err, w[0], fail_code(rc)) : LSP_EXIT_OK;
}

/* A control character in a text setting as a space: one setting a line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* channel get NAME: the settings, one KEY=VALUE a line in channel set's
 * words (owner, title, category, mature, visibility, age_gate, ladder,
 * webhook_url, record, retention, maxsize), so a script reads one with sed. */
static int channel_get_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	lsp_chanmeta ch;
	lsp_vod_settings vs;
	char err[512] = "", url[LSP_CHANHOOK_URL_MAX + 1] = "";
	int rc;
	if (n != 3)
		return complain(io, "%s %s needs exactly one NAME", w[0], w[1]);
	if (!lsp_name_valid(w[2]))
		return complain(io, "bad channel name " BAD_NAME);
	if (lsp_store_open_env(&st, err, sizeof err) < 0)
		return no_store(io, err);
	if ((rc = lsp_chanmeta_get(st, w[2], &ch, err, sizeof err)) == 0) {
		snprintf(err, sizeof err, "no channel %s", w[2]);
		rc = -ENOENT;
	}
	if (rc > 0)
		rc = lsp_vod_settings_get(st, w[2], &vs, err, sizeof err);
	if (rc >= 0)
		rc = lsp_chanhook_get(st, w[2], url, sizeof url, err, sizeof err);
	lsp_store_close(st);
	if (rc < 0)
		return failed(io, err, "channel get", fail_code(rc));
	one_line(ch.title);
	one_line(ch.category);
	fprintf(io->out,
		"name=%s\nowner=%s\ntitle=%s\ncategory=%s\nmature=%s\nsuspended=%s\nvisibility=%s\n"
		"age_gate=%s\nladder=%s\nwebhook_url=%s\nrecord=%s\nretention=%lld\nmaxsize=%lld\n",
		ch.name, ch.owner, ch.title, ch.category, ch.mature ? "on" : "off", ch.suspended ? "on" : "off",
		lsp_chanmeta_visibility_name(ch.visibility), ch.age_gate ? "on" : "off",
		lsp_chanmeta_ladder_name(ch.ladder), url, vs.record ? "on" : "off", vs.retention_s, vs.max_bytes);
	return LSP_EXIT_OK;
}

static int vod_list_cmd(const lsp_ctl_io *io, int n, char **w)
{
	char err[512] = "", root[4096];
	int rc;
	if (n > 3 || (n == 3 && !lsp_name_valid(w[2])))
		return usage_all(io);
	vod_root(root, sizeof root);
	rc = lsp_vod_list(root, n == 3 ? w[2] : NULL, put_vod, io->out, err, sizeof err);
	return rc < 0 ? failed(io, err, w[0], fail_code(rc)) : LSP_EXIT_OK;
}

static int vod_rm_cmd(const lsp_ctl_io *io, int n, char **w)
{
	char err[512] = "", root[4096];
	int rc;
	if (n != 4)
		return usage_all(io);
	vod_root(root, sizeof root);
	if ((rc = lsp_vod_rm(root, w[2], w[3], err, sizeof err)) == -EBUSY)
		rc = -EEXIST; /* exit 1: an expected "no" */
	return rc < 0 ? failed(io, err, w[0], fail_code(rc)) : LSP_EXIT_OK;
}

static int gc_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", root[4096];
	int rc;
	if (n != 1)
		return usage_all(io);
	vod_root(root, sizeof root);
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) >= 0)
		rc = lsp_vod_gc(root, st, (double)time(NULL), put_removed, io->out, err, sizeof err);
	lsp_store_close(st);
	if (rc < 0)
		return failed(io, err, w[0], fail_code(rc));
	say(io, LSP_INFO, "gc done", "removed", LSV_I(rc), NULL);
	return LSP_EXIT_OK;
}

/* ---- dsar export|erase USER (lib/state/dsar.c) ---- */

struct owned {
	char (*names)[LSP_NAME_MAX + 1];
	int n, cap;
};

static int add_owned(void *ctx, const char *name)
{
	struct owned *o = ctx;
	if (o->n < o->cap)
		snprintf(o->names[o->n++], sizeof o->names[0], "%s", name);
	return 0;
}

static int dsar_cmd(const lsp_ctl_io *io, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", *out = NULL;
	const char *verb = w[1], *user = w[2];
	int rc;
	if (n != 3)
		return usage_all(io);
	if (!lsp_name_valid(user))
		return complain(io, "bad user name " BAD_NAME);
	if (lsp_store_open_env(&st, err, sizeof err) < 0)
		return no_store(io, err);
	if (!strcmp(verb, "export")) {
		rc = lsp_dsar_export(st, user, "operator", &out, err, sizeof err);
		if (rc == 0 &&
		    (fputs(out, io->out) == EOF || fputc('\n', io->out) == EOF || fflush(io->out) == EOF)) {
			snprintf(err, sizeof err, "unable to write the export");
			rc = -EIO;
		}
		free(out);
	} else {
		/* the account's channels go with it: so do their recordings */
		struct owned o = { calloc(4096, sizeof *o.names), 0, 4096 };
		rc = o.names ? lsp_chanmeta_owned(st, user, add_owned, &o, err, sizeof err) : -ENOMEM;
		if (rc >= 0)
			rc = lsp_dsar_erase(st, user, "operator", err, sizeof err);
		if (rc >= 0) { /* the user's open chat sockets close, and those of the channels gone with them */
			lsp_bus *b = revoke_bus(io);
			revoke_send(io, b, LSP_REVOKE_ERASED, user, NULL);
			for (int i = 0; i < o.n; i++)
				revoke_send(io, b, LSP_REVOKE_CHANNEL_DELETED, NULL, o.names[i]);
			lsp_bus_close(b);
		}
		for (int i = 0; rc >= 0 && i < o.n; i++)
			rc = purge_vod(o.names[i], err, sizeof err);
		free(o.names);
	}
	lsp_store_close(st);
	if (rc < 0)
		return failed(io, err, verb, fail_code(rc));
	say(io, LSP_INFO, "done", "command", LSV_S(verb), NULL);
	return LSP_EXIT_OK;
}

/* ---- the registry ---- */

const lsp_ctl_cmd lsp_ctl_cmds[] = {
	{ "channel add",
	  "  channel add NAME [--owner USER]\n"
	  "                        create a channel (owned by USER, an existing account);\n"
	  "                        prints its stream key as the last word\n",
	  channel_cmd },
	{ "channel list", "  channel list          list channels (name, key state, created)\n", channel_cmd },
	{ "channel rm", "  channel rm NAME       delete a channel and its recordings\n", channel_cmd },
	{ "key rotate", "  key rotate NAME       issue a new stream key (the old one stops working)\n", channel_cmd },
	{ "key revoke", "  key revoke NAME       revoke the stream key (publishing is refused)\n", channel_cmd },
	{ "user add", "  user add NAME         create a chat user (with an empty ledger account)\n", user_add_cmd },
	{ "user credit", "  user credit NAME AMOUNT   top up a user's balance (minor units; admin/test)\n",
	  user_credit_cmd },
	{ "token",
	  "  token NAME [--role viewer|mod|owner] [--channel C] [--ttl SECONDS]\n"
	  "                        print a signed chat token (default viewer, any channel, 86400 s)\n",
	  token_cmd },
	{ "ledger",
	  "  ledger NAME [--check] a channel's balance and entries (user:NAME for a user);\n"
	  "                        --check reconciles the whole ledger (exit 1 on a mismatch)\n",
	  ledger_cmd },
	{ "audit", "  audit NAME            a channel's moderation audit, newest first\n", audit_cmd },
	{ "channel set",
	  "  channel set NAME KEY=VALUE...   owner=USER (an existing account); recording\n"
	  "                        settings: record=on|off, retention=30d|12h|0 (age),\n"
	  "                        maxsize=50G|0 (per channel); access:\n"
	  "                        visibility=public|unlisted|private, age_gate=on|off;\n"
	  "                        transcoding: ladder=on-demand|always|off;\n"
	  "                        webhook_url=http(s)://… (the channel's own webhook\n"
	  "                        receiver; empty: the global one)\n",
	  channel_set_cmd },
	{ "channel get", "  channel get NAME      a channel's settings, one KEY=VALUE a line\n", channel_get_cmd },
	{ "vod list", "  vod list [NAME]       recordings: channel, id, start, seconds, bytes, state\n", vod_list_cmd },
	{ "vod rm", "  vod rm NAME ID        delete a recording (exit 1 while it is being recorded)\n", vod_rm_cmd },
	{ "gc", "  gc                    enforce every channel's retention (run by lsp-gc.timer)\n", gc_cmd },
	{ "dsar export", "  dsar export USER      everything held about USER as one JSON archive on stdout\n",
	  dsar_cmd },
	{ "dsar erase",
	  "  dsar erase USER       erase USER everywhere (ledger amounts kept, anonymised);\n"
	  "                        both are written to the privacy audit\n",
	  dsar_cmd },
	{ NULL, NULL, NULL },
};

const lsp_ctl_cmd *lsp_ctl_find(int n, char *const *w)
{
	const lsp_ctl_cmd *one = NULL;
	for (const lsp_ctl_cmd *c = lsp_ctl_cmds; n >= 1 && c->name; c++) {
		const char *sp = strchr(c->name, ' ');
		if (!sp && !strcmp(c->name, w[0]))
			one = c;
		else if (sp && n >= 2 && !strncmp(c->name, w[0], (size_t)(sp - c->name)) &&
			 w[0][sp - c->name] == '\0' && !strcmp(sp + 1, w[1]))
			return c;
	}
	return one;
}

/* Words that name no command: the complaint depends on the first word,
 * and for channel-like words the NAME is checked before the command. */
static int unknown(const lsp_ctl_io *io, int n, char **w)
{
	if (n < 2 || !strcmp(w[0], "vod") || (!strcmp(w[0], "dsar") && n != 3))
		return usage_all(io);
	if (!strcmp(w[0], "user") || !strcmp(w[0], "dsar"))
		return complain(io, "unknown command: %s %s", w[0], w[1]);
	if (n != 3)
		return complain(io, "%s %s needs exactly one NAME", w[0], w[1]);
	if (!lsp_name_valid(w[2]))
		return complain(io, "bad channel name " BAD_NAME);
	return complain(io, "unknown command: %s %s", w[0], w[1]);
}

int lsp_ctl_run(const lsp_ctl_io *io, int n, char **w)
{
	const lsp_ctl_cmd *c = lsp_ctl_find(n, w);
	return c ? c->run(io, n, w) : unknown(io, n, w);
}

int lsp_ctl_usage(FILE *f)
{
	for (const lsp_ctl_cmd *c = lsp_ctl_cmds; c->name; c++)
		if (fputs(c->usage, f) == EOF)
			return -EIO;
	return 0;
}
