/* ledger.c — users and the double-entry tip ledger; see ledger.h. */
#include "state/ledger.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)

static int begin(lsp_store *st, char *err, size_t errcap)
{
	/* SQLite: take the write lock now, so two writers never deadlock on upgrade */
	const char *sql = strcmp(lsp_store_backend(st), "sqlite") == 0 ? "BEGIN IMMEDIATE" : "BEGIN";
	return X(sql, 0, NULL, NULL, NULL);
}

static void rollback(lsp_store *st)
{
	char e[64];
	lsp_store_exec(st, "ROLLBACK", 0, NULL, NULL, NULL, e, sizeof e);
}

static int new_txn(char out[LSP_TXN_MAX])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static int row_ll(void *ctx, int ncol, const char *const *v)
{
	long long *p = ctx;
	if (ncol > 0 && v[0])
		*p = lsp_store_int(v[0]);
	return 1;
}

int lsp_ledger_durable(lsp_store *st, char *err, size_t errcap)
{
	if (strcmp(lsp_store_backend(st), "sqlite") != 0)
		return 0;
	return X("PRAGMA synchronous=FULL", 0, NULL, NULL, NULL) < 0 ? -EIO : 0;
}

int lsp_user_exists(lsp_store *st, const char *name, char *err, size_t errcap)
{
	const char *p[1] = { name };
	long long found = 0;
	int rc = X("SELECT 1 FROM users WHERE name = $1", 1, p, row_ll, &found);
	return rc < 0 ? rc : found == 1;
}

int lsp_user_add(lsp_store *st, const char *name, char *err, size_t errcap)
{
	char now[24], acct[LSP_LEDGER_ACCT_MAX];
	const char *p[2] = { name, now }, *pa[1] = { acct };
	int rc;
	if (!lsp_name_valid(name)) {
		snprintf(err, errcap, "bad user name (want [a-z0-9_][a-z0-9_-]{0,63})");
		return -EINVAL;
	}
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	snprintf(acct, sizeof acct, "user:%s", name);
	if ((rc = begin(st, err, errcap)) < 0)
		return rc;
	rc = X("INSERT INTO users (name, created_at) VALUES ($1, $2)", 2, p, NULL, NULL);
	if (rc == -EEXIST)
		snprintf(err, errcap, "user %s already exists", name);
	if (rc >= 0)
		rc = X("INSERT INTO ledger_accounts (name, kind, balance) VALUES ($1, 'user', 0)", 1, pa, NULL, NULL);
	if (rc < 0) {
		rollback(st);
		return rc;
	}
	rc = X("COMMIT", 0, NULL, NULL, NULL);
	return rc < 0 ? rc : 0;
}

/* Move amount from account a to account b inside an open transaction:
 * entries (txn,a,-amount) and (txn,b,+amount); a must not go below zero
 * unless it is a system account.  Both accounts must exist. */
static int transfer(lsp_store *st, const char *txn, const char *a, const char *b, long long amount, const char *kind,
		    const char *now, char *err, size_t errcap)
{
	char amt[24], neg[24];
	const char *pa[2] = { a, amt }, *pb[2] = { b, amt };
	const char *ea[5] = { txn, a, neg, kind, now }, *eb[5] = { txn, b, amt, kind, now };
	int rc;
	snprintf(amt, sizeof amt, "%lld", amount);
	snprintf(neg, sizeof neg, "%lld", -amount);
	rc = X("UPDATE ledger_accounts SET balance = balance - CAST($2 AS BIGINT)"
	       " WHERE name = $1 AND (kind = 'system' OR balance >= CAST($2 AS BIGINT))", 2, pa, NULL, NULL);
	if (rc == 0) {
		snprintf(err, errcap, "insufficient balance");
		return -ENOSPC;
	}
	if (rc < 0)
		return rc;
	rc = X("UPDATE ledger_accounts SET balance = balance + CAST($2 AS BIGINT) WHERE name = $1", 2, pb, NULL, NULL);
	if (rc <= 0) {
		if (rc == 0)
			snprintf(err, errcap, "no account %s", b);
		return rc == 0 ? -ENOENT : rc;
	}
	if ((rc = X("INSERT INTO ledger_entries (txn, account, amount, kind, created_at)"
		    " VALUES ($1, $2, $3, $4, $5)", 5, ea, NULL, NULL)) < 0)
		return rc;
	if ((rc = X("INSERT INTO ledger_entries (txn, account, amount, kind, created_at)"
		    " VALUES ($1, $2, $3, $4, $5)", 5, eb, NULL, NULL)) < 0)
		return rc;
	return 0;
}

