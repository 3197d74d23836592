/* test_srtp — lib/rtc/srtp against the published vectors and against
 * libsrtp2:
 *   RFC 3711 B.2 (AES-CM keystream, through the KDF with label 0, which is
 *   that keystream) and B.3 (key derivation); libsrtp's reference packets
 *   for AES_CM_128_HMAC_SHA1_80 (SRTP and SRTCP, its srtp_validate);
 *   RFC 7714 16.1 (SRTP) and 17.1 / 17.3 (SRTCP, encrypted and
 *   authenticated only) for AEAD_AES_128_GCM;
 *   round trips over the sequence number wrap (ROC 0 → 1) with CSRCs and
 *   header extensions; replays and too old packets (-EALREADY), a
 *   tampered byte anywhere (-EBADMSG, packet and state unchanged),
 *   malformed packets (-EINVAL), the DTLS key split, the SSRC table bound;
 *   and both profiles, RTP and RTCP, both ways with libsrtp2. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "rtc/srtp.h"

static const int profiles[2] = { LSP_SRTP_AES128_CM_SHA1_80, LSP_SRTP_AEAD_AES_128_GCM };

static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* An RTP packet: cc CSRCs, an optional 8-byte one-byte-header extension,
 * payload bytes derived from seq. */
static size_t mkrtp(uint8_t *b, uint32_t ssrc, uint16_t seq, size_t payload, int cc, int ext)
{
	size_t h = 12;
	b[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | cc);
	b[1] = 96;
	wr16(b + 2, seq);
	wr32(b + 4, (uint32_t)seq * 3000);
	wr32(b + 8, ssrc);
	for (int i = 0; i < cc; i++, h += 4)
		wr32(b + h, 0x1000u + (unsigned)i);
	if (ext) {
		b[h] = 0xbe;
		b[h + 1] = 0xde;
		wr16(b + h + 2, 2);
		memset(b + h + 4, 0x5a, 8);
		h += 12;
	}
	for (size_t i = 0; i < payload; i++)
		b[h + i] = (uint8_t)(seq * 7 + i);
	return h + payload;
}

/* An RTCP receiver report of n bytes (>= 8) from ssrc. */
static size_t mkrtcp(uint8_t *b, uint32_t ssrc, size_t n, unsigned fill)
{
	b[0] = 0x81;
	b[1] = 201;
	wr16(b + 2, (unsigned)(n / 4 - 1));
	wr32(b + 4, ssrc);
	for (size_t i = 8; i < n; i++)
		b[i] = (uint8_t)(fill + i);
	return n;
}

static lsp_srtp *mk(int profile, const uint8_t *key, const uint8_t *salt)
{
	lsp_srtp *s = NULL;
	char err[128];
	assert_int_equal(lsp_srtp_new(&s, profile, key, salt, err, sizeof err), 0);
	assert_non_null(s);
	return s;
}

static const uint8_t key16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t salt14[14] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
				    0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad };

/* ---- known answers ---- */

static void kdf_rfc3711_b3(void **state)
{
	uint8_t key[16], salt[14], out[94], want[94];
	hex("E1F97A0D3E018BE0D64FA32C06DE4139", key);
	hex("0EC675AD498AFEEBB6960B3AABE6", salt);
	assert_int_equal(lsp_srtp_kdf(key, salt, 14, 0, out, 16), 0);
	hex("C61E7A93744F39EE10734AFE3FF7A087", want);
	assert_memory_equal(out, want, 16);
	assert_int_equal(lsp_srtp_kdf(key, salt, 14, 2, out, 14), 0);
	hex("30CBBC08863D8C85D49DB34A9AE1", want);
	assert_memory_equal(out, want, 14);
	assert_int_equal(lsp_srtp_kdf(key, salt, 14, 1, out, 94), 0);
	hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
	    "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
	    "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2", want);
	assert_memory_equal(out, want, 94);
	assert_int_equal(lsp_srtp_kdf(key, salt, 14, 6, out, 16), -EINVAL);
	assert_int_equal(lsp_srtp_kdf(key, salt, 16, 0, out, 16), -EINVAL);
}

