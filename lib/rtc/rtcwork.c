/* rtcwork.c — lsp-rtc on every core (--workers N > 1): the supervisor, and
 * a worker's end of its control socket.  See rtc.h for the contract and
 * docs/design.md ("lsp-rtc workers") for why processes.
 *
 *   client ──TCP──▶ supervisor (the HTTP listener) reads the request head
 *     GET /stats                       answered here: the workers' summed
 *     DELETE|PATCH /whep|whip/C/ID     → the worker whose letter starts ID
 *     POST /whip/C                     → worker hash(C) mod N (one publisher
 *                                        a channel, checked in one place)
 *     anything else (offers, /relay/C) → the least-loaded worker
 *   ──SCM_RIGHTS: the socket + the bytes read──▶ worker i, whose own loop
 *   (rtc.c) answers it; viewers then talk to worker i's UDP port P+i
 *   worker i ──its events──▶ supervisor ──▶ cfg->event, with "worker": i
 *
 * Control messages, one SOCK_SEQPACKET message each:
 *   supervisor → worker  'C' peer NUL request-bytes (the connection rides on it)
 *                        'S' (your /stats lists, please)
 *   worker → supervisor  'E' level name NUL count {key NUL type value}  an event
 *                        'T' struct wstats, then the three /stats lists
 *
 * Owns: the listener; every worker's UDP socket (bound here and inherited,
 * kept across a restart, so a worker's port never changes), control socket
 * and pid; connections whose request head has not come in yet.  The
 * supervisor never blocks on a worker (its sends are MSG_DONTWAIT; a worker
 * that cannot take a connection gets it answered 503 here).  A worker that
 * dies loses only its own sessions: it is reaped and forked again — at
 * once after a long life, after RESTART_MIN doubling to RESTART_MAX when it
 * keeps dying young. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fdpass.h"
#include "core/httpurl.h"
#include "core/net.h"
#include "rtc/rtc_int.h"

#define STATS_CAP 98304      /* one worker's three /stats lists */
#define STATS_WAIT_MS 1000   /* /stats: how long the workers may take */
#define STOP_WAIT_MS 5000    /* stop: how long workers may take to end */
#define RESTART_MIN 250
#define RESTART_MAX 8000
#define YOUNG_MS 5000        /* a worker dead sooner died young */
#define EV_MAX 4096          /* an event message */
#define CTL_SNDBUF (256 << 10)

