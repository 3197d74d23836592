/* chatsrv.c — the lsp-chat node; see chatsrv.h for the contract.
 *
 * A connection goes through named stages:
 *
 *   HEAD ──(valid upgrade for /ws/<ch>)──▶ OPEN ──(close sent / error)──▶ CLOSING ──▶ freed
 *     └──(bad request: HTTP status)────────────────────────────────────▶ CLOSING
 *
 * Every stage is bounded: a head must arrive within 10 s and 8 KiB, a
 * client message is at most max_msg bytes (1009 otherwise), the output
 * queue of a slow reader at most OUT_MAX bytes (the reader is dropped),
 * a connection sends at most cfg.flood messages a second (errors, then
 * close 1008), an idle one is pinged and closed after IDLE_S seconds.
 *
 * Channel state (members, history ring, ban / filter / slow-mode cache,
 * presence) lives in memory and is rebuilt from the store and JetStream
 * when a node first sees the channel; every change of moderation state
 * is written to the store and then published, and each node applies the
 * published event to its cache.
 *
 * The same port answers plain HTTP on /presence (lib/chat/chatpres.c): viewer
 * counts for many channels at once, counted as the presence messages count
 * them.  A channel asked about that has no chat here is *watched*: a
 * channel entry holding only the lsp.presence.<ch> subscription (no chat
 * subject, history or moderation state), forgotten a minute after the
 * last question, at most WATCH_MAX of them; a WebSocket joining it turns
 * it into a full one.
 *
 *   HEAD ──(GET|HEAD|OPTIONS /presence, keep-alive)──▶ answered ──▶ HEAD (next request)
 *     └──(… Connection: close, or another method)────▶ answered ──▶ CLOSING */
#include "chat/chatsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "chat/chatkv.h"
#include "chat/chatmsg.h"
#include "chat/chatpres.h"
#include "core/http.h"
#include "core/key.h"
#include "state/ledger.h"
#include "core/log.h"
#include "state/modlog.h"
#include "state/token.h"
#include "chat/ws.h"
#include "core/clock.h"
#include "bus/subjects.h"

#define HEAD_MAX LSP_HTTP_HEAD_MAX
#define OUT_MAX (512 * 1024)
#define HEAD_TIMEOUT_MS 10000
#define IDLE_PING_MS 30000
#define IDLE_MS 75000
#define CLOSE_LINGER_MS 2000
#define FLOOD_STRIKES 20
#define AUTH_FAILS 5
#define PRESENCE_MS 1000
#define PRESENCE_FRESH_MS 6000
#define MAX_NODES 64
#define WATCH_MAX 4096          /* channels watched for /presence only */
#define PRESENCE_CACHE_MS 1000  /* a Redis sum is reused this long */
#define PRESENCE_MAX_AGE 1      /* Cache-Control max-age of a /presence answer */
#define PRESENCE_ALL_MAX 1000   /* channels in an answer without ?channels= */
#define STREAM "LSP_CHAT"

enum { ST_HEAD = 0, ST_OPEN, ST_CLOSING };

struct chan;

typedef struct conn {
	int fd, stage;
	struct conn *prev, *next;     /* all connections */
	struct chan *ch;
	size_t midx;                  /* index in ch->members */
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *msgbuf;
	lsp_ws_rx rx;
	uint8_t *out;
	size_t outlen, outcap, outoff;
	int want_out, close_after;
	int fin_after;                /* an HTTP answer with Connection: close: FIN once sent */
	long long created, last_rx, last_ping, close_at;
	int authed;
	lsp_token tok;
	double flood_t;
	long long flood_ts;
	int strikes, auth_fails;
	double rl_t;                  /* local chat bucket when no Redis */
	long long rl_ts, last_say;
} conn;

struct ban { char user[LSP_NAME_MAX + 1]; long long until; };
struct node_count { char node[64]; long chat, edge; long long ts; };

typedef struct chan {
	char name[LSP_NAME_MAX + 1];
	struct chan *next;
	conn **members;
	size_t n, cap;
	char **hist;                  /* ring of JSON texts */
	int hist_head, hist_n;
	lsp_bus_sub *sub, *psub;
	struct ban *bans;
	size_t nbans;
	char (*words)[LSP_NAME_MAX + 1];
	size_t nwords;
	long long slow;
	struct node_count nodes[MAX_NODES];
	long viewers_sent, chat_total;
	long long chat_ts;            /* when chat_total was summed in Redis */
	long long idle_since;
	int full;                     /* chat state loaded; 0: watched for presence only */
} chan;

struct qmsg { struct qmsg *next; char *subject; char *data; size_t len; };

struct lsp_chatsrv {
	lsp_chatsrv_cfg cfg;
	char node[64];
	int lfd, efd, evfd;
	conn *conns;
	long nconns;
	chan *chans[256];
	int nwatch;                   /* channels with full == 0 */
	lsp_bus *bus;
	lsp_chatkv *kv;
	pthread_mutex_t qmu;
	struct qmsg *qhead, *qtail;
	long qlen, qdropped;
	unsigned long long seq;
	char idpfx[12];
	long long last_tick, last_scan;
	char *scratch;                /* one outgoing JSON */
};

static const int listener_tag = 0, event_tag = 0;

static void ev(lsp_chatsrv *s, int level, const char *msg, ...)
{
	const char *kv[16];
	int n = 0;
	va_list ap;
	if (level >= LSP_WARN)
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_errors_total", 1, "kind", msg, NULL);
	if (!s->cfg.event)
		return;
	va_start(ap, msg);
	while (n < 14) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		kv[n++] = k;
		kv[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	kv[n] = NULL;
	s->cfg.event(s->cfg.event_ctx, level, msg, kv);
}

static unsigned hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & 255;
}

