/* rtchttp.c — lsp-rtc's HTTP signalling (see rtc.h): WHEP and WHIP offers
 * (POST /whep/C, /whip/C with a Bearer key) answered 201 with our SDP and
 * a Location; DELETE of that Location; OPTIONS (CORS); GET /stats, /healthz;
 * GET /whep/ice-servers and /whip/ice-servers (the TURN servers a page
 * gives its RTCPeerConnection, turn.h; GET is no channel operation, so
 * the name cannot clash); GET /relay/C handed to rtcorigin.c.  One request per connection
 * (Connection: close), the whole request within REQ_MAX and 10 s.
 *
 * r->conns owns each connection until it is answered and closed, or its
 * socket is taken by a relay client.  In edge mode an offer for a channel
 * whose origin is not streaming yet is parked (its connection borrows the
 * channel, chan->nwait) and answered when the origin decides, or after
 * PARK_MS. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/net.h"
#include "rtc/rtc_int.h"
#include "rtc/rtcauth.h"
#include "rtc/sdp.h"

static void http_send(struct conn *k, const struct resp *rs)
{
	rtc_http_answer(k->fd, rs);
}

void rtc_http_answer(int fd, const struct resp *rs)
{
	char h[1024];
	int n = snprintf(h, sizeof h,
			 "HTTP/1.1 %d %s\r\nAccess-Control-Allow-Origin: *\r\n"
			 "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS, PATCH\r\n"
			 "Access-Control-Allow-Headers: Content-Type, Authorization, If-Match\r\n"
			 "Access-Control-Expose-Headers: Location, Link\r\nCache-Control: no-store\r\n"
			 "%s%s%s%s%s%s%s%.0d%s%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 rs->status, lsp_http_reason(rs->status), rs->ctype ? "Content-Type: " : "",
			 rs->ctype ? rs->ctype : "", rs->ctype ? "\r\n" : "", rs->loc[0] ? "Location: " : "",
			 rs->loc, rs->loc[0] ? "\r\n" : "", rs->retry_after > 0 ? "Retry-After: " : "",
			 rs->retry_after > 0 ? rs->retry_after : 0, rs->retry_after > 0 ? "\r\n" : "",
			 rs->link[0] ? "Link: " : "", rs->link, rs->link[0] ? "\r\n" : "", rs->blen);
	struct timeval tv = { 1, 0 };
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (n > 0 && (size_t)n < sizeof h && send(fd, h, (size_t)n, MSG_NOSIGNAL) == n && rs->blen)
		(void)!send(fd, rs->body, rs->blen, MSG_NOSIGNAL);
}

/* ------------------------------------------------------ offers */

