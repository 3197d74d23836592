/* test_ingest — lib/ingest: {channel} template expansion (used for -o and
 * --exec) and its bounds; then whole connections served in-process over
 * a socketpair, seen through the one event hook: an RTMP publish (canned
 * client bytes) reports "publish started" (stage publishing) and
 * "publish stopped" (reason disconnect, every byte counted) with the
 * fields and field order the logs keep; a wrong key, a busy channel and a
 * wrong app are refused with their reasons; a codec lsp cannot serve
 * (AV1, legacy VP6, MP3, or AV1 announced by onMetaData) ends the publish
 * with an onStatus error and "codec refused"; the TS passthrough ("srt")
 * copies its input to the output unchanged; RTMPS without a TLS context
 * is an error. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/ingest.h"
#include "test_ingest_rtmpc.h"

static void test_expand(void **st)
{
	char out[64];
	(void)st;
	assert_int_equal(lsp_ingest_expand("/srv/{channel}.ts", "alpha", out, sizeof out), 0);
	assert_string_equal(out, "/srv/alpha.ts");
	assert_int_equal(lsp_ingest_expand("a {channel} b {channel}", "x", out, sizeof out), 0);
	assert_string_equal(out, "a x b x");
	assert_int_equal(lsp_ingest_expand("no template", "x", out, sizeof out), 0);
	assert_string_equal(out, "no template");
	assert_int_equal(lsp_ingest_expand("{chan}{channel", "x", out, sizeof out), 0);
	assert_string_equal(out, "{chan}{channel");
	assert_int_equal(lsp_ingest_expand("", "x", out, sizeof out), 0);
	assert_string_equal(out, "");
}

static void test_expand_bounds(void **st)
{
	char out[8];
	(void)st;
	assert_int_equal(lsp_ingest_expand("{channel}", "1234567", out, sizeof out), 0);
	assert_string_equal(out, "1234567");
	assert_int_equal(lsp_ingest_expand("{channel}", "12345678", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(lsp_ingest_expand("12345678", "", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(lsp_ingest_expand("x", "", out, 0), -ENAMETOOLONG);
}

/* ---- connections, through the event hook ---- */

#define MAXEV 16

struct seen {
	int n;
	struct {
		int level, nf;
		char name[64], channel[80], remote[64], reason[128], stage[32], keys[160];
		long long bytes, status;
	} ev[MAXEV];
};

static void copy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "(none)");
}

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *sn = ctx;
	size_t o = 0;
	if (sn->n >= MAXEV)
		return;
	sn->ev[sn->n].level = ev->level;
	sn->ev[sn->n].nf = ev->n;
	copy(sn->ev[sn->n].name, sizeof sn->ev[0].name, ev->name);
	copy(sn->ev[sn->n].channel, sizeof sn->ev[0].channel, lsp_event_str(ev, "channel"));
	copy(sn->ev[sn->n].remote, sizeof sn->ev[0].remote, lsp_event_str(ev, "remote"));
	copy(sn->ev[sn->n].reason, sizeof sn->ev[0].reason, lsp_event_str(ev, "reason"));
	copy(sn->ev[sn->n].stage, sizeof sn->ev[0].stage, lsp_event_str(ev, "stage"));
	sn->ev[sn->n].bytes = lsp_event_int(ev, "bytes", -2);
	sn->ev[sn->n].status = lsp_event_int(ev, "status", -2);
	sn->ev[sn->n].keys[0] = 0;
	for (int i = 0; i < ev->n && o < sizeof sn->ev[0].keys; i++)
		o += (size_t)snprintf(sn->ev[sn->n].keys + o, sizeof sn->ev[0].keys - o, "%s%s", i ? "," : "",
				      ev->keys[i]);
	sn->n++;
}

