/* subjects.h — every NATS subject lsp uses, built and parsed in one place.
 *
 *   lsp.stream.<channel>.live     a publish began       (lsp-ingest, lsp-rtc)
 *   lsp.stream.<channel>.health   every few seconds while live
 *   lsp.stream.<channel>.ended    the publish ended
 *   lsp.chat.<channel>            chat messages          (JetStream LSP_CHAT)
 *   lsp.presence.<channel>        viewer counts per chat node, lsp-rtc and
 *                                 lsp-edge process (bus/presence.h)
 *   lsp.tip.<channel>             tips
 *   lsp.ctl.<channel>.kick        end a publish now (suspension, key rotation)
 *   lsp.auth.revoke               chat rights narrowed (role, erasure, channel
 *                                 suspended or deleted): bus/revoke.h; one
 *                                 fixed subject, every lsp-chat node listens
 *
 * <channel> is a channel name (lsp_name_valid: [a-z0-9_][a-z0-9_-]{0,63}), so a
 * subject never carries a dot or a wildcard from user input.  Pure
 * functions over the caller's buffers. */
#ifndef LSP_SUBJECTS_H
#define LSP_SUBJECTS_H
#include <stddef.h>

typedef enum {
	LSP_SUBJ_NONE = 0,
	LSP_SUBJ_LIVE,
	LSP_SUBJ_HEALTH,
	LSP_SUBJ_ENDED,
	LSP_SUBJ_CHAT,
	LSP_SUBJ_PRESENCE,
	LSP_SUBJ_TIP,
	LSP_SUBJ_KICK,
} lsp_subj;

/* Subscriptions (wildcards) and the JetStream filter for chat history. */
#define LSP_SUBJ_STREAM_ANY "lsp.stream.*.*"
#define LSP_SUBJ_HEALTH_ANY "lsp.stream.*.health"
#define LSP_SUBJ_CHAT_ANY   "lsp.chat.*"
#define LSP_SUBJ_CHAT_ALL   "lsp.chat.>"
#define LSP_SUBJ_REVOKE     "lsp.auth.revoke"
#define LSP_SUBJ_CAP        96  /* enough for any subject of a valid name */

/* The subject of kind for channel into out.  0, or -EINVAL (bad kind or
 * channel name), -ENOSPC (out too small). */
int lsp_subject(char *out, size_t cap, lsp_subj kind, const char *channel);

/* The subject of a stream event named what ("live", "health", "ended"):
 * as lsp_subject, -EINVAL for another word. */
int lsp_subject_stream(char *out, size_t cap, const char *channel, const char *what);

/* Which kind subject is and its channel (into channel, cap > LSP_NAME_MAX).
 * Returns the kind, or LSP_SUBJ_NONE when it is none of ours or the
 * channel part is not a valid name (channel then ""). */
lsp_subj lsp_subject_parse(const char *subject, char *channel, size_t cap);

#endif
