/* edge_serve.c — what lsp-edge answers to each request head: routing by
 * path, /hls/ (plain files, blocking playlist reload and held parts through
 * the hold table), /vod/ recordings with byte ranges, the /api/ directory,
 * /metrics, /healthz and the web pages.  Relay mode hands /hls/, /api/ and
 * /vod/ to edge_relay.c; the front door's routes (/api/v1/, /ws/,
 * /presence, /whep/, /whip/) go to edge_proxy.c first.  Owns nothing: every answer goes out through
 * edge_respond, which owns the response.  Internal; see edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/key.h"
#include "core/metrics.h"
#include "state/chandir.h"
#include "state/vod.h"

void edge_serve_file(lsp_edge *e, edge_conn *c, int dfd, const char *rel, const char *cache, const lsp_http_req *rq)
{
	struct stat st;
	int fd = edge_open_beneath(dfd, rel, O_RDONLY);
	const char *rv;
	size_t rvl;
	uint64_t a, b;
	if (fd < 0) {
		edge_respond_error(e, c, errno == ENOENT || errno == ENOTDIR || errno == EXDEV || errno == ELOOP ||
					    errno == EACCES ? 404 : 500);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		edge_respond_error(e, c, 404);
		return;
	}
	if (rq && (rv = lsp_http_header_get(rq, "range", &rvl))) {
		int r = lsp_http_range(rv, rvl, (uint64_t)st.st_size, &a, &b);
		if (r == 0) {
			edge_respond(e, c, 206, edge_mime_of(rel), cache, "Accept-Ranges: bytes\r\n", NULL, fd, (off_t)a,
				     (off_t)b + 1, st.st_size);
			return;
		}
		if (r == -1) {
			char cr[80];
			close(fd);
			snprintf(cr, sizeof cr, "Content-Range: bytes */%lld\r\n", (long long)st.st_size);
			edge_respond(e, c, 416, NULL, "no-store", cr, NULL, -1, 0, 0, -1);
			return;
		}
	}
	edge_respond(e, c, 200, edge_mime_of(rel), cache, "Accept-Ranges: bytes\r\n", NULL, fd, 0, st.st_size, -1);
}

/* ---- /hls/ and holds ---------------------------------------------------- */

/* Send a hold table answer on c (rq NULL: no Range for a held part). */
static void reply(lsp_edge *e, edge_conn *c, const edge_answer *a, const lsp_http_req *rq)
{
	if (a->file)
		edge_serve_file(e, c, e->hls_fd, a->file, EDGE_SEGMENT_CACHE, rq);
	else if (a->b)
		edge_respond(e, c, a->status, EDGE_PLAYLIST_TYPE, a->cache, NULL, a->b, -1, 0, 0, -1);
	else
		edge_respond_error(e, c, a->status);
}

void edge_on_answer(void *ctx, edge_waiter *wt, const edge_answer *a)
{
	reply(ctx, EDGE_CONN_OF(wt), a, NULL);
}

/* c was put in the hold table: wait, reading nothing, until answered. */
static void held(lsp_edge *e, edge_conn *c)
{
	c->st = C_HOLD;
	c->deadline = c->wt.deadline; /* edge_holds_expire answers it then */
	edge_set_events(e, c, EPOLLRDHUP);
}

/* _HLS_msn / _HLS_part of rq: 1 found (msn, part or -1), 0 none, -1 bad. */
static int blocking_query(const lsp_http_req *rq, long long *msn, long long *part)
{
	char v[32], *end;
	int have_msn, have_part;
	*msn = *part = -1;
	have_msn = lsp_http_query_get(rq->query, rq->query_len, "_HLS_msn", v, sizeof v);
	if (have_msn >= 0) {
		*msn = strtoll(v, &end, 10);
		if (!*v || *end || *msn < 0)
			return -1;
	}
	have_part = lsp_http_query_get(rq->query, rq->query_len, "_HLS_part", v, sizeof v);
	if (have_part >= 0) {
		*part = strtoll(v, &end, 10);
		if (!*v || *end || *part < 0 || have_msn < 0)
			return -1;
	}
	if (have_msn == -2 || have_part == -2)
		return -1;
	return have_msn >= 0;
}

