/* fuzz_hookmsg — libFuzzer harness for what lsp-hook takes off NATS
 * (lib/hook/hook.c lsp_hook_offer: the subject, the JSON message, the
 * wrapping and queueing) and for the X-LSP-Signature parser
 * (lib/core/webhook.c lsp_webhook_verify).  Input: subject NUL message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/webhook.h"
#include "hook/hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lsp_webhook *wh;
	static lsp_hook *h;
	char err[256], *subj;
	const uint8_t *nul = memchr(data, 0, size);
	size_t sl = nul ? (size_t)(nul - data) : size;
	if (!h) {
		lsp_hook_cfg cfg = { .queue_cap = 8, .health_interval_s = 1, .retry_base_ms = 1, .retry_max_ms = 1 };
		if (lsp_webhook_new(&wh, "http://127.0.0.1:1/", "k", 1, 100, err, sizeof err) < 0)
			abort();
		cfg.wh = wh;
		if (lsp_hook_open(&h, &cfg, err, sizeof err) < 0) /* no NATS: offers only */
			abort();
	}
	if (!(subj = malloc(sl + 1)))
		return 0;
	memcpy(subj, data, sl);
	subj[sl] = 0;
	(void)lsp_hook_offer(h, subj, nul ? (const char *)nul + 1 : "", nul ? size - sl - 1 : 0);
	(void)lsp_webhook_verify("k", 1, subj, data, size, 1700000000, 300);
	free(subj);
	return 0;
}