static void offer(struct rtc *r, struct conn *k, int whip, const char *ch, const char *body, size_t blen,
		  const lsp_http_req *rq, struct resp *rs, char *ans, size_t anscap)
{
	lsp_sdp_offer of;
	lsp_sdp_local l;
	struct sess *s;
	struct chan *c = NULL;
	char keych[LSP_NAME_MAX + 1], cmd[1024], err[200];
	int n;
	const char *deny = NULL;
	if (!whip && lsp_rtcauth_play(r->cfg->hls_root, r->cfg->play_secret, r->cfg->play_secret_len, ch, rq,
				      (long long)time(NULL), &deny) < 0) {
		RTC_EMIT(r, LSP_WARN, "play refused", "channel", LSV_S(ch), "reason", LSV_S(deny));
		rs->status = 403; /* private or age-gated: no good playback token (never logged) */
		rs->ctype = "application/json";
		snprintf(ans, anscap, "{\"error\":\"forbidden\",\"reason\":\"%s\"}\n", deny);
		rs->body = ans;
		return;
	}
	if (whip) {
		size_t vl = 0;
		const char *v = lsp_http_header_get(rq, "Authorization", &vl);
		char key[512]; /* a stream key, or a publish token (state/pubtoken.h) */
		const char *why = "missing bearer token";
		if (!v || vl < 8 || strncasecmp(v, "Bearer ", 7) != 0 || vl - 7 >= sizeof key || !r->cfg->auth ||
		    (memcpy(key, v + 7, vl - 7), key[vl - 7] = 0,
		     r->cfg->auth(r->cfg->ctx, key, keych, sizeof keych, &why)) < 0 ||
		    strcmp(keych, ch) != 0) {
			if (!why || (v && vl >= 7 && !strncasecmp(v, "Bearer ", 7) && !strcmp(why, "missing bearer token")))
				why = "key is for another channel";
			RTC_EMIT(r, LSP_WARN, "publish refused", "channel", LSV_S(ch), "reason", LSV_S(why));
			rs->status = 401;
			rs->body = "unauthorized\n";
			return;
		}
		for (int i = 0; i < r->nsess_max; i++)
			if (r->sess[i].state != S_FREE && r->sess[i].whip && !strcmp(r->sess[i].chname, ch)) {
				rs->status = 409;
				rs->body = "channel already has a publisher\n";
				return;
			}
		for (int i = 0; i < MAX_CONN; i++) /* another offer for it waits for the webhook */
			if (r->conns[i] && r->conns[i] != k && r->conns[i]->admit_id && !strcmp(r->conns[i]->admit_ch, ch)) {
				rs->status = 409;
				rs->body = "channel already has a publisher\n";
				return;
			}
	} else if (r->edge) {
		/* the first viewer of a channel opens its origin connection;
		 * the answer waits (PARK_MS at most) until the origin streams */
		if (!(c = rtc_chan_get(r, ch, 0))) {
			rs->status = 503;
			rs->body = "too many channels\n";
			return;
		}
		if (c->up.state != UP_STREAM || !c->up.have_gen) {
			if (!k->parked) {
				struct upstream *u = &c->up;
				/* a viewer is a reason to retry soon, not to hammer */
				if (u->state == UP_IDLE && u->next_try > u->t0 + UP_BACKOFF_MIN)
					u->next_try = u->t0 + UP_BACKOFF_MIN;
				rs->park = c;
				return;
			}
			rs->status = c->up.result == 404 || !c->up.result ? 404 : 502;
			rs->body = rs->status == 404 ? "channel not live\n" : "origin unavailable\n";
			return;
		}
	} else if (!(c = rtc_chan_get(r, ch, 1))) {
		rs->status = 404;
		rs->body = "channel not live\n";
		return;
	}
	if (lsp_sdp_parse(body, blen, &of) < 0 || (lsp_sdp_find(&of, "video") < 0 && lsp_sdp_find(&of, "audio") < 0)) {
		r->c.sdp_bad++;
		rs->status = 400;
		rs->body = "bad or unusable SDP offer\n";
		return;
	}
	if (whip && rtc_admit_ask(r, k, ch, rs, ans, anscap) != 0)
		return; /* held for the admission webhook, or answered */
	if (!(s = rtc_sess_new(r))) {
		rs->status = 503;
		rs->body = "too many sessions\n";
		return;
	}
	s->whip = whip;
	snprintf(s->chname, sizeof s->chname, "%s", ch);
	rtc_rand_str(s->ufrag, 8);
	rtc_rand_str(s->pwd, 24);
	rtc_rand_str(s->id, 16);
	if (r->worker >= 0) /* the supervisor routes DELETE by it */
		s->id[0] = rtc_worker_tag(r->worker);
	snprintf(s->peer_fp, sizeof s->peer_fp, "%s", of.fingerprint);
	n = lsp_sdp_find(&of, "video");
	s->vpt = n >= 0 ? of.m[n].pt : -1;
	s->nack = n >= 0 ? of.m[n].nack : 0;
	n = lsp_sdp_find(&of, "audio");
	s->apt = n >= 0 ? of.m[n].pt : -1;
	s->vssrc = rtc_rand32();
	s->assrc = rtc_rand32();
	s->vts_off = rtc_rand32();
	s->ats_off = rtc_rand32();
	s->vseq_off = (uint16_t)rtc_rand32();
	s->aseq = (uint16_t)rtc_rand32();
	s->created = s->last_rx = r->now;
	memset(&l, 0, sizeof l);
	l.ufrag = s->ufrag;
	l.pwd = s->pwd;
	l.fingerprint = lsp_dtls_cert_fingerprint(r->cert);
	l.ip = r->cfg->cand_ip;
	l.port = r->udp_port;
	l.tcp_port = r->tcp_l >= 0 ? r->tcp_port : 0; /* ICE-TCP: this worker's own listener */
	l.send = !whip;
	l.ssrc_video = s->vssrc;
	l.ssrc_audio = s->assrc;
	l.cname = "lsp";
	if ((n = lsp_sdp_answer(&of, &l, ans, anscap)) < 0) {
		memset(s, 0, sizeof *s);
		rs->status = 500;
		rs->body = "answer too large\n";
		return;
	}
	if (whip) {
		const char *cm = NULL;
		if (r->cfg->whip_exec && *r->cfg->whip_exec) {
			size_t o = 0;
			for (const char *t = r->cfg->whip_exec; *t && o + 1 < sizeof cmd; t++) {
				if (!strncmp(t, "{channel}", 9)) {
					o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s", ch);
					t += 8;
				} else
					cmd[o++] = *t;
			}
			cmd[o < sizeof cmd ? o : sizeof cmd - 1] = 0;
			cm = cmd;
		}
		if (lsp_whip_open(&s->pub, cm, r->cfg->whip_ring ? ch : NULL, err, sizeof err) < 0) {
			RTC_EMIT(r, LSP_ERROR, "publisher pipeline failed to start", "channel", LSV_S(ch), "reason",
				 LSV_S(err));
			memset(s, 0, sizeof *s);
			rs->status = 500;
			rs->body = "pipeline failed\n";
			return;
		}
	} else {
		char want[RUNG_NAME] = "";
		s->ch = s->vch = c;
		c->nsess++;
		if (!c->relay && !c->aus) /* a channel just opened: its picture size, for the ladder */
			rtc_chan_pump(r, c);
		/* ?rung=NAME pins the rung it starts on; else (or for a rung the
		 * channel does not have) the automatic choice */
		if (rq->query && lsp_http_query_get(rq->query, rq->query_len, "rung", want, sizeof want) < 0)
			want[0] = 0;
		if (!want[0] || rtc_sess_rung(r, s, want, strcmp(want, "auto") != 0, "offer") < 0)
			rtc_sess_rung(r, s, "auto", 0, "start");
	}
	s->state = S_NEW;
	rs->status = 201;
	rs->ctype = "application/sdp";
	rs->body = ans;
	rs->blen = (size_t)n;
	snprintf(rs->loc, sizeof rs->loc, "/%s/%s/%s", whip ? "whip" : "whep", ch, s->id);
	if (!whip) /* the rung control (rtcabr.c), after the WHEP layer extension */
		snprintf(rs->link, sizeof rs->link, "<%s/layer>; rel=\"urn:ietf:params:whep:ext:core:layer\"", rs->loc);
	RTC_EMIT(r, LSP_INFO, whip ? "publish offer" : "play offer", "channel", LSV_S(ch), "id", LSV_S(s->id),
		 "video_pt", LSV_I(s->vpt), "audio_pt", LSV_I(s->apt), "peer", LSV_S(whip ? "" : k->peer));
}

