/* opt.c — strict option-value parsing; see opt.h. */
#include "core/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lsp_opt_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int lsp_opt_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

int lsp_opt_hostport(const char *s, const char *def_host, char *host, size_t hostcap, int *port)
{
	const char *colon, *ps;
	size_t hl;
	long p;
	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - s - 1);
		s++;
		ps = rb + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		hl = (size_t)(colon - s);
		ps = colon + 1;
	} else {
		hl = 0;
		ps = s;
	}
	if (lsp_opt_long(ps, 0, 65535, &p) < 0)
		return -1;
	if (hl == 0) {
		if (strlen(def_host) + 1 > hostcap)
			return -1;
		memcpy(host, def_host, strlen(def_host) + 1);
	} else {
		if (hl + 1 > hostcap)
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
	}
	*port = (int)p;
	return 0;
}

const char *lsp_opt_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return (v && *v) ? v : def;
}
