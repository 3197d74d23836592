/* chatauth.c — revocation for the lsp-chat node: the rights a socket got
 * at auth are re-checked against the store, so a demotion, an erasure or
 * a channel's suspension or deletion reaches sockets already open; see
 * chatsrv_int.h.
 *
 *   lsp.auth.revoke ──(bus queue)──▶ on_revoke ─┐
 *   tick: every recheck period, RECHECK_BATCH ──┼─▶ check_chan: row gone → close 4004,
 *         sockets a tick at most                │               suspended → close 4003
 *   auth (do_auth) ─▶ chatsrv_auth_admit        └─▶ check_conn: user gone → close 4001,
 *   join (on_head) ─▶ chatsrv_auth_join                         granted role dropped → downgrade
 *
 * The store is the authority, the event only a hint: it names the user
 * or channel to look at now (when the store does not answer, what the
 * event says is gone is dropped all the same).  A check judges change
 * since auth, not the token: a token an operator minted with more rights
 * than the store grants (lsp-ctl token --role mod) keeps them until the
 * store's grant drops below what it was at auth.  Who is granted what
 * mirrors lsp-api's chat tokens: admin or the channel's owner → owner,
 * platform mod → mod, else viewer.  Grants above viewer are remembered,
 * and a grant seen to drop (on a check, at an auth, or by an event) marks
 * the user for RECENT_MS (the life of an lsp-api chat token): a token of
 * theirs presented in that time opens chat with the lowered role only.
 *
 * Store reads run on the loop's thread (one account row per socket
 * checked, one channel row per channel), bounded to RECHECK_BATCH sockets
 * a tick.  Nothing here owns memory beyond the server's fixed table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus/revoke.h"
#include "bus/subjects.h"
#include "chat/chatsrv_int.h"
#include "core/log.h"
#include "core/metrics.h"
#include "state/account.h"
#include "state/chanmeta.h"

/* ---- what the store grants ---------------------------------------------- */

/* The chat role lsp-api would put in a token for user with platform role
 * prole on a channel owned by owner ("" none). */
static int granted_role(const char *prole, const char *owner, const char *user)
{
	if (!strcmp(prole, "admin") || (owner[0] && !strcmp(owner, user)))
		return LSP_ROLE_OWNER;
	return !strcmp(prole, "mod") ? LSP_ROLE_MOD : LSP_ROLE_VIEWER;
}

static void store_trouble(lsp_chatsrv *s, const char *what, const char *err, long long now)
{
	long long held = 0;
	if (lsp_ratelim_ok(&s->recheck_rl, now, 1000, &held))
		chatsrv_ev(s, LSP_WARN, "re-check failed", "subject", LSV_S(what), "reason", LSV_S(err), "suppressed",
			   LSV_I(held), NULL);
}

/* ---- remembered grants and drops ---------------------------------------- *
 * One slot per (user, channel) the store granted more than viewer lately,
 * or whose grant dropped; channel "" is a platform-wide drop (an event).
 * A grant lower than the one remembered (within RECENT_MS) is a drop, so
 * a mod demoted while no socket of theirs was open here is caught when
 * they come back with the old token.  A ring: the oldest slot goes. */

static struct recent *slot(lsp_chatsrv *s, const char *user, const char *channel, int make)
{
	struct recent *r;
	for (int i = 0; i < RECENT_MAX; i++)
		if (s->recent[i].seen && !strcmp(s->recent[i].user, user) && !strcmp(s->recent[i].channel, channel))
			return &s->recent[i];
	if (!make)
		return NULL;
	r = &s->recent[s->recent_next];
	s->recent_next = (s->recent_next + 1) % RECENT_MAX;
	memset(r, 0, sizeof *r);
	snprintf(r->user, sizeof r->user, "%s", user);
	snprintf(r->channel, sizeof r->channel, "%s", channel);
	return r;
}

/* The store grants user g on channel now; remember it, and a drop. */
static void note_grant(lsp_chatsrv *s, const char *user, const char *channel, int g, long long now)
{
	struct recent *r = slot(s, user, channel, 0);
	if (!r && g <= LSP_ROLE_VIEWER)
		return; /* nothing above viewer to remember */
	if (!r && !(r = slot(s, user, channel, 1)))
		return;
	if (r->seen && g < r->grant && now - r->seen < RECENT_MS)
		r->dropped = now;
	r->grant = g;
	r->seen = now;
}

/* A platform-wide drop for user (an lsp.auth.revoke "role" event). */
static void note_drop(lsp_chatsrv *s, const char *user, long long now)
{
	struct recent *r = slot(s, user, "", 1);
	r->seen = r->dropped = now;
}

static int recently_demoted(lsp_chatsrv *s, const char *user, const char *channel, long long now)
{
	const struct recent *a = slot(s, user, channel, 0), *b = slot(s, user, "", 0);
	return (a && a->dropped && now - a->dropped < RECENT_MS) || (b && b->dropped && now - b->dropped < RECENT_MS);
}