static int json_safe(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Append one formatted item to a list: 0, or -1 when it does not fit
 * (the list stays as it was). */
static int put(char *out, size_t cap, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(out + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *o) {
		out[*o] = 0;
		return -1;
	}
	*o += (size_t)n;
	return 0;
}

void rtc_stats_lists(struct rtc *r, char *out, size_t cap, size_t len[3], int *total)
{
	size_t third = cap / 3, o = 0;
	char *l = out, wk[24] = "";
	int listed = 0;
	if (r->worker >= 0)
		snprintf(wk, sizeof wk, ",\"worker\":%d", r->worker);
	*total = 0;
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		long long wv = 0, wa = 0, wd = 0;
		if (s->state == S_FREE)
			continue;
		if ((*total)++, listed == 100) /* bounded: the first 100 sessions */
			continue;
		if (s->pub)
			lsp_whip_counts(s->pub, &wv, &wa, &wd);
		/* no session id: it is the capability in the session's Location
		 * (DELETE ends the session), known only to whoever made it */
		if (!put(l, third, &o,
			 "%s{\"channel\":\"%s\",\"kind\":\"%s\",\"state\":\"%s\",\"video_pkts\":%lld,"
			 "\"audio_pkts\":%lld,\"nacks\":%lld,\"rtx\":%lld,\"plis\":%lld,\"muxed_video\":%lld,"
			 "\"muxed_audio\":%lld,\"mux_dropped\":%lld,\"transport\":\"%s\",\"rung\":\"%s\","
			 "\"abr\":\"%s\",\"switches\":%lld,\"remb\":%llu,\"loss\":%d%s}",
			 listed ? "," : "", s->chname, s->whip ? "whip" : "whep", s->state == S_LIVE ? "live" : "new",
			 s->vpkts, s->apkts, s->nacks, s->rtx, s->plis, wv, wa, wd, s->tcp ? "tcp" : "udp",
			 s->vch ? rtc_rung_name(s->vch) : "", s->pin[0] ? s->pin : "auto", s->switches,
			 (unsigned long long)s->remb, s->loss, wk))
			listed++;
	}
	len[0] = o;
	l = out + third;
	o = 0;
	listed = 0;
	for (int i = 0; i < MAX_CHAN; i++) {
		struct chan *c = &r->chans[i];
		char org[512] = "";
		if (!c->used)
			continue;
		if (c->relay) {
			static const char *const st[] = { "idle", "connecting", "head", "streaming" };
			const struct upstream *u = &c->up;
			snprintf(org, sizeof org,
				 ",\"origin\":{\"url\":\"%s\",\"state\":\"%s\",\"connects\":%lld,\"reconnects\":%lld,"
				 "\"bytes\":%lld,\"frames\":%lld,\"gaps\":%lld,\"restarts\":%lld,\"generation\":%llu}",
				 json_safe(u->url) ? u->url : "?", st[u->state], u->connects, u->reconnects, u->bytes,
				 u->frames, u->gaps, u->restarts, (unsigned long long)u->gen);
		}
		if (!put(l, third, &o,
			 "%s{\"name\":\"%s\",\"viewers\":%d,\"edges\":%d,\"frames\":%lld,\"overruns\":%lld,"
			 "\"opus\":%s,\"bframes\":%s,\"rung\":\"%s\"%s%s}",
			 listed ? "," : "", c->name, c->nsess, c->nrelay, c->aus, c->overruns, c->aop ? "true" : "false",
			 c->bframes ? "true" : "false", c->rung, org, wk))
			listed++;
	}
	len[1] = o;
	l = out + 2 * third;
	o = 0;
	listed = 0;
	for (int i = 0; i < MAX_RELAY; i++) {
		const struct relayc *rc = r->relays[i];
		if (rc && !put(l, third, &o, "%s{\"channel\":\"%s\",\"peer\":\"%s\",\"bytes\":%lld,\"frames\":%lld,\"skips\":%lld%s}",
			       listed ? "," : "", rc->ch->name, rc->peer, rc->bytes, rc->frames, rc->skips, wk))
			listed++;
	}
	len[2] = o;
}