static const char tags[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

char rtc_worker_tag(int i)
{
	return tags[i % (int)(sizeof tags - 1)];
}

static int untag(char c)
{
	const char *p = c ? strchr(tags, c) : NULL;
	return p ? (int)(p - tags) : -1;
}

/* A worker's /stats: counters, totals, and the lengths of the lists that
 * follow it in the message. */
struct wstats {
	char tag; /* 'T' */
	int sessions_total;
	long long relays_total;
	struct counters c;
	size_t len[3];
};

/* ------------------------------------------------------ worker side */

/* cfg->event in a worker: the event goes to the supervisor. */
static void fwd_event(void *ctx, const lsp_event *ev)
{
	const int *ctl = ctx;
	uint8_t b[EV_MAX];
	size_t o = 0, cnt_at;
	int cnt = 0;
#define STR(x)                                                                 \
	do {                                                                   \
		size_t l_ = strnlen((x), 512);                                 \
		if (o + l_ + 1 > sizeof b)                                     \
			goto send;                                             \
		memcpy(b + o, (x), l_);                                        \
		b[o + l_] = 0;                                                 \
		o += l_ + 1;                                                   \
	} while (0)
	b[o++] = 'E';
	b[o++] = (uint8_t)ev->level;
	STR(ev->name);
	cnt_at = o++;
	for (int i = 0; i < ev->n && cnt < 255; i++) {
		const lsp_logv *v = &ev->vals[i];
		size_t o0 = o;
		if (!ev->keys[i])
			continue;
		STR(ev->keys[i]);
		if (o + 1 + 8 > sizeof b) {
			o = o0;
			break;
		}
		b[o++] = (uint8_t)v->type;
		if (v->type == LSV_STR) {
			const char *sv = v->s ? v->s : "";
			size_t l = strnlen(sv, 1024);
			if (o + l + 1 > sizeof b) {
				o = o0;
				break;
			}
			memcpy(b + o, sv, l);
			b[o + l] = 0;
			o += l + 1;
		} else if (v->type == LSV_DBL) {
			memcpy(b + o, &v->d, 8);
			o += 8;
		} else {
			memcpy(b + o, &v->i, 8);
			o += 8;
		}
		cnt++;
	}
send:
#undef STR
	if (o <= 2)
		return;
	if (o > 2 + strnlen((const char *)b + 2, o - 2))
		b[cnt_at] = (uint8_t)cnt;
	else
		b[o++] = 0; /* the name did not fit whole: no fields */
	(void)!send(*ctl, b, o, MSG_NOSIGNAL);
}

static void stats_reply(struct rtc *r)
{
	struct wstats w;
	char *lists = malloc(STATS_CAP), *b = malloc(sizeof w + STATS_CAP);
	size_t third = STATS_CAP / 3, o;
	if (!lists || !b)
		goto done;
	memset(&w, 0, sizeof w);
	w.tag = 'T';
	rtc_stats_lists(r, lists, STATS_CAP, w.len, &w.sessions_total);
	w.c = r->c;
	w.relays_total = r->relays_total;
	memcpy(b, &w, sizeof w);
	o = sizeof w;
	for (int k = 0; k < 3; k++) {
		memcpy(b + o, lists + (size_t)k * third, w.len[k]);
		o += w.len[k];
	}
	(void)!send(r->ctl, b, o, MSG_NOSIGNAL);
done:
	free(lists);
	free(b);
}

int rtc_work_ctl(struct rtc *r)
{
	uint8_t b[1 + 64 + REQ_MAX + 8];
	for (int k = 0; k < 64; k++) {
		int fd;
		ssize_t n = lsp_fdpass_recv(r->ctl, &fd, b, sizeof b, MSG_DONTWAIT);
		if (n == -EAGAIN)
			return 0;
		if (n == -EMSGSIZE)
			continue;
		if (n <= 0)
			return -1; /* the supervisor is gone */
		if (b[0] == 'C' && fd >= 0) {
			const char *peer = (const char *)b + 1;
			size_t pl = strnlen(peer, (size_t)n - 1), dl;
			int i;
			if (pl == (size_t)n - 1 || (dl = (size_t)n - 2 - pl) > REQ_MAX) {
				close(fd);
				continue;
			}
			if ((i = rtc_conn_add(r, fd, peer)) < 0)
				continue;
			memcpy(r->conns[i]->buf, b + 2 + pl, dl);
			r->conns[i]->len = dl;
			rtc_conn_input(r, i);
		} else if (fd >= 0)
			close(fd);
		else if (b[0] == 'S')
			stats_reply(r);
	}
	return 0;
}

/* ------------------------------------------------------ the supervisor */

struct pend {            /* a connection whose request head is not whole yet */
	int fd;
	size_t len;
	long long t0;
	char peer[64];
	char buf[REQ_MAX];
};

struct worker {
	pid_t pid;               /* 0: not running */
	int ctl;                 /* our end of its control socket; -1 */
	int udp, port;           /* its media socket (ours, inherited) */
	int load, inflight;      /* sessions + relay clients; offers handed in this tick */
	int viewers, publishers; /* connected now */
	int restarts;
	long long started, next_start, backoff;
};

struct super {
	const lsp_rtc_cfg *cfg;
	int http, stopfd, nw, rr;
	pid_t self;
	struct worker w[LSP_RTC_WORKERS_MAX];
	struct pend *p[MAX_CONN];
	long long now, evicted;
	uint8_t *msg;            /* one control message in (MSG_CAP) */
	int child_rc;            /* in a forked worker: what lsp_rtc_run returns */
};

#define MSG_CAP (sizeof(struct wstats) + STATS_CAP + 64)

static void emit(struct super *s, int level, const char *name, ...);

static int alive(const struct super *s, int i)
{
	return s->w[i].pid > 0 && s->w[i].ctl >= 0;
}

static int nalive(const struct super *s)
{
	int n = 0;
	for (int i = 0; i < s->nw; i++)
		n += alive(s, i);
	return n;
}

/* In the child: run worker i until it stops. */
static int worker_main(struct super *s, int i, int ctl)
{
	lsp_rtc_cfg wcfg = *s->cfg;
	struct rtc *r;
	char err[256];
	int rc;
	close(s->http);
	for (int j = 0; j < s->nw; j++) {
		if (s->w[j].ctl >= 0)
			close(s->w[j].ctl);
		if (j != i)
			close(s->w[j].udp);
	}
	for (int j = 0; j < MAX_CONN; j++)
		if (s->p[j])
			close(s->p[j]->fd);
	/* a supervisor killed outright takes its workers with it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != s->self)
		return LSP_RTC_WORKER_FAILED;
	if (s->cfg->worker_init)
		s->cfg->worker_init(s->cfg->ctx, i);
	wcfg.event = fwd_event;
	wcfg.event_ctx = &ctl;
	wcfg.workers = 1;
	if (rtc_new(&r, &wcfg, err, sizeof err) < 0) {
		lsp_event_emit(fwd_event, &ctl, LSP_ERROR, "worker failed", "reason", LSV_S(err), NULL);
		return LSP_RTC_WORKER_FAILED;
	}
	r->udp = s->w[i].udp;
	r->udp_port = s->w[i].port;
	r->worker = i;
	r->ctl = ctl;
	rc = rtc_loop(r, s->stopfd, err, sizeof err);
	if (rc < 0)
		RTC_EMIT(r, LSP_ERROR, "worker failed", "reason", LSV_S(err));
	rtc_free(r); /* its sessions' "gone" events still reach the supervisor */
	close(ctl);
	return rc < 0 ? LSP_RTC_WORKER_FAILED : LSP_RTC_WORKER_DONE;
}

/* Fork worker i: 0 in the supervisor (started, or to be retried), 1 in the
 * new worker once its loop has ended (s->child_rc says how). */
static int start(struct super *s, int i)
{
	struct worker *w = &s->w[i];
	int sp[2], sz = CTL_SNDBUF;
	pid_t pid;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		emit(s, LSP_ERROR, "worker unavailable", "worker", LSV_I(i), "reason", LSV_S(strerror(errno)), NULL);
		w->next_start = s->now + RESTART_MAX;
		return 0;
	}
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	{
		struct timeval tv = { 1, 0 }; /* a worker never waits long on the supervisor */
		setsockopt(sp[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if ((pid = fork()) < 0) {
		emit(s, LSP_ERROR, "worker unavailable", "worker", LSV_I(i), "reason", LSV_S(strerror(errno)), NULL);
		close(sp[0]);
		close(sp[1]);
		w->next_start = s->now + RESTART_MAX;
		return 0;
	}
	if (pid == 0) {
		close(sp[0]);
		s->child_rc = worker_main(s, i, sp[1]);
		return 1;
	}
	close(sp[1]);
	w->ctl = sp[0];
	w->pid = pid;
	w->started = s->now;
	w->load = w->inflight = w->viewers = w->publishers = 0;
	emit(s, LSP_INFO, "worker started", "worker", LSV_I(i), "pid", LSV_I(pid), "udp", LSV_I(w->port), "restart",
	     LSV_I(w->restarts), "workers", LSV_I(nalive(s)), NULL);
	return 0;
}

static void emit(struct super *s, int level, const char *name, ...)
{
	const char *keys[LSP_LOG_FIELDS_MAX];
	lsp_logv vals[LSP_LOG_FIELDS_MAX];
	lsp_event ev = { level, name, 0, keys, vals };
	va_list ap;
	const char *k;
	if (!s->cfg->event)
		return;
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) && ev.n < LSP_LOG_FIELDS_MAX) {
		keys[ev.n] = k;
		vals[ev.n++] = va_arg(ap, lsp_logv);
	}
	va_end(ap);
	s->cfg->event(s->cfg->event_ctx, &ev);
}

/* An 'E' message from worker wi: keep its load, pass the event on. */
static void on_event_msg(struct super *s, int wi, const uint8_t *b, size_t n)
{
	const char *keys[LSP_LOG_FIELDS_MAX];
	lsp_logv vals[LSP_LOG_FIELDS_MAX];
	lsp_event ev = { 0, NULL, 0, keys, vals };
	struct worker *w = &s->w[wi];
	size_t o = 2, l;
	int cnt;
	if (n < 4 || (l = strnlen((const char *)b + 2, n - 2)) == n - 2)
		return;
	ev.level = b[1];
	ev.name = (const char *)b + 2;
	o += l + 1;
	cnt = o < n ? b[o++] : 0;
	for (int k = 0; k < cnt && ev.n < LSP_LOG_FIELDS_MAX - 1 && o < n; k++) {
		const char *key = (const char *)b + o;
		lsp_logv v = { 0, NULL, 0, 0 };
		if ((l = strnlen(key, n - o)) >= n - o - 1)
			break;
		o += l + 1;
		v.type = b[o++];
		if (v.type == LSV_STR) {
			v.s = (const char *)b + o;
			if ((l = strnlen(v.s, n - o)) == n - o)
				break;
			o += l + 1;
		} else if (o + 8 <= n) {
			if (v.type == LSV_DBL)
				memcpy(&v.d, b + o, 8);
			else
				memcpy(&v.i, b + o, 8);
			o += 8;
		} else
			break;
		keys[ev.n] = key;
		vals[ev.n++] = v;
	}
	keys[ev.n] = "worker";
	vals[ev.n++] = LSV_I(wi);
	if (lsp_event_is(&ev, "play offer") || lsp_event_is(&ev, "publish offer")) {
		w->load++;
		if (w->inflight > 0)
			w->inflight--;
	} else if (lsp_event_is(&ev, "viewer gone") || lsp_event_is(&ev, "publisher gone")) {
		w->load -= w->load > 0;
		if (lsp_event_int(&ev, "connected", 0)) {
			if (lsp_event_is(&ev, "viewer gone"))
				w->viewers -= w->viewers > 0;
			else
				w->publishers -= w->publishers > 0;
		}
	} else if (lsp_event_is(&ev, "viewer connected"))
		w->viewers++;
	else if (lsp_event_is(&ev, "publisher connected"))
		w->publishers++;
	else if (lsp_event_is(&ev, "relay client connected"))
		w->load++;
	else if (lsp_event_is(&ev, "relay client gone"))
		w->load -= w->load > 0;
	if (s->cfg->event)
		s->cfg->event(s->cfg->event_ctx, &ev);
}

/* Read what worker i sent (its events; a late /stats reply is dropped).
 * Returns the tag of the last message, or -1 when the worker is gone. */
static int drain(struct super *s, int i, struct wstats *st, char *const lists[3], size_t lens[3], size_t cap)
{
	int last = 0;
	for (int k = 0; k < 256; k++) {
		int fd;
		ssize_t n = lsp_fdpass_recv(s->w[i].ctl, &fd, s->msg, MSG_CAP, MSG_DONTWAIT);
		if (fd >= 0)
			close(fd);
		if (n == -EAGAIN)
			return last;
		if (n == -EMSGSIZE)
			continue;
		if (n <= 0) {
			close(s->w[i].ctl);
			s->w[i].ctl = -1;
			return -1;
		}
		last = s->msg[0];
		if (s->msg[0] == 'E')
			on_event_msg(s, i, s->msg, (size_t)n);
		else if (s->msg[0] == 'T' && st && (size_t)n >= sizeof *st) {
			size_t o = sizeof *st;
			memcpy(st, s->msg, sizeof *st);
			for (int j = 0; j < 3; j++) {
				size_t l = st->len[j];
				if (l > (size_t)n - o)
					break;
				if (l && lens[j] + l + 1 < cap) {
					if (lens[j])
						lists[j][lens[j]++] = ',';
					memcpy(lists[j] + lens[j], s->msg + o, l);
					lens[j] += l;
				}
				o += l;
			}
			return 'T';
		}
	}
	return last;
}

/* GET /stats: every worker's, summed and listed, and the workers. */
static void answer_stats(struct super *s, int fd)
{
	struct resp rs = { 200, "application/json", "", "", 0, NULL, 0 };
	struct counters sum;
	long long a[sizeof(struct counters) / sizeof(long long)], x[sizeof a / sizeof a[0]];
	char *lists[3] = { NULL, NULL, NULL }, *out = NULL, extra[64 * LSP_RTC_WORKERS_MAX];
	const char *cl[3];
	size_t lens[3] = { 0, 0, 0 }, o;
	int want[LSP_RTC_WORKERS_MAX], pending = 0, total = 0;
	long long rtotal = 0, deadline = lsp_clock_mono_ms() + STATS_WAIT_MS;
	_Static_assert(sizeof(struct counters) % sizeof(long long) == 0, "counters are long longs");
	memset(&sum, 0, sizeof sum);
	memset(a, 0, sizeof a);
	for (int j = 0; j < 3; j++)
		if (!(lists[j] = malloc(STATS_CAP)))
			goto fail;
	if (!(out = malloc(4 * STATS_CAP + sizeof extra)))
		goto fail;
	for (int i = 0; i < s->nw; i++) {
		want[i] = alive(s, i) && lsp_fdpass_send(s->w[i].ctl, -1, "S", 1, MSG_DONTWAIT) == 1;
		pending += want[i];
	}
	while (pending > 0) {
		struct pollfd pf[LSP_RTC_WORKERS_MAX];
		int at[LSP_RTC_WORKERS_MAX], np = 0;
		long long left = deadline - lsp_clock_mono_ms();
		if (left <= 0)
			break;
		for (int i = 0; i < s->nw; i++)
			if (want[i]) {
				pf[np] = (struct pollfd){ s->w[i].ctl, POLLIN, 0 };
				at[np++] = i;
			}
		if (poll(pf, (nfds_t)np, (int)left) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < np; k++) {
			struct wstats st;
			int i = at[k], t;
			if (!pf[k].revents)
				continue;
			if ((t = drain(s, i, &st, lists, lens, STATS_CAP)) == 'T') {
				memcpy(x, &st.c, sizeof x);
				for (size_t j = 0; j < sizeof a / sizeof a[0]; j++)
					a[j] += x[j];
				total += st.sessions_total;
				rtotal += st.relays_total;
			}
			if (t == 'T' || t < 0) {
				want[i] = 0;
				pending--;
			}
		}
	}
	memcpy(&sum, a, sizeof sum);
	sum.http_evicted += s->evicted;
	o = (size_t)snprintf(extra, sizeof extra, "\"workers\":[");
	for (int i = 0; i < s->nw && o < sizeof extra; i++)
		o += (size_t)snprintf(extra + o, sizeof extra - o,
				      "%s{\"worker\":%d,\"pid\":%d,\"udp\":%d,\"alive\":%s,\"restarts\":%d,\"load\":%d}",
				      i ? "," : "", i, (int)s->w[i].pid, s->w[i].port, alive(s, i) ? "true" : "false",
				      s->w[i].restarts, s->w[i].load);
	if (o < sizeof extra)
		snprintf(extra + o, sizeof extra - o, "]");
	else
		snprintf(extra, sizeof extra, "\"workers\":[]");
	for (int j = 0; j < 3; j++)
		cl[j] = lists[j];
	rs.blen = rtc_stats_doc(out, 4 * STATS_CAP + sizeof extra, &sum, total, rtotal, cl, lens, extra);
	rs.body = out;
	rtc_http_answer(fd, &rs);
	goto done;
fail:
	rs.status = 503;
	rs.ctype = "text/plain";
	rs.body = "out of memory\n";
	rs.blen = strlen(rs.body);
	rtc_http_answer(fd, &rs);
done:
	for (int j = 0; j < 3; j++)
		free(lists[j]);
	free(out);
}

/* The worker for a request whose head is rq (NULL: unreadable): -2 for
 * /stats (answered here), -1 when no worker is running. */
static int route(struct super *s, const lsp_http_req *rq)
{
	char path[512];
	int best = -1;
	if (rq && lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) >= 0) {
		if (rq->method == LSP_HTTP_GET && !strcmp(path, "/stats"))
			return -2;
		if (!strncmp(path, "/whep/", 6) || !strncmp(path, "/whip/", 6)) {
			const char *a = path + 6, *sl = strchr(a, '/');
			int i = -1;
			if (sl && sl[1])
				i = untag(sl[1]);
			else if (path[3] == 'i' && rq->method == LSP_HTTP_POST) {
				unsigned h = 2166136261u; /* FNV-1a of the channel */
				for (const char *c = a; *c && *c != '/'; c++)
					h = (h ^ (unsigned char)*c) * 16777619u;
				i = (int)(h % (unsigned)s->nw);
			}
			if (i >= 0 && i < s->nw && alive(s, i))
				return i;
		}
	}
	for (int k = 0; k < s->nw; k++) { /* least loaded; ties go round */
		int i = (s->rr + k) % s->nw;
		if (alive(s, i) && (best < 0 || s->w[i].load + s->w[i].inflight < s->w[best].load + s->w[best].inflight))
			best = i;
	}
	s->rr = (s->rr + 1) % s->nw;
	return best;
}

