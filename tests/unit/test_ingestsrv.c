/* test_ingestsrv — lib/ingestsrv: a failed open leaves nothing behind and
 * says why (a busy port, an unreadable certificate); a bad SRT setting
 * fails alone and the server still closes cleanly; a real server in a
 * forked process says "listening" once ready, keeps a silent connection
 * in the parent (no fork) until the handshake timeout, forks a child per
 * connection that speaks (which times out a stalled publisher and comes
 * back as LSP_INGESTSRV_CHILD), makes room past max_conn by closing the
 * oldest child not publishing, caps one address (max_per_addr), and on
 * SIGTERM stops, signals its children and returns 0 — every step seen
 * through the event hook; and the metrics follow the connections' events
 * (a canned RTMP publish on a real store: publish started / stopped /
 * refused move the publish, live, bytes, refusal and error counters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/key.h"
#include "ingest/ingestsrv.h"
#include "state/store.h"
#include "test_ingest_rtmpc.h"

static char logpath[64];

/* The event hook: one line per event, "level name k=v ...", appended with
 * one write so that the server and its children can share the file. */
static void on_event(void *ctx, const lsp_event *ev)
{
	char line[1024];
	size_t o = (size_t)snprintf(line, sizeof line, "%d %s", ev->level, ev->name);
	int fd;
	(void)ctx;
	for (int i = 0; i < ev->n && o < sizeof line; i++)
		o += (size_t)(ev->vals[i].type == LSV_STR
				      ? snprintf(line + o, sizeof line - o, " %s=%s", ev->keys[i], ev->vals[i].s)
				      : snprintf(line + o, sizeof line - o, " %s=%lld", ev->keys[i], ev->vals[i].i));
	if (o >= sizeof line - 1)
		o = sizeof line - 2;
	line[o++] = '\n';
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		(void)!write(fd, line, o);
		close(fd);
	}
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* A listening socket on a free port (kept open: a busy port), and the port. */
static int busy_port(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A connection to 127.0.0.1:port from src (an address of 127/8). */
static int connect_from(const char *src, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, src, &b.sin_addr);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&b, sizeof b) < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int connect_to(int port) { return connect_from("127.0.0.1", port); }

static void base_cfg(lsp_ingestsrv_cfg *cfg, sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGCHLD);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	memset(cfg, 0, sizeof *cfg);
	cfg->host = "127.0.0.1";
	cfg->tls_host = "127.0.0.1";
	cfg->max_conn = 1;
	cfg->max_per_addr = 1;
	cfg->mask = mask;
	cfg->conn.app = "live";
	cfg->conn.out_tmpl = "/dev/null";
	cfg->conn.run_dir = "/tmp";
	cfg->conn.hs_timeout_s = cfg->conn.cmd_timeout_s = cfg->conn.media_timeout_s = 1;
	cfg->event = on_event;
}

static void open_fails(void **s)
{
	lsp_ingestsrv_cfg cfg;
	lsp_ingestsrv *srv = (lsp_ingestsrv *)1;
	sigset_t mask;
	char err[256], want[64];
	int port, bfd = busy_port(&port), before;
	(void)s;
	base_cfg(&cfg, &mask);
	before = open_fds();
	cfg.port = port;
	assert_int_equal(lsp_ingestsrv_open(&srv, &cfg, err, sizeof err), -1);
	assert_null(srv);
	snprintf(want, sizeof want, "unable to listen on 127.0.0.1:%d: Address already in use", port);
	assert_string_equal(err, want);
	assert_int_equal(open_fds(), before);

	close(bfd); /* free now: both listeners open, then the certificate fails */
	close(busy_port(&cfg.tls_port));
	before = open_fds();
	cfg.cert = cfg.key = "/nonexistent.pem";
	cfg.port = port;
	assert_int_equal(lsp_ingestsrv_open(&srv, &cfg, err, sizeof err), -1);
	assert_null(srv);
	assert_memory_equal(err, "certificate /nonexistent.pem: ", strlen("certificate /nonexistent.pem: "));
	assert_int_equal(open_fds(), before);
}

static void srt_bad_passphrase(void **s)
{
	lsp_ingestsrv_cfg cfg;
	lsp_ingestsrv *srv;
	lsp_srtin_cfg scfg = { 0 };
	sigset_t mask;
	char err[256];
	int port, bfd = busy_port(&port);
	(void)s;
	close(bfd);
	base_cfg(&cfg, &mask);
	cfg.port = port;
	assert_int_equal(lsp_ingestsrv_open(&srv, &cfg, err, sizeof err), 0);
	scfg.host = "127.0.0.1";
	scfg.port = port;
	scfg.passphrase = "short";
	assert_true(lsp_ingestsrv_srt(srv, &scfg, err, sizeof err) < 0);
	assert_string_equal(err, "SRT passphrase must be 10 to 79 characters");
	lsp_ingestsrv_close(srv);
	lsp_ingestsrv_close(NULL);
}

/* Wait up to ms for a line containing want in the log. */
static int wait_log(const char *want, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		char buf[8192] = "";
		FILE *f = fopen(logpath, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			buf[n] = '\0';
			fclose(f);
			if (strstr(buf, want))
				return 1;
		}
		usleep(20000);
	}
	return 0;
}

