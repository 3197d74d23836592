/* httpurl.c — see httpurl.h.  No state. */
#include "core/httpurl.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "core/opt.h"

int lsp_httpurl_resolve(const char *url, struct sockaddr_storage *ss, socklen_t *sl, char *hostport, size_t hpcap,
			char *err, size_t errcap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char hp[300], host[256], ps[8];
	int port = 80, rc;
	size_t n;
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errcap, "origin %s: only http:// origins are supported", url);
		return -EINVAL;
	}
	n = strcspn(url + 7, "/");
	if (n == 0 || n >= sizeof hp || n >= hpcap || (url[7 + n] && strcmp(url + 7 + n, "/") != 0)) {
		snprintf(err, errcap, "origin %s: want http://host[:port]", url);
		return -EINVAL;
	}
	memcpy(hp, url + 7, n);
	hp[n] = 0;
	if (lsp_opt_hostport(hp, "", host, sizeof host, &port) < 0) {
		if (n >= sizeof host || strchr(hp, ':')) {
			snprintf(err, errcap, "origin %s: bad host:port", url);
			return -EINVAL;
		}
		memcpy(host, hp, n + 1);
		port = 80;
	}
	if (!host[0] || port <= 0 || port > 65535) {
		snprintf(err, errcap, "origin %s: bad host:port", url);
		return -EINVAL;
	}
	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(host, ps, &hints, &ai)) != 0 || !ai) {
		snprintf(err, errcap, "origin %s: %s", url, gai_strerror(rc));
		if (ai)
			freeaddrinfo(ai);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	memcpy(hostport, hp, n + 1);
	return 0;
}