/* ---- output ---------------------------------------------------------- */

static void conn_close(lsp_chatsrv *s, conn *c);

static void set_out_interest(lsp_chatsrv *s, conn *c, int want)
{
	struct epoll_event e = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
	if (c->want_out == want)
		return;
	c->want_out = want;
	epoll_ctl(s->efd, EPOLL_CTL_MOD, c->fd, &e);
}

/* Write what we can; 0 ok, -1 the connection is dead. */
static int flush_out(lsp_chatsrv *s, conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->outoff += (size_t)n;
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_bytes_out_total", (double)n, NULL);
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->fin_after) {
			shutdown(c->fd, SHUT_WR); /* the client reads to EOF; its close ends the linger */
			c->fin_after = 0;
		}
	}
	set_out_interest(s, c, c->outlen > 0);
	return 0;
}

/* Queue raw bytes.  0 queued; -1 the reader is too slow (caller drops it). */
static int queue_raw(conn *c, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = alen + blen;
	if (c->outoff && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + need > c->outcap) {
		size_t cap;
		uint8_t *n;
		if (c->outoff) { /* compact first */
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		if (c->outlen + need > OUT_MAX)
			return -1;
		cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + need)
			cap *= 2;
		if (cap > c->outcap) {
			if (!(n = realloc(c->out, cap)))
				return -1;
			c->out = n;
			c->outcap = cap;
		}
	}
	memcpy(c->out + c->outlen, a, alen);
	if (blen)
		memcpy(c->out + c->outlen + alen, b, blen);
	c->outlen += need;
	return 0;
}

/* Send one frame; a reader that cannot keep up is closed. */
static void send_frame(lsp_chatsrv *s, conn *c, int opcode, const void *p, size_t len)
{
	uint8_t h[LSP_WS_HDR_MAX];
	size_t hl;
	if (c->stage != ST_OPEN)
		return;
	hl = lsp_ws_frame_hdr(h, opcode, 1, len);
	if (queue_raw(c, h, hl, p, len) < 0) {
		ev(s, LSP_WARN, "slow reader dropped", "channel", c->ch ? c->ch->name : "", NULL);
		c->stage = ST_CLOSING;
		c->close_at = 0; /* closed by the tick */
		return;
	}
	if (!c->want_out && flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
	}
}

static void send_text(lsp_chatsrv *s, conn *c, const char *json, size_t len)
{
	send_frame(s, c, LSP_WS_TEXT, json, len);
}

static void send_error(lsp_chatsrv *s, conn *c, const char *code, const char *msg, const char *ref)
{
	char buf[512];
	int n = lsp_chatmsg_error(buf, sizeof buf, code, msg, ref);
	if (n > 0)
		send_text(s, c, buf, (size_t)n);
}

/* Close handshake: send a close frame with code and reason, then drop
 * the connection when the peer answers or after a short linger. */
static void send_close(lsp_chatsrv *s, conn *c, int code, const char *reason)
{
	uint8_t p[125];
	size_t rl = strlen(reason);
	if (c->stage != ST_OPEN)
		return;
	if (rl > 120)
		rl = 120;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a close payload is code + bytes, no NUL */
	memcpy(p + 2, reason, rl);
	send_frame(s, c, LSP_WS_CLOSE, p, rl + 2);
	if (c->stage == ST_OPEN) {
		c->stage = ST_CLOSING;
		c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
	}
}

static void http_reply(lsp_chatsrv *s, conn *c, int status)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s\n",
			 status, lsp_http_reason(status), strlen(lsp_http_reason(status)) + 1,
			 status == 426 ? "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n" : "",
			 lsp_http_reason(status));
	c->fin_after = 1;
	if (n > 0 && (size_t)n < sizeof buf && queue_raw(c, buf, (size_t)n, NULL, 0) == 0)
		flush_out(s, c);
	c->stage = ST_CLOSING;
	c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
}

/* ---- channels -------------------------------------------------------- */

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

static long long ban_until(chan *ch, const char *user, long long now)
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

static void on_bus(void *ctx, const char *subject, const char *data, size_t len);
static void apply_event(lsp_chatsrv *s, chan *ch, const char *json, size_t len, int from_history);

static void hist_load(void *ctx, const char *subject, const char *data, size_t len)
{
	void **a = ctx;
	(void)subject;
	apply_event(a[0], a[1], data, len, 1);
}

static chan *chan_find(lsp_chatsrv *s, const char *name)
{
	for (chan *ch = s->chans[hash(name)]; ch; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

static void chan_free(lsp_chatsrv *s, chan *ch)
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
		    lsp_bus_subscribe(s->bus, subj, on_bus, s, &ch->psub, err, sizeof err) < 0)
			ev(s, LSP_ERROR, "unable to subscribe", "subject", subj, "reason", err, NULL);
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
		ev(s, LSP_ERROR, "unable to load moderation state", "channel", ch->name, "reason", err, NULL);
	if (s->bus) {
		void *a[2] = { s, ch };
		if (lsp_subject(subj, sizeof subj, LSP_SUBJ_CHAT, ch->name) < 0 ||
		    lsp_bus_subscribe(s->bus, subj, on_bus, s, &ch->sub, err, sizeof err) < 0)
			ev(s, LSP_ERROR, "unable to subscribe", "subject", subj, "reason", err, NULL);
		/* the server has our interest before anyone here can publish */
		if (lsp_bus_flush(s->bus, 1000, err, sizeof err) < 0)
			ev(s, LSP_WARN, "nats flush failed", "reason", err, NULL);
		if (lsp_bus_history(s->bus, STREAM, subj, s->cfg.history, hist_load, a, err, sizeof err) < 0)
			ev(s, LSP_WARN, "no history from jetstream", "channel", ch->name, "reason", err, NULL);
	}
}

