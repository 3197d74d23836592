/* srtin.h — SRT ingest transport (libsrt): a listener whose handshake
 * hook reads the streamid and asks the caller's check() about the stream
 * key before the connection is accepted (a bad key is refused in the
 * handshake, reject reason 1403), and an optional caller that connects out
 * to a remote SRT listener and redials after a loss.  Every connection is
 * handed over as a plain fd (one end of a socketpair) on which the
 * received payload (MPEG-TS) arrives in order; a pump thread per
 * connection moves srt_recvmsg() payloads onto it and ends (closing the
 * SRT socket) when the fd's reader goes away or the peer does.
 *
 *   publisher ──SRT handshake(streamid)──▶ listen hook → check(key)
 *             ◀── accept / reject 1403 ───
 *   srt_accept → socketpair → queue ─(byte on lsp_srtin_fd)─▶ caller takes fd
 *   pump thread: srt_recvmsg → write(fd) until EOF/EPIPE
 *
 * libsrt keeps threads of its own, so a process that forks after
 * lsp_srtin_open must not use SRT in the child (the child only reads the
 * fd it was handed).  check() and event() run on libsrt/pump threads.
 * Never logs: it reports events (lib/core/event.h), each with the fields
 * proto ("srt"), remote ("" when unknown) and reason:
 *   "publish refused" (warn)       in the handshake: bad key or streamid
 *   "connection refused" (warn)    too many connections waiting
 *   "srt accept failed", "srt call failed; retrying",
 *   "srt call failed; retrying every 2 s" (warn)
 *   "srt call connected", "srt connection closed" (info) */
#ifndef LSP_SRTIN_H
#define LSP_SRTIN_H
#include <stddef.h>

#include "core/event.h"

#define LSP_SRTIN_KEY_MAX 512

typedef struct {
	const char *host;       /* listen address ("" any), or NULL for no listener */
	int port;
	const char *call_host;  /* caller mode: remote listener, NULL for none */
	int call_port;
	const char *call_streamid; /* sent in caller mode; its key is the stream key */
	const char *passphrase; /* NULL or "": no encryption; else 10..79 chars */
	int pbkeylen;           /* 0 (default 16), 16, 24, 32 */
	int latency_ms;         /* receiver latency, 0: libsrt default (120) */
	int backlog;            /* connections waiting to be taken, at most */
	/* 0 accept, else refuse with *reason (a static text) */
	int (*check)(void *ctx, const char *key, const char *remote, const char **reason);
	void *ctx;              /* for check */
	lsp_event_fn event;     /* what happened (may be NULL) */
	void *event_ctx;
} lsp_srtin_cfg;

typedef struct lsp_srtin lsp_srtin;

/* Start libsrt, the listener and/or the caller. cfg and its strings must
 * outlive the object.  Negative code and err on failure, nothing left. */
int lsp_srtin_open(lsp_srtin **out, const lsp_srtin_cfg *cfg, char *err, size_t errcap);
/* Readable while connections wait to be taken. */
int lsp_srtin_fd(const lsp_srtin *s);
/* Take one: 0 and *fd (the caller owns it), the stream key and the remote
 * address; -EAGAIN when none waits. */
int lsp_srtin_take(lsp_srtin *s, int *fd, char *key, size_t keycap, char *remote, size_t remcap);
/* Stop listening and calling; running pumps end as their readers go. */
void lsp_srtin_stop(lsp_srtin *s);
/* Stop, wait up to timeout_ms for the pumps, free, srt_cleanup. */
void lsp_srtin_close(lsp_srtin *s, int timeout_ms);

/* The stream key in an SRT streamid: the access-control form
 * "#!::r=KEY,m=publish" (other keys ignored; m absent or publish) or the
 * whole string as a plain key.  0, -EINVAL (empty, malformed, too long,
 * no r=), -EPERM (m= other than publish). */
int lsp_srtin_streamid_key(const char *sid, char *key, size_t cap);

#endif
