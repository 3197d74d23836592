/* Unit tests: lib/bus/subjects.c — every NATS subject built and parsed in
 * one place; user input never smuggles a dot or wildcard into a subject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bus/subjects.h"
#include "core/key.h"

static void build(void **st)
{
	char s[LSP_SUBJ_CAP];
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_LIVE, "demo"), 0);
	assert_string_equal(s, "lsp.stream.demo.live");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_HEALTH, "demo"), 0);
	assert_string_equal(s, "lsp.stream.demo.health");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_ENDED, "a-b_1"), 0);
	assert_string_equal(s, "lsp.stream.a-b_1.ended");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, "demo"), 0);
	assert_string_equal(s, "lsp.chat.demo");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_PRESENCE, "demo"), 0);
	assert_string_equal(s, "lsp.presence.demo");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_TIP, "demo"), 0);
	assert_string_equal(s, "lsp.tip.demo");
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_KICK, "demo"), 0);
	assert_string_equal(s, "lsp.ctl.demo.kick");
	assert_int_equal(lsp_subject_stream(s, sizeof s, "demo", "health"), 0);
	assert_string_equal(s, "lsp.stream.demo.health");
}

static void refuse(void **st)
{
	char s[LSP_SUBJ_CAP], tiny[12];
	char longest[LSP_NAME_MAX + 1];
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, "a.b"), -EINVAL);
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, "*"), -EINVAL);
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, ">"), -EINVAL);
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, ""), -EINVAL);
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_CHAT, NULL), -EINVAL);
	assert_int_equal(lsp_subject(s, sizeof s, LSP_SUBJ_NONE, "demo"), -EINVAL);
	assert_int_equal(lsp_subject_stream(s, sizeof s, "demo", "started"), -EINVAL);
	assert_int_equal(lsp_subject(tiny, sizeof tiny, LSP_SUBJ_HEALTH, "demo"), -ENOSPC);
	/* the longest valid name fits LSP_SUBJ_CAP in every form */
	memset(longest, 'x', LSP_NAME_MAX);
	longest[LSP_NAME_MAX] = 0;
	for (int k = LSP_SUBJ_LIVE; k <= LSP_SUBJ_KICK; k++)
		assert_int_equal(lsp_subject(s, sizeof s, (lsp_subj)k, longest), 0);
}

static void parse(void **st)
{
	char ch[LSP_NAME_MAX + 1];
	assert_int_equal(lsp_subject_parse("lsp.stream.demo.live", ch, sizeof ch), LSP_SUBJ_LIVE);
	assert_string_equal(ch, "demo");
	assert_int_equal(lsp_subject_parse("lsp.stream.x-1.health", ch, sizeof ch), LSP_SUBJ_HEALTH);
	assert_string_equal(ch, "x-1");
	assert_int_equal(lsp_subject_parse("lsp.stream.demo.ended", ch, sizeof ch), LSP_SUBJ_ENDED);
	assert_int_equal(lsp_subject_parse("lsp.chat.demo", ch, sizeof ch), LSP_SUBJ_CHAT);
	assert_int_equal(lsp_subject_parse("lsp.presence.demo", ch, sizeof ch), LSP_SUBJ_PRESENCE);
	assert_int_equal(lsp_subject_parse("lsp.tip.demo", ch, sizeof ch), LSP_SUBJ_TIP);
	assert_int_equal(lsp_subject_parse("lsp.ctl.demo.kick", ch, sizeof ch), LSP_SUBJ_KICK);
	assert_string_equal(ch, "demo");
	/* not ours, or not a valid channel */
	assert_int_equal(lsp_subject_parse("lsp.stream.demo.other", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_string_equal(ch, "");
	assert_int_equal(lsp_subject_parse("lsp.stream.a.b.live", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_int_equal(lsp_subject_parse("lsp.stream..live", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_int_equal(lsp_subject_parse("lsp.chat.", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_int_equal(lsp_subject_parse("lsp.chat.A", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_int_equal(lsp_subject_parse("foo.chat.demo", ch, sizeof ch), LSP_SUBJ_NONE);
	assert_int_equal(lsp_subject_parse(NULL, ch, sizeof ch), LSP_SUBJ_NONE);
}

/* Every subject built parses back to its kind and channel. */
static void round_trip(void **st)
{
	char s[LSP_SUBJ_CAP], ch[LSP_NAME_MAX + 1];
	const char *names[] = { "demo", "a", "kid-mode", "x_y-9" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (int k = LSP_SUBJ_LIVE; k <= LSP_SUBJ_KICK; k++) {
			assert_int_equal(lsp_subject(s, sizeof s, (lsp_subj)k, names[i]), 0);
			assert_int_equal(lsp_subject_parse(s, ch, sizeof ch), k);
			assert_string_equal(ch, names[i]);
		}
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(build),
		cmocka_unit_test(refuse),
		cmocka_unit_test(parse),
		cmocka_unit_test(round_trip),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
