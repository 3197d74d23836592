/* modlog.c — moderation state and audit; see modlog.h. */
#include "state/modlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)

static const char *const names[] = { "?", "ban", "unban", "timeout", "delete", "slow", "filter_add", "filter_rm" };

const char *lsp_mod_name(int kind)
{
	return kind >= 1 && kind <= LSP_MOD_FILTER_RM ? names[kind] : "?";
}

int lsp_mod_apply(lsp_store *st, const lsp_mod_action *a, char *err, size_t errcap)
{
	char now[24], secs[24], until[24], detail[256];
	const char *pban[5] = { a->channel, a->target, until, a->actor, a->reason ? a->reason : "" };
	const char *pct[2] = { a->channel, a->target }, *pslow[2] = { a->channel, secs };
	const char *const *p = pct;
	int np = 2;
	const char *q[6] = { now, a->channel, a->actor, lsp_mod_name(a->kind), a->target, detail };
	const char *sql = NULL;
	char e2[64];
	int rc;

	snprintf(now, sizeof now, "%lld", a->now);
	snprintf(secs, sizeof secs, "%lld", a->seconds);
	snprintf(until, sizeof until, "%lld", a->kind == LSP_MOD_TIMEOUT ? a->now + a->seconds : 0);
	if (a->kind == LSP_MOD_TIMEOUT || a->kind == LSP_MOD_SLOW)
		snprintf(detail, sizeof detail, "%llds%s%s", a->seconds, a->reason && *a->reason ? " " : "",
			 a->reason ? a->reason : "");
	else
		snprintf(detail, sizeof detail, "%s", a->reason ? a->reason : "");
	switch (a->kind) {
	case LSP_MOD_BAN: case LSP_MOD_TIMEOUT:
		p = pban, np = 5;
		sql = "INSERT INTO bans (channel, user_name, until_at, actor, reason) VALUES ($1, $2, $3, $4, $5)"
		      " ON CONFLICT (channel, user_name) DO UPDATE SET until_at = excluded.until_at,"
		      " actor = excluded.actor, reason = excluded.reason";
		break;
	case LSP_MOD_UNBAN:
		sql = "DELETE FROM bans WHERE channel = $1 AND user_name = $2";
		break;
	case LSP_MOD_SLOW:
		p = pslow;
		sql = "INSERT INTO chat_settings (channel, slow_seconds) VALUES ($1, $2)"
		      " ON CONFLICT (channel) DO UPDATE SET slow_seconds = excluded.slow_seconds";
		break;
	case LSP_MOD_FILTER_ADD:
		sql = "INSERT INTO word_filters (channel, word) VALUES ($1, $2) ON CONFLICT (channel, word) DO NOTHING";
		break;
	case LSP_MOD_FILTER_RM:
		sql = "DELETE FROM word_filters WHERE channel = $1 AND word = $2";
		break;
	case LSP_MOD_DELETE:
		break; /* messages live in the bus, not the store: only the audit row */
	default:
		snprintf(err, errcap, "unknown moderation action");
		return -EINVAL;
	}
	if ((rc = X(strcmp(lsp_store_backend(st), "sqlite") == 0 ? "BEGIN IMMEDIATE" : "BEGIN", 0, NULL, NULL,
		    NULL)) < 0)
		return rc;
	if (sql)
		rc = X(sql, np, p, NULL, NULL);
	if (rc >= 0)
		rc = X("INSERT INTO moderation_audit (at, channel, actor, action, target, detail)"
		       " VALUES ($1, $2, $3, $4, $5, $6)", 6, q, NULL, NULL);
	if (rc >= 0)
		rc = X("COMMIT", 0, NULL, NULL, NULL);
	if (rc < 0) {
		lsp_store_exec(st, "ROLLBACK", 0, NULL, NULL, NULL, e2, sizeof e2);
		return rc;
	}
	return 0;
}

struct ban_ctx {
	int (*fn)(void *, const char *, long long);
	void *ctx;
	int n;
};

static int row_ban(void *ctx, int ncol, const char *const *v)
{
	struct ban_ctx *b = ctx;
	if (ncol < 2 || !v[0])
		return 1;
	b->n++;
	return b->fn ? b->fn(b->ctx, v[0], lsp_store_int(v[1])) : 0;
}

int lsp_mod_bans(lsp_store *st, const char *channel, long long now,
		 int (*fn)(void *ctx, const char *user, long long until), void *ctx, char *err, size_t errcap)
{
	char n[24];
	const char *p[2] = { channel, n };
	struct ban_ctx b = { fn, ctx, 0 };
	int rc;
	snprintf(n, sizeof n, "%lld", now);
	rc = X("SELECT user_name, until_at FROM bans WHERE channel = $1"
	       " AND (until_at = 0 OR until_at > CAST($2 AS BIGINT))", 2, p, row_ban, &b);
	return rc < 0 ? rc : b.n;
}

struct word_ctx {
	int (*fn)(void *, const char *);
	void *ctx;
	int n;
};

static int row_word(void *ctx, int ncol, const char *const *v)
{
	struct word_ctx *w = ctx;
	if (ncol < 1 || !v[0])
		return 1;
	w->n++;
	return w->fn ? w->fn(w->ctx, v[0]) : 0;
}

int lsp_mod_words(lsp_store *st, const char *channel, int (*fn)(void *ctx, const char *word), void *ctx,
		  char *err, size_t errcap)
{
	const char *p[1] = { channel };
	struct word_ctx w = { fn, ctx, 0 };
	int rc = X("SELECT word FROM word_filters WHERE channel = $1 ORDER BY word", 1, p, row_word, &w);
	return rc < 0 ? rc : w.n;
}

static int row_ll(void *ctx, int ncol, const char *const *v)
{
	if (ncol > 0 && v[0])
		*(long long *)ctx = lsp_store_int(v[0]);
	return 1;
}

int lsp_mod_slow(lsp_store *st, const char *channel, long long *seconds, char *err, size_t errcap)
{
	const char *p[1] = { channel };
	*seconds = 0;
	int rc = X("SELECT slow_seconds FROM chat_settings WHERE channel = $1", 1, p, row_ll, seconds);
	return rc < 0 ? rc : 0;
}

struct audit_ctx {
	int (*fn)(void *, long long, const char *, const char *, const char *, const char *);
	void *ctx;
	int n;
};

static int row_audit(void *ctx, int ncol, const char *const *v)
{
	struct audit_ctx *a = ctx;
	if (ncol < 5)
		return 1;
	a->n++;
	return a->fn ? a->fn(a->ctx, lsp_store_int(v[0]), v[1] ? v[1] : "", v[2] ? v[2] : "", v[3] ? v[3] : "",
			     v[4] ? v[4] : "")
		     : 0;
}

int lsp_mod_audit(lsp_store *st, const char *channel, int limit,
		  int (*fn)(void *ctx, long long at, const char *actor, const char *action, const char *target,
			    const char *detail),
		  void *ctx, char *err, size_t errcap)
{
	char lim[16];
	const char *p[2] = { channel, lim };
	struct audit_ctx a = { fn, ctx, 0 };
	int rc;
	snprintf(lim, sizeof lim, "%d", limit);
	rc = X("SELECT at, actor, action, target, detail FROM moderation_audit WHERE channel = $1"
	       " ORDER BY at DESC LIMIT CAST($2 AS INTEGER)", 2, p, row_audit, &a);
	return rc < 0 ? rc : a.n;
}
