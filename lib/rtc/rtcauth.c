/* rtcauth.c — relay tokens; see rtcauth.h for the contract.  Everything
 * works on the caller's buffers; the secret is only ever read. */
#include "rtc/rtcauth.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hmac.h"

static int mac_hex(const uint8_t *secret, size_t slen, const char *channel, long long exp, char hex[2 * LSP_HMAC_LEN + 1])
{
	static const char dig[] = "0123456789abcdef";
	char msg[160];
	uint8_t md[LSP_HMAC_LEN];
	int n = snprintf(msg, sizeof msg, "lsp-relay.v1|%s|%lld", channel, exp);
	if (n < 0 || (size_t)n >= sizeof msg || lsp_hmac_sha256(secret, slen, msg, (size_t)n, md) < 0)
		return -EIO;
	for (int i = 0; i < LSP_HMAC_LEN; i++) {
		hex[2 * i] = dig[md[i] >> 4];
		hex[2 * i + 1] = dig[md[i] & 15];
	}
	hex[2 * LSP_HMAC_LEN] = 0;
	return 0;
}

int lsp_rtcauth_sign(const uint8_t *secret, size_t slen, const char *channel, long long exp, char *out, size_t cap)
{
	char hex[2 * LSP_HMAC_LEN + 1];
	int n, rc;
	if (!secret || !slen || exp <= 0)
		return -EINVAL;
	if ((rc = mac_hex(secret, slen, channel, exp, hex)) < 0)
		return rc;
	n = snprintf(out, cap, "v1.%lld.%s", exp, hex);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int lsp_rtcauth_check(const uint8_t *secret, size_t slen, const char *channel, const char *tok, size_t len,
		      long long now, const char **reason)
{
	char hex[2 * LSP_HMAC_LEN + 1];
	long long exp = 0;
	size_t i = 3;
	*reason = "malformed token";
	if (!secret || !slen || len < 3 || memcmp(tok, "v1.", 3) != 0)
		return -EACCES;
	for (; i < len && tok[i] >= '0' && tok[i] <= '9' && i < 3 + 18; i++)
		exp = exp * 10 + (tok[i] - '0');
	if (i == 3 || i >= len || tok[i] != '.' || len - i - 1 != 2 * LSP_HMAC_LEN || exp <= 0)
		return -EACCES;
	*reason = "bad signature";
	if (mac_hex(secret, slen, channel, exp, hex) < 0 || !lsp_hmac_equal(hex, tok + i + 1, 2 * LSP_HMAC_LEN))
		return -EACCES;
	if (now >= exp + LSP_RTCAUTH_SKEW) {
		*reason = "token expired";
		return -EACCES;
	}
	if (exp > now + LSP_RTCAUTH_AHEAD) {
		*reason = "token lives too long";
		return -EACCES;
	}
	*reason = NULL;
	return 0;
}

int lsp_rtcauth_secret_file(const char *path, uint8_t *out, size_t cap, char *err, size_t errcap)
{
	struct stat st;
	uint8_t buf[LSP_RTCAUTH_SECRET_MAX + 2];
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = 0;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errcap, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errcap, "%s: readable or writable by others (chmod 600 it)", path);
		rc = -EPERM;
		goto out;
	}
	while (got < sizeof buf && (n = read(fd, buf + got, sizeof buf - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			snprintf(err, errcap, "%s: %s", path, strerror(-rc));
			goto out;
		}
		got += (size_t)n;
	}
	while (got && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' ' || buf[got - 1] == '\t'))
		got--;
	if (got > LSP_RTCAUTH_SECRET_MAX || got > cap) {
		snprintf(err, errcap, "%s: secret longer than %d bytes", path, LSP_RTCAUTH_SECRET_MAX);
		rc = -EINVAL;
	} else if (got < LSP_RTCAUTH_SECRET_MIN) {
		snprintf(err, errcap, "%s: secret shorter than %d bytes", path, LSP_RTCAUTH_SECRET_MIN);
		rc = -EINVAL;
	} else {
		memcpy(out, buf, got);
		rc = (int)got;
	}
out:
	memset(buf, 0, sizeof buf);
	close(fd);
	return rc;
}

int lsp_rtcauth_loopback(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}
