/* fuzz_chatpres.c — libFuzzer harness for lsp-chat's /presence request:
 * the HTTP head (lib/core/http.c) and the channel list read from its query
 * (lib/chat/chatpres.c), then the answer built from it, which must name only
 * valid channels, each once, and fit the documented bound.  Built by
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chatpres.h"
#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lsp_chatpres_list l;
	static char body[LSP_CHATPRES_MAX * (LSP_NAME_MAX + 24) + 3];
	const char *names[LSP_CHATPRES_MAX];
	long counts[LSP_CHATPRES_MAX];
	char err[128], head[512];
	lsp_http_req r;
	char *buf = malloc(size ? size : 1); /* a private copy so reads past size are caught */
	int n;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lsp_http_parse(buf, size, &r) > 0 && lsp_chatpres_parse(r.query, r.query_len, &l, err, sizeof err) == 0) {
		if (l.n < 0 || l.n > LSP_CHATPRES_MAX || (l.all && l.n))
			abort();
		for (int i = 0; i < l.n; i++) {
			if (!lsp_name_valid(l.name[i]))
				abort();
			for (int k = 0; k < i; k++)
				if (!strcmp(l.name[i], l.name[k]))
					abort();
			names[i] = l.name[i];
			counts[i] = (long)(i * 7919) - 50;
		}
		n = lsp_chatpres_json(body, sizeof body, names, counts, l.n);
		if (n < 2 || body[0] != '{' || body[n - 1] != '}' || strlen(body) != (size_t)n)
			abort();
		if (lsp_chatpres_head(head, sizeof head, 200, (size_t)n, 1, r.keep_alive) < 0)
			abort();
	}
	free(buf);
	return 0;
}
