/* Unit tests: lib/push/restream.c — a short TS made at test time with
 * ffmpeg (lavfi testsrc + sine, H.264 + AAC) is fed through a FIFO at about
 * its own pace to three destinations:
 *   0  a real RTMP peer: `ffmpeg -listen 1 ... -c copy out.flv`;
 *   1  a refused port (nothing listens): retried with backoff, reported;
 *   2  a hung peer (accepts TCP, never answers): given up after stall_ms.
 * Checks the events ("input opened", "connected", "connect failed" with
 * rising attempt numbers, "destination done" with the counts), the stats,
 * the stream keys masked in every event, and that out.flv holds every
 * packet sent.  Also: lsp_restream_redact, bad arguments, an input that
 * cannot be opened.  The ffmpeg cases are skipped when ffmpeg (or its H.264
 * encoder) is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/net.h"
#include "core/spawn.h"
#include "push/restream.h"

/* ---- events ---- */

typedef struct {
	char name[96], url[160], error[160], input[160];
	long long dest, attempt, connects, sent, dropped, failures, bytes, destinations;
} evrec;

typedef struct {
	pthread_mutex_t mu;
	evrec e[2048];
	int n;
} evlog;

static void on_event(void *ctx, const lsp_event *ev)
{
	evlog *l = ctx;
	const char *u = lsp_event_str(ev, "url"), *e = lsp_event_str(ev, "error"), *in = lsp_event_str(ev, "input");
	pthread_mutex_lock(&l->mu);
	if (l->n < (int)(sizeof l->e / sizeof l->e[0])) {
		evrec *r = &l->e[l->n++];
		snprintf(r->name, sizeof r->name, "%s", ev->name);
		snprintf(r->url, sizeof r->url, "%s", u ? u : "");
		snprintf(r->error, sizeof r->error, "%s", e ? e : "");
		snprintf(r->input, sizeof r->input, "%s", in ? in : "");
		r->dest = lsp_event_int(ev, "dest", -1);
		r->attempt = lsp_event_int(ev, "attempt", -1);
		r->connects = lsp_event_int(ev, "connects", -1);
		r->sent = lsp_event_int(ev, "sent", -1);
		r->dropped = lsp_event_int(ev, "dropped", -1);
		r->failures = lsp_event_int(ev, "failures", -1);
		r->bytes = lsp_event_int(ev, "bytes", -1);
		r->destinations = lsp_event_int(ev, "destinations", -1);
	}
	pthread_mutex_unlock(&l->mu);
}

static int count_ev(const evlog *l, const char *name, int dest)
{
	int k = 0;
	for (int i = 0; i < l->n; i++)
		k += !strcmp(l->e[i].name, name) && (dest < -1 || l->e[i].dest == dest);
	return k;
}

static const evrec *find_ev(const evlog *l, const char *name, int dest)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].name, name) && l->e[i].dest == dest)
			return &l->e[i];
	return NULL;
}

/* ---- helpers ---- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

/* A port nothing listens on (bound, read, closed). */
static int free_port(void)
{
	char err[128];
	int fd = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, LSP_NET_NUMERIC, err, sizeof err), port;
	assert_true(fd >= 0);
	port = lsp_net_port(fd);
	close(fd);
	return port;
}

/* Is something listening on 127.0.0.1:port (per /proc/net/tcp)? */
static int listening(int port)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/net/tcp", "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned addr, p, st;
		if (sscanf(line, " %*d: %8x:%x %*8x:%*x %x", &addr, &p, &st) == 3)
			found = (int)p == port && st == 0x0A && (addr == 0x0100007F || addr == 0);
	}
	fclose(f);
	return found;
}

/* Packets per media type in a file, read back with libavformat. */
static void count_packets(const char *path, int *video, int *audio)
{
	AVFormatContext *ic = NULL;
	AVPacket *p = av_packet_alloc();
	*video = *audio = 0;
	assert_non_null(p);
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	while (av_read_frame(ic, p) >= 0) {
		enum AVMediaType t = ic->streams[p->stream_index]->codecpar->codec_type;
		*video += t == AVMEDIA_TYPE_VIDEO;
		*audio += t == AVMEDIA_TYPE_AUDIO;
		av_packet_unref(p);
	}
	avformat_close_input(&ic);
	av_packet_free(&p);
}

/* Feeds a file into a FIFO in chunks, pace_ms apart (a live source). */
typedef struct {
	const char *fifo, *src;
	int chunks;
	long pace_ms;
	int rc;
} feeder;

