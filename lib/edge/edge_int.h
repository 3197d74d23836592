/* edge_int.h — what the pieces of lsp-edge share; internal to lib/edge (and
 * its unit tests), never included by a tool.
 *
 *   edge.c        setup, accept, timers and the epoll loop (lsp_edge_*)
 *   edge_file.c   files below a root (openat2), shared bodies, MIME types
 *   edge_conn.c   one connection: TLS handshake, reading heads, writing
 *                 responses (head + body / file, plain or TLS)
 *   edge_hold.c   the hold table: inotify watches on rung directories and
 *                 the requests waiting on them (blocking playlist reload,
 *                 parts not written yet), answered through one callback
 *   edge_serve.c  request routing: /hls/, /vod/, /api/, /metrics, pages
 *   edge_play.c   playback tokens for private and age-gated channels
 *   edge_relay.c  relay mode: the cache of origin answers, one upstream
 *                 request per target however many viewers wait on it
 *   proxyhead.c   the front door's routes and header rewriting (no I/O)
 *   edge_h2.c     HTTP/2 (ALPN h2, h2c prior knowledge): an nghttp2 session
 *                 per connection, each stream served as a connection
 *   h2head.c      HTTP/2 header lists to and from HTTP/1.1 heads (no I/O)
 *   edge_proxy.c  the front door: /api/v1/, /ws/, /presence, /whep/, /whip/
 *                 forwarded to lsp-api, lsp-chat, lsp-rtc (byte splice,
 *                 WebSocket tunnel after 101, 502/504 JSON when down)
 *
 * Ownership is as edge.c's header says; a waiter (edge_waiter) is owned by
 * whoever embeds it (a connection, or a test) and sits on at most one list. */
#ifndef LSP_EDGE_INT_H
#define LSP_EDGE_INT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "core/ratelim.h"
#include "core/http.h"
#include "core/metrics.h"
#include "edge/edge.h"
#include "edge/playpath.h"
#include "edge/proxyhead.h"

#define HEAD_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 30000
#define WRITE_TIMEOUT_MS 30000
#define HS_TIMEOUT_MS 10000
#define PLAYLIST_MAX (1 << 20)
#define WATCH_MAX 4096
#define RESP_HEAD_MAX 1024
#define TLS_CHUNK 16384
#define API_MAX (256 * 1024)

#define RELAY_BUCKETS 1024
#define RELAY_ENTRIES_MAX 4096
#define RELAY_BODY_MAX (64u << 20)
#define RELAY_TIMEOUT_MS 30000
#define RELAY_WAIT_MS 35000

#define EDGE_SEGMENT_CACHE "public, max-age=3600"
#define EDGE_PLAYLIST_TYPE "application/vnd.apple.mpegurl"

enum { K_LISTEN = 1, K_INOTIFY, K_CONN, K_UP, K_PROXY }; /* epoll tags: first int of each owner */
enum edge_cstate { C_HANDSHAKE, C_READ, C_HOLD, C_WRITE, C_PROXY, C_H2 };

/* Front door upstreams (edge_proxy.c), indexes of cfg.upstream[]. */
enum { EDGE_UP_API = LSP_PROXY_API, EDGE_UP_CHAT = LSP_PROXY_CHAT, EDGE_UP_RTC = LSP_PROXY_RTC, EDGE_UP_N = LSP_PROXY_N };
#define PROXY_IDLE_MS 60000      /* no byte either way while a response flows */
#define PROXY_TUNNEL_MS 600000   /* no byte either way on a WebSocket tunnel */
#define PROXY_UBUF 8192          /* client -> upstream */
#define PROXY_DBUF 16384         /* upstream -> client (holds a rewritten head) */
#define PROXY_EXTRA_MAX 512      /* headers the edge adds to a forwarded request */
#define PROXY_H2_RESP_MAX 1048576 /* an answer collected for an HTTP/2 stream */
#define PROXY_H2_STREAMS 16      /* forwarded streams at once on one HTTP/2 connection */

struct edge_proxy;
typedef struct edge_h2 edge_h2; /* edge_h2.c */
enum edge_hold_kind { H_NONE, H_PLAYLIST, H_PART, H_RELAY };

/* A body shared by every response that sends the same bytes. */
typedef struct edge_body {
	int refs;
	size_t len;
	char data[];
} edge_body;

