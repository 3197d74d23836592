/* test_rtmp — the RTMP server state machine on canned bytes: handshake,
 * connect/createStream/publish, chunk reassembly across chunk-size changes
 * and header formats, refusals, and bad input rejected with an error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/amf0.h"
#include "ingest/rtmp.h"

struct buf {
	uint8_t p[1 << 20];
	size_t n;
};

/* Client message as chunks of size cs: fmt 0 header then fmt 3 ones. */
static void chunked(struct buf *b, int csid, uint32_t ts, uint8_t type, uint32_t msid, const uint8_t *p,
		    size_t n, size_t cs)
{
	size_t off = 0;
	uint8_t *o = b->p + b->n;
	o[0] = (uint8_t)csid;
	o[1] = (uint8_t)(ts >> 16), o[2] = (uint8_t)(ts >> 8), o[3] = (uint8_t)ts;
	o[4] = (uint8_t)(n >> 16), o[5] = (uint8_t)(n >> 8), o[6] = (uint8_t)n;
	o[7] = type;
	o[8] = (uint8_t)msid, o[9] = (uint8_t)(msid >> 8), o[10] = 0, o[11] = 0;
	b->n += 12;
	for (;;) {
		size_t c = n - off < cs ? n - off : cs;
		memcpy(b->p + b->n, p + off, c);
		b->n += c;
		off += c;
		if (off >= n)
			break;
		b->p[b->n++] = (uint8_t)(0xc0 | csid);
	}
}

static void cmd(struct buf *b, uint32_t msid, const char *name, double txn, const char *arg, const char *app)
{
	uint8_t m[512];
	lsp_amf0_wr w;
	lsp_amf0_wr_init(&w, m, sizeof m);
	lsp_amf0_put_string(&w, name);
	lsp_amf0_put_number(&w, txn);
	if (app) {
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "app");
		lsp_amf0_put_string(&w, app);
		lsp_amf0_put_key(&w, "tcUrl");
		lsp_amf0_put_string(&w, "rtmp://127.0.0.1/live");
		lsp_amf0_put_object_end(&w);
	} else {
		lsp_amf0_put_null(&w);
	}
	if (arg) {
		lsp_amf0_put_string(&w, arg);
		lsp_amf0_put_string(&w, "live");
	}
	chunked(b, 3, 0, 20, msid, m, w.len, 128);
}