/* B.2: session key 2B7E…, salt F0F1…FCFD, SSRC 0, index 0: the IV is the
 * salt followed by the 16-bit block counter, the KDF's IV for label 0. */
static void keystream_rfc3711_b2(void **state)
{
	static const struct { unsigned block; const char *ks; } rows[] = {
		{ 0x0000, "E03EAD0935C95E80E166B16DD92B4EB4" },
		{ 0x0001, "D23513162B02D0F72A43A2FE4A5F97AB" },
		{ 0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0" },
		{ 0xfeff, "EC8CDF7398607CB0F2D21675EA9EA1E4" },
		{ 0xff00, "362B7C3C6773516318A077D7FC5073AE" },
		{ 0xff01, "6A2CC3787889374FBEB4C81B17BA6C44" },
	};
	uint8_t key[16], salt[14], want[16];
	size_t len = (size_t)0xff02 * 16;
	uint8_t *ks = malloc(len);
	assert_non_null(ks);
	hex("2B7E151628AED2A6ABF7158809CF4F3C", key);
	hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt);
	assert_int_equal(lsp_srtp_kdf(key, salt, 14, 0, ks, len), 0);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		hex(rows[i].ks, want);
		assert_memory_equal(ks + (size_t)rows[i].block * 16, want, 16);
	}
	free(ks);
}

/* libsrtp's srtp_validate: master key/salt of B.3, SSRC cafebabe. */
static void cm_reference_packets(void **state)
{
	uint8_t key[16], salt[14], b[128], plain[64], want[128];
	size_t n, wn;
	lsp_srtp *tx, *rx;
	hex("E1F97A0D3E018BE0D64FA32C06DE4139", key);
	hex("0EC675AD498AFEEBB6960B3AABE6", salt);
	tx = mk(LSP_SRTP_AES128_CM_SHA1_80, key, salt);
	rx = mk(LSP_SRTP_AES128_CM_SHA1_80, key, salt);
	n = hex("800f1234decafbadcafebabe abababababababababababababababab", plain);
	wn = hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb", want);
	memcpy(b, plain, n);
	assert_int_equal(lsp_srtp_protect(tx, b, n, sizeof b), (int)wn);
	assert_memory_equal(b, want, wn);
	assert_int_equal(lsp_srtp_unprotect(rx, b, wn), (int)n);
	assert_memory_equal(b, plain, n);

	/* SRTCP: libsrtp's first index is 1, ours 0: send one before. */
	n = mkrtcp(b, 0xcafebabe, 8, 0);
	assert_int_equal(lsp_srtcp_protect(tx, b, n, sizeof b), 8 + 14);
	n = hex("81c8000bcafebabe abababababababababababababababab", plain);
	wn = hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798", want);
	memcpy(b, plain, n);
	assert_int_equal(lsp_srtcp_protect(tx, b, n, sizeof b), (int)wn);
	assert_memory_equal(b, want, wn);
	assert_int_equal(lsp_srtcp_unprotect(rx, b, wn), (int)n);
	assert_memory_equal(b, plain, n);
	lsp_srtp_free(tx);
	lsp_srtp_free(rx);
}

static const char rfc7714_key[] = "000102030405060708090a0b0c0d0e0f";
static const char rfc7714_salt[] = "517569642070726f2071756f";
static const char rfc7714_rtcp[] = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930"
				   " 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";

static lsp_srtp *gcm_session(void)
{
	uint8_t key[16], salt[12];
	hex(rfc7714_key, key);
	hex(rfc7714_salt, salt);
	return mk(LSP_SRTP_AEAD_AES_128_GCM | LSP_SRTP_SESSION_KEYS, key, salt);
}

