/* fdpass.h — hand a descriptor, with a message, to another process over a
 * Unix socket (SCM_RIGHTS).
 *
 * The sender keeps its own descriptor (close it after a successful send if
 * it is no longer needed); the receiver gets a new, close-on-exec one.  A
 * message travels whole on a SOCK_SEQPACKET or SOCK_DGRAM socket; on a
 * stream socket its boundaries are not kept.  Functions return what the
 * system call did (bytes, or -errno) and never print. */
#ifndef LSP_FDPASS_H
#define LSP_FDPASS_H
#include <stddef.h>
#include <sys/types.h>

/* Send len bytes of data (len >= 1: a descriptor rides on data) and, when
 * fd >= 0, the descriptor fd.  flags as for sendmsg (e.g. MSG_DONTWAIT).
 * The bytes sent, or -errno (-EINVAL: len 0). */
ssize_t lsp_fdpass_send(int sock, int fd, const void *data, size_t len, int flags);

/* Receive one message into buf (cap bytes) and the descriptor riding on it
 * into *fd (-1 when none came).  A descriptor beyond the first, or one that
 * came with a truncated message, is closed and *fd is -1 with -EMSGSIZE
 * for truncation.  The bytes received (0: the peer closed), or -errno. */
ssize_t lsp_fdpass_recv(int sock, int *fd, void *buf, size_t cap, int flags);

#endif
