/* Unit tests: lib/hook/hookq.c — FIFO order, the bound (oldest dropped and
 * reported), backoff timing and give-up age, the body copies, and the ring
 * growing to the bound and shrinking back with the order kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook/hookq.h"

static int push(lsp_hookq *q, const char *ev, const char *ch, int64_t now, lsp_hookq_item *gone)
{
	char id[LSP_HOOKQ_ID], body[64];
	snprintf(id, sizeof id, "%s-%s", ev, ch);
	snprintf(body, sizeof body, "{\"event\":\"%s\",\"channel\":\"%s\"}", ev, ch);
	return lsp_hookq_push(q, ev, ch, id, body, strlen(body), now, gone);
}

static void fifo_and_bound(void **st)
{
	lsp_hookq *q = lsp_hookq_new(3);
	lsp_hookq_item gone;
	(void)st;
	assert_non_null(q);
	assert_null(lsp_hookq_head(q));
	assert_int_equal(lsp_hookq_wait_ms(q, 0), -1);
	assert_int_equal(push(q, "publish", "a", 0, &gone), 0);
	assert_int_equal(push(q, "live", "a", 0, &gone), 0);
	assert_int_equal(push(q, "health", "a", 0, &gone), 0);
	assert_int_equal(lsp_hookq_len(q), 3);
	assert_int_equal(push(q, "ended", "a", 0, &gone), 1); /* full: the oldest goes */
	assert_string_equal(gone.event, "publish");
	assert_string_equal(gone.channel, "a");
	assert_null(gone.body);
	assert_int_equal(lsp_hookq_len(q), 3);
	assert_string_equal(lsp_hookq_head(q)->event, "live");
	assert_string_equal(lsp_hookq_head(q)->body, "{\"event\":\"live\",\"channel\":\"a\"}");
	assert_int_equal(lsp_hookq_head(q)->len, strlen(lsp_hookq_head(q)->body));
	lsp_hookq_pop(q);
	assert_string_equal(lsp_hookq_head(q)->event, "health");
	lsp_hookq_pop(q);
	assert_string_equal(lsp_hookq_head(q)->id, "ended-a");
	lsp_hookq_pop(q);
	lsp_hookq_pop(q); /* empty: nothing */
	assert_int_equal(lsp_hookq_len(q), 0);
	/* wrap around many times */
	for (int i = 0; i < 100; i++)
		assert_true(push(q, "health", "b", i, NULL) >= 0);
	assert_int_equal(lsp_hookq_len(q), 3);
	assert_int_equal(lsp_hookq_head(q)->first_ms, 97);
	lsp_hookq_free(q); /* frees the bodies still queued (ASan checks) */
	assert_null(lsp_hookq_new(0));
}

static void bad_fields(void **st)
{
	lsp_hookq *q = lsp_hookq_new(2);
	char longname[200];
	(void)st;
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(lsp_hookq_push(q, longname, "a", "id", "{}", 2, 0, NULL), -EINVAL);
	assert_int_equal(lsp_hookq_push(q, "live", longname, "id", "{}", 2, 0, NULL), -EINVAL);
	assert_int_equal(lsp_hookq_push(q, "live", "a", longname, "{}", 2, 0, NULL), -EINVAL);
	assert_int_equal(lsp_hookq_len(q), 0);
	lsp_hookq_free(q);
}

static void backoff(void **st)
{
	lsp_hookq *q = lsp_hookq_new(4);
	(void)st;
	assert_int_equal(lsp_hookq_backoff(1, 1000, 30000), 1000);
	assert_int_equal(lsp_hookq_backoff(2, 1000, 30000), 2000);
	assert_int_equal(lsp_hookq_backoff(5, 1000, 30000), 16000);
	assert_int_equal(lsp_hookq_backoff(6, 1000, 30000), 30000);
	assert_int_equal(lsp_hookq_backoff(1000, 1000, 30000), 30000);
	assert_int_equal(push(q, "live", "a", 100, NULL), 0);
	assert_int_equal(push(q, "ended", "a", 100, NULL), 0);
	assert_int_equal(lsp_hookq_wait_ms(q, 100), 0);
	assert_int_equal(lsp_hookq_fail(q, 200, 1000, 4000, 10000), 0);
	assert_int_equal(lsp_hookq_head(q)->attempts, 1);
	assert_int_equal(lsp_hookq_wait_ms(q, 200), 1000); /* the head holds back the rest */
	assert_int_equal(lsp_hookq_wait_ms(q, 1200), 0);
	assert_int_equal(lsp_hookq_fail(q, 1200, 1000, 4000, 10000), 0);
	assert_int_equal(lsp_hookq_wait_ms(q, 1200), 2000);
	assert_int_equal(lsp_hookq_fail(q, 3200, 1000, 4000, 10000), 0);
	assert_int_equal(lsp_hookq_wait_ms(q, 3200), 4000);
	assert_int_equal(lsp_hookq_fail(q, 7200, 1000, 4000, 10000), 0);
	assert_int_equal(lsp_hookq_wait_ms(q, 7200), 4000); /* capped */
	assert_int_equal(lsp_hookq_fail(q, 10100, 1000, 4000, 10000), 1); /* too old: give up */
	lsp_hookq_pop(q);
	assert_string_equal(lsp_hookq_head(q)->event, "ended");
	assert_int_equal(lsp_hookq_head(q)->attempts, 0);
	assert_int_equal(lsp_hookq_wait_ms(q, 10100), 0);
	lsp_hookq_free(q);
}

static void grow_and_shrink(void **st)
{
	lsp_hookq *q = lsp_hookq_new(1000);
	char ch[16];
	int next = 0;
	(void)st;
	assert_int_equal(lsp_hookq_slots(q), LSP_HOOKQ_MIN);
	for (int i = 0; i < 5; i++) { /* the head away from slot 0, so a resize unwraps */
		snprintf(ch, sizeof ch, "c%d", i);
		assert_int_equal(push(q, "live", ch, i, NULL), 0);
	}
	for (; next < 3; next++)
		lsp_hookq_pop(q);
	for (int i = 5; i < 1000; i++) {
		snprintf(ch, sizeof ch, "c%d", i);
		assert_int_equal(push(q, "live", ch, i, NULL), 0);
	}
	assert_int_equal(lsp_hookq_len(q), 997);
	assert_int_equal(lsp_hookq_slots(q), 1000); /* doubled up to the bound, no further */
	for (int i = 1000; i < 1003; i++) {
		snprintf(ch, sizeof ch, "c%d", i);
		assert_int_equal(push(q, "live", ch, i, NULL), 0);
	}
	assert_int_equal(push(q, "live", "c1003", 1003, NULL), 1); /* full: c3 goes */
	assert_int_equal(lsp_hookq_slots(q), 1000);
	next = 4;
	while (lsp_hookq_len(q) > 1) { /* FIFO through every shrink */
		snprintf(ch, sizeof ch, "c%d", next++);
		assert_string_equal(lsp_hookq_head(q)->channel, ch);
		assert_true(lsp_hookq_slots(q) <= 4 * lsp_hookq_len(q) + LSP_HOOKQ_MIN);
		lsp_hookq_pop(q);
	}
	assert_string_equal(lsp_hookq_head(q)->channel, "c1003");
	assert_true(lsp_hookq_slots(q) <= 2 * LSP_HOOKQ_MIN);
	lsp_hookq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_and_bound),
		cmocka_unit_test(bad_fields),
		cmocka_unit_test(backoff),
		cmocka_unit_test(grow_and_shrink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
