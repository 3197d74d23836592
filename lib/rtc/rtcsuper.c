/* rtcsuper.c — lsp-rtc's supervisor (--workers N > 1; see rtcwork.c for
 * the picture and rtc.h for the contract): binds the listener and every
 * worker's UDP socket, forks the workers and forks them again when they
 * die, reads each request's head and hands the connection to its worker.
 *
 * Routing: GET /stats is answered here (rtcwork.c sums the workers);
 * DELETE/PATCH of a session goes to the worker its id names; a WHIP offer
 * to the worker its channel's name hashes to; a WHEP offer or a relay
 * client to a worker already serving the channel unless that one carries
 * SPILL more sessions than the least-loaded worker, which gets it then;
 * the rest (unparsable heads too, answered there as a lone lsp-rtc would)
 * to the least-loaded worker.
 *
 * Owns: the listener; every worker's UDP socket (bound here and inherited,
 * kept across a restart, so a worker's port never changes), control socket
 * and pid; connections whose request head has not come in yet.  A worker
 * that dies loses only its own sessions: it is reaped and forked again —
 * at once after a long life, after RESTART_MIN doubling to RESTART_MAX
 * when it keeps dying young. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fdpass.h"
#include "core/httpurl.h"
#include "core/key.h"
#include "core/net.h"
#include "core/spawn.h"
#include "rtc/rtcwork_int.h"

int rtc_super_alive(const struct super *s, int i)
{
	return s->w[i].pid > 0 && s->w[i].ctl >= 0;
}

static int nalive(const struct super *s)
{
	int n = 0;
	for (int i = 0; i < s->nw; i++)
		n += rtc_super_alive(s, i);
	return n;
}

/* Worker i's loop on its sockets (inherited): LSP_RTC_WORKER_DONE or
 * LSP_RTC_WORKER_FAILED once it has ended. */
static int worker_loop(const lsp_rtc_cfg *cfg, int i, int ctl, const struct worker *w, int stopfd)
{
	lsp_rtc_cfg wcfg = *cfg;
	struct rtc *r;
	char err[256];
	int rc;
	wcfg.event = rtc_fwd_event;
	wcfg.event_ctx = &ctl;
	wcfg.workers = 1;
	if (rtc_new(&r, &wcfg, err, sizeof err) < 0) {
		lsp_event_emit(rtc_fwd_event, &ctl, LSP_ERROR, "worker failed", "reason", LSV_S(err), NULL);
		return LSP_RTC_WORKER_FAILED;
	}
	r->udp = w->udp;
	r->udp_port = w->port;
	r->tcp_l = w->tcp;
	r->tcp_port = w->tport;
	r->worker = i;
	r->ctl = ctl;
	rc = rtc_loop(r, stopfd, err, sizeof err);
	if (rc < 0)
		RTC_EMIT(r, LSP_ERROR, "worker failed", "reason", LSV_S(err));
	rtc_free(r); /* its sessions' "gone" events still reach the supervisor */
	close(ctl);
	return rc < 0 ? LSP_RTC_WORKER_FAILED : LSP_RTC_WORKER_DONE;
}

int lsp_rtc_worker(const lsp_rtc_cfg *cfg, const char *spec, int stopfd, char *err, size_t errcap)
{
	struct worker w = { 0 };
	long v[7];
	const char *p = spec;
	for (int k = 0; k < 7; k++) { /* index, ctl, udp, port, tcp, tport, supervisor pid */
		char *end;
		errno = 0;
		v[k] = strtol(p, &end, 10);
		if (errno || end == p || *end != (k < 6 ? ',' : '\0') || v[k] < (k == 4 ? -1 : 0) || v[k] > INT_MAX) {
			snprintf(err, errcap, "bad worker spec");
			return -EINVAL;
		}
		p = end + 1;
	}
	if (v[0] >= LSP_RTC_WORKERS_MAX) {
		snprintf(err, errcap, "bad worker spec");
		return -EINVAL;
	}
	w.udp = (int)v[2];
	w.port = (int)v[3];
	w.tcp = (int)v[4];
	w.tport = (int)v[5];
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != (pid_t)v[6]) /* the supervisor died before we got here */
		return LSP_RTC_WORKER_FAILED;
	return worker_loop(cfg, (int)v[0], (int)v[1], &w, stopfd);
}

