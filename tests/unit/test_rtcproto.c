/* test_rtcproto — lib/stun, lib/sdp, lib/rtp, lib/dtls: a Binding request built,
 * parsed, checked and answered (and a tampered one refused); a Chromium
 * WHEP offer parsed and answered; H.264 packetize → depacketize round trip
 * with FU-A; RTCP compound parsing (SR, NACK with a bitmask, PLI); a DTLS
 * handshake in memory, SRTP/SRTCP both ways, a wrong fingerprint refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/dtls.h"
#include "rtc/srtp.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"
#include "rtc/stun.h"

static void stun_roundtrip(void **state)
{
	uint8_t req[256], ans[256], tid[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
	lsp_stun_msg m, a;
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40000) };
	int n, k;
	inet_pton(AF_INET, "192.0.2.7", &from.sin_addr);
	n = lsp_stun_request("srv1:cli1", "serverpassword0123456789", 1, tid, req, sizeof req);
	assert_true(n > 20);
	assert_true(lsp_stun_is(req, (size_t)n));
	assert_int_equal(lsp_stun_parse(req, (size_t)n, &m), 0);
	assert_int_equal(m.type, LSP_STUN_BINDING_REQ);
	assert_int_equal(m.username_len, 9);
	assert_memory_equal(m.username, "srv1:cli1", 9);
	assert_int_equal(m.use_candidate, 1);
	assert_int_equal(lsp_stun_check(req, (size_t)n, &m, "serverpassword0123456789"), 0);
	assert_int_equal(lsp_stun_check(req, (size_t)n, &m, "wrong"), -1);
	req[30] ^= 1; /* tamper inside USERNAME: integrity and fingerprint fail */
	assert_int_equal(lsp_stun_check(req, (size_t)n, &m, "serverpassword0123456789"), -1);
	req[30] ^= 1;
	k = lsp_stun_answer(&m, (struct sockaddr *)&from, "serverpassword0123456789", ans, sizeof ans);
	assert_true(k > 20);
	assert_int_equal(lsp_stun_parse(ans, (size_t)k, &a), 0);
	assert_int_equal(a.type, LSP_STUN_BINDING_OK);
	assert_memory_equal(a.tid, tid, 12);
	assert_int_equal(lsp_stun_check(ans, (size_t)k, &a, "serverpassword0123456789"), 0);
	/* XOR-MAPPED-ADDRESS: port 40000 ^ 0x2112 at offset 26 */
	assert_int_equal((ans[26] << 8 | ans[27]) ^ 0x2112, 40000);
	assert_int_equal(lsp_stun_parse(req, 19, &m), -1);
	assert_int_equal(lsp_stun_answer(&m, (struct sockaddr *)&from, "x", ans, 40), -1);
}

static const char offer[] =
	"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 127\r\nc=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
	"a=fingerprint:sha-256 aa:bb:cc\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
	"a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
	"a=rtpmap:127 H264/90000\r\na=rtcp-fb:127 nack\r\n"
	"a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
	"a=rtpmap:103 H264/90000\r\na=fmtp:103 packetization-mode=1;profile-level-id=640034\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"
	"a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";

