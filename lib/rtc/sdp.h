/* sdp.h — the SDP a WHEP/WHIP offer carries and the answer lsp-rtc gives
 * (RFC 8866 / 8829 subset), without I/O.
 *
 *   offer (browser/OBS) ──lsp_sdp_parse──▶ lsp_sdp_offer ──lsp_sdp_answer──▶ answer
 *
 * The parser reads any bytes (bounded: at most LSP_SDP_MEDIA_MAX m= lines,
 * fixed-size fields, long values truncated and then rejected) and picks,
 * per m= section, an H.264 payload type with packetization-mode=1
 * (constrained baseline 42e01f preferred) or an Opus/48000/2 one.
 * The answer is ICE-lite, DTLS passive (we are the DTLS server), BUNDLE of
 * every accepted section, rtcp-mux, a host candidate per local address
 * (UDP, and passive ICE-TCP when a TCP port is given).  Functions return
 * 0 / a length on success, -1 on a bad offer or too small a buffer. */
#ifndef LSP_SDP_H
#define LSP_SDP_H
#include <stddef.h>
#include <stdint.h>

#define LSP_SDP_MEDIA_MAX 4
#define LSP_SDP_CAND_MAX 8   /* candidate addresses used at most */

typedef struct {
	char kind[8];      /* "video", "audio", other → rejected */
	char mid[32];
	char proto[32];
	char fmts[64];     /* the offer's format list, echoed on rejection */
	int pt;            /* chosen payload type, -1 if none usable */
	int nack, pli;     /* the offer's rtcp-fb for that payload type */
	int twcc_ext;      /* (unused) */
} lsp_sdp_media;

typedef struct {
	char ufrag[64], pwd[128];
	char fingerprint[128];  /* "AB:CD:…" of sha-256, upper case */
	int nmedia;
	lsp_sdp_media m[LSP_SDP_MEDIA_MAX];
} lsp_sdp_offer;

typedef struct {
	const char *ufrag, *pwd;    /* ours */
	const char *fingerprint;    /* ours, sha-256 "AB:…" */
	const char *ip;             /* candidate addresses, comma-separated ("192.0.2.7,10.0.0.2"):
				     * one host candidate each, the first also in c= */
	int port;                   /* their UDP port */
	int send;                   /* 1 WHEP (sendonly), 0 WHIP (recvonly) */
	uint32_t ssrc_video, ssrc_audio;
	const char *cname;
	int tcp_port;               /* > 0: passive ICE-TCP candidates on this port too */
} lsp_sdp_local;

int lsp_sdp_parse(const char *sdp, size_t len, lsp_sdp_offer *o);
/* Index of the first usable section of kind, or -1. */
int lsp_sdp_find(const lsp_sdp_offer *o, const char *kind);
int lsp_sdp_answer(const lsp_sdp_offer *of, const lsp_sdp_local *l, char *buf, size_t cap);

#endif