static void serve_and_stop(void **s)
{
	lsp_ingestsrv_cfg cfg;
	sigset_t mask;
	char err[256], want[128];
	int port, bfd = busy_port(&port), st, a = -1, b;
	pid_t pid;
	(void)s;
	close(bfd);
	base_cfg(&cfg, &mask);
	cfg.port = port;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* the server, as lsp-ingest's main runs it */
		lsp_ingestsrv *srv;
		int rc, status = 0;
		sigprocmask(SIG_BLOCK, &mask, NULL);
		if (lsp_ingestsrv_open(&srv, &cfg, err, sizeof err) < 0)
			_exit(3);
		if ((rc = lsp_ingestsrv_run(srv, &status)) == LSP_INGESTSRV_CHILD)
			_exit(status);
		lsp_ingestsrv_close(srv);
		_exit(rc == 0 ? 0 : 4);
	}
	snprintf(want, sizeof want, "1 listening port=%d app=live rtmps_port=0 srt_port=0 srt_encrypted=no\n", port);
	assert_true(wait_log(want, 5000)); /* ready: lsp-ingest's main tells systemd here */
	a = connect_to(port);
	assert_true(a >= 0); /* silent: it waits in the parent, then the timeout closes it */
	assert_true(wait_log("2 connection refused proto=rtmp remote=127.0.0.1:", 4000));
	assert_true(wait_log("reason=no handshake before the timeout suppressed=0", 100));
	assert_int_equal(read(a, want, 1), 0);
	close(a);
	a = connect_to(port);
	assert_true(a >= 0 && write(a, "\x03", 1) == 1); /* C0: a child waits for C1 */
	usleep(300000);
	b = connect_to(port);
	assert_true(b >= 0 && write(b, "\x03", 1) == 1); /* max_conn 1: a makes room */
	assert_int_equal(read(a, want, 1), 0);
	assert_true(wait_log("2 timeout channel= remote=127.0.0.1:", 3000)); /* b's child's note, 1 s on */
	assert_true(wait_log("reason=handshake", 100));
	close(a);
	close(b);
	a = connect_from("127.0.0.2", port); /* max_per_addr 1 */
	b = connect_from("127.0.0.2", port);
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(read(b, want, 1), 0);
	assert_true(wait_log("reason=too many connections from this address", 3000));
	close(a);
	close(b);
	usleep(200000);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(wait_log("1 stopping connections=", 100));
}

/* A store in a temp LSP_DATA_DIR with channel alpha; its key into key. */
static void make_store(char *dir, size_t dcap, char *key, size_t kcap)
{
	lsp_store *st;
	char err[256], hash[LSP_HASH_HEX];
	snprintf(dir, dcap, "/tmp/test_ingestsrv_XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lsp_store_open(&st, dir, NULL, err, sizeof err), 0);
	assert_int_equal(lsp_key_new("alpha", key, kcap), 0);
	lsp_key_hash(key, hash);
	assert_int_equal(lsp_store_channel_add(st, "alpha", hash, err, sizeof err), 0);
	lsp_store_close(st);
	setenv("LSP_DATA_DIR", dir, 1);
	unsetenv("LSP_DB_URL");
}

/* Connect, send b, end the write side and wait for want in the log. */
static void publish_once(int port, const struct rtmpc *b, const char *want)
{
	int fd = connect_to(port);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->p, b->n), (ssize_t)b->n);
	shutdown(fd, SHUT_WR);
	assert_true(wait_log(want, 5000));
	close(fd);
}

static void metrics_follow_events(void **s)
{
	static struct rtmpc b;
	lsp_ingestsrv_cfg cfg;
	lsp_metrics *mx;
	sigset_t mask;
	char err[256], want[160], dir[64], key[LSP_KEY_MAX], *text;
	size_t len;
	int port, bfd = busy_port(&port), st;
	pid_t pid;
	(void)s;
	close(bfd);
	make_store(dir, sizeof dir, key, sizeof key);
	assert_int_equal(lsp_metrics_new_shared(&mx, "lsp-test"), 0);
	base_cfg(&cfg, &mask);
	cfg.port = port;
	cfg.max_conn = 4;
	cfg.conn.run_dir = dir;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		lsp_ingestsrv *srv;
		int rc, status = 0;
		sigprocmask(SIG_BLOCK, &mask, NULL);
		if (lsp_ingestsrv_open(&srv, &cfg, err, sizeof err) < 0)
			_exit(3);
		lsp_ingestsrv_metrics(srv, mx);
		if ((rc = lsp_ingestsrv_run(srv, &status)) == LSP_INGESTSRV_CHILD)
			_exit(status);
		lsp_ingestsrv_close(srv);
		_exit(rc == 0 ? 0 : 4);
	}
	assert_true(wait_log("1 listening", 5000));
	rtmpc_publish(&b, "live", key);
	rtmpc_video(&b, 300);
	publish_once(port, &b, "1 publish stopped channel=alpha");
	rtmpc_publish(&b, "live", "alpha_000000000000000000000000000000000000000000000000");
	publish_once(port, &b, "2 publish refused channel=alpha");
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	assert_int_equal(lsp_metrics_render(mx, &text, &len), 0);
	assert_non_null(strstr(text, "\nlsp_ingest_publishes_total 1\n"));
	assert_non_null(strstr(text, "\nlsp_ingest_live_channels 0\n"));
	assert_non_null(strstr(text, "\nlsp_ingest_refused_total 1\n"));
	rtmpc_publish(&b, "live", key); /* the first publish's size again */
	rtmpc_video(&b, 300);
	snprintf(want, sizeof want, "\nlsp_ingest_bytes_in_total{channel=\"alpha\"} %zu\n", b.n);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\nlsp_ingest_errors_total{kind=\"publish refused\"} 1\n"));
	assert_null(strstr(text, key));
	free(text);
	lsp_metrics_free(mx);
	snprintf(want, sizeof want, "rm -rf '%s'", dir);
	assert_int_equal(system(want), 0);
}

static int setup(void **s)
{
	int fd;
	(void)s;
	snprintf(logpath, sizeof logpath, "/tmp/lsp-ingestsrv-XXXXXX");
	if ((fd = mkstemp(logpath)) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	return unlink(logpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(open_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(srt_bad_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(serve_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(metrics_follow_events, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
