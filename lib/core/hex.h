/* hex.h — bytes to lowercase hexadecimal and back, for keys, MACs,
 * digests and salts.  Caller buffers only; nothing is allocated. */
#ifndef LSP_HEX_H
#define LSP_HEX_H
#include <stddef.h>

/* n bytes of in as 2n lowercase hex digits and a NUL into out, which
 * holds at least 2n + 1 bytes. */
void lsp_hex_encode(const void *in, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int lsp_hex_digit(int c);

/* 2n hex digits of s into n bytes of out: 0, or -1 at the first
 * character that is not a hex digit (out is then partly written). */
int lsp_hex_decode(const char *s, size_t n, void *out);

#endif