/* RFC 7714 16.1.1 / 16.1.2: SSRC 5501a0b2, ROC 0, SEQ f17b. */
static void gcm_rfc7714_srtp(void **state)
{
	uint8_t b[128], plain[64], want[128];
	size_t n = hex("8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120"
		       " 696e2070 61727465 73207472 6573", plain);
	size_t wn = hex("8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f"
			" 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce", want);
	lsp_srtp *tx = gcm_session(), *rx = gcm_session();
	memcpy(b, plain, n);
	assert_int_equal(lsp_srtp_protect(tx, b, n, sizeof b), (int)wn);
	assert_memory_equal(b, want, wn);
	assert_int_equal(lsp_srtp_unprotect(rx, b, wn), (int)n);
	assert_memory_equal(b, plain, n);
	lsp_srtp_free(tx);
	lsp_srtp_free(rx);
}

/* RFC 7714 17.1 (E=1) and 17.3 (E=0): SSRC "Mars", SRTCP index 0x5d4. */
static void gcm_rfc7714_srtcp(void **state)
{
	uint8_t b[128], plain[64], want[128];
	size_t n = hex(rfc7714_rtcp, plain), wn;
	lsp_srtp *tx = gcm_session(), *rx = gcm_session(), *rx2 = gcm_session();
	for (unsigned i = 0; i < 0x5d4; i++) { /* indices 0 .. 0x5d3 */
		size_t m = mkrtcp(b, 0x4d617273, 8, 0);
		assert_int_equal(lsp_srtcp_protect(tx, b, m, sizeof b), 8 + 20);
	}
	wn = hex("81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1"
		 " 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4", want);
	memcpy(b, plain, n);
	assert_int_equal(lsp_srtcp_protect(tx, b, n, sizeof b), (int)wn);
	assert_memory_equal(b, want, wn);
	assert_int_equal(lsp_srtcp_unprotect(rx, b, wn), (int)n);
	assert_memory_equal(b, plain, n);

	wn = hex("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef"
		 " deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4", want);
	memcpy(b, want, wn);
	assert_int_equal(lsp_srtcp_unprotect(rx2, b, wn), (int)n);
	assert_memory_equal(b, plain, n);
	memcpy(b, want, wn); /* the same index again */
	assert_int_equal(lsp_srtcp_unprotect(rx2, b, wn), -EALREADY);
	lsp_srtp_free(tx);
	lsp_srtp_free(rx);
	lsp_srtp_free(rx2);
}

static void profile_api(void **state)
{
	static int dummy;
	uint8_t km[60] = { 0 };
	lsp_srtp *s = (lsp_srtp *)(void *)&dummy, *t = (lsp_srtp *)(void *)&dummy;
	char err[128];
	assert_int_equal(lsp_srtp_key_len(LSP_SRTP_AES128_CM_SHA1_80), 16);
	assert_int_equal(lsp_srtp_salt_len(LSP_SRTP_AES128_CM_SHA1_80), 14);
	assert_int_equal(lsp_srtp_key_len(LSP_SRTP_AEAD_AES_128_GCM), 16);
	assert_int_equal(lsp_srtp_salt_len(LSP_SRTP_AEAD_AES_128_GCM), 12);
	assert_int_equal(lsp_srtp_key_len(2), -EINVAL);
	assert_int_equal(lsp_srtp_salt_len(8), -EINVAL);
	err[0] = 0;
	assert_int_equal(lsp_srtp_new(&s, 2, key16, salt14, err, sizeof err), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err, "profile"));
	assert_int_equal(lsp_srtp_new(&s, LSP_SRTP_AES128_CM_SHA1_80 | LSP_SRTP_SESSION_KEYS, key16, salt14,
				      err, sizeof err), -EINVAL);
	s = (lsp_srtp *)(void *)&dummy;
	assert_int_equal(lsp_srtp_from_dtls(&s, &t, LSP_SRTP_AEAD_AES_128_GCM, km, 60, 1, err, sizeof err),
			 -EINVAL);
	assert_null(s);
	assert_null(t);
	assert_int_equal(lsp_srtp_from_dtls(&s, &t, LSP_SRTP_AES128_CM_SHA1_80, km, 56, 1, err, sizeof err),
			 -EINVAL);
	lsp_srtp_free(NULL);
}

/* ---- behaviour ---- */

