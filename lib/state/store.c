/* store.c — backend choice, versioned migrations and the channel queries;
 * see store.h for the contract. */
#include "state/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct lsp_store {
	const struct lsp_store_ops *ops;
	void *conn;
	int version;
};

/* Migrations: index i brings the schema from version i to i+1.  Append
 * only; never edit a migration that has shipped. */
static const char *const migrations[] = {
	/* 1: channels and their stream-key hashes */
	"CREATE TABLE channels ("
	" name TEXT PRIMARY KEY,"
	" key_hash TEXT,"
	" created_at BIGINT NOT NULL,"
	" key_changed_at BIGINT NOT NULL)",
	/* 2..9: lsp-chat — users, the tip ledger, moderation (lib/state/ledger.c, lib/state/modlog.c) */
	"CREATE TABLE users ("
	" name TEXT PRIMARY KEY,"
	" created_at BIGINT NOT NULL)",
	/* one row per account: user:<name>, channel:<name>, system:mint (may go negative) */
	"CREATE TABLE ledger_accounts ("
	" name TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" balance BIGINT NOT NULL DEFAULT 0,"
	" CHECK (balance >= 0 OR kind = 'system'))",
	/* double entry: every txn's amounts sum to zero */
	"CREATE TABLE ledger_entries ("
	" txn TEXT NOT NULL,"
	" account TEXT NOT NULL REFERENCES ledger_accounts(name),"
	" amount BIGINT NOT NULL,"
	" kind TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" PRIMARY KEY (txn, account))",
	"CREATE TABLE tips ("
	" user_name TEXT NOT NULL,"
	" idem_key TEXT NOT NULL,"
	" txn TEXT NOT NULL,"
	" channel TEXT NOT NULL,"
	" amount BIGINT NOT NULL,"
	" message TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" PRIMARY KEY (user_name, idem_key))",
	"CREATE TABLE moderation_audit ("
	" at BIGINT NOT NULL,"
	" channel TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" detail TEXT NOT NULL)",
	"CREATE TABLE bans ("
	" channel TEXT NOT NULL,"
	" user_name TEXT NOT NULL,"
	" until_at BIGINT NOT NULL,"
	" actor TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" PRIMARY KEY (channel, user_name))",
	"CREATE TABLE chat_settings ("
	" channel TEXT PRIMARY KEY,"
	" slow_seconds BIGINT NOT NULL DEFAULT 0)",
	"CREATE TABLE word_filters ("
	" channel TEXT NOT NULL,"
	" word TEXT NOT NULL,"
	" PRIMARY KEY (channel, word))",
	/* lsp-record: per-channel recording and retention (lib/state/vod.c) */
	"CREATE TABLE channel_recording ("
	" channel TEXT PRIMARY KEY,"
	" record INTEGER NOT NULL DEFAULT 0,"
	" retention_s BIGINT NOT NULL DEFAULT 0,"
	" max_bytes BIGINT NOT NULL DEFAULT 0)",
	/* lsp-api: accounts, channel ownership and metadata, sessions, the chat
	 * archive for data-subject requests, the privacy audit (lib/api/api.c, lib/state/dsar.c) */
	"ALTER TABLE users ADD COLUMN pw_hash TEXT",
	"ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'",
	"ALTER TABLE users ADD COLUMN kid BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE channels ADD COLUMN owner TEXT",
	"ALTER TABLE channels ADD COLUMN title TEXT NOT NULL DEFAULT ''",
	"ALTER TABLE channels ADD COLUMN category TEXT NOT NULL DEFAULT ''",
	"ALTER TABLE channels ADD COLUMN mature BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE channels ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0",
	"CREATE TABLE sessions ("
	" hash TEXT PRIMARY KEY,"
	" user_name TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL)",
	"CREATE TABLE chat_messages ("
	" id TEXT PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" user_name TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" created_at BIGINT NOT NULL)",
	"CREATE INDEX chat_messages_user ON chat_messages (user_name)",
	"CREATE TABLE privacy_audit ("
	" at BIGINT NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" detail TEXT NOT NULL)",
	"CREATE INDEX sessions_user ON sessions (user_name)",
	/* private channels: visibility public|unlisted|private, the age gate,
	 * and the adult flag of an account (declared age >= 18 at sign-up) */
	"ALTER TABLE channels ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'",
	"ALTER TABLE channels ADD COLUMN age_gate BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE users ADD COLUMN adult BIGINT NOT NULL DEFAULT 0",
	/* 27: the ladder policy, on-demand|always|off (state/chanmeta.h) */
	"ALTER TABLE channels ADD COLUMN ladder TEXT NOT NULL DEFAULT 'on-demand'",
	/* a channel's own webhook receiver (lib/state/chanhook.h); "" none */
	"ALTER TABLE channels ADD COLUMN webhook_url TEXT NOT NULL DEFAULT ''",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

