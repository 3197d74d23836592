/* test_metrics — lib/core/metrics.c: families, label escaping, counters vs
 * gauges, drop by label, bounds, and the text it renders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/metrics.h"

static char *render(lsp_metrics *m)
{
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(lsp_metrics_render(m, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_render(void **state)
{
	lsp_metrics *m;
	(void)state;
	assert_int_equal(lsp_metrics_new(&m, "lsp-test"), 0);
	assert_int_equal(lsp_metrics_def(m, "lsp_x_total", LSP_METRIC_COUNTER, "things\nseen \\ here"), 0);
	assert_int_equal(lsp_metrics_def(m, "lsp_x_total", LSP_METRIC_COUNTER, "again"), -EEXIST);
	assert_int_equal(lsp_metrics_def(m, "9bad", LSP_METRIC_GAUGE, ""), -EINVAL);
	assert_int_equal(lsp_metrics_def(m, "lsp_g", LSP_METRIC_GAUGE, "a gauge"), 0);
	lsp_metrics_add(m, "lsp_x_total", 2, "channel", "a\"b\\c\nd", NULL);
	lsp_metrics_add(m, "lsp_x_total", 3, "channel", "a\"b\\c\nd", NULL);
	lsp_metrics_add(m, "lsp_x_total", -1, "channel", "a\"b\\c\nd", NULL); /* ignored */
	lsp_metrics_add(m, "lsp_x_total", 1, NULL);
	lsp_metrics_add(m, "lsp_undeclared", 1, NULL);                    /* ignored */
	lsp_metrics_add(m, "lsp_x_total", 1, "bad-key", "v", NULL);         /* dropped */
	lsp_metrics_set(m, "lsp_g", 0.25, "rung", "720p", NULL);
	lsp_metrics_add(m, "lsp_g", -1, "rung", "720p", NULL);
	char *t = render(m);
	assert_non_null(strstr(t, "# HELP lsp_x_total things\\nseen \\\\ here\n# TYPE lsp_x_total counter\n"));
	assert_non_null(strstr(t, "lsp_x_total{channel=\"a\\\"b\\\\c\\nd\"} 5\n"));
	assert_non_null(strstr(t, "lsp_x_total 1\n"));
	assert_non_null(strstr(t, "lsp_g{rung=\"720p\"} -0.75\n"));
	assert_non_null(strstr(t, "lsp_metrics_dropped_total 1\n"));
	assert_non_null(strstr(t, "lsp_build_info{tool=\"lsp-test\",version=\""));
	assert_null(strstr(t, "lsp_undeclared"));
	free(t);
	lsp_metrics_free(m);
}

static void test_drop_and_bounds(void **state)
{
	lsp_metrics *m;
	char ch[32];
	(void)state;
	assert_int_equal(lsp_metrics_new(&m, "t"), 0);
	lsp_metrics_def(m, "lsp_p_total", LSP_METRIC_COUNTER, "");
	lsp_metrics_add(m, "lsp_p_total", 1, "channel", "ab", "rung", "x", NULL);
	lsp_metrics_add(m, "lsp_p_total", 1, "channel", "a", "rung", "x", NULL);
	lsp_metrics_add(m, "lsp_p_total", 1, "rung", "y", "channel", "a", NULL);
	lsp_metrics_drop(m, "lsp_p_total", "channel", "a");
	char *t = render(m);
	assert_non_null(strstr(t, "channel=\"ab\""));
	assert_null(strstr(t, "channel=\"a\""));
	free(t);
	for (int i = 0; i < LSP_METRICS_SERIES + 10; i++) {
		snprintf(ch, sizeof ch, "c%d", i);
		lsp_metrics_add(m, "lsp_p_total", 1, "channel", ch, NULL);
	}
	t = render(m);
	assert_non_null(strstr(t, "lsp_metrics_dropped_total 11\n"));
	free(t);
	lsp_metrics_free(m);
	lsp_metrics_add(NULL, "lsp_p_total", 1, NULL); /* a NULL registry is a no-op */
	lsp_metrics_free(NULL);
}

