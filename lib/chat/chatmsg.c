/* chatmsg.c — parse and build lsp-chat JSON messages; see chatmsg.h. */
#include "chat/chatmsg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	int type;
} types[] = {
	{ "auth", LSP_CHAT_AUTH },       { "say", LSP_CHAT_SAY },       { "tip", LSP_CHAT_TIP },
	{ "ban", LSP_CHAT_BAN },         { "unban", LSP_CHAT_UNBAN },   { "timeout", LSP_CHAT_TIMEOUT },
	{ "delete", LSP_CHAT_DELETE },   { "slow", LSP_CHAT_SLOW },     { "filter", LSP_CHAT_FILTER },
	{ "ping", LSP_CHAT_PING },
};

int lsp_chat_key_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-'))
			return 0;
	}
	return n >= 1 && n <= 64;
}

/* Copy string field name into dst; 1 copied, 0 absent, -1 wrong type/too long. */
static int get_str(json_t *o, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, name);
	size_t n;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n >= cap || memchr(json_string_value(v), 0, n))
		return -1;
	memcpy(dst, json_string_value(v), n + 1);
	return 1;
}

static int get_int(json_t *o, const char *name, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 1;
}

/* Characters (code points) in valid UTF-8. */
static size_t u8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

#define BAD(...) do { snprintf(err, errcap, __VA_ARGS__); rc = -EINVAL; goto fail; } while (0)

int lsp_chatmsg_parse(const char *buf, size_t len, lsp_chatmsg *m, char *err, size_t errcap)
{
	json_error_t je;
	json_t *o;
	char tname[16];
	int rc = -EINVAL;

	memset(m, 0, sizeof *m);
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(err, errcap, "invalid JSON: %s", je.text);
		return -EINVAL;
	}
	if (!json_is_object(o))
		BAD("a message must be a JSON object");
	if (get_str(o, "ref", m->ref, sizeof m->ref) < 0)
		BAD("ref must be a string of at most 32 bytes");
	if (get_str(o, "type", tname, sizeof tname) != 1)
		BAD("missing or bad type");
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(tname, types[i].name) == 0)
			m->type = types[i].type;
	if (!m->type) {
		snprintf(err, errcap, "unknown message type");
		rc = -ENOTSUP;
		goto fail;
	}
	switch (m->type) {
	case LSP_CHAT_AUTH:
		if (get_str(o, "token", m->token, sizeof m->token) != 1)
			BAD("auth needs a token");
		break;
	case LSP_CHAT_SAY:
		if (get_str(o, "text", m->text, sizeof m->text) != 1 || !m->text[0])
			BAD("say needs a non-empty text");
		if (u8_chars(m->text) > LSP_CHAT_TEXT_CHARS)
			BAD("text is longer than %d characters", LSP_CHAT_TEXT_CHARS);
		break;
	case LSP_CHAT_TIP:
		if (get_int(o, "amount", 1, 1000000000LL, &m->amount) != 1)
			BAD("tip needs an integer amount from 1 to 1000000000 (minor units)");
		if (get_str(o, "key", m->key, sizeof m->key) != 1 || !lsp_chat_key_valid(m->key))
			BAD("tip needs an idempotency key [A-Za-z0-9_-]{1,64}");
		if (get_str(o, "text", m->text, sizeof m->text) < 0 || u8_chars(m->text) > LSP_CHAT_TEXT_CHARS)
			BAD("bad tip text");
		break;
	case LSP_CHAT_BAN: case LSP_CHAT_UNBAN: case LSP_CHAT_TIMEOUT:
		if (get_str(o, "user", m->user, sizeof m->user) != 1 || !lsp_name_valid(m->user))
			BAD("%s needs a user name", tname);
		if (get_str(o, "reason", m->text, 201) < 0)
			BAD("reason must be a string of at most 200 bytes");
		if (m->type == LSP_CHAT_TIMEOUT && get_int(o, "seconds", 1, 7 * 86400, &m->seconds) != 1)
			BAD("timeout needs seconds from 1 to 604800");
		break;
	case LSP_CHAT_DELETE:
		if (get_str(o, "id", m->id, sizeof m->id) != 1 || !lsp_chat_key_valid(m->id))
			BAD("delete needs a message id");
		break;
	case LSP_CHAT_SLOW:
		if (get_int(o, "seconds", 0, 3600, &m->seconds) != 1)
			BAD("slow needs seconds from 0 (off) to 3600");
		break;
	case LSP_CHAT_FILTER: {
		json_t *a = json_object_get(o, "add");
		if (get_str(o, "word", m->word, sizeof m->word) != 1 || !m->word[0])
			BAD("filter needs a word of 1..64 bytes");
		if (a && !json_is_boolean(a))
			BAD("add must be true or false");
		m->add = a ? json_is_true(a) : 1;
		break;
	}
	case LSP_CHAT_PING:
		break;
	}
	rc = m->type;
fail:
	json_decref(o);
	return rc;
}

int lsp_chatmsg_error(char *out, size_t cap, const char *code, const char *msg, const char *ref)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", msg);
	size_t n;
	if (!o)
		return -1;
	if (ref && *ref)
		json_object_set_new(o, "ref", json_string(ref));
	n = json_dumpb(o, out, cap, JSON_COMPACT);
	json_decref(o);
	return n == 0 || n >= cap ? -1 : (int)n;
}

int lsp_chat_word_match(const char *text, const char *word)
{
	size_t wl = strlen(word), tl = strlen(text);
	if (!wl || wl > tl)
		return 0;
	for (size_t i = 0; i + wl <= tl; i++)
		if (strncasecmp(text + i, word, wl) == 0)
			return 1;
	return 0;
}
