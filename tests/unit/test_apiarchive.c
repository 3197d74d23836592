/* Unit tests: lib/api/archive.c — chat events from lsp.chat.<channel>
 * into the fixture's store (SQLite, or Postgres with LSP_TEST_PG_URL):
 * kept once per id, other event types and other subjects ignored, a
 * broken message reported as the event "chat message not archived". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/archive.h"
#include "fixture.h"

struct seen {
	int n, level;
	char name[64], channel[64], reason[256];
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *e = ctx;
	const char *ch = lsp_event_str(ev, "channel"), *r = lsp_event_str(ev, "reason");
	e->n++;
	e->level = ev->level;
	snprintf(e->name, sizeof e->name, "%s", ev->name);
	snprintf(e->channel, sizeof e->channel, "%s", ch ? ch : "");
	snprintf(e->reason, sizeof e->reason, "%s", r ? r : "");
}

#define MSG(a, subj, s) lsp_archive_on_msg(a, subj, s, strlen(s))

static void archive(void **s)
{
	fx *f = *s;
	struct seen e = { 0 };
	lsp_archive a = { f->st, on_event, &e };
	const char *say = "{\"type\":\"say\",\"id\":\"m1\",\"channel\":\"stage\",\"user\":\"ann\","
			  "\"text\":\"hello\",\"ts\":1700000000000}";
	MSG(&a, "lsp.chat.stage", say);
	MSG(&a, "lsp.chat.stage", say); /* redelivered: kept once */
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages WHERE user_name = $1", "ann"), 1);
	assert_int_equal(fx_count(f, "SELECT created_at FROM chat_messages WHERE id = $1", "m1"), 1700000000);
	MSG(&a, "lsp.chat.stage", "{\"type\":\"presence\",\"n\":3}");
	MSG(&a, "lsp.presence.stage", say);
	MSG(&a, "lsp.chat.Bad!", say);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages", NULL), 1);
	assert_int_equal(e.n, 0);
	MSG(&a, "lsp.chat.stage", "{\"type\":\"say\"}");
	MSG(&a, "lsp.chat.stage", "not json");
	assert_int_equal(e.n, 2);
	assert_string_equal(e.name, "chat message not archived");
	assert_int_equal(e.level, LSP_WARN);
	assert_string_equal(e.channel, "stage");
	assert_true(e.reason[0] != 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM chat_messages", NULL), 1);
	/* no event function, no store: nothing happens */
	a.event = NULL;
	MSG(&a, "lsp.chat.stage", "not json");
	a.st = NULL;
	MSG(&a, "lsp.chat.stage", say);
	lsp_archive_on_msg(NULL, "lsp.chat.stage", say, strlen(say));
	assert_int_equal(e.n, 2);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(archive, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
