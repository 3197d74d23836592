/* Unit tests: lib/core/peercap.c (connections per client address) and
 * lib/core/ratelim.c (one log line per interval). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "core/peercap.h"
#include "core/ratelim.h"

static void caps_per_address(void **st)
{
	lsp_peercap *p = lsp_peercap_new(16);
	(void)st;
	assert_non_null(p);
	assert_int_equal(lsp_peercap_add(p, "192.0.2.1", 3), 1);
	assert_int_equal(lsp_peercap_add(p, "192.0.2.1", 3), 2);
	assert_int_equal(lsp_peercap_add(p, "192.0.2.1", 3), 3);
	assert_int_equal(lsp_peercap_add(p, "192.0.2.1", 3), -EUSERS);
	assert_int_equal(lsp_peercap_count(p, "192.0.2.1"), 3);
	assert_int_equal(lsp_peercap_add(p, "192.0.2.2", 3), 1);      /* another address is not affected */
	lsp_peercap_del(p, "192.0.2.1");
	assert_int_equal(lsp_peercap_add(p, "192.0.2.1", 3), 3);      /* room again */
	for (int i = 0; i < 10; i++)                                   /* loopback is never capped */
		assert_true(lsp_peercap_add(p, "127.0.0.1", 3) > 0);
	assert_true(lsp_peercap_add(p, "::1", 1) > 0 && lsp_peercap_add(p, "::1", 1) > 0);
	assert_int_equal(lsp_peercap_add(p, "2001:db8::1", 0), 1);    /* cap 0: none */
	lsp_peercap_del(p, "198.51.100.9");                            /* never added: ignored */
	lsp_peercap_free(p);
}

/* Many addresses in a small table: counts survive removals in the middle
 * of probe runs (deletion shifts entries back, no tombstones), and the
 * table refuses rather than overflows. */
static void churn(void **st)
{
	lsp_peercap *p = lsp_peercap_new(40); /* 128 slots, 96 usable */
	char a[32];
	int added = 0;
	(void)st;
	assert_non_null(p);
	for (int i = 0; i < 200; i++) {
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		if (lsp_peercap_add(p, a, 8) == -ENOSPC)
			break;
		added++;
	}
	assert_true(added >= 80 && added < 200);
	for (int i = 0; i < added; i += 2) { /* every other one leaves */
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		lsp_peercap_del(p, a);
	}
	for (int i = 0; i < added; i++) {
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(lsp_peercap_count(p, a), i % 2);
	}
	for (int i = 0; i < 40; i++) { /* room for new ones */
		snprintf(a, sizeof a, "172.16.0.%d", i);
		assert_int_equal(lsp_peercap_add(p, a, 8), 1);
	}
	for (int i = 1; i < added; i += 2) {
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(lsp_peercap_add(p, a, 8), 2);
	}
	lsp_peercap_free(p);
}

static void one_line_per_interval(void **st)
{
	lsp_ratelim r = { 0 };
	long long held = -1;
	int let = 0;
	(void)st;
	assert_int_equal(lsp_ratelim_ok(&r, 1000, 1000, &held), 1);
	assert_int_equal(held, 0);
	for (int t = 1001; t < 2000; t++)
		let += lsp_ratelim_ok(&r, t, 1000, &held);
	assert_int_equal(let, 0);
	assert_int_equal(lsp_ratelim_ok(&r, 2000, 1000, &held), 1);
	assert_int_equal(held, 999);          /* what was held back is reported once */
	assert_int_equal(lsp_ratelim_ok(&r, 3500, 1000, &held), 1);
	assert_int_equal(held, 0);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(caps_per_address),
		cmocka_unit_test(churn),
		cmocka_unit_test(one_line_per_interval),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