/* 3000 packets from seq 64000 (wrapping to ROC 1), CSRCs and extensions
 * on some; RTCP alongside; every packet comes back as it was sent. */
static void roundtrip_wrap(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t key[16], salt[14], b[1600], plain[1600];
		lsp_srtp *tx, *rx, *fresh;
		memcpy(key, key16, 16);
		memcpy(salt, salt14, 14);
		tx = mk(profiles[pi], key, salt);
		rx = mk(profiles[pi], key, salt);
		for (unsigned i = 0; i < 3000; i++) {
			uint16_t seq = (uint16_t)(64000 + i);
			size_t n = mkrtp(plain, 0x11223344, seq, (i * 37) % 1200, (int)(i % 3), i % 2 == 0);
			int r;
			memcpy(b, plain, n);
			r = lsp_srtp_protect(tx, b, n, sizeof b);
			assert_int_equal(r, (int)n + (pi ? 16 : 10));
			assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)r), (int)n);
			assert_memory_equal(b, plain, n);
			if (i % 100 == 0) {
				n = mkrtcp(plain, 0x11223344, 8 + 4 * (i % 20), i);
				memcpy(b, plain, n);
				r = lsp_srtcp_protect(tx, b, n, sizeof b);
				assert_int_equal(r, (int)n + (pi ? 20 : 14));
				assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)r), (int)n);
				assert_memory_equal(b, plain, n);
			}
		}
		/* The last packets were sent with ROC 1: a receiver that
		 * never saw the wrap (ROC 0) cannot verify them. */
		fresh = mk(profiles[pi], key, salt);
		{
			size_t n = mkrtp(b, 0x11223344, 3000, 100, 0, 0);
			int r = lsp_srtp_protect(tx, b, n, sizeof b);
			uint8_t c[1600];
			assert_true(r > 0);
			memcpy(c, b, (size_t)r);
			assert_int_equal(lsp_srtp_unprotect(fresh, c, (size_t)r), -EBADMSG);
			assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)r), (int)n);
		}
		lsp_srtp_free(tx);
		lsp_srtp_free(rx);
		lsp_srtp_free(fresh);
	}
}

static void replay(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		static uint8_t pk[1100][64];
		static int pl[1100];
		uint8_t b[128];
		lsp_srtp *tx = mk(profiles[pi], key16, salt14), *rx = mk(profiles[pi], key16, salt14);
		for (unsigned i = 0; i < 1100; i++) {
			size_t n = mkrtp(pk[i], 7, (uint16_t)(100 + i), 20, 0, 0);
			pl[i] = lsp_srtp_protect(tx, pk[i], n, sizeof pk[i]);
			assert_true(pl[i] > 0);
		}
		/* in order, then the same packet twice */
		memcpy(b, pk[0], (size_t)pl[0]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[0]), 32);
		memcpy(b, pk[0], (size_t)pl[0]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[0]), -EALREADY);
		/* a jump ahead, then late packets inside the window: once each */
		memcpy(b, pk[10], (size_t)pl[10]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[10]), 32);
		for (int k = 0; k < 2; k++) {
			memcpy(b, pk[5], (size_t)pl[5]);
			assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[5]), k ? -EALREADY : 32);
		}
		/* 1024 packets on, packet 5 is out of the window, 100 is not */
		memcpy(b, pk[1029], (size_t)pl[1029]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[1029]), 32);
		memcpy(b, pk[4], (size_t)pl[4]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[4]), -EALREADY);
		memcpy(b, pk[6], (size_t)pl[6]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[6]), 32);
		memcpy(b, pk[100], (size_t)pl[100]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[100]), 32);
		memcpy(b, pk[1029], (size_t)pl[1029]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[1029]), -EALREADY);
		/* a replayed packet is refused before decryption: bytes unchanged */
		memcpy(b, pk[100], (size_t)pl[100]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[100]), -EALREADY);
		assert_memory_equal(b, pk[100], (size_t)pl[100]);

		/* in order but for one, which comes late, 1000 packets on: bits
		 * of the window reused from 1024 packets back must be clear */
		lsp_srtp_free(rx);
		rx = mk(profiles[pi], key16, salt14);
		for (unsigned i = 0; i < 1100; i++) {
			if (i == 1050)
				continue;
			memcpy(b, pk[i], (size_t)pl[i]);
			assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[i]), 32);
		}
		for (int k = 0; k < 2; k++) {
			memcpy(b, pk[1050], (size_t)pl[1050]);
			assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[1050]), k ? -EALREADY : 32);
		}

		/* SRTCP: index 0..199; the newest, an old one inside the window,
		 * one outside it, and a replay */
		for (unsigned i = 0; i < 200; i++) {
			size_t n = mkrtcp(pk[i], 9, 16, i);
			pl[i] = lsp_srtcp_protect(tx, pk[i], n, sizeof pk[i]);
			assert_true(pl[i] > 0);
		}
		memcpy(b, pk[199], (size_t)pl[199]);
		assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)pl[199]), 16);
		memcpy(b, pk[100], (size_t)pl[100]);
		assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)pl[100]), 16);
		memcpy(b, pk[100], (size_t)pl[100]);
		assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)pl[100]), -EALREADY);
		memcpy(b, pk[3], (size_t)pl[3]);
		assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)pl[3]), -EALREADY);
		lsp_srtp_free(tx);
		lsp_srtp_free(rx);
	}
}

