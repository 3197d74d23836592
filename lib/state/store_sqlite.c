/* store_sqlite.c — the embedded SQLite backend of lib/store (single box).
 * Parameters "$1".."$N" are bound by name, so one SQL text serves both
 * backends.  The connection is owned by the store. */
#include "state/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>

static int sq_open(void **conn, const char *path, char *err, size_t errcap)
{
	sqlite3 *db = NULL;
	char *em = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errcap, "unable to open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, 5000);
	/* switching a new file to WAL while another process opens it answers
	 * SQLITE_BUSY at once (the busy handler is not called): retry, 5 s at most */
	for (int i = 0; sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, &em) == SQLITE_BUSY && i < 500;
	     i++) {
		sqlite3_free(em);
		em = NULL;
		sqlite3_sleep(10);
	}
	if (em || sqlite3_exec(db, "PRAGMA foreign_keys=ON;", NULL, NULL, &em) != SQLITE_OK) {
		snprintf(err, errcap, "unable to configure %s: %s", path, em ? em : "?");
		sqlite3_free(em);
		sqlite3_close(db);
		return -EIO;
	}
	*conn = db;
	return 0;
}

static void sq_close(void *conn)
{
	sqlite3_close(conn);
}

static int sq_exec(void *conn, const char *sql, int nparam, const char *const *params, lsp_store_row_fn row,
		   void *ctx, char *err, size_t errcap)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "sqlite: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	for (int i = 0; i < nparam; i++) {
		char name[16];
		int idx;
		snprintf(name, sizeof name, "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (idx == 0)
			continue; /* parameter not used by this statement */
		if (params[i])
			rc = sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK) {
			snprintf(err, errcap, "sqlite bind: %s", sqlite3_errmsg(db));
			ret = -EIO;
			goto fail;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *vals[32];
		int n = sqlite3_column_count(st);
		if (n > 32)
			n = 32;
		for (int i = 0; i < n; i++)
			vals[i] = (const char *)sqlite3_column_text(st, i);
		if (row && row(ctx, n, vals))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errcap, "sqlite: %s", sqlite3_errmsg(db));
		ret = sqlite3_errcode(db) == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
		goto fail;
	}
	ret = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(db);
fail:
	sqlite3_finalize(st);
	return ret;
}

static int sq_ping(void *conn, char *err, size_t errcap)
{
	return sq_exec(conn, "SELECT 1", 0, NULL, NULL, NULL, err, errcap) < 0 ? -EIO : 0;
}

const struct lsp_store_ops lsp_store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.ping = sq_ping,
	/* takes the database's write lock at once (waiting up to the busy
	 * timeout), so two processes never both read an old schema version */
	.begin_locked = "BEGIN IMMEDIATE",
	.lock = NULL,
};