static void sdp_offer_answer(void **state)
{
	lsp_sdp_offer o;
	char ans[8192];
	lsp_sdp_local l = { "myfrag", "mypassword0123456789abcd", "11:22", "127.0.0.1", 8189, 1, 1111, 2222, "lsp", 0 };
	int n;
	assert_int_equal(lsp_sdp_parse(offer, sizeof offer - 1, &o), 0);
	assert_string_equal(o.ufrag, "abcd");
	assert_string_equal(o.fingerprint, "AA:BB:CC");
	assert_int_equal(o.nmedia, 3);
	assert_int_equal(lsp_sdp_find(&o, "video"), 0);
	assert_int_equal(o.m[0].pt, 127); /* packetization-mode=1, 42e01f preferred */
	assert_int_equal(o.m[0].nack, 1);
	assert_int_equal(o.m[1].pt, 111);
	assert_int_equal(o.m[2].pt, -1);
	n = lsp_sdp_answer(&o, &l, ans, sizeof ans);
	assert_true(n > 0);
	assert_non_null(strstr(ans, "a=ice-lite\r\n"));
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	assert_non_null(strstr(ans, "m=video 8189 UDP/TLS/RTP/SAVPF 127\r\n"));
	assert_non_null(strstr(ans, "a=setup:passive\r\n"));
	assert_non_null(strstr(ans, "a=sendonly\r\n"));
	assert_non_null(strstr(ans, "a=ssrc:1111 cname:lsp\r\n"));
	assert_non_null(strstr(ans, "m=application 0 UDP/DTLS/SCTP"));
	assert_non_null(strstr(ans, "a=candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host\r\n"));
	assert_null(strstr(ans, " tcp "));
	assert_int_equal(lsp_sdp_answer(&o, &l, ans, 100), -1);
	/* every address a candidate, the first one also c=; ICE-TCP below UDP */
	l.ip = "192.0.2.7,2001:db8::1,198.51.100.9";
	l.tcp_port = 8190;
	assert_true(lsp_sdp_answer(&o, &l, ans, sizeof ans) > 0);
	assert_non_null(strstr(ans, "c=IN IP4 192.0.2.7\r\n"));
	assert_non_null(strstr(ans, "a=candidate:1 1 udp 2130706431 192.0.2.7 8189 typ host\r\n"));
	assert_non_null(strstr(ans, "a=candidate:2 1 udp 2130706175 2001:db8::1 8189 typ host\r\n"));
	assert_non_null(strstr(ans, "a=candidate:3 1 udp 2130705919 198.51.100.9 8189 typ host\r\n"));
	assert_non_null(strstr(ans, "a=candidate:4 1 tcp 1526726655 192.0.2.7 8190 typ host tcptype passive\r\n"));
	assert_non_null(strstr(ans, "a=candidate:6 1 tcp 1526726143 198.51.100.9 8190 typ host tcptype passive\r\n"
				    "a=end-of-candidates\r\n"));
	l.ip = "2001:db8::1";
	assert_true(lsp_sdp_answer(&o, &l, ans, sizeof ans) > 0);
	assert_non_null(strstr(ans, "c=IN IP6 2001:db8::1\r\n"));
	/* no ICE credentials / not SDP */
	assert_int_equal(lsp_sdp_parse("v=0\r\nm=video 9 X 96\r\n", 20, &o), -1);
	assert_int_equal(lsp_sdp_parse("hello", 5, &o), -1);
}

struct collect {
	uint8_t pkts[64][1300];
	size_t len[64];
	int marker[64], n;
};

static int collect(void *ctx, const uint8_t *pre, size_t prelen, const uint8_t *p, size_t len, int marker)
{
	struct collect *c = ctx;
	if (c->n == 64)
		return -1;
	if (prelen)
		memcpy(c->pkts[c->n], pre, prelen);
	if (len)
		memcpy(c->pkts[c->n] + prelen, p, len);
	c->len[c->n] = prelen + len;
	c->marker[c->n++] = marker;
	return 0;
}