struct edge_watch;
struct edge_entry;
typedef struct edge_pres edge_pres; /* edge_pres.c */

/* A request waiting for something: on a watch's list (H_PLAYLIST, H_PART)
 * or on a relay entry's (H_RELAY).  Zeroed means "not waiting". */
typedef struct edge_waiter {
	enum edge_hold_kind kind;
	struct edge_watch *w;   /* H_PLAYLIST / H_PART: the directory waited on */
	struct edge_waiter *prev, *next;
	char *rel;              /* path below the hls root (owned), NULL for H_RELAY */
	const char *name;       /* its last component, inside rel */
	long long msn, part;    /* H_PLAYLIST: what was asked for (msn < 0: no block) */
	int skip;               /* H_PLAYLIST: _HLS_skip asked for (edge_hold_skip) */
	int fresh;              /* H_PLAYLIST: a plain load of a stale playlist held for
				 * its rung to resume (edge_hold_fresh): no-cache, and
				 * at the deadline what there is rather than 503 */
	int64_t deadline;       /* ms, CLOCK_MONOTONIC: answered 503 / 404 then */
} edge_waiter;

typedef struct edge_watch {
	int wd;
	char rel[1024];         /* directory below the hls root */
	edge_waiter *held;      /* list of waiters */
} edge_watch;

/* How a waiter is answered: a file (status 200, file set), a playlist
 * (status 200, b set: one reference for the receiver), or an error status
 * alone (400 too far ahead, 404 missing or timed-out part, 503 playlist
 * hold timed out or no memory). */
typedef struct {
	int status;
	edge_body *b;
	char cache[64];         /* Cache-Control for b */
	const char *file;       /* below the root; valid during the call only */
} edge_answer;

/* Called for a held waiter that is answered; it is off every list already. */
typedef void (*edge_answer_fn)(void *ctx, edge_waiter *wt, const edge_answer *a);

typedef struct edge_holds {
	int ifd;                /* inotify, owned */
	int dfd;                /* the hls root, borrowed */
	const char *root;       /* its path (for inotify), borrowed */
	int part_hold_ms;
	edge_watch *watches;    /* WATCH_MAX, owned */
	int nwatches;
	long long held, total, timeouts;
	edge_answer_fn answer;
	void *ctx;
} edge_holds;

typedef struct edge_conn {
	int kind;               /* K_CONN; first field, like every epoll owner */
	int fd, slot;
	enum edge_cstate st;
	SSL *ssl;
	char *rbuf;             /* LSP_HTTP_HEAD_MAX bytes, or NULL when idle */
	size_t rlen;
	int64_t deadline;       /* ms, CLOCK_MONOTONIC */
	uint32_t events;        /* current epoll interest */
	int keep_alive, head_only;
	/* response */
	char *whead;
	size_t wlen, woff;
	edge_body *b;
	size_t boff, bend;
	int ffd;
	off_t foff, fend;
	char *tbuf;             /* TLS: file bytes read but not yet written */
	size_t tlen, toff;
	/* hold */
	edge_waiter wt;
	struct edge_entry *ent; /* H_RELAY: the cache entry waited on */
	struct edge_conn *anext; /* on the "again" or "dead" list */
	int queued;
	int sniffed;            /* TLS listener: the first byte was a handshake */
	int plain_on_tls;       /* TLS listener, but the client spoke plain HTTP */
	/* C_PROXY: the forwarded request; ptag (K_PROXY) is the upstream
	 * socket's epoll tag, so an event for it finds the connection */
	int ptag;
	struct edge_proxy *px;
	/* HTTP/2 (edge_h2.c): a connection in C_H2 owns its session h2; a
	 * stream is an edge_conn too, with up naming its connection (its fd is
	 * the connection's, borrowed: never closed, never in epoll) */
	edge_h2 *h2;
	struct edge_conn *up;
} edge_conn;

#define EDGE_CONN_OF_PTAG(p) ((edge_conn *)(void *)((char *)(p) - offsetof(edge_conn, ptag)))

#define EDGE_CONN_OF(wtp) ((edge_conn *)(void *)((char *)(wtp) - offsetof(edge_conn, wt)))

/* Relay mode: one cache entry per request target; while its upstream
 * request runs, every viewer asking for the same target waits on it. */
