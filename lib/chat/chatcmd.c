/* chatcmd.c — client messages of the lsp-chat node: auth, say, tips,
 * moderation commands and ping, each checked, answered and published;
 * see chatsrv_int.h.
 *
 *   frame ──lsp_chatmsg_parse──▶ flood guard ─▶ auth │ say │ tip │ mod │ ping
 *                                                      │     │     └─ store (modlog), then publish
 *                                                      │     └─ ledger (durable), ack, then publish
 *                                                      └─ ban / slow mode / filter (chatroom.c), rate, publish
 *
 * Nothing here owns memory beyond one call: outgoing JSON is built in
 * s->scratch (chatsrv_dump), errors go back to the sender only. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/subjects.h"
#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "state/ledger.h"
#include "state/modlog.h"

size_t chatsrv_dump(lsp_chatsrv *s, json_t *o)
{
	size_t n = json_dumpb(o, s->scratch, s->cfg.max_msg * 2 + 1024, JSON_COMPACT);
	json_decref(o);
	if (n >= s->cfg.max_msg * 2 + 1024)
		return 0;
	s->scratch[n] = 0;
	return n;
}

static void next_id(lsp_chatsrv *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s%llx", s->idpfx, ++s->seq);
}

static int can_moderate(conn *c)
{
	return c->authed && c->tok.role >= LSP_ROLE_MOD && lsp_token_allows(&c->tok, c->ch->name);
}

/* What a room refusal (chatroom.c) tells the sender. */
static const char *refusal_text(const char *code)
{
	static const struct { const char *code, *text; } t[] = {
		{ "banned", "you are banned from this channel" },
		{ "timed_out", "you are timed out in this channel" },
		{ "slow_mode", "slow mode is on: wait before sending again" },
		{ "filtered", "the message contains a blocked word" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(t[i].code, code))
			return t[i].text;
	return "refused";
}

/* Token bucket: local, or in Redis across nodes when configured. */
static int rate_ok(lsp_chatsrv *s, conn *c, long long now)
{
	if (s->kv) {
		char err[256];
		int r = lsp_chatkv_allow(s->kv, c->tok.user, s->cfg.rate, s->cfg.burst, now, err, sizeof err);
		if (r >= 0)
			return r;
		if (r != -ENOTCONN) /* an outage already reported (chatkv.h) */
			chatsrv_ev(s, LSP_WARN, "redis rate limit failed; local bucket used", "reason", LSV_S(err), NULL);
	}
	if (!c->rl_ts) {
		c->rl_t = s->cfg.burst;
		c->rl_ts = now;
	}
	c->rl_t += (double)(now - c->rl_ts) * s->cfg.rate / 1000.0;
	if (c->rl_t > s->cfg.burst)
		c->rl_t = s->cfg.burst;
	c->rl_ts = now;
	if (c->rl_t < 1)
		return 0;
	c->rl_t -= 1;
	return 1;
}

static void do_auth(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m)
{
	lsp_token t;
	json_t *o;
	size_t n;
	const char *gone;
	int rc = lsp_token_verify(s->cfg.secret, s->cfg.secretlen, m->token, strlen(m->token), time(NULL), &t);
	if (rc == 0 && t.channel[0] == '-')
		rc = -EACCES; /* a reserved scope: an lsp-api session (or kid-mode) token */
	else if (rc == 0 && !lsp_token_allows(&t, c->ch->name))
		rc = -EPERM;
	if (rc < 0) {
		const char *code = rc == -ETIMEDOUT ? "token_expired"
				   : rc == -EPERM   ? "wrong_channel"
				   : rc == -EACCES  ? "not_a_chat_token"
						    : "bad_token";
		chatsrv_ev(s, LSP_INFO, "auth refused", "channel", LSV_S(c->ch->name), "code", LSV_S(code), NULL);
		if (++c->auth_fails >= AUTH_FAILS) {
			chatsrv_send_close(s, c, LSP_WS_POLICY, "too many failed auth attempts");
			return;
		}
		chatsrv_send_error(s, c, code,
				   rc == -ETIMEDOUT ? "the token has expired"
				   : rc == -EPERM   ? "the token is for another channel"
				   : rc == -EACCES  ? "a session token does not open chat: POST /api/v1/chat/token"
						    : "the token is not valid",
				   m->ref);
		return;
	}
	/* the store has the last word: an erased account, a suspended channel, a role dropped lately */
	if ((gone = chatsrv_auth_admit(s, c, &t, lsp_clock_wall_ms()))) {
		chatsrv_ev(s, LSP_INFO, "auth refused", "channel", LSV_S(c->ch->name), "code", LSV_S(gone), NULL);
		chatsrv_send_error(s, c, gone,
				   !strcmp(gone, "account_gone") ? "this account no longer exists"
								 : "this channel is suspended",
				   m->ref);
		return;
	}
	c->tok = t;
	c->authed = 1;
	o = json_pack("{s:s,s:s,s:s}", "type", "auth_ok", "user", t.user, "role", lsp_role_name(t.role));
	if (!o)
		return;
	if (m->ref[0])
		json_object_set_new(o, "ref", json_string(m->ref));
	if ((n = chatsrv_dump(s, o)))
		chatsrv_send_text(s, c, s->scratch, n);
}

/* Signed in and not banned: 1, else the sender is told why and 0. */
static int gate(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	const char *why;
	if (!c->authed) {
		chatsrv_send_error(s, c, "auth_required",
				   "sending needs a token: send {\"type\":\"auth\",\"token\":…} first", m->ref);
		return 0;
	}
	if ((why = chatsrv_room_banned(c->ch, c->tok.user, now))) {
		chatsrv_send_error(s, c, why, refusal_text(why), m->ref);
		return 0;
	}
	return 1;
}

static void do_say(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	char id[32];
	const char *why;
	json_t *o;
	size_t n;
	if (!gate(s, c, m, now))
		return;
	if ((why = chatsrv_room_refuse(c->ch, c->tok.role, m->text, c->last_say, now))) {
		chatsrv_send_error(s, c, why, refusal_text(why), m->ref);
		return;
	}
	if (!rate_ok(s, c, now)) {
		chatsrv_send_error(s, c, "rate_limited", "too many messages: slow down", m->ref);
		return;
	}
	c->last_say = now;
	next_id(s, id, sizeof id);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "type", "say", "id", id, "channel", c->ch->name, "user",
		      c->tok.user, "role", lsp_role_name(c->tok.role), "text", m->text, "ts", (json_int_t)now);
	if (!o || !(n = chatsrv_dump(s, o)))
		return;
	if (chatsrv_publish(s, c->ch, s->scratch, n) < 0)
		chatsrv_send_error(s, c, "unavailable", "the message bus is unavailable", m->ref);
	else
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_messages_total", 1, "channel", c->ch->name, NULL);
}

