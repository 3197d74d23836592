/* account.h — a user's sign-in row as lsp-api sees it: the password hash,
 * the platform role, kid mode and the profile.
 *
 * A user row is created by lsp_user_add (lib/state/ledger.c, which opens
 * its ledger account in the same transaction); these functions read and
 * set the columns lsp-api added to it.  The role is stored as text
 * ("viewer", "creator", "mod", "admin"); checking it is the caller's job.
 *
 * Functions return 1 / 0 (found / not found) or 0 on success, or a
 * negative errno-style code with a reason in err (-ENOENT no such user,
 * -EIO the store failed).  The caller owns every buffer. */
#ifndef LSP_ACCOUNT_H
#define LSP_ACCOUNT_H
#include <stddef.h>

#include "core/key.h"
#include "state/store.h"

#define LSP_ACCOUNT_ROLE_MAX 16

typedef struct {
	char name[LSP_NAME_MAX + 1];
	char role[LSP_ACCOUNT_ROLE_MAX]; /* as stored; "viewer" when NULL */
	int kid;                          /* 1: a kid-mode account */
	int adult;                        /* 1: declared 18 or older (age-gated channels) */
	long long created_at;             /* unix seconds */
} lsp_account;

/* Set an existing user's password hash, role and kid flag (sign-up).
 * 0, or negative. */
int lsp_account_set_login(lsp_store *st, const char *name, const char *pw_hash, const char *role, int kid,
			  char *err, size_t errcap);

/* What signing in needs: the password hash into hash (cap bytes) and the
 * role and kid flag into out (out->name is name).  1 when name is a user
 * with a password, 0 when not (hash ""), or negative. */
int lsp_account_login(lsp_store *st, const char *name, char *hash, size_t cap, lsp_account *out, char *err,
		      size_t errcap);

/* The profile of name into out.  1 found, 0 no such user, or negative. */
int lsp_account_get(lsp_store *st, const char *name, lsp_account *out, char *err, size_t errcap);

/* Set name's role (text as given).  0, -ENOENT (no such user), or negative. */
int lsp_account_set_role(lsp_store *st, const char *name, const char *role, char *err, size_t errcap);

/* Set name's adult flag (declared age >= 18 at sign-up, or an admin's
 * word).  0, -ENOENT (no such user), or negative. */
int lsp_account_set_adult(lsp_store *st, const char *name, int adult, char *err, size_t errcap);

#endif
