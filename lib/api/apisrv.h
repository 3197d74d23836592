/* apisrv.h — a small request/response HTTP/1.1 server: one thread, one
 * epoll loop, optional TLS, for JSON APIs whose answers are computed whole.
 *
 *   accept ─▶ [TLS handshake] ─▶ READ head (+ body by Content-Length)
 *          ─▶ handler ─▶ WRITE ─▶ READ (keep-alive) | close
 *   deadlines: handshake 10 s, first request 10 s, head+body 10 s,
 *   keep-alive idle 30 s, write 30 s.
 *
 * Bounds: the head as lib/core/http.h (8 KiB, 64 headers), a body of at most
 * cfg->body_max bytes (413 beyond; chunked bodies get 411), at most
 * cfg->max_conns connections: when all are taken, the oldest connection
 * still waiting for its request is closed to make room (idle sockets
 * cannot lock clients out); at most cfg->max_per_addr from one client
 * address (core/peercap: loopback is never capped); refusals are logged
 * once a second with the count held back.  Out of descriptors, a waiting
 * client is accepted and closed (core/net's reserve) instead of spinning.  Every answer
 * carries X-Content-Type-Options, a no-content CSP, Cache-Control: no-store
 * and, under TLS, HSTS.  The server owns its sockets, TLS objects and
 * buffers; the handler owns what it puts in the response until the server
 * frees resp->body with free().  It never prints: cfg->event gets one
 * event per answered request and per fault (see lsp_apisrv_cfg).  A
 * handler may defer its answer (resp->defer) and give it later through
 * lsp_apisrv_finish, e.g. after work on another thread.  The
 * listening socket, accept and the TLS context come from lib/core/net. */
#ifndef LSP_APISRV_H
#define LSP_APISRV_H
#include <signal.h>
#include <stddef.h>

#include "core/event.h"
#include "core/http.h"

typedef struct lsp_apisrv lsp_apisrv;

#define LSP_APISRV_MAX_CONNS 16384
#define LSP_APISRV_MAX_PER_ADDR 256

typedef struct {
	const lsp_http_req *head; /* parsed head; strings point into the request buffer */
	const char *body;         /* Content-Length bytes (NULL when none) */
	size_t body_len;
	const char *peer;         /* client address, text: from loopback (the front door),
				   * the last X-Forwarded-For address when given */
	int tls;                  /* 1 when the connection is TLS */
	unsigned long long ticket; /* names this request for lsp_apisrv_finish */
} lsp_apisrv_req;

typedef struct {
	int status;
	const char *ctype;        /* default application/json */
	char *body;               /* malloc'd, freed by the server; may be NULL */
	size_t body_len;
	char headers[2048];       /* extra header lines, each ending in \r\n */
	int defer;                /* set by the handler: the answer comes later,
				   * through lsp_apisrv_finish(rq->ticket) */
} lsp_apisrv_resp;

typedef void (*lsp_apisrv_handler)(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs);

typedef struct {
	const char *host;        /* default 0.0.0.0 */
	int port;                /* 0 picks a free one (see lsp_apisrv_port) */
	const char *cert, *key;  /* PEM files: TLS when both are set */
	int max_conns;           /* default LSP_APISRV_MAX_CONNS */
	int max_per_addr;        /* 0: LSP_APISRV_MAX_PER_ADDR; < 0: no cap */
	size_t body_max;         /* default 16384 */
	lsp_apisrv_handler handler;
	void *handler_ctx;
	/* Events (may be NULL): "request" (method, path, status, ms, bytes_in,
	 * bytes_out; warn when status >= 500), "connection refused" (reason, peer,
	 * suppressed: refusals held back since the last one logged; warn), "tls handshake failed" (peer). */
	lsp_event_fn event;
	void *event_ctx;
	int (*tick)(void *ctx);  /* called about once a second from the loop; may be NULL */
	void *tick_ctx;
	/* Deferred answers: when wake_fd (>= 0; 0 counts as none) turns
	 * readable the loop calls wake(wake_ctx, server), which answers what is
	 * ready with lsp_apisrv_finish.  wake may be NULL. */
	int wake_fd;
	void (*wake)(void *ctx, lsp_apisrv *s);
	void *wake_ctx;
} lsp_apisrv_cfg;

int lsp_apisrv_open(lsp_apisrv **out, const lsp_apisrv_cfg *cfg, char *err, size_t errcap);
int lsp_apisrv_port(const lsp_apisrv *s);
/* Serve until *stop is non-zero.  0, or -errno on a loop failure. */
int lsp_apisrv_run(lsp_apisrv *s, const volatile sig_atomic_t *stop, char *err, size_t errcap);
void lsp_apisrv_close(lsp_apisrv *s);

/* Answer the deferred request ticket with rs (its body is taken).  While
 * deferred, a connection reads nothing more and no timeout closes it; a
 * client that hangs up meanwhile is closed, and its late answer is
 * dropped here (1).  0 answered; call from the loop's thread (wake). */
int lsp_apisrv_finish(lsp_apisrv *s, unsigned long long ticket, lsp_apisrv_resp *rs);

#endif