/* Flip each byte in turn: -EBADMSG (or -EINVAL where the flip breaks the
 * header or makes the packet a replay), packet untouched, and the state
 * unchanged: the genuine packet still goes through afterwards. */
static void tamper(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t pkt[256], b[256], plain[256];
		lsp_srtp *tx = mk(profiles[pi], key16, salt14), *rx = mk(profiles[pi], key16, salt14);
		size_t n = mkrtp(b, 0xabcdef01, 499, 60, 0, 0), m, hdr = 12 + 4 + 12;
		int r, pr;
		r = lsp_srtp_protect(tx, b, n, sizeof b);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)r), (int)n); /* seq 499 is the newest */
		n = mkrtp(plain, 0xabcdef01, 500, 60, 1, 1);
		memcpy(pkt, plain, n);
		pr = lsp_srtp_protect(tx, pkt, n, sizeof pkt);
		assert_int_equal(pr, (int)n + (pi ? 16 : 10));
		for (int i = 0; i < pr; i++) {
			int got;
			memcpy(b, pkt, (size_t)pr);
			b[i] ^= 0x01;
			got = lsp_srtp_unprotect(rx, b, (size_t)pr);
			assert_true(got == -EBADMSG || ((size_t)i < hdr && got == -EINVAL));
			assert_int_equal(b[i], pkt[i] ^ 0x01);
			b[i] ^= 0x01;
			assert_memory_equal(b, pkt, (size_t)pr);
		}
		/* a forged packet far ahead must not move the window: if it
		 * did, 500 would be too old afterwards */
		m = mkrtp(b, 0xabcdef01, 500 + 3000, 60, 0, 0);
		r = lsp_srtp_protect(tx, b, m, sizeof b);
		b[r - 1] ^= 0x80;
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)r), -EBADMSG);
		assert_int_equal(lsp_srtp_unprotect(rx, pkt, (size_t)pr), (int)n);
		assert_memory_equal(pkt, plain, n);

		/* SRTCP likewise */
		n = mkrtcp(plain, 0xabcdef01, 40, 3);
		memcpy(pkt, plain, n);
		pr = lsp_srtcp_protect(tx, pkt, n, sizeof pkt);
		assert_int_equal(pr, (int)n + (pi ? 20 : 14));
		for (int i = 0; i < pr; i++) {
			int got;
			memcpy(b, pkt, (size_t)pr);
			b[i] ^= 0x40;
			got = lsp_srtcp_unprotect(rx, b, (size_t)pr);
			assert_true(got == -EBADMSG || (i == 0 && got == -EINVAL));
			b[i] ^= 0x40;
			assert_memory_equal(b, pkt, (size_t)pr);
		}
		assert_int_equal(lsp_srtcp_unprotect(rx, pkt, (size_t)pr), (int)n);
		assert_memory_equal(pkt, plain, n);
		lsp_srtp_free(tx);
		lsp_srtp_free(rx);
	}
}

