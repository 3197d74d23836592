/* token.c — HMAC-SHA256 chat tokens; see token.h for the contract. */
#include "state/token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"

static const char *const role_names[] = { "viewer", "mod", "owner" };

int lsp_role_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}

const char *lsp_role_name(int role)
{
	return role >= 0 && role < 3 ? role_names[role] : "?";
}

int lsp_token_secret(const char *data_dir, unsigned char *key, size_t cap, char *err, size_t errcap)
{
	const char *env = getenv("LSP_SECRET");
	char path[4096], hex[65];
	unsigned char raw[32];
	int fd = -1, rc = -EIO;
	ssize_t n;

	if (env && *env) {
		size_t l = strlen(env);
		if (l > cap)
			l = cap;
		memcpy(key, env, l); /* NOLINT(bugprone-not-null-terminated-result): key bytes, not a string */
		return (int)l;
	}
	if (cap < 32) {
		snprintf(err, errcap, "secret buffer too small");
		return -EINVAL;
	}
	if (!data_dir || !*data_dir)
		data_dir = "./var";
	if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "unable to create %s: %s", data_dir, strerror(errno));
		return -EIO;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/chat.secret", data_dir) >= sizeof path) {
		snprintf(err, errcap, "data dir path too long");
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char tmp[4200];
		if (RAND_bytes(raw, sizeof raw) != 1) {
			snprintf(err, errcap, "unable to draw random bytes");
			return -EIO;
		}
		lsp_hex_encode(raw, sizeof raw, hex);
		snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, hex, 64) != 64 || fsync(fd) < 0) {
			snprintf(err, errcap, "unable to write %s: %s", tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			return -EIO;
		}
		close(fd);
		/* link() fails if another process won the race: then use theirs */
		if (link(tmp, path) < 0 && errno != EEXIST) {
			snprintf(err, errcap, "unable to create %s: %s", path, strerror(errno));
			unlink(tmp);
			return -EIO;
		}
		unlink(tmp);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errcap, "unable to open %s: %s", path, strerror(errno));
		return -EIO;
	}
	n = read(fd, hex, 64);
	if (n != 64) {
		snprintf(err, errcap, "%s: expected 64 hex digits", path);
		goto fail;
	}
	if (lsp_hex_decode(hex, 32, key) < 0) {
		snprintf(err, errcap, "%s: expected 64 hex digits", path);
		goto fail;
	}
	rc = 32;
fail:
	close(fd);
	OPENSSL_cleanse(hex, sizeof hex);
	return rc;
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64u_enc(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
	}
	out[o] = 0;
	return o;
}

static int b64u_val(int c)
{
	const char *p = c ? strchr(b64u, c) : NULL;
	return p ? (int)(p - b64u) : -1;
}

/* Decode; returns the length or -1.  out must hold n*3/4 bytes. */
static int b64u_dec(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = b64u_val((unsigned char)in[i]);
		if (d < 0)
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (v != 0)
		return -1; /* non-canonical trailing bits */
	return (int)o;
}

static void mac(const unsigned char *key, size_t keylen, const char *msg, size_t n, unsigned char md[32])
{
	unsigned int ml = 32;
	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, n, md, &ml);
}

/* A token's channel scope: "*", a channel name, or a reserved scope "-<name>"
 * (lsp-api's "-kid") that no channel name can equal, since names never
 * start with '-'. */
static int scope_valid(const char *ch)
{
	return strcmp(ch, "*") == 0 || lsp_name_valid(ch) || (ch[0] == '-' && lsp_name_valid(ch + 1));
}

int lsp_token_issue(const unsigned char *key, size_t keylen, const lsp_token *t, char *out, size_t cap)
{
	char payload[3 * LSP_NAME_MAX + 64];
	unsigned char md[32];
	size_t o;
	int n;
	if (cap < LSP_TOKEN_MAX || !lsp_name_valid(t->user) || t->role < 0 || t->role > 2 || !scope_valid(t->channel))
		return -EINVAL;
	n = snprintf(payload, sizeof payload, "%s|%s|%s|%lld", t->user, lsp_role_name(t->role), t->channel, t->exp);
	if (n < 0 || (size_t)n >= sizeof payload)
		return -EINVAL;
	memcpy(out, "v1.", 3); /* NOLINT(bugprone-not-null-terminated-result): b64u_enc ends the string */
	o = 3 + b64u_enc((const unsigned char *)payload, (size_t)n, out + 3);
	mac(key, keylen, out, o, md);
	out[o++] = '.';
	b64u_enc(md, 32, out + o);
	return 0;
}

int lsp_token_verify(const unsigned char *key, size_t keylen, const char *tok, size_t len, long long now,
		     lsp_token *t)
{
	unsigned char md[32], got[40];
	char payload[LSP_TOKEN_MAX], *f[4], *save = NULL, *s;
	const char *dot;
	size_t plen;
	int n, i;
	long long exp;
	lsp_token r;

	if (len < 4 || len >= LSP_TOKEN_MAX || memcmp(tok, "v1.", 3) != 0)
		return -EINVAL;
	dot = memchr(tok + 3, '.', len - 3);
	if (!dot)
		return -EINVAL;
	plen = (size_t)(dot - tok);
	mac(key, keylen, tok, plen, md);
	if (b64u_dec(dot + 1, len - plen - 1, got, sizeof got) != 32 || CRYPTO_memcmp(md, got, 32) != 0)
		return -EINVAL;
	n = b64u_dec(tok + 3, plen - 3, (unsigned char *)payload, sizeof payload - 1);
	if (n < 0)
		return -EINVAL;
	payload[n] = 0;
	if (memchr(payload, 0, (size_t)n))
		return -EINVAL;
	for (i = 0, s = payload; i < 4; i++, s = NULL) {
		f[i] = strtok_r(s, "|", &save);
		if (!f[i])
			return -EINVAL;
	}
	memset(&r, 0, sizeof r);
	if (!lsp_name_valid(f[0]) || (r.role = lsp_role_parse(f[1])) < 0 || !scope_valid(f[2]))
		return -EINVAL;
	{
		char *end;
		errno = 0;
		exp = strtoll(f[3], &end, 10);
		if (errno || *end || end == f[3])
			return -EINVAL;
	}
	snprintf(r.user, sizeof r.user, "%s", f[0]);
	snprintf(r.channel, sizeof r.channel, "%s", f[2]);
	r.exp = exp;
	if (now >= exp)
		return -ETIMEDOUT;
	*t = r;
	return 0;
}

int lsp_token_allows(const lsp_token *t, const char *channel)
{
	/* a reserved scope ("-kid": kid-mode) allows no channel, even one
	 * spelled the same */
	if (t->channel[0] == '-' || !channel || channel[0] == '-')
		return 0;
	return strcmp(t->channel, "*") == 0 || strcmp(t->channel, channel) == 0;
}
