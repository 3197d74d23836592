/* dtls.c — DTLS-SRTP with OpenSSL; see dtls.h.
 * A session owns its SSL (with two memory BIOs) and, once keyed, two
 * lsp_srtp contexts (outbound, inbound; lib/rtc/srtp.c).  The certificate is shared, refcounted by
 * OpenSSL through the SSL_CTX it lives in. */
#include "rtc/dtls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "rtc/srtp.h"

#define MTU 1200
/* Offered in this order: AEAD_AES_128_GCM first (cheaper per byte, and
 * Chromium, Firefox and Safari take it), AES_CM_128_HMAC_SHA1_80 for the
 * rest. */
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

struct lsp_dtls_cert {
	SSL_CTX *srv, *cli;
	char fp[128];
};

struct lsp_dtls {
	SSL *ssl;
	BIO *rb, *wb;
	int server, ready, failed;
	char peer_fp[128];
	lsp_dtls_send_fn send;
	void *ctx;
	lsp_srtp *tx, *rx;
	int profile;
};

static int ssl_err(char *err, size_t errcap, const char *what)
{
	char b[160];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, b, sizeof b);
	snprintf(err, errcap, "%s: %s", what, e ? b : "failed");
	ERR_clear_error();
	return -EIO;
}

static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1; /* self-signed by design; the SDP fingerprint is checked after */
}

static void fingerprint(X509 *x, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o = 0;
	out[0] = 0;
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return;
	for (unsigned i = 0; i < n && o + 4 <= cap; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
}

static SSL_CTX *mkctx(int server, EVP_PKEY *key, X509 *crt)
{
	SSL_CTX *c = SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method());
	if (!c)
		return NULL;
	if (SSL_CTX_use_certificate(c, crt) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(c, SRTP_PROFILES) != 0) {
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_QUERY_MTU);
	return c;
}

int lsp_dtls_cert_new(lsp_dtls_cert **out, char *err, size_t errcap)
{
	lsp_dtls_cert *c = calloc(1, sizeof *c);
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	unsigned char serial[8];
	int rc = -EIO;
	if (!c) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (!(key = EVP_EC_gen("P-256"))) {
		rc = ssl_err(err, errcap, "EC key");
		goto fail;
	}
	if (!(x = X509_new())) {
		rc = ssl_err(err, errcap, "X509_new");
		goto fail;
	}
	X509_set_version(x, 2);
	if (RAND_bytes(serial, sizeof serial) != 1) {
		rc = ssl_err(err, errcap, "RAND_bytes");
		goto fail;
	}
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)((serial[0] & 0x7f) << 24 | serial[1] << 16 | serial[2] << 8 | serial[3]));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"lsp-rtc", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_set_pubkey(x, key) != 1 || !X509_sign(x, key, EVP_sha256())) {
		rc = ssl_err(err, errcap, "certificate");
		goto fail;
	}
	fingerprint(x, c->fp, sizeof c->fp);
	if (!(c->srv = mkctx(1, key, x)) || !(c->cli = mkctx(0, key, x))) {
		rc = ssl_err(err, errcap, "SSL_CTX");
		goto fail;
	}
	EVP_PKEY_free(key);
	X509_free(x);
	*out = c;
	return 0;
fail:
	EVP_PKEY_free(key);
	X509_free(x);
	lsp_dtls_cert_free(c);
	return rc;
}

const char *lsp_dtls_cert_fingerprint(const lsp_dtls_cert *c)
{
	return c->fp;
}

void lsp_dtls_cert_free(lsp_dtls_cert *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->srv);
	SSL_CTX_free(c->cli);
	free(c);
}

int lsp_dtls_is(const uint8_t *p, size_t len)
{
	return len >= 13 && p[0] >= 20 && p[0] <= 63;
}

/* Move what OpenSSL wrote to the peer, records packed into datagrams <= MTU. */
static void flush(lsp_dtls *d)
{
	uint8_t buf[16384], dg[MTU + 64];
	int n;
	while ((n = BIO_read(d->wb, buf, sizeof buf)) > 0) {
		size_t off = 0, dl = 0;
		while (off + 13 <= (size_t)n) {
			size_t rl = 13 + (size_t)(buf[off + 11] << 8 | buf[off + 12]);
			if (off + rl > (size_t)n)
				rl = (size_t)n - off;
			if (dl && dl + rl > MTU) {
				d->send(d->ctx, dg, dl);
				dl = 0;
			}
			if (rl > sizeof dg) { /* one record larger than a datagram: send alone */
				d->send(d->ctx, buf + off, rl);
			} else {
				memcpy(dg + dl, buf + off, rl);
				dl += rl;
			}
			off += rl;
		}
		if (dl)
			d->send(d->ctx, dg, dl);
	}
}

