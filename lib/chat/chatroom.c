/* chatroom.c — the channel rooms of the lsp-chat node: members, the
 * history ring, bans, word filters and slow mode, and the chat events
 * (lsp.chat.<ch>) that change them; see chatsrv_int.h.
 *
 * A channel entry is created watched (presence subscription only) and
 * loaded on the first WebSocket join: moderation state from the store,
 * the chat subject, the last cfg.history events from JetStream.  The
 * entry owns its history texts, bans and words; members are borrowed
 * connections (chatconn.c owns them).  Every change of moderation state
 * arrives here as a published event, on every node alike. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/subjects.h"
#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "state/modlog.h"

static unsigned hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % CHAN_BUCKETS;
}

/* ---- history ring ------------------------------------------------------ */

static void hist_add(lsp_chatsrv *s, chan *ch, const char *json)
{
	int cap = s->cfg.history, i;
	char *d;
	if (cap <= 0 || !(d = strdup(json)))
		return;
	i = (ch->hist_head + ch->hist_n) % cap;
	if (ch->hist_n == cap) {
		free(ch->hist[ch->hist_head]);
		ch->hist_head = (ch->hist_head + 1) % cap;
		ch->hist_n--;
		i = (ch->hist_head + ch->hist_n) % cap;
	}
	ch->hist[i] = d;
	ch->hist_n++;
}

static int hist_has(lsp_chatsrv *s, chan *ch, const char *id)
{
	char pat[80];
	if (!*id)
		return 0;
	snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
	for (int k = ch->hist_n - 1; k >= 0; k--)
		if (strstr(ch->hist[(ch->hist_head + k) % s->cfg.history], pat))
			return 1;
	return 0;
}

/* Remove a message by id from the ring (a moderator deleted it). */
static void hist_del(lsp_chatsrv *s, chan *ch, const char *id)
{
	int cap = s->cfg.history;
	char pat[80];
	snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
	for (int k = 0; k < ch->hist_n; k++) {
		int i = (ch->hist_head + k) % cap;
		if (ch->hist[i] && strstr(ch->hist[i], pat)) {
			/* shift the newer ones down by one */
			free(ch->hist[i]);
			for (int m = k; m < ch->hist_n - 1; m++)
				ch->hist[(ch->hist_head + m) % cap] = ch->hist[(ch->hist_head + m + 1) % cap];
			ch->hist[(ch->hist_head + ch->hist_n - 1) % cap] = NULL;
			ch->hist_n--;
			return;
		}
	}
}

char *chatsrv_room_history(lsp_chatsrv *s, const chan *ch, size_t *len)
{
	size_t cap = 64, n;
	char *b;
	for (int k = 0; k < ch->hist_n; k++)
		cap += strlen(ch->hist[(ch->hist_head + k) % s->cfg.history]) + 1;
	if (!(b = malloc(cap)))
		return NULL;
	n = (size_t)snprintf(b, cap, "{\"type\":\"history\",\"messages\":[");
	for (int k = 0; k < ch->hist_n; k++) {
		const char *h = ch->hist[(ch->hist_head + k) % s->cfg.history];
		size_t hl = strlen(h);
		if (k)
			b[n++] = ',';
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): b is a counted frame, ended below */
		memcpy(b + n, h, hl);
		n += hl;
	}
	memcpy(b + n, "]}", 3);
	*len = n + 2;
	return b;
}

/* ---- bans, words, slow mode -------------------------------------------- */

/* 0 when user is not banned at now (ms), -1 banned for good, else the
 * end of the timeout (unix seconds). */
static long long ban_until(const chan *ch, const char *user, long long now)
{
	for (size_t i = 0; i < ch->nbans; i++)
		if (strcmp(ch->bans[i].user, user) == 0)
			return (ch->bans[i].until == 0 || ch->bans[i].until * 1000 > now) ? (ch->bans[i].until ? ch->bans[i].until : -1) : 0;
	return 0;
}

static int ban_set(void *ctx, const char *user, long long until)
{
	chan *ch = ctx;
	struct ban *b;
	for (size_t i = 0; i < ch->nbans; i++)
		if (strcmp(ch->bans[i].user, user) == 0) {
			ch->bans[i].until = until;
			return 0;
		}
	if (!(b = realloc(ch->bans, (ch->nbans + 1) * sizeof *b)))
		return 1;
	ch->bans = b;
	snprintf(b[ch->nbans].user, sizeof b[0].user, "%s", user);
	b[ch->nbans].until = until;
	ch->nbans++;
	return 0;
}