static void pend_close(struct super *s, int i)
{
	close(s->p[i]->fd);
	free(s->p[i]);
	s->p[i] = NULL;
}

static void refuse(int fd, int status, const char *body)
{
	struct resp rs = { status, "text/plain", "", body, strlen(body), NULL, 0 };
	rtc_http_answer(fd, &rs);
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
		answer_stats(s, p->fd);
		pend_close(s, i);
		return;
	}
	if (wi < 0) {
		refuse(p->fd, 503, "no worker running\n");
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
			drain(s, i, NULL, NULL, NULL, 0); /* its last words */
			if (w->ctl >= 0)
				close(w->ctl);
			w->ctl = -1;
		}
		w->pid = 0;
		emit(s, LSP_ERROR, "worker died", "worker", LSV_I(i), "pid", LSV_I(pid), "reason", LSV_S(why), "viewers",
		     LSV_I(w->viewers), "publishers", LSV_I(w->publishers), "workers", LSV_I(nalive(s)), NULL);
		w->backoff = s->now - w->started < YOUNG_MS ? (w->backoff ? w->backoff * 2 : RESTART_MIN) : 0;
		if (w->backoff > RESTART_MAX)
			w->backoff = RESTART_MAX;
		w->next_start = s->now + w->backoff;
		w->restarts++;
		w->load = w->inflight = w->viewers = w->publishers = 0;
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
					drain(s, at[k], NULL, NULL, NULL, 0);
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
	for (int i = 0; i < s->nw; i++)
		if (s->w[i].udp >= 0)
			close(s->w[i].udp);
	if (s->http >= 0)
		close(s->http);
	free(s->msg);
	free(s);
}

