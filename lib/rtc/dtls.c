/* dtls.c — DTLS-SRTP with OpenSSL and libsrtp2; see dtls.h.
 * A session owns its SSL (with two memory BIOs) and, once keyed, two
 * srtp_t (outbound, inbound).  The certificate is shared, refcounted by
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
#include <srtp2/srtp.h>

#define MTU 1200
#define KEY_LEN 16
#define SALT_LEN 14

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
	srtp_t tx, rx;
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
	    SSL_CTX_set_tlsext_use_srtp(c, "SRTP_AES128_CM_SHA1_80") != 0) {
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
	/* libsrtp2 keeps a process-wide crypto kernel: a second srtp_init
	 * (another cert) reports an error although the kernel is ready; a
	 * real failure shows as srtp_create failing on the first session */
	(void)srtp_init();
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
	uint8_t km[2 * (KEY_LEN + SALT_LEN)], local[KEY_LEN + SALT_LEN], remote[KEY_LEN + SALT_LEN];
	const uint8_t *ck = km, *sk = km + KEY_LEN, *cs = km + 2 * KEY_LEN, *ss = km + 2 * KEY_LEN + SALT_LEN;
	srtp_policy_t p;
	X509 *peer;
	char fp[128];
	SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
	if (!prof || prof->id != SRTP_AES128_CM_SHA1_80) {
		snprintf(err, errcap, "peer did not negotiate SRTP_AES128_CM_SHA1_80");
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
	if (SSL_export_keying_material(d->ssl, km, sizeof km, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
		return ssl_err(err, errcap, "key export");
	memcpy(local, d->server ? sk : ck, KEY_LEN);
	memcpy(local + KEY_LEN, d->server ? ss : cs, SALT_LEN);
	memcpy(remote, d->server ? ck : sk, KEY_LEN);
	memcpy(remote + KEY_LEN, d->server ? cs : ss, SALT_LEN);
	memset(&p, 0, sizeof p);
	srtp_crypto_policy_set_rtp_default(&p.rtp);
	srtp_crypto_policy_set_rtcp_default(&p.rtcp);
	p.ssrc.type = ssrc_any_outbound;
	p.key = local;
	p.window_size = 1024;
	p.allow_repeat_tx = 1; /* NACK retransmissions reuse the sequence number */
	if (srtp_create(&d->tx, &p) != srtp_err_status_ok) {
		snprintf(err, errcap, "srtp_create outbound failed");
		return -EIO;
	}
	p.ssrc.type = ssrc_any_inbound;
	p.key = remote;
	if (srtp_create(&d->rx, &p) != srtp_err_status_ok) {
		snprintf(err, errcap, "srtp_create inbound failed");
		return -EIO;
	}
	memset(km, 0, sizeof km);
	memset(local, 0, sizeof local);
	memset(remote, 0, sizeof remote);
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
	int n = (int)len;
	if (!d || !d->ready || cap < len + SRTP_MAX_TRAILER_LEN)
		return -EINVAL;
	return srtp_protect(d->tx, p, &n) == srtp_err_status_ok ? n : -EIO;
}

int lsp_dtls_protect_rtcp(lsp_dtls *d, uint8_t *p, size_t len, size_t cap)
{
	int n = (int)len;
	if (!d || !d->ready || cap < len + SRTP_MAX_TRAILER_LEN + 4)
		return -EINVAL;
	return srtp_protect_rtcp(d->tx, p, &n) == srtp_err_status_ok ? n : -EIO;
}

int lsp_dtls_unprotect(lsp_dtls *d, uint8_t *p, size_t len)
{
	int n = (int)len;
	if (!d || !d->ready)
		return -EINVAL;
	return srtp_unprotect(d->rx, p, &n) == srtp_err_status_ok ? n : -EBADMSG;
}

int lsp_dtls_unprotect_rtcp(lsp_dtls *d, uint8_t *p, size_t len)
{
	int n = (int)len;
	if (!d || !d->ready)
		return -EINVAL;
	return srtp_unprotect_rtcp(d->rx, p, &n) == srtp_err_status_ok ? n : -EBADMSG;
}

void lsp_dtls_free(lsp_dtls *d)
{
	if (!d)
		return;
	if (d->tx)
		srtp_dealloc(d->tx);
	if (d->rx)
		srtp_dealloc(d->rx);
	SSL_free(d->ssl); /* frees both BIOs */
	free(d);
}