long long lsp_store_int(const char *v)
{
	return v ? strtoll(v, NULL, 10) : 0;
}

static int row_int(void *ctx, int ncol, const char *const *v)
{
	if (ncol > 0 && v[0])
		*(int *)ctx = (int)lsp_store_int(v[0]);
	return 0;
}

static int run(lsp_store *st, const char *sql, char *err, size_t errcap)
{
	return st->ops->exec(st->conn, sql, 0, NULL, NULL, NULL, err, errcap);
}

/* Every pending migration in one locked transaction, the version read
 * again under the lock: a second opener waits, then finds nothing to do. */
static int migrate(lsp_store *st, char *err, size_t errcap)
{
	int v = 0, rc;
	char e2[8];
	if ((rc = run(st, st->ops->begin_locked, err, errcap)) < 0)
		return rc;
	if ((st->ops->lock && (rc = run(st, st->ops->lock, err, errcap)) < 0) ||
	    (rc = run(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err, errcap)) < 0 ||
	    (rc = st->ops->exec(st->conn, "SELECT max(version) FROM schema_version", 0, NULL, row_int, &v, err,
				errcap)) < 0)
		goto fail;
	if (v > NMIGRATIONS) {
		snprintf(err, errcap, "store schema version %d is newer than this build (%d)", v, NMIGRATIONS);
		rc = -EPROTO;
		goto fail;
	}
	for (; v < NMIGRATIONS; v++) {
		char ver[16];
		const char *p[1] = { ver };
		snprintf(ver, sizeof ver, "%d", v + 1);
		if ((rc = run(st, migrations[v], err, errcap)) < 0 ||
		    (rc = st->ops->exec(st->conn, "INSERT INTO schema_version (version) VALUES ($1)", 1, p, NULL, NULL,
					err, errcap)) < 0)
			goto fail;
	}
	if ((rc = run(st, "COMMIT", err, errcap)) < 0)
		goto fail;
	st->version = v;
	return 0;
fail:
	run(st, "ROLLBACK", e2, sizeof e2);
	return rc;
}

