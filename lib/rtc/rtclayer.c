/* rtclayer.c — the body of a WHEP layer request (POST <session>/layer,
 * rtcabr.c): a JSON object whose "rung" member names the rung wanted,
 * {"rung":"360p"} or {"rung":"auto"}.  Other members with a string,
 * number, true, false or null value are ignored; nested values, escapes
 * other than \" \\ \/, and anything after the object refuse the body.
 * Pure functions over the caller's bytes (len of them, no NUL needed). */
#include <string.h>
#include <stdio.h>

#include "rtc/rtclayer.h"

int lsp_rtc_rung_valid(const char *n)
{
	size_t l = strlen(n);
	if (!l || l >= LSP_RTC_RUNG_MAX)
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_' ||
		      *n == '-'))
			return 0;
	return 1;
}

static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* A JSON string at p (p at its quote) into out (cap; simple escapes
 * only): past its end, or NULL. */
static const char *jstr(const char *p, const char *e, char *out, size_t cap)
{
	size_t o = 0;
	if (p >= e || *p != '"')
		return NULL;
	for (p++; p < e && *p != '"'; p++) {
		char ch = *p;
		if ((unsigned char)ch < 0x20)
			return NULL;
		if (ch == '\\') {
			if (++p >= e || !strchr("\"\\/", *p))
				return NULL;
			ch = *p;
		}
		if (o + 1 >= cap)
			return NULL;
		out[o++] = ch;
	}
	if (p >= e)
		return NULL;
	out[o] = 0;
	return p + 1;
}

/* Past a JSON scalar (number, true, false, null) at p, or NULL. */
static const char *jscalar(const char *p, const char *e)
{
	const char *s = p;
	while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' ||
			 *p == 'E'))
		p++;
	return p > s ? p : NULL;
}

int lsp_rtc_layer_parse(const char *body, size_t len, char *out, size_t cap)
{
	const char *p, *e;
	char key[32], val[LSP_RTC_RUNG_MAX];
	int found = 0;
	if (!body || cap < 2)
		return -1;
	p = body;
	e = body + len;
	p = ws(p, e);
	if (p >= e || *p++ != '{')
		return -1;
	p = ws(p, e);
	if (p < e && *p == '}')
		return -1;
	for (;;) {
		char tmp[64] = "";
		int isrung;
		p = ws(p, e);
		if (!(p = jstr(p, e, key, sizeof key)))
			return -1;
		p = ws(p, e);
		if (p >= e || *p++ != ':')
			return -1;
		p = ws(p, e);
		isrung = !strcmp(key, "rung");
		if (p < e && *p == '"') {
			if (!(p = jstr(p, e, isrung ? val : tmp, isrung ? sizeof val : sizeof tmp)))
				return -1;
			if (isrung) {
				if (!lsp_rtc_rung_valid(val) || strlen(val) >= cap)
					return -1;
				snprintf(out, cap, "%s", val);
				found = 1;
			}
		} else if (isrung || !(p = jscalar(p, e)))
			return -1; /* nested values are not part of this request */
		p = ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p >= e || *p++ != '}')
			return -1;
		break;
	}
	return ws(p, e) == e && found ? 0 : -1;
}

