/* store.h — the one state interface: channels and stream-key hashes now,
 * more tables as the platform grows.
 *
 * Two backends sit behind one const table of operations (store_sqlite.c,
 * store_pg.c); queries are written once in portable SQL with $1..$N
 * placeholders and every value passed as text.  Schema migrations are
 * versioned in code (store.c) and applied on open, all in one transaction
 * under a lock (SQLite BEGIN IMMEDIATE, a Postgres advisory lock) so that
 * tools starting together on an empty store apply them exactly once.
 *
 * Errors: functions return 0 (or a row count) on success and a negative
 * errno-style code on failure (-ENOENT not found, -EEXIST duplicate,
 * -EIO backend failure), writing a reason into the caller's err buffer.
 * The store owns its connection; callers own every buffer they pass. */
#ifndef LSP_STORE_H
#define LSP_STORE_H
#include <stddef.h>
#include "core/key.h"

typedef struct lsp_store lsp_store;

/* Row callback: ncol values (NULL for SQL NULL). Return non-zero to stop. */
typedef int (*lsp_store_row_fn)(void *ctx, int ncol, const char *const *vals);

struct lsp_store_ops {
	const char *name;
	int (*open)(void **conn, const char *where, char *err, size_t errcap);
	void (*close)(void *conn);
	/* Run sql with nparam text params; call row for each result row.
	 * Returns rows affected (>= 0) or a negative code. */
	int (*exec)(void *conn, const char *sql, int nparam, const char *const *params,
		    lsp_store_row_fn row, void *ctx, char *err, size_t errcap);
	/* A round trip to the database (reconnecting if need be): 0 or -EIO. */
	int (*ping)(void *conn, char *err, size_t errcap);
	/* Migrations run in one transaction opened by begin_locked and then,
	 * when not NULL, the statement lock: together they make concurrent
	 * openers of one empty store wait for each other. */
	const char *begin_locked;
	const char *lock;
};

extern const struct lsp_store_ops lsp_store_sqlite_ops;
extern const struct lsp_store_ops lsp_store_pg_ops;

typedef struct {
	char name[LSP_NAME_MAX + 1];
	char key_hash[LSP_HASH_HEX]; /* "" when the key is revoked */
	long long created_at;        /* unix seconds */
	long long key_changed_at;
} lsp_channel;

/* Open the store: Postgres when db_url starts with postgres:// or
 * postgresql://, else SQLite at <data_dir>/lsp.db (directory created). */
int lsp_store_open(lsp_store **out, const char *data_dir, const char *db_url, char *err, size_t errcap);
/* From the environment: LSP_DB_URL, LSP_DATA_DIR (default ./var). */
int lsp_store_open_env(lsp_store **out, char *err, size_t errcap);
void lsp_store_close(lsp_store *st);
const char *lsp_store_backend(const lsp_store *st);
int lsp_store_schema_version(lsp_store *st);
/* Whether the database answers now (Postgres: reconnecting after a loss,
 * with backoff): 0, or -EIO with the reason in err. */
int lsp_store_ping(lsp_store *st, char *err, size_t errcap);

/* A column value (text, NULL for SQL NULL) as an integer: NULL reads 0;
 * text is read base 10 as strtoll reads it, so an out-of-range value
 * saturates where atoll's behaviour would be undefined.  Never fails. */
long long lsp_store_int(const char *v);

/* Low-level: run portable SQL (for tests and future modules). */
int lsp_store_exec(lsp_store *st, const char *sql, int nparam, const char *const *params,
		   lsp_store_row_fn row, void *ctx, char *err, size_t errcap);

int lsp_store_channel_add(lsp_store *st, const char *name, const char *key_hash, char *err, size_t errcap);
int lsp_store_channel_rm(lsp_store *st, const char *name, char *err, size_t errcap);
int lsp_store_channel_get(lsp_store *st, const char *name, lsp_channel *out, char *err, size_t errcap);
/* key_hash NULL revokes the key. */
int lsp_store_channel_set_key(lsp_store *st, const char *name, const char *key_hash, char *err, size_t errcap);
/* Calls fn for each channel ordered by name; returns the count. */
int lsp_store_channel_list(lsp_store *st, int (*fn)(void *ctx, const lsp_channel *ch), void *ctx,
			   char *err, size_t errcap);

#endif