int lsp_store_open(lsp_store **out, const char *data_dir, const char *db_url, char *err, size_t errcap)
{
	lsp_store *st;
	char path[4096];
	const char *where;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (db_url && (strncmp(db_url, "postgres://", 11) == 0 || strncmp(db_url, "postgresql://", 13) == 0)) {
		st->ops = &lsp_store_pg_ops;
		where = db_url;
	} else if (db_url && *db_url) {
		snprintf(err, errcap, "LSP_DB_URL must start with postgres:// (unset it for SQLite)");
		free(st);
		return -EINVAL;
	} else {
		if (!data_dir || !*data_dir)
			data_dir = "./var";
		if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
			snprintf(err, errcap, "unable to create data dir %s: %s", data_dir, strerror(errno));
			free(st);
			return -EIO;
		}
		if ((size_t)snprintf(path, sizeof path, "%s/lsp.db", data_dir) >= sizeof path) {
			snprintf(err, errcap, "data dir path too long");
			free(st);
			return -ENAMETOOLONG;
		}
		st->ops = &lsp_store_sqlite_ops;
		where = path;
	}
	rc = st->ops->open(&st->conn, where, err, errcap);
	if (rc < 0) {
		free(st);
		return rc;
	}
	rc = migrate(st, err, errcap);
	if (rc < 0) {
		st->ops->close(st->conn);
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int lsp_store_open_env(lsp_store **out, char *err, size_t errcap)
{
	return lsp_store_open(out, getenv("LSP_DATA_DIR"), getenv("LSP_DB_URL"), err, errcap);
}

void lsp_store_close(lsp_store *st)
{
	if (!st)
		return;
	st->ops->close(st->conn);
	free(st);
}

const char *lsp_store_backend(const lsp_store *st) { return st->ops->name; }
int lsp_store_schema_version(lsp_store *st) { return st->version; }
int lsp_store_ping(lsp_store *st, char *err, size_t errcap) { return st->ops->ping(st->conn, err, errcap); }

int lsp_store_exec(lsp_store *st, const char *sql, int nparam, const char *const *params,
		   lsp_store_row_fn row, void *ctx, char *err, size_t errcap)
{
	return st->ops->exec(st->conn, sql, nparam, params, row, ctx, err, errcap);
}

int lsp_store_channel_add(lsp_store *st, const char *name, const char *key_hash, char *err, size_t errcap)
{
	char now[24];
	const char *p[3] = { name, key_hash, now };
	int found = 0, rc;
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	rc = st->ops->exec(st->conn, "SELECT 1 FROM channels WHERE name = $1", 1, p, row_int, &found, err, errcap);
	if (rc < 0)
		return rc;
	if (found) {
		snprintf(err, errcap, "channel %s already exists", name);
		return -EEXIST;
	}
	rc = st->ops->exec(st->conn,
			   "INSERT INTO channels (name, key_hash, created_at, key_changed_at) VALUES ($1, $2, $3, $3)",
			   3, p, NULL, NULL, err, errcap);
	return rc < 0 ? rc : 0;
}

int lsp_store_channel_rm(lsp_store *st, const char *name, char *err, size_t errcap)
{
	const char *p[1] = { name };
	int rc = st->ops->exec(st->conn, "DELETE FROM channels WHERE name = $1", 1, p, NULL, NULL, err, errcap);
	if (rc == 0) {
		snprintf(err, errcap, "no channel %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

static void fill_channel(lsp_channel *c, const char *const *v)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", v[0] ? v[0] : "");
	snprintf(c->key_hash, sizeof c->key_hash, "%s", v[1] ? v[1] : "");
	c->created_at = lsp_store_int(v[2]);
	c->key_changed_at = lsp_store_int(v[3]);
}

struct get_ctx {
	lsp_channel *out;
	int found;
};

static int row_channel(void *ctx, int ncol, const char *const *v)
{
	struct get_ctx *g = ctx;
	if (ncol < 4)
		return 1;
	fill_channel(g->out, v);
	g->found = 1;
	return 0;
}

int lsp_store_channel_get(lsp_store *st, const char *name, lsp_channel *out, char *err, size_t errcap)
{
	const char *p[1] = { name };
	struct get_ctx g;
	int rc;
	memset(out, 0, sizeof *out);
	g.out = out;
	g.found = 0;
	rc = st->ops->exec(st->conn, "SELECT name, key_hash, created_at, key_changed_at FROM channels WHERE name = $1",
			   1, p, row_channel, &g, err, errcap);
	if (rc < 0)
		return rc;
	if (!g.found) {
		snprintf(err, errcap, "no channel %s", name);
		return -ENOENT;
	}
	return 0;
}

int lsp_store_channel_set_key(lsp_store *st, const char *name, const char *key_hash, char *err, size_t errcap)
{
	char now[24];
	const char *p[3] = { name, key_hash, now };
	int rc;
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	rc = st->ops->exec(st->conn, "UPDATE channels SET key_hash = $2, key_changed_at = $3 WHERE name = $1", 3, p,
			   NULL, NULL, err, errcap);
	if (rc == 0) {
		snprintf(err, errcap, "no channel %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

struct list_ctx {
	int (*fn)(void *, const lsp_channel *);
	void *ctx;
	int n;
};

static int row_list(void *ctx, int ncol, const char *const *v)
{
	struct list_ctx *l = ctx;
	lsp_channel c;
	if (ncol < 4)
		return 1;
	fill_channel(&c, v);
	l->n++;
	return l->fn ? l->fn(l->ctx, &c) : 0;
}

int lsp_store_channel_list(lsp_store *st, int (*fn)(void *ctx, const lsp_channel *ch), void *ctx,
			   char *err, size_t errcap)
{
	struct list_ctx l = { fn, ctx, 0 };
	int rc = st->ops->exec(st->conn,
			       "SELECT name, key_hash, created_at, key_changed_at FROM channels ORDER BY name", 0, NULL,
			       row_list, &l, err, errcap);
	return rc < 0 ? rc : l.n;
}