/* a shared registry: updates from forked children reach the parent */
static void test_shared(void **state)
{
	lsp_metrics *m;
	(void)state;
	assert_int_equal(lsp_metrics_new_shared(&m, "lsp-ingest"), 0);
	lsp_metrics_def(m, "lsp_c_total", LSP_METRIC_COUNTER, "");
	for (int k = 0; k < 4; k++) {
		pid_t p = fork();
		assert_true(p >= 0);
		if (p == 0) {
			for (int i = 0; i < 1000; i++)
				lsp_metrics_add(m, "lsp_c_total", 1, "channel", "x", NULL);
			lsp_metrics_free(m); /* the child's view only */
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		wait(NULL);
	char *t = render(m);
	assert_non_null(strstr(t, "lsp_c_total{channel=\"x\"} 4000\n"));
	free(t);
	lsp_metrics_free(m);
}

/* an exec'd child maps the registry from its memfd: a second mapping at
 * another address sees the same families and counts into them; anything
 * else behind the fd is refused */
static void test_attach(void **state)
{
	lsp_metrics *m, *a = NULL, *b = NULL;
	char path[] = "/tmp/test_metrics_XXXXXX";
	int fd;
	(void)state;
	assert_int_equal(lsp_metrics_new_shared(&m, "lsp-ingest"), 0);
	assert_int_equal(lsp_metrics_def(m, "lsp_c_total", LSP_METRIC_COUNTER, "c"), 0);
	lsp_metrics_add(m, "lsp_c_total", 2, NULL);
	assert_true(lsp_metrics_shared_fd(m) >= 0);
	assert_int_equal(lsp_metrics_attach(&a, lsp_metrics_shared_fd(m)), 0);
	assert_true(a != m);
	lsp_metrics_add(a, "lsp_c_total", 3, NULL);
	lsp_metrics_add(a, "lsp_c_total", 1, "channel", "y", NULL);
	char *t = render(m);
	assert_non_null(strstr(t, "lsp_c_total 5\n"));
	assert_non_null(strstr(t, "lsp_c_total{channel=\"y\"} 1\n"));
	free(t);
	lsp_metrics_detach(a);
	lsp_metrics_detach(NULL);
	/* not a registry: a plain file, a bad descriptor */
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(lsp_metrics_attach(&b, fd), -EINVAL);
	assert_null(b);
	close(fd);
	assert_int_equal(lsp_metrics_attach(&b, -1), -EINVAL);
	/* a private registry has no memfd */
	lsp_metrics_free(m);
	assert_int_equal(lsp_metrics_new(&m, "x"), 0);
	assert_int_equal(lsp_metrics_shared_fd(m), -1);
	lsp_metrics_free(m);
}

/* the responder answers /metrics, and a forked child's free leaves it up */
static void test_serve(void **state)
{
	lsp_metrics *m;
	char err[256], buf[8192];
	(void)state;
	assert_int_equal(lsp_metrics_new_shared(&m, "lsp-x"), 0);
	assert_int_equal(lsp_metrics_serve(m, "127.0.0.1", 0, err, sizeof err), 0);
	int port = lsp_metrics_port(m);
	assert_true(port > 0);
	pid_t p = fork();
	if (p == 0) {
		lsp_metrics_free(m);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	for (int round = 0; round < 2; round++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
		const char *rq = round ? "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
		assert_int_equal(write(fd, rq, strlen(rq)), (ssize_t)strlen(rq));
		size_t n = 0;
		ssize_t r;
		while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
			n += (size_t)r;
		buf[n] = 0;
		close(fd);
		if (round == 0) {
			assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
			assert_non_null(strstr(buf, "text/plain; version=0.0.4"));
			assert_non_null(strstr(buf, "lsp_build_info{tool=\"lsp-x\""));
		} else {
			assert_non_null(strstr(buf, "HTTP/1.1 404 "));
		}
	}
	lsp_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_drop_and_bounds),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_serve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