int lsp_ledger_credit(lsp_store *st, const char *user, long long amount, long long *balance, char *err,
		      size_t errcap)
{
	char txn[LSP_TXN_MAX], now[24], acct[LSP_LEDGER_ACCT_MAX];
	const char *p[1] = { acct };
	int rc;
	if (amount <= 0 || amount > 1000000000000LL) {
		snprintf(err, errcap, "amount must be from 1 to 10^12");
		return -EINVAL;
	}
	if (new_txn(txn) < 0) {
		snprintf(err, errcap, "unable to draw random bytes");
		return -EIO;
	}
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	snprintf(acct, sizeof acct, "user:%s", user);
	if ((rc = begin(st, err, errcap)) < 0)
		return rc;
	rc = X("INSERT INTO ledger_accounts (name, kind, balance) VALUES ('system:mint', 'system', 0)"
	       " ON CONFLICT (name) DO NOTHING", 0, NULL, NULL, NULL);
	if (rc >= 0)
		rc = transfer(st, txn, "system:mint", acct, amount, "credit", now, err, errcap);
	if (rc >= 0)
		rc = X("SELECT balance FROM ledger_accounts WHERE name = $1", 1, p, row_ll, balance);
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(err, errcap, "no user %s", user);
		rollback(st);
		return rc;
	}
	rc = X("COMMIT", 0, NULL, NULL, NULL);
	return rc < 0 ? rc : 0;
}

struct tip_row {
	lsp_tip_result *r;
	int found;
};

static int row_tip(void *ctx, int ncol, const char *const *v)
{
	struct tip_row *t = ctx;
	if (ncol < 4 || !v[0] || !v[1] || !v[2] || !v[3])
		return 1;
	snprintf(t->r->txn, sizeof t->r->txn, "%s", v[0]);
	snprintf(t->r->channel, sizeof t->r->channel, "%s", v[1]);
	t->r->amount = lsp_store_int(v[2]);
	t->r->created_at = lsp_store_int(v[3]);
	t->found = 1;
	return 1;
}

static int find_tip(lsp_store *st, const char *user, const char *key, lsp_tip_result *out, char *err,
		    size_t errcap)
{
	const char *p[2] = { user, key };
	struct tip_row t = { out, 0 };
	int rc = X("SELECT txn, channel, amount, created_at FROM tips WHERE user_name = $1 AND idem_key = $2", 2, p,
		   row_tip, &t);
	return rc < 0 ? rc : t.found;
}

