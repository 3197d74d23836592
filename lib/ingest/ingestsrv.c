/* ingestsrv.c — the lsp-ingest server; see ingestsrv.h.
 *
 * One poll loop in the parent over the signalfd, the listeners and the
 * SRT hand-over fd.  Each connection is served in a forked child that
 * keeps only its own fd (every other descriptor is closed) and a signalfd
 * for SIGTERM/SIGINT; the child never touches libsrt.  The child table is
 * a fixed array of max_conn pids.  libsrt's log handler and the SRT
 * handshake check run on libsrt's threads and read only the event hook and
 * the quiet flag.  Listening, accepting, peer addresses and the TLS
 * context come from lib/core/net (a blocking listener: the parent only
 * accepts when poll says a connection waits). */
#include "ingest/ingestsrv.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <srt/srt.h>

#include "core/exit.h"
#include "core/net.h"
#include "state/streamauth.h"

enum { PF_SIG, PF_RTMP, PF_RTMPS, PF_SRT, PF_N };

struct lsp_ingestsrv {
	lsp_ingest_cfg conn;       /* handed to each child; conn.remote = remote */
	lsp_srtin_cfg scfg;        /* SRT, as given plus our hooks */
	lsp_srtin *srt;            /* NULL without SRT */
	lsp_metrics *mx;           /* NULL without metrics */
	lsp_event_fn event;
	void *event_ctx;
	sigset_t mask;
	int fds[PF_N];
	const lsp_ingest_proto *proto[PF_N];
	pid_t *kids;
	int nkids, stopping, announced;
	long max_conn;
	atomic_int quiet;          /* stopping: libsrt's complaints about its closed listener are noise */
	char why[320];             /* a store failure's detail, for the refusal event */
	char remote[80];
	char key[LSP_SRTIN_KEY_MAX + 1];
	char outlock[600];
};

/* ---- hooks: stream keys, events, libsrt ---- */

static int auth(void *c, const char *key, char *channel, size_t cap, const char **reason)
{
	lsp_ingestsrv *s = c;
	char err[256];
	int rc = lsp_streamauth_check(NULL, key, channel, cap, reason, err, sizeof err);
	if (rc < 0) {
		snprintf(s->why, sizeof s->why, "store unavailable: %s", err);
		*reason = s->why;
	}
	return rc == LSP_STREAMAUTH_OK ? 0 : -1;
}

/* SRT handshake hook (a libsrt thread): the same check, nothing shared. */
static int srt_check(void *c, const char *key, const char *remote, const char **reason)
{
	char channel[128], err[256];
	int rc = lsp_streamauth_check(NULL, key, channel, sizeof channel, reason, err, sizeof err);
	(void)c;
	(void)remote;
	return rc == LSP_STREAMAUTH_OK ? 0 : -1;
}

/* libsrt's own warnings (a wrong passphrase shows up only here). */
static void srt_log(void *c, int level, const char *file, int line, const char *area, const char *msg)
{
	lsp_ingestsrv *s = c;
	size_t n = strlen(msg);
	char m[512];
	const char *what = "srt library";
	(void)file;
	(void)line;
	(void)area;
	if (atomic_load(&s->quiet))
		return;
	if (strstr(msg, "passphrase") || strstr(msg, "BADSECRET"))
		what = "srt handshake refused: wrong or missing passphrase";
	else if (strstr(msg, "rejection reason") || strstr(msg, "PREDEFINED"))
		return; /* our own refusal at the handshake, already logged with its reason */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	snprintf(m, sizeof m, "%.*s", (int)(n < sizeof m ? n : sizeof m - 1), msg);
	lsp_event_emit(s->event, s->event_ctx, level <= LOG_ERR ? LSP_ERROR : LSP_WARN, what, "proto", LSV_S("srt"),
		       "detail", LSV_S(m), NULL);
}

/* A connection's event (in the child): counted by its name, then passed
 * on.  A kicked publish also ends with "publish stopped", which is what
 * takes it off the live gauge. */
