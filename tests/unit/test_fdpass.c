/* test_fdpass.c — lib/core/fdpass: a descriptor and its message cross a
 * socketpair; the received descriptor works and is close-on-exec; a
 * message without one gives -1; a truncated message closes what came;
 * extra descriptors are closed; a closed peer reads 0. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/fdpass.h"

static void pass_pipe(void **st)
{
	int sp[2], p[2], fd = -2;
	char buf[64];
	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(lsp_fdpass_send(sp[0], p[1], "hello", 5, 0), 5);
	close(p[1]); /* the receiver's copy keeps the pipe open */
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, buf, sizeof buf, 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	close(fd);
	/* no descriptor */
	assert_int_equal(lsp_fdpass_send(sp[0], -1, "ab", 2, 0), 2);
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, buf, sizeof buf, 0), 2);
	assert_int_equal(fd, -1);
	/* nothing waiting */
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, buf, sizeof buf, MSG_DONTWAIT), -EAGAIN);
	/* empty data is refused: a descriptor needs a byte to ride on */
	assert_int_equal(lsp_fdpass_send(sp[0], p[0], "", 0, 0), -EINVAL);
	close(p[0]);
	close(sp[0]);
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, buf, sizeof buf, 0), 0);
	close(sp[1]);
}

static void truncated(void **st)
{
	int sp[2], p[2], fd = -2;
	char big[256], small[8];
	(void)st;
	memset(big, 'z', sizeof big);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(lsp_fdpass_send(sp[0], p[1], big, sizeof big, 0), (ssize_t)sizeof big);
	close(p[1]);
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, small, sizeof small, 0), -EMSGSIZE);
	assert_int_equal(fd, -1);
	/* the passed write end was closed: the pipe reads EOF */
	assert_int_equal(read(p[0], small, 1), 0);
	close(p[0]);
	close(sp[0]);
	close(sp[1]);
}

static void extra_fds(void **st)
{
	int sp[2], a[2], b[2], fd = -2, fds[2];
	char buf[8], cb[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { "x", 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cb;
	m.msg_controllen = sizeof cb;
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	fds[0] = a[1];
	fds[1] = b[1];
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	assert_int_equal(sendmsg(sp[0], &m, 0), 1);
	close(a[1]);
	close(b[1]);
	assert_int_equal(lsp_fdpass_recv(sp[1], &fd, buf, sizeof buf, 0), 1);
	assert_true(fd >= 0);
	assert_int_equal(read(b[0], buf, 1), 0); /* the second one was closed */
	close(fd);
	assert_int_equal(read(a[0], buf, 1), 0);
	close(a[0]);
	close(b[0]);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(pass_pipe), cmocka_unit_test(truncated),
					cmocka_unit_test(extra_fds) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
