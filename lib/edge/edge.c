/* edge.c — lsp-edge's single-threaded epoll HTTP/1.1 server; see edge.h.
 *
 * Objects and owners: the lsp_edge owns the listening socket, the epoll
 * and inotify descriptors, the TLS context, the table of connections
 * (slots[]) and the table of directory watches.  A connection owns its
 * socket, its SSL, its read buffer (allocated on first byte, freed when it
 * goes idle), its response head, a reference on a shared body or an open
 * file.  A held connection sits on its watch's list and nowhere else.
 *
 * Hold logic: a blocking playlist request (_HLS_msn[,_HLS_part]) or a GET
 * for a part that does not exist yet adds an inotify watch on the rung
 * directory *before* checking the file, so no rename can slip between the
 * check and the watch.  When the directory reports IN_MOVED_TO or
 * IN_CLOSE_WRITE for a name, the playlist is read once and every request
 * held on it is checked against that one copy. */
#include "edge/edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "state/chandir.h"
#include "core/http.h"
#include "core/key.h"
#include "core/opt.h"
#include "edge/plstate.h"
#include "state/vod.h"
#include "core/clock.h"
#include "core/httpurl.h"

#define HEAD_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 30000
#define WRITE_TIMEOUT_MS 30000
#define HS_TIMEOUT_MS 10000
#define PLAYLIST_MAX (1 << 20)
#define WATCH_MAX 4096
#define RESP_HEAD_MAX 1024
#define TLS_CHUNK 16384
#define API_MAX (256 * 1024)

enum { K_LISTEN = 1, K_INOTIFY, K_CONN, K_UP };
enum cstate { C_HANDSHAKE, C_READ, C_HOLD, C_WRITE };
enum hold { H_NONE, H_PLAYLIST, H_PART, H_RELAY };

/* A body shared by every response that sends the same bytes. */
typedef struct body {
	int refs;
	size_t len;
	char data[];
} body;

struct watch;

typedef struct conn {
	int kind;               /* K_CONN; first field, like every epoll owner */
	int fd, slot;
	enum cstate st;
	SSL *ssl;
	char *rbuf;             /* LSP_HTTP_HEAD_MAX bytes, or NULL when idle */
	size_t rlen;
	int64_t deadline;       /* ms, CLOCK_MONOTONIC */
	uint32_t events;        /* current epoll interest */
	int keep_alive, head_only;
	/* response */
	char *whead;
	size_t wlen, woff;
	body *b;
	size_t boff, bend;
	int ffd;
	off_t foff, fend;
	char *tbuf;             /* TLS: file bytes read but not yet written */
	size_t tlen, toff;
	/* hold */
	enum hold hold;
	struct watch *w;
	struct entry *ent;      /* H_RELAY: the cache entry waited on */
	struct conn *hprev, *hnext;
	char *hrel;             /* while held: path below the hls root (owned) */
	const char *hname;      /* while held: its last component, inside hrel */
	long long msn, part;
	struct conn *anext;     /* on the "again" or "dead" list */
	int queued;
} conn;

typedef struct watch {
	int wd;
	char rel[1024];         /* directory below the hls root */
	conn *held;             /* list of held connections */
} watch;

/* Relay mode: one cache entry per request target; while its upstream
 * request runs, every viewer asking for the same target waits on it. */
typedef struct entry {
	struct entry *next;     /* hash chain */
	char *key;              /* request target, owned */
	char org[128];          /* route mode: the origin it came from ("" fixed) */
	int status, pending;
	char ctype[96], cache[96];
	body *b;
	int64_t expires;        /* ms, CLOCK_MONOTONIC */
	conn *waiters;
	struct upstream *up;
} entry;

typedef struct upstream {
	int kind;               /* K_UP */
	int fd, st;             /* st: 0 connecting/writing, 1 reading */
	entry *ent;
	char req[LSP_HTTP_TARGET_MAX + 256];
	size_t rlen, roff;
	char *buf;
	size_t len, cap;
	int64_t deadline;
	struct upstream *prev, *next;
} upstream;

#define RELAY_BUCKETS 1024
#define RELAY_ENTRIES_MAX 4096
#define RELAY_BODY_MAX (64u << 20)
#define RELAY_TIMEOUT_MS 30000
#define RELAY_WAIT_MS 35000

struct lsp_edge {
	int kind_listen, kind_inotify; /* epoll tags (K_LISTEN, K_INOTIFY) */
	lsp_edge_cfg cfg;
	int lfd, efd, ifd, hls_fd, web_fd, vod_fd, port;
	SSL_CTX *tls;
	conn **slots;
	int *free_slots, nfree;
	watch *watches;
	int nwatches;
	conn *again;            /* connections to read from after this batch */
	conn *dead;             /* closed in this batch, freed after it */
	int64_t now;
	time_t date_sec;
	char date[40];
	/* metrics */
	long long open, accepted, rejected, held, bytes_sent;
	long long by_code[6];   /* 2xx 3xx 4xx 5xx, [4] 404, [5] 503 */
	long long holds_total, holds_timeout;
	/* relay */
	int relay;
	struct sockaddr_storage origin;
	socklen_t origin_len;
	char origin_host[300];
	entry *buckets[RELAY_BUCKETS];
	int nentries;
	upstream *ups;
	long long relay_hits, relay_coalesced, relay_upstream, relay_errors;
};

static void elog(lsp_edge *e, int level, const char *msg, const char *fmt, ...)
{
	char d[512];
	va_list ap;
	if (!e->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(d, sizeof d, fmt, ap);
	va_end(ap);
	e->cfg.log(e->cfg.log_ctx, level, msg, d);
}

static void body_put(body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* Open rel below root fd, never leaving it (openat2 RESOLVE_BENEATH). */
static int open_beneath(int dfd, const char *rel, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS) {
		if (strstr(rel, "..") || rel[0] == '/')
			return errno = EACCES, -1;
		fd = openat(dfd, rel, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	}
	return (int)fd;
}

/* Whole small file into a new body; NULL with errno set. */
static body *read_body(int dfd, const char *rel)
{
	int fd = open_beneath(dfd, rel, O_RDONLY);
	struct stat st;
	body *b = NULL;
	size_t got = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PLAYLIST_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : ENOENT;
		goto fail;
	}
	if (!(b = malloc(sizeof *b + (size_t)st.st_size + 1)))
		goto fail;
	b->refs = 1;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b->data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	b->len = got;
	b->data[got] = 0;
	close(fd);
	return b;
fail:
	free(b);
	close(fd);
	return NULL;
}

static body *body_from(const char *s, size_t n)
{
	body *b = malloc(sizeof *b + n + 1);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = n;
	if (n)
		memcpy(b->data, s, n);
	b->data[n] = 0;
	return b;
}

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".m3u8", "application/vnd.apple.mpegurl" }, { ".m4s", "video/iso.segment" },
		{ ".mp4", "video/mp4" }, { ".ts", "video/mp2t" }, { ".aac", "audio/aac" },
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".jpg", "image/jpeg" }, { ".ico", "image/x-icon" }, { ".txt", "text/plain; charset=utf-8" },
		{ ".map", "application/json" }, { ".vtt", "text/vtt" }, { ".webp", "image/webp" },
		{ ".webmanifest", "application/manifest+json" },
	};
	size_t pl = strlen(path);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t el = strlen(t[i].ext);
		if (pl >= el && strcmp(path + pl - el, t[i].ext) == 0)
			return t[i].type;
	}
	return "application/octet-stream";
}

