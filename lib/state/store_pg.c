/* store_pg.c — the Postgres (libpq) backend of lib/store, used when
 * LSP_DB_URL=postgres://…  Values travel as text parameters ($1..$N).
 * The connection is owned by the store. */
#include "state/store.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pg_open(void **conn, const char *url, char *err, size_t errcap)
{
	PGconn *c = PQconnectdb(url);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password */
		snprintf(err, errcap, "postgres: %s", c ? PQerrorMessage(c) : "out of memory");
		err[strcspn(err, "\n")] = 0;
		PQfinish(c);
		return -EIO;
	}
	/* Quiet NOTICEs (e.g. "relation already exists, skipping"). */
	PQclear(PQexec(c, "SET client_min_messages TO warning"));
	*conn = c;
	return 0;
}

static void pg_close(void *conn)
{
	PQfinish(conn);
}

static int pg_exec(void *conn, const char *sql, int nparam, const char *const *params, lsp_store_row_fn row,
		   void *ctx, char *err, size_t errcap)
{
	PGresult *r = PQexecParams(conn, sql, nparam, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	int ret = 0;

	if (s == PGRES_TUPLES_OK) {
		int nr = PQntuples(r), nc = PQnfields(r);
		if (nc > 32)
			nc = 32;
		for (int i = 0; i < nr; i++) {
			const char *vals[32];
			for (int j = 0; j < nc; j++)
				vals[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
			if (row && row(ctx, nc, vals))
				break;
		}
	} else if (s == PGRES_COMMAND_OK) {
		const char *t = PQcmdTuples(r);
		ret = (int)lsp_store_int(t);
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(err, errcap, "postgres: %s", PQerrorMessage(conn));
		err[strcspn(err, "\n")] = 0;
		ret = (state && strcmp(state, "23505") == 0) ? -EEXIST : -EIO;
	}
	PQclear(r);
	return ret;
}

const struct lsp_store_ops lsp_store_pg_ops = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
};
