/* revoke.c — the revocation event built, parsed and published; see
 * revoke.h.  Holds no state. */
#include "bus/revoke.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bus/subjects.h"

static const struct {
	const char *name;
	lsp_revoke_reason r;
	int need; /* 1 user, 2 channel */
} reasons[] = {
	{ "role", LSP_REVOKE_ROLE, 1 },
	{ "erased", LSP_REVOKE_ERASED, 1 },
	{ "channel_suspended", LSP_REVOKE_CHANNEL_SUSPENDED, 2 },
	{ "channel_deleted", LSP_REVOKE_CHANNEL_DELETED, 2 },
	{ "channel_owner", LSP_REVOKE_CHANNEL_OWNER, 2 },
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

static const char *const roles[] = { "viewer", "creator", "mod", "admin" };

const char *lsp_revoke_reason_name(lsp_revoke_reason r)
{
	for (size_t i = 0; i < NREASONS; i++)
		if (reasons[i].r == r)
			return reasons[i].name;
	return NULL;
}

lsp_revoke_reason lsp_revoke_reason_parse(const char *s)
{
	for (size_t i = 0; s && i < NREASONS; i++)
		if (!strcmp(reasons[i].name, s))
			return reasons[i].r;
	return LSP_REVOKE_NONE;
}

static int role_ok(const char *role)
{
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (!strcmp(roles[i], role))
			return 1;
	return 0;
}

/* Why r is not a valid event, or NULL. */
static const char *invalid(const lsp_revoke *r)
{
	int need = 0;
	for (size_t i = 0; i < NREASONS; i++)
		if (reasons[i].r == r->reason)
			need = reasons[i].need;
	if (!need)
		return "unknown reason";
	if (r->user[0] && !lsp_name_valid(r->user))
		return "bad user name";
	if (r->channel[0] && !lsp_name_valid(r->channel))
		return "bad channel name";
	if (need == 1 && !r->user[0])
		return "this reason needs a user";
	if (need == 2 && !r->channel[0])
		return "this reason needs a channel";
	if (r->role[0] && (r->reason != LSP_REVOKE_ROLE || !role_ok(r->role)))
		return "bad role";
	return NULL;
}

/* Copy s (NULL: "") into out of cap bytes; -1 when it does not fit. */
static int copy(char *out, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		return -1;
	if (n)
		memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

int lsp_revoke_make(lsp_revoke *r, lsp_revoke_reason reason, const char *user, const char *channel,
		    const char *role)
{
	memset(r, 0, sizeof *r);
	r->reason = reason;
	if (copy(r->user, sizeof r->user, user) < 0 || copy(r->channel, sizeof r->channel, channel) < 0 ||
	    copy(r->role, sizeof r->role, role) < 0 || invalid(r)) {
		memset(r, 0, sizeof *r);
		return -EINVAL;
	}
	return 0;
}

int lsp_revoke_json(char *out, size_t cap, const lsp_revoke *r)
{
	int n;
	if (invalid(r))
		return -EINVAL;
	/* every field is a name, a role or a fixed word: nothing to escape */
	n = snprintf(out, cap, "{\"reason\":\"%s\"%s%s%s%s%s%s%s%s%s}", lsp_revoke_reason_name(r->reason),
		     r->user[0] ? ",\"user\":\"" : "", r->user, r->user[0] ? "\"" : "",
		     r->channel[0] ? ",\"channel\":\"" : "", r->channel, r->channel[0] ? "\"" : "",
		     r->role[0] ? ",\"role\":\"" : "", r->role, r->role[0] ? "\"" : "");
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Member k of o as a string into out: 0 absent, 1 copied, -1 not a
 * string or too long. */
static int member(json_t *o, const char *k, char *out, size_t cap)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	return copy(out, cap, json_string_value(v)) < 0 ? -1 : 1;
}

int lsp_revoke_parse(const char *data, size_t len, lsp_revoke *r, char *err, size_t errcap)
{
	json_t *o = NULL;
	char reason[24] = "";
	const char *why = NULL;
	memset(r, 0, sizeof *r);
	if (len > LSP_REVOKE_MSG_MAX * 4)
		why = "message too long";
	else if (!(o = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(o))
		why = "not a JSON object";
	else if (member(o, "reason", reason, sizeof reason) != 1 ||
		 (r->reason = lsp_revoke_reason_parse(reason)) == LSP_REVOKE_NONE)
		why = "unknown reason";
	else if (member(o, "user", r->user, sizeof r->user) < 0)
		why = "bad user name";
	else if (member(o, "channel", r->channel, sizeof r->channel) < 0)
		why = "bad channel name";
	else if (member(o, "role", r->role, sizeof r->role) < 0)
		why = "bad role";
	else
		why = invalid(r);
	json_decref(o);
	if (why) {
		memset(r, 0, sizeof *r);
		snprintf(err, errcap, "revocation event: %s", why);
		return -EINVAL;
	}
	return 0;
}

int lsp_revoke_publish(lsp_bus *b, const lsp_revoke *r, int flush_ms, char *err, size_t errcap)
{
	char body[LSP_REVOKE_MSG_MAX];
	int n = lsp_revoke_json(body, sizeof body, r), rc;
	if (n < 0) {
		snprintf(err, errcap, "not a valid revocation event");
		return n;
	}
	if ((rc = lsp_bus_publish_bytes(b, LSP_SUBJ_REVOKE, body, (size_t)n, err, errcap)) < 0)
		return rc;
	return lsp_bus_flush(b, flush_ms, err, errcap);
}