static void malformed(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t b[2048];
		size_t tag = pi ? 16 : 10;
		lsp_srtp *s = mk(profiles[pi], key16, salt14);
		size_t n;
		memset(b, 0, sizeof b);
		n = mkrtp(b, 1, 1, 0, 0, 0);
		assert_int_equal(lsp_srtp_protect(s, b, 11, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 11), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 12 + tag - 1), -EINVAL); /* no room for the tag */
		assert_int_equal(lsp_srtp_protect(s, b, n, n + tag - 1), -ENOSPC);
		b[0] = 0x40; /* version 1 */
		assert_int_equal(lsp_srtp_protect(s, b, n, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 40), -EINVAL);
		b[0] = 0x8f; /* 15 CSRCs: 72 bytes of header */
		assert_int_equal(lsp_srtp_protect(s, b, 71, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 71), -EINVAL);
		assert_int_equal(lsp_srtp_protect(s, b, 72, sizeof b), 72 + (int)tag);
		b[0] = 0x90; /* extension header past the end */
		assert_int_equal(lsp_srtp_protect(s, b, 15, sizeof b), -EINVAL);
		b[14] = 0;
		b[15] = 4; /* 16 more bytes */
		assert_int_equal(lsp_srtp_protect(s, b, 31, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 31), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 32 + tag - 1), -EINVAL);
		assert_int_equal(lsp_srtp_protect(s, b, 32, sizeof b), 32 + (int)tag);
		/* SRTCP */
		n = mkrtcp(b, 1, 8, 0);
		assert_int_equal(lsp_srtcp_protect(s, b, 7, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtcp_protect(s, b, n, n + tag + 3), -ENOSPC);
		assert_int_equal(lsp_srtcp_unprotect(s, b, 8 + 4 + tag - 1), -EINVAL);
		b[0] = 0x01;
		assert_int_equal(lsp_srtcp_protect(s, b, n, sizeof b), -EINVAL);
		assert_int_equal(lsp_srtcp_unprotect(s, b, 40), -EINVAL);
		assert_int_equal(lsp_srtp_unprotect(s, b, 70000), -EMSGSIZE);
		lsp_srtp_free(s);
	}
}

/* RFC 5764 4.2 split: the server's tx is the client's rx and back. */
static void dtls_split(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t km[60], b[256];
		size_t kmlen = 2 * (16 + (size_t)lsp_srtp_salt_len(profiles[pi])), n;
		lsp_srtp *stx, *srx, *ctx, *crx;
		char err[128];
		int r;
		for (size_t i = 0; i < sizeof km; i++)
			km[i] = (uint8_t)(i * 13 + 1);
		assert_int_equal(lsp_srtp_from_dtls(&stx, &srx, profiles[pi], km, kmlen, 1, err, sizeof err), 0);
		assert_int_equal(lsp_srtp_from_dtls(&ctx, &crx, profiles[pi], km, kmlen, 0, err, sizeof err), 0);
		n = mkrtp(b, 5, 1, 30, 0, 0);
		r = lsp_srtp_protect(stx, b, n, sizeof b);
		assert_int_equal(lsp_srtp_unprotect(srx, b, (size_t)r), -EBADMSG); /* other direction */
		assert_int_equal(lsp_srtp_unprotect(crx, b, (size_t)r), (int)n);
		n = mkrtcp(b, 5, 20, 0);
		r = lsp_srtcp_protect(ctx, b, n, sizeof b);
		assert_int_equal(lsp_srtcp_unprotect(crx, b, (size_t)r), -EBADMSG);
		assert_int_equal(lsp_srtcp_unprotect(srx, b, (size_t)r), (int)n);
		lsp_srtp_free(stx);
		lsp_srtp_free(srx);
		lsp_srtp_free(ctx);
		lsp_srtp_free(crx);
	}
}