static void *feed_main(void *arg)
{
	feeder *fd_ = arg;
	char *buf = NULL;
	long long until = lsp_clock_mono_ms() + 10000;
	struct stat sb;
	int in = -1, out = -1;
	size_t off = 0, chunk;

	fd_->rc = -1;
	if ((in = open(fd_->src, O_RDONLY)) < 0 || fstat(in, &sb) < 0 || !(buf = malloc((size_t)sb.st_size)) ||
	    read(in, buf, (size_t)sb.st_size) != sb.st_size)
		goto fail;
	/* the reader opens the FIFO when it starts; never block without one */
	while ((out = open(fd_->fifo, O_WRONLY | O_NONBLOCK)) < 0 && errno == ENXIO && lsp_clock_mono_ms() < until)
		usleep(10 * 1000);
	if (out < 0 || fcntl(out, F_SETFL, 0) < 0)
		goto fail;
	chunk = (size_t)sb.st_size / (size_t)fd_->chunks + 1;
	while (off < (size_t)sb.st_size) {
		size_t n = (size_t)sb.st_size - off < chunk ? (size_t)sb.st_size - off : chunk;
		ssize_t w = write(out, buf + off, n);
		if (w <= 0)
			goto fail;
		off += (size_t)w;
		usleep((useconds_t)fd_->pace_ms * 1000);
	}
	fd_->rc = 0;
fail:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(buf);
	return NULL;
}

/* ---- tests ---- */

static void redact(void **s)
{
	char out[256];
	(void)s;
	lsp_restream_redact("rtmp://a.example/live/secretkey", out, sizeof out);
	assert_string_equal(out, "rtmp://a.example/live/***");
	lsp_restream_redact("rtmps://user:pw@b.example:443/app/sub/k?x=1", out, sizeof out);
	assert_string_equal(out, "rtmps://b.example:443/app/sub/***");
	lsp_restream_redact("rtmp://c.example/app", out, sizeof out);
	assert_string_equal(out, "rtmp://c.example/app");
	lsp_restream_redact("not a url", out, sizeof out);
	assert_string_equal(out, "***");
}

