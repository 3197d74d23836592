/* opt.h — strict parsing of option values (numbers with bounds, host:port,
 * durations) shared by every tool.  Functions return 0 on success and -1 on
 * a bad value, leaving *out untouched; they never print. */
#ifndef LSP_OPT_H
#define LSP_OPT_H
#include <stddef.h>

/* Decimal integer in [min,max]; the whole string must be consumed. */
int lsp_opt_long(const char *s, long min, long max, long *out);

/* Decimal number in [min,max] (e.g. "0.2"). */
int lsp_opt_double(const char *s, double min, double max, double *out);

/* "[host]:port", "host:port" or ":port" / "port" (host defaults to def_host).
 * host buffer receives the host part. */
int lsp_opt_hostport(const char *s, const char *def_host, char *host, size_t hostcap, int *port);

/* Environment value or a default. */
const char *lsp_opt_env(const char *name, const char *def);

#endif
