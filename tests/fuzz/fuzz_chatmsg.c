/* libFuzzer harness: lib/chat/chatmsg.c — client JSON messages (jansson parse,
 * field checks, bounds), the error builder and the word filter over
 * arbitrary bytes.  Build: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chatmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lsp_chatmsg m;
	char err[256], out[1024];
	int t = lsp_chatmsg_parse((const char *)data, size, &m, err, sizeof err);
	if (t > 0) {
		if (strlen(m.text) >= sizeof m.text || strlen(m.ref) >= sizeof m.ref)
			abort();
		lsp_chatmsg_error(out, sizeof out, "code", m.text, m.ref);
		lsp_chat_word_match(m.text, m.word[0] ? m.word : "x");
	} else {
		lsp_chatmsg_error(out, sizeof out, "bad_message", err, NULL);
	}
	return 0;
}