/* The test's store: one key, "alpha_goodkey", names channel alpha. */
static int auth(void *ctx, const char *key, char *channel, size_t cap, const char **reason)
{
	(void)ctx;
	if (strcmp(key, "alpha_goodkey") != 0) {
		*reason = "unknown key";
		return -1;
	}
	snprintf(channel, cap, "alpha");
	return 0;
}

static char dir[64];

static void base(lsp_ingest_cfg *c, struct seen *sn)
{
	static char out[128];
	memset(c, 0, sizeof *c);
	memset(sn, 0, sizeof *sn);
	snprintf(out, sizeof out, "%s/{channel}.ts", dir);
	c->app = "live";
	c->hs_timeout_s = c->cmd_timeout_s = c->media_timeout_s = 2;
	c->out_tmpl = out;
	c->run_dir = dir;
	c->remote = "192.0.2.1:5000";
	c->auth = auth;
	c->event = on_event;
	c->event_ctx = sn;
}

/* Serve proto on one end of a socketpair after writing in (then EOF) on
 * the other: the serve function's return. */
static int serve_canned(const lsp_ingest_cfg *c, const char *proto, const char *key, const void *in, size_t n)
{
	char err[256] = "";
	int sp[2], rc;
	const lsp_ingest_proto *p = lsp_ingest_proto_find(proto);
	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[1], in, n), (ssize_t)n);
	shutdown(sp[1], SHUT_WR);
	rc = p->serve(c, sp[0], -1, key, err, sizeof err);
	close(sp[0]);
	close(sp[1]);
	return rc;
}

static int find(const struct seen *sn, const char *name)
{
	for (int i = 0; i < sn->n; i++)
		if (!strcmp(sn->ev[i].name, name))
			return i;
	return -1;
}

static void rtmp_publish(void **st)
{
	static struct rtmpc b;
	lsp_ingest_cfg c;
	struct seen sn;
	int a, z;
	(void)st;
	base(&c, &sn);
	rtmpc_publish(&b, "live", "alpha_goodkey");
	rtmpc_video(&b, 200);
	assert_int_equal(serve_canned(&c, "rtmp", NULL, b.p, b.n), 0);
	assert_true((a = find(&sn, LSP_INGEST_EV_STARTED)) >= 0);
	assert_true((z = find(&sn, LSP_INGEST_EV_STOPPED)) > a);
	/* the fields, in the order the logs (and tests/integ) read them */
	assert_string_equal(sn.ev[a].keys, "channel,remote,reason,stage,bytes,duration_s,status");
	assert_int_equal(sn.ev[a].level, LSP_INFO);
	assert_string_equal(sn.ev[a].channel, "alpha");
	assert_string_equal(sn.ev[a].remote, "192.0.2.1:5000");
	assert_string_equal(sn.ev[a].stage, "publishing");
	assert_int_equal(sn.ev[a].status, -1);
	assert_string_equal(sn.ev[z].channel, "alpha");
	assert_string_equal(sn.ev[z].reason, "disconnect");
	assert_int_equal(sn.ev[z].bytes, (long long)b.n);
	assert_int_equal(find(&sn, LSP_INGEST_EV_CODEC), -1);
	for (int i = 0; i < sn.n; i++) /* the key never travels in an event */
		assert_null(strstr(sn.ev[i].reason, "goodkey"));
}

