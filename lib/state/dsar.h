/* dsar.h — data-subject requests (GDPR access/erasure, CCPA): everything
 * the store holds about one user, as one JSON archive, and its erasure.
 *
 * Export gathers the profile, owned channels, sessions (times only), chat
 * messages (the chat_messages archive), tips, ledger entries, bans and the
 * moderation actions by or about the user.  Erase runs in one store
 * transaction: chat messages, sessions, bans and the account are deleted,
 * owned channels are deleted (their keys die with them); tips, ledger
 * entries and moderation rows are kept for the accounts' sake but
 * re-labelled to an opaque "erased-<random>" name, so amounts still
 * reconcile and no row names the person.  A privacy_audit row records the
 * request with the SHA-256 of the name, never the name.
 *
 * Returns 0, -ENOENT (no such user), -ENOMEM or -EIO with a reason. */
#ifndef LSP_DSAR_H
#define LSP_DSAR_H
#include <stddef.h>

#include "state/store.h"

/* JSON text, malloc'd into *out (the caller frees it).  actor: who asked
 * ("self", "operator", an admin's name); both requests are audited. */
int lsp_dsar_export(lsp_store *st, const char *user, const char *actor, char **out, char *err, size_t errcap);

int lsp_dsar_erase(lsp_store *st, const char *user, const char *actor, char *err, size_t errcap);

/* Keep one chat message in the archive (idempotent on id). */
int lsp_dsar_chat_add(lsp_store *st, const char *id, const char *channel, const char *user, const char *text,
		      long long ts, char *err, size_t errcap);

/* Archive a chat event as lsp-chat publishes it on lsp.chat.<channel>
 * ({"type":"say","id":…,"channel":…,"user":…,"text":…,"ts":ms}); other
 * event types are ignored (returns 0). */
int lsp_dsar_chat_event(lsp_store *st, const char *json, size_t len, char *err, size_t errcap);

#endif
