/* test_chatkv — lib/chat/chatkv against a real redis-server: a token bucket
 * works; when Redis goes away the first failure is -EIO (reported) and
 * the following ones -ENOTCONN at once (no 200 ms wait each: one warning
 * per outage, not per chat message); once Redis is back calls succeed
 * again within the retry backoff, and a second outage is reported again.
 * Skipped when redis-server is not installed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chat/chatkv.h"
#include "core/clock.h"

static int port;

static pid_t start_redis(void)
{
	char p[16];
	pid_t pid;
	snprintf(p, sizeof p, "%d", port);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", p, "--save", "",
		       "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_redis(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int wait_up(lsp_chatkv **kv, char *url)
{
	char err[256];
	for (int i = 0; i < 100; i++) {
		if (lsp_chatkv_open(kv, url, err, sizeof err) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

static void outage(void **state)
{
	char url[64], err[256];
	lsp_chatkv *kv = NULL;
	pid_t pid;
	long long t0, now;
	int rc, quiet = 0;
	(void)state;
	if (system("command -v redis-server >/dev/null 2>&1") != 0)
		skip();
	port = 20000 + (int)(getpid() % 20000);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
	pid = start_redis();
	assert_int_equal(wait_up(&kv, url), 0);
	now = lsp_clock_wall_ms();
	assert_int_equal(lsp_chatkv_allow(kv, "u", 1.0, 3, now, err, sizeof err), 1);

	stop_redis(pid);
	rc = lsp_chatkv_allow(kv, "u", 1.0, 3, now, err, sizeof err);
	assert_int_equal(rc, -EIO); /* the outage, reported once */
	assert_non_null(strstr(err, "not reported again"));
	t0 = lsp_clock_mono_ms();
	for (int i = 0; i < 200; i++) {
		rc = lsp_chatkv_allow(kv, "u", 1.0, 3, now, err, sizeof err);
		quiet += rc == -ENOTCONN;
	}
	assert_int_equal(quiet, 200);
	assert_true(lsp_clock_mono_ms() - t0 < 500); /* no connect timeout per call */

	pid = start_redis();
	usleep(300000);
	t0 = lsp_clock_mono_ms();
	do {
		rc = lsp_chatkv_allow(kv, "u", 1.0, 3, lsp_clock_wall_ms(), err, sizeof err);
		if (rc < 0)
			usleep(50000);
	} while (rc < 0 && lsp_clock_mono_ms() - t0 < 8000);
	assert_true(rc >= 0); /* back within the backoff */

	stop_redis(pid);
	rc = lsp_chatkv_allow(kv, "u", 1.0, 3, now, err, sizeof err);
	assert_int_equal(rc, -EIO); /* a new outage is reported again */
	lsp_chatkv_close(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(outage) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
