/* test_amf0 — AMF0 encode/decode round trips, property lookup, bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/amf0.h"

static void test_roundtrip(void **st)
{
	uint8_t b[256];
	lsp_amf0_wr w;
	lsp_amf0_rd rd;
	lsp_amf0_val v, x;
	char s[32];
	(void)st;
	lsp_amf0_wr_init(&w, b, sizeof b);
	lsp_amf0_put_string(&w, "connect");
	lsp_amf0_put_number(&w, 1);
	lsp_amf0_put_object_begin(&w);
	lsp_amf0_put_key(&w, "app");
	lsp_amf0_put_string(&w, "live");
	lsp_amf0_put_key(&w, "fpad");
	lsp_amf0_put_bool(&w, 0);
	lsp_amf0_put_key(&w, "audioCodecs");
	lsp_amf0_put_number(&w, 3191);
	lsp_amf0_put_object_end(&w);
	lsp_amf0_put_null(&w);
	assert_int_equal(w.err, 0);

	lsp_amf0_rd_init(&rd, b, w.len);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_STRING);
	assert_int_equal(lsp_amf0_cstr(&v, s, sizeof s), 0);
	assert_string_equal(s, "connect");
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_NUMBER);
	assert_true(v.num == 1.0);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_OBJECT);
	assert_int_equal(lsp_amf0_prop(&v, "app", &x), 0);
	assert_int_equal(lsp_amf0_cstr(&x, s, sizeof s), 0);
	assert_string_equal(s, "live");
	assert_int_equal(lsp_amf0_prop(&v, "audioCodecs", &x), 0);
	assert_true(x.num == 3191.0);
	assert_int_equal(lsp_amf0_prop(&v, "fpad", &x), 0);
	assert_int_equal(x.type, LSP_AMF0_BOOLEAN);
	assert_int_equal(lsp_amf0_prop(&v, "nope", &x), -ENOENT);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_NULL);
	assert_int_equal(lsp_amf0_next(&rd, &v), -ENODATA);
}

static void test_ecma_and_arrays(void **st)
{
	/* ECMA array {width: 320} then a strict array [1, "a"] */
	static const uint8_t b[] = {
		8, 0, 0, 0, 1, 0, 5, 'w', 'i', 'd', 't', 'h', 0, 0x40, 0x74, 0, 0, 0, 0, 0, 0, 0, 0, 9,
		10, 0, 0, 0, 2, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 'a',
	};
	lsp_amf0_rd rd;
	lsp_amf0_val v, x;
	(void)st;
	lsp_amf0_rd_init(&rd, b, sizeof b);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_ECMA_ARRAY);
	assert_int_equal(lsp_amf0_prop(&v, "width", &x), 0);
	assert_true(x.num == 320.0);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.type, LSP_AMF0_STRICT_ARRAY);
	assert_int_equal(rd.off, sizeof b);
}

static void test_truncated_and_bad(void **st)
{
	static const uint8_t shortnum[] = { 0, 1, 2, 3 };
	static const uint8_t shortstr[] = { 2, 0, 10, 'a', 'b' };
	static const uint8_t badtype[] = { 0x42 };
	static const uint8_t noend[] = { 3, 0, 1, 'a', 5 };
	static const uint8_t hugearr[] = { 10, 0xff, 0xff, 0xff, 0xff, 5 };
	static const uint8_t nul[] = { 2, 0, 3, 'a', 0, 'b' };
	lsp_amf0_rd rd;
	lsp_amf0_val v;
	char s[4];
	(void)st;
	lsp_amf0_rd_init(&rd, shortnum, sizeof shortnum);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
	lsp_amf0_rd_init(&rd, shortstr, sizeof shortstr);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
	lsp_amf0_rd_init(&rd, badtype, sizeof badtype);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
	lsp_amf0_rd_init(&rd, noend, sizeof noend);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
	lsp_amf0_rd_init(&rd, hugearr, sizeof hugearr);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
	lsp_amf0_rd_init(&rd, nul, sizeof nul);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(lsp_amf0_cstr(&v, s, sizeof s), -EINVAL);
	lsp_amf0_rd_init(&rd, shortstr, 3);
	assert_int_equal(lsp_amf0_next(&rd, &v), -EINVAL);
}

static void test_depth_bound(void **st)
{
	uint8_t b[4096];
	size_t n = 0;
	lsp_amf0_rd rd;
	lsp_amf0_val v;
	int depth = LSP_AMF0_MAX_DEPTH + 4;
	(void)st;
	for (int i = 0; i < depth; i++) {
		b[n++] = 3;
		b[n++] = 0;
		b[n++] = 1;
		b[n++] = 'k';
	}
	b[n++] = 5;
	for (int i = 0; i < depth; i++) {
		b[n++] = 0;
		b[n++] = 0;
		b[n++] = 9;
	}
	lsp_amf0_rd_init(&rd, b, n);
	assert_int_equal(lsp_amf0_next(&rd, &v), -E2BIG);
	/* within the bound it decodes */
	n = 0;
	for (int i = 0; i < 4; i++) {
		b[n++] = 3;
		b[n++] = 0;
		b[n++] = 1;
		b[n++] = 'k';
	}
	b[n++] = 5;
	for (int i = 0; i < 4; i++) {
		b[n++] = 0;
		b[n++] = 0;
		b[n++] = 9;
	}
	lsp_amf0_rd_init(&rd, b, n);
	assert_int_equal(lsp_amf0_next(&rd, &v), 0);
	assert_int_equal(v.rawlen, n);
}

static void test_writer_full(void **st)
{
	uint8_t b[8];
	lsp_amf0_wr w;
	(void)st;
	lsp_amf0_wr_init(&w, b, sizeof b);
	lsp_amf0_put_string(&w, "a string longer than eight");
	assert_int_equal(w.err, 1);
	lsp_amf0_put_null(&w);
	assert_int_equal(w.err, 1);
	assert_true(w.len <= sizeof b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),	  cmocka_unit_test(test_ecma_and_arrays),
		cmocka_unit_test(test_truncated_and_bad), cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_writer_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
