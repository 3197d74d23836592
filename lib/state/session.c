/* session.c — the sessions table; see session.h.  Holds no state: every
 * call is one statement on the caller's store. */
#include "state/session.h"

#include <stdio.h>
#include <string.h>

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)

int lsp_session_add(lsp_store *st, const char *hash, const char *user, long long created_at, long long expires_at,
		    char *err, size_t errcap)
{
	char now[24], exp[24];
	const char *p[4] = { hash, user, now, exp };
	int rc;
	snprintf(now, sizeof now, "%lld", created_at);
	snprintf(exp, sizeof exp, "%lld", expires_at);
	rc = X("INSERT INTO sessions (hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4) "
	       "ON CONFLICT (hash) DO NOTHING",
	       4, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}

struct who {
	lsp_account *out;
	int found;
};

static int row_who(void *ctx, int ncol, const char *const *v)
{
	struct who *w = ctx;
	if (ncol < 3 || !v[0] || !v[1])
		return 1;
	snprintf(w->out->name, sizeof w->out->name, "%s", v[0]);
	snprintf(w->out->role, sizeof w->out->role, "%s", v[1]);
	w->out->kid = lsp_store_int(v[2]) != 0;
	w->found = 1;
	return 1;
}

int lsp_session_user(lsp_store *st, const char *hash, long long now, lsp_account *out, char *err, size_t errcap)
{
	char ns[24];
	const char *p[2] = { hash, ns };
	struct who w = { out, 0 };
	int rc;
	memset(out, 0, sizeof *out);
	snprintf(ns, sizeof ns, "%lld", now);
	rc = X("SELECT u.name, u.role, u.kid FROM sessions s JOIN users u ON u.name = s.user_name "
	       "WHERE s.hash = $1 AND s.expires_at > $2",
	       2, p, row_who, &w);
	return rc < 0 ? rc : w.found;
}

int lsp_session_rm(lsp_store *st, const char *hash, char *err, size_t errcap)
{
	const char *p[1] = { hash };
	int rc = X("DELETE FROM sessions WHERE hash = $1", 1, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}

int lsp_session_sweep(lsp_store *st, long long now, char *err, size_t errcap)
{
	char ns[24];
	const char *p[1] = { ns };
	snprintf(ns, sizeof ns, "%lld", now);
	return X("DELETE FROM sessions WHERE expires_at <= $1", 1, p, NULL, NULL);
}
