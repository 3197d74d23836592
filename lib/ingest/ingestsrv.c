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
 * accepts when poll says a connection waits).
 *
 * Limits: a new connection waits in the parent's poll set (no fork) until
 * its first bytes arrive, at most the handshake timeout and PENDING_MAX at
 * once (then the oldest waiting is closed), so idle sockets cost a
 * descriptor, never a process.  Each child's table entry knows when it was
 * accepted and its client's address; a page of shared memory (MAP_SHARED, one flag per
 * entry) is where a child says it is publishing.  When max_conn children
 * run, the oldest that is not publishing yet is killed to make room, so
 * idle sockets cannot lock publishers out; one address holds at most
 * max_per_addr connections (core/peercap); refusals are logged once a
 * second with the count held back. */
#include "ingest/ingestsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <srt/srt.h>

#include "core/exit.h"
#include "core/clock.h"
#include "core/net.h"
#include "core/peercap.h"
#include "core/ratelim.h"
#include "core/spawn.h"
#include "state/streamauth.h"

enum { PF_SIG, PF_RTMP, PF_RTMPS, PF_SRT, PF_N };

#define EVICT_SLACK 64     /* killed children not reaped yet, on top of max_conn */
#define PENDING_MAX 4096   /* connections waiting for their first bytes, in the parent */

struct pend {
	int fd, pf;            /* the connection; the listener it came from (PF_RTMP, PF_RTMPS) */
	int64_t t0;
	char remote[80];       /* "addr:port" */
	char addr[48];         /* without the port */
};

struct kid {
	pid_t pid;
	int slot;              /* index into the shared publishing flags */
	int evicted;           /* killed to make room; not counted any more */
	int64_t t0;            /* accepted (monotonic ms) */
	char addr[48];         /* the client's address, without the port */
};

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
	struct kid *kids;
	int nkids, nevicted, stopping, announced;
	long max_conn, max_per_addr;
	atomic_int *publishing;    /* shared with the children: one flag per slot */
	int flagsfd;               /* the memfd behind publishing (an exec'd child maps it) */
	size_t nflags;             /* flags in that mapping */
	int *free_slots, nfree, myslot;
	char **xargv;              /* exec'd children: argv[0], the child flag, spec, the rest; NULL: plain fork */
	char spec[256];            /* xargv[2]: what the next child serves */
	char childflag[32];        /* xargv[1] */
	lsp_peercap *peers;
	lsp_ratelim refuse_rl;
	int reserve;               /* a descriptor kept for shedding at EMFILE */
	struct pend *pend;         /* PENDING_MAX */
	int npend;
	struct pollfd *pfd;        /* PF_N + PENDING_MAX */
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
		if (s->publishing && s->myslot >= 0)
			atomic_store(&s->publishing[s->myslot], 1); /* no longer evictable */
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

/* The per-connection settings every child gets: cfg's, wired to the
 * server's hooks, and the shared-output lock file of the server process
 * lock_pid (in an exec'd child: its parent). */
static void conn_setup(lsp_ingestsrv *s, const lsp_ingestsrv_cfg *cfg, long lock_pid)
{
	const lsp_ingest_cfg *c = &cfg->conn;
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
		snprintf(s->outlock, sizeof s->outlock, "%s/output-%ld.lock", c->run_dir ? c->run_dir : ".", lock_pid);
		s->conn.out_lock = s->outlock;
	}
	s->event = cfg->event;
	s->event_ctx = cfg->event_ctx;
	s->mask = *cfg->mask;
}

/* The argv an exec'd child runs: cfg->argv[0], cfg->child_flag, s->spec
 * (filled before each fork), then cfg->argv[1..].  One
 * allocation; NULL when out of memory. */
static char **exec_argv(const lsp_ingestsrv_cfg *cfg, lsp_ingestsrv *s)
{
	char **v = calloc((size_t)cfg->argc + 3, sizeof *v);
	if (!v)
		return NULL;
	snprintf(s->childflag, sizeof s->childflag, "%s", cfg->child_flag ? cfg->child_flag : "--serve-child");
	v[0] = cfg->argv[0];
	v[1] = s->childflag;
	v[2] = s->spec;
	for (int i = 1; i < cfg->argc; i++)
		v[i + 2] = cfg->argv[i];
	return v;
}

