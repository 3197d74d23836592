/* spawn.c — per-channel pipeline commands; see spawn.h. */
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/exit.h"

int lsp_spawn_expand(const char *tmpl, const char *channel, char *out, size_t cap)
{
	size_t o = 0, cl = strlen(channel);
	if (cap == 0)
		return -ENAMETOOLONG;
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{channel}", 9) == 0) {
			if (cap - o <= cl)
				return -ENAMETOOLONG;
			memcpy(out + o, channel, cl);
			o += cl;
			p += 9;
		} else {
			if (cap - o <= 1)
				return -ENAMETOOLONG;
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	return 0;
}

int lsp_spawn_template(const char *tmpl, const char *channel, pid_t *pid, int *fd, char *err, size_t errcap)
{
	char cmd[1024];
	int p[2], e;
	pid_t c;
	if (channel) {
		if (lsp_spawn_expand(tmpl, channel, cmd, sizeof cmd) < 0) {
			snprintf(err, errcap, "command too long after {channel} expansion");
			return -ENAMETOOLONG;
		}
	} else if ((size_t)snprintf(cmd, sizeof cmd, "%s", tmpl) >= sizeof cmd) {
		snprintf(err, errcap, "command too long");
		return -ENAMETOOLONG;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		e = errno;
		snprintf(err, errcap, "pipe: %s", strerror(e));
		return -e;
	}
	if ((c = fork()) < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		snprintf(err, errcap, "fork: %s", strerror(e));
		return -e;
	}
	if (c == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(p[0], 0) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	*pid = c;
	*fd = p[1];
	return 0;
}

_Noreturn void lsp_spawn_self(const int *keep, int n, char *const argv[])
{
	unsigned lo = 3;
	for (;;) { /* the smallest kept descriptor at or above lo, in turn */
		int next = -1;
		for (int i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0)
			break;
		if ((unsigned)next > lo)
			close_range(lo, (unsigned)next - 1, 0);
		if (fcntl(next, F_SETFD, 0) < 0)
			_exit(LSP_EXIT_SYS);
		lo = (unsigned)next + 1;
	}
	close_range(lo, ~0U, 0);
	execv("/proc/self/exe", argv);
	_exit(LSP_EXIT_SYS);
}