static void bad_arguments(void **s)
{
	lsp_restream_conf c = { .input = "/nonexistent/in.ts" };
	lsp_restream_stats st;
	const char *urls[] = { "rtmp://127.0.0.1:1/app/k1", "rtmp://127.0.0.1:1/app/k2" };
	evlog *l = calloc(1, sizeof *l);
	char err[256] = "";
	(void)s;
	assert_non_null(l);
	pthread_mutex_init(&l->mu, NULL);
	c.event = on_event;
	c.event_ctx = l;
	assert_int_equal(lsp_restream_run(&c, &st, err, sizeof err), -EINVAL); /* no destination */
	assert_non_null(strstr(err, "destinations"));
	c.urls = urls;
	c.nurls = 2;
	err[0] = 0;
	assert_true(lsp_restream_run(&c, &st, err, sizeof err) < 0);
	assert_true(err[0] != 0);
	/* each destination still gets its (empty) done event, key masked */
	assert_int_equal(l->n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(l->e[i].name, "destination done");
		assert_int_equal(l->e[i].dest, i);
		assert_string_equal(l->e[i].url, "rtmp://127.0.0.1:1/app/***");
		assert_int_equal(l->e[i].sent + l->e[i].connects + l->e[i].failures, 0);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void to_listener_refused_and_hung(void **s)
{
	char dir[64] = "/tmp/lsp-restream.XXXXXX", cmd[1024], src[128], fifo[128], out[128], err[256] = "";
	char u0[128], u1[128], u2[128], want[128];
	const char *urls[3] = { u0, u1, u2 };
	lsp_restream_conf c = { 0 };
	lsp_restream_stats st;
	feeder fd_ = { 0 };
	pthread_t th;
	evlog *l;
	pid_t pid = -1;
	int port = free_port(), refused = free_port(), hung, hport, rc, wst = 0, v = 0, a = 0, sv = 0, sa = 0;
	int in;
	(void)s;

	if (system("command -v ffmpeg >/dev/null 2>&1") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof src, "%s/src.ts", dir);
	snprintf(fifo, sizeof fifo, "%s/in.fifo", dir);
	snprintf(out, sizeof out, "%s/out.flv", dir);
	snprintf(cmd, sizeof cmd,
		 "ffmpeg -nostdin -v error -f lavfi -i testsrc=size=160x120:rate=25 -f lavfi "
		 "-i sine=frequency=440:sample_rate=48000 -t 2 -c:v libx264 -preset ultrafast -g 25 "
		 "-pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts %s 2>/dev/null",
		 src);
	if (system(cmd) != 0) {
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
		skip(); /* no H.264 encoder in this ffmpeg */
	}
	assert_non_null(l = calloc(1, sizeof *l));
	pthread_mutex_init(&l->mu, NULL);
	count_packets(src, &sv, &sa);
	assert_true(sv >= 45 && sa >= 80);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	/* destination 0: a real RTMP peer that copies what it gets to out.flv */
	snprintf(cmd, sizeof cmd,
		 "exec ffmpeg -nostdin -v error -listen 1 -timeout 20 -f flv -i rtmp://127.0.0.1:%d/app/key0 "
		 "-c copy -f flv %s 2>%s/ffmpeg.log",
		 port, out, dir);
	assert_int_equal(lsp_spawn_template(cmd, NULL, &pid, &in, err, sizeof err), 0);
	close(in);
	for (int t = 0; t < 500 && !listening(port); t++)
		usleep(10 * 1000);
	assert_true(listening(port));
	/* destination 2: accepts TCP (the backlog does), never answers */
	hung = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, LSP_NET_NUMERIC, err, sizeof err);
	assert_true(hung >= 0);
	hport = lsp_net_port(hung);
	snprintf(u0, sizeof u0, "rtmp://127.0.0.1:%d/app/key0", port);
	snprintf(u1, sizeof u1, "rtmp://127.0.0.1:%d/app/key1", refused);
	snprintf(u2, sizeof u2, "rtmp://127.0.0.1:%d/app/key2", hport);

	fd_.fifo = fifo;
	fd_.src = src;
	fd_.chunks = 25;
	fd_.pace_ms = 80; /* 2 s of media in about 2 s */
	assert_int_equal(pthread_create(&th, NULL, feed_main, &fd_), 0);
	c.input = fifo;
	c.urls = urls;
	c.nurls = 3;
	c.stall_ms = 2000; /* a real peer on a busy machine may be slow to answer */
	c.backoff_base_ms = 50;
	c.backoff_max_ms = 100;
	c.drain_ms = 5000;
	c.event = on_event;
	c.event_ctx = l;
	rc = lsp_restream_run(&c, &st, err, sizeof err);
	pthread_join(th, NULL);
	close(hung);
	assert_int_equal(fd_.rc, 0);
	assert_int_equal(rc, 0);

	/* the peer ends when the publisher goes; it must have written out.flv */
	for (int t = 0; t < 1000 && waitpid(pid, &wst, WNOHANG) == 0; t++)
		usleep(10 * 1000);
	if (waitpid(pid, &wst, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
		fail_msg("the ffmpeg RTMP peer did not end");
	}

	for (int i = 0; i < l->n; i++) /* in the test's log, for when a check below fails */
		printf("event %s dest=%lld attempt=%lld error=%s\n", l->e[i].name, l->e[i].dest, l->e[i].attempt,
		       l->e[i].error);
	/* input */
	assert_int_equal(count_ev(l, "input opened", -2), 1);
	assert_int_equal(find_ev(l, "input opened", -1)->destinations, 3);
	assert_string_equal(find_ev(l, "input opened", -1)->input, fifo);
	assert_int_equal(st.in_packets, sv + sa);
	/* 0: connected once, never lost, everything from the first key frame sent */
	assert_int_equal(count_ev(l, "connected", 0), 1);
	assert_int_equal(find_ev(l, "connected", 0)->connects, 1);
	assert_int_equal(count_ev(l, "connection lost", 0) + count_ev(l, "connect failed", 0), 0);
	assert_int_equal(st.d[0].connects, 1);
	assert_int_equal(st.d[0].failures, 0);
	assert_true(st.d[0].sent >= st.in_packets - 5 && st.d[0].sent <= st.in_packets);
	assert_true(st.d[0].bytes > 10000);
	count_packets(out, &v, &a);
	assert_int_equal(v, sv);
	assert_int_equal(v + a, st.d[0].sent);
	/* 1: refused, retried with backoff until the input ended */
	assert_int_equal(count_ev(l, "connected", 1), 0);
	assert_true(count_ev(l, "connect failed", 1) >= 3);
	for (int i = 0, k = 0; i < l->n; i++)
		if (!strcmp(l->e[i].name, "connect failed") && l->e[i].dest == 1) {
			assert_int_equal(l->e[i].attempt, ++k);
			assert_non_null(strstr(l->e[i].error, "refused"));
		}
	assert_int_equal(st.d[1].connects + st.d[1].sent, 0);
	assert_int_equal(st.d[1].failures, count_ev(l, "connect failed", 1));
	/* 2: hung, given up after stall_ms, and retried */
	assert_true(count_ev(l, "connect failed", 2) >= 1);
	assert_non_null(strstr(find_ev(l, "connect failed", 2)->error, "no answer within 2000 ms"));
	assert_int_equal(st.d[2].sent, 0);
	/* one done event per destination, last, with the stats' counts */
	assert_int_equal(count_ev(l, "destination done", -2), 3);
	for (int i = 0; i < 3; i++) {
		const evrec *e = &l->e[l->n - 3 + i];
		assert_string_equal(e->name, "destination done");
		assert_int_equal(e->dest, i);
		assert_int_equal(e->sent, st.d[i].sent);
		assert_int_equal(e->connects, st.d[i].connects);
		assert_int_equal(e->failures, st.d[i].failures);
		assert_int_equal(e->dropped, st.d[i].dropped);
		assert_int_equal(e->bytes, st.d[i].bytes);
	}
	/* stream keys never in an event */
	for (int i = 0; i < l->n; i++) {
		assert_null(strstr(l->e[i].url, "key"));
		assert_null(strstr(l->e[i].error, "key"));
		if (l->e[i].dest >= 0) {
			snprintf(want, sizeof want, "rtmp://127.0.0.1:%d/app/***",
				 l->e[i].dest == 0 ? port : l->e[i].dest == 1 ? refused : hport);
			assert_string_equal(l->e[i].url, want);
		}
	}
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redact),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(to_listener_refused_and_hung),
	};
	signal(SIGPIPE, SIG_IGN);
	av_log_set_level(AV_LOG_QUIET);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
