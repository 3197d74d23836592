/* chatmsg.h — lsp-chat's JSON messages, without I/O or state.
 *
 * Client → server (one JSON object per WebSocket text message):
 *   {"type":"auth","token":T}            become a signed-in user
 *   {"type":"say","text":S}              chat (1..500 characters)
 *   {"type":"tip","amount":N,"key":K,"text":S?}   N minor units > 0,
 *                                        K the client's idempotency key
 *   {"type":"ban","user":U,"reason":S?}  {"type":"unban","user":U}
 *   {"type":"timeout","user":U,"seconds":N}
 *   {"type":"delete","id":ID}            {"type":"slow","seconds":N}
 *   {"type":"filter","word":W,"add":true|false}
 *   {"type":"ping"}
 * Any message may carry "ref" (≤ 32 chars), echoed in the reply.
 *
 * Server → client: hello, history, say, tip, tip_ok, presence, mod,
 * delete, pong, error {"code":C,"message":M}.  See man/lsp-chat.1.
 *
 * lsp_chatmsg_parse never allocates beyond jansson's own parse and frees
 * it before returning; every string field is bounded and checked. */
#ifndef LSP_CHATMSG_H
#define LSP_CHATMSG_H
#include <stddef.h>

#include "core/key.h"
#include "state/token.h"

#define LSP_CHAT_TEXT_CHARS 500
#define LSP_CHAT_TEXT_MAX (LSP_CHAT_TEXT_CHARS * 4 + 1)
#define LSP_CHAT_ID_MAX 40
#define LSP_CHAT_KEY_MAX 65

enum lsp_chat_type {
	LSP_CHAT_AUTH = 1, LSP_CHAT_SAY, LSP_CHAT_TIP, LSP_CHAT_BAN, LSP_CHAT_UNBAN, LSP_CHAT_TIMEOUT,
	LSP_CHAT_DELETE, LSP_CHAT_SLOW, LSP_CHAT_FILTER, LSP_CHAT_PING,
};

typedef struct {
	int type;
	char ref[33];
	char token[LSP_TOKEN_MAX];
	char text[LSP_CHAT_TEXT_MAX];
	char user[LSP_NAME_MAX + 1];
	char id[LSP_CHAT_ID_MAX];
	char key[LSP_CHAT_KEY_MAX];
	char word[LSP_NAME_MAX + 1];
	long long amount, seconds;
	int add;
} lsp_chatmsg;

/* Parse one client message.  Returns its type (> 0), -EINVAL when it is
 * not a valid message (err says why), -ENOTSUP for an unknown type. */
int lsp_chatmsg_parse(const char *buf, size_t len, lsp_chatmsg *m, char *err, size_t errcap);

/* {"type":"error","code":code,"message":msg[,"ref":ref]} into out.
 * Returns the length, or -1 if it did not fit. */
int lsp_chatmsg_error(char *out, size_t cap, const char *code, const char *msg, const char *ref);

/* 1 if text contains word (ASCII case-insensitive), else 0. */
int lsp_chat_word_match(const char *text, const char *word);

/* 1 if s is a valid idempotency key or message id: [A-Za-z0-9_-]{1,64}. */
int lsp_chat_key_valid(const char *s);

#endif
