/* srtp.c — SRTP/SRTCP on OpenSSL EVP; see srtp.h.
 *
 * Packet layouts (no MKI):
 *   SRTP   header(12 + 4*CC [+ 4 + ext]) | payload (encrypted) | tag (10 CM / 16 GCM)
 *   SRTCP  CM:  first 8 bytes | rest (encrypted) | E|index | tag(10)
 *          GCM: first 8 bytes | rest (encrypted) | tag(16) | E|index
 * CM: AES-128-CTR with IV = salt ^ SSRC<<64 ^ index<<16, HMAC-SHA1 over
 * the packet (SRTP: followed by the ROC; SRTCP: up to and with E|index).
 * GCM: 12-byte IV = salt ^ (0000 | SSRC | index48), AAD = the header (SRTCP:
 * the first 8 bytes and E|index; with E clear the whole packet).
 *
 * The lsp_srtp owns its EVP contexts: per kind (SRTP, SRTCP) a cipher
 * context keyed once (CM: CTR, both ways; GCM: one to seal, one to open)
 * and for CM an HMAC context re-initialised per packet with its kept key. */
#include "rtc/srtp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

enum {
	KEY_LEN = 16,
	CM_SALT = 14,
	GCM_SALT = 12,
	AUTH_KEY = 20,
	CM_TAG = 10,
	GCM_TAG = 16,
	MAX_PKT = 65535,
	FIRST_SSRCS = 4, /* the SSRC table: room for 4 at the first packet, doubled up to the max */
	RTP = 0,
	RTCP = 1,
};

struct keys {
	EVP_CIPHER_CTX *enc, *dec; /* dec: GCM only (CTR decrypts by encrypting) */
	EVP_MAC_CTX *mac;          /* CM only */
	uint8_t salt[CM_SALT];
};

struct stream {
	uint32_t ssrc;
	uint8_t rtp, rtcp;  /* 1 once an SRTP / SRTCP packet of this SSRC went through */
	uint64_t rtp_hi;    /* highest 48-bit index sent / authenticated: ROC << 16 | SEQ */
	uint64_t rtcp_hi;   /* highest SRTCP index sent / authenticated */
	uint64_t used;      /* lsp_srtp.clock at the last use, for eviction */
	uint64_t rtp_win[LSP_SRTP_WINDOW / 64];   /* bit i % W: index i seen (receiver) */
	uint64_t rtcp_win[LSP_SRTCP_WINDOW / 64];
};

struct lsp_srtp {
	int gcm;
	size_t tag;
	struct keys k[2]; /* RTP, RTCP */
	uint64_t clock;
	size_t n, cap;
	struct stream *st;
};

/* ---- bytes ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* CM (off 4, 16-byte IV whose last 2 bytes are the block counter) and
 * GCM (off 2, 12-byte IV): SSRC at off, the 48-bit index after it, XOR salt. */
static void make_iv(uint8_t iv[16], const uint8_t *salt, size_t saltlen, size_t off, uint32_t ssrc,
		    uint64_t idx)
{
	memset(iv, 0, 16);
	wr32(iv + off, ssrc);
	for (int i = 0; i < 6; i++)
		iv[off + 4 + (size_t)i] = (uint8_t)(idx >> (40 - 8 * i));
	for (size_t i = 0; i < saltlen; i++)
		iv[i] ^= salt[i];
}

static int ossl_fail(void)
{
	ERR_clear_error();
	return -EIO;
}

/* ---- profiles and key derivation ---- */

int lsp_srtp_salt_len(int profile)
{
	if (profile == LSP_SRTP_AES128_CM_SHA1_80)
		return CM_SALT;
	return profile == LSP_SRTP_AEAD_AES_128_GCM ? GCM_SALT : -EINVAL;
}

int lsp_srtp_key_len(int profile)
{
	return lsp_srtp_salt_len(profile) < 0 ? -EINVAL : KEY_LEN;
}

