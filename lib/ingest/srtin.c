/* srtin.c — SRT ingest transport; see srtin.h.
 *
 * Threads: the accept thread (blocking srt_accept on the listener), the
 * caller thread (connect, pump inline, redial after 2 s), and one detached
 * pump thread per accepted connection.  Shared state (the queue of
 * handed-over connections, the pump count, the stop flag) sits under one
 * mutex.  The listener hook runs on libsrt's receive thread.  SRT binds
 * its own UDP socket (srt_bind/srt_listen: its own stack, not core/net);
 * peer addresses are written by lsp_net_addr_str like every other tool's. */
#include "ingest/srtin.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srt/access_control.h>
#include <srt/srt.h>

#include "core/net.h"

#define QCAP 32

struct handoff {
	int fd;
	char key[LSP_SRTIN_KEY_MAX + 1];
	char remote[80];
};

struct lsp_srtin {
	const lsp_srtin_cfg *cfg;
	SRTSOCKET lsn;
	int started, accept_on, call_on;
	pthread_t acc, call;
	int notify[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, pumps, qn;
	struct handoff q[QCAP];
	SRTSOCKET call_sock;
};

struct pump {
	lsp_srtin *s;
	SRTSOCKET sock;
	int fd;
	char remote[80];
};

int lsp_srtin_streamid_key(const char *sid, char *key, size_t cap)
{
	size_t n = strlen(sid);
	const char *p, *r = NULL;
	size_t rl = 0;
	if (cap == 0)
		return -EINVAL;
	key[0] = 0;
	if (n == 0 || n > LSP_SRTIN_KEY_MAX)
		return -EINVAL;
	if (strncmp(sid, "#!::", 4) != 0) {
		if (n >= cap)
			return -EINVAL;
		memcpy(key, sid, n + 1);
		return 0;
	}
	for (p = sid + 4; *p;) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (!eq || eq == p)
			return -EINVAL;
		if (eq - p == 1 && p[0] == 'r') {
			r = eq + 1;
			rl = len - 2;
		} else if (eq - p == 1 && p[0] == 'm') {
			if (len - 2 != 7 || strncmp(eq + 1, "publish", 7) != 0)
				return -EPERM;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!r || rl == 0 || rl >= cap)
		return -EINVAL;
	memcpy(key, r, rl);
	key[rl] = 0;
	return 0;
}

/* An event with the fields every SRT event carries (srtin.h). */
static void say(lsp_srtin *s, int level, const char *name, const char *remote, const char *reason)
{
	lsp_event_emit(s->cfg->event, s->cfg->event_ctx, level, name, "proto", LSV_S("srt"), "remote",
		       LSV_S(remote ? remote : ""), "reason", LSV_S(reason ? reason : ""), NULL);
}

static int stopping(lsp_srtin *s)
{
	int v;
	pthread_mutex_lock(&s->mu);
	v = s->stop;
	pthread_mutex_unlock(&s->mu);
	return v;
}

/* libsrt's receive thread, during the handshake: refuse bad keys here. */
static int on_listen(void *opaq, SRTSOCKET ns, int hsv, const struct sockaddr *peer, const char *sid)
{
	lsp_srtin *s = opaq;
	char key[LSP_SRTIN_KEY_MAX + 1], remote[80];
	const char *reason = "unknown key";
	int rc;
	(void)hsv;
	lsp_net_addr_str(peer, 1, remote, sizeof remote);
	rc = lsp_srtin_streamid_key(sid ? sid : "", key, sizeof key);
	if (rc == -EPERM) {
		srt_setrejectreason(ns, SRT_REJX_BAD_MODE);
		say(s, LSP_WARN, "publish refused", remote, "streamid mode is not publish");
		return -1;
	}
	if (rc < 0 || (s->cfg->check && s->cfg->check(s->cfg->ctx, key, remote, &reason) != 0)) {
		memset(key, 0, sizeof key);
		srt_setrejectreason(ns, SRT_REJX_FORBIDDEN);
		say(s, LSP_WARN, "publish refused", remote, rc < 0 ? "no stream key in streamid" : reason);
		return -1;
	}
	memset(key, 0, sizeof key);
	return 0;
}

static void pump_run(lsp_srtin *s, SRTSOCKET sock, int fd, const char *remote)
{
	char buf[1500];
	const char *why = "peer closed";
	for (;;) {
		int n = srt_recvmsg(sock, buf, sizeof buf);
		if (n < 0) {
			int e = srt_getlasterror(NULL);
			if (e == SRT_ETIMEOUT || e == SRT_EASYNCRCV) { /* receive timeout */
				if (stopping(s)) {
					why = "shutdown";
					break;
				}
				continue;
			}
			why = srt_getlasterror_str();
			break;
		}
		for (int o = 0; o < n;) {
			ssize_t w = write(fd, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				why = "reader gone";
				goto out;
			}
			o += (int)w;
		}
	}
out:
	say(s, LSP_INFO, "srt connection closed", remote, why);
	close(fd);
	srt_close(sock);
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	lsp_srtin *s = p->s;
	pump_run(s, p->sock, p->fd, p->remote);
	free(p);
	pthread_mutex_lock(&s->mu);
	s->pumps--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queue the reader end of a new connection for lsp_srtin_take; *pumpfd
 * gets the writer end (-1 on failure). */
static int handoff(lsp_srtin *s, SRTSOCKET sock, int *pumpfd, const char *remote)
{
	char sid[LSP_SRTIN_KEY_MAX + 1] = "";
	int sidlen = sizeof sid - 1, sp[2], rc = -EAGAIN;
	struct handoff *h;
	*pumpfd = -1;
	if (s->cfg->call_streamid && sock == s->call_sock)
		snprintf(sid, sizeof sid, "%s", s->cfg->call_streamid);
	else if (srt_getsockflag(sock, SRTO_STREAMID, sid, &sidlen) < 0)
		sid[0] = 0;
	else
		sid[sidlen < (int)sizeof sid ? sidlen : (int)sizeof sid - 1] = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	pthread_mutex_lock(&s->mu);
	if (s->qn < QCAP && s->qn < (s->cfg->backlog > 0 ? s->cfg->backlog : QCAP)) {
		h = &s->q[s->qn++];
		h->fd = sp[1];
		if (lsp_srtin_streamid_key(sid, h->key, sizeof h->key) < 0)
			h->key[0] = 0;
		snprintf(h->remote, sizeof h->remote, "%s", remote);
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	memset(sid, 0, sizeof sid);
	if (rc < 0) {
		close(sp[0]);
		close(sp[1]);
		return rc;
	}
	if (write(s->notify[1], "c", 1) < 0 && errno != EAGAIN) {
		/* the queue entry still waits; the next notify wakes the taker */
	}
	*pumpfd = sp[0];
	return 0;
}

static void set_common(lsp_srtin *s, SRTSOCKET sock)
{
	const lsp_srtin_cfg *c = s->cfg;
	int yes = 1, tmo = 1000, tt = SRTT_LIVE;
	srt_setsockflag(sock, SRTO_TRANSTYPE, &tt, sizeof tt);
	srt_setsockflag(sock, SRTO_RCVTIMEO, &tmo, sizeof tmo);
	srt_setsockflag(sock, SRTO_ENFORCEDENCRYPTION, &yes, sizeof yes);
	if (c->latency_ms > 0)
		srt_setsockflag(sock, SRTO_LATENCY, &c->latency_ms, sizeof c->latency_ms);
	if (c->passphrase && *c->passphrase) {
		srt_setsockflag(sock, SRTO_PASSPHRASE, c->passphrase, (int)strlen(c->passphrase));
		if (c->pbkeylen)
			srt_setsockflag(sock, SRTO_PBKEYLEN, &c->pbkeylen, sizeof c->pbkeylen);
	}
}

static void *accept_main(void *arg)
{
	lsp_srtin *s = arg;
	for (;;) {
		struct sockaddr_storage sa;
		int sl = sizeof sa, fd;
		char remote[80];
		SRTSOCKET c = srt_accept(s->lsn, (struct sockaddr *)&sa, &sl);
		struct pump *p;
		pthread_t t;
		if (c == SRT_INVALID_SOCK) {
			if (stopping(s))
				break;
			say(s, LSP_WARN, "srt accept failed", NULL, srt_getlasterror_str());
			usleep(100000);
			continue;
		}
		lsp_net_addr_str((struct sockaddr *)&sa, 1, remote, sizeof remote);
		if (handoff(s, c, &fd, remote) < 0) {
			say(s, LSP_WARN, "connection refused", remote, "too many waiting connections");
			srt_close(c);
			continue;
		}
		if (!(p = malloc(sizeof *p))) {
			close(fd);
			srt_close(c);
			continue;
		}
		p->s = s;
		p->sock = c;
		p->fd = fd;
		snprintf(p->remote, sizeof p->remote, "%s", remote);
		pthread_mutex_lock(&s->mu);
		s->pumps++;
		pthread_mutex_unlock(&s->mu);
		if (pthread_create(&t, NULL, pump_main, p) != 0) {
			pthread_mutex_lock(&s->mu);
			s->pumps--;
			pthread_mutex_unlock(&s->mu);
			close(fd);
			srt_close(c);
			free(p);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static int resolve(const char *host, int port, struct sockaddr_storage *sa, int *sl, char *err, size_t errcap)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ps[16];
	int rc;
	hints.ai_family = AF_INET; /* libsrt sockets are per family; keep to IPv4 */
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(host && *host ? host : NULL, ps, &hints, &ai)) != 0) {
		snprintf(err, errcap, "resolve %s: %s", host && *host ? host : "*", gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	*sl = (int)ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void *call_main(void *arg)
{
	lsp_srtin *s = arg;
	const lsp_srtin_cfg *c = s->cfg;
	char remote[300], err[200];
	int logged = 0;
	snprintf(remote, sizeof remote, "%s:%d", c->call_host, c->call_port);
	while (!stopping(s)) {
		struct sockaddr_storage sa;
		int sl, fd;
		SRTSOCKET sock;
		if (resolve(c->call_host, c->call_port, &sa, &sl, err, sizeof err) < 0) {
			say(s, LSP_WARN, "srt call failed; retrying", remote, err);
			goto again;
		}
		sock = srt_create_socket();
		set_common(s, sock);
		if (c->call_streamid)
			srt_setsockflag(sock, SRTO_STREAMID, c->call_streamid, (int)strlen(c->call_streamid));
		if (srt_connect(sock, (struct sockaddr *)&sa, sl) < 0) {
			if (!logged++)
				say(s, LSP_WARN, "srt call failed; retrying every 2 s", remote, srt_getlasterror_str());
			srt_close(sock);
			goto again;
		}
		logged = 0;
		pthread_mutex_lock(&s->mu);
		s->call_sock = sock;
		pthread_mutex_unlock(&s->mu);
		if (handoff(s, sock, &fd, remote) < 0) {
			say(s, LSP_WARN, "connection refused", remote, "too many waiting connections");
			srt_close(sock);
			goto again;
		}
		say(s, LSP_INFO, "srt call connected", remote, NULL);
		pump_run(s, sock, fd, remote);
	again:
		for (int i = 0; i < 20 && !stopping(s); i++)
			usleep(100000);
	}
	return NULL;
}

int lsp_srtin_open(lsp_srtin **out, const lsp_srtin_cfg *cfg, char *err, size_t errcap)
{
	lsp_srtin *s = calloc(1, sizeof *s);
	struct sockaddr_storage sa;
	int sl, rc = -EIO;
	if (!s) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->cfg = cfg;
	s->lsn = SRT_INVALID_SOCK;
	s->call_sock = SRT_INVALID_SOCK;
	s->notify[0] = s->notify[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (cfg->passphrase && *cfg->passphrase &&
	    (strlen(cfg->passphrase) < 10 || strlen(cfg->passphrase) > 79)) {
		snprintf(err, errcap, "SRT passphrase must be 10 to 79 characters");
		rc = -EINVAL;
		goto fail;
	}
	if (pipe2(s->notify, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errcap, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (srt_startup() < 0) {
		snprintf(err, errcap, "srt_startup: %s", srt_getlasterror_str());
		goto fail;
	}
	s->started = 1;
	if (cfg->host) {
		if ((rc = resolve(cfg->host, cfg->port, &sa, &sl, err, errcap)) < 0)
			goto fail;
		rc = -EIO;
		s->lsn = srt_create_socket();
		set_common(s, s->lsn);
		if (s->lsn == SRT_INVALID_SOCK || srt_bind(s->lsn, (struct sockaddr *)&sa, sl) < 0 ||
		    srt_listen_callback(s->lsn, on_listen, s) < 0 || srt_listen(s->lsn, 16) < 0) {
			snprintf(err, errcap, "srt listen on port %d: %s", cfg->port, srt_getlasterror_str());
			goto fail;
		}
		if (pthread_create(&s->acc, NULL, accept_main, s) != 0) {
			snprintf(err, errcap, "thread: %s", strerror(errno));
			goto fail;
		}
		s->accept_on = 1;
	}
	if (cfg->call_host) {
		if (pthread_create(&s->call, NULL, call_main, s) != 0) {
			snprintf(err, errcap, "thread: %s", strerror(errno));
			goto fail;
		}
		s->call_on = 1;
	}
	*out = s;
	return 0;
fail:
	lsp_srtin_close(s, 0);
	return rc;
}

int lsp_srtin_fd(const lsp_srtin *s)
{
	return s->notify[0];
}

int lsp_srtin_take(lsp_srtin *s, int *fd, char *key, size_t keycap, char *remote, size_t remcap)
{
	char b[16];
	int rc = -EAGAIN;
	while (read(s->notify[0], b, sizeof b) > 0)
		;
	pthread_mutex_lock(&s->mu);
	if (s->qn > 0) {
		struct handoff *h = &s->q[0];
		*fd = h->fd;
		snprintf(key, keycap, "%s", h->key);
		snprintf(remote, remcap, "%s", h->remote);
		memset(h->key, 0, sizeof h->key);
		memmove(s->q, s->q + 1, sizeof s->q[0] * (size_t)(s->qn - 1));
		s->qn--;
		if (s->qn > 0 && write(s->notify[1], "c", 1) < 0) {
			/* full pipe: still readable */
		}
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void lsp_srtin_stop(lsp_srtin *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_mutex_unlock(&s->mu);
	if (s->lsn != SRT_INVALID_SOCK) {
		srt_close(s->lsn); /* wakes srt_accept */
		s->lsn = SRT_INVALID_SOCK;
	}
	if (s->accept_on) {
		pthread_join(s->acc, NULL);
		s->accept_on = 0;
	}
	if (s->call_on) {
		pthread_join(s->call, NULL);
		s->call_on = 0;
	}
}

void lsp_srtin_close(lsp_srtin *s, int timeout_ms)
{
	struct timespec until;
	if (!s)
		return;
	lsp_srtin_stop(s);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->pumps > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
		;
	for (int i = 0; i < s->qn; i++)
		close(s->q[i].fd);
	s->qn = 0;
	pthread_mutex_unlock(&s->mu);
	if (s->pumps > 0) /* pumps still running own s: leave it (process exit) */
		return;
	if (s->started)
		srt_cleanup();
	for (int i = 0; i < 2; i++)
		if (s->notify[i] >= 0)
			close(s->notify[i]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
