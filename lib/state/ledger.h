/* ledger.h — users and the double-entry tip ledger, over lib/store.
 *
 * Accounts: "user:<name>" (created with the user), "channel:<name>"
 * (created on its first tip) and "system:mint" (the source of credit, the
 * only account allowed below zero).  Every transaction writes entries that
 * sum to zero, in one store transaction with the balance updates; a
 * balance that would go below zero aborts the whole transaction.
 *
 * A tip is keyed by (user, client idempotency key): the first call writes
 * it; any later call with the same key writes nothing and returns the
 * first result (replay = 1).  The tip is durable when lsp_ledger_tip
 * returns: SQLite runs with synchronous=FULL (lsp_ledger_durable), and
 * Postgres commits synchronously by default.
 *
 * Functions return 0 (or a count) on success, or -ENOENT (no such user),
 * -EEXIST (user exists), -ENOSPC (insufficient balance), -EINVAL, -EIO,
 * with a reason in err.  Amounts are integers in minor units. */
#ifndef LSP_LEDGER_H
#define LSP_LEDGER_H
#include <stddef.h>

#include "core/key.h"
#include "state/store.h"

#define LSP_TXN_MAX 33
#define LSP_LEDGER_ACCT_MAX (LSP_NAME_MAX + 16)

typedef struct {
	char txn[LSP_TXN_MAX];
	char channel[LSP_NAME_MAX + 1];
	long long amount;
	long long created_at;
	long long balance; /* the tipper's balance now */
	int replay;        /* 1: this key was seen before; nothing was charged */
} lsp_tip_result;

/* Make tip commits durable on this connection (SQLite synchronous=FULL). */
int lsp_ledger_durable(lsp_store *st, char *err, size_t errcap);

int lsp_user_add(lsp_store *st, const char *name, char *err, size_t errcap);
/* 1 if the user exists, 0 if not, negative on failure. */
int lsp_user_exists(lsp_store *st, const char *name, char *err, size_t errcap);

/* Mint amount (> 0) into user's account; *balance gets the new balance. */
int lsp_ledger_credit(lsp_store *st, const char *user, long long amount, long long *balance, char *err,
		      size_t errcap);

/* Tip channel from user.  0 for a new tip, 1 for a replay, negative on
 * failure (then nothing was written): -ESRCH no such channel (a tip never
 * waits for a name to be registered), -EPERM the channel is suspended,
 * -ENOENT no such user, -ENOSPC balance too low, -EINVAL bad arguments. */
int lsp_ledger_tip(lsp_store *st, const char *user, const char *channel, long long amount, const char *key,
		   const char *message, lsp_tip_result *out, char *err, size_t errcap);

/* Balance of an account ("user:x", "channel:y"); -ENOENT if none. */
int lsp_ledger_balance(lsp_store *st, const char *account, long long *balance, char *err, size_t errcap);

/* Newest-first entries of an account, at most limit. Returns the count. */
typedef int (*lsp_ledger_entry_fn)(void *ctx, const char *txn, long long amount, const char *kind,
				   long long created_at);
int lsp_ledger_entries(lsp_store *st, const char *account, int limit, lsp_ledger_entry_fn fn, void *ctx,
		       char *err, size_t errcap);

/* Reconcile: 0 when every transaction sums to zero and every balance
 * equals the sum of its entries; 1 (with err saying what) when not. */
int lsp_ledger_check(lsp_store *st, char *err, size_t errcap);

#endif