int lsp_dtls_new(lsp_dtls **out, lsp_dtls_cert *c, int server, const char *peer_fp,
		 lsp_dtls_send_fn send, void *ctx, char *err, size_t errcap)
{
	lsp_dtls *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	d->server = server;
	d->send = send;
	d->ctx = ctx;
	snprintf(d->peer_fp, sizeof d->peer_fp, "%s", peer_fp ? peer_fp : "");
	if (!(d->ssl = SSL_new(server ? c->srv : c->cli)) || !(d->rb = BIO_new(BIO_s_mem())) ||
	    !(d->wb = BIO_new(BIO_s_mem()))) {
		BIO_free(d->rb);
		BIO_free(d->wb);
		d->rb = d->wb = NULL;
		lsp_dtls_free(d);
		return ssl_err(err, errcap, "SSL_new");
	}
	BIO_set_mem_eof_return(d->rb, -1);
	SSL_set_bio(d->ssl, d->rb, d->wb);
	SSL_set_mtu(d->ssl, MTU);
	DTLS_set_link_mtu(d->ssl, MTU);
	if (server)
		SSL_set_accept_state(d->ssl);
	else
		SSL_set_connect_state(d->ssl);
	*out = d;
	return 0;
}

static int keys(lsp_dtls *d, char *err, size_t errcap)
{
	uint8_t km[2 * (16 + 14)];
	X509 *peer;
	char fp[128];
	int rc, id, kmlen;
	SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
	id = prof ? (int)prof->id : 0;
	if (id != LSP_SRTP_AEAD_AES_128_GCM && id != LSP_SRTP_AES128_CM_SHA1_80) {
		snprintf(err, errcap, "peer negotiated no SRTP profile we offer (%s)", SRTP_PROFILES);
		return -EPROTO;
	}
	if (!(peer = SSL_get1_peer_certificate(d->ssl))) {
		snprintf(err, errcap, "peer sent no certificate");
		return -EPROTO;
	}
	fingerprint(peer, fp, sizeof fp);
	X509_free(peer);
	if (d->peer_fp[0] && strcmp(fp, d->peer_fp) != 0) {
		snprintf(err, errcap, "peer certificate does not match the SDP fingerprint");
		return -EPROTO;
	}
	kmlen = 2 * (lsp_srtp_key_len(id) + lsp_srtp_salt_len(id));
	if (kmlen <= 0 || (size_t)kmlen > sizeof km)
		return ssl_err(err, errcap, "SRTP key length");
	if (SSL_export_keying_material(d->ssl, km, (size_t)kmlen, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
		return ssl_err(err, errcap, "key export");
	rc = lsp_srtp_from_dtls(&d->tx, &d->rx, id, km, (size_t)kmlen, d->server, err, errcap);
	OPENSSL_cleanse(km, sizeof km);
	if (rc < 0)
		return rc;
	d->profile = id;
	d->ready = 1;
	return 0;
}

int lsp_dtls_start(lsp_dtls *d, char *err, size_t errcap)
{
	int r = SSL_do_handshake(d->ssl);
	if (r <= 0 && SSL_get_error(d->ssl, r) != SSL_ERROR_WANT_READ) {
		flush(d);
		return ssl_err(err, errcap, "DTLS connect");
	}
	flush(d);
	return 0;
}

int lsp_dtls_feed(lsp_dtls *d, const uint8_t *p, size_t len, char *err, size_t errcap)
{
	int r, rc;
	if (d->failed)
		return -EPROTO;
	if (BIO_write(d->rb, p, (int)len) != (int)len)
		return ssl_err(err, errcap, "BIO_write");
	if (d->ready) { /* alerts, retransmitted finished flights */
		uint8_t junk[2048];
		r = SSL_read(d->ssl, junk, sizeof junk);
		flush(d);
		if (r <= 0 && SSL_get_error(d->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return -ECONNRESET;
		ERR_clear_error();
		return 0;
	}
	r = SSL_do_handshake(d->ssl);
	flush(d);
	if (r == 1) {
		if ((rc = keys(d, err, errcap)) < 0) {
			d->failed = 1;
			return rc;
		}
		return 1;
	}
	if (SSL_get_error(d->ssl, r) == SSL_ERROR_WANT_READ) {
		ERR_clear_error();
		return 0;
	}
	d->failed = 1;
	return ssl_err(err, errcap, "DTLS handshake");
}

void lsp_dtls_tick(lsp_dtls *d)
{
	if (!d->ready && !d->failed && DTLSv1_handle_timeout(d->ssl) > 0)
		flush(d);
}

int lsp_dtls_ready(const lsp_dtls *d)
{
	return d->ready;
}

int lsp_dtls_protect(lsp_dtls *d, uint8_t *p, size_t len, size_t cap)
{
	if (!d || !d->ready)
		return -EINVAL;
	return lsp_srtp_protect(d->tx, p, len, cap);
}

int lsp_dtls_protect_rtcp(lsp_dtls *d, uint8_t *p, size_t len, size_t cap)
{
	if (!d || !d->ready)
		return -EINVAL;
	return lsp_srtcp_protect(d->tx, p, len, cap);
}

int lsp_dtls_unprotect(lsp_dtls *d, uint8_t *p, size_t len)
{
	if (!d || !d->ready)
		return -EINVAL;
	return lsp_srtp_unprotect(d->rx, p, len);
}

int lsp_dtls_unprotect_rtcp(lsp_dtls *d, uint8_t *p, size_t len)
{
	if (!d || !d->ready)
		return -EINVAL;
	return lsp_srtcp_unprotect(d->rx, p, len);
}

int lsp_dtls_profile(const lsp_dtls *d)
{
	return d && d->ready ? d->profile : 0;
}

void lsp_dtls_free(lsp_dtls *d)
{
	if (!d)
		return;
	lsp_srtp_free(d->tx);
	lsp_srtp_free(d->rx);
	SSL_free(d->ssl); /* frees both BIOs */
	free(d);
}
