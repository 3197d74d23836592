/* amf0.c — AMF0 decode/encode; see amf0.h for the contract.  Every read is
 * bounds-checked against the reader's length; recursion depth is bounded. */
#include "ingest/amf0.h"

#include <errno.h>
#include <string.h>

void lsp_amf0_rd_init(lsp_amf0_rd *rd, const uint8_t *p, size_t len)
{
	rd->p = p;
	rd->len = p ? len : 0;
	rd->off = 0;
}

static int need(const lsp_amf0_rd *rd, size_t n)
{
	return rd->len - rd->off >= n ? 0 : -EINVAL;
}

static uint32_t be(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static double be_double(const uint8_t *p)
{
	uint64_t u = 0;
	double d;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	memcpy(&d, &u, sizeof d);
	return d;
}

static int skip_value(lsp_amf0_rd *rd, lsp_amf0_val *v, int depth);

/* Properties (u16 name, value) up to an empty name + OBJECT_END. */
/* NOLINTNEXTLINE(misc-no-recursion): skip_value stops at LSP_AMF0_MAX_DEPTH */
static int skip_props(lsp_amf0_rd *rd, int depth)
{
	lsp_amf0_val tmp;
	for (;;) {
		size_t n;
		int rc;
		if (need(rd, 2))
			return -EINVAL;
		n = be(rd->p + rd->off, 2);
		rd->off += 2;
		if (n == 0) {
			if (need(rd, 1))
				return -EINVAL;
			if (rd->p[rd->off] == LSP_AMF0_OBJECT_END) {
				rd->off++;
				return 0;
			}
		}
		if (need(rd, n))
			return -EINVAL;
		rd->off += n;
		if ((rc = skip_value(rd, &tmp, depth + 1)) < 0)
			return rc;
	}
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is refused past LSP_AMF0_MAX_DEPTH */
static int skip_value(lsp_amf0_rd *rd, lsp_amf0_val *v, int depth)
{
	size_t start = rd->off, n;
	int rc;
	if (depth > LSP_AMF0_MAX_DEPTH)
		return -E2BIG;
	if (need(rd, 1))
		return -EINVAL;
	memset(v, 0, sizeof *v);
	v->type = rd->p[rd->off++];
	switch (v->type) {
	case LSP_AMF0_NUMBER:
		if (need(rd, 8))
			return -EINVAL;
		v->num = be_double(rd->p + rd->off);
		rd->off += 8;
		break;
	case LSP_AMF0_BOOLEAN:
		if (need(rd, 1))
			return -EINVAL;
		v->num = rd->p[rd->off++] ? 1 : 0;
		break;
	case LSP_AMF0_STRING:
		if (need(rd, 2))
			return -EINVAL;
		n = be(rd->p + rd->off, 2);
		rd->off += 2;
		goto str;
	case LSP_AMF0_LONG_STRING:
	case LSP_AMF0_XML:
		if (need(rd, 4))
			return -EINVAL;
		n = be(rd->p + rd->off, 4);
		rd->off += 4;
	str:
		if (need(rd, n))
			return -EINVAL;
		v->str = rd->p + rd->off;
		v->slen = n;
		rd->off += n;
		break;
	case LSP_AMF0_OBJECT:
		if ((rc = skip_props(rd, depth)) < 0)
			return rc;
		break;
	case LSP_AMF0_TYPED_OBJECT:
		if (need(rd, 2))
			return -EINVAL;
		n = be(rd->p + rd->off, 2);
		rd->off += 2;
		if (need(rd, n))
			return -EINVAL;
		rd->off += n;
		if ((rc = skip_props(rd, depth)) < 0)
			return rc;
		break;
	case LSP_AMF0_ECMA_ARRAY:
		if (need(rd, 4))
			return -EINVAL;
		rd->off += 4; /* the count is advisory; the end marker ends it */
		if ((rc = skip_props(rd, depth)) < 0)
			return rc;
		break;
	case LSP_AMF0_STRICT_ARRAY: {
		lsp_amf0_val tmp;
		uint32_t cnt;
		if (need(rd, 4))
			return -EINVAL;
		cnt = be(rd->p + rd->off, 4);
		rd->off += 4;
		for (uint32_t i = 0; i < cnt; i++) /* each element takes >= 1 byte */
			if ((rc = skip_value(rd, &tmp, depth + 1)) < 0)
				return rc;
		break;
	}
	case LSP_AMF0_DATE:
		if (need(rd, 10))
			return -EINVAL;
		v->num = be_double(rd->p + rd->off);
		rd->off += 10;
		break;
	case LSP_AMF0_REFERENCE:
		if (need(rd, 2))
			return -EINVAL;
		rd->off += 2;
		break;
	case LSP_AMF0_NULL:
	case LSP_AMF0_UNDEFINED:
	case LSP_AMF0_UNSUPPORTED:
		break;
	default:
		return -EINVAL;
	}
	v->raw = rd->p + start;
	v->rawlen = rd->off - start;
	return 0;
}

int lsp_amf0_next(lsp_amf0_rd *rd, lsp_amf0_val *v)
{
	if (rd->off >= rd->len)
		return -ENODATA;
	return skip_value(rd, v, 0);
}

int lsp_amf0_prop(const lsp_amf0_val *obj, const char *key, lsp_amf0_val *out)
{
	lsp_amf0_rd rd;
	size_t klen = strlen(key);
	if (!obj->raw || obj->rawlen < 1)
		return -EINVAL;
	lsp_amf0_rd_init(&rd, obj->raw, obj->rawlen);
	rd.off = 1;
	if (obj->type == LSP_AMF0_ECMA_ARRAY)
		rd.off += 4;
	else if (obj->type == LSP_AMF0_TYPED_OBJECT) {
		if (need(&rd, 2))
			return -EINVAL;
		rd.off += 2 + be(rd.p + rd.off, 2);
	} else if (obj->type != LSP_AMF0_OBJECT)
		return -EINVAL;
	for (;;) {
		size_t n;
		const uint8_t *name;
		lsp_amf0_val v;
		int rc;
		if (need(&rd, 2))
			return -EINVAL;
		n = be(rd.p + rd.off, 2);
		rd.off += 2;
		if (need(&rd, n))
			return -EINVAL;
		name = rd.p + rd.off;
		rd.off += n;
		if (n == 0 && rd.off < rd.len && rd.p[rd.off] == LSP_AMF0_OBJECT_END)
			return -ENOENT;
		if ((rc = skip_value(&rd, &v, 1)) < 0)
			return rc;
		if (n == klen && memcmp(name, key, n) == 0) {
			*out = v;
			return 0;
		}
	}
}

int lsp_amf0_cstr(const lsp_amf0_val *v, char *buf, size_t cap)
{
	if (cap == 0)
		return -ENAMETOOLONG;
	buf[0] = 0;
	if (v->type != LSP_AMF0_STRING && v->type != LSP_AMF0_LONG_STRING)
		return -EINVAL;
	if (v->slen + 1 > cap)
		return -ENAMETOOLONG;
	if (v->slen && memchr(v->str, 0, v->slen))
		return -EINVAL;
	if (v->slen)
		memcpy(buf, v->str, v->slen);
	buf[v->slen] = 0;
	return 0;
}

void lsp_amf0_wr_init(lsp_amf0_wr *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

static void put(lsp_amf0_wr *w, const void *b, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = 1;
		return;
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void put_u8(lsp_amf0_wr *w, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(w, &b, 1);
}

static void put_name(lsp_amf0_wr *w, const char *s)
{
	size_t n = strlen(s);
	uint8_t h[2];
	if (n > 0xffff) {
		w->err = 1;
		return;
	}
	h[0] = (uint8_t)(n >> 8);
	h[1] = (uint8_t)n;
	put(w, h, 2);
	put(w, s, n);
}

void lsp_amf0_put_number(lsp_amf0_wr *w, double d)
{
	uint64_t u;
	uint8_t b[8];
	memcpy(&u, &d, sizeof u);
	for (int i = 7; i >= 0; i--, u >>= 8)
		b[i] = (uint8_t)u;
	put_u8(w, LSP_AMF0_NUMBER);
	put(w, b, 8);
}

void lsp_amf0_put_bool(lsp_amf0_wr *w, int b)
{
	put_u8(w, LSP_AMF0_BOOLEAN);
	put_u8(w, b ? 1 : 0);
}

void lsp_amf0_put_string(lsp_amf0_wr *w, const char *s)
{
	put_u8(w, LSP_AMF0_STRING);
	put_name(w, s);
}

void lsp_amf0_put_null(lsp_amf0_wr *w) { put_u8(w, LSP_AMF0_NULL); }
void lsp_amf0_put_object_begin(lsp_amf0_wr *w) { put_u8(w, LSP_AMF0_OBJECT); }
void lsp_amf0_put_key(lsp_amf0_wr *w, const char *key) { put_name(w, key); }

void lsp_amf0_put_object_end(lsp_amf0_wr *w)
{
	static const uint8_t end[3] = { 0, 0, LSP_AMF0_OBJECT_END };
	put(w, end, 3);
}
