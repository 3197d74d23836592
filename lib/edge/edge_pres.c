/* edge_pres.c — HLS viewers per channel, for presence.  A viewer is a
 * distinct client (peer address and User-Agent) that asked for anything
 * under /hls/<channel>/ in the last EDGE_PRES_WINDOW_MS: HLS players fetch
 * a playlist every target duration (LL-HLS: every part), so a window of a
 * few target durations counts each one once however many connections it
 * opens.  Once a second (edge_pres_tick, on the loop's sweep) each counted
 * channel goes out as a "viewers" event (debug: channel, viewers), the
 * last one with 0; lsp-edge turns it into presence (bus/presence.h).
 *
 * Bounded: EDGE_PRES_SLOTS (client, channel) pairs in one open-addressed
 * table probed at most EDGE_PRES_PROBE slots, EDGE_PRES_CHANS channels;
 * when full, a new client is not counted (under-counting, never growth).
 * The server owns the table (e->pres), made on the first /hls/ request;
 * one getpeername() per /hls/ request, no allocation after that. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/key.h"
#include "edge/edge_int.h"

#define EDGE_PRES_WINDOW_MS 15000
#define EDGE_PRES_SLOTS 65536 /* power of two */
#define EDGE_PRES_PROBE 32
#define EDGE_PRES_CHANS 256

struct edge_pres {
	struct {
		uint64_t key;    /* 0: free */
		int64_t seen;
		int ch;
	} slot[EDGE_PRES_SLOTS];
	struct {
		char name[LSP_NAME_MAX + 1]; /* "": free */
		long n, sent;                /* counted now; last reported (-1: never) */
	} ch[EDGE_PRES_CHANS];
	int64_t last_tick;
	long long full;                      /* clients not counted: table full */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static int chan_slot(edge_pres *p, const char *name, size_t len)
{
	int fr = -1;
	for (int i = 0; i < EDGE_PRES_CHANS; i++) {
		if (!p->ch[i].name[0]) {
			if (fr < 0)
				fr = i;
		} else if (strlen(p->ch[i].name) == len && !memcmp(p->ch[i].name, name, len))
			return i;
	}
	if (fr >= 0) {
		memcpy(p->ch[fr].name, name, len);
		p->ch[fr].name[len] = 0;
		p->ch[fr].n = 0;
		p->ch[fr].sent = -1;
	}
	return fr;
}

void edge_pres_hit(lsp_edge *e, edge_conn *c, const lsp_http_req *rq, const char *rel)
{
	edge_pres *p = e->pres;
	char name[LSP_NAME_MAX + 1];
	const char *sl = strchr(rel, '/'), *ua;
	size_t len = sl ? (size_t)(sl - rel) : 0, ual = 0;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl_ = sizeof ss;
	uint64_t key = 1469598103934665603ull;
	int ci, fr = -1;
	if (!len || len > LSP_NAME_MAX)
		return;
	memcpy(name, rel, len);
	name[len] = 0;
	if (!lsp_name_valid(name))
		return;
	/* serving files: only a channel that is there (a scan of made-up names
	 * counts nobody); relaying: the origin decides, a 404 counts 15 s */
	if (!e->relay && e->hls_fd >= 0 && faccessat(e->hls_fd, name, F_OK, 0) < 0)
		return;
	if (!p && !(p = e->pres = calloc(1, sizeof *p)))
		return; /* no memory: nobody is counted */
	if ((ci = chan_slot(p, name, len)) < 0) {
		p->full++;
		return;
	}
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl_) == 0) {
		if (ss.ss_family == AF_INET)
			key = fnv(key, &((struct sockaddr_in *)(void *)&ss)->sin_addr, 4);
		else if (ss.ss_family == AF_INET6)
			key = fnv(key, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, 16);
	}
	if ((ua = lsp_http_header_get(rq, "User-Agent", &ual)))
		key = fnv(key, ua, ual);
	key = fnv(key, &ci, sizeof ci);
	if (!key)
		key = 1;
	for (int k = 0; k < EDGE_PRES_PROBE; k++) {
		size_t i = (size_t)(key + (uint64_t)k) & (EDGE_PRES_SLOTS - 1);
		if (p->slot[i].key == key && p->slot[i].ch == ci) {
			p->slot[i].seen = e->now;
			return;
		}
		if (fr < 0 && (!p->slot[i].key || e->now - p->slot[i].seen > EDGE_PRES_WINDOW_MS))
			fr = (int)i;
	}
	if (fr < 0) {
		p->full++;
		return;
	}
	if (p->slot[fr].key) /* an expired client gives its place up */
		p->ch[p->slot[fr].ch].n--;
	p->slot[fr].key = key;
	p->slot[fr].ch = ci;
	p->slot[fr].seen = e->now;
	p->ch[ci].n++;
}

void edge_pres_tick(lsp_edge *e)
{
	edge_pres *p = e->pres;
	if (!p || e->now - p->last_tick < 1000)
		return;
	p->last_tick = e->now;
	for (size_t i = 0; i < EDGE_PRES_SLOTS; i++)
		if (p->slot[i].key && e->now - p->slot[i].seen > EDGE_PRES_WINDOW_MS) {
			p->ch[p->slot[i].ch].n--;
			p->slot[i].key = 0;
		}
	for (int i = 0; i < EDGE_PRES_CHANS; i++) {
		if (!p->ch[i].name[0] || (!p->ch[i].n && !p->ch[i].sent))
			continue;
		if (e->cfg.event)
			lsp_event_emit(e->cfg.event, e->cfg.event_ctx, LSP_DEBUG, "viewers", "channel",
				       LSV_S(p->ch[i].name), "viewers", LSV_I(p->ch[i].n), NULL);
		p->ch[i].sent = p->ch[i].n;
		if (!p->ch[i].n) /* reported 0, and no client holds it (n counts them): free */
			p->ch[i].name[0] = 0;
	}
}

long edge_pres_count(const lsp_edge *e, const char *channel)
{
	const edge_pres *p = e->pres;
	for (int i = 0; p && i < EDGE_PRES_CHANS; i++)
		if (p->ch[i].name[0] && !strcmp(p->ch[i].name, channel))
			return p->ch[i].n;
	return 0;
}

void edge_pres_free(lsp_edge *e)
{
	free(e->pres);
	e->pres = NULL;
}