static void ban_clear(chan *ch, const char *user)
{
	for (size_t i = 0; i < ch->nbans; i++)
		if (strcmp(ch->bans[i].user, user) == 0) {
			ch->bans[i] = ch->bans[--ch->nbans];
			return;
		}
}

static int word_add(void *ctx, const char *w)
{
	chan *ch = ctx;
	char (*n)[LSP_NAME_MAX + 1];
	for (size_t i = 0; i < ch->nwords; i++)
		if (strcmp(ch->words[i], w) == 0)
			return 0;
	if (!(n = realloc(ch->words, (ch->nwords + 1) * sizeof *n)))
		return 1;
	ch->words = n;
	snprintf(n[ch->nwords++], sizeof n[0], "%s", w);
	return 0;
}

static void word_rm(chan *ch, const char *w)
{
	for (size_t i = 0; i < ch->nwords; i++)
		if (strcmp(ch->words[i], w) == 0) {
			memcpy(ch->words[i], ch->words[--ch->nwords], sizeof ch->words[0]);
			return;
		}
}

const char *chatsrv_room_banned(const chan *ch, const char *user, long long now)
{
	long long until = ban_until(ch, user, now);
	return until == 0 ? NULL : until < 0 ? "banned" : "timed_out";
}

const char *chatsrv_room_refuse(const chan *ch, int role, const char *text, long long last_say, long long now)
{
	if (role >= LSP_ROLE_MOD)
		return NULL;
	if (ch->slow > 0 && last_say && now - last_say < ch->slow * 1000)
		return "slow_mode";
	for (size_t i = 0; i < ch->nwords; i++)
		if (lsp_chat_word_match(text, ch->words[i]))
			return "filtered";
	return NULL;
}

/* ---- chat events -------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

void chatsrv_room_apply(lsp_chatsrv *s, chan *ch, const char *json, size_t len, int from_history)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	const char *type, *action;
	if (!o)
		return;
	type = jstr(o, "type");
	if (!strcmp(type, "say") || !strcmp(type, "tip")) {
		if (hist_has(s, ch, jstr(o, "id"))) /* seen in history already */
			goto done;
		hist_add(s, ch, json);
		if (!from_history)
			chatsrv_broadcast(s, ch, json, len);
	} else if (!strcmp(type, "mod")) {
		const char *user = jstr(o, "user");
		action = jstr(o, "action");
		if (!strcmp(action, "delete")) {
			hist_del(s, ch, jstr(o, "id"));
		} else if (from_history) {
			/* bans, slow mode and filters come from the store */
		} else if (!strcmp(action, "ban") || !strcmp(action, "timeout")) {
			ban_set(ch, user, json_integer_value(json_object_get(o, "until")));
		} else if (!strcmp(action, "unban")) {
			ban_clear(ch, user);
		} else if (!strcmp(action, "slow")) {
			ch->slow = json_integer_value(json_object_get(o, "seconds"));
		} else if (!strcmp(action, "filter_add")) {
			word_add(ch, jstr(o, "word"));
		} else if (!strcmp(action, "filter_rm")) {
			word_rm(ch, jstr(o, "word"));
		}
		/* the word list is not shown to viewers */
		if (!from_history && strncmp(action, "filter", 6) != 0)
			chatsrv_broadcast(s, ch, json, len);
	}
done:
	json_decref(o);
}

static void hist_load(void *ctx, const char *subject, const char *data, size_t len)
{
	void **a = ctx;
	(void)subject;
	chatsrv_room_apply(a[0], a[1], data, len, 1);
}

/* ---- channel entries ---------------------------------------------------- */