/* The channel for a WebSocket joining it, loaded; NULL when out of memory. */
static chan *chan_get(lsp_chatsrv *s, const char *name)
{
	chan *ch = chan_find(s, name);
	if (!ch && !(ch = chan_new(s, name)))
		return NULL;
	chan_load(s, ch);
	return ch;
}

/* The channel for a presence question: known, or watched from now on
 * when there is a bus to hear other nodes' reports on (and room); NULL
 * otherwise.  Asking keeps an empty channel from being forgotten. */
static chan *chan_watch(lsp_chatsrv *s, const char *name, long long now)
{
	chan *ch = chan_find(s, name);
	if (!ch && s->bus && s->nwatch < WATCH_MAX)
		ch = chan_new(s, name);
	if (ch && ch->n == 0)
		ch->idle_since = now;
	return ch;
}

/* This node's view of a channel: its own sockets plus, without Redis,
 * the other nodes' reports; and the edges' reports. */
static void chan_counts(lsp_chatsrv *s, chan *ch, long long now, long *chat, long *edge)
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

static int chan_join(chan *ch, conn *c)
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

static void chan_leave(chan *ch, conn *c)
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

static void broadcast(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	for (size_t i = 0; i < ch->n; i++)
		send_text(s, ch->members[i], json, len);
}

/* ---- events from the bus (or from this node when alone) -------------- */

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* A chat event on lsp.chat.<ch>: remember, apply and deliver it. */
static void apply_event(lsp_chatsrv *s, chan *ch, const char *json, size_t len, int from_history)
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
			broadcast(s, ch, json, len);
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
			broadcast(s, ch, json, len);
	}
done:
	json_decref(o);
}

/* A presence report on lsp.presence.<ch> from some node or edge. */
static void apply_presence(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	const char *node;
	int slot = -1;
	if (!o)
		return;
	node = jstr(o, "node");
	if (*node && strcmp(node, s->node) != 0) {
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

static void on_bus(void *ctx, const char *subject, const char *data, size_t len)
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
		free(m->subject);
		free(m->data);
		free(m);
		return;
	}
	memcpy(m->data, data, len);
	m->data[len] = 0;
	m->len = len;
	pthread_mutex_lock(&s->qmu);
	if (s->qlen > 100000) { /* the loop is stalled: drop, count */
		s->qdropped++;
		pthread_mutex_unlock(&s->qmu);
		free(m->subject);
		free(m->data);
		free(m);
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

static void drain_bus(lsp_chatsrv *s)
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
		if (kind == LSP_SUBJ_CHAT && (ch = chan_find(s, name)))
			apply_event(s, ch, m->data, m->len, 0);
		else if (kind == LSP_SUBJ_PRESENCE && (ch = chan_find(s, name)))
			apply_presence(s, ch, m->data, m->len);
		free(m->subject);
		free(m->data);
		free(m);
		m = n;
	}
}

/* Publish a chat event for channel ch: over NATS, or straight in. */
static int publish(lsp_chatsrv *s, chan *ch, const char *json, size_t len)
{
	char subj[320], err[256];
	if (!s->bus) {
		apply_event(s, ch, json, len, 0);
		return 0;
	}
	if (lsp_subject(subj, sizeof subj, LSP_SUBJ_CHAT, ch->name) < 0) {
		ev(s, LSP_ERROR, "publish failed", "channel", ch->name, "reason", "no subject for this name", NULL);
		return -1;
	}
	if (lsp_bus_publish_bytes(s->bus, subj, json, len, err, sizeof err) < 0) {
		ev(s, LSP_ERROR, "publish failed", "subject", subj, "reason", err, NULL);
		return -1;
	}
	return 0;
}

/* ---- client messages ------------------------------------------------- */

static size_t dump(lsp_chatsrv *s, json_t *o)
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

