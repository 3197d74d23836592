/* stun.h — the STUN subset ICE-lite needs (RFC 5389/8445), without I/O.
 *
 *   browser ──Binding request (USERNAME "ours:theirs", PRIORITY,
 *             ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY,
 *             FINGERPRINT)──▶ lsp-rtc
 *   browser ◀──Binding success (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY,
 *             FINGERPRINT)── lsp-rtc
 *
 * lsp_stun_parse checks the framing of any bytes (bounded: attributes are
 * walked within the message length, nothing allocated) and reports the
 * attributes ICE cares about; lsp_stun_check verifies MESSAGE-INTEGRITY
 * (HMAC-SHA1 keyed with our ice-pwd) and FINGERPRINT; lsp_stun_answer
 * writes the success response.  All return >= 0 on success, -1 on bad
 * input. */
#ifndef LSP_STUN_H
#define LSP_STUN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LSP_STUN_BINDING_REQ 0x0001
#define LSP_STUN_BINDING_OK 0x0101

typedef struct {
	uint16_t type;
	uint16_t len;            /* body length */
	uint8_t tid[12];
	const uint8_t *username; /* not NUL-terminated */
	size_t username_len;
	int use_candidate, has_integrity, has_fingerprint;
	size_t integrity_off;    /* offset of the MESSAGE-INTEGRITY attribute */
	size_t fingerprint_off;
} lsp_stun_msg;

/* 1 if the first bytes look like STUN (type's top two bits 0, magic cookie). */
int lsp_stun_is(const uint8_t *p, size_t len);
/* Parse framing and attributes. 0 or -1. */
int lsp_stun_parse(const uint8_t *p, size_t len, lsp_stun_msg *m);
/* Verify MESSAGE-INTEGRITY with key (short-term: the ice-pwd) and the
 * FINGERPRINT when present.  0 when valid, -1 otherwise. */
int lsp_stun_check(const uint8_t *p, size_t len, const lsp_stun_msg *m, const char *key);
/* Binding success for request m to address from, integrity keyed by key.
 * Returns its length, or -1 if cap is too small. */
int lsp_stun_answer(const lsp_stun_msg *m, const struct sockaddr *from, const char *key, uint8_t *out,
		    size_t cap);
/* A Binding request (for load clients): username "theirs:ours", key the
 * peer's pwd, use_candidate flag, tid random.  Returns its length or -1. */
int lsp_stun_request(const char *username, const char *key, int use_candidate, const uint8_t tid[12],
		     uint8_t *out, size_t cap);

#endif