/* A rung's media playlist ("<channel>/<rung>/index.m3u8") nobody has
 * rewritten for EDGE_STALE_MS: its rung is not being encoded (on demand). */
static int stale_rung_playlist(const lsp_edge *e, const char *rel, const char *name)
{
	const char *a = strchr(rel, '/');
	struct stat st;
	struct timespec now;
	if (strcmp(name, "index.m3u8") != 0 || !a || strchr(a + 1, '/') != name - 1 ||
	    fstatat(e->hls_fd, rel, &st, 0) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0;
	return ((long long)now.tv_sec - (long long)st.st_mtim.tv_sec) * 1000 +
		       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000 >
	       EDGE_STALE_MS;
}

/* rel = "<channel>/<rung>/<file>" etc., already checked for safety. */
static void serve_hls(lsp_edge *e, edge_conn *c, const char *rel, const lsp_http_req *rq)
{
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	edge_answer a;
	struct stat st;

	if (!slash || (size_t)(slash - rel) >= sizeof e->holds.watches->rel) {
		edge_serve_file(e, c, e->hls_fd, rel, "no-cache", rq);
		return;
	}
	if (edge_ends_with(name, ".m3u8")) {
		long long msn, part;
		int r = blocking_query(rq, &msn, &part);
		if (r < 0) {
			edge_respond_error(e, c, 400);
			return;
		}
		c->wt.skip = edge_hold_skip(rq->query, rq->query_len); /* delta update */
		if (r == 0 && !c->wt.skip && stale_rung_playlist(e, rel, name)) {
			/* a rung nobody watched: this request wakes it (edge_demand_hit);
			 * answer once it has moved on, not with minutes-old media */
			if (edge_hold_fresh(&e->holds, &c->wt, rel, e->now, &a))
				reply(e, c, &a, rq);
			else
				held(e, c);
			return;
		}
		if (r == 0 && !c->wt.skip) {
			edge_serve_file(e, c, e->hls_fd, rel, "no-cache", rq);
			return;
		}
		if (edge_hold_playlist(&e->holds, &c->wt, rel, r ? msn : -1, r ? part : -1, e->now, &a))
			reply(e, c, &a, rq);
		else
			held(e, c);
		return;
	}
	if (!edge_ends_with(name, ".m4s") || fstatat(e->hls_fd, rel, &st, 0) == 0) {
		edge_serve_file(e, c, e->hls_fd, rel,
				edge_ends_with(name, ".m4s") || edge_ends_with(name, ".mp4") || edge_ends_with(name, ".ts")
					? EDGE_SEGMENT_CACHE : "no-cache", rq);
		return;
	}
	/* a part or segment not written yet (a preload hint): wait for it */
	if (edge_hold_part(&e->holds, &c->wt, rel, e->now, &a))
		reply(e, c, &a, rq);
	else
		held(e, c);
}

/* ---- /api/ and /vod/ ---------------------------------------------------- */

static void serve_api(lsp_edge *e, edge_conn *c, const char *only)
{
	char *buf = malloc(API_MAX);
	int n;
	edge_body *b;
	if (!buf) {
		edge_respond_error(e, c, 500);
		return;
	}
	if (e->relay && e->cfg.list && !only)
		n = e->cfg.list(e->cfg.route_ctx, buf, API_MAX - 1);
	else
		n = lsp_chandir_json(e->cfg.hls_root, only, time(NULL), buf, API_MAX - 1);
	if (n == -ENOENT) {
		free(buf);
		edge_respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		return;
	}
	if (n < 0) {
		free(buf);
		edge_respond_error(e, c, 500);
		return;
	}
	buf[n++] = '\n';
	b = edge_body_from(buf, (size_t)n);
	free(buf);
	edge_respond(e, c, 200, "application/json", "no-store", NULL, b, -1, 0, 0, -1);
}

/* /api/channels/<name>/vods: the channel's recordings, newest first. */
static void serve_vods(lsp_edge *e, edge_conn *c, const char *name)
{
	char *buf = malloc(API_MAX);
	int n;
	edge_body *b;
	if (!buf) {
		edge_respond_error(e, c, 500);
		return;
	}
	n = e->cfg.vod_root ? lsp_vod_json(e->cfg.vod_root, name, buf, API_MAX - 1) : -ENOENT;
	if (n < 0)
		n = snprintf(buf, API_MAX, "[]");
	buf[n++] = '\n';
	b = edge_body_from(buf, (size_t)n);
	free(buf);
	edge_respond(e, c, 200, "application/json", "no-store", NULL, b, -1, 0, 0, -1);
}

/* rel = "<channel>/<id>/<file>" below the recordings root; "<channel>/<id>/"
 * is the recording's playlist.  Files are immutable once named by the
 * playlist; the playlist grows while the broadcast is recorded. */
/* /vod/CH/ID/FILE, or /vod/CH/~TOKEN/ID/FILE for a private or age-gated
 * channel (the same playback token and path form as /hls/: the
 * recording's relative URIs carry it). */
static void serve_vod(lsp_edge *e, edge_conn *c, const char *path, const lsp_http_req *rq)
{
	char p[LSP_HTTP_TARGET_MAX + 16], ch[LSP_NAME_MAX + 1], rel[LSP_HTTP_TARGET_MAX + 1];
	const char *s1, *s2, *tok;
	size_t cl, tl;
	if (edge_play_split(path, rel, sizeof rel, &tok, &tl) < 0) {
		edge_respond_error(e, c, 404);
		return;
	}
	s1 = strchr(rel, '/');
	s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	cl = s1 ? (size_t)(s1 - rel) : 0;
	if (!s1 || !s2 || cl == 0 || cl > LSP_NAME_MAX || s2 == s1 + 1 || strchr(s2 + 1, '/') || strstr(rel, "/.")) {
		edge_respond_error(e, c, 404);
		return;
	}
	memcpy(ch, rel, cl);
	ch[cl] = 0;
	if (!lsp_name_valid(ch) ||
	    snprintf(p, sizeof p, "%s%s", rel, s2[1] ? "" : "index.m3u8") >= (int)sizeof p) {
		edge_respond_error(e, c, 404);
		return;
	}
	if (!edge_play_gate(e, c, rq, ch, tok, tl)) /* a private channel's recordings too */
		return;
	if (e->vod_fd < 0 && e->cfg.vod_root) /* created after we started */
		e->vod_fd = open(e->cfg.vod_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->vod_fd < 0) {
		edge_respond_error(e, c, 404);
		return;
	}
	edge_serve_file(e, c, e->vod_fd, p, edge_ends_with(p, ".m3u8") ? "no-cache" : "public, max-age=86400", rq);
}

/* The families of /metrics, declared once in lsp_edge_open (edge.c). */
static const struct {
	const char *name;
	int type;
	const char *help;
} families[] = {
	{ "lsp_edge_connections_open", LSP_METRIC_GAUGE, "client connections open" },
	{ "lsp_edge_connections_accepted_total", LSP_METRIC_COUNTER, "client connections accepted" },
	{ "lsp_edge_connections_rejected_total", LSP_METRIC_COUNTER, "connections refused at max-conns or out of memory" },
	{ "lsp_edge_requests_total", LSP_METRIC_COUNTER, "responses sent, by status class" },
	{ "lsp_edge_held_requests", LSP_METRIC_GAUGE, "requests waiting (blocking reload, preload part, relay)" },
	{ "lsp_edge_holds_total", LSP_METRIC_COUNTER, "requests put on hold for a playlist or part" },
	{ "lsp_edge_hold_timeouts_total", LSP_METRIC_COUNTER, "held requests that timed out (503 / 404 / 504)" },
	{ "lsp_edge_watches", LSP_METRIC_GAUGE, "directories watched with inotify" },
	{ "lsp_edge_bytes_sent_total", LSP_METRIC_COUNTER, "bytes written to clients" },
	{ "lsp_edge_relay_upstream_total", LSP_METRIC_COUNTER, "relay requests sent to an origin" },
	{ "lsp_edge_relay_hits_total", LSP_METRIC_COUNTER, "relay requests answered from the cache" },
	{ "lsp_edge_relay_coalesced_total", LSP_METRIC_COUNTER, "relay requests that waited on one already in flight" },
	{ "lsp_edge_relay_errors_total", LSP_METRIC_COUNTER, "relay origin requests that failed (502 / 504)" },
	{ "lsp_edge_relay_entries", LSP_METRIC_GAUGE, "relay cache entries" },
	{ "lsp_edge_proxy_requests_total", LSP_METRIC_COUNTER, "requests forwarded by the front door, by upstream" },
	{ "lsp_edge_proxy_errors_total", LSP_METRIC_COUNTER,
	  "forwarded requests answered 502 / 504 by the edge, by upstream" },
	{ "lsp_edge_proxy_open", LSP_METRIC_GAUGE, "forwarded requests in progress (WebSocket tunnels included)" },
	{ "lsp_edge_proxy_tunnels", LSP_METRIC_GAUGE, "WebSocket tunnels open" },
	{ "lsp_edge_requests_by_protocol_total", LSP_METRIC_COUNTER, "requests handled, by protocol (h1, h2)" },
	{ "lsp_edge_h2_connections", LSP_METRIC_GAUGE, "client connections speaking HTTP/2" },
	{ "lsp_edge_playback_refused_total", LSP_METRIC_COUNTER,
	  "/hls/ requests of private or age-gated channels refused (403: no, bad or expired playback token)" },
};

int edge_metrics_init(lsp_edge *e)
{
	if (lsp_metrics_new(&e->mx, "lsp-edge") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (lsp_metrics_def(e->mx, families[i].name, families[i].type, families[i].help) < 0)
			return -EINVAL;
	return 0;
}

static void serve_metrics(lsp_edge *e, edge_conn *c)
{
	static const char *const cls[4] = { "2xx", "3xx", "4xx", "5xx" }, *const ups[EDGE_UP_N] = { "api", "chat", "rtc" };
	lsp_metrics *m = e->mx;
	char *txt = NULL;
	size_t len = 0;
	edge_body *b;
	lsp_metrics_set(m, "lsp_edge_connections_open", (double)e->open, NULL);
	lsp_metrics_set(m, "lsp_edge_connections_accepted_total", (double)e->accepted, NULL);
	lsp_metrics_set(m, "lsp_edge_connections_rejected_total", (double)e->rejected, NULL);
	for (int i = 0; i < 4; i++)
		lsp_metrics_set(m, "lsp_edge_requests_total", (double)e->by_code[i], "code", cls[i], NULL);
	lsp_metrics_set(m, "lsp_edge_held_requests", (double)(e->holds.held + e->relay_held), NULL);
	lsp_metrics_set(m, "lsp_edge_holds_total", (double)e->holds.total, NULL);
	lsp_metrics_set(m, "lsp_edge_hold_timeouts_total", (double)(e->holds.timeouts + e->relay_timeouts), NULL);
	lsp_metrics_set(m, "lsp_edge_watches", (double)e->holds.nwatches, NULL);
	lsp_metrics_set(m, "lsp_edge_bytes_sent_total", (double)e->bytes_sent, NULL);
	lsp_metrics_set(m, "lsp_edge_relay_upstream_total", (double)e->relay_upstream, NULL);
	lsp_metrics_set(m, "lsp_edge_relay_hits_total", (double)e->relay_hits, NULL);
	lsp_metrics_set(m, "lsp_edge_relay_coalesced_total", (double)e->relay_coalesced, NULL);
	lsp_metrics_set(m, "lsp_edge_relay_errors_total", (double)e->relay_errors, NULL);
	lsp_metrics_set(m, "lsp_edge_relay_entries", (double)e->nentries, NULL);
	for (int i = 0; i < EDGE_UP_N; i++) {
		lsp_metrics_set(m, "lsp_edge_proxy_requests_total", (double)e->px_requests[i], "upstream", ups[i], NULL);
		lsp_metrics_set(m, "lsp_edge_proxy_errors_total", (double)e->px_errors[i], "upstream", ups[i], NULL);
	}
	lsp_metrics_set(m, "lsp_edge_proxy_open", (double)e->px_open, NULL);
	lsp_metrics_set(m, "lsp_edge_proxy_tunnels", (double)e->px_tunnels, NULL);
	lsp_metrics_set(m, "lsp_edge_playback_refused_total", (double)e->play_refused, NULL);
	lsp_metrics_set(m, "lsp_edge_requests_by_protocol_total", (double)e->by_proto[0], "protocol", "h1", NULL);
	lsp_metrics_set(m, "lsp_edge_requests_by_protocol_total", (double)e->by_proto[1], "protocol", "h2", NULL);
	lsp_metrics_set(m, "lsp_edge_h2_connections", (double)e->h2_open, NULL);
	if (lsp_metrics_render(m, &txt, &len) < 0 || !(b = edge_body_from(txt, len))) {
		free(txt);
		c->keep_alive = 0;
		edge_respond_error(e, c, 503);
		return;
	}
	free(txt);
	edge_respond(e, c, 200, "text/plain; version=0.0.4; charset=utf-8", "no-store", NULL, b, -1, 0, 0, -1);
}

/* ---- routing ------------------------------------------------------------ */

/* A client on this host (loopback): plain HTTP is fine for it. */
static int peer_is_local(const edge_conn *c)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* Plain HTTP from another host on the TLS port: 308 to the same URL over
 * https (browsers give the camera to secure origins only).  1 answered. */
static int upgrade_to_https(lsp_edge *e, edge_conn *c, const lsp_http_req *rq)
{
	char loc[LSP_HTTP_TARGET_MAX + 400];
	size_t hl;
	const char *host = lsp_http_header_get(rq, "host", &hl);
	if (!c->plain_on_tls || peer_is_local(c))
		return 0;
	c->keep_alive = 0;
	if (!host || hl == 0 || hl > 255 ||
	    snprintf(loc, sizeof loc, "Location: https://%.*s%.*s\r\n", (int)hl, host, (int)rq->target_len,
		     rq->target) >= (int)sizeof loc) {
		edge_respond_error(e, c, 400);
		return 1;
	}
	edge_respond(e, c, 308, "text/plain; charset=utf-8", "no-store", loc, edge_body_from("use https\n", 10), -1,
		     0, 0, -1);
	return 1;
}

void edge_handle(lsp_edge *e, edge_conn *c, const lsp_http_req *rq)
{
	char path[LSP_HTTP_TARGET_MAX + 1];
	int up;
	c->keep_alive = rq->keep_alive;
	c->head_only = rq->method == LSP_HTTP_HEAD;
	if (upgrade_to_https(e, c, rq))
		return;
	/* the front door: the other servers' routes, bodies and all */
	e->by_proto[c->up != NULL]++;
	if (lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) >= 0 && (up = lsp_proxyhead_route(path)) >= 0) {
		edge_proxy_start(e, c, rq, up); /* HTTP/1.1 or an HTTP/2 stream */
		return;
	}
	if (rq->content_length > 0 || rq->chunked) {
		c->keep_alive = 0; /* we take no request bodies */
		edge_respond_error(e, c, rq->method == LSP_HTTP_GET || rq->method == LSP_HTTP_HEAD ? 400 : 405);
		return;
	}
	if (rq->method == LSP_HTTP_OPTIONS) {
		edge_respond(e, c, 204, NULL, "max-age=86400",
			     "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\nAccess-Control-Allow-Headers: *\r\n"
			     "Access-Control-Max-Age: 86400\r\nAllow: GET, HEAD, OPTIONS\r\n",
			     NULL, -1, 0, 0, -1);
		return;
	}
	if (rq->method != LSP_HTTP_GET && rq->method != LSP_HTTP_HEAD) {
		edge_respond(e, c, 405, "text/plain", "no-store", "Allow: GET, HEAD, OPTIONS\r\n",
			     edge_body_from("405 Method Not Allowed\n", 23), -1, 0, 0, -1);
		return;
	}
	if (lsp_http_path_decode(rq->path, rq->path_len, path, sizeof path) < 0) {
		edge_respond_error(e, c, 400);
		return;
	}
	if (!strncmp(path, "/hls/", 5))
		edge_pres_hit(e, c, rq, path + 5); /* presence: HLS viewers (edge_pres.c) */
	if (e->relay && e->cfg.list && !strcmp(path, "/api/channels")) {
		serve_api(e, c, NULL); /* no one origin knows every channel */
		return;
	}
	if (e->relay && (!strncmp(path, "/hls/", 5) || !strncmp(path, "/api/", 5) || !strncmp(path, "/vod/", 5))) {
		char org[128] = "";
		if (e->cfg.route && e->cfg.route(e->cfg.route_ctx, path, org, sizeof org) < 0) {
			edge_respond_error(e, c, 404); /* no live origin for this channel (now) */
			return;
		}
		edge_relay(e, c, rq, org);
		return;
	}
	if (!strncmp(path, "/hls/", 5)) {
		char rel[LSP_HTTP_TARGET_MAX + 1];
		char ch[LSP_NAME_MAX + 1];
		const char *s, *tok;
		size_t cl, tl;
		if (edge_play_split(path + 5, rel, sizeof rel, &tok, &tl) < 0) { /* "~<token>/" taken out */
			edge_respond_error(e, c, 404);
			return;
		}
		s = strchr(rel, '/');
		cl = s ? (size_t)(s - rel) : strlen(rel);
		if (cl == 0 || cl > LSP_NAME_MAX || !s || !s[1] || strstr(s, "/.")) { /* no dot (temp) files */
			edge_respond_error(e, c, 404);
			return;
		}
		memcpy(ch, rel, cl);
		ch[cl] = 0;
		if (!lsp_name_valid(ch)) {
			edge_respond_error(e, c, 404);
			return;
		}
		if (!edge_play_gate(e, c, rq, ch, tok, tl)) /* private / age-gated: a playback token */
			return;
		edge_demand_hit(e, rel); /* lsp-transcode --on-demand (edge_demand.c) */
		serve_hls(e, c, rel, rq);
		return;
	}
	if (!strcmp(path, "/")) {
		edge_serve_file(e, c, e->web_fd, "index.html", "no-cache", NULL);
	} else if (!strncmp(path, "/watch/", 7) && lsp_name_valid(path + 7)) {
		edge_serve_file(e, c, e->web_fd, "watch.html", "no-cache", NULL);
	} else if (!strcmp(path, "/studio")) {
		edge_serve_file(e, c, e->web_fd, "studio.html", "no-cache", NULL);
	} else if (!strncmp(path, "/vod/", 5)) {
		serve_vod(e, c, path + 5, rq);
	} else if (!strncmp(path, "/api/channels/", 14) && edge_ends_with(path, "/vods") &&
		   strlen(path) - 19 <= LSP_NAME_MAX) {
		char ch[LSP_NAME_MAX + 1];
		size_t n = strlen(path) - 19;
		memcpy(ch, path + 14, n);
		ch[n] = 0;
		if (n == 0 || !lsp_name_valid(ch))
			edge_respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		else if (edge_play_gate(e, c, rq, ch, NULL, 0)) /* private: ?token= */
			serve_vods(e, c, ch);
	} else if (!strcmp(path, "/api/channels")) {
		serve_api(e, c, NULL);
	} else if (!strncmp(path, "/api/channels/", 14)) {
		if (!lsp_name_valid(path + 14))
			edge_respond_text(e, c, 404, "application/json", "no-store", "{\"error\":\"no such channel\"}\n");
		else
			serve_api(e, c, path + 14);
	} else if (!strcmp(path, "/metrics")) {
		serve_metrics(e, c);
	} else if (!strcmp(path, "/healthz")) {
		edge_respond_text(e, c, 200, "text/plain", "no-store", "ok\n");
	} else if (path[1] == '.' || strstr(path, "/.") || edge_ends_with(path, "/")) {
		edge_respond_error(e, c, 404); /* no dot files, no directory listings */
	} else {
		edge_serve_file(e, c, e->web_fd, path + 1, "no-cache", rq);
	}
}
