/* Unit tests: lib/core/event.c — events carry a name and typed fields to
 * the tool's one callback, and log as the same JSON line lsp_log writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/event.h"

struct seen {
	int calls, level;
	char name[64], channel[64];
	long long bytes, missing;
	double dur;
	int n;
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *s = ctx;
	const lsp_logv *d = lsp_event_get(ev, "duration_s");
	s->calls++;
	s->level = ev->level;
	s->n = ev->n;
	snprintf(s->name, sizeof s->name, "%s", ev->name);
	snprintf(s->channel, sizeof s->channel, "%s", lsp_event_str(ev, "channel") ? lsp_event_str(ev, "channel") : "(none)");
	s->bytes = lsp_event_int(ev, "bytes", -1);
	s->missing = lsp_event_int(ev, "nope", -7);
	s->dur = d && d->type == LSV_DBL ? d->d : -1;
}

static void emit_and_read(void **st)
{
	struct seen s = { 0 };
	lsp_event_emit(on_event, &s, LSP_WARN, "publish started", "channel", LSV_S("demo"), "bytes", LSV_I(4096),
		       "duration_s", LSV_D(1.5), NULL);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.level, LSP_WARN);
	assert_string_equal(s.name, "publish started");
	assert_string_equal(s.channel, "demo");
	assert_int_equal(s.bytes, 4096);
	assert_int_equal(s.missing, -7);
	assert_true(s.dur > 1.49 && s.dur < 1.51);
	assert_int_equal(s.n, 3);
}

static void no_callback_is_fine(void **st)
{
	lsp_event_emit(NULL, NULL, LSP_INFO, "nothing", "k", LSV_I(1), NULL); /* must not crash */
}

static void kinds_and_names(void **st)
{
	const char *keys[] = { "s", "i", "b", "d" };
	lsp_logv vals[] = { LSV_S("x"), LSV_I(3), LSV_B(1), LSV_D(2.75) };
	lsp_event ev = { LSP_INFO, "listening", 4, keys, vals };
	assert_true(lsp_event_is(&ev, "listening"));
	assert_false(lsp_event_is(&ev, "listen"));
	assert_false(lsp_event_is(NULL, "listening"));
	assert_null(lsp_event_str(&ev, "i"));  /* not a string */
	assert_int_equal(lsp_event_int(&ev, "s", 9), 9); /* not a number */
	assert_int_equal(lsp_event_int(&ev, "b", 0), 1);
	assert_int_equal(lsp_event_int(&ev, "d", 0), 2); /* truncated */
	assert_true(lsp_event_double(&ev, "d", 0) == 2.75);
	assert_true(lsp_event_double(&ev, "i", 0) == 3.0);
	assert_true(lsp_event_double(&ev, "s", -1.5) == -1.5);
	assert_true(lsp_event_double(&ev, "none", 0.5) == 0.5);
}

static void too_many_fields_are_bounded(void **st)
{
	struct seen s = { 0 };
	/* 34 fields: the first LSP_LOG_FIELDS_MAX are kept */
	lsp_event_emit(on_event, &s, LSP_INFO, "many", "a", LSV_I(1), "b", LSV_I(1), "c", LSV_I(1), "d", LSV_I(1),
		       "e", LSV_I(1), "f", LSV_I(1), "g", LSV_I(1), "h", LSV_I(1), "i", LSV_I(1), "j", LSV_I(1), "k",
		       LSV_I(1), "l", LSV_I(1), "m", LSV_I(1), "n", LSV_I(1), "o", LSV_I(1), "p", LSV_I(1), "q", LSV_I(1),
		       "r", LSV_I(1), "s", LSV_I(1), "t", LSV_I(1), "u", LSV_I(1), "v", LSV_I(1), "w", LSV_I(1), "x",
		       LSV_I(1), "y", LSV_I(1), "z", LSV_I(1), "A", LSV_I(1), "B", LSV_I(1), "C", LSV_I(1), "D", LSV_I(1),
		       "E", LSV_I(1), "F", LSV_I(1), "G", LSV_I(1), "H", LSV_I(1), NULL);
	assert_int_equal(s.n, LSP_LOG_FIELDS_MAX);
}

/* lsp_log_event writes exactly what lsp_log writes for the same event. */
static void logs_like_lsp_log(void **st)
{
	char a[4096], b[4096];
	size_t na, nb;
	const char *keys[] = { "channel", "n", "ok" };
	lsp_logv vals[] = { LSV_S("de\"mo"), LSV_I(42), LSV_B(0) };
	lsp_event ev = { LSP_ERROR, "publish ended", 3, keys, vals };
	lsp_log_t lg;
	FILE *f = tmpfile();
	lsp_log_init(&lg, "lsp-test");
	lg.out = f;
	lsp_log_event(&lg, &ev);
	lsp_log(&lg, LSP_ERROR, "publish ended", "channel", LSV_S("de\"mo"), "n", LSV_I(42), "ok", LSV_B(0), NULL);
	fflush(f);
	rewind(f);
	assert_non_null(fgets(a, sizeof a, f));
	assert_non_null(fgets(b, sizeof b, f));
	fclose(f);
	na = strlen(a);
	nb = strlen(b);
	/* the timestamps may differ by a millisecond: compare from "level" on */
	assert_string_equal(strstr(a, "\"level\""), strstr(b, "\"level\""));
	assert_non_null(strstr(a, "\"event\":\"publish ended\",\"channel\":\"de\\\"mo\",\"n\":42,\"ok\":false}"));
	assert_true(na > 0 && nb > 0);
}

/* Below the logger's level nothing is written. */
static void level_filter(void **st)
{
	const char *keys[] = { "k" };
	lsp_logv vals[] = { LSV_I(1) };
	lsp_event ev = { LSP_DEBUG, "chatty", 1, keys, vals };
	lsp_log_t lg;
	FILE *f = tmpfile();
	lsp_log_init(&lg, "lsp-test");
	lg.out = f;
	lg.level = LSP_INFO;
	lsp_log_event(&lg, &ev);
	fflush(f);
	assert_int_equal(ftell(f), 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(emit_and_read),     cmocka_unit_test(no_callback_is_fine),
		cmocka_unit_test(kinds_and_names),   cmocka_unit_test(too_many_fields_are_bounded),
		cmocka_unit_test(logs_like_lsp_log), cmocka_unit_test(level_filter),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