int lsp_srtp_kdf(const uint8_t *key, const uint8_t *salt, size_t saltlen, int label, uint8_t *out,
		 size_t len)
{
	uint8_t iv[16] = { 0 };
	EVP_CIPHER_CTX *c;
	int rc = 0, n;
	if (saltlen > CM_SALT || label < 0 || label > 5)
		return -EINVAL;
	memcpy(iv, salt, saltlen); /* a 12-byte salt is padded with zeros to 14 */
	iv[7] ^= (uint8_t)label;   /* key_id = label | index/kdr (0) */
	if (!(c = EVP_CIPHER_CTX_new()))
		return -ENOMEM;
	if (EVP_EncryptInit_ex2(c, EVP_aes_128_ctr(), key, iv, NULL) != 1) {
		rc = ossl_fail();
		goto fail;
	}
	memset(out, 0, len);
	while (len > 0) {
		int chunk = len > 1 << 20 ? 1 << 20 : (int)len;
		if (EVP_EncryptUpdate(c, out, &n, out, chunk) != 1) {
			rc = ossl_fail();
			goto fail;
		}
		out += chunk;
		len -= (size_t)chunk;
	}
fail:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static void keys_free(struct keys *k)
{
	EVP_CIPHER_CTX_free(k->enc);
	EVP_CIPHER_CTX_free(k->dec);
	EVP_MAC_CTX_free(k->mac);
	OPENSSL_cleanse(k->salt, sizeof k->salt);
	memset(k, 0, sizeof *k);
}

/* One kind's contexts from its session key (and auth key for CM). */
static int keys_init(struct keys *k, int gcm, const uint8_t *ekey, const uint8_t *akey, char *err,
		     size_t errcap)
{
	EVP_MAC *mac = NULL;
	OSSL_PARAM prm[2];
	char sha1[] = "SHA1";
	if (!(k->enc = EVP_CIPHER_CTX_new()) || (gcm && !(k->dec = EVP_CIPHER_CTX_new()))) {
		snprintf(err, errcap, "srtp: out of memory");
		return -ENOMEM;
	}
	if (EVP_EncryptInit_ex2(k->enc, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), ekey, NULL, NULL) != 1 ||
	    (gcm && EVP_DecryptInit_ex2(k->dec, EVP_aes_128_gcm(), ekey, NULL, NULL) != 1)) {
		snprintf(err, errcap, "srtp: AES-128 %s set-up failed", gcm ? "GCM" : "CTR");
		return ossl_fail();
	}
	if (gcm)
		return 0;
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha1, 0);
	prm[1] = OSSL_PARAM_construct_end();
	if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) || !(k->mac = EVP_MAC_CTX_new(mac)) ||
	    EVP_MAC_init(k->mac, akey, AUTH_KEY, prm) != 1) {
		EVP_MAC_free(mac);
		snprintf(err, errcap, "srtp: HMAC-SHA1 set-up failed");
		return ossl_fail();
	}
	EVP_MAC_free(mac); /* the context keeps its own reference */
	return 0;
}

void lsp_srtp_free(lsp_srtp *s)
{
	if (!s)
		return;
	keys_free(&s->k[RTP]);
	keys_free(&s->k[RTCP]);
	free(s->st);
	free(s);
}

int lsp_srtp_new(lsp_srtp **out, int profile, const uint8_t *key, const uint8_t *salt, char *err,
		 size_t errcap)
{
	uint8_t ek[KEY_LEN] = { 0 }, ak[AUTH_KEY] = { 0 };
	int raw = (profile & LSP_SRTP_SESSION_KEYS) != 0, saltlen, rc = 0;
	lsp_srtp *s;
	*out = NULL;
	profile &= ~LSP_SRTP_SESSION_KEYS;
	if ((saltlen = lsp_srtp_salt_len(profile)) < 0 || (raw && profile != LSP_SRTP_AEAD_AES_128_GCM)) {
		snprintf(err, errcap, "srtp: unsupported profile 0x%04x%s", (unsigned)profile,
			 raw ? " with session keys" : "");
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errcap, "srtp: out of memory");
		return -ENOMEM;
	}
	s->gcm = profile == LSP_SRTP_AEAD_AES_128_GCM;
	s->tag = s->gcm ? GCM_TAG : CM_TAG;
	for (int kind = RTP; kind <= RTCP; kind++) {
		int label = kind * 3; /* 0..2 SRTP, 3..5 SRTCP: key, auth key, salt */
		if (raw) {
			memcpy(ek, key, KEY_LEN);
			memcpy(s->k[kind].salt, salt, (size_t)saltlen);
		} else if ((rc = lsp_srtp_kdf(key, salt, (size_t)saltlen, label, ek, KEY_LEN)) < 0 ||
			   (!s->gcm && (rc = lsp_srtp_kdf(key, salt, (size_t)saltlen, label + 1, ak, AUTH_KEY)) < 0) ||
			   (rc = lsp_srtp_kdf(key, salt, (size_t)saltlen, label + 2, s->k[kind].salt,
					      (size_t)saltlen)) < 0) {
			snprintf(err, errcap, "srtp: key derivation failed");
			goto fail;
		}
		if ((rc = keys_init(&s->k[kind], s->gcm, ek, ak, err, errcap)) < 0)
			goto fail;
	}
	OPENSSL_cleanse(ek, sizeof ek);
	OPENSSL_cleanse(ak, sizeof ak);
	*out = s;
	return 0;