static void h264_roundtrip(void **state)
{
	static uint8_t au[6000], out[8192];
	static struct collect c;
	size_t o = 0;
	lsp_h264_depack d = { .buf = out, .cap = sizeof out };
	const uint8_t aud[] = { 0, 0, 0, 1, 0x09, 0xf0 }, sps[] = { 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e },
		      pps[] = { 0, 0, 1, 0x68, 0xce, 0x3c, 0x80 };
	memcpy(au + o, aud, sizeof aud), o += sizeof aud;
	memcpy(au + o, sps, sizeof sps), o += sizeof sps;
	memcpy(au + o, pps, sizeof pps), o += sizeof pps;
	au[o++] = 0, au[o++] = 0, au[o++] = 1, au[o++] = 0x65;
	for (int i = 0; i < 4000; i++)
		au[o++] = (uint8_t)(i % 251 + 1); /* no start codes inside */
	memset(&c, 0, sizeof c);
	int n = lsp_h264_packetize(au, o, 1000, collect, &c);
	assert_int_equal(n, c.n);
	assert_int_equal(c.n, 2 + 5); /* SPS, PPS single; IDR in 5 FU-A; AUD dropped */
	assert_int_equal(c.pkts[2][0] & 0x1f, 28);
	assert_int_equal(c.pkts[2][1], 0x80 | 5);
	assert_int_equal(c.pkts[6][1], 0x40 | 5);
	for (int i = 0; i < c.n; i++) {
		assert_true(c.len[i] <= 1000);
		assert_int_equal(c.marker[i], i == c.n - 1);
	}
	for (int i = 0; i < c.n; i++) {
		lsp_rtp_hdr h = { .marker = c.marker[i], .seq = (uint16_t)(65530 + i), .ts = 3000 };
		int rc = lsp_h264_depack_put(&d, &h, c.pkts[i], c.len[i]);
		assert_int_equal(rc, i == c.n - 1 ? 1 : 0);
	}
	assert_int_equal(d.key, 1);
	/* Annex B out = the AU without the AUD, each NAL with a 4-byte start code */
	assert_int_equal(d.len, (o - sizeof aud) + 2); /* PPS and IDR had 3-byte start codes */
	assert_memory_equal(out + d.len - 4000, au + o - 4000, 4000);
	lsp_h264_depack_reset(&d);
	/* a lost middle fragment breaks the unit */
	for (int i = 0; i < c.n; i++) {
		lsp_rtp_hdr h = { .marker = c.marker[i], .seq = (uint16_t)(100 + i), .ts = 6000 };
		if (i == 4)
			continue;
		int rc = lsp_h264_depack_put(&d, &h, c.pkts[i], c.len[i]);
		assert_int_equal(rc, i == c.n - 1 ? -1 : 0);
	}
}

static void rtcp_parse(void **state)
{
	uint8_t b[256];
	lsp_rtcp_info in;
	lsp_rtp_hdr h;
	int n = 0;
	n += lsp_rtcp_sr(b, sizeof b, 7, 0x0102030405060708ull, 90000, 10, 1000);
	n += lsp_rtcp_nack(b + n, sizeof b - (size_t)n, 1, 42, 1000, 0x0005); /* 1000, 1001, 1003 */
	n += lsp_rtcp_pli(b + n, sizeof b - (size_t)n, 1, 42);
	assert_int_equal(lsp_rtcp_parse(b, (size_t)n, &in), 0);
	assert_int_equal(in.sr, 1);
	assert_int_equal(in.sr_ssrc, 7);
	assert_int_equal(in.sr_rtp, 90000);
	assert_true(in.sr_ntp == 0x0102030405060708ull);
	assert_int_equal(in.nnack, 3);
	assert_int_equal(in.nack[0], 1000);
	assert_int_equal(in.nack[1], 1001);
	assert_int_equal(in.nack[2], 1003);
	assert_int_equal(in.nack_ssrc[0], 42);
	assert_int_equal(in.pli, 1);
	assert_int_equal(in.media_ssrc, 42);
	assert_int_equal(lsp_rtcp_parse(b, (size_t)n - 1, &in), -1);
	b[0] = 0x40; /* version 1 */
	assert_int_equal(lsp_rtcp_parse(b, (size_t)n, &in), -1);
	lsp_rtp_header(b, 96, 1, 7, 8, 9);
	assert_int_equal(lsp_rtp_parse(b, 12, &h), 0);
	assert_int_equal(h.pt, 96);
	assert_int_equal(h.marker, 1);
	assert_int_equal(h.payload_len, 0);
	assert_false(lsp_rtp_is_rtcp(b, 12));
	b[0] |= 0x0f; /* 15 CSRCs that are not there */
	assert_int_equal(lsp_rtp_parse(b, 12, &h), -1);
}

struct wire {
	uint8_t q[32][2048];
	size_t len[32];
	int n;
};

static void to_wire(void *ctx, const uint8_t *p, size_t len)
{
	struct wire *w = ctx;
	if (w->n < 32 && len <= 2048) {
		memcpy(w->q[w->n], p, len);
		w->len[w->n++] = len;
	}
}

/* deliver everything queued on w to d; returns the last feed result */
static int deliver(struct wire *w, lsp_dtls *d)
{
	char err[200];
	int rc = 0;
	for (int i = 0; i < w->n; i++) {
		assert_true(lsp_dtls_is(w->q[i], w->len[i]));
		int k = lsp_dtls_feed(d, w->q[i], w->len[i], err, sizeof err);
		assert_true(k >= 0);
		if (k == 1)
			rc = 1;
	}
	w->n = 0;
	return rc;
}

