/* test_srtin — SRT ingest: the streamid → stream key parser (lib/srtin),
 * the TS scan (lib/tsscan) on hand-built packets, lib/spawn's command
 * runner (a real /bin/sh child reading the pipe), and a real listener on
 * loopback driven by a libsrt caller in the same process: a bad key is
 * refused in the handshake (reject reason 1403) and reported as a
 * "publish refused" event with proto, remote and reason; a good key's
 * connection is handed over as a plain fd carrying the payload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>
#include <srt/access_control.h>
#include <srt/srt.h>

#include "core/net.h"
#include "core/spawn.h"
#include "ingest/srtin.h"
#include "ingest/tsscan.h"

static void test_streamid(void **st)
{
	char k[64];
	(void)st;
	assert_int_equal(lsp_srtin_streamid_key("alpha_0123", k, sizeof k), 0);
	assert_string_equal(k, "alpha_0123");
	assert_int_equal(lsp_srtin_streamid_key("#!::r=alpha_01,m=publish", k, sizeof k), 0);
	assert_string_equal(k, "alpha_01");
	assert_int_equal(lsp_srtin_streamid_key("#!::u=bob,r=key9,s=x", k, sizeof k), 0);
	assert_string_equal(k, "key9");
	assert_int_equal(lsp_srtin_streamid_key("#!::r=key9,m=request", k, sizeof k), -EPERM);
	assert_int_equal(lsp_srtin_streamid_key("#!::m=publish", k, sizeof k), -EINVAL);
	assert_int_equal(lsp_srtin_streamid_key("#!::r=", k, sizeof k), -EINVAL);
	assert_int_equal(lsp_srtin_streamid_key("#!::r", k, sizeof k), -EINVAL);
	assert_int_equal(lsp_srtin_streamid_key("#!::,r=x", k, sizeof k), -EINVAL);
	assert_int_equal(lsp_srtin_streamid_key("", k, sizeof k), -EINVAL);
	assert_int_equal(lsp_srtin_streamid_key("0123456789", k, 10), -EINVAL); /* no room for NUL */
	assert_int_equal(lsp_srtin_streamid_key("#!::r=0123456789", k, 10), -EINVAL);
}

/* one TS packet: pid, pusi, optional RAI, payload */
static void pkt(uint8_t *p, int pid, int pusi, int rai, const uint8_t *pl, size_t n)
{
	size_t off = 4;
	memset(p, 0xff, 188);
	p[0] = 0x47;
	p[1] = (uint8_t)((pusi ? 0x40 : 0) | (pid >> 8));
	p[2] = (uint8_t)pid;
	p[3] = 0x10;
	if (rai) {
		p[3] = 0x30;
		p[4] = 1;
		p[5] = 0x40;
		off = 6;
	}
	memcpy(p + off, pl, n);
}

static void test_tsscan(void **st)
{
	/* PAT: program 1 → PMT PID 0x1000 */
	static const uint8_t pat[] = { 0, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0, 0, 0 };
	/* PMT: H.264 on 0x100, AAC on 0x101 */
	static const uint8_t pmt[] = { 0, 0x02, 0xb0, 23, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0,
				       0x1b, 0xe1, 0x00, 0xf0, 0, 0x0f, 0xe1, 0x01, 0xf0, 0, 0, 0, 0, 0 };
	/* PES with PTS 90000 (1 s) */
	static const uint8_t pes[] = { 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0x00, 0x05, 0xbf, 0x21 };
	uint8_t ts[188 * 5];
	lsp_tsscan t;
	(void)st;
	pkt(ts, 0, 1, 0, pat, sizeof pat);
	pkt(ts + 188, 0x1000, 1, 0, pmt, sizeof pmt);
	pkt(ts + 376, 0x100, 1, 1, pes, sizeof pes);
	pkt(ts + 564, 0x100, 0, 0, pes, sizeof pes);
	pkt(ts + 752, 0x101, 1, 0, pes, sizeof pes);
	lsp_tsscan_init(&t);
	lsp_tsscan_feed(&t, (const uint8_t *)"xx", 2); /* off sync: skipped */
	for (size_t o = 0; o < sizeof ts; o += 100) /* split packets */
		lsp_tsscan_feed(&t, ts + o, sizeof ts - o < 100 ? sizeof ts - o : 100);
	assert_int_equal(t.skipped, 2);
	assert_int_equal(t.packets, 5);
	assert_int_equal(t.pmt_pid, 0x1000);
	assert_int_equal(t.vpid, 0x100);
	assert_int_equal(t.apid, 0x101);
	assert_string_equal(lsp_tsscan_codec(t.vtype), "h264");
	assert_string_equal(lsp_tsscan_codec(t.atype), "aac");
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.keyframes, 1);
	assert_int_equal(t.v_pts, 90000);
	assert_int_equal(t.a_pts, 90000);
	assert_null(lsp_tsscan_codec(0x99));
}

