/* account.c — the sign-in columns of the users table; see account.h.
 * Holds no state: every call is one statement on the caller's store. */
#include "state/account.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)

int lsp_account_set_login(lsp_store *st, const char *name, const char *pw_hash, const char *role, int kid,
			  char *err, size_t errcap)
{
	char kids[4];
	const char *p[4] = { name, pw_hash, role, kids };
	int rc;
	snprintf(kids, sizeof kids, "%d", kid ? 1 : 0);
	rc = X("UPDATE users SET pw_hash = $2, role = $3, kid = $4 WHERE name = $1", 4, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}

struct login {
	char *hash;
	size_t cap;
	lsp_account *out;
	int found;
};

static int row_login(void *ctx, int ncol, const char *const *v)
{
	struct login *l = ctx;
	if (ncol < 3)
		return 1;
	l->found = v[0] != NULL;
	snprintf(l->hash, l->cap, "%s", v[0] ? v[0] : "");
	snprintf(l->out->role, sizeof l->out->role, "%s", v[1] ? v[1] : "viewer");
	l->out->kid = lsp_store_int(v[2]) != 0;
	return 1;
}

int lsp_account_login(lsp_store *st, const char *name, char *hash, size_t cap, lsp_account *out, char *err,
		      size_t errcap)
{
	const char *p[1] = { name };
	struct login l = { hash, cap, out, 0 };
	int rc;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", name);
	if (cap)
		hash[0] = 0;
	rc = X("SELECT pw_hash, role, kid FROM users WHERE name = $1", 1, p, row_login, &l);
	return rc < 0 ? rc : l.found;
}

struct get {
	lsp_account *out;
	int found;
};

static int row_get(void *ctx, int ncol, const char *const *v)
{
	struct get *g = ctx;
	if (ncol < 5)
		return 1;
	snprintf(g->out->name, sizeof g->out->name, "%s", v[0] ? v[0] : "");
	snprintf(g->out->role, sizeof g->out->role, "%s", v[1] ? v[1] : "viewer");
	g->out->kid = lsp_store_int(v[2]) != 0;
	g->out->created_at = lsp_store_int(v[3]);
	g->out->adult = lsp_store_int(v[4]) != 0;
	g->found = 1;
	return 1;
}

int lsp_account_get(lsp_store *st, const char *name, lsp_account *out, char *err, size_t errcap)
{
	const char *p[1] = { name };
	struct get g;
	int rc;
	memset(out, 0, sizeof *out);
	g.out = out;
	g.found = 0;
	rc = X("SELECT name, role, kid, created_at, adult FROM users WHERE name = $1", 1, p, row_get, &g);
	return rc < 0 ? rc : g.found;
}

int lsp_account_set_role(lsp_store *st, const char *name, const char *role, char *err, size_t errcap)
{
	const char *p[2] = { name, role };
	int rc = X("UPDATE users SET role = $2 WHERE name = $1", 2, p, NULL, NULL);
	if (rc == 0) {
		snprintf(err, errcap, "no user %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int lsp_account_set_adult(lsp_store *st, const char *name, int adult, char *err, size_t errcap)
{
	const char *p[2] = { name, adult ? "1" : "0" };
	int rc = X("UPDATE users SET adult = $2 WHERE name = $1", 2, p, NULL, NULL);
	if (rc == 0) {
		snprintf(err, errcap, "no user %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}