fail:
	OPENSSL_cleanse(ek, sizeof ek);
	OPENSSL_cleanse(ak, sizeof ak);
	lsp_srtp_free(s);
	return rc;
}

int lsp_srtp_from_dtls(lsp_srtp **tx, lsp_srtp **rx, int profile, const uint8_t *km, size_t kmlen,
		       int as_server, char *err, size_t errcap)
{
	int kl = lsp_srtp_key_len(profile), sl = lsp_srtp_salt_len(profile), rc;
	const uint8_t *ck = km, *sk, *cs, *ss;
	*tx = *rx = NULL;
	if (kl < 0 || sl < 0 || (profile & LSP_SRTP_SESSION_KEYS)) {
		snprintf(err, errcap, "srtp: unsupported profile 0x%04x", (unsigned)profile);
		return -EINVAL;
	}
	if (kmlen != 2 * (size_t)(kl + sl)) {
		snprintf(err, errcap, "srtp: keying material is %zu bytes, want %d", kmlen, 2 * (kl + sl));
		return -EINVAL;
	}
	sk = km + kl;
	cs = km + 2 * kl;
	ss = cs + sl;
	if ((rc = lsp_srtp_new(tx, profile, as_server ? sk : ck, as_server ? ss : cs, err, errcap)) < 0)
		return rc;
	if ((rc = lsp_srtp_new(rx, profile, as_server ? ck : sk, as_server ? cs : ss, err, errcap)) < 0) {
		lsp_srtp_free(*tx);
		*tx = NULL;
	}
	return rc;
}

/* ---- per-SSRC state ---- */

static struct stream *find(lsp_srtp *s, uint32_t ssrc)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->st[i].ssrc == ssrc)
			return &s->st[i];
	return NULL;
}

/* Before the work on a packet of an SSRC not in the table: room for it
 * (grown here, so that committing the packet afterwards cannot fail). */
static int reserve(lsp_srtp *s)
{
	struct stream *st;
	size_t cap = s->cap ? s->cap * 2 : FIRST_SSRCS;
	if (s->n < s->cap || s->cap >= LSP_SRTP_MAX_SSRC)
		return 0;
	if (cap > LSP_SRTP_MAX_SSRC)
		cap = LSP_SRTP_MAX_SSRC;
	if (!(st = realloc(s->st, cap * sizeof *st)))
		return -ENOMEM;
	memset(st + s->cap, 0, (cap - s->cap) * sizeof *st);
	s->st = st;
	s->cap = cap;
	return 0;
}

/* A zeroed entry for ssrc: a free one, else the one unused longest. */
static struct stream *add(lsp_srtp *s, uint32_t ssrc)
{
	struct stream *e = &s->st[0];
	if (s->n < s->cap)
		e = &s->st[s->n++];
	else
		for (size_t i = 1; i < s->n; i++)
			if (s->st[i].used < e->used)
				e = &s->st[i];
	memset(e, 0, sizeof *e);
	e->ssrc = ssrc;
	return e;
}

static struct stream *get(lsp_srtp *s, struct stream *e, uint32_t ssrc)
{
	if (!e)
		e = add(s, ssrc);
	e->used = ++s->clock;
	return e;
}

/* RFC 3711 3.3.1: the index of seq given the highest index so far (a
 * guessed ROC of -1 is taken as 0, as a stream starts at ROC 0). */
