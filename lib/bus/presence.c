/* presence.c — viewer-count reports on lsp.presence.<channel>; see
 * presence.h. */
#include "bus/presence.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus/subjects.h"

static int node_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '@' ||
		      *s == ':' || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int lsp_presence_node(char *out, size_t cap, const char *tool)
{
	char host[64] = "";
	int n;
	if (gethostname(host, sizeof host) < 0)
		host[0] = 0;
	host[sizeof host - 1] = 0;
	for (char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			*p = '-';
	n = snprintf(out, cap, "%s@%s:%ld", tool, host[0] ? host : "localhost", (long)getpid());
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int lsp_presence_msg(char *out, size_t cap, const char *node, const char *source, long viewers)
{
	int n;
	if (!node_ok(node) || !node_ok(source) || viewers < 0)
		return -EINVAL;
	n = snprintf(out, cap, "{\"type\":\"presence\",\"node\":\"%s\",\"source\":\"%s\",\"edge\":%ld}", node, source,
		     viewers);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int lsp_presence_publish(lsp_bus *b, const char *node, const char *source, const char *channel, long viewers,
			 char *err, size_t errcap)
{
	char subj[LSP_SUBJ_CAP], msg[256];
	int n;
	if (lsp_subject(subj, sizeof subj, LSP_SUBJ_PRESENCE, channel) < 0) {
		snprintf(err, errcap, "no presence subject for this channel");
		return -EINVAL;
	}
	if ((n = lsp_presence_msg(msg, sizeof msg, node, source, viewers)) < 0) {
		snprintf(err, errcap, "bad presence report");
		return n;
	}
	return lsp_bus_publish_bytes(b, subj, msg, (size_t)n, err, errcap);
}
