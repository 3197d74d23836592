/* hex.c — hexadecimal encoding; see hex.h. */
#include "core/hex.h"

void lsp_hex_encode(const void *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	const unsigned char *b = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

int lsp_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lsp_hex_decode(const char *s, size_t n, void *out)
{
	unsigned char *o = out;
	for (size_t i = 0; i < n; i++) {
		int hi = lsp_hex_digit((unsigned char)s[2 * i]), lo;
		if (hi < 0)
			return -1;
		lo = lsp_hex_digit((unsigned char)s[2 * i + 1]);
		if (lo < 0)
			return -1;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
