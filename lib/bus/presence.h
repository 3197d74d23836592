/* presence.h — viewer counts a serving process (lsp-rtc, lsp-edge) reports
 * on lsp.presence.<channel>, where lsp-chat adds them to its chat sockets
 * for the channel's "viewers" figure and the directory's GET /presence
 * (see man/lsp-chat.1):
 *
 *     {"type":"presence","node":ID,"source":"rtc"|"edge","edge":N}
 *
 * once a second per channel the process has viewers of, and once more with
 * 0 when the last one leaves; a node that stops reporting drops out of the
 * sums after a few seconds.  ID names one process ("lsp-rtc@host:pid"), so
 * every process of a box, and every box, is counted once.  Pure functions
 * over the caller's buffers, and one publish. */
#ifndef LSP_PRESENCE_H
#define LSP_PRESENCE_H
#include <stddef.h>

#include "bus/bus.h"

#define LSP_PRESENCE_NODE_MAX 96

/* This process's node id, "<tool>@<host>:<pid>" (host reduced to
 * [A-Za-z0-9.-]), into out (cap >= LSP_PRESENCE_NODE_MAX).  0 or -ENOSPC. */
int lsp_presence_node(char *out, size_t cap, const char *tool);

/* The report into out: its length, or -EINVAL (node not of
 * [A-Za-z0-9@:._-], viewers < 0) / -ENOSPC. */
int lsp_presence_msg(char *out, size_t cap, const char *node, const char *source, long viewers);

/* Publish the report for channel on b.  0, or negative with err filled. */
int lsp_presence_publish(lsp_bus *b, const char *node, const char *source, const char *channel, long viewers,
			 char *err, size_t errcap);

#endif