/* ---- acting on a socket ------------------------------------------------- */

static void revoke_close(lsp_chatsrv *s, conn *c, int code, const char *why)
{
	chatsrv_send_close(s, c, code, why);
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_revocations_total", 1, "action", "closed", NULL);
}

/* Lower c's role to role, tell the client, count it. */
static void downgrade(lsp_chatsrv *s, conn *c, int role, const char *cause)
{
	char buf[160];
	int n;
	c->tok.role = role;
	n = snprintf(buf, sizeof buf, "{\"type\":\"role\",\"user\":\"%s\",\"role\":\"%s\",\"reason\":\"%s\"}",
		     c->tok.user, lsp_role_name(role), cause);
	if (n > 0 && (size_t)n < sizeof buf)
		chatsrv_send_text(s, c, buf, (size_t)n);
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_revocations_total", 1, "action", "downgraded", NULL);
	chatsrv_ev(s, LSP_INFO, "role downgraded", "channel", LSV_S(c->ch->name), "user", LSV_S(c->tok.user), "role",
		   LSV_S(lsp_role_name(role)), "cause", LSV_S(cause), NULL);
}

/* Apply a grant g the store says c's user has now. */
static void regrant(lsp_chatsrv *s, conn *c, int g, const char *cause, long long now)
{
	note_grant(s, c->tok.user, c->ch->name, g, now);
	if (g < c->granted && c->tok.role > g)
		downgrade(s, c, g, cause);
	c->granted = g;
}

/* Close every open member of ch with code; the count closed. */
static int close_members(lsp_chatsrv *s, chan *ch, int code, const char *why)
{
	int n = 0;
	for (size_t i = ch->n; i > 0; i--) { /* a close never unlinks at once, but be safe from the end */
		conn *c = ch->members[i - 1];
		if (c->stage == ST_OPEN) {
			revoke_close(s, c, code, why);
			n++;
		}
	}
	if (n)
		chatsrv_ev(s, LSP_INFO, "sockets revoked", "channel", LSV_S(ch->name), "cause", LSV_S(why), "closed",
			   LSV_I(n), NULL);
	return n;
}

/* ---- the checks --------------------------------------------------------- */

/* Read ch's row and act on it: deleted (a row seen before is gone) or
 * suspended closes every member.  0, or -1 when the store failed. */
static int check_chan(lsp_chatsrv *s, chan *ch, long long now)
{
	lsp_chanmeta m;
	char err[256];
	int rc;
	if (!s->cfg.st)
		return 0;
	rc = lsp_chanmeta_get(s->cfg.st, ch->name, &m, err, sizeof err);
	if (rc < 0) {
		store_trouble(s, ch->name, err, now);
		return -1;
	}
	ch->st_ts = now;
	if (rc == 0) {
		if (ch->st_known)
			close_members(s, ch, LSP_CHAT_CLOSE_DELETED, "channel deleted");
		ch->st_known = ch->st_suspended = 0; /* a name never registered is an open room, as before */
		ch->owner[0] = 0;
		return 0;
	}
	ch->st_known = 1;
	ch->st_suspended = m.suspended;
	snprintf(ch->owner, sizeof ch->owner, "%s", m.owner);
	if (m.suspended)
		close_members(s, ch, LSP_CHAT_CLOSE_SUSPENDED, "channel suspended");
	return 0;
}

/* Re-read c's user and act: the row gone (it was there at auth) closes c,
 * a lower grant than before lowers its role.  0, or -1 when the store
 * failed. */