static void set_chunk(struct buf *b, uint32_t v)
{
	uint8_t m[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	chunked(b, 2, 0, 1, 0, m, 4, 128);
}

static int contains(const uint8_t *h, size_t hn, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= hn; i++)
		if (memcmp(h + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Feed all of b (in pieces of step bytes), collecting events. */
static int drive(lsp_rtmp *r, const struct buf *b, size_t step, lsp_rtmp_event *evs, int maxev, int *nev)
{
	size_t off = 0;
	int rc = 0;
	char err[128];
	while (off < b->n) {
		size_t want = b->n - off < step ? b->n - off : step;
		off += lsp_rtmp_feed(r, b->p + off, want);
		for (;;) {
			lsp_rtmp_event ev;
			rc = lsp_rtmp_step(r, &ev, err, sizeof err);
			if (rc <= 0)
				break;
			if (*nev < maxev) {
				evs[*nev] = ev;
				if (ev.type == LSP_RTMP_EV_MEDIA) { /* data dies at the next step: keep a sum */
					uint32_t sum = 0;
					for (size_t i = 0; i < ev.len; i++)
						sum = sum * 31 + ev.data[i];
					evs[*nev].data = NULL;
					evs[*nev].width = sum;
				}
			}
			(*nev)++;
			if (ev.type == LSP_RTMP_EV_CONNECT || ev.type == LSP_RTMP_EV_PUBLISH)
				assert_int_equal(lsp_rtmp_accept(r), 0);
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static void handshake(struct buf *b)
{
	b->p[0] = 3;
	for (int i = 1; i < 1 + 1536 * 2; i++)
		b->p[i] = (uint8_t)(i * 7);
	b->n = 1 + 1536 * 2;
}

static void test_handshake(void **st)
{
	static struct buf b;
	lsp_rtmp *r = lsp_rtmp_new(1234, 42);
	char err[64];
	lsp_rtmp_event ev;
	size_t n;
	const uint8_t *o;
	(void)st;
	handshake(&b);
	assert_int_equal(lsp_rtmp_feed(r, b.p, 1 + 1536), 1 + 1536);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 0);
	o = lsp_rtmp_out(r, &n);
	assert_int_equal(n, 1 + 2 * 1536);
	assert_int_equal(o[0], 3);
	assert_memory_equal(o + 1 + 1536, b.p + 1, 1536); /* S2 echoes C1 */
	lsp_rtmp_out_done(r, n);
	assert_int_equal(lsp_rtmp_stage(r), LSP_RTMP_HS_C2);
	lsp_rtmp_feed(r, b.p + 1 + 1536, 1535);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 0);
	assert_int_equal(lsp_rtmp_stage(r), LSP_RTMP_HS_C2);
	lsp_rtmp_feed(r, b.p + b.n - 1, 1);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 0);
	assert_int_equal(lsp_rtmp_stage(r), LSP_RTMP_WAIT_CONNECT);
	lsp_rtmp_free(r);

	r = lsp_rtmp_new(0, 1);
	b.p[0] = 6;
	lsp_rtmp_feed(r, b.p, 1537);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), -EPROTO);
	lsp_rtmp_free(r);
}

/* The whole publish exchange, then media across chunk-size changes; fed
 * in one go and byte by byte, which must give the same events. */
static void run_publish(size_t step)
{
	static struct buf b;
	static uint8_t video[10000], audio[300];
	lsp_rtmp_event ev[16];
	int nev = 0;
	size_t n;
	const uint8_t *o;
	lsp_rtmp *r = lsp_rtmp_new(0, 7);
	handshake(&b);
	set_chunk(&b, 4096);
	for (size_t i = 0; i < sizeof video; i++)
		video[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < sizeof audio; i++)
		audio[i] = (uint8_t)(i * 5 + 3);
	{ /* connect with chunk size 4096 */
		uint8_t m[512];
		lsp_amf0_wr w;
		lsp_amf0_wr_init(&w, m, sizeof m);
		lsp_amf0_put_string(&w, "connect");
		lsp_amf0_put_number(&w, 1);
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "app");
		lsp_amf0_put_string(&w, "live/");
		lsp_amf0_put_object_end(&w);
		chunked(&b, 3, 0, 20, 0, m, w.len, 4096);
	}
	set_chunk(&b, 128); /* set_chunk/cmd helpers chunk at 128 */
	cmd(&b, 0, "releaseStream", 2, "key", NULL);
	cmd(&b, 0, "FCPublish", 3, "key", NULL);
	cmd(&b, 0, "createStream", 4, NULL, NULL);
	cmd(&b, 1, "publish", 5, "alpha_key?x=1", NULL);
	set_chunk(&b, 4096);
	chunked(&b, 6, 40, 9, 1, video, sizeof video, 4096);
	set_chunk(&b, 100);
	chunked(&b, 4, 1000, 8, 1, audio, sizeof audio, 100);
	/* fmt 2 (delta 23) for a second audio message, then fmt 3 (same delta) */
	b.p[b.n++] = 0x80 | 4;
	b.p[b.n++] = 0, b.p[b.n++] = 0, b.p[b.n++] = 23;
	memcpy(b.p + b.n, audio, 100), b.n += 100;
	b.p[b.n++] = 0xc0 | 4;
	memcpy(b.p + b.n, audio + 100, 100), b.n += 100;
	b.p[b.n++] = 0xc0 | 4;
	memcpy(b.p + b.n, audio + 200, 100), b.n += 100;
	b.p[b.n++] = 0xc0 | 4; /* new message, fmt 3: ts += 23 again */
	memcpy(b.p + b.n, audio, 100), b.n += 100;
	b.p[b.n++] = 0xc0 | 4;
	memcpy(b.p + b.n, audio + 100, 100), b.n += 100;
	b.p[b.n++] = 0xc0 | 4;
	memcpy(b.p + b.n, audio + 200, 100), b.n += 100;
	cmd(&b, 1, "FCUnpublish", 6, "alpha_key", NULL);

	assert_int_equal(drive(r, &b, step, ev, 16, &nev), 0);
	assert_int_equal(nev, 7);
	assert_int_equal(ev[0].type, LSP_RTMP_EV_CONNECT);
	assert_string_equal(ev[0].app, "live");
	assert_int_equal(ev[1].type, LSP_RTMP_EV_PUBLISH);
	assert_string_equal(ev[1].name, "alpha_key");
	assert_int_equal(ev[2].type, LSP_RTMP_EV_MEDIA);
	assert_int_equal(ev[2].kind, 9);
	assert_int_equal(ev[2].ts, 40);
	assert_int_equal(ev[2].len, sizeof video);
	{
		uint32_t sum = 0;
		for (size_t i = 0; i < sizeof video; i++)
			sum = sum * 31 + video[i];
		assert_true(ev[2].width == sum);
		sum = 0;
		for (size_t i = 0; i < sizeof audio; i++)
			sum = sum * 31 + audio[i];
		for (int i = 3; i <= 5; i++) {
			assert_int_equal(ev[i].type, LSP_RTMP_EV_MEDIA);
			assert_int_equal(ev[i].kind, 8);
			assert_int_equal(ev[i].len, sizeof audio);
			assert_true(ev[i].width == sum);
		}
	}
	assert_int_equal(ev[3].ts, 1000);
	assert_int_equal(ev[4].ts, 1023);
	assert_int_equal(ev[5].ts, 1046);
	assert_int_equal(ev[6].type, LSP_RTMP_EV_UNPUBLISH);
	assert_int_equal(lsp_rtmp_stage(r), LSP_RTMP_ENDED);
	o = lsp_rtmp_out(r, &n);
	assert_true(contains(o, n, "NetConnection.Connect.Success"));
	assert_true(contains(o, n, "NetStream.Publish.Start"));
	assert_true(contains(o, n, "_result"));
	lsp_rtmp_free(r);
}

