/* rtclayer.h — the body of a WHEP layer request (POST <session>/layer):
 * pure functions over the caller's bytes (lib/rtc/rtclayer.c), apart from
 * the server so a fuzz harness links them alone. */
#ifndef LSP_RTCLAYER_H
#define LSP_RTCLAYER_H
#include <stddef.h>

/* The rung a layer request body asks for ({"rung":"360p"}, or
 * {"rung":"auto"}; other scalar members ignored) into out (cap bytes): 0,
 * or -1 when the body is not such an object or the name is not a valid
 * rung name. */
#define LSP_RTC_RUNG_MAX 24 /* a rung name's bytes, with its NUL */
int lsp_rtc_layer_parse(const char *body, size_t len, char *out, size_t cap);
/* 1 when n can be a rung's name: 1..23 letters, digits, '_' and '-'. */
int lsp_rtc_rung_valid(const char *n);

#endif
