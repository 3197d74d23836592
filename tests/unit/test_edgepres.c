/* test_edgepres.c — lsp-edge's HLS viewer count (lib/edge/edge_pres.c):
 * requests from real loopback sockets with canned heads; a client (peer
 * address + User-Agent) is one viewer of a channel however often and on
 * however many connections it asks; other channels and other agents
 * count apart; bad channel names are ignored; past the window a client
 * is forgotten, and the "viewers" events say each count once a second,
 * the last one 0, then nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/edge_int.h"

typedef struct {
	char ch[64][32];
	long n[64];
	int k;
} seen_t;

static void on_event(void *ctx, const lsp_event *ev)
{
	seen_t *s = ctx;
	if (!lsp_event_is(ev, "viewers") || s->k == 64)
		return;
	snprintf(s->ch[s->k], sizeof s->ch[s->k], "%s", lsp_event_str(ev, "channel"));
	s->n[s->k++] = (long)lsp_event_int(ev, "viewers", -1);
}

/* a connected loopback TCP socket (the server's end) in *srv, the client's in *cli */
static void pair(int *srv, int *cli)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&a, sizeof a), 0);
	*srv = accept(l, NULL, NULL);
	assert_true(*srv >= 0);
	close(l);
}

static void hit(lsp_edge *e, int fd, const char *ua, const char *rel)
{
	char head[512];
	lsp_http_req rq;
	edge_conn c;
	memset(&c, 0, sizeof c);
	c.fd = fd;
	snprintf(head, sizeof head, "GET /hls/%s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\n\r\n", rel, ua);
	assert_true(lsp_http_parse(head, strlen(head), &rq) > 0);
	edge_pres_hit(e, &c, &rq, rel);
}

static void counts(void **st)
{
	(void)st;
	seen_t seen = { .k = 0 };
	lsp_edge *e = calloc(1, sizeof *e);
	int s1, c1, s2, c2;
	assert_non_null(e);
	e->cfg.event = on_event;
	e->cfg.event_ctx = &seen;
	e->now = 1000000;
	e->hls_fd = -1; /* no root to check channels against (as relaying) */
	pair(&s1, &c1);
	pair(&s2, &c2);
	/* one player, two connections, playlist + parts: one viewer */
	hit(e, s1, "player-a", "demo/720p/index.m3u8");
	hit(e, s2, "player-a", "demo/720p/part12.m4s");
	hit(e, s1, "player-a", "demo/master.m3u8");
	assert_int_equal(edge_pres_count(e, "demo"), 1);
	/* another agent from the same address: another viewer (a second player) */
	hit(e, s2, "player-b", "demo/720p/index.m3u8");
	assert_int_equal(edge_pres_count(e, "demo"), 2);
	/* another channel counts apart; bad names and bare paths are not counted */
	hit(e, s1, "player-a", "other/index.m3u8");
	hit(e, s1, "player-a", "-bad/index.m3u8");
	hit(e, s1, "player-a", "Bad/index.m3u8");
	hit(e, s1, "player-a", "demo");
	assert_int_equal(edge_pres_count(e, "demo"), 2);
	assert_int_equal(edge_pres_count(e, "other"), 1);
	assert_int_equal(edge_pres_count(e, "-bad"), 0);
	edge_pres_tick(e);
	assert_int_equal(seen.k, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(seen.n[i], !strcmp(seen.ch[i], "demo") ? 2 : 1);
	/* within a second: no new report */
	e->now += 500;
	edge_pres_tick(e);
	assert_int_equal(seen.k, 2);
	/* player-a keeps asking for demo; the rest go quiet past the window */
	for (int t = 0; t < 20; t++) {
		e->now += 1000;
		hit(e, s1, "player-a", "demo/720p/index.m3u8");
		edge_pres_tick(e);
	}
	assert_int_equal(edge_pres_count(e, "demo"), 1);
	assert_int_equal(edge_pres_count(e, "other"), 0);
	/* "other" was reported 0 once, then not again */
	int zeros = 0;
	for (int i = 0; i < seen.k; i++)
		zeros += !strcmp(seen.ch[i], "other") && seen.n[i] == 0;
	assert_int_equal(zeros, 1);
	edge_pres_free(e);
	assert_null(e->pres);
	close(s1);
	close(c1);
	close(s2);
	close(c2);
	free(e);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(counts) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