/* Listener, UDP sockets, the "listening" event: 0 or -errno. */
static int super_open(struct super *s, char *err, size_t errcap)
{
	const lsp_rtc_cfg *cfg = s->cfg;
	char e[256], ports[8 * LSP_RTC_WORKERS_MAX] = "", http[300], udp[300], cand[300];
	size_t o = 0;
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
	}
	if ((s->http = lsp_net_listen(cfg->http_host, cfg->http_port, SOCK_STREAM, LSP_NET_NONBLOCK | LSP_NET_NUMERIC,
				      e, sizeof e)) < 0) {
		snprintf(err, errcap, "http: %s", e);
		return s->http;
	}
	snprintf(http, sizeof http, "%s:%d", cfg->http_host ? cfg->http_host : "", lsp_net_port(s->http));
	snprintf(udp, sizeof udp, "%s:%d", cfg->udp_host ? cfg->udp_host : "", s->w[0].port);
	snprintf(cand, sizeof cand, "%s:%d", cfg->cand_ip ? cfg->cand_ip : "", s->w[0].port);
	emit(s, LSP_INFO, "listening", "http", LSV_S(http), "udp", LSV_S(udp), "candidate", LSV_S(cand), "origin",
	     LSV_S(cfg->origin_route ? "auto" : cfg->origin && *cfg->origin ? cfg->origin : ""), "workers",
	     LSV_I(s->nw), "udp_ports", LSV_S(ports), NULL);
	return 0;
}

