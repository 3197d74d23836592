/* chatsrv_int.h — what the pieces of the lsp-chat node share: the server,
 * channel and connection structs, the limits, and the prototypes of the
 * functions one piece calls in another.  Not for use outside lib/chat/;
 * the contract for callers is chatsrv.h.
 *
 *   chatroom.c   channel rooms: members, history ring, bans, word filters,
 *                slow mode, applying chat events (lsp.chat.<ch>) to them
 *   chatfan.c    fan-out: the bus queue (NATS threads → loop), publishing,
 *                presence reports (sent, heard, summed)
 *   chatcmd.c    client messages: auth, say, tips, moderation commands
 *   chatconn.c   connections: output queue, HTTP head, /presence answers,
 *                the WebSocket handshake and frames, accept and close
 *   chatauth.c   revocation: open sockets' rights re-checked against the
 *                store on lsp.auth.revoke and every recheck period
 *   chatsrv.c    the loop: open, run (epoll), periodic work, close
 *
 * Everything runs on the loop's thread except chatsrv_on_bus, which the
 * bus calls on its own threads and which only touches the locked queue.
 * A channel owns its history texts, bans and words; a connection its
 * buffers; the server owns both lists and frees them in lsp_chatsrv_close. */
#ifndef LSP_CHATSRV_INT_H
#define LSP_CHATSRV_INT_H
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "chat/chatkv.h"
#include "chat/chatmsg.h"
#include "chat/chatsrv.h"
#include "chat/ws.h"
#include "core/ratelim.h"
#include "core/event.h"
#include "core/http.h"
#include "core/key.h"
#include "state/token.h"

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
#define CHAN_IDLE_MS 60000      /* an empty channel is forgotten after this */
#define CHAN_BUCKETS 256
#define BUS_QUEUE_MAX 100000    /* bus messages waiting for the loop; beyond: dropped */
#define STREAM "LSP_CHAT"
#define RECHECK_DEFAULT_S 30        /* re-check period without a bus */
#define RECHECK_BUS_S 300           /* with one: the events do the work, this is the net */
#define RECHECK_BATCH 200           /* sockets re-checked per tick (4 ticks a second) at most */
#define JOIN_FRESH_MS 2000          /* a join re-reads the channel row when older than this */
#define RECENT_MAX 4096             /* grants above viewer and drops, remembered … */
#define RECENT_MS 600000            /* … as long as a chat token lives (lsp-api's TTL) */

/* Report an event to the tool (see core/event.h): name, then key,
 * LSV_x(value) pairs ended by NULL. */
#define chatsrv_ev(s, level, ...) lsp_event_emit((s)->cfg.event, (s)->cfg.event_ctx, (level), __VA_ARGS__)

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
	int granted;                  /* the role the store granted at the last check (chatauth.c) */
	int had_account;              /* the user's row was there at auth */
	long long checked;            /* when the rights were last checked (ms) */
} conn;

struct ban { char user[LSP_NAME_MAX + 1]; long long until; };
struct node_count { char node[64]; long chat, edge; long long ts; };

typedef struct chan {
	char name[LSP_NAME_MAX + 1];
	struct chan *next;
	conn **members;
	size_t n, cap;
	char **hist;                  /* ring of JSON texts, cfg.history slots */
	int hist_head, hist_n;
	lsp_bus_sub *sub, *psub;
	struct ban *bans;
	size_t nbans;
	char (*words)[LSP_NAME_MAX + 1];
	size_t nwords;
	long long slow;               /* slow-mode seconds, 0 off */
	struct node_count nodes[MAX_NODES];
	long viewers_sent, chat_total;
	long long chat_ts;            /* when chat_total was summed in Redis */
	long long idle_since;
	int full;                     /* chat state loaded; 0: watched for presence only */
	/* the channel's row as the store last said (chatauth.c) */
	int st_known, st_suspended;   /* a row was seen; it is suspended */
	char owner[LSP_NAME_MAX + 1];
	long long st_ts;              /* when it was read (ms), 0 never */
} chan;

struct qmsg { struct qmsg *next; char *subject; char *data; size_t len; };

struct lsp_chatsrv {
	lsp_chatsrv_cfg cfg;
	char node[64];
	int lfd, efd, evfd;
	int reserve;            /* a descriptor kept for shedding at EMFILE (core/net) */
	lsp_ratelim emfile_rl;  /* "accept: out of descriptors" once a second at most */
	conn *conns;
	long nconns;
	chan *chans[CHAN_BUCKETS];
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
	/* revocation (chatauth.c) */
	lsp_bus_sub *rsub;            /* lsp.auth.revoke */
	long long recheck_ms;         /* 0: no periodic re-check */
	lsp_ratelim recheck_rl;       /* "re-check failed" once a second at most */
	struct recent {                 /* what the store granted a user on a channel ("": all) */
		char user[LSP_NAME_MAX + 1], channel[LSP_NAME_MAX + 1];
		int grant;
		long long seen, dropped;  /* ms; dropped 0: no drop seen */
	} recent[RECENT_MAX];
	int recent_next;
};

/* ---- chatroom.c: channel rooms ---------------------------------------- */

/* The channel called name, or NULL. */
chan *chatsrv_chan_find(lsp_chatsrv *s, const char *name);
/* The channel for a WebSocket joining it, its chat state loaded (store,
 * chat subject, JetStream history); NULL when out of memory. */
chan *chatsrv_chan_get(lsp_chatsrv *s, const char *name);
/* The channel for a presence question: known, or watched from now on when
 * there is a bus (and room); NULL otherwise.  Keeps an empty one alive. */