static void test_publish_whole(void **st) { (void)st; run_publish(1 << 20); }
static void test_publish_bytewise(void **st) { (void)st; run_publish(1); }
static void test_publish_odd_pieces(void **st) { (void)st; run_publish(777); }

static void test_refuse(void **st)
{
	static struct buf b;
	lsp_rtmp *r = lsp_rtmp_new(0, 7);
	char err[64];
	lsp_rtmp_event ev;
	size_t n;
	const uint8_t *o;
	int rc;
	(void)st;
	handshake(&b);
	cmd(&b, 0, "connect", 1, NULL, "live");
	cmd(&b, 0, "createStream", 2, NULL, NULL);
	cmd(&b, 1, "publish", 3, "bad_key", NULL);
	lsp_rtmp_feed(r, b.p, b.n);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 1);
	assert_int_equal(ev.type, LSP_RTMP_EV_CONNECT);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 0); /* waits for the decision */
	assert_int_equal(lsp_rtmp_accept(r), 0);
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 1);
	assert_int_equal(ev.type, LSP_RTMP_EV_PUBLISH);
	assert_string_equal(ev.name, "bad_key");
	assert_int_equal(lsp_rtmp_refuse(r, "NetStream.Publish.BadName", "stream key refused"), 0);
	assert_int_equal(lsp_rtmp_stage(r), LSP_RTMP_ENDED);
	o = lsp_rtmp_out(r, &n);
	assert_true(contains(o, n, "_error"));
	assert_true(contains(o, n, "NetStream.Publish.BadName"));
	assert_int_equal(lsp_rtmp_step(r, &ev, err, sizeof err), 0);
	assert_int_equal(lsp_rtmp_accept(r), -EINVAL);
	rc = lsp_rtmp_refuse(r, "x", "y");
	assert_int_equal(rc, -EINVAL);
	lsp_rtmp_free(r);
}

static int run_bad(struct buf *b)
{
	lsp_rtmp *r = lsp_rtmp_new(0, 7);
	lsp_rtmp_event ev[4];
	int nev = 0, rc = drive(r, b, b->n, ev, 4, &nev);
	lsp_rtmp_free(r);
	return rc;
}

static void test_bad_input(void **st)
{
	static struct buf b;
	(void)st;
	/* a message larger than the bound */
	handshake(&b);
	memcpy(b.p + b.n, (uint8_t[]){ 3, 0, 0, 0, 0x90, 0, 0, 20, 0, 0, 0, 0 }, 12);
	b.n += 12;
	assert_int_equal(run_bad(&b), -EMSGSIZE);
	/* fmt 3 on a chunk stream never opened */
	handshake(&b);
	b.p[b.n++] = 0xc0 | 9;
	assert_int_equal(run_bad(&b), -EPROTO);
	/* too many chunk streams, each with a partial message */
	handshake(&b);
	for (int i = 0; i < LSP_RTMP_MAX_CS + 1; i++) {
		memcpy(b.p + b.n, (uint8_t[]){ (uint8_t)(3 + i), 0, 0, 0, 0, 1, 0, 9, 1, 0, 0, 0 }, 12);
		b.n += 12;
		memset(b.p + b.n, 0, 128);
		b.n += 128;
	}
	assert_int_equal(run_bad(&b), -EPROTO);
	/* publish before connect */
	handshake(&b);
	cmd(&b, 1, "publish", 3, "k", NULL);
	assert_int_equal(run_bad(&b), -EPROTO);
	/* chunk size 0 */
	handshake(&b);
	set_chunk(&b, 0);
	assert_int_equal(run_bad(&b), -EPROTO);
	/* a command that is not AMF */
	handshake(&b);
	chunked(&b, 3, 0, 20, 0, (const uint8_t *)"\x42garbage", 8, 128);
	assert_int_equal(run_bad(&b), -EPROTO);
	/* random bytes after the handshake: an error or a wait, never a crash */
	for (int seed = 1; seed < 200; seed++) {
		uint32_t x = (uint32_t)seed * 2654435761u;
		handshake(&b);
		for (int i = 0; i < 4000; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			b.p[b.n++] = (uint8_t)x;
		}
		assert_true(run_bad(&b) <= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),	cmocka_unit_test(test_publish_whole),
		cmocka_unit_test(test_publish_bytewise), cmocka_unit_test(test_publish_odd_pieces),
		cmocka_unit_test(test_refuse),		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