size_t rtc_stats_doc(char *out, size_t cap, const struct counters *c, int sessions_total, long long relays_total,
		     const char *const lists[3], const size_t len[3], const char *extra)
{
	size_t o = 0;
	if (put(out, cap, &o,
		"{\"dropped\":{\"stun\":%lld,\"stun_auth\":%lld,\"dtls\":%lld,\"rtp\":%lld,\"rtcp\":%lld,"
		"\"srtp_auth\":%lld,\"srtp_replay\":%lld,\"http_evicted\":%lld,\"offers_refused\":%lld,"
		"\"sdp\":%lld,\"http\":%lld,\"unknown\":%lld},\"ice_tcp\":{\"accepted\":%lld,\"bad_frame\":%lld,"
		"\"dropped\":%lld,\"evicted\":%lld},\"reaped\":%lld,\"sent\":%lld,\"send_err\":%lld,"
		"\"sessions\":[%.*s],\"sessions_total\":%d,\"channels\":[%.*s],\"relays_total\":%lld,"
		"\"relays\":[%.*s]%s%s}\n",
		c->stun_bad, c->stun_auth, c->dtls_bad, c->rtp_bad, c->rtcp_bad, c->srtp_auth, c->srtp_replay,
		c->http_evicted, c->offers_refused, c->sdp_bad, c->http_bad, c->unknown, c->tcp_accepted, c->tcp_bad,
		c->tcp_dropped, c->tcp_evicted, c->reaped, c->sent, c->send_err, (int)len[0],
		lists[0], sessions_total, (int)len[1], lists[1], relays_total, (int)len[2], lists[2],
		extra && *extra ? "," : "", extra ? extra : "") < 0)
		return 0;
	return o;
}

