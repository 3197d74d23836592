/* httpurl.h — an origin named as "http://host[:port]" with an optional
 * trailing slash (lsp-edge and lsp-rtc relays): checked, resolved, and the
 * Host header value to send.
 * Resolution is a blocking getaddrinfo (host names are looked up once per
 * call; origins announced on NATS are numeric). */
#ifndef LSP_HTTPURL_H
#define LSP_HTTPURL_H
#include <stddef.h>
#include <sys/socket.h>

/* Fill ss and sl with the first address of url's host and port (default 80)
 * and hostport with its "host[:port]" as written.  0, or -EINVAL with a
 * reason in err (not http://, a path, a bad host:port, a failed lookup,
 * hostport too small). */
int lsp_httpurl_resolve(const char *url, struct sockaddr_storage *ss, socklen_t *sl, char *hostport, size_t hpcap,
			char *err, size_t errcap);

#endif
