/* rtcwork.c — lsp-rtc on every core (--workers N > 1): the control socket
 * between the supervisor (rtcsuper.c) and each worker, both ends.  See
 * rtc.h for the contract and docs/design.md ("lsp-rtc workers") for why
 * processes.
 *
 *   client ──TCP──▶ supervisor (the HTTP listener) reads the request head
 *     GET /stats                       answered there: the workers' summed
 *     DELETE|PATCH /whep|whip/C/ID     → the worker whose letter starts ID
 *     POST /whip/C                     → worker hash(C) mod N (one publisher
 *                                        a channel, checked in one place)
 *     POST /whep/C, GET /relay/C       → a worker serving C, or the least
 *                                        loaded (rtcsuper.c: SPILL)
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
 * The supervisor never blocks on a worker (its sends are MSG_DONTWAIT; a
 * worker that cannot take a connection gets it answered 503 there); a
 * worker's sends wait 1 s at most.  The supervisor keeps, from the events,
 * each worker's load and which channels it serves (struct aff). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fdpass.h"
#include "rtc/rtcwork_int.h"

static const char tags[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

char rtc_worker_tag(int i)
{
	return tags[i % (int)(sizeof tags - 1)];
}

int rtc_untag(char c)
{
	const char *p = c ? strchr(tags, c) : NULL;
	return p ? (int)(p - tags) : -1;
}


/* ------------------------------------------------------ worker side */

/* cfg->event in a worker: the event goes to the supervisor. */
void rtc_fwd_event(void *ctx, const lsp_event *ev)
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

void rtc_super_emit(struct super *s, int level, const char *name, ...)
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

/* The channel's entry (a free or forgotten one taken when add). */
struct aff *rtc_aff_get(struct super *s, const char *name, int add)
{
	struct aff *free_a = NULL;
	if (!name || !*name || strlen(name) > LSP_NAME_MAX)
		return NULL;
	for (int i = 0; i < AFF_MAX; i++) {
		struct aff *a = &s->aff[i];
		int used = 0;
		if (a->name[0] && !strcmp(a->name, name))
			return a;
		for (int w = 0; w < s->nw && !used; w++)
			used = a->n[w] > 0;
		if (!free_a && (!a->name[0] || (!used && s->now - a->last_t > AFF_STICK_MS)))
			free_a = a;
	}
	if (!add || !free_a)
		return NULL;
	memset(free_a, 0, sizeof *free_a);
	snprintf(free_a->name, sizeof free_a->name, "%s", name);
	free_a->last_w = -1;
	return free_a;
}

/* A user of channel name came to (d 1) or left (d -1) worker w.  One
 * that left keeps the channel's new users coming to w for AFF_STICK_MS:
 * w keeps the channel open 10 s after its last user, a worker without it
 * would have to open it afresh (and answers 404 once its source ended). */
static void aff_add(struct super *s, const char *name, int w, int d)
{
	struct aff *a = rtc_aff_get(s, name, d > 0);
	if (!a)
		return;
	if ((a->n[w] += d) < 0)
		a->n[w] = 0;
	if (d < 0) {
		a->last_w = w;
		a->last_t = s->now;
	}
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
	rtc_pt_event(s, wi, &ev);
	if (lsp_event_is(&ev, "play offer") || lsp_event_is(&ev, "publish offer")) {
		w->load++;
		if (w->inflight > 0)
			w->inflight--;
		aff_add(s, lsp_event_str(&ev, "channel"), wi, 1);
	} else if (lsp_event_is(&ev, "viewer gone") || lsp_event_is(&ev, "publisher gone")) {
		w->load -= w->load > 0;
		aff_add(s, lsp_event_str(&ev, "channel"), wi, -1);
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
	else if (lsp_event_is(&ev, "relay client connected")) {
		w->load++;
		aff_add(s, lsp_event_str(&ev, "channel"), wi, 1);
	} else if (lsp_event_is(&ev, "relay client gone")) {
		w->load -= w->load > 0;
		aff_add(s, lsp_event_str(&ev, "channel"), wi, -1);
	}
	if (s->cfg->event)
		s->cfg->event(s->cfg->event_ctx, &ev);
}

/* Read what worker i sent (its events; a late /stats reply is dropped).
 * Returns the tag of the last message, or -1 when the worker is gone. */
int rtc_super_drain(struct super *s, int i, struct wstats *st, char *const lists[3], size_t lens[3], size_t cap)
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
void rtc_super_stats(struct super *s, int fd)
{
	struct resp rs = { 200, "application/json", "", "", 0, NULL, 0, 0, 0, "" };
	struct counters sum;
	long long a[sizeof(struct counters) / sizeof(long long)], x[sizeof a / sizeof a[0]];
	char *lists[3] = { NULL, NULL, NULL }, *out = NULL, extra[64 * LSP_RTC_WORKERS_MAX];
	const char *cl[3];
	size_t lens[3] = { 0, 0, 0 }, o;
	int want[LSP_RTC_WORKERS_MAX] = { 0 }, pending = 0, total = 0;
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
		want[i] = rtc_super_alive(s, i) && lsp_fdpass_send(s->w[i].ctl, -1, "S", 1, MSG_DONTWAIT) == 1;
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
			if ((t = rtc_super_drain(s, i, &st, lists, lens, STATS_CAP)) == 'T') {
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
	sum.offers_refused += s->offers_refused;
	o = (size_t)snprintf(extra, sizeof extra, "\"workers\":[");
	for (int i = 0; i < s->nw && o < sizeof extra; i++)
		o += (size_t)snprintf(extra + o, sizeof extra - o,
				      "%s{\"worker\":%d,\"pid\":%d,\"udp\":%d,\"alive\":%s,\"restarts\":%d,\"load\":%d}",
				      i ? "," : "", i, (int)s->w[i].pid, s->w[i].port, rtc_super_alive(s, i) ? "true" : "false",
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