static void rtmp_refusals(void **st)
{
	static struct rtmpc b;
	lsp_ingest_cfg c;
	struct seen sn;
	char lock[128];
	int i, fd;
	(void)st;
	base(&c, &sn);
	rtmpc_publish(&b, "live", "alpha_badkey");
	assert_int_equal(serve_canned(&c, "rtmp", NULL, b.p, b.n), 1);
	assert_true((i = find(&sn, LSP_INGEST_EV_REFUSED)) >= 0);
	assert_int_equal(sn.ev[i].level, LSP_WARN);
	assert_string_equal(sn.ev[i].reason, "unknown key");
	assert_string_equal(sn.ev[i].channel, "");
	assert_int_equal(find(&sn, LSP_INGEST_EV_STARTED), -1);
	assert_int_equal(find(&sn, LSP_INGEST_EV_STOPPED), -1);

	base(&c, &sn); /* another publisher holds the channel */
	snprintf(lock, sizeof lock, "%s/alpha.lock", dir);
	assert_true((fd = open(lock, O_RDWR | O_CREAT, 0600)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	rtmpc_publish(&b, "live", "alpha_goodkey");
	assert_int_equal(serve_canned(&c, "rtmp", NULL, b.p, b.n), 1);
	assert_true((i = find(&sn, LSP_INGEST_EV_REFUSED)) >= 0);
	assert_string_equal(sn.ev[i].reason, "channel busy");
	assert_string_equal(sn.ev[i].channel, "alpha");
	close(fd);

	base(&c, &sn);
	rtmpc_publish(&b, "other", "alpha_goodkey");
	assert_int_equal(serve_canned(&c, "rtmp", NULL, b.p, b.n), 1);
	assert_true((i = find(&sn, "connect refused")) >= 0);
	assert_string_equal(sn.ev[i].reason, "bad app");
	assert_int_equal(find(&sn, LSP_INGEST_EV_REFUSED), -1);
}

/* serve_canned, keeping what the server sent back in back (NUL-ended). */
static int serve_back(lsp_ingest_cfg *c, const uint8_t *in, size_t n, char *back, size_t cap)
{
	char err[256];
	int sp[2], rc;
	ssize_t got;
	size_t o = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[1], in, n), (ssize_t)n);
	shutdown(sp[1], SHUT_WR);
	rc = lsp_ingest_proto_find("rtmp")->serve(c, sp[0], -1, NULL, err, sizeof err);
	close(sp[0]);
	while (o + 1 < cap && (got = read(sp[1], back + o, cap - 1 - o)) > 0)
		o += (size_t)got;
	close(sp[1]);
	for (size_t i = 0; i < o; i++) /* AMF strings among binary: make it searchable */
		if (back[i] == 0)
			back[i] = ' ';
	back[o] = 0;
	return rc;
}

/* A codec nobody can serve ends the publish at its first tag (or at
 * onMetaData's codec id): an onStatus error the encoder shows, one
 * "codec refused" event naming the codec, never a live channel. */
static void rtmp_codec_refused(void **st)
{
	static struct rtmpc b;
	static char back[16384];
	/* E-RTMP: IsExHeader | keyframe | SequenceStart, FourCC av01, a config */
	static const uint8_t av1[] = { 0x90, 'a', 'v', '0', '1', 0x81, 0, 0x0c, 0 };
	static const uint8_t vp6[] = { 0x14, 0, 0, 0, 0, 0 };
	static const uint8_t mp3[] = { 0x2f, 0xff, 0xfb };
	static const struct {
		uint8_t type;
		const uint8_t *p;
		size_t n;
		const char *why;
	} cases[] = {
		{ 9, av1, sizeof av1, "lsp accepts H.264 or HEVC video; this stream is AV1" },
		{ 9, vp6, sizeof vp6, "lsp accepts H.264 or HEVC video; this stream is VP6 (legacy codec id 4)" },
		{ 8, mp3, sizeof mp3, "lsp accepts AAC or Opus audio; this stream is MP3 (legacy sound format id 2)" },
	};
	lsp_ingest_cfg c;
	struct seen sn;
	int a, i, z;
	(void)st;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		base(&c, &sn);
		rtmpc_publish(&b, "live", "alpha_goodkey");
		rtmpc_tag(&b, cases[k].type, cases[k].p, cases[k].n);
		rtmpc_video(&b, 100); /* never read: the session has ended */
		serve_back(&c, b.p, b.n, back, sizeof back);
		assert_true((a = find(&sn, LSP_INGEST_EV_STARTED)) >= 0);
		assert_true((i = find(&sn, LSP_INGEST_EV_CODEC)) > a);
		assert_int_equal(sn.ev[i].level, LSP_WARN);
		assert_string_equal(sn.ev[i].reason, cases[k].why);
		assert_true((z = find(&sn, LSP_INGEST_EV_STOPPED)) > i);
		assert_string_equal(sn.ev[z].reason, "codec refused");
		assert_non_null(strstr(back, "NetStream.Publish.Rejected"));
		assert_non_null(strstr(back, cases[k].why));
	}

	/* onMetaData says AV1 (its FourCC as a number) before any media */
	{
		uint8_t m[256];
		lsp_amf0_wr w;
		lsp_amf0_wr_init(&w, m, sizeof m);
		lsp_amf0_put_string(&w, "@setDataFrame");
		lsp_amf0_put_string(&w, "onMetaData");
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "width");
		lsp_amf0_put_number(&w, 1280);
		lsp_amf0_put_key(&w, "videocodecid");
		lsp_amf0_put_number(&w, (double)0x61763031);
		lsp_amf0_put_object_end(&w);
		base(&c, &sn);
		rtmpc_publish(&b, "live", "alpha_goodkey");
		rtmpc_chunked(&b, 4, 18, 1, m, w.len);
		serve_back(&c, b.p, b.n, back, sizeof back);
		assert_true((i = find(&sn, LSP_INGEST_EV_CODEC)) >= 0);
		assert_string_equal(sn.ev[i].reason, "lsp accepts H.264 or HEVC video; this stream is AV1");
		assert_non_null(strstr(back, "NetStream.Publish.Rejected"));
	}
}

