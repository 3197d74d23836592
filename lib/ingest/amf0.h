/* amf0.h — AMF0 (Action Message Format 0) decoding and encoding for RTMP
 * commands.  Sans allocation: a decoded value points into the caller's
 * buffer, nested values are described by their raw span and walked on
 * demand, nesting is bounded (LSP_AMF0_MAX_DEPTH).
 *
 * Decoding functions return 0 on success and a negative errno-style code
 * on malformed or truncated input (-EINVAL, -E2BIG for too deep), leaving
 * the reader's position unspecified.  The writer never overruns its buffer:
 * once full it stays full and lsp_amf0_wr.err is set. */
#ifndef LSP_AMF0_H
#define LSP_AMF0_H
#include <stddef.h>
#include <stdint.h>

#define LSP_AMF0_MAX_DEPTH 16

enum {
	LSP_AMF0_NUMBER = 0x00, LSP_AMF0_BOOLEAN = 0x01, LSP_AMF0_STRING = 0x02,
	LSP_AMF0_OBJECT = 0x03, LSP_AMF0_NULL = 0x05, LSP_AMF0_UNDEFINED = 0x06,
	LSP_AMF0_REFERENCE = 0x07, LSP_AMF0_ECMA_ARRAY = 0x08, LSP_AMF0_OBJECT_END = 0x09,
	LSP_AMF0_STRICT_ARRAY = 0x0a, LSP_AMF0_DATE = 0x0b, LSP_AMF0_LONG_STRING = 0x0c,
	LSP_AMF0_UNSUPPORTED = 0x0d, LSP_AMF0_XML = 0x0f, LSP_AMF0_TYPED_OBJECT = 0x10,
};

typedef struct {
	const uint8_t *p;
	size_t len, off;
} lsp_amf0_rd;

typedef struct {
	int type;              /* LSP_AMF0_* */
	double num;            /* NUMBER, DATE; BOOLEAN as 0/1 */
	const uint8_t *str;    /* STRING, LONG_STRING, XML: bytes (not NUL-terminated) */
	size_t slen;
	const uint8_t *raw;    /* the whole encoded value, type byte included */
	size_t rawlen;
} lsp_amf0_val;

void lsp_amf0_rd_init(lsp_amf0_rd *rd, const uint8_t *p, size_t len);
/* Next value; 0 ok, -ENODATA at the end of input, other negative = malformed. */
int lsp_amf0_next(lsp_amf0_rd *rd, lsp_amf0_val *v);
/* Look up property key in an OBJECT, ECMA_ARRAY or TYPED_OBJECT value.
 * 0 found, -ENOENT absent, other negative = malformed. */
int lsp_amf0_prop(const lsp_amf0_val *obj, const char *key, lsp_amf0_val *out);
/* Copy a string value into buf as a C string (truncation is -ENAMETOOLONG,
 * a non-string or embedded NUL is -EINVAL). */
int lsp_amf0_cstr(const lsp_amf0_val *v, char *buf, size_t cap);

typedef struct {
	uint8_t *p;
	size_t cap, len;
	int err; /* set when something did not fit */
} lsp_amf0_wr;

void lsp_amf0_wr_init(lsp_amf0_wr *w, uint8_t *buf, size_t cap);
void lsp_amf0_put_number(lsp_amf0_wr *w, double d);
void lsp_amf0_put_bool(lsp_amf0_wr *w, int b);
void lsp_amf0_put_string(lsp_amf0_wr *w, const char *s);
void lsp_amf0_put_null(lsp_amf0_wr *w);
void lsp_amf0_put_object_begin(lsp_amf0_wr *w);
void lsp_amf0_put_key(lsp_amf0_wr *w, const char *key); /* property name inside an object */
void lsp_amf0_put_object_end(lsp_amf0_wr *w);

#endif