typedef struct edge_entry {
	struct edge_entry *next; /* hash chain */
	char *key;              /* request target, owned */
	char org[128];          /* route mode: the origin it came from ("" fixed) */
	int status, pending;
	char ctype[96], cache[96];
	edge_body *b;
	int64_t expires;        /* ms, CLOCK_MONOTONIC */
	edge_waiter *waiters;
	struct edge_upstream *up;
} edge_entry;

typedef struct edge_upstream {
	int kind;               /* K_UP */
	int fd, st;             /* st: 0 connecting/writing, 1 reading */
	edge_entry *ent;
	char req[LSP_HTTP_TARGET_MAX + 256];
	size_t rlen, roff;
	char *buf;
	size_t len, cap;
	int64_t deadline;
	struct edge_upstream *prev, *next;
} edge_upstream;

struct lsp_edge {
	int kind_listen, kind_inotify; /* epoll tags (K_LISTEN, K_INOTIFY) */
	lsp_edge_cfg cfg;
	int lfd, efd, hls_fd, web_fd, vod_fd, port;
	int reserve;            /* a descriptor kept for shedding at EMFILE (core/net) */
	lsp_ratelim emfile_rl;  /* "accept: out of descriptors" once a second at most */
	SSL_CTX *tls;
	edge_conn **slots;
	int *free_slots, nfree;
	edge_holds holds;
	edge_conn *again;       /* connections to read from after this batch */
	edge_conn *dead;        /* closed in this batch, freed after it */
	int64_t now;
	time_t date_sec;
	char date[40];
	/* metrics */
	long long open, accepted, rejected, bytes_sent;
	long long by_code[4];   /* 2xx 3xx 4xx 5xx */
	lsp_metrics *mx;        /* /metrics (core/metrics.c), owned */
	/* relay */
	int relay;
	struct sockaddr_storage origin;
	socklen_t origin_len;
	char origin_host[300];
	edge_entry *buckets[RELAY_BUCKETS];
	int nentries;
	edge_upstream *ups;
	long long relay_held, relay_timeouts;
	long long relay_hits, relay_coalesced, relay_upstream, relay_errors;
	/* front door (edge_proxy.c) */
	struct sockaddr_storage up_addr[EDGE_UP_N];
	socklen_t up_len[EDGE_UP_N];  /* 0: that upstream is off (404) */
	long long px_requests[EDGE_UP_N], px_errors[EDGE_UP_N], px_open, px_tunnels;
	edge_pres *pres;        /* HLS viewers for presence (edge_pres.c), NULL until used */
	struct edge_demand *demand; /* rungs asked for (edge_demand.c), NULL until used */
	long long play_refused; /* /hls/ requests refused for a missing or bad playback token */
	long long by_proto[2];  /* requests handled over HTTP/1.x, HTTP/2 */
	long long h2_open;      /* connections speaking HTTP/2 */
};

/* ---- edge_demand.c ---- */
/* A request for rel = "CH/RUNG/…" from local files: touch the rung's want file. */
void edge_demand_hit(lsp_edge *e, const char *rel);
void edge_demand_free(lsp_edge *e);

/* ---- edge_pres.c ---- */
/* A request for /hls/<rel>: count its client as a viewer of the channel. */
void edge_pres_hit(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *rel);
/* Once a second (from the sweep): forget clients gone quiet, a "viewers"
 * event per counted channel. */
void edge_pres_tick(lsp_edge *e);
long edge_pres_count(const lsp_edge *e, const char *channel); /* viewers now */
void edge_pres_free(lsp_edge *e);

/* ---- edge_play.c (the path form: edge/playpath.h) ---- */
/* May rq (for channel ch, with the path's token tok or NULL) be served?
 * 1 yes; 0 answered 403 (JSON) and counted. */
int edge_play_gate(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *ch, const char *tok,
		   size_t toklen);

/* ---- edge_file.c ---- */
void edge_body_put(edge_body *b);
/* A new body holding a copy of s[0..n); NULL when out of memory. */
edge_body *edge_body_from(const char *s, size_t n);
/* Open rel below root fd, never leaving it; -1 with errno. */
int edge_open_beneath(int dfd, const char *rel, int flags);
/* Whole small file (PLAYLIST_MAX at most) into a new body; NULL with errno. */
edge_body *edge_read_body(int dfd, const char *rel);
const char *edge_mime_of(const char *path);
/* Bounded copy; -1 (dst untouched) when src does not fit. */
int edge_copy_str(char *dst, size_t cap, const char *src);
int edge_ends_with(const char *s, const char *suf);