/* Token bucket: local, or in Redis across nodes when configured. */
static int rate_ok(lsp_chatsrv *s, conn *c, long long now)
{
	if (s->kv) {
		char err[256];
		int r = lsp_chatkv_allow(s->kv, c->tok.user, s->cfg.rate, s->cfg.burst, now, err, sizeof err);
		if (r >= 0)
			return r;
		ev(s, LSP_WARN, "redis rate limit failed; local bucket used", "reason", err, NULL);
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
	int rc = lsp_token_verify(s->cfg.secret, s->cfg.secretlen, m->token, strlen(m->token), time(NULL), &t);
	if (rc == 0 && !lsp_token_allows(&t, c->ch->name))
		rc = -EPERM;
	if (rc < 0) {
		const char *code = rc == -ETIMEDOUT ? "token_expired" : rc == -EPERM ? "wrong_channel" : "bad_token";
		ev(s, LSP_INFO, "auth refused", "channel", c->ch->name, "code", code, NULL);
		if (++c->auth_fails >= AUTH_FAILS) {
			send_close(s, c, LSP_WS_POLICY, "too many failed auth attempts");
			return;
		}
		send_error(s, c, code, rc == -ETIMEDOUT ? "the token has expired"
				       : rc == -EPERM ? "the token is for another channel"
						      : "the token is not valid",
			   m->ref);
		return;
	}
	c->tok = t;
	c->authed = 1;
	{
		json_t *o = json_pack("{s:s,s:s,s:s}", "type", "auth_ok", "user", t.user, "role", lsp_role_name(t.role));
		size_t n;
		if (m->ref[0])
			json_object_set_new(o, "ref", json_string(m->ref));
		if ((n = dump(s, o)))
			send_text(s, c, s->scratch, n);
	}
}

static int gate(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	long long until;
	if (!c->authed) {
		send_error(s, c, "auth_required", "sending needs a token: send {\"type\":\"auth\",\"token\":…} first",
			   m->ref);
		return 0;
	}
	if ((until = ban_until(c->ch, c->tok.user, now)) != 0) {
		send_error(s, c, until < 0 ? "banned" : "timed_out",
			   until < 0 ? "you are banned from this channel" : "you are timed out in this channel", m->ref);
		return 0;
	}
	return 1;
}

static void do_say(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	char id[32];
	json_t *o;
	size_t n;
	if (!gate(s, c, m, now))
		return;
	if (c->ch->slow > 0 && c->tok.role < LSP_ROLE_MOD && c->last_say && now - c->last_say < c->ch->slow * 1000) {
		send_error(s, c, "slow_mode", "slow mode is on: wait before sending again", m->ref);
		return;
	}
	if (c->tok.role < LSP_ROLE_MOD) {
		for (size_t i = 0; i < c->ch->nwords; i++)
			if (lsp_chat_word_match(m->text, c->ch->words[i])) {
				send_error(s, c, "filtered", "the message contains a blocked word", m->ref);
				return;
			}
	}
	if (!rate_ok(s, c, now)) {
		send_error(s, c, "rate_limited", "too many messages: slow down", m->ref);
		return;
	}
	c->last_say = now;
	next_id(s, id, sizeof id);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "type", "say", "id", id, "channel", c->ch->name, "user",
		      c->tok.user, "role", lsp_role_name(c->tok.role), "text", m->text, "ts", (json_int_t)now);
	if (!o || !(n = dump(s, o)))
		return;
	if (publish(s, c->ch, s->scratch, n) < 0)
		send_error(s, c, "unavailable", "the message bus is unavailable", m->ref);
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
			send_error(s, c, "insufficient_funds", "your balance is too low for this tip", m->ref);
		else if (rc == -ENOENT)
			send_error(s, c, "unknown_user", "no such user in the ledger", m->ref);
		else {
			ev(s, LSP_ERROR, "tip failed", "channel", c->ch->name, "reason", err, NULL);
			send_error(s, c, "store_error", "the tip was not recorded; retry with the same key", m->ref);
		}
		return;
	}
	/* durable now: acknowledge, then announce (a replay is not announced again) */
	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:s}", "type", "tip_ok", "key", m->key, "id", r.txn, "amount",
		      (json_int_t)r.amount, "balance", (json_int_t)r.balance, "replay", r.replay, "channel", r.channel);
	if (o && m->ref[0])
		json_object_set_new(o, "ref", json_string(m->ref));
	if (o && (n = dump(s, o)))
		send_text(s, c, s->scratch, n);
	if (rc == 1)
		return;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:I}", "type", "tip", "id", r.txn, "channel", c->ch->name, "user",
		      c->tok.user, "amount", (json_int_t)r.amount, "text", m->text, "ts", (json_int_t)now);
	if (o && (n = dump(s, o))) {
		publish(s, c->ch, s->scratch, n);
		if (s->bus) { /* for other consumers (alerts, overlays): lsp.tip.<channel> */
			char subj[LSP_SUBJ_CAP];
			if (lsp_subject(subj, sizeof subj, LSP_SUBJ_TIP, c->ch->name) == 0)
				lsp_bus_publish_bytes(s->bus, subj, s->scratch, n, err, sizeof err);
		}
	}
	ev(s, LSP_INFO, "tip", "channel", c->ch->name, "user", c->tok.user, "txn", r.txn, NULL);
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_tips_total", 1, "channel", c->ch->name, NULL);
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_tip_amount_total", (double)r.amount, "channel", c->ch->name, NULL);
}

static void do_mod(lsp_chatsrv *s, conn *c, const lsp_chatmsg *m, long long now)
{
	lsp_mod_action a = { 0 };
	char err[256];
	json_t *o;
	size_t n;
	if (!c->authed || !can_moderate(c)) {
		send_error(s, c, "forbidden", "moderation needs a mod or owner token for this channel", m->ref);
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
		ev(s, LSP_ERROR, "moderation not recorded", "channel", a.channel, "reason", err, NULL);
		send_error(s, c, "store_error", "the action was not recorded", m->ref);
		return;
	}
	ev(s, LSP_INFO, "moderation", "channel", a.channel, "action", lsp_mod_name(a.kind), "actor", a.actor,
	   "target", a.target, NULL);
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
	if ((n = dump(s, o)))
		publish(s, c->ch, s->scratch, n);
	if (m->type == LSP_CHAT_FILTER) { /* not broadcast: confirm to the moderator */
		o = json_pack("{s:s,s:s,s:s,s:b}", "type", "mod_ok", "action", lsp_mod_name(a.kind), "word", m->word,
			      "add", m->add);
		if (o && (n = dump(s, o)))
			send_text(s, c, s->scratch, n);
	}
}

static void on_message(lsp_chatsrv *s, conn *c, const char *data, size_t len)
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
			ev(s, LSP_WARN, "flooding client closed", "channel", c->ch->name, NULL);
			send_close(s, c, LSP_WS_POLICY, "flooding");
		} else {
			send_error(s, c, "flood", "too many messages on this connection", NULL);
		}
		return;
	}
	c->flood_t -= 1;
	type = lsp_chatmsg_parse(data, len, &m, err, sizeof err);
	if (type == -ENOTSUP) {
		send_error(s, c, "unknown_type", err, m.ref);
		return;
	}
	if (type < 0) {
		send_error(s, c, "bad_message", err, m.ref);
		return;
	}
	switch (type) {
	case LSP_CHAT_AUTH: do_auth(s, c, &m); break;
	case LSP_CHAT_SAY: do_say(s, c, &m, now); break;
	case LSP_CHAT_TIP: do_tip(s, c, &m, now); break;
	case LSP_CHAT_PING: {
		char buf[96];
		int n = snprintf(buf, sizeof buf, "{\"type\":\"pong\",\"ts\":%lld}", now);
		send_text(s, c, buf, (size_t)n);
		break;
	}
	default: do_mod(s, c, &m, now); break;
	}
}

