/* revoke.h — the revocation event: lsp-api and lsp-ctl publish it on the
 * fixed subject lsp.auth.revoke (LSP_SUBJ_REVOKE) after a store change
 * that narrows someone's chat rights; every lsp-chat node hears it and
 * re-checks the open sockets it names (lib/chat/chatauth.c).
 *
 *     {"reason":R, "user":U, "channel":C, "role":P}
 *
 *   reason   "role"               U's platform role is now P (a demotion
 *                                 or a promotion; chat re-reads it)
 *            "erased"             U's account is gone (privacy erasure)
 *            "channel_suspended"  C was suspended by an admin
 *            "channel_deleted"    C no longer exists
 *            "channel_owner"      C changed hands (owner rights move)
 *   user     a user name; required for "role" and "erased"
 *   channel  a channel name; required for the channel_* reasons
 *   role     viewer|creator|mod|admin; only with "role", optional
 *
 * Names are lsp_name_valid; unknown members are ignored, so the format
 * can grow.  The event is a hint, not a grant: a node acts on what the
 * store says when it re-checks, and the message alone can only make it
 * look (or, when the store does not answer, drop what the reason says is
 * gone).  Pure functions over the caller's buffers, and one publish. */
#ifndef LSP_REVOKE_H
#define LSP_REVOKE_H
#include <stddef.h>

#include "bus/bus.h"
#include "core/key.h"

typedef enum {
	LSP_REVOKE_NONE = 0,
	LSP_REVOKE_ROLE,
	LSP_REVOKE_ERASED,
	LSP_REVOKE_CHANNEL_SUSPENDED,
	LSP_REVOKE_CHANNEL_DELETED,
	LSP_REVOKE_CHANNEL_OWNER,
} lsp_revoke_reason;

#define LSP_REVOKE_ROLE_MAX 16
#define LSP_REVOKE_MSG_MAX 256 /* the longest message lsp_revoke_json writes */

typedef struct {
	lsp_revoke_reason reason;
	char user[LSP_NAME_MAX + 1];       /* "" when none */
	char channel[LSP_NAME_MAX + 1];    /* "" when none */
	char role[LSP_REVOKE_ROLE_MAX];    /* "" when none */
} lsp_revoke;

/* "role", "erased", … ↔ reason; NULL / LSP_REVOKE_NONE when unknown. */
const char *lsp_revoke_reason_name(lsp_revoke_reason r);
lsp_revoke_reason lsp_revoke_reason_parse(const char *s);

/* Fill r: user and channel may be NULL or "", role NULL.  0, or -EINVAL
 * when the fields do not make a valid event (see above). */
int lsp_revoke_make(lsp_revoke *r, lsp_revoke_reason reason, const char *user, const char *channel,
		    const char *role);

/* r as JSON into out (cap >= LSP_REVOKE_MSG_MAX): its length, or -EINVAL
 * (not a valid event) / -ENOSPC. */
int lsp_revoke_json(char *out, size_t cap, const lsp_revoke *r);

/* Parse len bytes of a message (not necessarily NUL-terminated) into r.
 * 0, or -EINVAL with the reason in err: not a JSON object, at most
 * LSP_REVOKE_MSG_MAX * 4 bytes, an unknown reason, a bad name or role,
 * a member the reason needs missing.  r is zeroed on failure. */
int lsp_revoke_parse(const char *data, size_t len, lsp_revoke *r, char *err, size_t errcap);

/* Publish r on LSP_SUBJ_REVOKE and flush (flush_ms at most).  0, or
 * negative with err filled. */
int lsp_revoke_publish(lsp_bus *b, const lsp_revoke *r, int flush_ms, char *err, size_t errcap);

#endif
