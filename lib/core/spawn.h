/* spawn.h — start a per-channel pipeline command: "{channel}" in the
 * template is expanded, the result runs under /bin/sh -c with a pipe on its
 * stdin, a clean signal mask and SIGPIPE at its default.  Used by
 * lsp-ingest (--exec) and lsp-rtc (WHIP --whip-exec).
 *
 * The caller owns the returned write end and the child: it closes the fd
 * to end the command's input and reaps the pid.  Never logs. */
#ifndef LSP_SPAWN_H
#define LSP_SPAWN_H
#include <stddef.h>
#include <sys/types.h>

/* Expand {channel} in tmpl into out. -ENAMETOOLONG if it does not fit. */
int lsp_spawn_expand(const char *tmpl, const char *channel, char *out, size_t cap);

/* Expand tmpl (channel NULL: run tmpl as it is), fork, exec.  On success
 * 0, *pid the child and *fd the (close-on-exec) write end of its stdin;
 * negative errno code on failure (err says which step), nothing left. */
int lsp_spawn_template(const char *tmpl, const char *channel, pid_t *pid, int *fd, char *err, size_t errcap);

/* In a child just forked from a process that may have threads: keep the
 * descriptors in keep[0..n-1] (negative entries are skipped; 0..2 always
 * stay) open across an exec, close every other one, and exec this very
 * program (/proc/self/exe) with argv.  Only async-signal-safe calls, so
 * no lock another thread held at the fork is touched.  Never returns: on
 * failure _exit(LSP_EXIT_SYS). */
_Noreturn void lsp_spawn_self(const int *keep, int n, char *const argv[]);
#endif
