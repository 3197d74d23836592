/* Unit tests: lib/api/ratelimit.c — the bucket arithmetic, and the
 * collision attack of issue #20: with every key in one probe window (a
 * table of 8 slots searched 8 at a time), a victim drained of tokens and
 * then eight other names tried must still be limited (the old table let
 * the eighth name evict the victim's bucket and reset it to a full burst). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "api/ratelimit.h"

#define PER_MIN (1.0 / 60)

static void test_bucket(void **s)
{
	lsp_ratelimit *rl;
	(void)s;
	assert_int_equal(lsp_ratelimit_new(&rl, 64, 8), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(lsp_ratelimit_take(rl, "u:alice", 5, PER_MIN, 1000), 0);
	int w = lsp_ratelimit_take(rl, "u:alice", 5, PER_MIN, 1000);
	assert_true(w >= 59 && w <= 61);
	assert_int_not_equal(lsp_ratelimit_take(rl, "u:alice", 5, PER_MIN, 1000 + 59000), 0);
	assert_int_equal(lsp_ratelimit_take(rl, "u:alice", 5, PER_MIN, 1000 + 61000), 0);
	assert_int_not_equal(lsp_ratelimit_take(rl, "u:alice", 5, PER_MIN, 1000 + 61000), 0);
	/* another key is its own bucket */
	assert_int_equal(lsp_ratelimit_take(rl, "u:bob", 5, PER_MIN, 1000), 0);
	lsp_ratelimit_free(rl);
}

static void test_collision_does_not_reset_victim(void **s)
{
	lsp_ratelimit *rl;
	char k[32];
	int64_t t = 5000;
	(void)s;
	assert_int_equal(lsp_ratelimit_new(&rl, 8, 8), 0); /* every key in one window */
	for (int i = 0; i < 5; i++)
		assert_int_equal(lsp_ratelimit_take(rl, "u:victim", 5, PER_MIN, t), 0);
	assert_int_not_equal(lsp_ratelimit_take(rl, "u:victim", 5, PER_MIN, t), 0);
	/* eight other names, each tried once, one second apart */
	for (int i = 0; i < 8; i++) {
		snprintf(k, sizeof k, "u:other%d", i);
		(void)lsp_ratelimit_take(rl, k, 5, PER_MIN, t += 1000);
	}
	/* the victim is still limited: no fresh burst */
	assert_int_not_equal(lsp_ratelimit_take(rl, "u:victim", 5, PER_MIN, t), 0);
	/* forty tries in under forty seconds: at most the refill gets through */
	int passed = 0;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 8; i++) {
			snprintf(k, sizeof k, "u:x%d-%d", round, i);
			(void)lsp_ratelimit_take(rl, k, 5, PER_MIN, t += 500);
		}
		passed += lsp_ratelimit_take(rl, "u:victim", 5, PER_MIN, t) == 0;
	}
	assert_true(passed <= 1);
	lsp_ratelimit_free(rl);
}

static void test_refilled_bucket_is_reused(void **s)
{
	lsp_ratelimit *rl;
	char k[32];
	(void)s;
	assert_int_equal(lsp_ratelimit_new(&rl, 4, 4), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(k, sizeof k, "u:n%d", i);
		assert_int_equal(lsp_ratelimit_take(rl, k, 5, PER_MIN, 0), 0);
	}
	/* full of buckets still refilling: a new name is refused, not let in */
	assert_true(lsp_ratelimit_take(rl, "u:new", 5, PER_MIN, 1000) >= 1);
	/* a minute later they have refilled and carry nothing: reused */
	assert_int_equal(lsp_ratelimit_take(rl, "u:new", 5, PER_MIN, 61000), 0);
	lsp_ratelimit_free(rl);
}

static void test_bad_args(void **s)
{
	lsp_ratelimit *rl;
	(void)s;
	assert_int_equal(lsp_ratelimit_new(&rl, 0, 1), -EINVAL);
	assert_int_equal(lsp_ratelimit_new(&rl, 4, 5), -EINVAL);
	assert_null(rl);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_collision_does_not_reset_victim),
		cmocka_unit_test(test_refilled_bucket_is_reused),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
