/* net.h — the one network layer: listening sockets, accepting, peer
 * addresses and server TLS contexts.
 *
 * This is the only file in lsp that calls bind(), listen() or creates a
 * server SSL_CTX (`make layers` checks it), so the policy every listener
 * shares lives here once: SO_REUSEADDR, close-on-exec, a backlog sized for
 * thousands of clients (LSP_NET_BACKLOG), TLS 1.2 or newer.
 *
 * Functions return a descriptor / 0, or a negative errno value and fill
 * err ("unable to listen on HOST:PORT: reason"); they never print or exit. */
#ifndef LSP_NET_H
#define LSP_NET_H
#include <stddef.h>
#include <sys/socket.h>

#define LSP_NET_BACKLOG 4096

enum {
	LSP_NET_NONBLOCK = 1,    /* the socket (and accepted ones) O_NONBLOCK */
	LSP_NET_NUMERIC = 2,     /* host must be a numeric address (no DNS) */
};

/* Bind a TCP (type SOCK_STREAM, then listen) or UDP (SOCK_DGRAM) socket to
 * host:port; host NULL or "" means every address, port 0 any free port.
 * Each address host resolves to is tried in order until one binds.
 * Returns the descriptor, or -EINVAL (unresolvable host) / -errno. */
int lsp_net_listen(const char *host, int port, int type, int flags, char *err, size_t errcap);

/* The local port fd is bound to, or -errno. */
int lsp_net_port(int fd);

/* Accept one connection from listener lfd (close-on-exec; non-blocking
 * with LSP_NET_NONBLOCK).  peer (may be NULL) gets "addr:port" ("[v6]:port").
 * Returns the descriptor, -EAGAIN when none is waiting, or -errno. */
int lsp_net_accept(int lfd, int flags, char *peer, size_t cap);

/* Running out of descriptors.  A listener that cannot accept (EMFILE,
 * ENFILE) stays readable, so a loop that only retries spins at full CPU
 * while its clients wait.  lsp_net_reserve_open keeps one descriptor in
 * hand (on /dev/null); lsp_net_shed gives it up, accepts the waiting
 * connection and closes it at once (its client sees the close instead of
 * hanging in the backlog), then takes the reserve back.  Returns 0 when
 * one connection was shed, or -errno when none could be (no reserve left,
 * or the accept failed again): the caller then stops polling the listener
 * for a while (LSP_NET_BACKOFF_MS) instead of spinning. */
#define LSP_NET_BACKOFF_MS 100
int lsp_net_reserve_open(void);
int lsp_net_shed(int lfd, int *reserve);

/* Raise this process's soft limit on open descriptors towards want
 * (bounded by the hard limit): a server meant for thousands of clients
 * must not stop at the default 1 024.  Returns the limit now in force. */
long lsp_net_raise_nofile(long want);

/* Text of an address: "1.2.3.4" / "::1", or with with_port "1.2.3.4:80" /
 * "[::1]:80"; "?" for another family.  Always NUL-terminated. */
void lsp_net_addr_str(const struct sockaddr *sa, int with_port, char *out, size_t cap);

/* A server TLS context (TLS 1.2+, partial writes, moving write buffers)
 * from a PEM certificate chain and its private key.  Returns an SSL_CTX *
 * as void * (callers that use it include <openssl/ssl.h>), or NULL with err
 * naming the file at fault: "certificate F: reason" / "key F: reason". */
void *lsp_net_tls_server(const char *cert, const char *key, char *err, size_t errcap);

/* ALPN on a context from lsp_net_tls_server: the server's protocols in
 * its order of preference, in wire form (each name after its length byte,
 * e.g. "\x02h2\x08http/1.1"), NUL-terminated and outliving ctx.  The
 * first of them the client offers is chosen; none in common: no ALPN. */
void lsp_net_tls_alpn(void *ctx, const char *wire);

#endif
