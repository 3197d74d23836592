/* modlog.h — chat moderation state and its audit trail, over lib/store.
 *
 * lsp_mod_apply writes one moderation action (ban, unban, timeout,
 * delete, slow mode, word filter) and its audit row in one transaction:
 * an action either happened and is audited, or neither.  Loaders read the
 * current state of a channel for a node's in-memory cache.  Returns 0 or a
 * negative code with a reason in err. */
#ifndef LSP_MODLOG_H
#define LSP_MODLOG_H
#include <stddef.h>

#include "core/key.h"
#include "state/store.h"

enum lsp_mod_kind {
	LSP_MOD_BAN = 1, LSP_MOD_UNBAN, LSP_MOD_TIMEOUT, LSP_MOD_DELETE, LSP_MOD_SLOW, LSP_MOD_FILTER_ADD,
	LSP_MOD_FILTER_RM,
};

typedef struct {
	int kind;                        /* enum lsp_mod_kind */
	const char *channel, *actor;
	const char *target;              /* user, message id or word */
	long long seconds;               /* timeout length / slow-mode interval */
	const char *reason;              /* may be NULL */
	long long now;                   /* unix seconds */
} lsp_mod_action;

const char *lsp_mod_name(int kind);

int lsp_mod_apply(lsp_store *st, const lsp_mod_action *a, char *err, size_t errcap);

/* Bans in force at now (until 0 = permanent).  Returns the count. */
int lsp_mod_bans(lsp_store *st, const char *channel, long long now,
		 int (*fn)(void *ctx, const char *user, long long until), void *ctx, char *err, size_t errcap);
int lsp_mod_words(lsp_store *st, const char *channel, int (*fn)(void *ctx, const char *word), void *ctx,
		  char *err, size_t errcap);
/* Slow-mode seconds (0 when never set). */
int lsp_mod_slow(lsp_store *st, const char *channel, long long *seconds, char *err, size_t errcap);
/* Audit rows of a channel, newest first. Returns the count. */
int lsp_mod_audit(lsp_store *st, const char *channel, int limit,
		  int (*fn)(void *ctx, long long at, const char *actor, const char *action, const char *target,
			    const char *detail),
		  void *ctx, char *err, size_t errcap);

#endif