static uint64_t guess(uint64_t hi, uint16_t seq)
{
	uint64_t roc = hi >> 16;
	unsigned sl = (uint16_t)hi;
	if (sl < 32768) {
		if (seq > sl + 32768 && roc > 0)
			roc--;
	} else if (seq < sl - 32768) {
		roc++;
	}
	return roc << 16 | seq;
}

/* Replay window: bit i % bits of w stands for index i, for the indices
 * (hi - bits, hi].  1 if idx is new. */
static int win_fresh(const uint64_t *w, unsigned bits, uint64_t hi, uint64_t idx)
{
	uint64_t b = idx % bits;
	if (idx > hi)
		return 1;
	if (hi - idx >= bits)
		return 0;
	return !(w[b / 64] >> (b % 64) & 1);
}

static void win_add(uint64_t *w, unsigned bits, uint64_t *hi, uint64_t idx)
{
	uint64_t b;
	if (idx > *hi) {
		if (idx - *hi >= bits) {
			memset(w, 0, bits / 8);
		} else {
			for (uint64_t i = *hi + 1; i <= idx; i++) {
				b = i % bits;
				w[b / 64] &= ~((uint64_t)1 << (b % 64));
			}
		}
		*hi = idx;
	}
	b = idx % bits;
	w[b / 64] |= (uint64_t)1 << (b % 64);
}

/* ---- transforms ---- */

/* CM: XOR the keystream for iv over p[0, len). */
static int ctr(EVP_CIPHER_CTX *c, const uint8_t iv[16], uint8_t *p, size_t len)
{
	int n;
	if (EVP_EncryptInit_ex2(c, NULL, NULL, iv, NULL) != 1 ||
	    (len > 0 && EVP_EncryptUpdate(c, p, &n, p, (int)len) != 1))
		return ossl_fail();
	return 0;
}

/* CM: the HMAC-SHA1 of p[0, len) followed by tail[0, taillen). */
static int hmac(EVP_MAC_CTX *m, const uint8_t *p, size_t len, const uint8_t *tail, size_t taillen,
		uint8_t out[20])
{
	size_t n;
	if (EVP_MAC_init(m, NULL, 0, NULL) != 1 || EVP_MAC_update(m, p, len) != 1 ||
	    (taillen > 0 && EVP_MAC_update(m, tail, taillen) != 1) || EVP_MAC_final(m, out, &n, 20) != 1)
		return ossl_fail();
	return 0;
}

/* GCM seal: encrypt p[0, len) in place, tag to tag[16]. */
static int seal(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *aad, size_t aadlen,
		const uint8_t *aad2, size_t aad2len, uint8_t *p, size_t len, uint8_t *tag)
{
	int n;
	if (EVP_EncryptInit_ex2(c, NULL, NULL, iv, NULL) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) != 1) ||
	    (aad2len > 0 && EVP_EncryptUpdate(c, NULL, &n, aad2, (int)aad2len) != 1) ||
	    (len > 0 && EVP_EncryptUpdate(c, p, &n, p, (int)len) != 1) || EVP_EncryptFinal_ex(c, p + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) != 1)
		return ossl_fail();
	return 0;
}

/* GCM open: check tag and decrypt p[0, len) in place; on a bad tag the
 * ciphertext is put back (GCM encryption with the same IV) and -EBADMSG. */