chan *chatsrv_chan_watch(lsp_chatsrv *s, const char *name, long long now);
/* Unsubscribe and free ch (already unlinked from s->chans). */
void chatsrv_chan_free(lsp_chatsrv *s, chan *ch);
/* This node's view of ch: its sockets plus, without Redis, the other
 * nodes' fresh reports (*chat), and the edges' reports (*edge). */
void chatsrv_chan_counts(lsp_chatsrv *s, chan *ch, long long now, long *chat, long *edge);
/* Add c to / remove c from ch's members; join fails (-1) out of memory. */
int chatsrv_chan_join(chan *ch, conn *c);
void chatsrv_chan_leave(chan *ch, conn *c);
/* Send a text frame to every open member of ch. */
void chatsrv_broadcast(lsp_chatsrv *s, chan *ch, const char *json, size_t len);
/* Apply one chat event of lsp.chat.<ch> (say, tip, mod): remember it in
 * the history ring, update bans / words / slow mode, deliver it to the
 * members unless it comes from_history (JetStream replay on load). */
void chatsrv_room_apply(lsp_chatsrv *s, chan *ch, const char *json, size_t len, int from_history);
/* NULL when user may post in ch now, else the error code: "banned"
 * (permanent) or "timed_out". */
const char *chatsrv_room_banned(const chan *ch, const char *user, long long now);
/* NULL when a message text from someone with role may go out now (their
 * previous one at last_say, 0 never), else "slow_mode" or "filtered".
 * Moderators and owners pass both. */
const char *chatsrv_room_refuse(const chan *ch, int role, const char *text, long long last_say, long long now);
/* {"type":"history","messages":[…]} of ch, oldest first, malloc'd (*len
 * its length, NUL-terminated); NULL when out of memory. */
char *chatsrv_room_history(lsp_chatsrv *s, const chan *ch, size_t *len);

/* ---- chatfan.c: bus fan-out and presence ------------------------------ */

/* The bus callback (any thread): queue the message and wake the loop. */
void chatsrv_on_bus(void *ctx, const char *subject, const char *data, size_t len);
/* On the loop: apply every queued message. */
void chatsrv_drain_bus(lsp_chatsrv *s);
/* Publish a chat event of ch over NATS, or apply it here when alone.
 * 0, or -1 when the bus refused it (reported). */
int chatsrv_publish(lsp_chatsrv *s, chan *ch, const char *json, size_t len);
/* Once a second per channel: report our sockets, update the members'
 * viewer count when it changed. */
void chatsrv_presence_tick(lsp_chatsrv *s, chan *ch, long long now);
/* Viewer counts (chat + edge) of n <= LSP_CHATPRES_MAX channels into out. */
void chatsrv_presence_counts(lsp_chatsrv *s, const char *const *names, int n, long long now, long *out);

/* ---- chatcmd.c: client messages --------------------------------------- */

/* One text message from an open connection of a channel. */
void chatsrv_on_message(lsp_chatsrv *s, conn *c, const char *data, size_t len);
/* o compacted into s->scratch (o is released); its length, 0 if too big. */
size_t chatsrv_dump(lsp_chatsrv *s, json_t *o);

/* ---- chatauth.c: revocation -------------------------------------------- */

/* Subscribe to lsp.auth.revoke (with a bus) and set the re-check period. */
int chatsrv_auth_open(lsp_chatsrv *s, char *err, size_t errcap);
void chatsrv_auth_close(lsp_chatsrv *s);
/* A verified token t presented on c: NULL when it may open chat (t->role
 * perhaps lowered to what the store grants now, for a user whose role
 * dropped lately), else the error code ("account_gone",
 * "channel_suspended").  Records what the store granted on c. */
const char *chatsrv_auth_admit(lsp_chatsrv *s, conn *c, lsp_token *t, long long now);
/* c just opened on its channel: 0, or -1 when the channel is suspended
 * (c is being closed with LSP_CHAT_CLOSE_SUSPENDED). */
int chatsrv_auth_join(lsp_chatsrv *s, conn *c, long long now);
/* A message on lsp.auth.revoke (from the loop's queue). */
void chatsrv_auth_on_revoke(lsp_chatsrv *s, const char *data, size_t len, long long now);
/* Periodic re-check of the channels and sockets that are due. */
void chatsrv_auth_tick(lsp_chatsrv *s, long long now);

/* ---- chatconn.c: connections ------------------------------------------ */

/* Write what the socket takes; 0, or -1 when the connection is dead. */
int chatsrv_flush_out(lsp_chatsrv *s, conn *c);
/* Queue one frame (only while OPEN); a reader that cannot keep up is closed. */
void chatsrv_send_frame(lsp_chatsrv *s, conn *c, int opcode, const void *p, size_t len);
void chatsrv_send_text(lsp_chatsrv *s, conn *c, const char *json, size_t len);
/* {"type":"error","code":…,"message":…[,"ref":…]} */
void chatsrv_send_error(lsp_chatsrv *s, conn *c, const char *code, const char *msg, const char *ref);
/* Close handshake: a close frame, then CLOSING with a short linger. */
void chatsrv_send_close(lsp_chatsrv *s, conn *c, int code, const char *reason);
/* Accept what is waiting on the listener (at most 256 a call). */
void chatsrv_on_accept(lsp_chatsrv *s);
/* The connection's socket is readable: read, parse heads or frames. */
void chatsrv_on_readable(lsp_chatsrv *s, conn *c);
/* Leave the channel, close the socket, unlink and free c. */
void chatsrv_conn_close(lsp_chatsrv *s, conn *c);

#endif
