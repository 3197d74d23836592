/* test_rtp — lib/rtp's RTCP feedback builders byte by byte against the
 * RFCs: PLI (RFC 4585 6.3.1: V=2, P=0, FMT=1, PT=206 (PSFB), length 2,
 * sender SSRC, media SSRC, no FCI) and generic NACK (RFC 4585 6.2.1: FMT=1,
 * PT=205 (RTPFB), length 3, one PID/BLP pair); too small a buffer is -1
 * and leaves it untouched; what the builders write parses back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtc/rtp.h"

static void pli_bytes(void **state)
{
	static const uint8_t want[12] = {
		0x81, 206, 0x00, 0x02,  /* V=2 P=0 FMT=1, PT=PSFB, length 2 (words - 1) */
		0x12, 0x34, 0x56, 0x78, /* SSRC of packet sender */
		0x9a, 0xbc, 0xde, 0xf0, /* SSRC of media source */
	};
	uint8_t b[16];
	lsp_rtcp_info in;
	memset(b, 0xee, sizeof b);
	assert_int_equal(lsp_rtcp_pli(b, sizeof b, 0x12345678, 0x9abcdef0), 12);
	assert_memory_equal(b, want, 12);
	assert_int_equal(b[12], 0xee); /* nothing written past it */
	memset(&in, 0, sizeof in);
	assert_int_equal(lsp_rtcp_parse(b, 12, &in), 0);
	assert_int_equal(in.pli, 1);
	assert_int_equal(in.fir, 0);
	assert_int_equal(in.media_ssrc, 0x9abcdef0);
	assert_true(lsp_rtp_is(b, 12));
	assert_true(lsp_rtp_is_rtcp(b, 12));
}

static void pli_no_room(void **state)
{
	uint8_t b[11];
	memset(b, 0xee, sizeof b);
	assert_int_equal(lsp_rtcp_pli(b, sizeof b, 1, 2), -1);
	for (size_t i = 0; i < sizeof b; i++)
		assert_int_equal(b[i], 0xee);
}

static void nack_bytes(void **state)
{
	static const uint8_t want[16] = {
		0x81, 205, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2,
		0x01, 0x00, 0x00, 0x05, /* PID 256, BLP: 257 and 259 lost too */
	};
	uint8_t b[16];
	lsp_rtcp_info in;
	assert_int_equal(lsp_rtcp_nack(b, sizeof b, 1, 2, 256, 5), 16);
	assert_memory_equal(b, want, 16);
	memset(&in, 0, sizeof in);
	assert_int_equal(lsp_rtcp_parse(b, 16, &in), 0);
	assert_int_equal(in.nnack, 3);
	assert_int_equal(in.nack[0], 256);
	assert_int_equal(in.nack[1], 257);
	assert_int_equal(in.nack[2], 259);
	assert_int_equal(lsp_rtcp_nack(b, 15, 1, 2, 256, 5), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(pli_bytes),
		cmocka_unit_test(pli_no_room),
		cmocka_unit_test(nack_bytes),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