int rtc_super_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap)
{
	struct super *s = calloc(1, sizeof *s);
	long long last_tick = 0;
	int rc = 0;
	if (!s || !(s->msg = malloc(MSG_CAP))) {
		free(s);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->cfg = cfg;
	s->stopfd = stopfd;
	s->http = -1;
	s->self = getpid();
	s->nw = cfg->workers > LSP_RTC_WORKERS_MAX ? LSP_RTC_WORKERS_MAX : cfg->workers;
	for (int i = 0; i < LSP_RTC_WORKERS_MAX; i++)
		s->w[i] = (struct worker){ .ctl = -1, .udp = -1 };
	if ((rc = super_open(s, err, errcap)) < 0)
		goto out;
	s->now = lsp_clock_mono_ms();
	for (int i = 0; i < s->nw; i++)
		if (start(s, i))
			goto child;
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
				if (s->w[at[k] - 1000].ctl >= 0 && drain(s, at[k] - 1000, NULL, NULL, NULL, 0) < 0)
					last_tick = 0; /* gone: reap it now */
			} else if (s->p[at[k]] && s->p[at[k]]->fd == pf[k].fd)
				pend_read(s, at[k]);
		}
		for (int i = 0; i < MAX_CONN; i++) /* slow or silent clients */
			if (s->p[i] && s->now - s->p[i]->t0 > 10000)
				pend_close(s, i);
		if (s->now - last_tick >= TICK_MS) {
			last_tick = s->now;
			reap(s);
			for (int i = 0; i < s->nw; i++) {
				s->w[i].inflight = 0;
				if (!s->w[i].pid && s->now >= s->w[i].next_start && start(s, i))
					goto child;
			}
		}
	}
	stop_all(s);
out:
	super_free(s);
	return rc;
child:
	/* a worker: its loop is over; the supervisor's state is not ours */
	return s->child_rc;
}