/* Fork and exec worker i (started, or to be retried at w->next_start). */
static void start(struct super *s, int i)
{
	struct worker *w = &s->w[i];
	int sp[2], sz = CTL_SNDBUF;
	pid_t pid;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rtc_super_emit(s, LSP_ERROR, "worker unavailable", "worker", LSV_I(i), "reason", LSV_S(strerror(errno)), NULL);
		w->next_start = s->now + RESTART_MAX;
		return;
	}
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	{
		struct timeval tv = { 1, 0 }; /* a worker never waits long on the supervisor */
		setsockopt(sp[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (snprintf(s->spec, sizeof s->spec, "%d,%d,%d,%d,%d,%d,%ld", i, sp[1], w->udp, w->port, w->tcp, w->tport,
		     (long)s->self) >= (int)sizeof s->spec) { /* cannot happen: seven numbers */
		close(sp[0]);
		close(sp[1]);
		return;
	}
	if ((pid = fork()) < 0) {
		rtc_super_emit(s, LSP_ERROR, "worker unavailable", "worker", LSV_I(i), "reason", LSV_S(strerror(errno)), NULL);
		close(sp[0]);
		close(sp[1]);
		w->next_start = s->now + RESTART_MAX;
		return;
	}
	if (pid == 0) { /* exec'd afresh: its sockets and control socket cross the exec */
		int keep[3] = { w->udp, w->tcp, sp[1] };
		lsp_spawn_self(keep, 3, s->xargv);
	}
	close(sp[1]);
	w->ctl = sp[0];
	w->pid = pid;
	w->started = s->now;
	w->load = w->inflight = w->viewers = w->publishers = 0;
	rtc_super_emit(s, LSP_INFO, "worker started", "worker", LSV_I(i), "pid", LSV_I(pid), "udp", LSV_I(w->port), "tcp", LSV_I(w->tport), "restart",
	     LSV_I(w->restarts), "workers", LSV_I(nalive(s)), NULL);
}

static int load(const struct super *s, int i)
{
	return s->w[i].load + s->w[i].inflight;
}

/* A new viewer (or relay client) of channel ch: a worker already serving
 * it, the least loaded of them, unless it carries SPILL more than the
 * least-loaded worker of all — then that one.  So a channel is packetized
 * (and, on an edge, fetched from its origin) by as few workers as its
 * audience needs, and workers stay within SPILL of each other. */
static int route_chan(struct super *s, const char *ch, int least)
{
	struct aff *a = rtc_aff_get(s, ch, 1);
	int best = -1;
	if (!a)
		return least;
	for (int i = 0; i < s->nw; i++)
		if (rtc_super_alive(s, i) && (a->n[i] > 0 || (i == a->last_w && s->now - a->last_t < AFF_STICK_MS)) &&
		    (best < 0 || load(s, i) < load(s, best)))
			best = i;
	if (best < 0 || load(s, best) >= load(s, least) + SPILL)
		best = least;
	a->last_w = best;
	a->last_t = s->now;
	return best;
}

/* The worker for a request whose head is rq (NULL: unreadable): -2 for
 * /stats (answered here), -1 when no worker is running. */
static int route(struct super *s, const lsp_http_req *rq)
{
	char path[512], ch[LSP_NAME_MAX + 1] = "";
	int least = -1;
	for (int k = 0; k < s->nw; k++) { /* the least loaded; ties go round */
		int i = (s->rr + k) % s->nw;
		if (rtc_super_alive(s, i) && (least < 0 || load(s, i) < load(s, least)))
			least = i;
	}
	s->rr = (s->rr + 1) % s->nw;
	if (least < 0 || !rq || lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0)
		return least;
	if (rq->method == LSP_HTTP_GET && !strcmp(path, "/stats"))
		return -2;
	if (!strncmp(path, "/whep/", 6) || !strncmp(path, "/whip/", 6) || !strncmp(path, "/relay/", 7)) {
		const char *a = path + (path[1] == 'r' ? 7 : 6), *sl = strchr(a, '/');
		size_t cl = sl ? (size_t)(sl - a) : strlen(a);
		int i = -1;
		if (cl <= LSP_NAME_MAX) {
			memcpy(ch, a, cl);
			ch[cl] = 0;
		}
		if (path[1] != 'r' && sl && sl[1])
			i = rtc_untag(sl[1]);
		else if (path[3] == 'i' && rq->method == LSP_HTTP_POST) {
			unsigned h = 2166136261u; /* FNV-1a of the channel */
			for (const char *c = ch; *c; c++)
				h = (h ^ (unsigned char)*c) * 16777619u;
			i = (int)(h % (unsigned)s->nw);
		} else if ((rq->method == LSP_HTTP_POST || path[1] == 'r') && lsp_name_valid(ch) && !sl)
			i = route_chan(s, ch, least);
		if (i >= 0 && i < s->nw && rtc_super_alive(s, i))
			return i;
	}
	return least;
}

static void pend_close(struct super *s, int i)
{
	close(s->p[i]->fd);
	free(s->p[i]);
	s->p[i] = NULL;
}

static void refuse(int fd, int status, const char *body)
{
	struct resp rs = { status, "text/plain", "", body, strlen(body), NULL, 0, 0, 0, "" };
	rtc_http_answer(fd, &rs);
}

/* A WHEP offer from an address holding the cap of sessions not yet
 * connected, on any worker: answered 429 here (1), else 0. */
static int over_pending(struct super *s, const struct pend *p, const lsp_http_req *rq)
{
	char path[512], addr[48];
	const char *sl;
	int n;
	if (rq->method != LSP_HTTP_POST || lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0 ||
	    strncmp(path, "/whep/", 6) != 0 || ((sl = strchr(path + 6, '/')) && sl[1]))
		return 0;
	rtc_peer_addr(p->peer, addr, sizeof addr);
	if (rtc_pend_exempt(s->cfg, addr))
		return 0;
	for (int w = 0; w < s->nw; w++) /* the workers' news first: offers answered, sessions connected */
		if (rtc_super_alive(s, w))
			rtc_super_drain(s, w, NULL, NULL, NULL, 0);
	if ((n = rtc_pt_count(s, addr)) < s->cfg->max_pending_per_addr)
		return 0;
	s->offers_refused++;
	rtc_pend_refuse(s->cfg, &s->pend_rl, p->fd, addr, n);
	return 1;
}

/* More of pending connection i's request: once its head is whole (or the
 * buffer full, or it cannot be parsed: the worker answers that as it
 * would alone), hand it on. */
static void pend_read(struct super *s, int i)
{
	struct pend *p = s->p[i];
	lsp_http_req rq;
	ssize_t n = recv(p->fd, p->buf + p->len, sizeof p->buf - p->len, 0);
	int h, wi, m;
	uint8_t *b = s->msg;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		pend_close(s, i);
		return;
	}
	p->len += (size_t)n;
	if ((h = lsp_http_parse(p->buf, p->len, &rq)) == 0 && p->len < sizeof p->buf)
		return;
	if ((wi = route(s, h > 0 ? &rq : NULL)) == -2) {
		rtc_super_stats(s, p->fd);
		pend_close(s, i);
		return;
	}
	if (wi < 0) {
		refuse(p->fd, 503, "no worker running\n");
		pend_close(s, i);
		return;
	}
	if (h > 0 && over_pending(s, p, &rq)) {
		pend_close(s, i);
		return;
	}
	b[0] = 'C';
	m = snprintf((char *)b + 1, 64, "%s", p->peer);
	memcpy(b + 2 + m, p->buf, p->len);
	if (lsp_fdpass_send(s->w[wi].ctl, p->fd, b, 2 + (size_t)m + p->len, MSG_DONTWAIT) < 0)
		refuse(p->fd, 503, "worker busy\n");
	else if (h > 0 && rq.method == LSP_HTTP_POST)
		s->w[wi].inflight++;
	pend_close(s, i);
}

static void accept_some(struct super *s)
{
	for (int k = 0; k < 16; k++) {
		char peer[64];
		int fd = lsp_net_accept(s->http, LSP_NET_NONBLOCK, peer, sizeof peer), slot = -1;
		if (fd < 0)
			break;
		for (int i = 0; i < MAX_CONN && slot < 0; i++)
			if (!s->p[i])
				slot = i;
		if (slot < 0) { /* full: the oldest goes, as in a lone lsp-rtc */
			for (int i = 0; i < MAX_CONN; i++)
				if (slot < 0 || s->p[i]->t0 < s->p[slot]->t0)
					slot = i;
			pend_close(s, slot);
			s->evicted++;
		}
		if (!(s->p[slot] = malloc(sizeof(struct pend)))) {
			close(fd);
			continue;
		}
		s->p[slot]->fd = fd;
		s->p[slot]->len = 0;
		s->p[slot]->t0 = s->now;
		snprintf(s->p[slot]->peer, sizeof s->p[slot]->peer, "%s", peer);
	}
}

/* Reap workers that ended; note the death and when to fork again. */
static void reap(struct super *s)
{
	for (int i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];
		char why[32];
		int st;
		pid_t pid = w->pid;
		if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
			continue;
		if (WIFSIGNALED(st))
			snprintf(why, sizeof why, "signal %d", WTERMSIG(st));
		else
			snprintf(why, sizeof why, "exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		if (w->ctl >= 0) {
			rtc_super_drain(s, i, NULL, NULL, NULL, 0); /* its last words */
			if (w->ctl >= 0)
				close(w->ctl);
			w->ctl = -1;
		}
		w->pid = 0;
		rtc_super_emit(s, LSP_ERROR, "worker died", "worker", LSV_I(i), "pid", LSV_I(pid), "reason", LSV_S(why), "viewers",
		     LSV_I(w->viewers), "publishers", LSV_I(w->publishers), "workers", LSV_I(nalive(s)), NULL);
		w->backoff = s->now - w->started < YOUNG_MS ? (w->backoff ? w->backoff * 2 : RESTART_MIN) : 0;
		if (w->backoff > RESTART_MAX)
			w->backoff = RESTART_MAX;
		w->next_start = s->now + w->backoff;
		w->restarts++;
		w->load = w->inflight = w->viewers = w->publishers = 0;
		for (int k = 0; k < AFF_MAX; k++)
			s->aff[k].n[i] = 0;
		rtc_pt_worker_gone(s, i);
	}
}