/* ---- connections ----------------------------------------------------- */

static void send_hello(lsp_chatsrv *s, conn *c)
{
	chan *ch = c->ch;
	json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "type", "hello", "channel", ch->name, "node", s->node, "slow",
			      (json_int_t)ch->slow);
	size_t n;
	if (o && (n = dump(s, o)))
		send_text(s, c, s->scratch, n);
	/* history: {"type":"history","messages":[…]} built from the stored texts */
	{
		size_t cap = 64, len = 0;
		char *b;
		for (int k = 0; k < ch->hist_n; k++)
			cap += strlen(ch->hist[(ch->hist_head + k) % s->cfg.history]) + 1;
		if (!(b = malloc(cap)))
			return;
		len = (size_t)snprintf(b, cap, "{\"type\":\"history\",\"messages\":[");
		for (int k = 0; k < ch->hist_n; k++) {
			const char *h = ch->hist[(ch->hist_head + k) % s->cfg.history];
			size_t hl = strlen(h);
			if (k)
				b[len++] = ',';
			/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): b is a counted frame, ended below */
			memcpy(b + len, h, hl);
			len += hl;
		}
		memcpy(b + len, "]}", 3);
		len += 2;
		send_text(s, c, b, len);
		free(b);
	}
	ch->viewers_sent = -1; /* send a fresh presence on the next tick */
}

/* ---- /presence over plain HTTP ---------------------------------------- */

/* Viewer counts for up to LSP_CHATPRES_MAX channels, as presence_tick
 * counts them (chat + edge): the chat count is the Redis sum over nodes
 * when Redis is configured — reused for PRESENCE_CACHE_MS, the stale ones
 * read in one round trip — else this node's sockets plus the other
 * nodes' reports; Redis down: this node's own view. */
static void presence_counts(lsp_chatsrv *s, const char *const *names, int n, long long now, long *out)
{
	chan *chs[LSP_CHATPRES_MAX];
	const char *ask[LSP_CHATPRES_MAX];
	long got[LSP_CHATPRES_MAX], edge[LSP_CHATPRES_MAX];
	int idx[LSP_CHATPRES_MAX], nask = 0;
	char err[256];
	for (int i = 0; i < n; i++) {
		long chat = 0;
		edge[i] = 0;
		if ((chs[i] = chan_watch(s, names[i], now)))
			chan_counts(s, chs[i], now, &chat, &edge[i]);
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
	if (lsp_chatkv_presence_read(s->kv, ask, nask, now, got, err, sizeof err) < 0) {
		ev(s, LSP_WARN, "redis presence failed", "reason", err, NULL);
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

/* Queue an HTTP answer; 0 when the connection stays for the next request. */
static int presence_send(lsp_chatsrv *s, conn *c, int status, const char *body, size_t blen, int head_only,
			 int keep)
{
	char h[512];
	int n = lsp_chatpres_head(h, sizeof h, status, blen, PRESENCE_MAX_AGE, keep);
	c->fin_after = !keep;
	if (n < 0 || queue_raw(c, h, (size_t)n, head_only ? NULL : body, head_only ? 0 : blen) < 0 ||
	    flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
		return -1;
	}
	if (!keep) {
		c->stage = ST_CLOSING;
		c->close_at = lsp_clock_wall_ms() + CLOSE_LINGER_MS;
		return -1;
	}
	return 0;
}

/* Answer GET|HEAD|OPTIONS /presence[?channels=a,b]: {"a":12,"b":0}.
 * Without channels: the channels with sockets on this node (at most
 * PRESENCE_ALL_MAX), each still counted over all nodes.  The head (hlen
 * bytes) is consumed; returns 1 when the connection waits for another. */
static int on_presence(lsp_chatsrv *s, conn *c, const lsp_http_req *req, size_t hlen)
{
	lsp_chatpres_list l;
	const char **names = NULL;
	long *counts = NULL;
	char err[128], small[192], *body = NULL;
	int keep = req->keep_alive && req->content_length <= 0 && !req->chunked, status = 200, n = 0, len = 0;
	int head_only = req->method == LSP_HTTP_HEAD;
	long long now = lsp_clock_wall_ms();
	size_t cap;

	lsp_metrics_add(s->cfg.metrics, "lsp_chat_presence_requests_total", 1, NULL);
	if (req->method == LSP_HTTP_OPTIONS) {
		status = 204;
		goto answer;
	}
	if (req->method != LSP_HTTP_GET && req->method != LSP_HTTP_HEAD) {
		status = 405;
		keep = 0;
		len = snprintf(small, sizeof small, "{\"error\":\"GET, HEAD or OPTIONS\"}");
		goto answer;
	}
	if (lsp_chatpres_parse(req->query, req->query_len, &l, err, sizeof err) < 0) {
		status = 400;
		len = snprintf(small, sizeof small, "{\"error\":\"%s\"}", err);
		goto answer;
	}
	cap = (size_t)(l.all ? PRESENCE_ALL_MAX : l.n);
	if (!(names = calloc(cap + 1, sizeof *names)) || !(counts = calloc(cap + 1, sizeof *counts)) ||
	    !(body = malloc(cap * (LSP_NAME_MAX + 24) + 3))) {
		status = 503;
		len = snprintf(small, sizeof small, "{\"error\":\"out of memory\"}");
		goto answer;
	}
	if (l.all) {
		for (int b = 0; b < 256; b++)
			for (chan *ch = s->chans[b]; ch && n < PRESENCE_ALL_MAX; ch = ch->next)
				if (ch->full && ch->n > 0)
					names[n++] = ch->name;
	} else {
		for (; n < l.n; n++)
			names[n] = l.name[n];
	}
	for (int i = 0; i < n; i += LSP_CHATPRES_MAX)
		presence_counts(s, names + i, n - i < LSP_CHATPRES_MAX ? n - i : LSP_CHATPRES_MAX, now, counts + i);
	if ((len = lsp_chatpres_json(body, cap * (LSP_NAME_MAX + 24) + 3, names, counts, n)) < 0) {
		status = 500;
		len = snprintf(small, sizeof small, "{\"error\":\"answer too large\"}");
	}
answer:
	if (status != 200 && len > 0 && (size_t)len >= sizeof small)
		len = 0;
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	keep = presence_send(s, c, status, status == 200 ? body : small, len > 0 ? (size_t)len : 0, head_only,
			     keep) == 0;
	free(names);
	free(counts);
	free(body);
	if (keep)
		c->created = now; /* the head timeout now bounds the wait for the next request */
	return keep;
}

static int on_head(lsp_chatsrv *s, conn *c)
{
	lsp_http_req req;
	char path[4 + LSP_NAME_MAX + 1], resp[512];
	int r = lsp_http_parse((const char *)c->in, c->inlen, &req), n;
	chan *ch;
	if (r == 0) {
		if (c->inlen >= HEAD_MAX)
			http_reply(s, c, 431);
		return 0;
	}
	if (r < 0) {
		http_reply(s, c, -r);
		return 0;
	}
	if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) >= 0 && strcmp(path, "/presence") == 0)
		return on_presence(s, c, &req, (size_t)r);
	if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) < 0 || strncmp(path, "/ws/", 4) != 0 ||
	    !lsp_name_valid(path + 4)) {
		http_reply(s, c, 404);
		return 0;
	}
	n = lsp_ws_handshake(&req, resp, sizeof resp);
	if (n < 0) {
		http_reply(s, c, -n);
		return 0;
	}
	if (!(ch = chan_get(s, path + 4)) || chan_join(ch, c) < 0) {
		http_reply(s, c, 503);
		return 0;
	}
	memmove(c->in, c->in + r, c->inlen - (size_t)r); /* frames may follow the head */
	c->inlen -= (size_t)r;
	if (c->incap > s->cfg.max_msg + LSP_WS_HDR_MAX && c->inlen <= s->cfg.max_msg + LSP_WS_HDR_MAX) {
		/* past the head, one frame is the most we hold: give back the rest */
		uint8_t *n = realloc(c->in, s->cfg.max_msg + LSP_WS_HDR_MAX);
		if (n) {
			c->in = n;
			c->incap = s->cfg.max_msg + LSP_WS_HDR_MAX;
		}
	}
	if (queue_raw(c, resp, (size_t)n, NULL, 0) < 0 || flush_out(s, c) < 0) {
		c->stage = ST_CLOSING;
		c->close_at = 0;
		return 0;
	}
	c->stage = ST_OPEN;
	send_hello(s, c);
	return 0;
}