chan *chatsrv_chan_find(lsp_chatsrv *s, const char *name)
{
	for (chan *ch = s->chans[hash(name)]; ch; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

void chatsrv_chan_free(lsp_chatsrv *s, chan *ch)
{
	if (!ch->full)
		s->nwatch--;
	lsp_bus_unsubscribe(ch->sub);
	lsp_bus_unsubscribe(ch->psub);
	for (int k = 0; k < ch->hist_n; k++)
		free(ch->hist[(ch->hist_head + k) % s->cfg.history]);
	free(ch->hist);
	free(ch->members);
	free(ch->bans);
	free(ch->words);
	free(ch);
}

/* A new channel entry holding only its presence subscription (watched);
 * NULL when out of memory. */
static chan *chan_new(lsp_chatsrv *s, const char *name)
{
	chan *ch;
	char err[256] = "invalid channel name", subj[320];
	if (!(ch = calloc(1, sizeof *ch)) || !(ch->hist = calloc((size_t)s->cfg.history + 1, sizeof *ch->hist))) {
		free(ch);
		return NULL;
	}
	snprintf(ch->name, sizeof ch->name, "%s", name);
	ch->viewers_sent = -1;
	if (s->bus) {
		if (lsp_subject(subj, sizeof subj, LSP_SUBJ_PRESENCE, name) < 0 ||
		    lsp_bus_subscribe(s->bus, subj, chatsrv_on_bus, s, &ch->psub, err, sizeof err) < 0)
			chatsrv_ev(s, LSP_ERROR, "unable to subscribe", "subject", LSV_S(subj), "reason", LSV_S(err), NULL);
	}
	ch->next = s->chans[hash(name)];
	s->chans[hash(name)] = ch;
	s->nwatch++;
	return ch;
}

/* Load what chat needs: moderation state, the chat subject, history. */
static void chan_load(lsp_chatsrv *s, chan *ch)
{
	char err[256] = "invalid channel name", subj[320];
	if (ch->full)
		return;
	ch->full = 1;
	s->nwatch--;
	if (lsp_mod_bans(s->cfg.st, ch->name, time(NULL), ban_set, ch, err, sizeof err) < 0 ||
	    lsp_mod_words(s->cfg.st, ch->name, word_add, ch, err, sizeof err) < 0 ||
	    lsp_mod_slow(s->cfg.st, ch->name, &ch->slow, err, sizeof err) < 0)
		chatsrv_ev(s, LSP_ERROR, "unable to load moderation state", "channel", LSV_S(ch->name), "reason",
			   LSV_S(err), NULL);
	if (s->bus) {
		void *a[2] = { s, ch };
		if (lsp_subject(subj, sizeof subj, LSP_SUBJ_CHAT, ch->name) < 0 ||
		    lsp_bus_subscribe(s->bus, subj, chatsrv_on_bus, s, &ch->sub, err, sizeof err) < 0)
			chatsrv_ev(s, LSP_ERROR, "unable to subscribe", "subject", LSV_S(subj), "reason", LSV_S(err), NULL);
		/* the server has our interest before anyone here can publish */
		if (lsp_bus_flush(s->bus, 1000, err, sizeof err) < 0)
			chatsrv_ev(s, LSP_WARN, "nats flush failed", "reason", LSV_S(err), NULL);
		if (lsp_bus_history(s->bus, STREAM, subj, s->cfg.history, hist_load, a, err, sizeof err) < 0)
			chatsrv_ev(s, LSP_WARN, "no history from jetstream", "channel", LSV_S(ch->name), "reason",
				   LSV_S(err), NULL);
	}
}

chan *chatsrv_chan_get(lsp_chatsrv *s, const char *name)
{
	chan *ch = chatsrv_chan_find(s, name);
	if (!ch && !(ch = chan_new(s, name)))
		return NULL;
	chan_load(s, ch);
	return ch;
}

chan *chatsrv_chan_watch(lsp_chatsrv *s, const char *name, long long now)
{
	chan *ch = chatsrv_chan_find(s, name);
	if (!ch && s->bus && s->nwatch < WATCH_MAX)
		ch = chan_new(s, name);
	if (ch && ch->n == 0)
		ch->idle_since = now;
	return ch;
}

void chatsrv_chan_counts(lsp_chatsrv *s, chan *ch, long long now, long *chat, long *edge)
{
	*chat = (long)ch->n;
	*edge = 0;
	for (int i = 0; i < MAX_NODES; i++)
		if (ch->nodes[i].node[0] && now - ch->nodes[i].ts < PRESENCE_FRESH_MS) {
			if (!s->kv)
				*chat += ch->nodes[i].chat;
			*edge += ch->nodes[i].edge;
		}
}

/* ---- members ------------------------------------------------------------ */

int chatsrv_chan_join(chan *ch, conn *c)
{
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 16;
		conn **m = realloc(ch->members, cap * sizeof(conn *));
		if (!m)
			return -1;
		ch->members = m;
		ch->cap = cap;
	}
	c->ch = ch;
	c->midx = ch->n;
	ch->members[ch->n++] = c;
	ch->idle_since = 0;
	return 0;
}

void chatsrv_chan_leave(chan *ch, conn *c)
{
	size_t i = c->midx;
	if (i < ch->n && ch->members[i] == c) {
		ch->members[i] = ch->members[--ch->n];
		ch->members[i]->midx = i;
	}
	c->ch = NULL;
	if (ch->n == 0)
		ch->idle_since = lsp_clock_wall_ms();
}

void chatsrv_broadcast(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	for (size_t i = 0; i < ch->n; i++)
		chatsrv_send_text(s, ch->members[i], json, len);
}
