/* sigtok.c — channel-bound signed tokens; see sigtok.h for the format and
 * the contract.  Everything works on the caller's buffers; the secret is
 * only ever read, and wiped from the stack copies made while loading it. */
#include "core/sigtok.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/hmac.h"

#define EXP_DIGITS 18
#define HEX (2 * LSP_HMAC_LEN)

const lsp_sigtok_kind lsp_sigtok_relay = { "v1", "lsp-relay.v1", 0, 30, 300 };
const lsp_sigtok_kind lsp_sigtok_play = { "p1", "lsp-play.v1", 1, 30, LSP_SIGTOK_PLAY_AHEAD };

static int viewer_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int mac_hex(const lsp_sigtok_kind *k, const uint8_t *secret, size_t slen, const char *channel, long long exp,
		   const char *viewer, size_t vlen, char hex[HEX + 1])
{
	char msg[256];
	uint8_t md[LSP_HMAC_LEN];
	int n = vlen ? snprintf(msg, sizeof msg, "%s|%s|%lld|%.*s", k->domain, channel, exp, (int)vlen, viewer)
		     : snprintf(msg, sizeof msg, "%s|%s|%lld", k->domain, channel, exp);
	if (n < 0 || (size_t)n >= sizeof msg || lsp_hmac_sha256(secret, slen, msg, (size_t)n, md) < 0)
		return -EIO;
	lsp_hex_encode(md, LSP_HMAC_LEN, hex);
	return 0;
}

int lsp_sigtok_sign(const lsp_sigtok_kind *k, const uint8_t *secret, size_t slen, const char *channel, long long exp,
		    const char *viewer, char *out, size_t cap)
{
	char hex[HEX + 1];
	size_t vlen = viewer ? strlen(viewer) : 0;
	int n, rc;
	if (!secret || !slen || exp <= 0 || exp > 999999999999999999LL || (vlen && !k->viewer_ok) ||
	    vlen > LSP_SIGTOK_VIEWER_MAX)
		return -EINVAL;
	for (size_t i = 0; i < vlen; i++)
		if (!viewer_char(viewer[i]))
			return -EINVAL;
	if ((rc = mac_hex(k, secret, slen, channel, exp, viewer, vlen, hex)) < 0)
		return rc;
	n = vlen ? snprintf(out, cap, "%s.%lld.%s.%s", k->tag, exp, viewer, hex)
		 : snprintf(out, cap, "%s.%lld.%s", k->tag, exp, hex);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int lsp_sigtok_check(const lsp_sigtok_kind *k, const uint8_t *secret, size_t slen, const char *channel,
		     const char *tok, size_t len, long long now, char *viewer, size_t vcap, long long *exp_out,
		     const char **reason)
{
	char hex[HEX + 1];
	long long exp = 0;
	size_t tl = strlen(k->tag), i, v0 = 0, vlen = 0;
	*reason = "malformed token";
	if (vcap)
		viewer[0] = 0;
	if (!secret || !slen || len < tl + 1 || memcmp(tok, k->tag, tl) != 0 || tok[tl] != '.')
		return -EACCES;
	for (i = tl + 1; i < len && tok[i] >= '0' && tok[i] <= '9' && i < tl + 1 + EXP_DIGITS; i++)
		exp = exp * 10 + (tok[i] - '0');
	if (i == tl + 1 || i >= len || tok[i] != '.' || exp <= 0)
		return -EACCES;
	i++;
	if (len - i != HEX) { /* a viewer field before the MAC */
		if (!k->viewer_ok)
			return -EACCES;
		for (v0 = i; i < len && viewer_char(tok[i]); i++)
			;
		vlen = i - v0;
		if (!vlen || vlen > LSP_SIGTOK_VIEWER_MAX || i >= len || tok[i] != '.' || len - i - 1 != HEX)
			return -EACCES;
		i++;
	}
	*reason = "bad signature";
	if (mac_hex(k, secret, slen, channel, exp, tok + v0, vlen, hex) < 0 || !lsp_hmac_equal(hex, tok + i, HEX))
		return -EACCES;
	if (now >= exp + k->skew) {
		*reason = "token expired";
		return -EACCES;
	}
	if (exp > now + k->ahead) {
		*reason = "token lives too long";
		return -EACCES;
	}
	if (vcap)
		snprintf(viewer, vcap, "%.*s", (int)vlen, tok + v0);
	if (exp_out)
		*exp_out = exp;
	*reason = NULL;
	return 0;
}

int lsp_sigtok_secret_file(const char *path, uint8_t *out, size_t cap, char *err, size_t errcap)
{
	struct stat st;
	uint8_t buf[LSP_SIGTOK_SECRET_MAX + 2];
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
	if (got > LSP_SIGTOK_SECRET_MAX || got > cap) {
		snprintf(err, errcap, "%s: secret longer than %d bytes", path, LSP_SIGTOK_SECRET_MAX);
		rc = -EINVAL;
	} else if (got < LSP_SIGTOK_SECRET_MIN) {
		snprintf(err, errcap, "%s: secret shorter than %d bytes", path, LSP_SIGTOK_SECRET_MIN);
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

int lsp_sigtok_secret_load(const char *file, const char *env, uint8_t *out, size_t cap, char *err, size_t errcap)
{
	const char *v;
	size_t n;
	if (file)
		return lsp_sigtok_secret_file(file, out, cap, err, errcap);
	if (!env || !(v = getenv(env)) || !*v)
		return 0;
	n = strlen(v);
	if (n < LSP_SIGTOK_SECRET_MIN || n > LSP_SIGTOK_SECRET_MAX || n > cap) {
		snprintf(err, errcap, "%s must hold %d to %d bytes", env, LSP_SIGTOK_SECRET_MIN, LSP_SIGTOK_SECRET_MAX);
		return -EINVAL;
	}
	memcpy(out, v, n);
	return (int)n;
}
