/* Unit tests: lib/media/transcode.c open-time failures and the ladder
 * policy's names (the media path is covered by tests/integ/transcode.sh,
 * ladder.sh and ondemand.sh with real ffmpeg-made streams). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "core/log.h"
#include "media/transcode.h"

/* Counts "video encoder chosen" events; every event has a name. */
static void count_events(void *ctx, const lsp_event *ev)
{
	assert_non_null(ev->name);
	if (ctx && lsp_event_is(ev, "video encoder chosen")) {
		assert_string_equal(lsp_event_str(ev, "encoder"), "libx264");
		(*(int *)ctx)++;
	}
}

static lsp_transcode_config base(int in_fd)
{
	lsp_transcode_config c;
	memset(&c, 0, sizeof c);
	c.in_fd = in_fd;
	c.out_fd = -1;
	c.gop_s = 1;
	c.encoder = LSP_ENC_X264;
	c.event = count_events;
	return c;
}

static void bad_config(void **s)
{
	lsp_transcode *t = (lsp_transcode *)&t;
	lsp_transcode_config c = base(-1);
	char err[256] = "";
	(void)s;
	c.gop_s = 0;
	assert_int_equal(lsp_transcode_open(&t, &c, err, sizeof err), -EINVAL);
	assert_null(t);
	assert_true(err[0] != 0);
	c = base(-1);
	c.threads = 65;
	assert_int_equal(lsp_transcode_open(&t, &c, err, sizeof err), -EINVAL);
	c = base(-1);
	c.policy = 3;
	assert_int_equal(lsp_transcode_open(&t, &c, err, sizeof err), -EINVAL);
	assert_null(t);
	lsp_transcode_close(NULL);
}

/* The policy names are the channel setting's words, in its order. */
static void policy_names(void **s)
{
	(void)s;
	assert_int_equal(lsp_transcode_policy_parse("on-demand"), LSP_LADDER_ON_DEMAND);
	assert_int_equal(lsp_transcode_policy_parse("always"), LSP_LADDER_ALWAYS);
	assert_int_equal(lsp_transcode_policy_parse("off"), LSP_LADDER_OFF);
	assert_int_equal(lsp_transcode_policy_parse("Off"), -1);
	assert_int_equal(lsp_transcode_policy_parse(""), -1);
	assert_int_equal(lsp_transcode_policy_parse(NULL), -1);
	for (int i = 0; i <= LSP_LADDER_OFF; i++)
		assert_int_equal(lsp_transcode_policy_parse(lsp_transcode_policy_name(i)), i);
	assert_null(lsp_transcode_policy_name(-1));
	assert_null(lsp_transcode_policy_name(3));
}

/* feed bytes through a pipe, expect open to fail with want */
static void feed(const void *buf, size_t n, int want)
{
	int p[2];
	lsp_transcode *t = NULL;
	lsp_transcode_config c;
	char err[256] = "";
	int events = 0;
	assert_int_equal(pipe(p), 0);
	if (n)
		assert_int_equal(write(p[1], buf, n), (ssize_t)n);
	close(p[1]);
	c = base(p[0]);
	c.event_ctx = &events;
	assert_int_equal(lsp_transcode_open(&t, &c, err, sizeof err), want);
	assert_null(t);
	assert_true(err[0] != 0);
	assert_int_equal(events, 1); /* the encoder choice is reported, once */
	close(p[0]);
}

static void bad_input(void **s)
{
	static unsigned char junk[8192];
	size_t i;
	(void)s;
	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	feed(junk, sizeof junk, -EIO);
	feed(NULL, 0, -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_config),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(policy_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