static void test_spawn(void **st)
{
	char err[128], path[] = "/tmp/test_spawn_XXXXXX", cmd[128], buf[32] = "";
	pid_t pid;
	int fd, status, tfd;
	FILE *f;
	(void)st;
	assert_true((tfd = mkstemp(path)) >= 0);
	close(tfd);
	snprintf(cmd, sizeof cmd, "cat > %s; echo {channel} >> %s", path, path);
	assert_int_equal(lsp_spawn_template(cmd, "chan1", &pid, &fd, err, sizeof err), 0);
	assert_int_equal(write(fd, "ts:", 3), 3);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	unlink(path);
	assert_string_equal(buf, "ts:chan1\n");
	assert_int_equal(lsp_spawn_expand("{channel}{channel}", "abcdef", buf, 12), -ENAMETOOLONG);
}

/* ---- a real listener ---- */

struct rec { /* events seen, from libsrt's threads */
	pthread_mutex_t mu;
	int n, refused;
	char proto[8], remote[64], reason[64];
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct rec *r = ctx;
	pthread_mutex_lock(&r->mu);
	r->n++;
	if (lsp_event_is(ev, "publish refused")) {
		r->refused++;
		snprintf(r->proto, sizeof r->proto, "%s", lsp_event_str(ev, "proto"));
		snprintf(r->remote, sizeof r->remote, "%s", lsp_event_str(ev, "remote"));
		snprintf(r->reason, sizeof r->reason, "%s", lsp_event_str(ev, "reason"));
	}
	pthread_mutex_unlock(&r->mu);
}

static int check(void *ctx, const char *key, const char *remote, const char **reason)
{
	(void)ctx;
	(void)remote;
	if (strcmp(key, "alpha_good") == 0)
		return 0;
	*reason = "unknown key";
	return -1;
}

/* A libsrt caller to 127.0.0.1:port with streamid sid: the socket, or
 * SRT_INVALID_SOCK with *reject the listener's reason. */
static SRTSOCKET call(int port, const char *sid, int *reject)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SRTSOCKET k = srt_create_socket();
	int tt = SRTT_LIVE;
	srt_setsockflag(k, SRTO_TRANSTYPE, &tt, sizeof tt);
	srt_setsockflag(k, SRTO_STREAMID, sid, (int)strlen(sid));
	if (srt_connect(k, (struct sockaddr *)&a, sizeof a) < 0) {
		*reject = srt_getrejectreason(k);
		srt_close(k);
		return SRT_INVALID_SOCK;
	}
	return k;
}

/* libsrt's own log lines (our refusal, the closed listener) are noise here. */
static void quiet(void *o, int level, const char *file, int line, const char *area, const char *msg)
{
	(void)o, (void)level, (void)file, (void)line, (void)area, (void)msg;
}

static void test_listener(void **st)
{
	static struct rec r = { .mu = PTHREAD_MUTEX_INITIALIZER };
	lsp_srtin_cfg c = { .host = "127.0.0.1", .check = check, .event = on_event, .event_ctx = &r, .backlog = 4 };
	lsp_srtin *s;
	char err[256], key[64], remote[80], buf[64];
	int u, fd = -1, reject = 0, rc = -EAGAIN;
	SRTSOCKET k;
	(void)st;
	/* a free UDP port: bind one, note it, let it go */
	assert_true((u = lsp_net_listen("127.0.0.1", 0, SOCK_DGRAM, 0, err, sizeof err)) >= 0);
	c.port = lsp_net_port(u);
	close(u);
	srt_setloghandler(NULL, quiet);
	assert_int_equal(lsp_srtin_open(&s, &c, err, sizeof err), 0);

	assert_true(call(c.port, "#!::r=alpha_bad,m=publish", &reject) == SRT_INVALID_SOCK);
	assert_int_equal(reject, SRT_REJX_FORBIDDEN);
	pthread_mutex_lock(&r.mu);
	assert_int_equal(r.refused, 1);
	assert_string_equal(r.proto, "srt");
	assert_string_equal(r.reason, "unknown key");
	assert_memory_equal(r.remote, "127.0.0.1:", 10);
	pthread_mutex_unlock(&r.mu);
	assert_int_equal(lsp_srtin_take(s, &fd, key, sizeof key, remote, sizeof remote), -EAGAIN);

	assert_true((k = call(c.port, "alpha_good", &reject)) != SRT_INVALID_SOCK);
	for (int t = 0; t < 200 && (rc = lsp_srtin_take(s, &fd, key, sizeof key, remote, sizeof remote)) == -EAGAIN; t++)
		usleep(10000);
	assert_int_equal(rc, 0);
	assert_string_equal(key, "alpha_good");
	assert_memory_equal(remote, "127.0.0.1:", 10);
	assert_true(srt_sendmsg(k, "ts bytes", 8, -1, 1) == 8);
	assert_int_equal(read(fd, buf, sizeof buf), 8);
	assert_memory_equal(buf, "ts bytes", 8);
	srt_close(k);
	close(fd);
	lsp_srtin_close(s, 2000);
	srt_setloghandler(NULL, NULL);
	assert_int_equal(r.refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streamid),
		cmocka_unit_test(test_tsscan),
		cmocka_unit_test(test_spawn),
		cmocka_unit_test(test_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
