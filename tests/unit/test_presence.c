/* test_presence — lib/bus/presence: the report lsp-chat reads (node,
 * source, edge count), node ids that are one process and JSON-safe, and
 * refusals of what would break the JSON or the subject. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/presence.h"

static void msg(void **st)
{
	(void)st;
	char b[256];
	int n = lsp_presence_msg(b, sizeof b, "lsp-rtc@box-1:42", "rtc", 7);
	assert_int_equal(n, (int)strlen(b));
	assert_string_equal(b, "{\"type\":\"presence\",\"node\":\"lsp-rtc@box-1:42\",\"source\":\"rtc\",\"edge\":7}");
	assert_true(lsp_presence_msg(b, sizeof b, "n", "edge", 0) > 0);
	assert_int_equal(lsp_presence_msg(b, sizeof b, "a\"b", "rtc", 1), -EINVAL);
	assert_int_equal(lsp_presence_msg(b, sizeof b, "", "rtc", 1), -EINVAL);
	assert_int_equal(lsp_presence_msg(b, sizeof b, "n", "r\\", 1), -EINVAL);
	assert_int_equal(lsp_presence_msg(b, sizeof b, "n", "rtc", -1), -EINVAL);
	assert_int_equal(lsp_presence_msg(b, 20, "n", "rtc", 1), -ENOSPC);
}

static void node(void **st)
{
	(void)st;
	char b[LSP_PRESENCE_NODE_MAX], want[32], m[256];
	assert_int_equal(lsp_presence_node(b, sizeof b, "lsp-edge"), 0);
	assert_int_equal(strncmp(b, "lsp-edge@", 9), 0);
	snprintf(want, sizeof want, ":%ld", (long)getpid());
	assert_string_equal(b + strlen(b) - strlen(want), want);
	assert_true(lsp_presence_msg(m, sizeof m, b, "edge", 3) > 0); /* always usable in a report */
	assert_int_equal(lsp_presence_node(b, 8, "lsp-edge"), -ENOSPC);
}

static void publish_bad_channel(void **st)
{
	(void)st;
	char err[128] = "";
	/* refused before the bus is touched */
	assert_int_equal(lsp_presence_publish(NULL, "n", "rtc", "a.b", 1, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "subject"));
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(msg), cmocka_unit_test(node),
					cmocka_unit_test(publish_bad_channel) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