/* Bounded copy; -1 (dst untouched) when src does not fit. */
static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* ---- epoll interest ---------------------------------------------------- */

static void set_events(lsp_edge *e, conn *c, uint32_t ev)
{
	struct epoll_event ee = { .events = ev, .data.ptr = c };
	if (c->events == ev)
		return;
	if (epoll_ctl(e->efd, EPOLL_CTL_MOD, c->fd, &ee) == 0)
		c->events = ev;
}

/* ---- holds ------------------------------------------------------------- */

static void unhold(lsp_edge *e, conn *c)
{
	if (c->hold == H_NONE)
		return;
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else if (c->hold == H_RELAY && c->ent)
		c->ent->waiters = c->hnext;
	else if (c->w)
		c->w->held = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	c->hprev = c->hnext = NULL;
	c->w = NULL;
	c->ent = NULL;
	c->hold = H_NONE;
	free(c->hrel);
	c->hrel = NULL;
	c->hname = NULL;
	e->held--;
}

static watch *watch_find(lsp_edge *e, int wd)
{
	for (int i = 0; i < e->nwatches; i++)
		if (e->watches[i].wd == wd)
			return &e->watches[i];
	return NULL;
}

/* Watch directory rel (below the hls root); NULL when it cannot be watched. */
static watch *watch_dir(lsp_edge *e, const char *rel)
{
	char path[4200];
	watch *w;
	int wd;
	snprintf(path, sizeof path, "%s/%s", e->cfg.hls_root, rel);
	wd = inotify_add_watch(e->ifd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (wd < 0)
		return NULL;
	if ((w = watch_find(e, wd)))
		return w;
	if (e->nwatches >= WATCH_MAX) {
		inotify_rm_watch(e->ifd, wd);
		return NULL;
	}
	w = &e->watches[e->nwatches++];
	w->wd = wd;
	w->held = NULL;
	copy_str(w->rel, sizeof w->rel, rel); /* rel fits: serve_hls bounds it by dir[] */
	return w;
}

/* ---- responses --------------------------------------------------------- */

static void count_status(lsp_edge *e, int status)
{
	if (status >= 200 && status < 600)
		e->by_code[status / 100 - 2]++;
	if (status == 404)
		e->by_code[4]++;
	if (status == 503)
		e->by_code[5]++;
}

static const char *http_date(lsp_edge *e)
{
	time_t t = time(NULL);
	if (t != e->date_sec) {
		struct tm tm;
		/* the last good date stays if this one cannot be written */
		if (gmtime_r(&t, &tm) && strftime(e->date, sizeof e->date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
			e->date_sec = t;
	}
	return e->date;
}

static void conn_write(lsp_edge *e, conn *c);

/* Start a response: status, headers, then either body b (a reference is
 * taken over) or file ffd [foff, fend) (ownership taken over), or nothing. */
static void respond(lsp_edge *e, conn *c, int status, const char *ctype, const char *cache,
		    const char *extra, body *b, int ffd, off_t foff, off_t fend, off_t total)
{
	unsigned long long clen = b ? b->len : (ffd >= 0 ? (unsigned long long)(fend - foff) : 0);
	int n;
	unhold(e, c);
	if (!(c->whead = malloc(RESP_HEAD_MAX)))
		goto fail;
	n = snprintf(c->whead, RESP_HEAD_MAX,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: lsp-edge\r\n"
		     "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Content-Length, Content-Range, Age, Date\r\n"
		     "%s%s%s%s%s%s%s"
		     "Content-Length: %llu\r\nConnection: %s\r\n\r\n",
		     status, lsp_http_reason(status), http_date(e),
		     ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		     cache ? "Cache-Control: " : "", cache ? cache : "", cache ? "\r\n" : "",
		     extra ? extra : "", clen, c->keep_alive ? "keep-alive" : "close");
	if (n < 0 || n >= RESP_HEAD_MAX)
		goto fail;
	if (status == 206 && total >= 0) {
		/* Content-Range goes before the blank line: rebuild the tail */
		char cr[96];
		int m = snprintf(cr, sizeof cr, "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
				 (long long)foff, (long long)fend - 1, (long long)total);
		if (m < 0 || n - 2 + m >= RESP_HEAD_MAX)
			goto fail;
		memcpy(c->whead + n - 2, cr, (size_t)m + 1);
		n = n - 2 + m;
	}
	c->wlen = (size_t)n;
	c->woff = 0;
	if (c->head_only) {
		body_put(b);
		if (ffd >= 0)
			close(ffd);
		b = NULL;
		ffd = -1;
	}
	c->b = b;
	c->boff = 0;
	c->bend = b ? b->len : 0;
	c->ffd = ffd;
	c->foff = foff;
	c->fend = fend;
	c->st = C_WRITE;
	c->deadline = e->now + WRITE_TIMEOUT_MS;
	count_status(e, status);
	conn_write(e, c);
	return;
fail:
	body_put(b);
	if (ffd >= 0)
		close(ffd);
	free(c->whead);
	c->whead = NULL;
	c->keep_alive = 0;
	c->st = C_WRITE;
	c->wlen = c->woff = 0;
	c->b = NULL;
	c->ffd = -1;
	conn_write(e, c);
}

static void respond_text(lsp_edge *e, conn *c, int status, const char *ctype, const char *cache, const char *txt)
{
	body *b = body_from(txt, strlen(txt));
	if (!b)
		c->keep_alive = 0;
	respond(e, c, status, ctype, cache, NULL, b, -1, 0, 0, -1);
}

static void respond_error(lsp_edge *e, conn *c, int status)
{
	char t[64];
	snprintf(t, sizeof t, "%d %s\n", status, lsp_http_reason(status));
	if (status >= 400 && status != 404 && status != 503)
		c->keep_alive = c->keep_alive && status != 400 && status < 413;
	respond_text(e, c, status, "text/plain; charset=utf-8", "no-store", t);
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(lsp_edge *e, conn *c)
{
	unhold(e, c);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	epoll_ctl(e->efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->ffd >= 0)
		close(c->ffd);
	body_put(c->b);
	free(c->whead);
	free(c->rbuf);
	free(c->tbuf);
	c->ssl = NULL;
	c->b = NULL;
	c->whead = c->rbuf = c->tbuf = NULL;
	c->ffd = -1;
	e->slots[c->slot] = NULL;
	e->free_slots[e->nfree++] = c->slot;
	e->open--;
	c->kind = 0; /* an event later in this batch may still name it */
	if (!c->queued) {
		c->anext = e->dead;
		e->dead = c;
		c->queued = 2;
	} else {
		c->queued = 2; /* freed when the again list drops it */
	}
}

/* Write what can be written now.  Returns with the connection either
 * still writing (waiting for EPOLLOUT), reset for the next request, or closed. */
static void conn_read(lsp_edge *e, conn *c);

static void write_done(lsp_edge *e, conn *c)
{
	free(c->whead);
	c->whead = NULL;
	body_put(c->b);
	c->b = NULL;
	if (c->ffd >= 0)
		close(c->ffd);
	c->ffd = -1;
	free(c->tbuf);
	c->tbuf = NULL;
	if (!c->keep_alive) {
		conn_close(e, c);
		return;
	}
	c->st = C_READ;
	c->deadline = e->now + (c->rlen ? HEAD_TIMEOUT_MS : IDLE_TIMEOUT_MS);
	if (c->rlen == 0) {
		free(c->rbuf);
		c->rbuf = NULL;
	}
	set_events(e, c, EPOLLIN | EPOLLRDHUP);
	if (!c->queued) { /* pipelined bytes, or TLS records already decrypted */
		c->queued = 1;
		c->anext = e->again;
		e->again = c;
	}
}

/* One write step; >0 bytes, 0 would block, -1 fatal. */
static ssize_t out_bytes(conn *c, const void *p, size_t n, int more)
{
	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		r = SSL_get_error(c->ssl, r);
		return (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ) ? 0 : -1;
	}
	ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	if (w < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return w;
}

static void conn_write(lsp_edge *e, conn *c)
{
	for (;;) {
		ssize_t w;
		if (c->woff < c->wlen) {
			int more = (c->b && c->boff < c->bend) || (c->ffd >= 0 && c->foff < c->fend);
			if (!c->ssl && c->b && c->boff < c->bend) {
				struct iovec iov[2] = { { c->whead + c->woff, c->wlen - c->woff },
							{ c->b->data + c->boff, c->bend - c->boff } };
				w = writev(c->fd, iov, 2);
				if (w < 0)
					w = (errno == EAGAIN || errno == EINTR) ? 0 : -1;
				if (w > 0) {
					size_t h = c->wlen - c->woff;
					if ((size_t)w <= h) {
						c->woff += (size_t)w;
					} else {
						c->woff = c->wlen;
						c->boff += (size_t)w - h;
					}
				}
			} else {
				w = out_bytes(c, c->whead + c->woff, c->wlen - c->woff, more);
				if (w > 0)
					c->woff += (size_t)w;
			}
		} else if (c->b && c->boff < c->bend) {
			w = out_bytes(c, c->b->data + c->boff, c->bend - c->boff, 0);
			if (w > 0)
				c->boff += (size_t)w;
		} else if (c->ffd >= 0 && (c->foff < c->fend || c->toff < c->tlen)) {
			if (!c->ssl) {
				size_t want = (size_t)(c->fend - c->foff);
				w = sendfile(c->fd, c->ffd, &c->foff, want > (1 << 20) ? (1 << 20) : want);
				if (w < 0)
					w = (errno == EAGAIN || errno == EINTR) ? 0 : -1;
				else if (w == 0)
					w = -1; /* file shrank under us */
			} else {
				if (c->toff == c->tlen) {
					size_t want = (size_t)(c->fend - c->foff);
					ssize_t r;
					if (!c->tbuf && !(c->tbuf = malloc(TLS_CHUNK))) {
						conn_close(e, c);
						return;
					}
					r = pread(c->ffd, c->tbuf, want > TLS_CHUNK ? TLS_CHUNK : want, c->foff);
					if (r <= 0) {
						conn_close(e, c);
						return;
					}
					c->foff += r;
					c->tlen = (size_t)r;
					c->toff = 0;
				}
				w = out_bytes(c, c->tbuf + c->toff, c->tlen - c->toff, 0);
				if (w > 0)
					c->toff += (size_t)w;
			}
		} else {
			write_done(e, c);
			return;
		}
		if (w < 0) {
			conn_close(e, c);
			return;
		}
		if (w == 0) {
			c->deadline = e->now + WRITE_TIMEOUT_MS;
			set_events(e, c, EPOLLOUT | EPOLLRDHUP);
			return;
		}
		e->bytes_sent += w;
	}
}

/* ---- request handling -------------------------------------------------- */

static void serve_file(lsp_edge *e, conn *c, int dfd, const char *rel, const char *cache, const lsp_http_req *rq)
{
	struct stat st;
	int fd = open_beneath(dfd, rel, O_RDONLY);
	const char *rv;
	size_t rvl;
	uint64_t a, b;
	if (fd < 0) {
		respond_error(e, c, errno == ENOENT || errno == ENOTDIR || errno == EXDEV || errno == ELOOP ||
				       errno == EACCES ? 404 : 500);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		respond_error(e, c, 404);
		return;
	}
	if (rq && (rv = lsp_http_header_get(rq, "range", &rvl))) {
		int r = lsp_http_range(rv, rvl, (uint64_t)st.st_size, &a, &b);
		if (r == 0) {
			respond(e, c, 206, mime_of(rel), cache, "Accept-Ranges: bytes\r\n", NULL, fd, (off_t)a, (off_t)b + 1, st.st_size);
			return;
		}
		if (r == -1) {
			char cr[80];
			close(fd);
			snprintf(cr, sizeof cr, "Content-Range: bytes */%lld\r\n", (long long)st.st_size);
			respond(e, c, 416, NULL, "no-store", cr, NULL, -1, 0, 0, -1);
			return;
		}
	}
	respond(e, c, 200, mime_of(rel), cache, "Accept-Ranges: bytes\r\n", NULL, fd, 0, st.st_size, -1);
}

static const char *segment_cache = "public, max-age=3600";

/* Answer a held or fresh blocking playlist request from playlist body pb
 * (a reference is consumed).  Returns 1 when answered, 0 when still waiting. */
static int try_playlist(lsp_edge *e, conn *c, body *pb)
{
	lsp_plstate ps;
	char cache[64];
	int r;
	if (!pb) {
		respond_error(e, c, 404);
		return 1;
	}
	if (lsp_plstate_parse(pb->data, pb->len, &ps) < 0) {
		body_put(pb);
		return 0; /* not a playlist yet: keep waiting */
	}
	r = lsp_plstate_ready(&ps, c->msn, c->part);
	if (r < 0) {
		body_put(pb);
		respond_error(e, c, 400);
		return 1;
	}
	if (r == 0) {
		body_put(pb);
		return 0;
	}
	/* the answer to "msn/part" never goes stale: cache it a while */
	snprintf(cache, sizeof cache, "public, max-age=%d", ps.target > 0 ? (int)(ps.target * 6) : 6);
	respond(e, c, 200, "application/vnd.apple.mpegurl", cache, NULL, pb, -1, 0, 0, -1);
	return 1;
}

static void hold_on(lsp_edge *e, conn *c, watch *w, enum hold kind, int64_t ms, const char *rel)
{
	if (!(c->hrel = strdup(rel))) {
		respond_error(e, c, 503);
		return;
	}
	c->hname = strrchr(c->hrel, '/') ? strrchr(c->hrel, '/') + 1 : c->hrel;
	c->hold = kind;
	c->w = w;
	c->hprev = NULL;
	c->hnext = w->held;
	if (w->held)
		w->held->hprev = c;
	w->held = c;
	c->st = C_HOLD;
	c->deadline = e->now + ms;
	e->held++;
	e->holds_total++;
	set_events(e, c, EPOLLRDHUP);
}

/* rel = "<channel>/<rung>/<file>" etc., already checked for safety. */
static void serve_hls(lsp_edge *e, conn *c, const char *rel, const lsp_http_req *rq)
{
	char dir[1024], v[32];
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	int have_msn, have_part;
	long long msn = -1, part = -1;
	watch *w;

	if (!slash || (size_t)(slash - rel) >= sizeof dir) {
		serve_file(e, c, e->hls_fd, rel, "no-cache", rq);
		return;
	}
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = 0;
	if (ends_with(name, ".m3u8")) {
		char *end;
		have_msn = lsp_http_query_get(rq->query, rq->query_len, "_HLS_msn", v, sizeof v);
		if (have_msn >= 0) {
			msn = strtoll(v, &end, 10);
			if (!*v || *end || msn < 0) {
				respond_error(e, c, 400);
				return;
			}
		}
		have_part = lsp_http_query_get(rq->query, rq->query_len, "_HLS_part", v, sizeof v);
		if (have_part >= 0) {
			part = strtoll(v, &end, 10);
			if (!*v || *end || part < 0 || have_msn < 0) {
				respond_error(e, c, 400);
				return;
			}
		}
		if (have_msn == -2 || have_part == -2) {
			respond_error(e, c, 400);
			return;
		}
		if (have_msn < 0) {
			serve_file(e, c, e->hls_fd, rel, "no-cache", rq);
			return;
		}
		c->msn = msn;
		c->part = part;
		w = watch_dir(e, dir); /* before reading: no update can slip by */
		if (try_playlist(e, c, read_body(e->hls_fd, rel)))
			return;
		if (!w) { /* cannot wait: give what there is */
			body *pb = read_body(e->hls_fd, rel);
			if (!pb) { respond_error(e, c, 404); return; }
			respond(e, c, 200, "application/vnd.apple.mpegurl", "no-cache", NULL, pb, -1, 0, 0, -1);
			return;
		}
		{
			lsp_plstate ps = { 0 };
			body *pb = read_body(e->hls_fd, rel);
			if (pb)
				lsp_plstate_parse(pb->data, pb->len, &ps);
			body_put(pb);
			hold_on(e, c, w, H_PLAYLIST, ps.target > 0 ? (int64_t)(ps.target * 3000) : 6000, rel);
		}
		return;
	}
	{
		const char *cache = ends_with(name, ".m4s") || ends_with(name, ".mp4") || ends_with(name, ".ts")
			? segment_cache : "no-cache";
		struct stat st;
		int fd;
		if (!ends_with(name, ".m4s") || fstatat(e->hls_fd, rel, &st, 0) == 0) {
			serve_file(e, c, e->hls_fd, rel, cache, rq);
			return;
		}
		/* a part or segment not written yet (a preload hint): wait for it */
		if (!(w = watch_dir(e, dir))) {
			respond_error(e, c, 404);
			return;
		}
		if ((fd = open_beneath(e->hls_fd, rel, O_RDONLY)) >= 0) {
			close(fd);
			serve_file(e, c, e->hls_fd, rel, cache, rq);
			return;
		}
		c->msn = c->part = -1;
		hold_on(e, c, w, H_PART, e->cfg.part_hold_ms, rel);
	}
}

static void serve_api(lsp_edge *e, conn *c, const char *only)
{
	char *buf = malloc(API_MAX);
	int n;
	body *b;
	if (!buf) {
		respond_error(e, c, 500);
		return;
	}
	if (e->relay && e->cfg.list && !only)
		n = e->cfg.list(e->cfg.route_ctx, buf, API_MAX - 1);
	else
		n = lsp_chandir_json(e->cfg.hls_root, only, time(NULL), buf, API_MAX - 1);
	if (n == -ENOENT) {
		free(buf);
		respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		return;
	}
	if (n < 0) {
		free(buf);
		respond_error(e, c, 500);
		return;
	}
	buf[n++] = '\n';
	b = body_from(buf, (size_t)n);
	free(buf);
	respond(e, c, 200, "application/json", "no-store", NULL, b, -1, 0, 0, -1);
}

/* /api/channels/<name>/vods: the channel's recordings, newest first. */
static void serve_vods(lsp_edge *e, conn *c, const char *name)
{
	char *buf = malloc(API_MAX);
	int n;
	body *b;
	if (!buf) {
		respond_error(e, c, 500);
		return;
	}
	n = e->cfg.vod_root ? lsp_vod_json(e->cfg.vod_root, name, buf, API_MAX - 1) : -ENOENT;
	if (n < 0)
		n = snprintf(buf, API_MAX, "[]");
	buf[n++] = '\n';
	b = body_from(buf, (size_t)n);
	free(buf);
	respond(e, c, 200, "application/json", "no-store", NULL, b, -1, 0, 0, -1);
}

/* rel = "<channel>/<id>/<file>" below the recordings root; "<channel>/<id>/"
 * is the recording's playlist.  Files are immutable once named by the
 * playlist; the playlist grows while the broadcast is recorded. */
static void serve_vod(lsp_edge *e, conn *c, const char *rel, const lsp_http_req *rq)
{
	char p[LSP_HTTP_TARGET_MAX + 16], ch[LSP_NAME_MAX + 1];
	const char *s1 = strchr(rel, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	size_t cl = s1 ? (size_t)(s1 - rel) : 0;
	if (!s1 || !s2 || cl == 0 || cl > LSP_NAME_MAX || s2 == s1 + 1 || strchr(s2 + 1, '/') || strstr(rel, "/.")) {
		respond_error(e, c, 404);
		return;
	}
	memcpy(ch, rel, cl);
	ch[cl] = 0;
	if (!lsp_name_valid(ch) ||
	    snprintf(p, sizeof p, "%s%s", rel, s2[1] ? "" : "index.m3u8") >= (int)sizeof p) {
		respond_error(e, c, 404);
		return;
	}
	if (e->vod_fd < 0 && e->cfg.vod_root) /* created after we started */
		e->vod_fd = open(e->cfg.vod_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->vod_fd < 0) {
		respond_error(e, c, 404);
		return;
	}
	serve_file(e, c, e->vod_fd, p, ends_with(p, ".m3u8") ? "no-cache" : "public, max-age=86400", rq);
}

static void serve_metrics(lsp_edge *e, conn *c)
{
	char t[3072];
	snprintf(t, sizeof t,
		 "# TYPE lsp_edge_connections_open gauge\nlsp_edge_connections_open %lld\n"
		 "# TYPE lsp_edge_connections_accepted_total counter\nlsp_edge_connections_accepted_total %lld\n"
		 "# TYPE lsp_edge_connections_rejected_total counter\nlsp_edge_connections_rejected_total %lld\n"
		 "# TYPE lsp_edge_requests_total counter\n"
		 "lsp_edge_requests_total{code=\"2xx\"} %lld\nlsp_edge_requests_total{code=\"3xx\"} %lld\n"
		 "lsp_edge_requests_total{code=\"4xx\"} %lld\nlsp_edge_requests_total{code=\"5xx\"} %lld\n"
		 "lsp_edge_requests_total{code=\"404\"} %lld\nlsp_edge_requests_total{code=\"503\"} %lld\n"
		 "# TYPE lsp_edge_held_requests gauge\nlsp_edge_held_requests %lld\n"
		 "# TYPE lsp_edge_holds_total counter\nlsp_edge_holds_total %lld\n"
		 "# TYPE lsp_edge_hold_timeouts_total counter\nlsp_edge_hold_timeouts_total %lld\n"
		 "# TYPE lsp_edge_watches gauge\nlsp_edge_watches %d\n"
		 "# TYPE lsp_edge_bytes_sent_total counter\nlsp_edge_bytes_sent_total %lld\n"
		 "# TYPE lsp_edge_relay_upstream_total counter\nlsp_edge_relay_upstream_total %lld\n"
		 "# TYPE lsp_edge_relay_hits_total counter\nlsp_edge_relay_hits_total %lld\n"
		 "# TYPE lsp_edge_relay_coalesced_total counter\nlsp_edge_relay_coalesced_total %lld\n"
		 "# TYPE lsp_edge_relay_errors_total counter\nlsp_edge_relay_errors_total %lld\n"
		 "# TYPE lsp_edge_relay_entries gauge\nlsp_edge_relay_entries %d\n",
		 e->open, e->accepted, e->rejected, e->by_code[0], e->by_code[1], e->by_code[2], e->by_code[3],
		 e->by_code[4], e->by_code[5], e->held, e->holds_total, e->holds_timeout, e->nwatches, e->bytes_sent,
		 e->relay_upstream, e->relay_hits, e->relay_coalesced, e->relay_errors, e->nentries);
	respond_text(e, c, 200, "text/plain; version=0.0.4", "no-store", t);
}

/* ---- relay mode --------------------------------------------------------
 *
 *   viewer ─GET t─▶ [entry t fresh?] ─yes─▶ answer from cache
 *                        │ no / absent
 *                        ▼
 *                  entry t pending ◀─ later viewers of t wait here
 *                        │ one upstream GET t (Connection: close)
 *                        ▼
 *            origin answers ─▶ every waiter answered; kept max-age */

static unsigned key_hash(const char *k, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h % RELAY_BUCKETS;
}

static void entry_unlink(lsp_edge *e, entry *en)
{
	entry **pp = &e->buckets[key_hash(en->key, strlen(en->key))];
	for (; *pp; pp = &(*pp)->next)
		if (*pp == en) {
			*pp = en->next;
			e->nentries--;
			return;
		}
}

static void entry_free(entry *en)
{
	body_put(en->b);
	free(en->key);
	free(en);
}

/* Make room: drop expired entries, then any finished one.  0 or -1 (full). */
static int relay_room(lsp_edge *e)
{
	for (int pass = 0; pass < 2 && e->nentries >= RELAY_ENTRIES_MAX; pass++)
		for (int i = 0; i < RELAY_BUCKETS && e->nentries >= RELAY_ENTRIES_MAX; i++)
			for (entry **pp = &e->buckets[i]; *pp;) {
				entry *en = *pp;
				if (!en->pending && !en->waiters && (pass == 1 || en->expires <= e->now)) {
					*pp = en->next;
					e->nentries--;
					entry_free(en);
				} else {
					pp = &en->next;
				}
			}
	return e->nentries < RELAY_ENTRIES_MAX ? 0 : -1;
}

static void up_close(lsp_edge *e, upstream *u)
{
	epoll_ctl(e->efd, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	if (u->prev)
		u->prev->next = u->next;
	else
		e->ups = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u->buf);
	free(u);
}

/* The upstream answer (or failure, status 502/504 and b NULL) is known:
 * answer every waiter, keep the entry only when it may be reused. */
static void entry_done(lsp_edge *e, entry *en)
{
	en->pending = 0;
	en->up = NULL;
	while (en->waiters) {
		conn *c = en->waiters;
		if (en->b) {
			en->b->refs++;
			respond(e, c, en->status, en->ctype[0] ? en->ctype : NULL, en->cache[0] ? en->cache : NULL,
				NULL, en->b, -1, 0, 0, -1);
		} else {
			respond_error(e, c, en->status);
		}
	}
	if (!en->b || en->expires <= e->now) {
		entry_unlink(e, en);
		entry_free(en);
	}
}

static void up_fail(lsp_edge *e, upstream *u, int status)
{
	entry *en = u->ent;
	e->relay_errors++;
	up_close(e, u);
	en->status = status;
	body_put(en->b);
	en->b = NULL;
	entry_done(e, en);
}

static void copy_hdr(const lsp_http_req *r, const char *name, char *out, size_t cap)
{
	size_t vl;
	const char *v = lsp_http_header_get(r, name, &vl);
	out[0] = 0;
	if (v && vl < cap) {
		memcpy(out, v, vl);
		out[vl] = 0;
	}
}

static void up_complete(lsp_edge *e, upstream *u)
{
	entry *en = u->ent;
	lsp_http_req r;
	int status = 0, n;
	size_t blen;
	const char *ma;
	n = u->buf ? lsp_http_parse_response(u->buf, u->len, &status, &r) : 0; /* no bytes: no answer */
	if (n <= 0 || r.chunked) {
		up_fail(e, u, 502);
		return;
	}
	blen = u->len - (size_t)n;
	if (r.content_length >= 0) {
		if ((unsigned long long)r.content_length > blen) {
			up_fail(e, u, 502); /* cut short */
			return;
		}
		blen = (size_t)r.content_length;
	}
	en->status = status;
	copy_hdr(&r, "content-type", en->ctype, sizeof en->ctype);
	copy_hdr(&r, "cache-control", en->cache, sizeof en->cache);
	if (!(en->b = body_from(u->buf + n, blen))) {
		up_fail(e, u, 502);
		return;
	}
	en->expires = e->now;
	ma = strstr(en->cache, "max-age=");
	if (status == 200 && ma && !strstr(en->cache, "no-")) {
		/* the origin's number, bounded: a year at most (RFC 9111 caps delta-seconds too) */
		long age = strtol(ma + 8, NULL, 10);
		if (age > 0)
			en->expires = e->now + 1000LL * (age < 31536000 ? age : 31536000);
	}
	up_close(e, u);
	entry_done(e, en);
}

static void on_upstream(lsp_edge *e, upstream *u, uint32_t ev)
{
	if (u->st == 0) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			up_fail(e, u, 502);
			return;
		}
		while (u->roff < u->rlen) {
			ssize_t w = send(u->fd, u->req + u->roff, u->rlen - u->roff, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN)
				return;
			if (w <= 0) {
				up_fail(e, u, 502);
				return;
			}
			u->roff += (size_t)w;
		}
		struct epoll_event ee = { .events = EPOLLIN, .data.ptr = u };
		epoll_ctl(e->efd, EPOLL_CTL_MOD, u->fd, &ee);
		u->st = 1;
		return;
	}
	for (;;) {
		ssize_t r;
		if (u->len == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 16384;
			char *nb;
			if (nc > RELAY_BODY_MAX || !(nb = realloc(u->buf, nc))) {
				up_fail(e, u, 502);
				return;
			}
			u->buf = nb;
			u->cap = nc;
		}
		r = recv(u->fd, u->buf + u->len, u->cap - u->len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			up_fail(e, u, 502);
			return;
		}
		if (r == 0) {
			up_complete(e, u);
			return;
		}
		u->len += (size_t)r;
	}
	(void)ev;
}

static int up_start(lsp_edge *e, entry *en)
{
	upstream *u = calloc(1, sizeof *u);
	struct epoll_event ee;
	struct sockaddr_storage ss = e->origin;
	socklen_t sl = e->origin_len;
	char hp[300], perr[160];
	int n;
	if (!u)
		return -1;
	u->kind = K_UP;
	u->ent = en;
	snprintf(hp, sizeof hp, "%s", e->origin_host);
	if (en->org[0] && lsp_httpurl_resolve(en->org, &ss, &sl, hp, sizeof hp, perr, sizeof perr) < 0)
		goto fail;
	n = snprintf(u->req, sizeof u->req,
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lsp-edge relay\r\nConnection: close\r\n\r\n",
		     en->key, hp);
	if (n < 0 || (size_t)n >= sizeof u->req)
		goto fail;
	u->rlen = (size_t)n;
	if ((u->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (connect(u->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(u->fd);
		goto fail;
	}
	ee.events = EPOLLOUT;
	ee.data.ptr = u;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, u->fd, &ee) < 0) {
		close(u->fd);
		goto fail;
	}
	u->deadline = e->now + RELAY_TIMEOUT_MS;
	u->next = e->ups;
	if (e->ups)
		e->ups->prev = u;
	e->ups = u;
	en->up = u;
	e->relay_upstream++;
	return 0;
fail:
	free(u);
	return -1;
}

static void relay(lsp_edge *e, conn *c, const lsp_http_req *rq, const char *org)
{
	unsigned h = key_hash(rq->target, rq->target_len);
	entry *en;
	for (en = e->buckets[h]; en; en = en->next)
		if (strlen(en->key) == rq->target_len && !memcmp(en->key, rq->target, rq->target_len) &&
		    !strcmp(en->org, org))
			break;
	if (en && !en->pending && en->expires > e->now) {
		e->relay_hits++;
		en->b->refs++;
		respond(e, c, en->status, en->ctype[0] ? en->ctype : NULL, en->cache[0] ? en->cache : NULL, NULL,
			en->b, -1, 0, 0, -1);
		return;
	}
	if (en && !en->pending) { /* stale */
		entry_unlink(e, en);
		entry_free(en);
		en = NULL;
	}
	if (en) {
		e->relay_coalesced++;
	} else {
		if (relay_room(e) < 0 || !(en = calloc(1, sizeof *en)) || !(en->key = strndup(rq->target, rq->target_len))) {
			if (en)
				free(en);
			respond_error(e, c, 503);
			return;
		}
		en->pending = 1;
		snprintf(en->org, sizeof en->org, "%s", org);
		if (up_start(e, en) < 0) {
			entry_free(en);
			respond_error(e, c, 502);
			return;
		}
		en->next = e->buckets[h];
		e->buckets[h] = en;
		e->nentries++;
	}
	/* wait on the entry like a held request */
	c->ent = en;
	c->hold = H_RELAY;
	c->w = NULL;
	c->hprev = NULL;
	c->hnext = en->waiters;
	if (en->waiters)
		en->waiters->hprev = c;
	en->waiters = c;
	c->st = C_HOLD;
	c->deadline = e->now + RELAY_WAIT_MS;
	e->held++;
	set_events(e, c, EPOLLRDHUP);
}

static void handle(lsp_edge *e, conn *c, const lsp_http_req *rq)
{
	char path[LSP_HTTP_TARGET_MAX + 1];
	c->keep_alive = rq->keep_alive;
	c->head_only = rq->method == LSP_HTTP_HEAD;
	if (rq->content_length > 0 || rq->chunked) {
		c->keep_alive = 0; /* we take no request bodies */
		respond_error(e, c, rq->method == LSP_HTTP_GET || rq->method == LSP_HTTP_HEAD ? 400 : 405);
		return;
	}
	if (rq->method == LSP_HTTP_OPTIONS) {
		respond(e, c, 204, NULL, "max-age=86400",
			"Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\nAccess-Control-Allow-Headers: *\r\n"
			"Access-Control-Max-Age: 86400\r\nAllow: GET, HEAD, OPTIONS\r\n",
			NULL, -1, 0, 0, -1);
		return;
	}
	if (rq->method != LSP_HTTP_GET && rq->method != LSP_HTTP_HEAD) {
		respond(e, c, 405, "text/plain", "no-store", "Allow: GET, HEAD, OPTIONS\r\n",
			body_from("405 Method Not Allowed\n", 23), -1, 0, 0, -1);
		return;
	}
	if (lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0) {
		respond_error(e, c, 400);
		return;
	}
	if (e->relay && e->cfg.list && !strcmp(path, "/api/channels")) {
		serve_api(e, c, NULL); /* no one origin knows every channel */
		return;
	}
	if (e->relay && (!strncmp(path, "/hls/", 5) || !strncmp(path, "/api/", 5) || !strncmp(path, "/vod/", 5))) {
		char org[128] = "";
		if (e->cfg.route && e->cfg.route(e->cfg.route_ctx, path, org, sizeof org) < 0) {
			respond_error(e, c, 404); /* no live origin for this channel (now) */
			return;
		}
		relay(e, c, rq, org);
		return;
	}
	if (!strncmp(path, "/hls/", 5)) {
		const char *rel = path + 5;
		char ch[LSP_NAME_MAX + 1];
		const char *s = strchr(rel, '/');
		size_t cl = s ? (size_t)(s - rel) : strlen(rel);
		if (cl == 0 || cl > LSP_NAME_MAX || !s || !s[1] || strstr(s, "/.")) { /* no dot (temp) files */
			respond_error(e, c, 404);
			return;
		}
		memcpy(ch, rel, cl);
		ch[cl] = 0;
		if (!lsp_name_valid(ch)) {
			respond_error(e, c, 404);
			return;
		}
		serve_hls(e, c, rel, rq);
		return;
	}
	if (!strcmp(path, "/")) {
		serve_file(e, c, e->web_fd, "index.html", "no-cache", NULL);
	} else if (!strncmp(path, "/watch/", 7) && lsp_name_valid(path + 7)) {
		serve_file(e, c, e->web_fd, "watch.html", "no-cache", NULL);
	} else if (!strcmp(path, "/studio")) {
		serve_file(e, c, e->web_fd, "studio.html", "no-cache", NULL);
	} else if (!strncmp(path, "/vod/", 5)) {
		serve_vod(e, c, path + 5, rq);
	} else if (!strncmp(path, "/api/channels/", 14) && ends_with(path, "/vods") &&
		   strlen(path) - 19 <= LSP_NAME_MAX) {
		char ch[LSP_NAME_MAX + 1];
		size_t n = strlen(path) - 19;
		memcpy(ch, path + 14, n);
		ch[n] = 0;
		if (n == 0 || !lsp_name_valid(ch))
			respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		else
			serve_vods(e, c, ch);
	} else if (!strcmp(path, "/api/channels")) {
		serve_api(e, c, NULL);
	} else if (!strncmp(path, "/api/channels/", 14)) {
		if (!lsp_name_valid(path + 14))
			respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		else
			serve_api(e, c, path + 14);
	} else if (!strcmp(path, "/metrics")) {
		serve_metrics(e, c);
	} else if (!strcmp(path, "/healthz")) {
		respond_text(e, c, 200, "text/plain", "no-store", "ok\n");
	} else if (path[1] == '.' || strstr(path, "/.") || ends_with(path, "/")) {
		respond_error(e, c, 404); /* no dot files, no directory listings */
	} else {
		serve_file(e, c, e->web_fd, path + 1, "no-cache", rq);
	}
}

/* ---- reading ----------------------------------------------------------- */

/* Read more bytes; >0 got, 0 would block, -1 closed or failed. */
static ssize_t in_bytes(conn *c, char *p, size_t n)
{
	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_read(c->ssl, p, (int)n);
		if (r > 0)
			return r;
		r = SSL_get_error(c->ssl, r);
		return (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) ? 0 : -1;
	}
	ssize_t r = recv(c->fd, p, n, 0);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return r == 0 ? -1 : r;
}

static void conn_read(lsp_edge *e, conn *c)
{
	lsp_http_req rq;
	while (c->st == C_READ) {
		int n;
		if (!c->rbuf && !(c->rbuf = malloc(LSP_HTTP_HEAD_MAX))) {
			conn_close(e, c);
			return;
		}
		n = c->rlen ? lsp_http_parse(c->rbuf, c->rlen, &rq) : 0;
		if (n == 0) {
			ssize_t r;
			if (c->rlen >= LSP_HTTP_HEAD_MAX) {
				n = -431;
			} else {
				r = in_bytes(c, c->rbuf + c->rlen, LSP_HTTP_HEAD_MAX - c->rlen);
				if (r < 0) {
					conn_close(e, c);
					return;
				}
				if (r == 0) {
					if (c->rlen == 0) { /* idle: give the buffer back */
						free(c->rbuf);
						c->rbuf = NULL;
					}
					return;
				}
				if (c->rlen == 0)
					c->deadline = e->now + HEAD_TIMEOUT_MS;
				c->rlen += (size_t)r;
				continue;
			}
		}
		if (n < 0) {
			c->keep_alive = 0;
			c->head_only = 0;
			c->rlen = 0;
			respond_error(e, c, -n);
			return;
		}
		handle(e, c, &rq);
		/* handle() copied what it keeps; drop the head */
		if (c->kind != K_CONN) /* closed inside handle */
			return;
		memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
		c->rlen -= (size_t)n;
		if (c->st == C_READ && c->rlen == 0) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->deadline = e->now + IDLE_TIMEOUT_MS;
		}
		return; /* the again list comes back here for the next one */
	}
}

/* ---- holds resolved by inotify ----------------------------------------- */

static void wake(lsp_edge *e, watch *w, const char *name)
{
	body *pb = NULL;
	int loaded = 0;
	conn *c = w->held, *next;
	char rel[1024];
	for (; c; c = next) {
		next = c->hnext;
		if (strcmp(c->hname, name) != 0 || copy_str(rel, sizeof rel, c->hrel) < 0)
			continue;
		if (c->hold == H_PLAYLIST) {
			if (!loaded) {
				pb = read_body(e->hls_fd, rel);
				loaded = 1;
			}
			if (!pb)
				continue; /* vanished between event and read: keep waiting */
			pb->refs++;
			try_playlist(e, c, pb);
		} else {
			serve_file(e, c, e->hls_fd, rel, segment_cache, NULL); /* unholds c */
		}
	}
	body_put(pb);
}

/* Events were lost: look again at every held request. */
static void recheck_all(lsp_edge *e)
{
	conn **v;
	long long n = 0;
	if (e->held <= 0 || !(v = malloc((size_t)e->held * sizeof(conn *))))
		return;
	for (int i = 0; i < e->nwatches; i++)
		for (conn *c = e->watches[i].held; c && n < e->held; c = c->hnext)
			v[n++] = c;
	for (long long i = 0; i < n; i++) {
		char name[256];
		if (v[i]->kind == K_CONN && v[i]->hold != H_NONE && v[i]->w &&
		    copy_str(name, sizeof name, v[i]->hname) == 0)
			wake(e, v[i]->w, name);
	}
	free(v);
}

static void on_inotify(lsp_edge *e)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(e->ifd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			watch *w;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				recheck_all(e);
				continue;
			}
			if (!(w = watch_find(e, ev->wd)))
				continue;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				while (w->held) /* the directory is gone */
					respond_error(e, w->held, 404);
				if (ev->mask & IN_IGNORED) {
					*w = e->watches[--e->nwatches]; /* the last one moves here */
					for (conn *c = w->held; c; c = c->hnext)
						c->w = w;
				} else {
					inotify_rm_watch(e->ifd, w->wd); /* IN_IGNORED follows */
				}
				continue;
			}
			if (ev->len && w->held)
				wake(e, w, ev->name);
		}
	}
}

