/* Unit tests: lib/state/chanmeta.c over the fixture's store (SQLite, or
 * Postgres with LSP_TEST_PG_URL): a channel's row with its metadata,
 * setting title / category / mature one at a time, ownership, the list in
 * name order, suspension (which also drops the key), the ladder policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "state/chandir.h"
#include "state/chanmeta.h"
#include "fixture.h"

static int collect(void *ctx, const lsp_chanmeta *ch)
{
	char *out = ctx;
	size_t l = strlen(out);
	snprintf(out + l, 256 - l, "%s:%s:%d%d%d ", ch->name, ch->owner, ch->mature, ch->suspended, ch->has_key);
	return 0;
}

static int first_only(void *ctx, const lsp_chanmeta *ch)
{
	(void)ch;
	(*(int *)ctx)++;
	return 1;
}

static int names(void *ctx, const char *name)
{
	char *out = ctx;
	size_t l = strlen(out);
	snprintf(out + l, 256 - l, "%s ", name);
	return 0;
}

static void metadata(void **s)
{
	fx *f = *s;
	lsp_chanmeta ch;
	char err[256], buf[256] = "";
	int n = 0;
	assert_int_equal(lsp_chanmeta_get(f->st, "zed", &ch, err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(f->st, "zed", "h1", err, sizeof err), 0);
	assert_int_equal(lsp_store_channel_add(f->st, "amy", "h2", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "zed", &ch, err, sizeof err), 1);
	assert_string_equal(ch.name, "zed");
	assert_string_equal(ch.title, "");
	assert_string_equal(ch.owner, "");
	assert_int_equal(ch.has_key, 1);
	assert_int_equal(ch.mature, 0);
	assert_true(ch.created_at > 1600000000 && ch.key_changed_at == ch.created_at);
	/* title and category set, mature left; then mature alone */
	assert_int_equal(lsp_chanmeta_set(f->st, "zed", "Night \xc3\xa9t\xc3\xa9", "music", -1, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_set(f->st, "zed", NULL, NULL, 1, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_set_owner(f->st, "zed", "ann", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_set_owner(f->st, "amy", "ann", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "zed", &ch, err, sizeof err), 1);
	assert_string_equal(ch.title, "Night \xc3\xa9t\xc3\xa9");
	assert_string_equal(ch.category, "music");
	assert_int_equal(ch.mature, 1);
	assert_string_equal(ch.owner, "ann");
	assert_int_equal(lsp_chanmeta_set(f->st, "zed", NULL, "talk", 0, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "zed", &ch, err, sizeof err), 1);
	assert_string_equal(ch.title, "Night \xc3\xa9t\xc3\xa9");
	assert_string_equal(ch.category, "talk");
	assert_int_equal(ch.mature, 0);
	/* the list, by name; a callback may stop it */
	assert_int_equal(lsp_chanmeta_list(f->st, collect, buf, err, sizeof err), 2);
	assert_string_equal(buf, "amy:ann:001 zed:ann:001 ");
	assert_int_equal(lsp_chanmeta_list(f->st, first_only, &n, err, sizeof err), 1);
	assert_int_equal(n, 1);
	buf[0] = 0;
	assert_int_equal(lsp_chanmeta_owned(f->st, "ann", names, buf, err, sizeof err), 2);
	assert_true(!strcmp(buf, "amy zed ") || !strcmp(buf, "zed amy "));
	assert_int_equal(lsp_chanmeta_owned(f->st, "bob", names, buf, err, sizeof err), 0);
}

static void suspension(void **s)
{
	fx *f = *s;
	lsp_chanmeta ch;
	char err[256];
	assert_int_equal(lsp_store_channel_add(f->st, "show", "h1", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_suspend(f->st, "show", 1, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.suspended, 1);
	assert_int_equal(ch.has_key, 0); /* the key died with the suspension */
	assert_int_equal(lsp_chanmeta_suspend(f->st, "show", 0, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.suspended, 0);
	assert_int_equal(ch.has_key, 0); /* and stays dead once lifted */
}

/* visibility and the age gate: public by default, set one at a time,
 * their markers; an unknown channel is -ENOENT; words round-trip. */
static void access_settings(void **s)
{
	fx *f = *s;
	lsp_chanmeta ch;
	char err[256];
	assert_int_equal(lsp_store_channel_add(f->st, "show", "h1", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.visibility, LSP_CHANMETA_PUBLIC);
	assert_int_equal(ch.age_gate, 0);
	assert_int_equal(lsp_chanmeta_access_flags(&ch), 0);
	assert_int_equal(lsp_chanmeta_set_access(f->st, "show", LSP_CHANMETA_UNLISTED, -1, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.visibility, LSP_CHANMETA_UNLISTED);
	assert_int_equal(lsp_chanmeta_access_flags(&ch), LSP_CHANDIR_F_UNLISTED);
	assert_int_equal(lsp_chanmeta_set_access(f->st, "show", -1, 1, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.visibility, LSP_CHANMETA_UNLISTED); /* left */
	assert_int_equal(ch.age_gate, 1);
	assert_int_equal(lsp_chanmeta_access_flags(&ch), LSP_CHANDIR_F_UNLISTED | LSP_CHANDIR_F_SIGNED);
	assert_int_equal(lsp_chanmeta_set_access(f->st, "show", LSP_CHANMETA_PRIVATE, 0, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.visibility, LSP_CHANMETA_PRIVATE);
	assert_int_equal(ch.age_gate, 0);
	assert_int_equal(lsp_chanmeta_access_flags(&ch), LSP_CHANDIR_F_UNLISTED | LSP_CHANDIR_F_SIGNED);
	assert_int_equal(lsp_chanmeta_set_access(f->st, "nosuch", LSP_CHANMETA_PRIVATE, -1, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_chanmeta_visibility_parse("unlisted"), LSP_CHANMETA_UNLISTED);
	assert_int_equal(lsp_chanmeta_visibility_parse("Private"), -1);
	assert_string_equal(lsp_chanmeta_visibility_name(LSP_CHANMETA_PUBLIC), "public");
	assert_string_equal(lsp_chanmeta_visibility_name(7), "private");
}

/* the ladder policy: on-demand by default (the migration's default),
 * set and read back, an unknown channel -ENOENT, a bad value -EINVAL and
 * nothing changed; the words round-trip and unknown words are refused. */
static void ladder_policy(void **s)
{
	fx *f = *s;
	lsp_chanmeta ch;
	char err[256];
	assert_int_equal(lsp_store_channel_add(f->st, "show", "h1", err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_ON_DEMAND);
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "show", LSP_CHANMETA_LADDER_ALWAYS, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_ALWAYS);
	assert_int_equal(ch.visibility, LSP_CHANMETA_PUBLIC); /* the other settings left */
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "show", LSP_CHANMETA_LADDER_OFF, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_OFF);
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "show", 3, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "show", -1, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_OFF);
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "nosuch", LSP_CHANMETA_LADDER_ALWAYS, err, sizeof err),
			 -ENOENT);
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(lsp_chanmeta_set_ladder(f->st, "show", LSP_CHANMETA_LADDER_ON_DEMAND, err, sizeof err), 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_ON_DEMAND);
	/* a word the store holds that no version wrote reads as the default */
	assert_true(lsp_store_exec(f->st, "UPDATE channels SET ladder = 'sometimes' WHERE name = 'show'", 0, NULL,
				   NULL, NULL, err, sizeof err) >= 0);
	assert_int_equal(lsp_chanmeta_get(f->st, "show", &ch, err, sizeof err), 1);
	assert_int_equal(ch.ladder, LSP_CHANMETA_LADDER_ON_DEMAND);
	for (int i = 0; i < 3; i++)
		assert_int_equal(lsp_chanmeta_ladder_parse(lsp_chanmeta_ladder_name(i)), i);
	assert_string_equal(lsp_chanmeta_ladder_name(LSP_CHANMETA_LADDER_ON_DEMAND), "on-demand");
	assert_string_equal(lsp_chanmeta_ladder_name(LSP_CHANMETA_LADDER_ALWAYS), "always");
	assert_string_equal(lsp_chanmeta_ladder_name(LSP_CHANMETA_LADDER_OFF), "off");
	assert_string_equal(lsp_chanmeta_ladder_name(9), "on-demand");
	assert_int_equal(lsp_chanmeta_ladder_parse("Always"), -1);
	assert_int_equal(lsp_chanmeta_ladder_parse("ondemand"), -1);
	assert_int_equal(lsp_chanmeta_ladder_parse(""), -1);
	assert_int_equal(lsp_chanmeta_ladder_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(metadata, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(suspension, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(access_settings, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(ladder_policy, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
