/* Unit tests: lib/state/chandir.c — a channel in the HLS tree is listed
 * and found; hidden (suspended) it is in neither, and shown again it
 * returns (issue #20: a suspended channel stays in no directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/chandir.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void hide_show(void **s)
{
	char root[] = "/tmp/lsp-chandir-XXXXXX", p[256], out[4096];
	(void)s;
	assert_non_null(mkdtemp(root));
	for (int i = 0; i < 2; i++) {
		const char *ch = i ? "news" : "demo";
		snprintf(p, sizeof p, "%s/%s", root, ch);
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(p, sizeof p, "%s/%s/master.m3u8", root, ch);
		put(p, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n");
	}
	assert_true(lsp_chandir_json(root, NULL, time(NULL), out, sizeof out) > 0);
	assert_non_null(strstr(out, "\"demo\""));
	assert_int_equal(lsp_chandir_hide(root, "demo", 1), 0);
	assert_true(lsp_chandir_json(root, NULL, time(NULL), out, sizeof out) > 0);
	assert_null(strstr(out, "\"demo\""));
	assert_non_null(strstr(out, "\"news\""));
	assert_int_equal(lsp_chandir_json(root, "demo", time(NULL), out, sizeof out), -ENOENT);
	assert_int_equal(lsp_chandir_hide(root, "demo", 0), 0);
	assert_int_equal(lsp_chandir_hide(root, "demo", 0), 0); /* twice is fine */
	assert_true(lsp_chandir_json(root, "demo", time(NULL), out, sizeof out) > 0);
	/* a channel never streamed can be hidden ahead of its tree */
	assert_int_equal(lsp_chandir_hide(root, "later", 1), 0);
	assert_int_equal(lsp_chandir_hide(root, "../x", 1), -EINVAL);
	snprintf(p, sizeof p, "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

/* Access markers: unlisted leaves the listing but answers a lookup;
 * signed alone stays listed; the flags read back; clearing removes both. */
static void access_markers(void **s)
{
	char root[] = "/tmp/lsp-chandir-XXXXXX", p[256], out[4096];
	(void)s;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof p, "%s/demo", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/demo/master.m3u8", root);
	put(p, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n");
	assert_int_equal(lsp_chandir_access(root, "demo"), 0);
	assert_int_equal(lsp_chandir_set_access(root, "demo", LSP_CHANDIR_F_UNLISTED | LSP_CHANDIR_F_SIGNED), 0);
	assert_int_equal(lsp_chandir_access(root, "demo"), LSP_CHANDIR_F_UNLISTED | LSP_CHANDIR_F_SIGNED);
	assert_true(lsp_chandir_json(root, NULL, time(NULL), out, sizeof out) > 0);
	assert_string_equal(out, "[]");
	assert_true(lsp_chandir_json(root, "demo", time(NULL), out, sizeof out) > 0); /* by name: found */
	assert_int_equal(lsp_chandir_set_access(root, "demo", LSP_CHANDIR_F_SIGNED), 0); /* age gate alone */
	assert_int_equal(lsp_chandir_access(root, "demo"), LSP_CHANDIR_F_SIGNED);
	assert_true(lsp_chandir_json(root, NULL, time(NULL), out, sizeof out) > 0);
	assert_non_null(strstr(out, "\"demo\""));
	assert_int_equal(lsp_chandir_set_access(root, "demo", 0), 0);
	assert_int_equal(lsp_chandir_access(root, "demo"), 0);
	snprintf(p, sizeof p, "%s/demo/" LSP_CHANDIR_SIGNED, root);
	assert_int_equal(access(p, F_OK), -1);
	/* a channel with no tree yet gets its markers; a bad name none */
	assert_int_equal(lsp_chandir_set_access(root, "later", LSP_CHANDIR_F_SIGNED), 0);
	assert_int_equal(lsp_chandir_access(root, "later"), LSP_CHANDIR_F_SIGNED);
	assert_int_equal(lsp_chandir_set_access(root, "../x", LSP_CHANDIR_F_SIGNED), -EINVAL);
	assert_int_equal(lsp_chandir_access(root, "../later"), 0);
	snprintf(p, sizeof p, "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

/* Ladder markers: none is on-demand; always and off each leave exactly
 * their marker; back to on-demand leaves none; the access markers are
 * untouched; a bad name or policy is refused. */
static void ladder_markers(void **s)
{
	char root[] = "/tmp/lsp-chandir-XXXXXX", p[256];
	(void)s;
	assert_non_null(mkdtemp(root));
	assert_int_equal(lsp_chandir_ladder(root, "demo"), 0);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", 0), 0); /* no tree: nothing to do */
	snprintf(p, sizeof p, "%s/demo", root);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(lsp_chandir_set_access(root, "demo", LSP_CHANDIR_F_SIGNED), 0);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", 1), 0);
	assert_int_equal(lsp_chandir_ladder(root, "demo"), 1);
	snprintf(p, sizeof p, "%s/demo/" LSP_CHANDIR_LADDER_ALWAYS, root);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", 2), 0);
	assert_int_equal(lsp_chandir_ladder(root, "demo"), 2);
	assert_int_equal(access(p, F_OK), -1); /* .ladder-always gone */
	snprintf(p, sizeof p, "%s/demo/" LSP_CHANDIR_LADDER_OFF, root);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(lsp_chandir_access(root, "demo"), LSP_CHANDIR_F_SIGNED);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", 0), 0);
	assert_int_equal(lsp_chandir_ladder(root, "demo"), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(lsp_chandir_access(root, "demo"), LSP_CHANDIR_F_SIGNED);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", 3), -EINVAL);
	assert_int_equal(lsp_chandir_set_ladder(root, "demo", -1), -EINVAL);
	assert_int_equal(lsp_chandir_set_ladder(root, "../x", 1), -EINVAL);
	assert_int_equal(lsp_chandir_ladder(root, "../demo"), 0);
	snprintf(p, sizeof p, "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(hide_show), cmocka_unit_test(access_markers),
					cmocka_unit_test(ladder_markers) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
