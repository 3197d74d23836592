/* test_clock.c — lib/clock: monotonic moves forward, wall agrees with time(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "core/clock.h"


static void mono(void **s)
{
	int64_t a = lsp_clock_mono_ms(), b;
	struct timespec d = { 0, 20 * 1000 * 1000 };
	(void)s;
	assert_true(a > 0);
	nanosleep(&d, NULL);
	b = lsp_clock_mono_ms();
	assert_true(b >= a + 19);
	assert_true(b < a + 2000);
}

static void wall(void **s)
{
	time_t t = time(NULL);
	double w = lsp_clock_wall_s();
	int64_t ms = lsp_clock_wall_ms();
	(void)s;
	assert_true(w >= (double)t - 1 && w <= (double)t + 2);
	assert_true(ms / 1000 >= (int64_t)t - 1 && ms / 1000 <= (int64_t)t + 2);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(mono), cmocka_unit_test(wall) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