int lsp_ledger_tip(lsp_store *st, const char *user, const char *channel, long long amount, const char *key,
		   const char *message, lsp_tip_result *out, char *err, size_t errcap)
{
	char now[24], ua[LSP_LEDGER_ACCT_MAX], ca[LSP_LEDGER_ACCT_MAX], amt[24];
	const char *p[7] = { user, key, out->txn, channel, amt, message ? message : "", now };
	const char *pc[1] = { ca }, *pu[1] = { ua };
	int rc, attempt;

	memset(out, 0, sizeof *out);
	if (amount <= 0 || !lsp_name_valid(user) || !lsp_name_valid(channel)) {
		snprintf(err, errcap, "bad tip");
		return -EINVAL;
	}
	snprintf(ua, sizeof ua, "user:%s", user);
	snprintf(ca, sizeof ca, "channel:%s", channel);
	snprintf(amt, sizeof amt, "%lld", amount);
	for (attempt = 0; attempt < 2; attempt++) {
		long long t = time(NULL);
		snprintf(now, sizeof now, "%lld", t);
		if ((rc = begin(st, err, errcap)) < 0)
			return rc;
		if ((rc = find_tip(st, user, key, out, err, errcap)) < 0)
			goto fail;
		if (rc == 1) { /* replay: the first result, nothing charged */
			out->replay = 1;
			rc = X("SELECT balance FROM ledger_accounts WHERE name = $1", 1, pu, row_ll, &out->balance);
			if (rc < 0)
				goto fail;
			X("COMMIT", 0, NULL, NULL, NULL);
			return 1;
		}
		{ /* only to a channel that exists and is not suspended, checked
		   * in the transaction that charges (a replay above is still one) */
			const char *pch[1] = { channel };
			long long susp = -1;
			if ((rc = X("SELECT suspended FROM channels WHERE name = $1", 1, pch, row_ll, &susp)) < 0)
				goto fail;
			if (susp != 0) {
				snprintf(err, errcap, susp < 0 ? "no channel %s" : "channel %s is suspended", channel);
				rc = susp < 0 ? -ESRCH : -EPERM;
				goto fail;
			}
		}
		if (new_txn(out->txn) < 0) {
			snprintf(err, errcap, "unable to draw random bytes");
			rc = -EIO;
			goto fail;
		}
		rc = X("INSERT INTO ledger_accounts (name, kind, balance) VALUES ($1, 'channel', 0)"
		       " ON CONFLICT (name) DO NOTHING", 1, pc, NULL, NULL);
		if (rc >= 0)
			rc = transfer(st, out->txn, ua, ca, amount, "tip", now, err, errcap);
		if (rc == -ENOENT || (rc == -ENOSPC && lsp_user_exists(st, user, err, errcap) == 0)) {
			snprintf(err, errcap, "no user %s", user);
			rc = -ENOENT;
		}
		if (rc >= 0)
			rc = X("INSERT INTO tips (user_name, idem_key, txn, channel, amount, message, created_at)"
			       " VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, p, NULL, NULL);
		if (rc >= 0)
			rc = X("SELECT balance FROM ledger_accounts WHERE name = $1", 1, pu, row_ll, &out->balance);
		if (rc >= 0)
			rc = X("COMMIT", 0, NULL, NULL, NULL);
		if (rc >= 0) {
			snprintf(out->channel, sizeof out->channel, "%s", channel);
			out->amount = amount;
			out->created_at = t;
			return 0;
		}
		rollback(st);
		/* a concurrent writer (another node) stored this key first: replay it */
		if (rc != -EEXIST)
			return rc;
	}
	return rc;
fail:
	rollback(st);
	return rc;
}

int lsp_ledger_balance(lsp_store *st, const char *account, long long *balance, char *err, size_t errcap)
{
	const char *p[1] = { account };
	long long b = -1;
	long long found = 0;
	int rc = X("SELECT 1 FROM ledger_accounts WHERE name = $1", 1, p, row_ll, &found);
	if (rc < 0)
		return rc;
	if (!found) {
		snprintf(err, errcap, "no account %s", account);
		return -ENOENT;
	}
	rc = X("SELECT balance FROM ledger_accounts WHERE name = $1", 1, p, row_ll, &b);
	if (rc < 0)
		return rc;
	*balance = b;
	return 0;
}

struct ent_ctx {
	lsp_ledger_entry_fn fn;
	void *ctx;
	int n;
};

static int row_ent(void *ctx, int ncol, const char *const *v)
{
	struct ent_ctx *e = ctx;
	if (ncol < 4)
		return 1;
	e->n++;
	return e->fn ? e->fn(e->ctx, v[0] ? v[0] : "", lsp_store_int(v[1]), v[2] ? v[2] : "",
			     lsp_store_int(v[3]))
		     : 0;
}

int lsp_ledger_entries(lsp_store *st, const char *account, int limit, lsp_ledger_entry_fn fn, void *ctx,
		       char *err, size_t errcap)
{
	char lim[16];
	const char *p[2] = { account, lim };
	struct ent_ctx e = { fn, ctx, 0 };
	int rc;
	snprintf(lim, sizeof lim, "%d", limit);
	rc = X("SELECT txn, amount, kind, created_at FROM ledger_entries WHERE account = $1"
	       " ORDER BY created_at DESC, txn LIMIT CAST($2 AS INTEGER)", 2, p, row_ent, &e);
	return rc < 0 ? rc : e.n;
}

struct chk_ctx {
	char *err;
	size_t errcap;
	int bad;
};

static int row_bad(void *ctx, int ncol, const char *const *v)
{
	struct chk_ctx *c = ctx;
	snprintf(c->err, c->errcap, "ledger mismatch at %s (%s)", ncol > 0 && v[0] ? v[0] : "?",
		 ncol > 1 && v[1] ? v[1] : "?");
	c->bad = 1;
	return 1;
}

int lsp_ledger_check(lsp_store *st, char *err, size_t errcap)
{
	struct chk_ctx c = { err, errcap, 0 };
	char e2[256];
	int rc = lsp_store_exec(st, "SELECT txn, 'unbalanced txn' FROM ledger_entries GROUP BY txn"
				" HAVING SUM(amount) <> 0", 0, NULL, row_bad, &c, e2, sizeof e2);
	if (rc >= 0 && !c.bad)
		rc = lsp_store_exec(st, "SELECT a.name, 'balance differs from entries' FROM ledger_accounts a"
				    " WHERE a.balance <> COALESCE((SELECT SUM(e.amount) FROM ledger_entries e"
				    " WHERE e.account = a.name), 0)", 0, NULL, row_bad, &c, e2, sizeof e2);
	if (rc >= 0 && !c.bad)
		rc = lsp_store_exec(st, "SELECT t.txn, 'tip without entries' FROM tips t WHERE NOT EXISTS"
				    " (SELECT 1 FROM ledger_entries e WHERE e.txn = t.txn)", 0, NULL, row_bad, &c,
				    e2, sizeof e2);
	if (rc < 0) {
		snprintf(err, errcap, "%s", e2);
		return rc;
	}
	return c.bad;
}
