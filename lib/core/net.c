/* net.c — listening sockets, accept, peer addresses and server TLS
 * contexts for every lsp server; see net.h.  Holds no state. */
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

int lsp_net_listen(const char *host, int port, int type, int flags, char *err, size_t errcap)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	const char *h = host && *host ? host : NULL;
	char ps[16];
	int fd = -1, one = 1, rc, st = type | SOCK_CLOEXEC;

	if (port < 0 || port > 65535 || (type != SOCK_STREAM && type != SOCK_DGRAM)) {
		snprintf(err, errcap, "unable to listen: bad port %d or socket type", port);
		return -EINVAL;
	}
	if (flags & LSP_NET_NONBLOCK)
		st |= SOCK_NONBLOCK;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | ((flags & LSP_NET_NUMERIC) ? AI_NUMERICHOST : 0);
	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(h, ps, &hints, &ai)) != 0 || !ai) {
		snprintf(err, errcap, "unable to resolve %s: %s", h ? h : "*", rc ? gai_strerror(rc) : "no address");
		if (ai)
			freeaddrinfo(ai);
		return -EINVAL;
	}
	rc = -EADDRNOTAVAIL;
	for (a = ai; a; a = a->ai_next) {
		if ((fd = socket(a->ai_family, st, 0)) < 0) {
			rc = -errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
		    bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    (type != SOCK_STREAM || listen(fd, LSP_NET_BACKLOG) == 0))
			break;
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errcap, "unable to listen on %s:%d: %s", h ? h : "*", port, strerror(-rc));
		return rc;
	}
	return fd;
}

int lsp_net_port(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

void lsp_net_addr_str(const struct sockaddr *sa, int with_port, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (!cap)
		return;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
		port = ntohs(a->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
		port = ntohs(a->sin6_port);
	}
	if (!with_port || !sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		snprintf(out, cap, "%s", h);
	else
		snprintf(out, cap, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", h, port);
}

int lsp_net_accept(int lfd, int flags, char *peer, size_t cap)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | ((flags & LSP_NET_NONBLOCK) ? SOCK_NONBLOCK : 0));
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (peer && cap)
		lsp_net_addr_str((struct sockaddr *)&ss, 1, peer, cap);
	return fd;
}

int lsp_net_reserve_open(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int lsp_net_shed(int lfd, int *reserve)
{
	int fd;
	if (!reserve || *reserve < 0) {
		if (reserve && (*reserve = lsp_net_reserve_open()) < 0)
			*reserve = -1;
		return -EMFILE;
	}
	close(*reserve);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	*reserve = lsp_net_reserve_open();
	if (*reserve < 0)
		*reserve = -1;
	return fd >= 0 ? 0 : (errno == EWOULDBLOCK ? -EAGAIN : -errno);
}

long lsp_net_raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (want > 0 && (rlim_t)want > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return rl.rlim_cur == RLIM_INFINITY ? (long)1 << 30 : (long)rl.rlim_cur;
}

/* The reason OpenSSL gives for its most recent error, never NULL. */
static const char *tls_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());
	return r ? r : "unreadable, or not a PEM file";
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	const unsigned char *wire = arg;
	unsigned char *sel = NULL;
	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, wire, (unsigned)strlen((const char *)wire), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no protocol in common: go on without ALPN */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

void lsp_net_tls_alpn(void *ctx, const char *wire)
{
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)wire);
}

void *lsp_net_tls_server(const char *cert, const char *key, char *err, size_t errcap)
{
	SSL_CTX *c;
	if (!cert || !*cert || !key || !*key) {
		snprintf(err, errcap, "TLS needs both a certificate and a key");
		return NULL;
	}
	ERR_clear_error();
	if (!(c = SSL_CTX_new(TLS_server_method()))) {
		snprintf(err, errcap, "TLS context: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		snprintf(err, errcap, "certificate %s: %s", cert, tls_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1) {
		snprintf(err, errcap, "key %s: %s", key, tls_reason());
		goto fail;
	}
	return c;
fail:
	SSL_CTX_free(c);
	return NULL;
}
