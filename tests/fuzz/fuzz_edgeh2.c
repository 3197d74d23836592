/* fuzz_edgeh2.c — libFuzzer harness for lsp-edge's HTTP/2 layer
 * (lib/edge/edge_h2.c): the input follows the client preface on a fresh
 * connection of a real lsp_edge (over a socketpair), so nghttp2 parses the
 * frames and the edge's glue — headers to an HTTP/1.1 head, path and query
 * parsing, routing, holds, responses, stream and connection teardown —
 * runs on whatever they carry.  One server for the whole run, over a small
 * canned LL-HLS tree in a temporary directory.  Built by `make fuzz`. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/edge_int.h"

static lsp_edge *edge;

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if ((f = fopen(p, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

static int setup(void)
{
	static char root[] = "/tmp/fuzz_edgeh2.XXXXXX";
	char hls[300], rung[320], web[300], err[256];
	lsp_edge_cfg cfg = { 0 };
	if (!mkdtemp(root))
		return -1;
	snprintf(hls, sizeof hls, "%s/hls", root);
	snprintf(web, sizeof web, "%s/web", root);
	mkdir(hls, 0700);
	mkdir(web, 0700);
	snprintf(rung, sizeof rung, "%s/demo", hls);
	mkdir(rung, 0700);
	snprintf(rung, sizeof rung, "%s/demo/360p", hls);
	mkdir(rung, 0700);
	put(rung, "index.m3u8",
	    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:7\n"
	    "#EXT-X-PART:DURATION=0.2,URI=\"seg8.0.m4s\"\n#EXTINF:1.0,\nseg7.m4s\n"
	    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg8.1.m4s\"\n");
	put(rung, "seg7.m4s", "0123456789abcdef");
	put(rung, "seg8.0.m4s", "part");
	put(web, "index.html", "<!doctype html>\n");
	cfg.host = "127.0.0.1";
	cfg.hls_root = strdup(hls);
	cfg.web_root = strdup(web);
	cfg.max_conns = 16;
	cfg.part_hold_ms = 100;
	cfg.upstream[0] = cfg.upstream[1] = cfg.upstream[2] = "off";
	return cfg.hls_root && cfg.web_root ? lsp_edge_open(&edge, &cfg, err, sizeof err) : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct epoll_event ee = { .events = EPOLLIN | EPOLLRDHUP };
	int sv[2];
	char *buf;
	edge_conn *c;
	if (!edge && setup() < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (!(buf = malloc(sizeof pri - 1 + size)) || !(c = calloc(1, sizeof *c)) || edge->nfree == 0) {
		free(buf);
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* a connection as on_accept (edge.c) makes one */
	c->kind = K_CONN;
	c->fd = sv[0];
	c->ffd = -1;
	c->slot = edge->free_slots[--edge->nfree];
	edge->slots[c->slot] = c;
	edge->open++;
	c->st = C_READ;
	c->events = ee.events;
	ee.data.ptr = c;
	epoll_ctl(edge->efd, EPOLL_CTL_ADD, c->fd, &ee);
	memcpy(buf, pri, sizeof pri - 1);
	if (size)
		memcpy(buf + sizeof pri - 1, data, size);
	edge_h2_start(edge, c, buf, sizeof pri - 1 + size);
	free(buf);
	/* the loop's "again" list: answered streams written out */
	for (int i = 0; i < 64 && edge->again; i++) {
		edge_conn *q = edge->again;
		edge->again = q->anext;
		if (q->queued == 2) {
			q->anext = edge->dead;
			edge->dead = q;
			continue;
		}
		q->queued = 0;
		if (q->st == C_H2)
			edge_h2_io(edge, q, 0);
	}
	if (c->kind == K_CONN)
		edge_conn_close(edge, c);
	while (edge->again) { /* only c can be here: closed, to be freed */
		edge_conn *q = edge->again;
		edge->again = q->anext;
		q->anext = edge->dead;
		edge->dead = q;
	}
	while (edge->dead) {
		edge_conn *q = edge->dead;
		edge->dead = q->anext;
		free(q);
	}
	close(sv[1]);
	return 0;
}