/* ---- edge_hold.c ---- */
/* Set up the table over root (path) / dfd (borrowed): inotify and the
 * watch array.  0, or -errno with err filled. */
int edge_holds_init(edge_holds *h, const char *root, int dfd, int part_hold_ms, edge_answer_fn answer,
		    void *ctx, char *err, size_t errcap);
/* Drop every waiter (unanswered) and free the table.  Safe twice. */
void edge_holds_fini(edge_holds *h);
/* A blocking playlist request (_HLS_msn=msn, _HLS_part=part or -1) for rel
 * ("<dir>/<name>.m3u8").  1: answer now with *a; 0: wt is held (deadline
 * 3 target durations, 6 s when unknown) and answered later through h->answer. */
int edge_hold_playlist(edge_holds *h, edge_waiter *wt, const char *rel, long long msn, long long part, int64_t now,
		       edge_answer *a);
/* A part rel that did not exist a moment ago.  1: answer now with *a (the
 * file, or 404 when the directory cannot be watched); 0: wt is held for
 * part_hold_ms. */
int edge_hold_part(edge_holds *h, edge_waiter *wt, const char *rel, int64_t now, edge_answer *a);

/* A plain load of media playlist rel that nobody has rewritten for a
 * while (a rung lsp-transcode stopped encoding: nobody watched it; the
 * request itself asks it back, edge_demand.c): held until the playlist
 * moves on (its next part or segment), at most EDGE_FRESH_WAIT_MS, so a
 * player starts from the resumed live edge, not from media minutes old.
 * An ended playlist is answered at once.  1 answered (*a), 0 held. */
#define EDGE_STALE_MS 3000      /* a live playlist is rewritten every part */
#define EDGE_FRESH_WAIT_MS 5000
int edge_hold_fresh(edge_holds *h, edge_waiter *wt, const char *rel, int64_t now, edge_answer *a);
/* Take wt off its watch without answering it; nothing when not held. */
void edge_hold_drop(edge_holds *h, edge_waiter *wt);
/* 1 when the query asks for a delta update (_HLS_skip=YES or v2), else 0. */
int edge_hold_skip(const char *query, size_t len);
/* Read the inotify events waiting and answer the waiters they resolve. */
void edge_holds_poll(edge_holds *h);
/* Answer every waiter whose deadline is <= now: playlist 503, part 404. */
void edge_holds_expire(edge_holds *h, int64_t now);

/* ---- edge_conn.c ---- */
void edge_set_events(lsp_edge *e, edge_conn *c, uint32_t ev);
/* Start a response: status, headers, then either body b (a reference is
 * taken over) or file ffd [foff, fend) (ownership taken over), or nothing.
 * total >= 0 with 206 adds Content-Range. */
void edge_respond(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *extra,
		  edge_body *b, int ffd, off_t foff, off_t fend, off_t total);
void edge_respond_text(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *txt);
void edge_respond_error(lsp_edge *e, edge_conn *c, int status);
/* Take c off whatever it waits on (hold table or relay entry). */
void edge_unhold(lsp_edge *e, edge_conn *c);
void edge_conn_close(lsp_edge *e, edge_conn *c);
void edge_conn_write(lsp_edge *e, edge_conn *c);
void edge_conn_read(lsp_edge *e, edge_conn *c);
void edge_on_handshake(lsp_edge *e, edge_conn *c);
/* A response (or a forwarded exchange) is over: free what it held, then
 * reset c for its next request (keep-alive) or close it. */
void edge_conn_next(lsp_edge *e, edge_conn *c);
/* One read / write step on the client (plain or TLS): >0 bytes, 0 would
 * block, -1 closed or failed. */
ssize_t edge_conn_in(edge_conn *c, char *p, size_t n);
ssize_t edge_conn_out(edge_conn *c, const void *p, size_t n, int more);
/* Count a response status in the requests_total metric. */
void edge_count_status(lsp_edge *e, int status);
/* The Date header's value, rewritten once a second. */
const char *edge_http_date(lsp_edge *e);

/* ---- edge_h2.c ---- */
/* The client preface at the start of p[0..n): 1 whole, -1 a beginning of
 * it (read more), 0 not it. */
