/* chatfan.c — fan-out for the lsp-chat node: chat events and presence
 * reports over NATS (lib/bus, subjects from bus/subjects.h), and the
 * viewer counts built from them; see chatsrv_int.h.
 *
 *   NATS threads ──chatsrv_on_bus──▶ locked queue ──eventfd──▶ loop: chatsrv_drain_bus
 *                                                               ├─ lsp.chat.<ch>     → chatroom.c
 *                                                               └─ lsp.presence.<ch> → nodes[]
 *
 * The queue is the only state shared with the bus threads (s->qmu); it is
 * bounded (BUS_QUEUE_MAX, then dropped and counted).  Without a bus a
 * published event is applied here at once.  Presence: every second each
 * loaded channel reports this node's sockets (to Redis when configured,
 * and on lsp.presence.<ch>), and members hear the total when it moves. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/subjects.h"
#include "chat/chatpres.h"
#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "core/log.h"

/* ---- the bus queue ------------------------------------------------------ */

static void qmsg_free(struct qmsg *m)
{
	free(m->subject);
	free(m->data);
	free(m);
}

void chatsrv_on_bus(void *ctx, const char *subject, const char *data, size_t len)
{
	lsp_chatsrv *s = ctx;
	struct qmsg *m = malloc(sizeof *m);
	uint64_t one = 1;
	if (!m)
		return;
	m->next = NULL;
	m->subject = strdup(subject);
	m->data = malloc(len + 1);
	if (!m->subject || !m->data) {
		qmsg_free(m);
		return;
	}
	memcpy(m->data, data, len);
	m->data[len] = 0;
	m->len = len;
	pthread_mutex_lock(&s->qmu);
	if (s->qlen > BUS_QUEUE_MAX) { /* the loop is stalled: drop, count */
		s->qdropped++;
		pthread_mutex_unlock(&s->qmu);
		qmsg_free(m);
		return;
	}
	if (s->qtail)
		s->qtail->next = m;
	else
		s->qhead = m;
	s->qtail = m;
	s->qlen++;
	pthread_mutex_unlock(&s->qmu);
	if (write(s->evfd, &one, sizeof one) < 0) {
		/* the counter is saturated: the loop is awake anyway */
	}
}

/* A presence report on lsp.presence.<ch> from some node or edge. */
static void apply_presence(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	const char *node;
	int slot = -1;
	if (!o)
		return;
	node = json_string_value(json_object_get(o, "node"));
	if (node && *node && strcmp(node, s->node) != 0) {
		long long now = lsp_clock_wall_ms();
		for (int i = 0; i < MAX_NODES && slot < 0; i++)
			if (strcmp(ch->nodes[i].node, node) == 0)
				slot = i;
		for (int i = 0; i < MAX_NODES && slot < 0; i++)
			if (!ch->nodes[i].node[0] || now - ch->nodes[i].ts > PRESENCE_FRESH_MS)
				slot = i;
		if (slot < 0)
			slot = 0;
		snprintf(ch->nodes[slot].node, sizeof ch->nodes[slot].node, "%s", node);
		ch->nodes[slot].chat = (long)json_integer_value(json_object_get(o, "chat"));
		ch->nodes[slot].edge = (long)json_integer_value(json_object_get(o, "edge"));
		ch->nodes[slot].ts = lsp_clock_wall_ms();
	}
	json_decref(o);
}

void chatsrv_drain_bus(lsp_chatsrv *s)
{
	struct qmsg *m;
	uint64_t v;
	if (read(s->evfd, &v, sizeof v) < 0) {
		/* nothing pending */
	}
	pthread_mutex_lock(&s->qmu);
	m = s->qhead;
	s->qhead = s->qtail = NULL;
	s->qlen = 0;
	pthread_mutex_unlock(&s->qmu);
	while (m) {
		struct qmsg *n = m->next;
		chan *ch = NULL;
		char name[LSP_NAME_MAX + 1];
		lsp_subj kind = lsp_subject_parse(m->subject, name, sizeof name);
		if (!strcmp(m->subject, LSP_SUBJ_REVOKE))
			chatsrv_auth_on_revoke(s, m->data, m->len, lsp_clock_wall_ms());
		else if (kind == LSP_SUBJ_CHAT && (ch = chatsrv_chan_find(s, name)))
			chatsrv_room_apply(s, ch, m->data, m->len, 0);
		else if (kind == LSP_SUBJ_PRESENCE && (ch = chatsrv_chan_find(s, name)))
			apply_presence(s, ch, m->data, m->len);
		qmsg_free(m);
		m = n;
	}
}