/* 65 SSRCs: the 65th takes the place of the one unused longest, which
 * then counts as new; the others keep their replay windows. */
static void ssrc_table(void **state)
{
	static uint8_t pk[LSP_SRTP_MAX_SSRC + 1][64];
	static int pl[LSP_SRTP_MAX_SSRC + 1];
	uint8_t b[64];
	lsp_srtp *tx = mk(LSP_SRTP_AEAD_AES_128_GCM, key16, salt14);
	lsp_srtp *rx = mk(LSP_SRTP_AEAD_AES_128_GCM, key16, salt14);
	for (unsigned i = 0; i <= LSP_SRTP_MAX_SSRC; i++) {
		size_t n = mkrtp(pk[i], 1000 + i, 9, 8, 0, 0);
		pl[i] = lsp_srtp_protect(tx, pk[i], n, sizeof pk[i]);
		memcpy(b, pk[i], (size_t)pl[i]);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[i]), 20);
	}
	memcpy(b, pk[1], (size_t)pl[1]);
	assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[1]), -EALREADY);
	memcpy(b, pk[LSP_SRTP_MAX_SSRC], (size_t)pl[LSP_SRTP_MAX_SSRC]);
	assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[LSP_SRTP_MAX_SSRC]), -EALREADY);
	memcpy(b, pk[0], (size_t)pl[0]); /* evicted: accepted as new (documented) */
	assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)pl[0]), 20);
	lsp_srtp_free(tx);
	lsp_srtp_free(rx);
}

/* ---- interop with libsrtp2 ---- */

static srtp_t ls_new(int profile, const uint8_t *key, const uint8_t *salt, int inbound)
{
	srtp_policy_t p;
	uint8_t k[30];
	srtp_t s = NULL;
	int sl = lsp_srtp_salt_len(profile);
	memset(&p, 0, sizeof p);
	if (profile == LSP_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&p.rtp);
		srtp_crypto_policy_set_rtcp_default(&p.rtcp);
	}
	memcpy(k, key, 16);
	memcpy(k + 16, salt, (size_t)sl);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = k;
	p.window_size = 1024;
	p.allow_repeat_tx = 1;
	assert_int_equal(srtp_create(&s, &p), srtp_err_status_ok);
	return s;
}

/* Ours → libsrtp2 and libsrtp2 → ours, 2500 RTP packets across the wrap
 * with CSRCs and extensions, plus RTCP every 50th packet. */
static void interop_libsrtp(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t plain[1600], b[1600 + 64];
		lsp_srtp *ours_tx = mk(profiles[pi], key16, salt14), *ours_rx = mk(profiles[pi], key16, salt14);
		srtp_t ls_tx = ls_new(profiles[pi], key16, salt14, 0), ls_rx = ls_new(profiles[pi], key16, salt14, 1);
		for (unsigned i = 0; i < 2500; i++) {
			uint16_t seq = (uint16_t)(65000 + i);
			size_t n = mkrtp(plain, 0x5eed, seq, 1 + (i * 53) % 1200, (int)(i % 2), i % 3 == 0);
			int len = (int)n, r;
			/* ours → libsrtp */
			memcpy(b, plain, n);
			r = lsp_srtp_protect(ours_tx, b, n, sizeof b);
			assert_true(r > 0);
			len = r;
			assert_int_equal(srtp_unprotect(ls_rx, b, &len), srtp_err_status_ok);
			assert_int_equal(len, (int)n);
			assert_memory_equal(b, plain, n);
			/* libsrtp → ours */
			memcpy(b, plain, n);
			len = (int)n;
			assert_int_equal(srtp_protect(ls_tx, b, &len), srtp_err_status_ok);
			assert_int_equal(lsp_srtp_unprotect(ours_rx, b, (size_t)len), (int)n);
			assert_memory_equal(b, plain, n);
			if (i % 50 == 0) {
				n = mkrtcp(plain, 0x5eed, 8 + 4 * (i % 30), i);
				memcpy(b, plain, n);
				r = lsp_srtcp_protect(ours_tx, b, n, sizeof b);
				assert_true(r > 0);
				len = r;
				assert_int_equal(srtp_unprotect_rtcp(ls_rx, b, &len), srtp_err_status_ok);
				assert_int_equal(len, (int)n);
				assert_memory_equal(b, plain, n);
				memcpy(b, plain, n);
				len = (int)n;
				assert_int_equal(srtp_protect_rtcp(ls_tx, b, &len), srtp_err_status_ok);
				assert_int_equal(lsp_srtcp_unprotect(ours_rx, b, (size_t)len), (int)n);
				assert_memory_equal(b, plain, n);
			}
		}
		srtp_dealloc(ls_tx);
		srtp_dealloc(ls_rx);
		lsp_srtp_free(ours_tx);
		lsp_srtp_free(ours_rx);
	}
}