/* Stop: SIGTERM to every worker; their last events are passed on while
 * they end (STOP_WAIT_MS at most, then SIGKILL). */
static void stop_all(struct super *s)
{
	long long deadline = lsp_clock_mono_ms() + STOP_WAIT_MS;
	for (int i = 0; i < s->nw; i++)
		if (s->w[i].pid > 0)
			kill(s->w[i].pid, SIGTERM);
	for (;;) {
		struct pollfd pf[LSP_RTC_WORKERS_MAX];
		int at[LSP_RTC_WORKERS_MAX], np = 0, left = 0;
		for (int i = 0; i < s->nw; i++) {
			struct worker *w = &s->w[i];
			int st;
			if (w->pid > 0 && waitpid(w->pid, &st, WNOHANG) == w->pid)
				w->pid = 0;
			if (w->ctl >= 0) {
				pf[np] = (struct pollfd){ w->ctl, POLLIN, 0 };
				at[np++] = i;
			}
			left += w->pid > 0;
		}
		if (!left && !np)
			break;
		if (lsp_clock_mono_ms() >= deadline) {
			for (int i = 0; i < s->nw; i++)
				if (s->w[i].pid > 0) {
					kill(s->w[i].pid, SIGKILL);
					waitpid(s->w[i].pid, NULL, 0);
					s->w[i].pid = 0;
				}
			break;
		}
		if (poll(pf, (nfds_t)np, 50) > 0)
			for (int k = 0; k < np; k++)
				if (pf[k].revents)
					rtc_super_drain(s, at[k], NULL, NULL, NULL, 0);
	}
	for (int i = 0; i < s->nw; i++)
		if (s->w[i].ctl >= 0) {
			close(s->w[i].ctl);
			s->w[i].ctl = -1;
		}
}

