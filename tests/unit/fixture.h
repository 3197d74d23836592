/* fixture.h — the shared unit-test set-up for code over lib/state: a temp
 * data directory and a store opened (and migrated) on it, cleaned up
 * after the test.
 *
 *   static void t(void **state) { fx *f = *state; ... f->st ... f->dir ... }
 *   cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
 *
 * The store is SQLite at <dir>/lsp.db — or, when LSP_TEST_PG_URL names a
 * Postgres server (postgres://user@host:port/db), a fresh database
 * t_<random> created on that server for the one test and dropped after it,
 * so tests never see each other's rows.  fx_open opens another connection
 * to the same store (to test reopening, or a second writer).
 *
 * Header-only (static inline), for tests/unit/test_*.c; include it after
 * cmocka.h.  Everything it makes, fx_teardown removes. */
#ifndef LSP_TEST_FIXTURE_H
#define LSP_TEST_FIXTURE_H
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/store.h"

typedef struct {
	char dir[64];        /* the temp data directory (LSP_DATA_DIR) */
	char url[512];       /* the Postgres database's URL, "" for SQLite */
	char db[40];         /* its name on the server */
	lsp_store *st;       /* open and migrated */
	char err[256];
} fx;

/* Run one statement on the Postgres server named by admin_url.  0 or -1. */
static inline int fx_pg_admin(const char *admin_url, const char *sql)
{
	PGconn *c = PQconnectdb(admin_url);
	PGresult *r;
	int ok;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fixture: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "fixture: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* A fresh database on the LSP_TEST_PG_URL server: its URL into f->url. */
static inline int fx_pg_create(fx *f, const char *admin)
{
	const char *sch = strstr(admin, "://"), *slash = strrchr(admin, '/');
	size_t base; /* the URL up to its database path */
	char sql[96];
	unsigned r = 0;
	FILE *u = fopen("/dev/urandom", "rb");
	if (!u || fread(&r, sizeof r, 1, u) != 1 || !sch) {
		if (u)
			fclose(u);
		return -1;
	}
	fclose(u);
	base = slash > sch + 2 ? (size_t)(slash - admin) : strlen(admin);
	snprintf(f->db, sizeof f->db, "t_%d_%08x", (int)getpid(), r);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->db);
	if (fx_pg_admin(admin, sql) < 0)
		return -1;
	if ((size_t)snprintf(f->url, sizeof f->url, "%.*s/%s", (int)base, admin, f->db) >= sizeof f->url)
		return -1;
	return 0;
}

/* Another connection to the fixture's store into *out.  As lsp_store_open. */
static inline int fx_open(fx *f, lsp_store **out)
{
	return lsp_store_open(out, f->dir, f->url[0] ? f->url : NULL, f->err, sizeof f->err);
}

static inline int fx_teardown(void **state)
{
	fx *f = *state;
	char cmd[128], sql[96];
	int rc = 0;
	if (!f)
		return 0;
	lsp_store_close(f->st);
	if (f->db[0]) {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", f->db);
		rc = fx_pg_admin(getenv("LSP_TEST_PG_URL"), sql);
	}
	if (f->dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			rc = -1;
	}
	free(f);
	*state = NULL;
	return rc;
}

static inline int fx_setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	const char *pg = getenv("LSP_TEST_PG_URL");
	*state = f;
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/lsp-unit-XXXXXX");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = 0;
		goto fail;
	}
	if (pg && *pg && fx_pg_create(f, pg) < 0)
		goto fail;
	if (fx_open(f, &f->st) < 0) {
		fprintf(stderr, "fixture: %s\n", f->err);
		goto fail;
	}
	return 0;
fail:
	fx_teardown(state);
	return -1;
}

static inline int fx_row_int(void *ctx, int ncol, const char *const *v)
{
	if (ncol > 0 && v[0])
		*(long long *)ctx = lsp_store_int(v[0]);
	return 1;
}

/* The first column of the first row of sql (one optional text parameter,
 * $1) as an integer; -1 when no row came back.  Fails the test when the
 * store does. */
static inline long long fx_count(fx *f, const char *sql, const char *p1)
{
	const char *p[1] = { p1 };
	long long n = -1;
	assert_true(lsp_store_exec(f->st, sql, p1 ? 1 : 0, p, fx_row_int, &n, f->err, sizeof f->err) >= 0);
	return n;
}

#endif