static int check_conn(lsp_chatsrv *s, conn *c, const char *cause, long long now)
{
	lsp_account acc;
	char err[256];
	int rc;
	c->checked = now;
	if (!s->cfg.st || c->stage != ST_OPEN || !c->authed)
		return 0;
	rc = lsp_account_get(s->cfg.st, c->tok.user, &acc, err, sizeof err);
	if (rc < 0) {
		store_trouble(s, c->tok.user, err, now);
		return -1;
	}
	if (rc == 0) {
		if (c->had_account) {
			chatsrv_ev(s, LSP_INFO, "sockets revoked", "channel", LSV_S(c->ch->name), "user",
				   LSV_S(c->tok.user), "cause", LSV_S("account erased"), "closed", LSV_I(1), NULL);
			revoke_close(s, c, LSP_CHAT_CLOSE_ERASED, "account erased");
		}
		return 0;
	}
	c->had_account = 1;
	regrant(s, c, granted_role(acc.role, c->ch->owner, c->tok.user), cause, now);
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

int chatsrv_auth_open(lsp_chatsrv *s, char *err, size_t errcap)
{
	int rc;
	s->recheck_ms = s->cfg.recheck_s < 0	? 0
			: s->cfg.recheck_s > 0	? (long long)s->cfg.recheck_s * 1000
			: s->bus		? (long long)RECHECK_BUS_S * 1000
						: (long long)RECHECK_DEFAULT_S * 1000;
	if (s->bus && (rc = lsp_bus_subscribe(s->bus, LSP_SUBJ_REVOKE, chatsrv_on_bus, s, &s->rsub, err, errcap)) < 0)
		return rc;
	return 0;
}

void chatsrv_auth_close(lsp_chatsrv *s)
{
	if (s->rsub)
		lsp_bus_unsubscribe(s->rsub);
	s->rsub = NULL;
}

const char *chatsrv_auth_admit(lsp_chatsrv *s, conn *c, lsp_token *t, long long now)
{
	lsp_account acc;
	char err[256];
	int rc, g;
	c->granted = t->role;
	c->had_account = 0;
	c->checked = now;
	if (!s->cfg.st)
		return NULL;
	if (now - c->ch->st_ts >= JOIN_FRESH_MS)
		(void)check_chan(s, c->ch, now);
	if (c->ch->st_suspended)
		return "channel_suspended";
	rc = lsp_account_get(s->cfg.st, t->user, &acc, err, sizeof err);
	if (rc < 0) { /* the store is down: the token stands, the next re-check looks again */
		store_trouble(s, t->user, err, now);
		return NULL;
	}
	if (rc == 0)
		return "account_gone"; /* tokens are only issued to users that exist */
	c->had_account = 1;
	g = granted_role(acc.role, c->ch->owner, t->user);
	note_grant(s, t->user, c->ch->name, g, now);
	if (t->role > g && recently_demoted(s, t->user, c->ch->name, now))
		t->role = g; /* a token issued before the demotion */
	c->granted = g;
	return NULL;
}

int chatsrv_auth_join(lsp_chatsrv *s, conn *c, long long now)
{
	if (!s->cfg.st)
		return 0;
	if (now - c->ch->st_ts >= JOIN_FRESH_MS)
		(void)check_chan(s, c->ch, now); /* closes c too when suspended */
	if (c->ch->st_suspended && c->stage == ST_OPEN)
		revoke_close(s, c, LSP_CHAT_CLOSE_SUSPENDED, "channel suspended");
	return c->stage == ST_OPEN ? 0 : -1;
}

void chatsrv_auth_on_revoke(lsp_chatsrv *s, const char *data, size_t len, long long now)
{
	lsp_revoke r;
	char err[160];
	chan *ch;
	if (lsp_revoke_parse(data, len, &r, err, sizeof err) < 0) {
		chatsrv_ev(s, LSP_WARN, "bad revocation event", "reason", LSV_S(err), NULL);
		return;
	}
	if (r.reason == LSP_REVOKE_ROLE || r.reason == LSP_REVOKE_ERASED) {
		int gone = r.reason == LSP_REVOKE_ERASED;
		if (r.reason == LSP_REVOKE_ROLE && strcmp(r.role, "admin") != 0)
			note_drop(s, r.user, now); /* a token from before the change may still be presented */
		for (conn *c = s->conns, *next; c; c = next) {
			next = c->next; /* a close leaves c linked (CLOSING) until the tick */
			if (c->stage != ST_OPEN || !c->authed || strcmp(c->tok.user, r.user) != 0)
				continue;
			if (check_conn(s, c, gone ? "erased" : "role", now) == 0)
				continue;
			/* the store did not answer: act on what the event says */
			if (gone)
				revoke_close(s, c, LSP_CHAT_CLOSE_ERASED, "account erased");
			else if (r.role[0])
				regrant(s, c, granted_role(r.role, c->ch->owner, c->tok.user), "role", now);
		}
		return;
	}
	if (!(ch = chatsrv_chan_find(s, r.channel)) || !ch->full)
		return; /* no sockets of it here */
	if (check_chan(s, ch, now) < 0 && r.reason != LSP_REVOKE_CHANNEL_OWNER)
		close_members(s, ch, r.reason == LSP_REVOKE_CHANNEL_DELETED ? LSP_CHAT_CLOSE_DELETED : LSP_CHAT_CLOSE_SUSPENDED,
			      r.reason == LSP_REVOKE_CHANNEL_DELETED ? "channel deleted" : "channel suspended");
	if (r.reason == LSP_REVOKE_CHANNEL_OWNER)
		for (size_t i = 0; i < ch->n; i++)
			(void)check_conn(s, ch->members[i], "owner", now);
}

void chatsrv_auth_tick(lsp_chatsrv *s, long long now)
{
	int budget = RECHECK_BATCH;
	if (!s->recheck_ms || !s->cfg.st)
		return;
	for (int b = 0; b < CHAN_BUCKETS; b++)
		for (chan *ch = s->chans[b]; ch; ch = ch->next)
			if (ch->full && ch->n && now - ch->st_ts >= s->recheck_ms && budget > 0) {
				budget--;
				(void)check_chan(s, ch, now);
			}
	for (conn *c = s->conns, *next; c && budget > 0; c = next) {
		next = c->next;
		if (c->stage == ST_OPEN && c->authed && now - c->checked >= s->recheck_ms) {
			budget--;
			(void)check_conn(s, c, "recheck", now);
		}
	}
}