static void on_frames(lsp_chatsrv *s, conn *c)
{
	size_t off = 0;
	/* the buffer holds at most one max-size frame, which bounds the work */
	while (c->stage == ST_OPEN && off < c->inlen) {
		lsp_ws_event e;
		size_t used = lsp_ws_rx_feed(&c->rx, c->in + off, c->inlen - off, &e);
		if (e.type == LSP_WS_EV_ERROR) {
			send_close(s, c, e.code, e.code == LSP_WS_TOO_BIG ? "message too big"
						 : e.code == LSP_WS_BAD_DATA ? "invalid UTF-8"
									     : "protocol error");
			break;
		}
		if (!used)
			break;
		off += used;
		switch (e.type) {
		case LSP_WS_EV_MESSAGE:
			if (e.opcode != LSP_WS_TEXT)
				send_close(s, c, LSP_WS_UNSUPPORTED, "text messages only");
			else
				on_message(s, c, (const char *)e.data, e.len);
			break;
		case LSP_WS_EV_PING:
			send_frame(s, c, LSP_WS_PONG, e.data, e.len);
			break;
		case LSP_WS_EV_CLOSE:
			send_close(s, c, e.code == 1005 ? LSP_WS_NORMAL : e.code, "");
			break;
		default:
			break;
		}
	}
	if (off) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

static void on_readable(lsp_chatsrv *s, conn *c)
{
	ssize_t n;
	if (c->inlen == c->incap) { /* cannot happen past HEAD: frames fit */
		http_reply(s, c, 431);
		return;
	}
	do
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		conn_close(s, c);
		return;
	}
	c->inlen += (size_t)n;
	c->last_rx = lsp_clock_wall_ms();
	lsp_metrics_add(s->cfg.metrics, "lsp_chat_bytes_in_total", (double)n, NULL);
	/* answered /presence requests leave the connection in HEAD: pipelined heads follow */
	while (c->stage == ST_HEAD && c->inlen && on_head(s, c) > 0)
		;
	if (c->stage == ST_OPEN)
		on_frames(s, c);
	if (c->stage == ST_CLOSING) {
		c->inlen = 0;
		if (c->close_at == 0)
			conn_close(s, c);
	}
}