static void on_conn_event(void *c, const lsp_event *ev)
{
	const lsp_ingestsrv *s = c;
	if (lsp_event_is(ev, LSP_INGEST_EV_STARTED)) {
		lsp_metrics_add(s->mx, "lsp_ingest_live_channels", 1, NULL);
		lsp_metrics_add(s->mx, "lsp_ingest_publishes_total", 1, NULL);
	} else if (lsp_event_is(ev, LSP_INGEST_EV_STOPPED)) {
		const char *ch = lsp_event_str(ev, "channel");
		lsp_metrics_add(s->mx, "lsp_ingest_live_channels", -1, NULL);
		lsp_metrics_add(s->mx, "lsp_ingest_bytes_in_total", (double)lsp_event_int(ev, "bytes", 0), "channel",
				ch ? ch : "", NULL);
	} else if (lsp_event_is(ev, LSP_INGEST_EV_REFUSED)) {
		lsp_metrics_add(s->mx, "lsp_ingest_refused_total", 1, NULL);
	}
	if (ev->level >= LSP_WARN && ev->name)
		lsp_metrics_add(s->mx, "lsp_ingest_errors_total", 1, "kind", ev->name, NULL);
	if (s->event)
		s->event(s->event_ctx, ev);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- open, SRT, metrics ---- */

int lsp_ingestsrv_open(lsp_ingestsrv **out, const lsp_ingestsrv_cfg *cfg, char *err, size_t errcap)
{
	lsp_ingestsrv *s;
	const lsp_ingest_cfg *c = &cfg->conn;
	*out = NULL;
	if (!(s = calloc(1, sizeof *s)) || !(s->kids = calloc((size_t)cfg->max_conn, sizeof *s->kids))) {
		free(s);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (int i = 0; i < PF_N; i++)
		s->fds[i] = -1;
	s->conn = *c;
	s->conn.auth = auth;
	s->conn.ctx = s;
	s->conn.event = on_conn_event;
	s->conn.event_ctx = s;
	s->conn.remote = s->remote;
	s->conn.tls = NULL;
	s->conn.out_lock = NULL;
	if (!c->exec_tmpl && !(c->out_tmpl && strstr(c->out_tmpl, "{channel}"))) {
		/* one shared output: one publish at a time, or the TS would interleave */
		snprintf(s->outlock, sizeof s->outlock, "%s/output-%ld.lock", c->run_dir ? c->run_dir : ".",
			 (long)getpid());
		s->conn.out_lock = s->outlock;
	}
	s->event = cfg->event;
	s->event_ctx = cfg->event_ctx;
	s->mask = *cfg->mask;
	s->max_conn = cfg->max_conn;
	s->proto[PF_RTMP] = lsp_ingest_proto_find("rtmp");
	s->proto[PF_RTMPS] = lsp_ingest_proto_find("rtmps");
	s->proto[PF_SRT] = lsp_ingest_proto_find("srt");
	if ((s->fds[PF_SIG] = signalfd(-1, &s->mask, SFD_CLOEXEC)) < 0) {
		snprintf(err, errcap, "%s", strerror(errno));
		goto fail;
	}
	/* blocking listeners: accept only when poll says one waits */
	if ((s->fds[PF_RTMP] = lsp_net_listen(cfg->host, cfg->port, SOCK_STREAM, 0, err, errcap)) < 0 ||
	    (cfg->tls_port &&
	     (s->fds[PF_RTMPS] = lsp_net_listen(cfg->tls_host, cfg->tls_port, SOCK_STREAM, 0, err, errcap)) < 0) ||
	    (cfg->tls_port && !(s->conn.tls = lsp_net_tls_server(cfg->cert, cfg->key, err, errcap))))
		goto fail;
	*out = s;
	return 0;
fail:
	s->conn.out_lock = NULL; /* nothing was ever locked */
	lsp_ingestsrv_close(s);
	return -1;
}

int lsp_ingestsrv_srt(lsp_ingestsrv *s, const lsp_srtin_cfg *srt, char *err, size_t errcap)
{
	int rc;
	s->scfg = *srt;
	s->scfg.backlog = (int)s->max_conn;
	s->scfg.check = srt_check;
	s->scfg.ctx = s;
	s->scfg.event = s->event; /* SRT's events are logged, not counted */
	s->scfg.event_ctx = s->event_ctx;
	srt_setloglevel(LOG_WARNING);
	srt_setloghandler(s, srt_log);
	if ((rc = lsp_srtin_open(&s->srt, &s->scfg, err, errcap)) < 0)
		return rc;
	s->fds[PF_SRT] = lsp_srtin_fd(s->srt);
	return 0;
}

void lsp_ingestsrv_metrics(lsp_ingestsrv *s, lsp_metrics *mx)
{
	lsp_metrics_def(mx, "lsp_ingest_live_channels", LSP_METRIC_GAUGE, "channels publishing now");
	lsp_metrics_def(mx, "lsp_ingest_connections", LSP_METRIC_GAUGE, "connections being served");
	lsp_metrics_def(mx, "lsp_ingest_publishes_total", LSP_METRIC_COUNTER, "publishes started");
	lsp_metrics_def(mx, "lsp_ingest_refused_total", LSP_METRIC_COUNTER, "publishes refused");
	lsp_metrics_def(mx, "lsp_ingest_bytes_in_total", LSP_METRIC_COUNTER, "bytes received, by channel (at publish end)");
	lsp_metrics_def(mx, "lsp_ingest_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
	s->mx = mx;
}

/* ---- children ---- */

/* In the forked child: serve one connection; returns its exit status. */
static int child(lsp_ingestsrv *s, const lsp_ingest_proto *proto, int cfd, const char *key)
{
	char err[256] = "";
	struct timeval tv = { 10, 0 };
	sigset_t stop = s->mask;
	int stopfd, rc;
	/* only the connection: the parent's listeners and other connections'
	 * fds (SRT hand-over pipes above all) must not stay open here */
	if (cfd > 3)
		close_range(3, (unsigned)cfd - 1, 0);
	close_range((unsigned)cfd + 1, ~0U, 0);
	sigdelset(&stop, SIGCHLD); /* an --exec command ending is not a stop */
	stopfd = signalfd(-1, &stop, SFD_CLOEXEC);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	rc = proto->serve(&s->conn, cfd, stopfd, key, err, sizeof err);
	if (rc < 0)
		lsp_event_emit(s->event, s->event_ctx, LSP_ERROR, "connection failed", "proto", LSV_S(proto->name),
			       "remote", LSV_S(s->remote), "reason", LSV_S(err), NULL);
	close(cfd);
	return rc < 0 ? LSP_EXIT_SYS : rc;
}

/* Fork a child for one connection: 0 in the parent (which keeps the pid),
 * LSP_INGESTSRV_CHILD in the child once it is done, with *status. */
static int spawn(lsp_ingestsrv *s, const lsp_ingest_proto *proto, int cfd, const char *key, int *status)
{
	pid_t p;
	if (s->nkids >= s->max_conn) {
		lsp_event_emit(s->event, s->event_ctx, LSP_WARN, "connection refused", "proto", LSV_S(proto->name),
			       "remote", LSV_S(s->remote), "reason", LSV_S("too many connections"), NULL);
		return 0;
	}
	if ((p = fork()) < 0) {
		lsp_event_emit(s->event, s->event_ctx, LSP_ERROR, "fork failed", "reason", LSV_S(strerror(errno)), NULL);
		return 0;
	}
	if (p == 0) {
		*status = child(s, proto, cfd, key);
		return LSP_INGESTSRV_CHILD;
	}
	s->kids[s->nkids++] = p;
	return 0;
}

/* A signal: start the stop on SIGTERM/SIGINT, reap what ended.  -1 when
 * the signalfd gave no whole record. */
static int on_signal(lsp_ingestsrv *s)
{
	struct signalfd_siginfo si;
	pid_t p;
	int st;
	if (read(s->fds[PF_SIG], &si, sizeof si) != sizeof si)
		return -1;
	if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !s->stopping) {
		s->stopping = 1;
		atomic_store(&s->quiet, 1);
		close_fd(&s->fds[PF_RTMP]);
		close_fd(&s->fds[PF_RTMPS]);
		lsp_srtin_stop(s->srt);
		lsp_event_emit(s->event, s->event_ctx, LSP_INFO, "stopping", "connections", LSV_I(s->nkids), NULL);
		for (int i = 0; i < s->nkids; i++)
			kill(s->kids[i], SIGTERM);
	}
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < s->nkids; i++)
			if (s->kids[i] == p) {
				s->kids[i] = s->kids[--s->nkids];
				break;
			}
	return 0;
}

/* "listening": the listeners are open and SRT started — ready. */
static void announce(lsp_ingestsrv *s)
{
	int port = lsp_net_port(s->fds[PF_RTMP]);
	int tport = s->fds[PF_RTMPS] >= 0 ? lsp_net_port(s->fds[PF_RTMPS]) : 0;
	s->announced = 1;
	lsp_event_emit(s->event, s->event_ctx, LSP_INFO, "listening", "port", LSV_I(port), "app",
		       LSV_S(s->conn.app ? s->conn.app : ""), "rtmps_port", LSV_I(tport > 0 ? tport : 0), "srt_port",
		       LSV_I(s->srt ? s->scfg.port : 0), "srt_encrypted",
		       LSV_S(s->srt && s->scfg.passphrase && *s->scfg.passphrase ? "yes" : "no"), NULL);
}

int lsp_ingestsrv_run(lsp_ingestsrv *s, int *status)
{
	if (!s->announced)
		announce(s);
	while (!s->stopping || s->nkids > 0) {
		struct pollfd pf[PF_N];
		int rc;
		lsp_metrics_set(s->mx, "lsp_ingest_connections", (double)s->nkids, NULL);
		for (int i = 0; i < PF_N; i++)
			pf[i] = (struct pollfd){ i == PF_SIG || !s->stopping ? s->fds[i] : -1, POLLIN, 0 };
		rc = poll(pf, PF_N, s->stopping ? 10000 : -1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc == 0 && s->stopping) { /* a child stuck writing to a stalled downstream */
			lsp_event_emit(s->event, s->event_ctx, LSP_WARN, "killing connections that did not stop",
				       "connections", LSV_I(s->nkids), NULL);
			for (int i = 0; i < s->nkids; i++)
				kill(s->kids[i], SIGKILL);
		}
		if ((pf[PF_SIG].revents & POLLIN) && on_signal(s) < 0)
			continue;
		for (int i = PF_RTMP; !s->stopping && i <= PF_RTMPS; i++) {
			int cfd;
			if (!(pf[i].revents & POLLIN) || (cfd = lsp_net_accept(s->fds[i], 0, s->remote, sizeof s->remote)) < 0)
				continue;
			if (spawn(s, s->proto[i], cfd, NULL, status) == LSP_INGESTSRV_CHILD)
				return LSP_INGESTSRV_CHILD;
			close(cfd);
		}
		if (!s->stopping && (pf[PF_SRT].revents & POLLIN)) {
			int cfd;
			while (lsp_srtin_take(s->srt, &cfd, s->key, sizeof s->key, s->remote, sizeof s->remote) == 0) {
				if (spawn(s, s->proto[PF_SRT], cfd, s->key, status) == LSP_INGESTSRV_CHILD)
					return LSP_INGESTSRV_CHILD;
				memset(s->key, 0, sizeof s->key);
				close(cfd);
			}
		}
	}
	return 0;
}

void lsp_ingestsrv_close(lsp_ingestsrv *s)
{
	if (!s)
		return;
	atomic_store(&s->quiet, 1);
	lsp_srtin_close(s->srt, 2000);
	if (s->scfg.ctx) /* libsrt is done: its log handler no longer points here */
		srt_setloghandler(NULL, NULL);
	SSL_CTX_free(s->conn.tls);
	for (int i = PF_SIG; i <= PF_RTMPS; i++)
		close_fd(&s->fds[i]);
	free(s->kids);
	if (s->conn.out_lock)
		unlink(s->conn.out_lock);
	free(s);
}