static void super_free(struct super *s)
{
	for (int i = 0; i < MAX_CONN; i++)
		if (s->p[i])
			pend_close(s, i);
	for (int i = 0; i < s->nw; i++) {
		if (s->w[i].udp >= 0)
			close(s->w[i].udp);
		if (s->w[i].tcp >= 0)
			close(s->w[i].tcp);
	}
	if (s->http >= 0)
		close(s->http);
	free(s->msg);
	free(s->xargv);
	rtc_pt_free(s);
	free(s);
}

/* Listener, UDP sockets, the "listening" event: 0 or -errno. */
static int super_open(struct super *s, char *err, size_t errcap)
{
	const lsp_rtc_cfg *cfg = s->cfg;
	char e[256], ports[8 * LSP_RTC_WORKERS_MAX] = "", tports[8 * LSP_RTC_WORKERS_MAX] = "", http[300], udp[300],
		cand[300];
	size_t o = 0, to = 0;
	if (cfg->origin && *cfg->origin) { /* a typo is a start-up error */
		struct sockaddr_storage ss;
		socklen_t sl;
		char hp[300];
		int rc = lsp_httpurl_resolve(cfg->origin, &ss, &sl, hp, sizeof hp, err, errcap);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < s->nw; i++) {
		int port = cfg->udp_port ? cfg->udp_port + i : 0;
		if (port > 65535) {
			snprintf(err, errcap, "udp: ports %d to %d do not fit", cfg->udp_port, cfg->udp_port + s->nw - 1);
			return -EINVAL;
		}
		if ((s->w[i].udp = rtc_udp_open(cfg->udp_host, port, err, errcap)) < 0)
			return s->w[i].udp;
		if ((s->w[i].port = lsp_net_port(s->w[i].udp)) < 0)
			s->w[i].port = port;
		o += (size_t)snprintf(ports + o, sizeof ports - o, "%s%d", i ? "," : "", s->w[i].port);
		if (!cfg->ice_tcp)
			continue;
		/* ICE-TCP: each worker its own listener, the port its answers
		 * carry, so a connection reaches the worker owning its session */
		port = cfg->tcp_port ? cfg->tcp_port + i : 0;
		if (port > 65535) {
			snprintf(err, errcap, "ice-tcp: ports %d to %d do not fit", cfg->tcp_port, cfg->tcp_port + s->nw - 1);
			return -EINVAL;
		}
		if ((s->w[i].tcp = rtc_tcp_open(cfg->udp_host, port, err, errcap)) < 0) {
			if (cfg->ice_tcp != 2)
				return s->w[i].tcp;
			rtc_super_emit(s, LSP_WARN, "ice-tcp unavailable", "worker", LSV_I(i), "port", LSV_I(port), "reason",
				       LSV_S(err), NULL);
			s->w[i].tcp = -1; /* this worker answers without a TCP candidate: "0" in tcp_ports */
		} else if ((s->w[i].tport = lsp_net_port(s->w[i].tcp)) < 0)
			s->w[i].tport = port;
		to += (size_t)snprintf(tports + to, sizeof tports - to, "%s%d", i ? "," : "", s->w[i].tport);
	}
	if ((s->http = lsp_net_listen(cfg->http_host, cfg->http_port, SOCK_STREAM, LSP_NET_NONBLOCK | LSP_NET_NUMERIC,
				      e, sizeof e)) < 0) {
		snprintf(err, errcap, "http: %s", e);
		return s->http;
	}
	snprintf(http, sizeof http, "%s:%d", cfg->http_host ? cfg->http_host : "", lsp_net_port(s->http));
	snprintf(udp, sizeof udp, "%s:%d", cfg->udp_host ? cfg->udp_host : "", s->w[0].port);
	rtc_cand_str(cfg->cand_ip, s->w[0].port, cand, sizeof cand);
	rtc_super_emit(s, LSP_INFO, "listening", "http", LSV_S(http), "udp", LSV_S(udp), "candidate", LSV_S(cand), "origin",
	     LSV_S(cfg->origin_route ? "auto" : cfg->origin && *cfg->origin ? cfg->origin : ""), "workers",
	     LSV_I(s->nw), "udp_ports", LSV_S(ports), "tcp_ports", LSV_S(tports), NULL);
	return 0;
}