static void conn_close(lsp_chatsrv *s, conn *c)
{
	if (c->ch)
		chan_leave(c->ch, c);
	epoll_ctl(s->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	lsp_metrics_set(s->cfg.metrics, "lsp_chat_connections", (double)s->nconns, NULL);
	free(c->in);
	free(c->msgbuf);
	free(c->out);
	free(c);
}

static void on_accept(lsp_chatsrv *s)
{
	for (int k = 0; k < 256; k++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		conn *c;
		struct epoll_event e = { .events = EPOLLIN };
		if (fd < 0)
			return;
		if (s->nconns >= s->cfg.max_clients) {
			lsp_metrics_add(s->cfg.metrics, "lsp_chat_errors_total", 1, "kind", "max clients", NULL);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (!(c = calloc(1, sizeof *c)) || !(c->in = malloc(HEAD_MAX > s->cfg.max_msg + LSP_WS_HDR_MAX
									 ? HEAD_MAX : s->cfg.max_msg + LSP_WS_HDR_MAX)) ||
		    !(c->msgbuf = malloc(s->cfg.max_msg))) {
			if (c)
				free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->incap = HEAD_MAX > s->cfg.max_msg + LSP_WS_HDR_MAX ? HEAD_MAX : s->cfg.max_msg + LSP_WS_HDR_MAX;
		lsp_ws_rx_init(&c->rx, c->msgbuf, s->cfg.max_msg, 1);
		c->created = c->last_rx = lsp_clock_wall_ms();
		e.data.ptr = c;
		if (epoll_ctl(s->efd, EPOLL_CTL_ADD, fd, &e) < 0) {
			free(c->in);
			free(c->msgbuf);
			free(c);
			close(fd);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		lsp_metrics_set(s->cfg.metrics, "lsp_chat_connections", (double)s->nconns, NULL);
		lsp_metrics_add(s->cfg.metrics, "lsp_chat_accepted_total", 1, NULL);
	}
}

/* ---- periodic work ----------------------------------------------------- */

static void presence_tick(lsp_chatsrv *s, chan *ch, long long now)
{
	long chat, edge, total;
	char buf[256], subj[128], err[256];
	int n;
	if (!ch->full) /* watched only: nothing of ours to report */
		return;
	chan_counts(s, ch, now, &chat, &edge);
	if (s->kv) {
		long t;
		if (lsp_chatkv_presence(s->kv, ch->name, s->node, (long)ch->n, now, &t, err, sizeof err) == 0) {
			chat = t;
			ch->chat_ts = now;
		} else {
			ev(s, LSP_WARN, "redis presence failed", "channel", ch->name, "reason", err, NULL);
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
			broadcast(s, ch, buf, (size_t)n);
		ch->viewers_sent = total;
	}
}

static void tick(lsp_chatsrv *s)
{
	long long now = lsp_clock_wall_ms();
	conn *c, *next;
	int do_presence = now - s->last_tick >= PRESENCE_MS;
	if (now - s->last_scan < 250)
		return;
	s->last_scan = now;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if ((c->stage == ST_HEAD && now - c->created > HEAD_TIMEOUT_MS) ||
		    (c->stage == ST_CLOSING && now >= c->close_at))
			conn_close(s, c);
		else if (c->stage == ST_OPEN && now - c->last_rx > IDLE_MS)
			send_close(s, c, LSP_WS_GOING_AWAY, "idle");
		else if (c->stage == ST_OPEN && now - c->last_rx > IDLE_PING_MS && now - c->last_ping > IDLE_PING_MS) {
			c->last_ping = now;
			send_frame(s, c, LSP_WS_PING, "", 0);
		}
	}
	if (!do_presence)
		return;
	s->last_tick = now;
	for (int b = 0; b < 256; b++) {
		chan **pp = &s->chans[b];
		while (*pp) {
			chan *ch = *pp;
			if (ch->n == 0 && ch->idle_since && now - ch->idle_since > 60000) {
				*pp = ch->next; /* nobody here for a minute: forget it */
				chan_free(s, ch);
				continue;
			}
			presence_tick(s, ch, now);
			pp = &ch->next;
		}
	}
}

/* ---- open / run / close ------------------------------------------------ */

int lsp_chatsrv_open(lsp_chatsrv **out, const lsp_chatsrv_cfg *cfg, char *err, size_t errcap)
{
	lsp_chatsrv *s;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct epoll_event e = { .events = EPOLLIN };
	char port[16], host[24];
	unsigned char rnd[4];
	int one = 1, rc = -EIO;
	FILE *ur;

	*out = NULL;
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->lfd = s->efd = s->evfd = -1;
	pthread_mutex_init(&s->qmu, NULL);
	s->cfg = *cfg;
	if (!s->cfg.port)
		s->cfg.port = 8081;
	if (s->cfg.history <= 0)
		s->cfg.history = 50;
	if (s->cfg.max_clients <= 0)
		s->cfg.max_clients = 100000;
	if (!s->cfg.max_msg)
		s->cfg.max_msg = 4096;
	if (s->cfg.rate <= 0)
		s->cfg.rate = 1;
	if (s->cfg.burst <= 0)
		s->cfg.burst = 5;
	if (s->cfg.flood <= 0)
		s->cfg.flood = 20;
	if (!(s->scratch = malloc(s->cfg.max_msg * 2 + 1025))) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	if (!(ur = fopen("/dev/urandom", "rb")) || fread(rnd, 1, 4, ur) != 4) {
		if (ur)
			(void)fclose(ur);
		snprintf(err, errcap, "unable to read /dev/urandom");
		goto fail;
	}
	(void)fclose(ur); /* read-only: nothing to lose */
	snprintf(s->idpfx, sizeof s->idpfx, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if (cfg->node && *cfg->node)
		snprintf(s->node, sizeof s->node, "%s", cfg->node);
	else {
		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "node");
		host[sizeof host - 1] = 0;
		snprintf(s->node, sizeof s->node, "%s-%ld-%s", host, (long)getpid(), s->idpfx);
	}
	snprintf(port, sizeof port, "%d", s->cfg.port);
	if (getaddrinfo(s->cfg.host && *s->cfg.host ? s->cfg.host : NULL, port, &hints, &ai) != 0 || !ai) {
		snprintf(err, errcap, "unable to resolve %s", s->cfg.host ? s->cfg.host : "*");
		goto fail;
	}
	s->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s->lfd, 4096) < 0) {
		snprintf(err, errcap, "unable to listen on port %d: %s", s->cfg.port, strerror(errno));
		goto fail;
	}
	if ((s->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		goto fail;
	}
	e.data.ptr = (void *)&listener_tag;
	epoll_ctl(s->efd, EPOLL_CTL_ADD, s->lfd, &e);
	e.data.ptr = (void *)&event_tag;
	epoll_ctl(s->efd, EPOLL_CTL_ADD, s->evfd, &e);
	if (s->cfg.nats_url && *s->cfg.nats_url) {
		if ((rc = lsp_bus_open(&s->bus, s->cfg.nats_url, 2000, s->node, err, errcap)) < 0)
			goto fail;
		if ((rc = lsp_bus_stream_ensure(s->bus, STREAM, LSP_SUBJ_CHAT_ALL, s->cfg.history, err, errcap)) < 0)
			goto fail;
	}
	if (s->cfg.redis_url && *s->cfg.redis_url &&
	    (rc = lsp_chatkv_open(&s->kv, s->cfg.redis_url, err, errcap)) < 0)
		goto fail;
	if (s->cfg.st && (rc = lsp_ledger_durable(s->cfg.st, err, errcap)) < 0)
		goto fail;
	freeaddrinfo(ai);
	*out = s;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	lsp_chatsrv_close(s);
	return rc < 0 ? rc : -EIO;
}

int lsp_chatsrv_run(lsp_chatsrv *s, const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct epoll_event evs[256];
	char port[16];
	snprintf(port, sizeof port, "%d", s->cfg.port);
	ev(s, LSP_INFO, "listening", "port", port, "node", s->node, "bus", s->bus ? "nats" : "local", "presence",
	   s->kv ? "redis" : "local", NULL);
	while (!*stop) {
		int n = epoll_wait(s->efd, evs, 256, 200);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errcap, "epoll_wait: %s", strerror(errno));
			return -EIO;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			conn *c;
			if (p == &listener_tag) {
				on_accept(s);
				continue;
			}
			if (p == &event_tag) {
				drain_bus(s);
				continue;
			}
			c = p;
			if (evs[i].events & EPOLLOUT) {
				if (flush_out(s, c) < 0) {
					conn_close(s, c);
					continue;
				}
				if (c->stage == ST_CLOSING && c->outlen == 0 && c->close_at) {
					/* close frame or HTTP error sent: wait for the peer's EOF briefly */
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				if (c->stage == ST_CLOSING) {
					char junk[4096];
					ssize_t r = recv(c->fd, junk, sizeof junk, 0);
					if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
					    (evs[i].events & (EPOLLHUP | EPOLLERR)))
						conn_close(s, c);
					continue;
				}
				on_readable(s, c);
			}
		}
		tick(s);
	}
	return 0;
}

void lsp_chatsrv_close(lsp_chatsrv *s)
{
	if (!s)
		return;
	for (conn *c = s->conns, *next; c; c = next) {
		next = c->next; /* conn_close unlinks and frees c only */
		if (c->stage == ST_OPEN) {
			send_close(s, c, LSP_WS_GOING_AWAY, "server shutting down");
			flush_out(s, c);
		}
		conn_close(s, c);
	}
	for (int b = 0; b < 256; b++)
		while (s->chans[b]) {
			chan *ch = s->chans[b];
			s->chans[b] = ch->next;
			chan_free(s, ch);
		}
	if (s->bus) {
		char e[128];
		lsp_bus_flush(s->bus, 1000, e, sizeof e);
		lsp_bus_close(s->bus);
	}
	while (s->qhead) {
		struct qmsg *m = s->qhead;
		s->qhead = m->next;
		free(m->subject);
		free(m->data);
		free(m);
	}
	lsp_chatkv_close(s->kv);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->efd >= 0)
		close(s->efd);
	if (s->evfd >= 0)
		close(s->evfd);
	pthread_mutex_destroy(&s->qmu);
	free(s->scratch);
	free(s);
}

void lsp_chatsrv_metrics_def(lsp_metrics *m)
{
	lsp_metrics_def(m, "lsp_chat_connections", LSP_METRIC_GAUGE, "WebSocket connections open now");
	lsp_metrics_def(m, "lsp_chat_accepted_total", LSP_METRIC_COUNTER, "TCP connections accepted");
	lsp_metrics_def(m, "lsp_chat_bytes_in_total", LSP_METRIC_COUNTER, "bytes read from clients");
	lsp_metrics_def(m, "lsp_chat_bytes_out_total", LSP_METRIC_COUNTER, "bytes written to clients");
	lsp_metrics_def(m, "lsp_chat_messages_total", LSP_METRIC_COUNTER, "chat messages accepted, by channel");
	lsp_metrics_def(m, "lsp_chat_tips_total", LSP_METRIC_COUNTER, "tips recorded, by channel");
	lsp_metrics_def(m, "lsp_chat_tip_amount_total", LSP_METRIC_COUNTER, "tip amounts recorded, by channel");
	lsp_metrics_def(m, "lsp_chat_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
	lsp_metrics_def(m, "lsp_chat_presence_requests_total", LSP_METRIC_COUNTER, "HTTP /presence requests answered");
}