static void stats(struct rtc *r, char *out, size_t cap, size_t *len)
{
	size_t third = cap / 3, l[3];
	char *lists = malloc(cap);
	const char *p[3];
	int total;
	*len = 0;
	if (!lists)
		return;
	rtc_stats_lists(r, lists, cap, l, &total);
	p[0] = lists;
	p[1] = lists + third;
	p[2] = lists + 2 * third;
	*len = rtc_stats_doc(out, cap, &r->c, total, r->relays_total, p, l, NULL);
	free(lists);
}

/* ------------------------------------------------------ requests */

/* GET /whep/ice-servers, /whip/ice-servers: the TURN servers with a
 * credential of their own for this page (never logged). */
static void ice_servers(struct rtc *r, int whip, struct resp *rs)
{
	char id[16] = "whep-";
	int n;
	if (whip)
		id[2] = 'i';
	rtc_rand_str(id + 5, 10);
	n = lsp_turn_json(&r->cfg->turn, (long long)time(NULL), id, r->sb, sizeof r->sb);
	if (n < 0) {
		RTC_EMIT(r, LSP_ERROR, "ice servers failed", "reason", LSV_S(strerror(-n)));
		rs->status = 500;
		rs->ctype = "text/plain";
		rs->body = "ice servers unavailable\n";
		rs->blen = strlen(rs->body);
		return;
	}
	rs->status = 200;
	rs->ctype = "application/json";
	rs->body = r->sb;
	rs->blen = (size_t)n;
}

/* Answer one request: 0 answered (close the connection), 1 parked (keep
 * it; run again when its channel's origin answers), 2 taken by a relay. */