int edge_h2_preface(const char *p, size_t n);
/* c speaks HTTP/2 from now on (ALPN h2, or the preface seen); pre[0..n)
 * are bytes already read (the preface included).  0, or -1 when c was
 * closed (out of memory, bad frames). */
int edge_h2_start(lsp_edge *e, edge_conn *c, const char *pre, size_t n);
/* Events on a C_H2 connection (and the again list: ev 0): write, read,
 * answer streams.  c may be closed on return. */
void edge_h2_io(lsp_edge *e, edge_conn *c, uint32_t ev);
/* edge_respond for a stream (c->up set): HEADERS, then DATA from b or the
 * file range as flow control allows; ownership of b / ffd taken over. */
void edge_h2_respond(lsp_edge *e, edge_conn *c, int status, const char *ctype, const char *cache, const char *extra,
		     edge_body *b, int ffd, off_t foff, off_t fend, off_t total);
/* A forwarded route asked over HTTP/2: RST_STREAM HTTP_1_1_REQUIRED. */
void edge_h2_refuse(lsp_edge *e, edge_conn *c);
/* Reset stream c (RST_STREAM INTERNAL_ERROR), its forwarding ended. */
void edge_h2_reset(lsp_edge *e, edge_conn *c);
/* How many streams of c's connection are forwarded now. */
int edge_h2_proxying(const edge_conn *c);
/* The length of stream c's request body, or -1 when it went past the
 * limit (answer 413). */
long long edge_h2_body_len(edge_conn *c);
/* Stream c is forwarded: its request body becomes c->rbuf/c->rlen (read
 * as bytes behind a head; the head's buffer is freed), and the stream is
 * freed after the loop's batch. */
void edge_h2_take_body(lsp_edge *e, edge_conn *c);
/* Answer stream c with an upstream's status, headers (r: end-to-end ones,
 * names lower-cased) and body b (one reference, taken; NULL for none). */
void edge_h2_respond_fwd(lsp_edge *e, edge_conn *c, int status, const lsp_http_req *r, edge_body *b);
/* c's deadline passed: kept while a stream is held, else closed. */
void edge_h2_expire(lsp_edge *e, edge_conn *c);
/* Free the session and every stream (edge_conn_close).  Safe when none. */
void edge_h2_free(lsp_edge *e, edge_conn *c);

/* ---- edge_serve.c ---- */
/* Answer one parsed request head (its bytes stay in c->rbuf meanwhile). */
void edge_handle(lsp_edge *e, edge_conn *c, const lsp_http_req *rq);
void edge_serve_file(lsp_edge *e, edge_conn *c, int dfd, const char *rel, const char *cache, const lsp_http_req *rq);
/* The hold table's answer callback (ctx is the lsp_edge). */
void edge_on_answer(void *ctx, edge_waiter *wt, const edge_answer *a);
/* Create e->mx and declare the /metrics families.  0 or -errno. */
int edge_metrics_init(lsp_edge *e);

/* ---- edge_relay.c ---- */
/* Answer rq from the cache or from origin org ("" = cfg.origin). */
void edge_relay(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *org);
void edge_relay_unwait(lsp_edge *e, edge_conn *c);
void edge_on_upstream(lsp_edge *e, edge_upstream *u, uint32_t ev);
/* Fail upstream requests past their deadline (504). */
void edge_relay_expire(lsp_edge *e);
/* Fail every upstream request (502) and free the cache. */
void edge_relay_close(lsp_edge *e);

/* ---- edge_proxy.c ---- */
/* Resolve cfg.upstream[] (NULL, "" or "off": none).  0 or -EINVAL with err. */
int edge_proxy_init(lsp_edge *e, char *err, size_t errcap);
/* Forward request rq (head still in c->rbuf, body bytes after it) to
 * upstream which; c becomes C_PROXY, or is answered 502/411 at once. */
void edge_proxy_start(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, int which);
/* Events on the client (C_PROXY) or the upstream socket (K_PROXY tag). */
void edge_proxy_on_client(lsp_edge *e, edge_conn *c);
void edge_proxy_on_upstream(lsp_edge *e, edge_conn *c, uint32_t ev);
/* c's deadline passed: 504 before the response head, else close. */
void edge_proxy_expire(lsp_edge *e, edge_conn *c);
/* Free c's forwarded exchange (upstream socket, buffers).  Safe when none. */
void edge_proxy_free(lsp_edge *e, edge_conn *c);

#endif