/* The same through the DTLS split, as dtls.c will use it: libsrtp2 gets
 * the halves by hand, ours by lsp_srtp_from_dtls. */
static void interop_dtls_split(void **state)
{
	for (int pi = 0; pi < 2; pi++) {
		uint8_t km[60], b[256], plain[256];
		int sl = lsp_srtp_salt_len(profiles[pi]), len;
		size_t n;
		lsp_srtp *tx, *rx;
		srtp_t peer_rx, peer_tx;
		char err[128];
		for (size_t i = 0; i < sizeof km; i++)
			km[i] = (uint8_t)(0x30 + i * 7);
		/* we are the server: we send with server key/salt */
		assert_int_equal(lsp_srtp_from_dtls(&tx, &rx, profiles[pi], km, 2 * (16 + (size_t)sl), 1, err,
						    sizeof err), 0);
		peer_rx = ls_new(profiles[pi], km + 16, km + 32 + sl, 1);
		peer_tx = ls_new(profiles[pi], km, km + 32, 0);
		n = mkrtp(plain, 77, 4242, 100, 0, 1);
		memcpy(b, plain, n);
		len = lsp_srtp_protect(tx, b, n, sizeof b);
		assert_int_equal(srtp_unprotect(peer_rx, b, &len), srtp_err_status_ok);
		assert_memory_equal(b, plain, n);
		len = (int)n;
		assert_int_equal(srtp_protect(peer_tx, b, &len), srtp_err_status_ok);
		assert_int_equal(lsp_srtp_unprotect(rx, b, (size_t)len), (int)n);
		assert_memory_equal(b, plain, n);
		n = mkrtcp(plain, 77, 32, 1);
		memcpy(b, plain, n);
		len = (int)n;
		assert_int_equal(srtp_protect_rtcp(peer_tx, b, &len), srtp_err_status_ok);
		assert_int_equal(lsp_srtcp_unprotect(rx, b, (size_t)len), (int)n);
		assert_memory_equal(b, plain, n);
		srtp_dealloc(peer_rx);
		srtp_dealloc(peer_tx);
		lsp_srtp_free(tx);
		lsp_srtp_free(rx);
	}
}

/* libsrtp2 keeps a process-wide crypto kernel: one init for the group. */
static int ls_init(void **state)
{
	return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

static int ls_shutdown(void **state)
{
	return srtp_shutdown() == srtp_err_status_ok ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kdf_rfc3711_b3),
		cmocka_unit_test(keystream_rfc3711_b2),
		cmocka_unit_test(cm_reference_packets),
		cmocka_unit_test(gcm_rfc7714_srtp),
		cmocka_unit_test(gcm_rfc7714_srtcp),
		cmocka_unit_test(profile_api),
		cmocka_unit_test(roundtrip_wrap),
		cmocka_unit_test(replay),
		cmocka_unit_test(tamper),
		cmocka_unit_test(malformed),
		cmocka_unit_test(dtls_split),
		cmocka_unit_test(ssrc_table),
		cmocka_unit_test(interop_libsrtp),
		cmocka_unit_test(interop_dtls_split),
	};
	return cmocka_run_group_tests(tests, ls_init, ls_shutdown);
}