static void do_tip(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	lsp_tip_result r;
	char err[256];
	json_t *o;
	size_t n;
	int rc;
	if (!gate(s, c, m, now))
		return;
	rc = lsp_ledger_tip(s->cfg.st, c->tok.user, c->ch->name, m->amount, m->key, m->text, &r, err, sizeof err);
	if (rc < 0) {
		if (rc == -ENOSPC)
			chatsrv_send_error(s, c, "insufficient_funds", "your balance is too low for this tip", m->ref);
		else if (rc == -ENOENT)
			chatsrv_send_error(s, c, "unknown_user", "no such user in the ledger", m->ref);
		else if (rc == -ESRCH)
			chatsrv_send_error(s, c, "unknown_channel", "tips go only to a registered channel", m->ref);
		else if (rc == -EPERM)
			chatsrv_send_error(s, c, "channel_suspended", "this channel is suspended", m->ref);
		else {
			chatsrv_ev(s, LSP_ERROR, "tip failed", "channel", LSV_S(c->ch->name), "reason", LSV_S(err), NULL);
			chatsrv_send_error(s, c, "store_error", "the tip was not recorded; retry with the same key", m->ref);
		}
		return;
	}
	/* durable now: acknowledge, then announce (a replay is not announced again) */
	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:s}", "type", "tip_ok", "key", m->key, "id", r.txn, "amount",
		      (json_int_t)r.amount, "balance", (json_int_t)r.balance, "replay", r.replay, "channel", r.channel);
	if (o && m->ref[0])
		json_object_set_new(o, "ref", json_string(m->ref));
	if (o && (n = chatsrv_dump(s, o)))
		chatsrv_send_text(s, c, s->scratch, n);
	if (rc == 1)
		return;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:I}", "type", "tip", "id", r.txn, "channel", c->ch->name, "user",
		      c->tok.user, "amount", (json_int_t)r.amount, "text", m->text, "ts", (json_int_t)now);
	if (o && (n = chatsrv_dump(s, o))) {
		chatsrv_publish(s, c->ch, s->scratch, n);
		if (s->bus) { /* for other consumers (alerts, overlays): lsp.tip.<channel> */
			char subj[LSP_SUBJ_CAP];
			if (lsp_subject(subj, sizeof subj, LSP_SUBJ_TIP, c->ch->name) == 0)
				lsp_bus_publish_bytes(s->bus, subj, s->scratch, n, err, sizeof err);
		}
	}
	/* the tool counts lsp_chat_tips_total / lsp_chat_tip_amount_total off this event */
	chatsrv_ev(s, LSP_INFO, "tip", "channel", LSV_S(c->ch->name), "user", LSV_S(c->tok.user), "txn", LSV_S(r.txn),
		   "amount", LSV_I(r.amount), NULL);
}

