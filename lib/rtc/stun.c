/* stun.c — STUN Binding for ICE-lite; see stun.h.  Pure functions over
 * caller buffers; HMAC-SHA1 from OpenSSL, CRC-32 from zlib's polynomial
 * (computed here). */
#include "rtc/stun.h"

#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define COOKIE 0x2112A442u
#define A_USERNAME 0x0006
#define A_INTEGRITY 0x0008
#define A_XOR_MAPPED 0x0020
#define A_USE_CAND 0x0025
#define A_FINGERPRINT 0x8028

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

int lsp_stun_is(const uint8_t *p, size_t len)
{
	return len >= 20 && (p[0] & 0xc0) == 0 && rd32(p + 4) == COOKIE;
}

int lsp_stun_parse(const uint8_t *p, size_t len, lsp_stun_msg *m)
{
	size_t off = 20, end;
	memset(m, 0, sizeof *m);
	if (!lsp_stun_is(p, len))
		return -1;
	m->type = rd16(p);
	m->len = rd16(p + 2);
	if (m->len & 3 || (size_t)m->len + 20 > len)
		return -1;
	memcpy(m->tid, p + 8, 12);
	end = 20 + (size_t)m->len;
	while (off + 4 <= end) {
		uint16_t t = rd16(p + off), l = rd16(p + off + 2);
		size_t padded = ((size_t)l + 3) & ~(size_t)3;
		if (off + 4 + l > end)
			return -1;
		if (m->has_fingerprint)
			return -1; /* nothing may follow FINGERPRINT */
		if (m->has_integrity && t != A_FINGERPRINT)
			return -1; /* only FINGERPRINT may follow MESSAGE-INTEGRITY */
		switch (t) {
		case A_USERNAME:
			m->username = p + off + 4;
			m->username_len = l;
			break;
		case A_USE_CAND: m->use_candidate = 1; break;
		case A_INTEGRITY:
			if (l != 20)
				return -1;
			m->has_integrity = 1;
			m->integrity_off = off;
			break;
		case A_FINGERPRINT:
			if (l != 4)
				return -1;
			m->has_fingerprint = 1;
			m->fingerprint_off = off;
			break;
		default: break;
		}
		off += 4 + padded;
	}
	return off == end ? 0 : -1;
}

static void hmac(const char *key, const uint8_t *p, size_t n, uint8_t out[20])
{
	unsigned int ol = 20;
	HMAC(EVP_sha1(), key, (int)strlen(key), p, n, out, &ol);
}

int lsp_stun_check(const uint8_t *p, size_t len, const lsp_stun_msg *m, const char *key)
{
	uint8_t tmp[2048], mac[20];
	size_t io = m->integrity_off;
	if (!m->has_integrity || io + 24 > len || io > sizeof tmp)
		return -1;
	if (m->has_fingerprint) {
		size_t fo = m->fingerprint_off;
		if (fo + 8 > len || (crc32(p, fo) ^ 0x5354554eu) != rd32(p + fo + 4))
			return -1;
	}
	/* the length field covers up to and including MESSAGE-INTEGRITY */
	memcpy(tmp, p, io);
	wr16(tmp + 2, (unsigned)(io + 24 - 20));
	hmac(key, tmp, io, mac);
	return CRYPTO_memcmp(mac, p + io + 4, 20) == 0 ? 0 : -1;
}

/* Append MESSAGE-INTEGRITY and FINGERPRINT to a message of n bytes. */
static int seal(uint8_t *out, size_t n, size_t cap, const char *key)
{
	if (n + 24 + 8 > cap)
		return -1;
	wr16(out + 2, (unsigned)(n + 24 - 20));
	wr16(out + n, A_INTEGRITY);
	wr16(out + n + 2, 20);
	hmac(key, out, n, out + n + 4);
	n += 24;
	wr16(out + 2, (unsigned)(n + 8 - 20));
	wr16(out + n, A_FINGERPRINT);
	wr16(out + n + 2, 4);
	wr32(out + n + 4, crc32(out, n) ^ 0x5354554eu);
	return (int)(n + 8);
}

int lsp_stun_answer(const lsp_stun_msg *m, const struct sockaddr *from, const char *key, uint8_t *out,
		    size_t cap)
{
	size_t n = 20;
	if (cap < 20 + 24 + 24 + 8)
		return -1;
	wr16(out, LSP_STUN_BINDING_OK);
	wr32(out + 4, COOKIE);
	memcpy(out + 8, m->tid, 12);
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		uint32_t ip = ntohl(a->sin_addr.s_addr);
		wr16(out + n, A_XOR_MAPPED);
		wr16(out + n + 2, 8);
		out[n + 4] = 0;
		out[n + 5] = 1;
		wr16(out + n + 6, (unsigned)(ntohs(a->sin_port) ^ (COOKIE >> 16)));
		wr32(out + n + 8, ip ^ COOKIE);
		n += 12;
	} else if (from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		uint8_t x[16];
		wr32(x, COOKIE);
		memcpy(x + 4, m->tid, 12);
		wr16(out + n, A_XOR_MAPPED);
		wr16(out + n + 2, 20);
		out[n + 4] = 0;
		out[n + 5] = 2;
		wr16(out + n + 6, (unsigned)(ntohs(a->sin6_port) ^ (COOKIE >> 16)));
		for (int i = 0; i < 16; i++)
			out[n + 8 + i] = a->sin6_addr.s6_addr[i] ^ x[i];
		n += 24;
	}
	return seal(out, n, cap, key);
}

int lsp_stun_request(const char *username, const char *key, int use_candidate, const uint8_t tid[12],
		     uint8_t *out, size_t cap)
{
	size_t ul = strlen(username), n = 20, pl = (ul + 3) & ~(size_t)3;
	if (ul > 512 || 20 + 4 + pl + 4 + 32 > cap)
		return -1;
	wr16(out, LSP_STUN_BINDING_REQ);
	wr32(out + 4, COOKIE);
	memcpy(out + 8, tid, 12);
	wr16(out + n, A_USERNAME);
	wr16(out + n + 2, (unsigned)ul);
	memset(out + n + 4, 0, pl);
	memcpy(out + n + 4, username, ul); /* NOLINT(bugprone-not-null-terminated-result): length-prefixed on the wire */
	n += 4 + pl;
	if (use_candidate) {
		wr16(out + n, A_USE_CAND);
		wr16(out + n + 2, 0);
		n += 4;
	}
	return seal(out, n, cap, key);
}