int lsp_ingestsrv_open(lsp_ingestsrv **out, const lsp_ingestsrv_cfg *cfg, char *err, size_t errcap)
{
	lsp_ingestsrv *s;
	*out = NULL;
	size_t nk = (size_t)(cfg->max_conn > 0 ? cfg->max_conn : 1) + EVICT_SLACK;
	if (!(s = calloc(1, sizeof *s)) || !(s->kids = calloc(nk, sizeof *s->kids)) ||
	    !(s->free_slots = calloc(nk, sizeof *s->free_slots)) ||
	    !(s->peers = lsp_peercap_new((int)nk + PENDING_MAX)) || !(s->pend = calloc(PENDING_MAX, sizeof *s->pend)) ||
	    !(s->pfd = calloc(PF_N + PENDING_MAX, sizeof *s->pfd)) ||
	    (s->flagsfd = memfd_create("lsp-ingest-flags", MFD_CLOEXEC)) < 0 ||
	    ftruncate(s->flagsfd, (off_t)(nk * sizeof *s->publishing)) < 0 ||
	    (s->publishing = mmap(NULL, nk * sizeof *s->publishing, PROT_READ | PROT_WRITE, MAP_SHARED, s->flagsfd,
				  0)) == MAP_FAILED ||
	    (cfg->argv && !(s->xargv = exec_argv(cfg, s)))) {
		if (s) {
			if (s->publishing && s->publishing != MAP_FAILED)
				munmap(s->publishing, nk * sizeof *s->publishing);
			if (s->flagsfd > 0)
				close(s->flagsfd);
			free(s->pend);
			free(s->pfd);
			free(s->kids);
			free(s->free_slots);
			lsp_peercap_free(s->peers);
		}
		free(s);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (int i = 0; i < PF_N; i++)
		s->fds[i] = -1;
	s->nflags = nk;
	s->reserve = lsp_net_reserve_open();
	/* descriptors: the waiting connections, the children's in flight, spares */
	(void)lsp_net_raise_nofile((long)PENDING_MAX + (long)nk + 256);
	conn_setup(s, cfg, (long)getpid());
	s->max_conn = cfg->max_conn > 0 ? cfg->max_conn : 1;
	s->max_per_addr = cfg->max_per_addr;
	s->myslot = -1;
	for (size_t i = nk; i > 0; i--)
		s->free_slots[s->nfree++] = (int)i - 1;
	s->proto[PF_RTMP] = lsp_ingest_proto_find("rtmp");
	s->proto[PF_RTMPS] = lsp_ingest_proto_find("rtmps");
	s->proto[PF_SRT] = lsp_ingest_proto_find("srt");
	if ((s->fds[PF_SIG] = signalfd(-1, &s->mask, SFD_CLOEXEC)) < 0) {
		snprintf(err, errcap, "%s", strerror(errno));
		goto fail;
	}
	/* non-blocking listeners (a burst is accepted in one wake-up); the
	 * connections themselves stay blocking for the children */
	if ((s->fds[PF_RTMP] = lsp_net_listen(cfg->host, cfg->port, SOCK_STREAM, LSP_NET_NONBLOCK, err, errcap)) < 0 ||
	    (cfg->tls_port && (s->fds[PF_RTMPS] = lsp_net_listen(cfg->tls_host, cfg->tls_port, SOCK_STREAM,
								  LSP_NET_NONBLOCK, err, errcap)) < 0) ||
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
	lsp_metrics_def(mx, "lsp_ingest_connections_refused_total", LSP_METRIC_COUNTER,
			"connections closed at accept, by reason");
	lsp_metrics_def(mx, "lsp_ingest_connections_evicted_total", LSP_METRIC_COUNTER,
			"connections not publishing yet, closed to make room for a new one");
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

/* One refusal, logged once a second at most with the count held back. */
static void refuse(lsp_ingestsrv *s, const lsp_ingest_proto *proto, const char *why)
{
	long long held = 0;
	lsp_metrics_add(s->mx, "lsp_ingest_connections_refused_total", 1, "reason", why, NULL);
	if (lsp_ratelim_ok(&s->refuse_rl, lsp_clock_mono_ms(), 1000, &held))
		lsp_event_emit(s->event, s->event_ctx, LSP_WARN, "connection refused", "proto", LSV_S(proto->name),
			       "remote", LSV_S(s->remote), "reason", LSV_S(why), "suppressed", LSV_I(held), NULL);
}

/* Room for one more: kill the oldest child that is not publishing yet.
 * 1 when one was killed (its entry stays until it is reaped). */
static int evict(lsp_ingestsrv *s)
{
	struct kid *old = NULL;
	for (int i = 0; i < s->nkids; i++) {
		struct kid *k = &s->kids[i];
		if (!k->evicted && !atomic_load(&s->publishing[k->slot]) && (!old || k->t0 < old->t0))
			old = k;
	}
	if (!old)
		return 0;
	kill(old->pid, SIGKILL);
	old->evicted = 1;
	s->nevicted++;
	lsp_peercap_del(s->peers, old->addr);
	lsp_metrics_add(s->mx, "lsp_ingest_connections_evicted_total", 1, NULL);
	return 1;
}

/* The client's address without the port, from s->remote ("a:p", "[v6]:p"). */
static void remote_addr(const lsp_ingestsrv *s, char *out, size_t cap)
{
	const char *r = s->remote, *colon = strrchr(r, ':');
	size_t n = colon ? (size_t)(colon - r) : strlen(r);
	if (n >= 2 && r[0] == '[' && r[n - 1] == ']') {
		r++;
		n -= 2;
	}
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), r);
}

/* Before an exec'd child's fork: the SRT key (if any) into a pipe whose
 * read end the child inherits, and the spec the child parses
 * (lsp_ingestsrv_child) into s->spec.  0, or -1 with errno. */
static int exec_prepare(lsp_ingestsrv *s, const lsp_ingest_proto *proto, int cfd, const char *key, int slot,
			int keyfd[2])
{
	int n;
	if (key && *key) {
		size_t len = strlen(key);
		if (pipe2(keyfd, O_CLOEXEC) < 0)
			return -1;
		/* under PIPE_BUF (LSP_SRTIN_KEY_MAX): one write, never blocks */
		if (write(keyfd[1], key, len) != (ssize_t)len) {
			close(keyfd[0]);
			close(keyfd[1]);
			keyfd[0] = -1;
			errno = EIO;
			return -1;
		}
		close(keyfd[1]);
		keyfd[1] = -1;
	}
	n = snprintf(s->spec, sizeof s->spec, "%s,%d,%d,%d,%zu,%d,%d,%ld,%s", proto->name, cfd, slot, s->flagsfd,
		     s->nflags, lsp_metrics_shared_fd(s->mx), keyfd[0], (long)getpid(), s->remote);
	if (n < 0 || (size_t)n >= sizeof s->spec) {
		if (keyfd[0] >= 0)
			close(keyfd[0]);
		keyfd[0] = -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Fork a child for one connection from addr (already counted in s->peers;
 * the child's entry now holds that count): 0 in the parent (which keeps
 * the pid), LSP_INGESTSRV_CHILD in the child once it is done, with *status. */
static int spawn(lsp_ingestsrv *s, const lsp_ingest_proto *proto, int cfd, const char *key, const char *addr,
		 int *status)
{
	pid_t p;
	int slot, keyfd[2] = { -1, -1 }, mxfd = lsp_metrics_shared_fd(s->mx); /* the creator's only: before fork */
	if (s->nkids - s->nevicted >= s->max_conn)
		evict(s);
	if (s->nkids - s->nevicted >= s->max_conn || s->nfree == 0) {
		lsp_peercap_del(s->peers, addr);
		refuse(s, proto, "too many connections");
		return 0;
	}
	slot = s->free_slots[--s->nfree];
	atomic_store(&s->publishing[slot], 0);
	if (s->xargv && exec_prepare(s, proto, cfd, key, slot, keyfd) < 0) {
		lsp_event_emit(s->event, s->event_ctx, LSP_ERROR, "fork failed", "reason", LSV_S(strerror(errno)), NULL);
		s->free_slots[s->nfree++] = slot;
		lsp_peercap_del(s->peers, addr);
		return 0;
	}
	if ((p = fork()) < 0) {
		lsp_event_emit(s->event, s->event_ctx, LSP_ERROR, "fork failed", "reason", LSV_S(strerror(errno)), NULL);
		s->free_slots[s->nfree++] = slot;
		lsp_peercap_del(s->peers, addr);
		if (keyfd[0] >= 0)
			close(keyfd[0]);
		return 0;
	}
	if (p == 0 && s->xargv) { /* the connection, the flags, the metrics and the key pipe cross the exec */
		int keep[4] = { cfd, s->flagsfd, mxfd, keyfd[0] };
		lsp_spawn_self(keep, 4, s->xargv);
	}
	if (p == 0) {
		s->myslot = slot;
		*status = child(s, proto, cfd, key);
		return LSP_INGESTSRV_CHILD;
	}
	if (keyfd[0] >= 0)
		close(keyfd[0]);
	s->kids[s->nkids++] = (struct kid){ .pid = p, .slot = slot, .t0 = lsp_clock_mono_ms() };
	snprintf(s->kids[s->nkids - 1].addr, sizeof s->kids[s->nkids - 1].addr, "%s", addr);
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
			kill(s->kids[i].pid, SIGTERM);
	}
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < s->nkids; i++)
			if (s->kids[i].pid == p) {
				struct kid *k = &s->kids[i];
				if (k->evicted)
					s->nevicted--;
				else
					lsp_peercap_del(s->peers, k->addr);
				s->free_slots[s->nfree++] = k->slot;
				*k = s->kids[--s->nkids];
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

/* A connection accepted from listener i: counted against its address,
 * then it waits in the parent's poll set for its first bytes.  0, or
 * -EAGAIN when nobody was waiting. */
static int on_accept(lsp_ingestsrv *s, int i)
{
	struct pend *p;
	char addr[48];
	int cfd = lsp_net_accept(s->fds[i], 0, s->remote, sizeof s->remote), rc;
	if (cfd == -EMFILE || cfd == -ENFILE) {
		snprintf(s->remote, sizeof s->remote, "?");
		refuse(s, s->proto[i], "out of descriptors");
		return lsp_net_shed(s->fds[i], &s->reserve) == 0 ? 0 : -EAGAIN;
	}
	if (cfd < 0)
		return -EAGAIN;
	remote_addr(s, addr, sizeof addr);
	if ((rc = lsp_peercap_add(s->peers, addr, (int)s->max_per_addr)) < 0) {
		refuse(s, s->proto[i], rc == -EUSERS ? "too many connections from this address" : "too many connections");
		close(cfd);
		return 0;
	}
	if (s->npend == PENDING_MAX) { /* the oldest waiting makes room (they are in arrival order) */
		lsp_peercap_del(s->peers, s->pend[0].addr);
		close(s->pend[0].fd);
		memmove(&s->pend[0], &s->pend[1], (size_t)(--s->npend) * sizeof *s->pend);
		lsp_metrics_add(s->mx, "lsp_ingest_connections_evicted_total", 1, NULL);
	}
	p = &s->pend[s->npend++];
	*p = (struct pend){ .fd = cfd, .pf = i, .t0 = lsp_clock_mono_ms() };
	snprintf(p->remote, sizeof p->remote, "%s", s->remote);
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	return 0;
}

/* Waiting connections: those with bytes (or a hang-up) go to a child,
 * those past the handshake timeout are closed.  pf holds the poll results
 * for the first n of them.  LSP_INGESTSRV_CHILD in a forked child. */
static int on_pending(lsp_ingestsrv *s, const struct pollfd *pf, int n, int *status)
{
	int64_t now = lsp_clock_mono_ms(), tmo = (int64_t)(s->conn.hs_timeout_s > 0 ? s->conn.hs_timeout_s : 10) * 1000;
	int j = 0;
	for (int i = 0; i < s->npend; i++) {
		struct pend p = s->pend[i];
		int ready = i < n && pf[i].fd == p.fd && pf[i].revents;
		char b;
		if (ready && recv(p.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) { /* gone before a byte: no fork */
			lsp_peercap_del(s->peers, p.addr);
			close(p.fd);
			continue;
		}
		if (!ready && now - p.t0 < tmo) {
			s->pend[j++] = p; /* keeps arrival order */
			continue;
		}
		if (!ready) {
			snprintf(s->remote, sizeof s->remote, "%s", p.remote);
			refuse(s, s->proto[p.pf], "no handshake before the timeout");
			lsp_peercap_del(s->peers, p.addr);
		} else {
			snprintf(s->remote, sizeof s->remote, "%s", p.remote);
			if (spawn(s, s->proto[p.pf], p.fd, NULL, p.addr, status) == LSP_INGESTSRV_CHILD)
				return LSP_INGESTSRV_CHILD;
		}
		close(p.fd);
	}
	s->npend = j;
	return 0;
}

int lsp_ingestsrv_run(lsp_ingestsrv *s, int *status)
{
	if (!s->announced)
		announce(s);
	while (!s->stopping || s->nkids > 0) {
		struct pollfd *pf = s->pfd;
		int rc, n = s->stopping ? 0 : s->npend;
		lsp_metrics_set(s->mx, "lsp_ingest_connections", (double)(s->nkids - s->nevicted + s->npend), NULL);
		for (int i = 0; i < PF_N; i++)
			pf[i] = (struct pollfd){ i == PF_SIG || !s->stopping ? s->fds[i] : -1, POLLIN, 0 };
		for (int i = 0; i < n; i++)
			pf[PF_N + i] = (struct pollfd){ s->pend[i].fd, POLLIN, 0 };
		rc = poll(pf, (nfds_t)PF_N + (nfds_t)n, s->stopping ? 10000 : n > 0 ? 1000 : -1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc == 0 && s->stopping) { /* a child stuck writing to a stalled downstream */
			lsp_event_emit(s->event, s->event_ctx, LSP_WARN, "killing connections that did not stop",
				       "connections", LSV_I(s->nkids), NULL);
			for (int i = 0; i < s->nkids; i++)
				kill(s->kids[i].pid, SIGKILL);
		}
		if ((pf[PF_SIG].revents & POLLIN) && on_signal(s) < 0)
			continue;
		if (s->stopping) {
			for (int i = 0; i < s->npend; i++) {
				lsp_peercap_del(s->peers, s->pend[i].addr);
				close(s->pend[i].fd);
			}
			s->npend = 0;
			continue;
		}
		if (rc > 0 && on_pending(s, pf + PF_N, n, status) == LSP_INGESTSRV_CHILD)
			return LSP_INGESTSRV_CHILD;
		if (rc == 0 && n > 0 && on_pending(s, pf + PF_N, 0, status) == LSP_INGESTSRV_CHILD)
			return LSP_INGESTSRV_CHILD; /* timeouts only */
		for (int i = PF_RTMP; i <= PF_RTMPS; i++)
			for (int k = 0; k < 256 && (pf[i].revents & POLLIN) && on_accept(s, i) == 0; k++)
				;
		if (pf[PF_SRT].revents & POLLIN) {
			int cfd;
			char addr[48];
			while (lsp_srtin_take(s->srt, &cfd, s->key, sizeof s->key, s->remote, sizeof s->remote) == 0) {
				remote_addr(s, addr, sizeof addr);
				if ((rc = lsp_peercap_add(s->peers, addr, (int)s->max_per_addr)) < 0)
					refuse(s, s->proto[PF_SRT],
					       rc == -EUSERS ? "too many connections from this address" : "too many connections");
				else if (spawn(s, s->proto[PF_SRT], cfd, s->key, addr, status) == LSP_INGESTSRV_CHILD)
					return LSP_INGESTSRV_CHILD;
				memset(s->key, 0, sizeof s->key);
				close(cfd);
			}
		}
	}
	return 0;
}

/* ---- the exec'd child ---- */

/* One integer field of a spec, then its comma.  0 or -1. */
static int spec_int(const char **p, long lo, long hi, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || end == *p || *end != ',' || v < lo || v > hi)
		return -1;
	*out = v;
	*p = end + 1;
	return 0;
}

int lsp_ingestsrv_child(const lsp_ingestsrv_cfg *cfg, lsp_metrics **mx, const char *spec, int *status, char *err,
			size_t errcap)
{
	lsp_ingestsrv *s;
	const lsp_ingest_proto *proto;
	const char *p = strchr(spec, ','), *remote;
	char pname[16], key[LSP_SRTIN_KEY_MAX + 1] = "";
	long cfd, slot, flagsfd, nflags, mxfd, keyfd, ppid;
	*mx = NULL;
	if (!p || (size_t)(p - spec) >= sizeof pname) {
		snprintf(err, errcap, "bad child spec");
		return -EINVAL;
	}
	snprintf(pname, sizeof pname, "%.*s", (int)(p - spec), spec);
	p++;
	if (!(proto = lsp_ingest_proto_find(pname)) || spec_int(&p, 0, INT_MAX, &cfd) < 0 ||
	    spec_int(&p, 0, INT_MAX, &slot) < 0 || spec_int(&p, -1, INT_MAX, &flagsfd) < 0 ||
	    spec_int(&p, 0, 1L << 20, &nflags) < 0 || spec_int(&p, -1, INT_MAX, &mxfd) < 0 ||
	    spec_int(&p, -1, INT_MAX, &keyfd) < 0 || spec_int(&p, 1, INT_MAX, &ppid) < 0 || slot >= nflags) {
		snprintf(err, errcap, "bad child spec");
		return -EINVAL;
	}
	remote = p;
	if (keyfd >= 0) { /* the SRT stream id, handed over out of sight of ps */
		ssize_t n = read((int)keyfd, key, sizeof key - 1);
		key[n > 0 ? n : 0] = '\0';
		close((int)keyfd);
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "out of memory");
		explicit_bzero(key, sizeof key);
		return -ENOMEM;
	}
	s->flagsfd = -1;
	s->reserve = -1;
	for (int i = 0; i < PF_N; i++)
		s->fds[i] = -1;
	if (flagsfd >= 0) {
		void *m = mmap(NULL, (size_t)nflags * sizeof *s->publishing, PROT_READ | PROT_WRITE, MAP_SHARED,
			       (int)flagsfd, 0);
		close((int)flagsfd);
		if (m != MAP_FAILED) {
			s->publishing = m;
			s->nflags = (size_t)nflags;
		}
	}
	if (mxfd >= 0) {
		if (lsp_metrics_attach(mx, (int)mxfd) == 0)
			s->mx = *mx;
		close((int)mxfd);
	}
	s->myslot = (int)slot;
	snprintf(s->remote, sizeof s->remote, "%s", remote);
	conn_setup(s, cfg, ppid);
	if (strcmp(proto->name, "rtmps") == 0 && !(s->conn.tls = lsp_net_tls_server(cfg->cert, cfg->key, err, errcap))) {
		*status = LSP_EXIT_SYS;
	} else {
		*status = child(s, proto, (int)cfd, key[0] ? key : NULL);
	}
	explicit_bzero(key, sizeof key);
	SSL_CTX_free(s->conn.tls);
	if (s->publishing)
		munmap(s->publishing, s->nflags * sizeof *s->publishing);
	free(s);
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
	for (int i = 0; s->pend && i < s->npend; i++)
		close(s->pend[i].fd);
	free(s->pend);
	free(s->pfd);
	free(s->kids);
	free(s->free_slots);
	lsp_peercap_free(s->peers);
	if (s->publishing)
		munmap(s->publishing, s->nflags * sizeof *s->publishing);
	if (s->flagsfd > 0)
		close(s->flagsfd);
	free(s->xargv);
	if (s->reserve >= 0)
		close(s->reserve);
	if (s->conn.out_lock)
		unlink(s->conn.out_lock);
	free(s);
}