static void ts_passthrough(void **st)
{
	static uint8_t ts[188 * 20], back[sizeof ts + 1];
	lsp_ingest_cfg c;
	struct seen sn;
	char path[128];
	int i, z, fd;
	(void)st;
	base(&c, &sn);
	for (size_t o = 0; o < sizeof ts; o++)
		ts[o] = o % 188 == 0 ? 0x47 : (uint8_t)(o * 31);
	assert_int_equal(serve_canned(&c, "srt", "alpha_goodkey", ts, sizeof ts), 0);
	assert_true((i = find(&sn, LSP_INGEST_EV_STARTED)) >= 0);
	assert_string_equal(sn.ev[i].stage, "srt");
	assert_true((z = find(&sn, LSP_INGEST_EV_STOPPED)) > i);
	assert_string_equal(sn.ev[z].reason, "disconnect");
	assert_int_equal(sn.ev[z].bytes, (long long)sizeof ts);
	snprintf(path, sizeof path, "%s/alpha.ts", dir);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, back, sizeof back), (ssize_t)sizeof ts);
	close(fd);
	assert_memory_equal(back, ts, sizeof ts);
	unlink(path);

	base(&c, &sn);
	assert_int_equal(serve_canned(&c, "srt", "beta_wrong", ts, sizeof ts), 1);
	assert_true((i = find(&sn, LSP_INGEST_EV_REFUSED)) >= 0);
	assert_string_equal(sn.ev[i].reason, "unknown key");
	assert_string_equal(sn.ev[i].stage, "srt");
}

static void rtmps_needs_tls(void **st)
{
	lsp_ingest_cfg c;
	struct seen sn;
	char err[128] = "";
	(void)st;
	base(&c, &sn);
	assert_int_equal(lsp_ingest_proto_find("rtmps")->serve(&c, -1, -1, NULL, err, sizeof err), -EINVAL);
	assert_string_equal(err, "rtmps without a TLS context");
	assert_null(lsp_ingest_proto_find("whip"));
}

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof dir, "/tmp/test_ingest_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char p[128];
	(void)st;
	snprintf(p, sizeof p, "%s/alpha.lock", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/alpha.ts", dir);
	unlink(p);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_bounds),
		cmocka_unit_test_setup_teardown(rtmp_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(rtmp_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(rtmp_codec_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(ts_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(rtmps_needs_tls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
