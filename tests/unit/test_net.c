/* Unit tests: lib/core/net.c — the one place lsp listens, accepts and
 * makes server TLS contexts.  Real sockets on loopback, a real
 * certificate made with the openssl command at test time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/net.h"

static int connect_to(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void tcp_listen_accept(void **st)
{
	char err[256], peer[64];
	int l = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, LSP_NET_NONBLOCK, err, sizeof err), port, c, a;
	assert_true(l >= 0);
	port = lsp_net_port(l);
	assert_true(port > 0);
	assert_true(fcntl(l, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(lsp_net_accept(l, LSP_NET_NONBLOCK, peer, sizeof peer), -EAGAIN); /* none waiting */
	c = connect_to("127.0.0.1", port);
	assert_true(c >= 0);
	a = lsp_net_accept(l, LSP_NET_NONBLOCK, peer, sizeof peer);
	assert_true(a >= 0);
	assert_true(fcntl(a, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(strncmp(peer, "127.0.0.1:", 10), 0);
	assert_true(atoi(peer + 10) > 0);
	close(a);
	close(c);
	/* a second listener on the same port is refused with a clear message */
	assert_true(lsp_net_listen("127.0.0.1", port, SOCK_STREAM, 0, err, sizeof err) == -EADDRINUSE);
	assert_non_null(strstr(err, "unable to listen on 127.0.0.1:"));
	close(l);
}

static void udp_and_errors(void **st)
{
	char err[256];
	int u = lsp_net_listen("127.0.0.1", 0, SOCK_DGRAM, LSP_NET_NUMERIC, err, sizeof err), type = 0;
	socklen_t sl = sizeof type;
	assert_true(u >= 0);
	assert_true(lsp_net_port(u) > 0);
	assert_int_equal(getsockopt(u, SOL_SOCKET, SO_TYPE, &type, &sl), 0);
	assert_int_equal(type, SOCK_DGRAM);
	close(u);
	assert_int_equal(lsp_net_listen("not an address", 0, SOCK_STREAM, LSP_NET_NUMERIC, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "unable to resolve"));
	assert_int_equal(lsp_net_listen(NULL, 70000, SOCK_STREAM, 0, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_net_listen(NULL, 0, SOCK_RAW, 0, err, sizeof err), -EINVAL);
}

static void addresses(void **st)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr c = { .sa_family = AF_UNIX };
	char out[64], tiny[4];
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	inet_pton(AF_INET6, "::1", &b.sin6_addr);
	lsp_net_addr_str((struct sockaddr *)&a, 1, out, sizeof out);
	assert_string_equal(out, "10.1.2.3:8080");
	lsp_net_addr_str((struct sockaddr *)&a, 0, out, sizeof out);
	assert_string_equal(out, "10.1.2.3");
	lsp_net_addr_str((struct sockaddr *)&b, 1, out, sizeof out);
	assert_string_equal(out, "[::1]:443");
	lsp_net_addr_str(&c, 1, out, sizeof out);
	assert_string_equal(out, "?");
	lsp_net_addr_str((struct sockaddr *)&a, 1, tiny, sizeof tiny); /* truncated, terminated */
	assert_int_equal(strlen(tiny), 3);
}

static void tls_contexts(void **st)
{
	char dir[] = "/tmp/lsp-net-XXXXXX", cmd[2048], cert[256], key[256], err[256];
	void *ctx;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof cert, "%s/c.pem", dir);
	snprintf(key, sizeof key, "%s/k.pem", dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout %s -out %s 2>/dev/null",
		 key, cert);
	if (system(cmd) != 0)
		skip();
	ctx = lsp_net_tls_server(cert, key, err, sizeof err);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_min_proto_version((SSL_CTX *)ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	/* each wrong file is named in the message */
	assert_null(lsp_net_tls_server("/nonexistent.pem", key, err, sizeof err));
	assert_non_null(strstr(err, "certificate /nonexistent.pem"));
	assert_null(lsp_net_tls_server(cert, cert, err, sizeof err));
	assert_non_null(strstr(err, "key "));
	assert_null(lsp_net_tls_server(cert, "", err, sizeof err));
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Out of descriptors: accept fails with EMFILE while the client waits;
 * lsp_net_shed takes the client off the backlog (it reads EOF) using the
 * reserve, and the reserve is back afterwards. */
static void shed_at_emfile(void **st)
{
	char err[256], b;
	struct rlimit old, rl;
	int l = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, LSP_NET_NONBLOCK, err, sizeof err), port, c, r, fd;
	int hog[64], nh = 0;
	(void)st;
	assert_true(l >= 0);
	port = lsp_net_port(l);
	assert_true((r = lsp_net_reserve_open()) >= 0);
	c = connect_to("127.0.0.1", port);
	assert_true(c >= 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* take every descriptor left under a low limit */
	rl = old;
	rl.rlim_cur = (rlim_t)(r > c ? r : c) + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nh < 64 && (fd = open("/dev/null", O_RDONLY)) >= 0)
		hog[nh++] = fd;
	assert_true(nh < 64);
	assert_int_equal(lsp_net_accept(l, LSP_NET_NONBLOCK, NULL, 0), -EMFILE);
	assert_int_equal(lsp_net_shed(l, &r), 0);
	assert_true(r >= 0);                                       /* the reserve is held again */
	assert_int_equal(lsp_net_accept(l, LSP_NET_NONBLOCK, NULL, 0), -EMFILE); /* still full... */
	assert_int_equal(lsp_net_shed(l, &r), -EAGAIN);            /* ...but nobody waits now */
	assert_int_equal(read(c, &b, 1), 0);                       /* the client saw its close */
	while (nh > 0)
		close(hog[--nh]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(lsp_net_raise_nofile(16) >= 16);               /* never lowers */
	close(r);
	close(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(tcp_listen_accept),
		cmocka_unit_test(udp_and_errors),
		cmocka_unit_test(addresses),
		cmocka_unit_test(tls_contexts),
		cmocka_unit_test(shed_at_emfile),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