static void dtls_srtp(void **state)
{
	static struct wire to_srv, to_cli;
	lsp_dtls_cert *cs, *cc;
	lsp_dtls *srv, *cli, *bad;
	char err[200];
	uint8_t pkt[256], orig[256];
	int n, done_s = 0, done_c = 0;
	assert_int_equal(lsp_dtls_cert_new(&cs, err, sizeof err), 0);
	assert_int_equal(lsp_dtls_cert_new(&cc, err, sizeof err), 0);
	assert_int_equal(strlen(lsp_dtls_cert_fingerprint(cs)), 95);
	assert_int_equal(lsp_dtls_new(&srv, cs, 1, lsp_dtls_cert_fingerprint(cc), to_wire, &to_cli, err, sizeof err), 0);
	assert_int_equal(lsp_dtls_new(&cli, cc, 0, lsp_dtls_cert_fingerprint(cs), to_wire, &to_srv, err, sizeof err), 0);
	assert_int_equal(lsp_dtls_start(cli, err, sizeof err), 0);
	for (int round = 0; round < 6 && !(done_s && done_c); round++) {
		done_s |= deliver(&to_srv, srv);
		done_c |= deliver(&to_cli, cli);
	}
	assert_true(done_s && done_c);
	assert_true(lsp_dtls_ready(srv) && lsp_dtls_ready(cli));
	/* SRTP server → client, and SRTCP client → server */
	lsp_rtp_header(pkt, 96, 1, 1234, 5678, 42);
	memset(pkt + 12, 0xab, 100);
	memcpy(orig, pkt, 112);
	/* both ends offer AEAD_AES_128_GCM first: it is what they agree on */
	assert_int_equal(lsp_dtls_profile(srv), LSP_SRTP_AEAD_AES_128_GCM);
	assert_int_equal(lsp_dtls_profile(cli), LSP_SRTP_AEAD_AES_128_GCM);
	n = lsp_dtls_protect(srv, pkt, 112, sizeof pkt);
	assert_int_equal(n, 112 + 16); /* the GCM tag */
	assert_memory_not_equal(pkt + 12, orig + 12, 100);
	assert_int_equal(lsp_dtls_unprotect(cli, pkt, (size_t)n), 112);
	assert_memory_equal(pkt, orig, 112);
	n = lsp_rtcp_pli(pkt, sizeof pkt, 1, 42);
	n = lsp_dtls_protect_rtcp(cli, pkt, (size_t)n, sizeof pkt);
	assert_true(n > 12);
	pkt[n - 1] ^= 1; /* a bad tag is refused */
	assert_true(lsp_dtls_unprotect_rtcp(srv, pkt, (size_t)n) < 0);
	/* a peer whose certificate is not the one the SDP promised fails */
	assert_int_equal(lsp_dtls_new(&bad, cs, 1, "00:11", to_wire, &to_cli, err, sizeof err), 0);
	lsp_dtls_free(cli);
	to_srv.n = to_cli.n = 0;
	assert_int_equal(lsp_dtls_new(&cli, cc, 0, NULL, to_wire, &to_srv, err, sizeof err), 0);
	assert_int_equal(lsp_dtls_start(cli, err, sizeof err), 0);
	n = 0;
	for (int round = 0; round < 6 && n >= 0; round++) {
		for (int i = 0; i < to_srv.n && n >= 0; i++)
			n = lsp_dtls_feed(bad, to_srv.q[i], to_srv.len[i], err, sizeof err);
		to_srv.n = 0;
		for (int i = 0; i < to_cli.n; i++)
			lsp_dtls_feed(cli, to_cli.q[i], to_cli.len[i], err, sizeof err);
		to_cli.n = 0;
	}
	assert_true(n < 0);
	assert_false(lsp_dtls_ready(bad));
	lsp_dtls_free(bad);
	lsp_dtls_free(cli);
	lsp_dtls_free(srv);
	lsp_dtls_cert_free(cs);
	lsp_dtls_cert_free(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stun_roundtrip),
		cmocka_unit_test(sdp_offer_answer),
		cmocka_unit_test(h264_roundtrip),
		cmocka_unit_test(rtcp_parse),
		cmocka_unit_test(dtls_srtp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