/* ---- accept, timers, loop ---------------------------------------------- */

static void on_accept(lsp_edge *e)
{
	for (;;) {
		int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		conn *c;
		struct epoll_event ee;
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				elog(e, 2, "accept: out of descriptors", "errno=%d", errno);
			return;
		}
		if (e->nfree == 0 || !(c = calloc(1, sizeof *c))) {
			e->rejected++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->kind = K_CONN;
		c->fd = fd;
		c->ffd = -1;
		c->slot = e->free_slots[--e->nfree];
		e->slots[c->slot] = c;
		e->open++;
		e->accepted++;
		c->st = e->tls ? C_HANDSHAKE : C_READ;
		c->deadline = e->now + (e->tls ? HS_TIMEOUT_MS : IDLE_TIMEOUT_MS);
		c->events = EPOLLIN | EPOLLRDHUP;
		ee.events = c->events;
		ee.data.ptr = c;
		if (epoll_ctl(e->efd, EPOLL_CTL_ADD, fd, &ee) < 0) {
			conn_close(e, c);
			continue;
		}
		if (e->tls) {
			if (!(c->ssl = SSL_new(e->tls)) || SSL_set_fd(c->ssl, fd) != 1) {
				conn_close(e, c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
	}
}

static void on_handshake(lsp_edge *e, conn *c)
{
	int r;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->st = C_READ;
		c->deadline = e->now + IDLE_TIMEOUT_MS;
		set_events(e, c, EPOLLIN | EPOLLRDHUP);
		conn_read(e, c);
		return;
	}
	r = SSL_get_error(c->ssl, r);
	if (r == SSL_ERROR_WANT_READ)
		set_events(e, c, EPOLLIN | EPOLLRDHUP);
	else if (r == SSL_ERROR_WANT_WRITE)
		set_events(e, c, EPOLLOUT | EPOLLRDHUP);
	else
		conn_close(e, c);
}

static void sweep(lsp_edge *e)
{
	for (upstream *u = e->ups, *nx; u; u = nx) {
		nx = u->next;
		if (u->deadline <= e->now)
			up_fail(e, u, 504);
	}
	for (int i = 0; i < e->cfg.max_conns; i++) {
		conn *c = e->slots[i];
		if (!c || c->deadline > e->now)
			continue;
		if (c->st == C_HOLD) {
			e->holds_timeout++;
			/* playlist: the spec's 503; part: it never came; relay: origin too slow */
			respond_error(e, c, c->hold == H_PLAYLIST ? 503 : c->hold == H_RELAY ? 504 : 404);
		} else {
			conn_close(e, c);
		}
	}
}

/* Read again from connections that finished a response, then free the
 * connections closed during this round. */
static void drain(lsp_edge *e)
{
	while (e->again) {
		conn *c = e->again;
		e->again = c->anext;
		if (c->queued == 2) {
			free(c);
			continue;
		}
		c->queued = 0;
		if (c->st == C_READ)
			conn_read(e, c);
	}
	while (e->dead) {
		conn *c = e->dead;
		e->dead = c->anext;
		free(c);
	}
}

int lsp_edge_run(lsp_edge *e, const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct epoll_event evs[256];
	int64_t next_sweep = 0;
	while (!*stop) {
		int n = epoll_wait(e->efd, evs, 256, e->held ? 50 : 500);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errcap, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		e->now = lsp_clock_mono_ms();
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			uint32_t ev = evs[i].events;
			conn *c;
			if (kind == K_LISTEN) {
				on_accept(e);
				continue;
			}
			if (kind == K_INOTIFY) {
				on_inotify(e);
				continue;
			}
			if (kind == K_UP) {
				on_upstream(e, evs[i].data.ptr, evs[i].events);
				continue;
			}
			c = evs[i].data.ptr;
			if (c->kind != K_CONN) /* closed earlier in this batch */
				continue;
			if (ev & (EPOLLERR | EPOLLHUP) || (c->st == C_HOLD && (ev & EPOLLRDHUP))) {
				conn_close(e, c);
				continue;
			}
			switch (c->st) {
			case C_HANDSHAKE: on_handshake(e, c); break;
			case C_READ:
				if (ev & (EPOLLIN | EPOLLRDHUP))
					conn_read(e, c);
				break;
			case C_WRITE: conn_write(e, c); break;
			case C_HOLD: break;
			}
		}
		if (e->now >= next_sweep) {
			sweep(e);
			next_sweep = e->now + (e->held ? 50 : 500);
		}
		drain(e);
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

static int listen_on(const char *host, int port, char *err, size_t errcap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char ps[16];
	int fd = -1, one = 1, rc;
	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(host && *host ? host : NULL, ps, &hints, &ai)) != 0) {
		snprintf(err, errcap, "cannot resolve %s: %s", host ? host : "*", gai_strerror(rc));
		return -EINVAL;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	rc = -errno;
	snprintf(err, errcap, "cannot listen on %s:%d: %s", host ? host : "*", port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static int tls_setup(lsp_edge *e, char *err, size_t errcap)
{
	unsigned long ec;
	if (!(e->tls = SSL_CTX_new(TLS_server_method())))
		goto fail;
	SSL_CTX_set_min_proto_version(e->tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(e->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					 SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(e->tls, e->cfg.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(e->tls, e->cfg.key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(e->tls) != 1)
		goto fail;
	return 0;
fail:
	ec = ERR_get_error();
	snprintf(err, errcap, "TLS setup (%s, %s): %s", e->cfg.cert, e->cfg.key,
		 ec ? ERR_reason_error_string(ec) : "out of memory");
	return -EINVAL;
}

static int origin_setup(lsp_edge *e, const char *url, char *err, size_t errcap)
{
	int rc = lsp_httpurl_resolve(url, &e->origin, &e->origin_len, e->origin_host, sizeof e->origin_host, err, errcap);
	if (rc == 0)
		e->relay = 1;
	return rc;
}

int lsp_edge_open(lsp_edge **out, const lsp_edge_cfg *cfg, char *err, size_t errcap)
{
	lsp_edge *e = calloc(1, sizeof *e);
	struct epoll_event ee;
	union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; struct sockaddr_storage ss; } la = { 0 };
	socklen_t sl = sizeof la;
	int rc = -ENOMEM;

	*out = NULL;
	if (!e) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	e->cfg = *cfg;
	e->lfd = e->efd = e->ifd = e->hls_fd = e->web_fd = e->vod_fd = -1;
	e->kind_listen = K_LISTEN;
	e->kind_inotify = K_INOTIFY;
	if (e->cfg.max_conns <= 0)
		e->cfg.max_conns = 20000;
	if (e->cfg.part_hold_ms <= 0)
		e->cfg.part_hold_ms = 3000;
	if (!(e->slots = calloc((size_t)e->cfg.max_conns, sizeof(conn *))) ||
	    !(e->free_slots = calloc((size_t)e->cfg.max_conns, sizeof *e->free_slots)) ||
	    !(e->watches = calloc(WATCH_MAX, sizeof *e->watches))) {
		snprintf(err, errcap, "out of memory for %d connections", e->cfg.max_conns);
		goto fail;
	}
	for (int i = 0; i < e->cfg.max_conns; i++)
		e->free_slots[e->nfree++] = e->cfg.max_conns - 1 - i;
	if ((e->hls_fd = open(cfg->hls_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && !cfg->origin && !cfg->route) {
		rc = -errno;
		snprintf(err, errcap, "cannot open hls root %s: %s", cfg->hls_root, strerror(errno));
		goto fail;
	}
	if ((e->web_fd = open(cfg->web_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot open web root %s: %s", cfg->web_root, strerror(errno));
		goto fail;
	}
	if (cfg->vod_root) /* optional: recordings may not exist yet */
		e->vod_fd = open(cfg->vod_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg->cert && cfg->key && (rc = tls_setup(e, err, errcap)) < 0)
		goto fail;
	if (cfg->origin && (rc = origin_setup(e, cfg->origin, err, errcap)) < 0)
		goto fail;
	if (cfg->route)
		e->relay = 1;
	if ((e->lfd = listen_on(cfg->host, cfg->port, err, errcap)) < 0) {
		rc = e->lfd;
		goto fail;
	}
	if (getsockname(e->lfd, &la.sa, &sl) == 0)
		e->port = ntohs(la.sa.sa_family == AF_INET6 ? la.in6.sin6_port : la.in.sin_port);
	if ((e->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (e->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "epoll/inotify: %s", strerror(errno));
		goto fail;
	}
	ee.events = EPOLLIN;
	ee.data.ptr = &e->kind_listen;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, e->lfd, &ee) < 0)
		goto sysfail;
	ee.data.ptr = &e->kind_inotify;
	if (epoll_ctl(e->efd, EPOLL_CTL_ADD, e->ifd, &ee) < 0)
		goto sysfail;
	e->now = lsp_clock_mono_ms();
	*out = e;
	return 0;
sysfail:
	rc = -errno;
	snprintf(err, errcap, "epoll_ctl: %s", strerror(errno));
fail:
	lsp_edge_close(e);
	return rc;
}

int lsp_edge_port(const lsp_edge *e)
{
	return e->port;
}

void lsp_edge_close(lsp_edge *e)
{
	if (!e)
		return;
	for (int i = 0; e->slots && i < e->cfg.max_conns; i++)
		if (e->slots[i])
			conn_close(e, e->slots[i]);
	while (e->ups)
		up_fail(e, e->ups, 502);
	for (int i = 0; i < RELAY_BUCKETS; i++)
		while (e->buckets[i]) {
			entry *en = e->buckets[i];
			e->buckets[i] = en->next;
			entry_free(en);
		}
	drain(e);
	if (e->lfd >= 0) close(e->lfd);
	if (e->efd >= 0) close(e->efd);
	if (e->ifd >= 0) close(e->ifd);
	if (e->hls_fd >= 0) close(e->hls_fd);
	if (e->web_fd >= 0) close(e->web_fd);
	if (e->vod_fd >= 0) close(e->vod_fd);
	if (e->tls)
		SSL_CTX_free(e->tls);
	free(e->slots);
	free(e->free_slots);
	free(e->watches);
	free(e);
}