static int handle(struct rtc *r, struct conn *k, const lsp_http_req *rq, size_t head)
{
	struct resp rs = { 404, "text/plain", "", "not found\n", 0, NULL, 0, 0, 0, "" };
	char path[512], ch[LSP_NAME_MAX + 1], id[64];
	const char *body = k->buf + head;
	size_t blen = rq->content_length > 0 ? (size_t)rq->content_length : 0;
	int whip = 0;
	if (lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0) {
		r->c.http_bad++;
		rs.status = 400;
		rs.body = "bad path\n";
		goto out;
	}
	id[0] = 0;
	ch[0] = 0;
	if (rq->method == LSP_HTTP_GET && (!strcmp(path, "/whep/ice-servers") || !strcmp(path, "/whip/ice-servers"))) {
		ice_servers(r, path[3] == 'i', &rs);
		goto send;
	}
	if (!strncmp(path, "/whep/", 6) || !strncmp(path, "/whip/", 6)) {
		const char *a = path + 6, *sl = strchr(a, '/');
		size_t cl = sl ? (size_t)(sl - a) : strlen(a);
		whip = path[3] == 'i';
		if (cl > LSP_NAME_MAX || (sl && strlen(sl + 1) >= sizeof id)) {
			rs.status = 400;
			rs.body = "bad channel\n";
			goto out;
		}
		memcpy(ch, a, cl);
		ch[cl] = 0;
		if (sl)
			snprintf(id, sizeof id, "%s", sl + 1);
		if (!lsp_name_valid(ch)) {
			rs.status = 400;
			rs.body = "bad channel\n";
			goto out;
		}
	} else if (rq->method == LSP_HTTP_GET && !strcmp(path, "/stats")) {
		stats(r, r->sb, sizeof r->sb, &rs.blen);
		rs.status = 200;
		rs.ctype = "application/json";
		rs.body = r->sb;
		goto send;
	} else if (rq->method == LSP_HTTP_GET && !strcmp(path, "/healthz")) {
		rs.status = 200;
		rs.body = "ok\n";
		goto out;
	} else if (rq->method == LSP_HTTP_GET && !strncmp(path, "/relay/", 7)) {
		rtc_relay_open(r, k, rq, path + 7, &rs);
		if (rs.taken)
			return 2;
		goto out;
	}
	if (rq->method == LSP_HTTP_OPTIONS) {
		rs.status = 204;
		rs.ctype = NULL;
		rs.body = "";
		goto out;
	}
	if (!ch[0])
		goto out;
	if (rq->method == LSP_HTTP_POST && !id[0]) {
		char addr[48];
		rtc_peer_addr(k->peer, addr, sizeof addr);
		if (!whip && !rtc_pend_exempt(r->cfg, addr)) {
			int n = rtc_pend_count(r, addr);
			if (n >= r->cfg->max_pending_per_addr) {
				r->c.offers_refused++;
				rtc_pend_refuse(r->cfg, &r->pend_rl, k->fd, addr, n);
				return 0;
			}
		}
		offer(r, k, whip, ch, body, blen, rq, &rs, r->ans, sizeof r->ans);
		if (rs.admit) /* the admission webhook decides (rtcadmit.c) */
			return 1;
		if (rs.status == 201 && !whip) /* whose it is, for the cap above */
			for (int i = 0; i < r->nsess_max; i++)
				if (r->sess[i].state == S_NEW && !strcmp(r->sess[i].id, strrchr(rs.loc, '/') + 1))
					snprintf(r->sess[i].peer, sizeof r->sess[i].peer, "%s", addr);
		if (rs.park) {
			k->park = rs.park;
			k->park_t = r->now;
			k->parked = 1;
			k->rq = *rq; /* its strings point into k->buf, which stays */
			k->head = head;
			rs.park->nwait++;
			return 1;
		}
		if (rs.status == 201 || rs.blen)
			goto send;
		goto out;
	}
	if (!whip && (rq->method == LSP_HTTP_GET || rq->method == LSP_HTTP_POST) && id[0]) {
		/* <session>/layer: the rung it is served (rtcabr.c) */
		char *sl = strchr(id, '/');
		if (!sl || strcmp(sl, "/layer") != 0)
			goto out;
		*sl = 0;
		for (int i = 0; i < r->nsess_max; i++) {
			struct sess *s = &r->sess[i];
			if (s->state != S_FREE && !s->whip && s->ch && !strcmp(s->id, id) && !strcmp(s->chname, ch)) {
				rtc_layer_http(r, s, rq->method == LSP_HTTP_POST, body, blen, &rs, r->sb, sizeof r->sb);
				if (!rs.blen)
					goto out;
				goto send;
			}
		}
		rs.body = "no such session\n";
		goto out;
	}
	if (rq->method_len == 6 && !memcmp(rq->method_s, "DELETE", 6) && id[0]) {
		for (int i = 0; i < r->nsess_max; i++) {
			struct sess *s = &r->sess[i];
			if (s->state != S_FREE && s->whip == whip && !strcmp(s->id, id) && !strcmp(s->chname, ch)) {
				rtc_sess_free(r, s, "deleted");
				rs.status = 200;
				rs.body = "";
				goto out;
			}
		}
		goto out;
	}
	if (rq->method_len == 5 && !memcmp(rq->method_s, "PATCH", 5)) {
		rs.status = 405; /* ICE-lite: no trickle needed, candidates come as checks */
		rs.body = "trickle ICE not supported\n";
		goto out;
	}
	rs.status = 405;
	rs.body = "method not allowed\n";
out:
	rs.blen = strlen(rs.body);
send:
	http_send(k, &rs);
	return 0;
}

