/* dtls.h — DTLS-SRTP for WebRTC (RFC 5763/5764): OpenSSL DTLS over memory
 * BIOs (the caller moves the datagrams) with the use_srtp extension
 * (AEAD_AES_128_GCM offered first, AES_CM_128_HMAC_SHA1_80 second), key
 * export, and lib/rtc/srtp contexts for SRTP/SRTCP both ways.
 *
 *   peer ──ClientHello──▶ lsp_dtls_feed ──records──▶ out cb ──▶ peer
 *   …handshake done, peer certificate matches the SDP fingerprint…
 *   lsp_dtls_protect(RTP) ──▶ SRTP ;  SRTCP ──▶ lsp_dtls_unprotect_rtcp
 *
 * An lsp_dtls_cert (key pair + self-signed certificate + its sha-256
 * fingerprint) is made once per process and shared by every session.
 * Sessions own their SSL and lsp_srtp contexts.  Functions return 0 / a length, or a
 * negative code with a reason in err where one is taken. */
#ifndef LSP_DTLS_H
#define LSP_DTLS_H
#include <stddef.h>
#include <stdint.h>

typedef struct lsp_dtls_cert lsp_dtls_cert;
typedef struct lsp_dtls lsp_dtls;

int lsp_dtls_cert_new(lsp_dtls_cert **out, char *err, size_t errcap);
const char *lsp_dtls_cert_fingerprint(const lsp_dtls_cert *c); /* "AB:CD:…" */
void lsp_dtls_cert_free(lsp_dtls_cert *c);

/* Datagram sink for handshake records (already split at mtu). */
typedef void (*lsp_dtls_send_fn)(void *ctx, const uint8_t *p, size_t len);

/* server 1: we answer (setup:passive); 0: we connect (load clients).
 * peer_fp: the fingerprint the SDP promised ("AB:…"), checked at the end. */
int lsp_dtls_new(lsp_dtls **out, lsp_dtls_cert *c, int server, const char *peer_fp,
		 lsp_dtls_send_fn send, void *ctx, char *err, size_t errcap);
/* Client: send the first flight. */
int lsp_dtls_start(lsp_dtls *d, char *err, size_t errcap);
/* Feed one DTLS datagram.  Returns 1 when the handshake has just
 * completed (SRTP ready), 0 otherwise, negative on a fatal error. */
int lsp_dtls_feed(lsp_dtls *d, const uint8_t *p, size_t len, char *err, size_t errcap);
/* Retransmit a lost flight when its timer ran out; call every ~100 ms. */
void lsp_dtls_tick(lsp_dtls *d);
int lsp_dtls_ready(const lsp_dtls *d);
/* In place; cap must leave room for the trailer (LSP_SRTP_MAX_TRAILER,
 * 20 bytes, covers every profile).  -EINVAL before the handshake is done,
 * or with no session (d NULL); otherwise lsp_srtp_*'s codes: unprotect
 * gives -EBADMSG for a bad tag, -EALREADY for a replayed or too old
 * packet (dropped, never decrypted twice), -EINVAL for a malformed one. */
int lsp_dtls_protect(lsp_dtls *d, uint8_t *p, size_t len, size_t cap);
int lsp_dtls_protect_rtcp(lsp_dtls *d, uint8_t *p, size_t len, size_t cap);
int lsp_dtls_unprotect(lsp_dtls *d, uint8_t *p, size_t len);
int lsp_dtls_unprotect_rtcp(lsp_dtls *d, uint8_t *p, size_t len);
/* The SRTP profile negotiated (LSP_SRTP_AEAD_AES_128_GCM or
 * LSP_SRTP_AES128_CM_SHA1_80), 0 before the handshake is done. */
int lsp_dtls_profile(const lsp_dtls *d);
void lsp_dtls_free(lsp_dtls *d);

/* 1 if the first byte is a DTLS record content type (20..63). */
int lsp_dtls_is(const uint8_t *p, size_t len);

#endif
