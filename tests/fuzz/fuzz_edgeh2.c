/* fuzz_edgeh2.c — libFuzzer harness for lsp-edge's HTTP/2 glue: the input
 * follows the client preface into an nghttp2 server session (which parses
 * the frames and HPACK) set up as lib/edge/edge_h2.c sets it up; each
 * request's headers go through lib/edge/h2head.c into an HTTP/1.1 head and
 * core/http's parser, then through the path and query parsing the edge
 * does (path decode, front-door route, playback-token path form, _HLS_*
 * and token parameters); the response goes back with header lines turned
 * into pairs by h2head and written out by nghttp2.  Checks: a parsed head
 * fits its buffer and says HTTP/1.1 with the method sent; no pair name has
 * an upper-case letter.  Built by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/http.h"
#include "edge/h2head.h"
#include "edge/playpath.h"
#include "edge/proxyhead.h"

typedef struct stream {
	lsp_h2head q;
	int done;
	struct stream *prev, *next; /* every stream open, so none leaks */
} stream;

typedef struct {
	stream *all;
} ctx;

static void stream_free(ctx *x, stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		x->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	lsp_h2head_free(&s->q);
	free(s);
}

static void query(const lsp_http_req *rq)
{
	static const char *const names[] = { "_HLS_msn", "_HLS_part", "_HLS_skip", "token" };
	char v[64];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		(void)lsp_http_query_get(rq->query, rq->query_len, names[i], v, sizeof v);
}

static void respond(nghttp2_session *ss, int32_t sid, const char *buf, const lsp_http_req *rq, int status)
{
	const char *nm[8], *vl[8];
	size_t nl[8], vll[8], k;
	char scratch[256], st[8];
	nghttp2_nv nv[10];
	const char *lines = rq ? strstr(buf, "\r\n") : NULL; /* the request's own header lines, as extras */
	k = lsp_h2head_lines(lines ? lines + 2 : "Accept-Ranges: bytes\r\nConnection: close\r\n", nm, nl, vl, vll, 8,
			     scratch, sizeof scratch);
	st[0] = (char)('0' + status / 100), st[1] = (char)('0' + status / 10 % 10), st[2] = (char)('0' + status % 10);
	st[3] = 0;
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE };
	for (size_t i = 0; i < k; i++) {
		for (size_t j = 0; j < nl[i]; j++)
			if (nm[i][j] >= 'A' && nm[i][j] <= 'Z')
				abort();
		nv[i + 1] = (nghttp2_nv){ (uint8_t *)(uintptr_t)nm[i], (uint8_t *)(uintptr_t)vl[i], nl[i], vll[i],
					  NGHTTP2_NV_FLAG_NONE };
	}
	nghttp2_submit_response(ss, sid, nv, k + 1, NULL);
}

static void dispatch(nghttp2_session *ss, int32_t sid, stream *s)
{
	char *buf = malloc(LSP_HTTP_HEAD_MAX), path[LSP_HTTP_TARGET_MAX + 1], rel[LSP_HTTP_TARGET_MAX + 1];
	lsp_http_req rq;
	int n;
	if (!buf || s->done)
		goto done;
	s->done = 1;
	n = lsp_h2head_parse(&s->q, buf, &rq);
	if (n > LSP_HTTP_HEAD_MAX)
		abort();
	if (n > 0) {
		const char *tok;
		size_t tl;
		if (rq.method_len != strlen(s->q.method) || memcmp(rq.method_s, s->q.method, rq.method_len) ||
		    memcmp(buf + n - 4, "\r\n\r\n", 4))
			abort();
		query(&rq);
		if (lsp_http_path_decode(rq.path, rq.path_len, path, sizeof path) >= 0) {
			(void)lsp_proxyhead_route(path);
			if (!strncmp(path, "/hls/", 5))
				(void)edge_play_split(path + 5, rel, sizeof rel, &tok, &tl);
		}
	}
	respond(ss, sid, buf, n > 0 ? &rq : NULL, n > 0 ? 200 : (-n >= 100 && -n < 1000 ? -n : 500));
done:
	free(buf);
}

static int on_begin(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	ctx *x = ud;
	stream *s;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(s = calloc(1, sizeof *s)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->next = x->all;
	if (x->all)
		x->all->prev = s;
	x->all = s;
	if (nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, s) != 0) {
		stream_free(x, s);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	stream *s;
	(void)flags;
	(void)ud;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST ||
	    !(s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id)))
		return 0;
	return lsp_h2head_add(&s->q, name, nl, value, vl) < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_data(nghttp2_session *ss, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	stream *s = nghttp2_session_get_stream_user_data(ss, sid);
	(void)flags;
	(void)data;
	(void)ud;
	if (s)
		s->q.body += (long long)len;
	return 0;
}

static int on_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	stream *s;
	(void)ud;
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id)))
		dispatch(ss, f->hd.stream_id, s);
	return 0;
}

static int on_close(nghttp2_session *ss, int32_t sid, uint32_t code, void *ud)
{
	stream *s = nghttp2_session_get_stream_user_data(ss, sid);
	(void)code;
	if (s) {
		nghttp2_session_set_stream_user_data(ss, sid, NULL);
		stream_free(ud, s);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_session *ss;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
					{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, LSP_HTTP_HEAD_MAX } };
	const uint8_t *out;
	ctx x = { NULL };
	if (nghttp2_session_callbacks_new(&cb) != 0)
		return 0;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		return 0;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_option_set_no_closed_streams(opt, 1);
	if (nghttp2_session_server_new2(&ss, cb, &x, opt) == 0) {
		nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, iv, 2);
		if (nghttp2_session_mem_recv(ss, (const uint8_t *)pri, sizeof pri - 1) == (ssize_t)(sizeof pri - 1))
			(void)nghttp2_session_mem_recv(ss, data, size);
		while (nghttp2_session_mem_send(ss, &out) > 0)
			;
		while (x.all) /* streams still open (no END_STREAM yet), as edge_h2_free does */
			stream_free(&x, x.all);
		nghttp2_session_del(ss);
	}
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return 0;
}
