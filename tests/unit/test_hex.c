/* test_hex — lib/core/hex: known vectors both ways, every byte value
 * round-trips, either case decodes, a non-digit anywhere is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/hex.h"

static void encode_vectors(void **state)
{
	(void)state;
	char out[16];
	memset(out, 'x', sizeof out);
	lsp_hex_encode("", 0, out);
	assert_string_equal(out, "");
	lsp_hex_encode("\x00\x01\x7f\x80\xab\xff", 6, out);
	assert_string_equal(out, "00017f80abff");
	assert_int_equal(out[12], 0);
	assert_int_equal(out[13], 'x'); /* nothing written past 2n + 1 */
}

static void round_trip_every_byte(void **state)
{
	(void)state;
	uint8_t in[256], back[256];
	char hex[513];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	lsp_hex_encode(in, sizeof in, hex);
	assert_int_equal(strlen(hex), 512);
	assert_int_equal(lsp_hex_decode(hex, sizeof back, back), 0);
	assert_memory_equal(in, back, sizeof in);
}

static void decode_cases_and_refusals(void **state)
{
	(void)state;
	uint8_t b[3];
	assert_int_equal(lsp_hex_decode("aBcD0f", 3, b), 0);
	assert_int_equal(b[0], 0xab);
	assert_int_equal(b[1], 0xcd);
	assert_int_equal(b[2], 0x0f);
	assert_int_equal(lsp_hex_decode("0g", 1, b), -1);
	assert_int_equal(lsp_hex_decode("g0", 1, b), -1);
	assert_int_equal(lsp_hex_decode("00 1", 2, b), -1);
	assert_int_equal(lsp_hex_decode("\xff" "0", 1, b), -1);
	assert_int_equal(lsp_hex_digit('9'), 9);
	assert_int_equal(lsp_hex_digit('F'), 15);
	assert_int_equal(lsp_hex_digit('/'), -1);
	assert_int_equal(lsp_hex_digit(':'), -1);
	assert_int_equal(lsp_hex_digit('@'), -1);
	assert_int_equal(lsp_hex_digit('G'), -1);
	assert_int_equal(lsp_hex_digit(-1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_vectors),
		cmocka_unit_test(round_trip_every_byte),
		cmocka_unit_test(decode_cases_and_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