int chatsrv_publish(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	char subj[320], err[256];
	if (!s->bus) {
		chatsrv_room_apply(s, ch, json, len, 0);
		return 0;
	}
	if (lsp_subject(subj, sizeof subj, LSP_SUBJ_CHAT, ch->name) < 0) {
		chatsrv_ev(s, LSP_ERROR, "publish failed", "channel", LSV_S(ch->name), "reason",
			   LSV_S("no subject for this name"), NULL);
		return -1;
	}
	if (lsp_bus_publish_bytes(s->bus, subj, json, len, err, sizeof err) < 0) {
		chatsrv_ev(s, LSP_ERROR, "publish failed", "subject", LSV_S(subj), "reason", LSV_S(err), NULL);
		return -1;
	}
	return 0;
}

/* ---- presence ----------------------------------------------------------- */

void chatsrv_presence_tick(lsp_chatsrv *s, chan *ch, long long now)
{
	long chat, edge, total;
	char buf[256], subj[128], err[256];
	int n;
	if (!ch->full) /* watched only: nothing of ours to report */
		return;
	chatsrv_chan_counts(s, ch, now, &chat, &edge);
	if (s->kv) {
		long t;
		int krc = lsp_chatkv_presence(s->kv, ch->name, s->node, (long)ch->n, now, &t, err, sizeof err);
		if (krc == 0) {
			chat = t;
			ch->chat_ts = now;
		} else if (krc != -ENOTCONN) { /* an outage already reported (chatkv.h) */
			chatsrv_ev(s, LSP_WARN, "redis presence failed", "channel", LSV_S(ch->name), "reason", LSV_S(err),
				   NULL);
		}
	}
	if (s->bus) {
		n = snprintf(buf, sizeof buf, "{\"type\":\"presence\",\"node\":\"%s\",\"source\":\"chat\",\"chat\":%zu}",
			     s->node, ch->n);
		if (n > 0 && (size_t)n < sizeof buf && lsp_subject(subj, sizeof subj, LSP_SUBJ_PRESENCE, ch->name) == 0)
			lsp_bus_publish_bytes(s->bus, subj, buf, (size_t)n, err, sizeof err);
	}
	total = chat + edge;
	ch->chat_total = chat;
	if (total != ch->viewers_sent && ch->n) {
		n = snprintf(buf, sizeof buf,
			     "{\"type\":\"presence\",\"channel\":\"%s\",\"viewers\":%ld,\"chat\":%ld,\"edge\":%ld}",
			     ch->name, total, chat, edge);
		if (n > 0 && (size_t)n < sizeof buf)
			chatsrv_broadcast(s, ch, buf, (size_t)n);
		ch->viewers_sent = total;
	}
}

/* As chatsrv_presence_tick counts them (chat + edge): the chat count is the Redis
 * sum over nodes when Redis is configured — reused for PRESENCE_CACHE_MS,
 * the stale ones read in one round trip — else this node's sockets plus
 * the other nodes' reports; Redis down: this node's own view. */
void chatsrv_presence_counts(lsp_chatsrv *s, const char *const *names, int n, long long now, long *out)
{
	chan *chs[LSP_CHATPRES_MAX];
	const char *ask[LSP_CHATPRES_MAX];
	long got[LSP_CHATPRES_MAX], edge[LSP_CHATPRES_MAX];
	int idx[LSP_CHATPRES_MAX], nask = 0, rc;
	char err[256];
	for (int i = 0; i < n; i++) {
		long chat = 0;
		edge[i] = 0;
		if ((chs[i] = chatsrv_chan_watch(s, names[i], now)))
			chatsrv_chan_counts(s, chs[i], now, &chat, &edge[i]);
		out[i] = chat + edge[i];
		if (!s->kv)
			continue;
		if (chs[i] && chs[i]->chat_ts && now - chs[i]->chat_ts < PRESENCE_CACHE_MS)
			out[i] = chs[i]->chat_total + edge[i];
		else {
			idx[nask] = i;
			ask[nask++] = names[i];
		}
	}
	if (!nask)
		return;
	if ((rc = lsp_chatkv_presence_read(s->kv, ask, nask, now, got, err, sizeof err)) < 0) {
		if (rc != -ENOTCONN) /* an outage already reported (chatkv.h) */
			chatsrv_ev(s, LSP_WARN, "redis presence failed", "reason", LSV_S(err), NULL);
		return;
	}
	for (int k = 0; k < nask; k++) {
		int i = idx[k];
		if (chs[i]) {
			chs[i]->chat_total = got[k];
			chs[i]->chat_ts = now;
		}
		out[i] = got[k] + edge[i];
	}
}