static void do_mod(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	lsp_mod_action a = { 0 };
	char err[256];
	json_t *o;
	size_t n;
	if (!c->authed || !can_moderate(c)) {
		chatsrv_send_error(s, c, "forbidden", "moderation needs a mod or owner token for this channel", m->ref);
		return;
	}
	a.channel = c->ch->name;
	a.actor = c->tok.user;
	a.now = now / 1000;
	a.reason = m->text;
	a.seconds = m->seconds;
	switch (m->type) {
	case LSP_CHAT_BAN: a.kind = LSP_MOD_BAN; a.target = m->user; break;
	case LSP_CHAT_UNBAN: a.kind = LSP_MOD_UNBAN; a.target = m->user; break;
	case LSP_CHAT_TIMEOUT: a.kind = LSP_MOD_TIMEOUT; a.target = m->user; break;
	case LSP_CHAT_DELETE: a.kind = LSP_MOD_DELETE; a.target = m->id; break;
	case LSP_CHAT_SLOW: a.kind = LSP_MOD_SLOW; a.target = ""; break;
	default: a.kind = m->add ? LSP_MOD_FILTER_ADD : LSP_MOD_FILTER_RM; a.target = m->word; break;
	}
	if (lsp_mod_apply(s->cfg.st, &a, err, sizeof err) < 0) {
		chatsrv_ev(s, LSP_ERROR, "moderation not recorded", "channel", LSV_S(a.channel), "reason", LSV_S(err), NULL);
		chatsrv_send_error(s, c, "store_error", "the action was not recorded", m->ref);
		return;
	}
	chatsrv_ev(s, LSP_INFO, "moderation", "channel", LSV_S(a.channel), "action", LSV_S(lsp_mod_name(a.kind)),
		   "actor", LSV_S(a.actor), "target", LSV_S(a.target), NULL);
	o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "mod", "action", lsp_mod_name(a.kind), "channel", a.channel,
		      "by", a.actor, "ts", (json_int_t)now);
	if (!o)
		return;
	if (m->type == LSP_CHAT_DELETE)
		json_object_set_new(o, "id", json_string(m->id));
	else if (m->type == LSP_CHAT_FILTER)
		json_object_set_new(o, "word", json_string(m->word));
	else if (m->type == LSP_CHAT_SLOW)
		json_object_set_new(o, "seconds", json_integer(m->seconds));
	else
		json_object_set_new(o, "user", json_string(m->user));
	if (m->type == LSP_CHAT_TIMEOUT)
		json_object_set_new(o, "until", json_integer(a.now + a.seconds));
	else if (m->type == LSP_CHAT_BAN)
		json_object_set_new(o, "until", json_integer(0));
	if ((n = chatsrv_dump(s, o)))
		chatsrv_publish(s, c->ch, s->scratch, n);
	if (m->type == LSP_CHAT_FILTER) { /* not broadcast: confirm to the moderator */
		o = json_pack("{s:s,s:s,s:s,s:b}", "type", "mod_ok", "action", lsp_mod_name(a.kind), "word", m->word,
			      "add", m->add);
		if (o && (n = chatsrv_dump(s, o)))
			chatsrv_send_text(s, c, s->scratch, n);
	}
}

void chatsrv_on_message(lsp_chatsrv *s, conn *c, const char *data, size_t len)
{
	lsp_chatmsg m;
	char err[256];
	long long now = lsp_clock_wall_ms();
	int type;

	/* per-connection flood guard, whatever the message */
	if (!c->flood_ts) {
		c->flood_t = 2 * s->cfg.flood;
		c->flood_ts = now;
	}
	c->flood_t += (double)(now - c->flood_ts) * s->cfg.flood / 1000.0;
	if (c->flood_t > 2 * s->cfg.flood)
		c->flood_t = 2 * s->cfg.flood;
	c->flood_ts = now;
	if (c->flood_t < 1) {
		if (++c->strikes >= FLOOD_STRIKES) {
			chatsrv_ev(s, LSP_WARN, "flooding client closed", "channel", LSV_S(c->ch->name), NULL);
			chatsrv_send_close(s, c, LSP_WS_POLICY, "flooding");
		} else {
			chatsrv_send_error(s, c, "flood", "too many messages on this connection", NULL);
		}
		return;
	}
	c->flood_t -= 1;
	type = lsp_chatmsg_parse(data, len, &m, err, sizeof err);
	if (type == -ENOTSUP) {
		chatsrv_send_error(s, c, "unknown_type", err, m.ref);
		return;
	}
	if (type < 0) {
		chatsrv_send_error(s, c, "bad_message", err, m.ref);
		return;
	}
	switch (type) {
	case LSP_CHAT_AUTH: do_auth(s, c, &m); break;
	case LSP_CHAT_SAY: do_say(s, c, &m, now); break;
	case LSP_CHAT_TIP: do_tip(s, c, &m, now); break;
	case LSP_CHAT_PING: {
		char buf[96];
		int n = snprintf(buf, sizeof buf, "{\"type\":\"pong\",\"ts\":%lld}", now);
		chatsrv_send_text(s, c, buf, (size_t)n);
		break;
	}
	default: do_mod(s, c, &m, now); break;
	}
}
