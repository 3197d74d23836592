/* store_pg.c — the Postgres (libpq) backend of lib/store, used when
 * LSP_DB_URL=postgres://…  Values travel as text parameters ($1..$N).
 * The connection is owned by the store.
 *
 * A lost connection (Postgres restarted, network cut) is reconnected
 * here, never by the caller:
 *
 *   OK ──(query fails, connection bad)──▶ DOWN ──(reset works)──▶ OK
 *                                          │  ▲
 *                                          └──┘ reset fails: wait 100 ms,
 *                                               doubling to 1 s, before
 *                                               the next try
 *
 * While DOWN a call tries to reconnect once its wait is over and fails at
 * once (-EIO, "postgres: connection lost") before then, so a caller on an
 * event loop is never held for more than one connect attempt
 * (connect_timeout 2 s).  Outside a transaction each call first reads
 * what the server may have sent while the connection sat idle (a
 * shutdown notice), so a restart between requests costs no statement.
 * A statement refused because the server ended the
 * session (SQLSTATE class 57P: shutdown, crash recovery) was not run, so
 * it is sent once more on the new connection when it was not inside a
 * transaction; any other failure is returned as is. */
#include "state/store.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 1000

typedef struct {
	PGconn *c;
	int down;              /* 1 after a loss, until a reset works */
	int wait_ms;           /* the current backoff */
	long long next_try_ms; /* monotonic ms of the next reset attempt */
} pgconn;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq would print notices and asynchronous errors on stderr: a
 * library never prints, and every failure reaches the caller's err. */
static void pg_no_notice(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static void pg_quiet(PGconn *c)
{
	PQsetNoticeProcessor(c, pg_no_notice, NULL);
	/* Quiet NOTICEs (e.g. "relation already exists, skipping"). */
	PQclear(PQexec(c, "SET client_min_messages TO warning"));
}

static int pg_open(void **conn, const char *url, char *err, size_t errcap)
{
	/* connect_timeout first: one the URL names wins */
	static const char *const kw[] = { "connect_timeout", "dbname", NULL };
	const char *val[] = { "2", url, NULL };
	pgconn *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	p->c = PQconnectdbParams(kw, val, 1);
	if (!p->c || PQstatus(p->c) != CONNECTION_OK) {
		/* libpq's message names host and database, never the password */
		snprintf(err, errcap, "postgres: %s", p->c ? PQerrorMessage(p->c) : "out of memory");
		err[strcspn(err, "\n")] = 0;
		PQfinish(p->c);
		free(p);
		return -EIO;
	}
	pg_quiet(p->c);
	*conn = p;
	return 0;
}

static void pg_close(void *conn)
{
	pgconn *p = conn;
	if (!p)
		return;
	PQfinish(p->c);
	free(p);
}

/* Reconnect when the wait is over: 0 up again, -EIO still down. */
static int pg_revive(pgconn *p, char *err, size_t errcap)
{
	long long now = mono_ms();
	if (!p->down && PQstatus(p->c) == CONNECTION_OK)
		return 0;
	if (!p->down) {
		p->down = 1;
		p->wait_ms = 0;
		p->next_try_ms = now;
	}
	if (now < p->next_try_ms) {
		snprintf(err, errcap, "postgres: connection lost, next try in %lld ms", p->next_try_ms - now);
		return -EIO;
	}
	PQreset(p->c);
	if (PQstatus(p->c) == CONNECTION_OK) {
		pg_quiet(p->c);
		p->down = 0;
		p->wait_ms = 0;
		return 0;
	}
	p->wait_ms = p->wait_ms ? p->wait_ms * 2 : PG_BACKOFF_MIN_MS;
	if (p->wait_ms > PG_BACKOFF_MAX_MS)
		p->wait_ms = PG_BACKOFF_MAX_MS;
	p->next_try_ms = mono_ms() + p->wait_ms;
	snprintf(err, errcap, "postgres: connection lost: %s", PQerrorMessage(p->c));
	err[strcspn(err, "\n")] = 0;
	return -EIO;
}

static int pg_exec_once(pgconn *p, const char *sql, int nparam, const char *const *params, lsp_store_row_fn row,
			void *ctx, char *err, size_t errcap, int *ended)
{
	PGresult *r = PQexecParams(p->c, sql, nparam, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	int ret = 0;

	*ended = 0;
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
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		snprintf(err, errcap, "postgres: %s", PQerrorMessage(p->c));
		err[strcspn(err, "\n")] = 0;
		ret = (state && strcmp(state, "23505") == 0) ? -EEXIST : -EIO;
		*ended = state && strncmp(state, "57P", 3) == 0;
	}
	PQclear(r);
	return ret;
}

/* 1 when the server closed an idle connection: reads what is waiting on
 * the socket (a notice, then the end of the stream) without blocking. */
static int pg_idle_lost(PGconn *c)
{
	struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
	for (int i = 0; i < 4 && pfd.fd >= 0 && poll(&pfd, 1, 0) == 1; i++) {
		if (!PQconsumeInput(c))
			return 1;
		(void)PQisBusy(c); /* parse what came: a shutdown notice */
	}
	return pfd.fd < 0 || PQstatus(c) != CONNECTION_OK;
}

static int pg_exec(void *conn, const char *sql, int nparam, const char *const *params, lsp_store_row_fn row,
		   void *ctx, char *err, size_t errcap)
{
	pgconn *p = conn;
	int ended, idle, rc;

	/* Between statements a server that ended the session has already
	 * said so on the socket: read that (never blocks) and reconnect
	 * before sending, rather than lose the statement. */
	if (!p->down && PQtransactionStatus(p->c) == PQTRANS_IDLE && pg_idle_lost(p->c)) {
		p->down = 1;
		p->wait_ms = 0;
		p->next_try_ms = mono_ms();
	}
	if (pg_revive(p, err, errcap) < 0)
		return -EIO;
	idle = PQtransactionStatus(p->c) == PQTRANS_IDLE;
	rc = pg_exec_once(p, sql, nparam, params, row, ctx, err, errcap, &ended);
	if (rc >= 0 || PQstatus(p->c) == CONNECTION_OK)
		return rc;
	/* the connection is gone: reconnect now, and resend a lone statement
	 * the server refused because it was ending the session */
	p->down = 1;
	p->wait_ms = 0;
	p->next_try_ms = mono_ms();
	if (pg_revive(p, err, errcap) < 0 || !ended || !idle)
		return -EIO;
	return pg_exec_once(p, sql, nparam, params, row, ctx, err, errcap, &ended);
}

static int pg_ping(void *conn, char *err, size_t errcap)
{
	return pg_exec(conn, "SELECT 1", 0, NULL, NULL, NULL, err, errcap) < 0 ? -EIO : 0;
}

const struct lsp_store_ops lsp_store_pg_ops = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.ping = pg_ping,
	.begin_locked = "BEGIN",
	.lock = "SELECT pg_advisory_xact_lock(7358201)",
};
