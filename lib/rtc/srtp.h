/* srtp.h — SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL EVP, for the
 * keys a DTLS-SRTP handshake exports (RFC 5764).
 *
 *   DTLS key export ──▶ lsp_srtp_from_dtls ──▶ tx: lsp_srtp_protect / lsp_srtcp_protect
 *                                          └──▶ rx: lsp_srtp_unprotect / lsp_srtcp_unprotect
 *
 * Two profiles: SRTP_AES128_CM_HMAC_SHA1_80 (AES-128 counter mode, 80-bit
 * HMAC-SHA1 tag) and SRTP_AEAD_AES_128_GCM (16-byte GCM tag); session keys
 * come from the master key and salt through the RFC 3711 AES-CM key
 * derivation (key derivation rate 0, no MKI).  The RTP header, CSRCs and
 * header extension are authenticated, never encrypted; the first 8 bytes
 * of an RTCP packet likewise.
 *
 * An lsp_srtp is one direction of one DTLS association.  It owns its
 * session keys and OpenSSL contexts, made once and reused for every packet
 * (our code allocates nothing per packet; with the CM profile OpenSSL
 * 3.0's HMAC reset itself allocates and frees two small blocks a packet),
 * and the state of each SSRC it has seen, in a table that grows with new
 * SSRCs (4, 8, … entries of ~180 bytes; -ENOMEM if it cannot) up to
 * LSP_SRTP_MAX_SSRC.  When the table is full, a new SSRC takes the place
 * of the one unused longest; an evicted SSRC that comes back starts over
 * as new (sender: rollover counter 0; receiver: a fresh replay window).
 * A receiver only creates or advances an SSRC's state after the packet's
 * tag verified, so forged packets can evict nothing.
 *
 * Sending: per SSRC the rollover counter (ROC) follows the highest
 * sequence number sent (RFC 3711 3.3.1 estimation, so a retransmission of
 * an older sequence number is protected with the index it had the first
 * time, and gives the same bytes); SRTCP packets get an index 0, 1, …
 * (31 bits; -EOVERFLOW at the end, the keys must then be renegotiated).
 * Receiving: the packet index is estimated from the highest authenticated
 * one (RFC 3711 3.3.1); a window of LSP_SRTP_WINDOW packets (SRTCP:
 * LSP_SRTCP_WINDOW) behind it rejects a replayed or too old packet with
 * -EALREADY before anything is decrypted.  SRTCP packets sent with the
 * E flag clear (authenticated only) are accepted; ours always encrypt.
 *
 * Packets are transformed in place.  protect needs cap >= len + the
 * trailer (at most LSP_SRTP_MAX_TRAILER bytes) and returns the new length;
 * unprotect returns the length of the plain packet.  Errors: -EINVAL
 * malformed (not version 2, header or trailer past the end), -ENOSPC cap
 * too small, -EMSGSIZE over 65535 bytes, -EBADMSG tag mismatch,
 * -EALREADY replayed or too old, -EOVERFLOW index space used up, -ENOMEM,
 * -EIO an OpenSSL failure (the thread's OpenSSL error queue is cleared).
 * A call that fails leaves the context as it was, and the packet's bytes
 * too (but for protect on -EIO).  Not thread-safe: one lsp_srtp is used
 * by one thread at a time.  No global state; never prints. */
#ifndef LSP_SRTP_H
#define LSP_SRTP_H
#include <stddef.h>
#include <stdint.h>

/* DTLS-SRTP protection profile ids (RFC 5764 4.1.2, RFC 7714 14.2). */
enum { LSP_SRTP_AES128_CM_SHA1_80 = 0x0001, LSP_SRTP_AEAD_AES_128_GCM = 0x0007 };
/* Or'ed into the profile of lsp_srtp_new: key and salt are the session key
 * and salt themselves, used for SRTP and SRTCP alike, no derivation (GCM
 * only; the form of the RFC 7714 test vectors). */
#define LSP_SRTP_SESSION_KEYS 0x10000

#define LSP_SRTP_MAX_TRAILER 20 /* SRTCP with GCM: 16-byte tag + E|index */
#define LSP_SRTP_MAX_SSRC 64
#define LSP_SRTP_WINDOW 1024 /* SRTP replay window, packets */
#define LSP_SRTCP_WINDOW 128

typedef struct lsp_srtp lsp_srtp;

/* Master key bytes (16) and master salt bytes (14 CM, 12 GCM) of a
 * profile; -EINVAL for a profile not listed above. */
int lsp_srtp_key_len(int profile);
int lsp_srtp_salt_len(int profile);

/* One direction from a master key and salt of the profile's lengths.
 * 0, or -EINVAL (unknown profile), -ENOMEM, -EIO, with err filled. */
int lsp_srtp_new(lsp_srtp **out, int profile, const uint8_t *key, const uint8_t *salt, char *err,
		 size_t errcap);

/* Both directions from the DTLS exported keying material
 * client_key | server_key | client_salt | server_salt (RFC 5764 4.2),
 * kmlen = 2 * (key + salt).  as_server 1: we are the DTLS server, so we
 * send with the server's key and receive with the client's.  On failure
 * both are NULL; -EINVAL also for a wrong kmlen. */
int lsp_srtp_from_dtls(lsp_srtp **tx, lsp_srtp **rx, int profile, const uint8_t *km, size_t kmlen,
		       int as_server, char *err, size_t errcap);

/* In place; see the contract above. */
int lsp_srtp_protect(lsp_srtp *s, uint8_t *pkt, size_t len, size_t cap);
int lsp_srtp_unprotect(lsp_srtp *s, uint8_t *pkt, size_t len);
int lsp_srtcp_protect(lsp_srtp *s, uint8_t *pkt, size_t len, size_t cap);
int lsp_srtcp_unprotect(lsp_srtp *s, uint8_t *pkt, size_t len);

void lsp_srtp_free(lsp_srtp *s);

/* The RFC 3711 4.3 AES-CM key derivation with key derivation rate 0:
 * len bytes of the keystream of master key `key` (16 bytes) for `label`
 * (0..5) and a master salt of saltlen (12 or 14) bytes.  Exported for the
 * known-answer tests.  0, -EINVAL, -ENOMEM or -EIO. */
int lsp_srtp_kdf(const uint8_t *key, const uint8_t *salt, size_t saltlen, int label, uint8_t *out,
		 size_t len);

#endif