int rtc_super_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap)
{
	struct super *s = calloc(1, sizeof *s);
	long long last_tick = 0;
	int rc = 0;
	if (!s || !(s->msg = malloc(MSG_CAP)) || (cfg->max_pending_per_addr > 0 && rtc_pt_new(s) < 0)) {
		if (s)
			free(s->msg);
		free(s);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->cfg = cfg;
	s->stopfd = stopfd;
	s->http = -1;
	{ /* workers are exec'd: argv[0] --rtc-worker SPEC argv[1..] */
		if (!cfg->argv || cfg->argc < 1) {
			super_free(s);
			snprintf(err, errcap, "workers need the program's argv to exec");
			return -EINVAL;
		}
		if (!(s->xargv = calloc((size_t)cfg->argc + 3, sizeof *s->xargv))) {
			super_free(s);
			snprintf(err, errcap, "out of memory");
			return -ENOMEM;
		}
		snprintf(s->flag, sizeof s->flag, "--rtc-worker");
		s->xargv[0] = cfg->argv[0];
		s->xargv[1] = s->flag;
		s->xargv[2] = s->spec;
		for (int i = 1; i < cfg->argc; i++)
			s->xargv[i + 2] = cfg->argv[i];
	}
	s->self = getpid();
	s->nw = cfg->workers > LSP_RTC_WORKERS_MAX ? LSP_RTC_WORKERS_MAX : cfg->workers;
	for (int i = 0; i < LSP_RTC_WORKERS_MAX; i++)
		s->w[i] = (struct worker){ .ctl = -1, .udp = -1, .tcp = -1 };
	if ((rc = super_open(s, err, errcap)) < 0)
		goto out;
	s->now = lsp_clock_mono_ms();
	for (int i = 0; i < s->nw; i++)
		start(s, i);
	for (;;) {
		struct pollfd pf[2 + LSP_RTC_WORKERS_MAX + MAX_CONN];
		int at[2 + LSP_RTC_WORKERS_MAX + MAX_CONN], np = 0;
		pf[np] = (struct pollfd){ stopfd, POLLIN, 0 };
		at[np++] = -1;
		pf[np] = (struct pollfd){ s->http, POLLIN, 0 };
		at[np++] = -2;
		for (int i = 0; i < s->nw; i++)
			if (s->w[i].ctl >= 0) {
				pf[np] = (struct pollfd){ s->w[i].ctl, POLLIN, 0 };
				at[np++] = 1000 + i;
			}
		for (int i = 0; i < MAX_CONN; i++)
			if (s->p[i]) {
				pf[np] = (struct pollfd){ s->p[i]->fd, POLLIN, 0 };
				at[np++] = i;
			}
		if (poll(pf, (nfds_t)np, TICK_MS) < 0 && errno != EINTR) {
			rc = -errno;
			snprintf(err, errcap, "poll: %s", strerror(errno));
			break;
		}
		s->now = lsp_clock_mono_ms();
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN)
			accept_some(s);
		for (int k = 2; k < np; k++) {
			if (!pf[k].revents)
				continue;
			if (at[k] >= 1000) {
				if (s->w[at[k] - 1000].ctl >= 0 && rtc_super_drain(s, at[k] - 1000, NULL, NULL, NULL, 0) < 0)
					last_tick = 0; /* gone: reap it now */
			} else if (at[k] >= 0 && at[k] < MAX_CONN && s->p[at[k]] && s->p[at[k]]->fd == pf[k].fd)
				pend_read(s, at[k]);
		}
		for (int i = 0; i < MAX_CONN; i++) /* slow or silent clients */
			if (s->p[i] && s->now - s->p[i]->t0 > 10000)
				pend_close(s, i);
		if (s->now - last_tick >= TICK_MS) {
			struct pollfd sp = { stopfd, POLLIN, 0 };
			/* a stop signalled to the whole group (systemd, ^C) may reach a
			 * worker first: that is no death to restart */
			if (poll(&sp, 1, 0) > 0)
				break;
			last_tick = s->now;
			reap(s);
			for (int i = 0; i < s->nw; i++) {
				s->w[i].inflight = 0;
				if (!s->w[i].pid && s->now >= s->w[i].next_start)
					start(s, i);
			}
		}
	}
	stop_all(s);
out:
	super_free(s);
	return rc;
}