static void conn_unpark(struct rtc *r, struct conn *k)
{
	if (!k->park)
		return;
	k->park->nwait--;
	rtc_chan_unuse(r, k->park);
	k->park = NULL;
}

void rtc_conn_close(struct rtc *r, int i)
{
	conn_unpark(r, r->conns[i]);
	close(r->conns[i]->fd);
	free(r->conns[i]);
	r->conns[i] = NULL;
}

void rtc_on_conn(struct rtc *r, int i)
{
	struct conn *k = r->conns[i];
	ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		rtc_conn_close(r, i);
		return;
	}
	k->len += (size_t)n;
	rtc_conn_input(r, i);
}

void rtc_conn_input(struct rtc *r, int i)
{
	struct conn *k = r->conns[i];
	lsp_http_req rq;
	int h = lsp_http_parse(k->buf, k->len, &rq);
	if (h == 0 && k->len < sizeof k->buf)
		return;
	if (h <= 0 || rq.chunked || rq.content_length > (long long)(sizeof k->buf - (size_t)h)) {
		struct resp rs = { h < 0 ? -h : 413, "text/plain", "", "bad request\n", 12, NULL, 0, 0, 0, "" };
		r->c.http_bad++;
		if (rs.status < 400)
			rs.status = 400;
		http_send(k, &rs);
		rtc_conn_close(r, i);
		return;
	}
	if (rq.content_length > 0 && k->len < (size_t)h + (size_t)rq.content_length)
		return;
	switch (handle(r, k, &rq, (size_t)h)) {
	case 1: /* parked */
		return;
	case 2: /* the socket now belongs to a relay client */
		free(k);
		r->conns[i] = NULL;
		return;
	default:
		rtc_conn_close(r, i);
	}
}

/* Edge: offers waiting for their channel's origin, answered once it
 * streams, fails, or PARK_MS pass. */
void rtc_unpark(struct rtc *r)
{
	for (int i = 0; i < MAX_CONN; i++) {
		struct conn *k = r->conns[i];
		struct chan *c;
		if (!k || !(c = k->park))
			continue;
		if (!(c->up.state == UP_STREAM && c->up.have_gen) && !(c->up.result_at >= k->park_t && c->up.result != 200) &&
		    r->now - k->park_t < PARK_MS)
			continue;
		conn_unpark(r, k);
		handle(r, k, &k->rq, k->head);
		rtc_conn_close(r, i);
	}
}

int rtc_conn_add(struct rtc *r, int fd, const char *peer)
{
	int slot = -1;
	for (int i = 0; i < MAX_CONN && slot < 0; i++)
		if (!r->conns[i])
			slot = i;
	if (slot < 0) { /* full: the oldest one still waiting for its request goes */
		for (int i = 0; i < MAX_CONN; i++)
			if (!r->conns[i]->park && !r->conns[i]->admit_id && (slot < 0 || r->conns[i]->t0 < r->conns[slot]->t0))
				slot = i;
		if (slot >= 0) {
			rtc_conn_close(r, slot);
			r->c.http_evicted++;
		}
	}
	if (slot < 0 || !(r->conns[slot] = calloc(1, sizeof(struct conn)))) {
		close(fd);
		return -1;
	}
	r->conns[slot]->fd = fd;
	r->conns[slot]->t0 = r->now;
	snprintf(r->conns[slot]->peer, sizeof r->conns[slot]->peer, "%s", peer);
	return slot;
}

/* Take the connections waiting on the listener (16 at most a round). */
void rtc_http_accept(struct rtc *r)
{
	for (int k = 0; k < 16; k++) {
		char peer[64];
		int fd = lsp_net_accept(r->http, LSP_NET_NONBLOCK, peer, sizeof peer);
		if (fd < 0) /* none waiting (-EAGAIN), or out of descriptors */
			break;
		rtc_conn_add(r, fd, peer);
	}
}