static int open_gcm(struct keys *k, const uint8_t iv[12], const uint8_t *aad, size_t aadlen,
		    const uint8_t *aad2, size_t aad2len, uint8_t *p, size_t len, uint8_t *tag)
{
	uint8_t junk[GCM_TAG];
	int n;
	if (EVP_DecryptInit_ex2(k->dec, NULL, NULL, iv, NULL) != 1 ||
	    EVP_DecryptUpdate(k->dec, NULL, &n, aad, (int)aadlen) != 1 ||
	    (aad2len > 0 && EVP_DecryptUpdate(k->dec, NULL, &n, aad2, (int)aad2len) != 1) ||
	    (len > 0 && EVP_DecryptUpdate(k->dec, p, &n, p, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) != 1)
		return ossl_fail();
	if (EVP_DecryptFinal_ex(k->dec, p + len, &n) == 1)
		return 0;
	ERR_clear_error();
	if (len > 0 && seal(k->enc, iv, NULL, 0, NULL, 0, p, len, junk) < 0)
		return -EIO;
	return -EBADMSG;
}

/* Length of the RTP header (fixed part, CSRCs, extension), or -EINVAL. */
static int rtp_hdr(const uint8_t *p, size_t len, size_t *hdr)
{
	size_t h;
	if (len < 12 || (p[0] & 0xc0) != 0x80)
		return -EINVAL;
	h = 12 + 4 * (size_t)(p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (h + 4 > len)
			return -EINVAL;
		h += 4 + 4 * (size_t)rd16(p + h + 2);
	}
	if (h > len)
		return -EINVAL;
	*hdr = h;
	return 0;
}

/* ---- SRTP ---- */

int lsp_srtp_protect(lsp_srtp *s, uint8_t *p, size_t len, size_t cap)
{
	uint8_t iv[16], roc[4], mac[20];
	struct keys *k = &s->k[RTP];
	struct stream *e;
	uint32_t ssrc;
	uint64_t idx;
	size_t h;
	int rc;
	if ((rc = rtp_hdr(p, len, &h)) < 0)
		return rc;
	if (len + s->tag > cap)
		return -ENOSPC;
	if (len + s->tag > MAX_PKT)
		return -EMSGSIZE;
	ssrc = rd32(p + 8);
	if (!(e = find(s, ssrc)) && (rc = reserve(s)) < 0)
		return rc;
	idx = e && e->rtp ? guess(e->rtp_hi, rd16(p + 2)) : rd16(p + 2);
	if (idx >> 48)
		return -EOVERFLOW;
	if (s->gcm) {
		make_iv(iv, k->salt, GCM_SALT, 2, ssrc, idx);
		rc = seal(k->enc, iv, p, h, NULL, 0, p + h, len - h, p + len);
	} else {
		make_iv(iv, k->salt, CM_SALT, 4, ssrc, idx);
		wr32(roc, (uint32_t)(idx >> 16));
		if ((rc = ctr(k->enc, iv, p + h, len - h)) == 0 && (rc = hmac(k->mac, p, len, roc, 4, mac)) == 0)
			memcpy(p + len, mac, CM_TAG);
	}
	if (rc < 0)
		return rc;
	e = get(s, e, ssrc);
	if (!e->rtp || idx > e->rtp_hi)
		e->rtp_hi = idx;
	e->rtp = 1;
	return (int)(len + s->tag);
}

int lsp_srtp_unprotect(lsp_srtp *s, uint8_t *p, size_t len)
{
	uint8_t iv[16], roc[4], mac[20];
	struct keys *k = &s->k[RTP];
	struct stream *e;
	uint32_t ssrc;
	uint64_t idx;
	size_t h, n;
	int rc;
	if (len > MAX_PKT)
		return -EMSGSIZE;
	if ((rc = rtp_hdr(p, len, &h)) < 0)
		return rc;
	if (len < h + s->tag)
		return -EINVAL;
	n = len - s->tag;
	ssrc = rd32(p + 8);
	if (!(e = find(s, ssrc)) && (rc = reserve(s)) < 0)
		return rc;
	idx = e && e->rtp ? guess(e->rtp_hi, rd16(p + 2)) : rd16(p + 2);
	if (e && e->rtp && !win_fresh(e->rtp_win, LSP_SRTP_WINDOW, e->rtp_hi, idx))
		return -EALREADY;
	if (idx >> 48)
		return -EALREADY;
	if (s->gcm) {
		make_iv(iv, k->salt, GCM_SALT, 2, ssrc, idx);
		rc = open_gcm(k, iv, p, h, NULL, 0, p + h, n - h, p + n);
	} else {
		make_iv(iv, k->salt, CM_SALT, 4, ssrc, idx);
		wr32(roc, (uint32_t)(idx >> 16));
		if ((rc = hmac(k->mac, p, n, roc, 4, mac)) == 0)
			rc = CRYPTO_memcmp(mac, p + n, CM_TAG) != 0 ? -EBADMSG : ctr(k->enc, iv, p + h, n - h);
	}
	if (rc < 0)
		return rc;
	e = get(s, e, ssrc);
	if (!e->rtp) {
		e->rtp = 1;
		e->rtp_hi = idx;
	}
	win_add(e->rtp_win, LSP_SRTP_WINDOW, &e->rtp_hi, idx);
	return (int)n;
}

/* ---- SRTCP ---- */

int lsp_srtcp_protect(lsp_srtp *s, uint8_t *p, size_t len, size_t cap)
{
	uint8_t iv[16], ei[4], mac[20];
	struct keys *k = &s->k[RTCP];
	size_t trailer = 4 + s->tag;
	struct stream *e;
	uint32_t ssrc;
	uint64_t idx;
	int rc;
	if (len < 8 || (p[0] & 0xc0) != 0x80)
		return -EINVAL;
	if (len + trailer > cap)
		return -ENOSPC;
	if (len + trailer > MAX_PKT)
		return -EMSGSIZE;
	ssrc = rd32(p + 4);
	if (!(e = find(s, ssrc)) && (rc = reserve(s)) < 0)
		return rc;
	idx = e && e->rtcp ? e->rtcp_hi + 1 : 0;
	if (idx > 0x7fffffff)
		return -EOVERFLOW;
	wr32(ei, 0x80000000u | (uint32_t)idx);
	if (s->gcm) {
		make_iv(iv, k->salt, GCM_SALT, 2, ssrc, idx);
		if ((rc = seal(k->enc, iv, p, 8, ei, 4, p + 8, len - 8, p + len)) == 0)
			memcpy(p + len + GCM_TAG, ei, 4);
	} else {
		make_iv(iv, k->salt, CM_SALT, 4, ssrc, idx);
		memcpy(p + len, ei, 4);
		if ((rc = ctr(k->enc, iv, p + 8, len - 8)) == 0 && (rc = hmac(k->mac, p, len + 4, NULL, 0, mac)) == 0)
			memcpy(p + len + 4, mac, CM_TAG);
	}
	if (rc < 0)
		return rc;
	e = get(s, e, ssrc);
	e->rtcp = 1;
	e->rtcp_hi = idx;
	return (int)(len + trailer);
}

int lsp_srtcp_unprotect(lsp_srtp *s, uint8_t *p, size_t len)
{
	uint8_t iv[16], mac[20], *ei;
	struct keys *k = &s->k[RTCP];
	size_t trailer = 4 + s->tag, n;
	struct stream *e;
	uint32_t ssrc, word;
	uint64_t idx;
	int rc, enc;
	if (len > MAX_PKT)
		return -EMSGSIZE;
	if (len < 8 + trailer || (p[0] & 0xc0) != 0x80)
		return -EINVAL;
	n = len - trailer;
	ei = s->gcm ? p + len - 4 : p + n; /* GCM: tag then E|index; CM: E|index then tag */
	word = rd32(ei);
	enc = (word >> 31) != 0;
	idx = word & 0x7fffffff;
	ssrc = rd32(p + 4);
	if (!(e = find(s, ssrc)) && (rc = reserve(s)) < 0)
		return rc;
	if (e && e->rtcp && !win_fresh(e->rtcp_win, LSP_SRTCP_WINDOW, e->rtcp_hi, idx))
		return -EALREADY;
	if (s->gcm) {
		make_iv(iv, k->salt, GCM_SALT, 2, ssrc, idx);
		if (enc)
			rc = open_gcm(k, iv, p, 8, ei, 4, p + 8, n - 8, p + n);
		else
			rc = open_gcm(k, iv, p, n, ei, 4, p + n, 0, p + n);
	} else {
		make_iv(iv, k->salt, CM_SALT, 4, ssrc, idx);
		if ((rc = hmac(k->mac, p, n + 4, NULL, 0, mac)) == 0)
			rc = CRYPTO_memcmp(mac, p + n + 4, CM_TAG) != 0 ? -EBADMSG
				: enc ? ctr(k->enc, iv, p + 8, n - 8) : 0;
	}
	if (rc < 0)
		return rc;
	e = get(s, e, ssrc);
	if (!e->rtcp) {
		e->rtcp = 1;
		e->rtcp_hi = idx;
	}
	win_add(e->rtcp_win, LSP_SRTCP_WINDOW, &e->rtcp_hi, idx);
	return (int)n;
}
