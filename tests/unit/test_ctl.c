/* test_ctl — lib/ctl: the registry (lookup by one or two words, the usage
 * text in table order), and commands run against the fixture's store
 * (tests/unit/fixture.h: SQLite in a temp dir, Postgres with
 * LSP_TEST_PG_URL) with their data caught on a memory stream and their
 * complaints and events caught by the hooks: outputs, exit statuses, the
 * exact words of the complaints lsp-ctl has always used and the events'
 * names and fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "core/exit.h"
#include "fixture.h"


/* What one command left: data, complaints ("*usage*" for the whole
 * text), log events ("level event k=v k=v"). */
typedef struct {
	char *out;
	size_t outlen;
	char usage[2048];
	char log[2048];
} catch_t;

static void on_usage(void *ctx, const char *line)
{
	catch_t *c = ctx;
	size_t o = strlen(c->usage);
	snprintf(c->usage + o, sizeof c->usage - o, "%s\n", line ? line : "*usage*");
}

static void on_event(void *ctx, const lsp_event *ev)
{
	catch_t *c = ctx;
	size_t o = strlen(c->log);
	o += (size_t)snprintf(c->log + o, sizeof c->log - o, "%d %s", ev->level, ev->name);
	for (int i = 0; i < ev->n && o < sizeof c->log; i++) {
		if (ev->vals[i].type == LSV_INT)
			o += (size_t)snprintf(c->log + o, sizeof c->log - o, " %s=%lld", ev->keys[i], ev->vals[i].i);
		else
			o += (size_t)snprintf(c->log + o, sizeof c->log - o, " %s=%s", ev->keys[i], ev->vals[i].s);
	}
	if (o < sizeof c->log)
		snprintf(c->log + o, sizeof c->log - o, "\n");
}

/* Run "words..." (space separated); returns the exit status. */
static int run(catch_t *c, const char *words)
{
	char buf[1024], *w[32], *save = NULL;
	int n = 0, rc;
	FILE *out;
	lsp_ctl_io io = { NULL, on_usage, c, on_event, c };
	free(c->out);
	memset(c, 0, sizeof *c);
	snprintf(buf, sizeof buf, "%s", words);
	for (char *t = strtok_r(buf, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	out = open_memstream(&c->out, &c->outlen);
	assert_non_null(out);
	io.out = out;
	rc = lsp_ctl_run(&io, n, w);
	fclose(out);
	return rc;
}

static int matches(const char *s, const char *re)
{
	regex_t r;
	int ok;
	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* The fixture's store, named to the commands as lsp-ctl's environment. */
static int setup(void **s)
{
	fx *f;
	if (fx_setup(s) < 0)
		return -1;
	f = *s;
	setenv("LSP_DATA_DIR", f->dir, 1);
	setenv("LSP_SECRET", "0123456789abcdef0123456789abcdef", 1);
	if (f->url[0])
		setenv("LSP_DB_URL", f->url, 1);
	else
		unsetenv("LSP_DB_URL");
	return 0;
}

static void registry(void **s)
{
	char *w1[] = { "channel", "add", "x" }, *w2[] = { "token", "bob" }, *w3[] = { "gc" },
	     *w4[] = { "channel", "bogus" }, *w5[] = { "vod" }, *w6[] = { "channel", "set", "a", "b" };
	int n = 0;
	(void)s;
	for (const lsp_ctl_cmd *c = lsp_ctl_cmds; c->name; c++, n++) {
		char name[64], *w[2], *sp;
		snprintf(name, sizeof name, "%s", c->name);
		w[0] = name;
		w[1] = (sp = strchr(name, ' ')) ? sp + 1 : NULL;
		if (sp)
			*sp = '\0';
		assert_ptr_equal(lsp_ctl_find(sp ? 2 : 1, w), c); /* each entry is found by its name */
		assert_non_null(c->run);
		assert_true(c->usage[0] == ' ' && c->usage[strlen(c->usage) - 1] == '\n');
	}
	assert_int_equal(n, 17);
	assert_string_equal(lsp_ctl_find(3, w1)->name, "channel add");
	assert_string_equal(lsp_ctl_find(2, w2)->name, "token"); /* one word, then its NAME */
	assert_string_equal(lsp_ctl_find(1, w3)->name, "gc");
	assert_string_equal(lsp_ctl_find(4, w6)->name, "channel set");
	assert_null(lsp_ctl_find(2, w4));
	assert_null(lsp_ctl_find(1, w5));
	assert_null(lsp_ctl_find(0, w5));
}

/* The commands' part of lsp-ctl --help, byte for byte, in table order. */
static void usage_text(void **s)
{
	static const char want[] =
		"  channel add NAME [--owner USER]\n"
		"                        create a channel (owned by USER, an existing account);\n"
		"                        prints its stream key as the last word\n"
		"  channel list          list channels (name, key state, created)\n"
		"  channel rm NAME       delete a channel and its recordings\n"
		"  key rotate NAME       issue a new stream key (the old one stops working)\n"
		"  key revoke NAME       revoke the stream key (publishing is refused)\n"
		"  user add NAME         create a chat user (with an empty ledger account)\n"
		"  user credit NAME AMOUNT   top up a user's balance (minor units; admin/test)\n"
		"  token NAME [--role viewer|mod|owner] [--channel C] [--ttl SECONDS]\n"
		"                        print a signed chat token (default viewer, any channel, 86400 s)\n"
		"  ledger NAME [--check] a channel's balance and entries (user:NAME for a user);\n"
		"                        --check reconciles the whole ledger (exit 1 on a mismatch)\n"
		"  audit NAME            a channel's moderation audit, newest first\n"
		"  channel set NAME KEY=VALUE...   owner=USER (an existing account); recording\n"
		"                        settings: record=on|off, retention=30d|12h|0 (age),\n"
		"                        maxsize=50G|0 (per channel); access:\n"
		"                        visibility=public|unlisted|private, age_gate=on|off;\n"
		"                        transcoding: ladder=on-demand|always|off;\n"
		"                        webhook_url=http(s)://… (the channel's own webhook\n"
		"                        receiver; empty: the global one)\n"
		"  channel get NAME      a channel's settings, one KEY=VALUE a line\n"
		"  vod list [NAME]       recordings: channel, id, start, seconds, bytes, state\n"
		"  vod rm NAME ID        delete a recording (exit 1 while it is being recorded)\n"
		"  gc                    enforce every channel's retention (run by lsp-gc.timer)\n"
		"  dsar export USER      everything held about USER as one JSON archive on stdout\n"
		"  dsar erase USER       erase USER everywhere (ledger amounts kept, anonymised);\n"
		"                        both are written to the privacy audit\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)s;
	assert_non_null(f);
	assert_int_equal(lsp_ctl_usage(f), 0);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

static void channels(void **s)
{
	catch_t c = { 0 };
	(void)s;
	assert_int_equal(run(&c, "channel add alpha"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^created channel alpha\nstream key: alpha_[0-9a-f]{48}\n$"));
	assert_string_equal(c.log, "1 done command=add channel=alpha\n");
	assert_int_equal(run(&c, "channel add alpha"), LSP_EXIT_NO);
	assert_string_equal(c.out, "");
	assert_string_equal(c.log, "3 command failed command=add reason=channel alpha already exists\n");
	assert_int_equal(run(&c, "key rotate alpha"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^new key for channel alpha\nstream key: alpha_[0-9a-f]{48}\n$"));
	assert_int_equal(run(&c, "key revoke alpha"), LSP_EXIT_OK);
	assert_int_equal(run(&c, "channel list"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^alpha\trevoked\t[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\n$"));
	assert_string_equal(c.log, ""); /* a listing logs nothing */
	assert_int_equal(run(&c, "key revoke nosuch"), LSP_EXIT_NO);
	/* the ladder policy: set, read back by channel get, its marker; a bad
	 * value is a usage error, an unknown channel a "no" */
	assert_int_equal(run(&c, "channel get alpha"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^name=alpha\nowner=\n(.*\n)*ladder=on-demand\n(.*\n)*maxsize=0\n$"));
	assert_int_equal(run(&c, "channel set alpha ladder=off"), LSP_EXIT_OK);
	assert_int_equal(run(&c, "channel get alpha"), LSP_EXIT_OK);
	assert_true(matches(c.out, "\nladder=off\n"));
	assert_int_equal(run(&c, "channel set alpha ladder=sometimes"), LSP_EXIT_USAGE);
	assert_string_equal(c.log, "3 command failed command=channel set reason=ladder is on-demand, always or off\n");
	assert_int_equal(run(&c, "channel set nosuch ladder=always"), LSP_EXIT_NO);
	assert_int_equal(run(&c, "channel get nosuch"), LSP_EXIT_NO);
	assert_string_equal(c.log, "3 command failed command=channel get reason=no channel nosuch\n");
	assert_int_equal(run(&c, "channel get alpha"), LSP_EXIT_OK);
	assert_true(matches(c.out, "\nladder=off\n")); /* the refused sets changed nothing */
	{
		char p[512];
		snprintf(p, sizeof p, "%s/hls/alpha/.ladder-off", getenv("LSP_DATA_DIR"));
		assert_int_equal(access(p, F_OK), 0);
		assert_int_equal(run(&c, "channel set alpha ladder=on-demand"), LSP_EXIT_OK);
		assert_int_equal(access(p, F_OK), -1);
	}
	assert_int_equal(run(&c, "channel rm alpha"), LSP_EXIT_OK);
	assert_string_equal(c.log, "1 done command=rm channel=alpha\n");
	assert_int_equal(run(&c, "channel rm alpha"), LSP_EXIT_NO);
	free(c.out);
}

/* Words that name no command, or name one badly: the same complaints as
 * ever, and nothing written or logged. */
static void complaints(void **s)
{
	static const struct {
		const char *words, *usage;
	} cases[] = {
		{ "", "*usage*\n" },
		{ "channel", "*usage*\n" },
		{ "channel add", "channel add needs exactly one NAME\n" },
		{ "channel add Bad!", "bad channel name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
		{ "channel bogus", "channel bogus needs exactly one NAME\n" },
		{ "channel bogus x", "unknown command: channel bogus\n" },
		{ "foo bar Bad!", "bad channel name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
		{ "channel list x", "*usage*\n" },
		{ "user add", "unknown command: user add\n" },
		{ "user xyz q", "unknown command: user xyz\n" },
		{ "user add Bad!", "bad name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
		{ "token", "*usage*\n" },
		{ "token bob --role", "*usage*\n" },
		{ "token bob --ttl 0", "*usage*\n" },
		{ "token user:bob", "bad name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
		{ "ledger alpha x", "*usage*\n" },
		{ "audit alpha x", "*usage*\n" },
		{ "channel set alpha", "*usage*\n" },
		{ "channel set Bad! record=on", "*usage*\n" },
		{ "channel get", "channel get needs exactly one NAME\n" },
		{ "channel get a b", "channel get needs exactly one NAME\n" },
		{ "channel get Bad!", "bad channel name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
		{ "vod", "*usage*\n" },
		{ "vod bogus x y", "*usage*\n" },
		{ "vod list Bad!", "*usage*\n" },
		{ "vod rm alpha", "*usage*\n" },
		{ "gc now", "*usage*\n" },
		{ "dsar", "*usage*\n" },
		{ "dsar export", "*usage*\n" },
		{ "dsar bogus bob", "unknown command: dsar bogus\n" },
		{ "dsar export Bad!", "bad user name (want [a-z0-9_][a-z0-9_-]{0,63})\n" },
	};
	catch_t c = { 0 };
	(void)s;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(run(&c, cases[i].words), LSP_EXIT_USAGE);
		assert_string_equal(c.usage, cases[i].usage);
		assert_string_equal(c.out, "");
		assert_string_equal(c.log, "");
	}
	free(c.out);
}

/* A complaint is whole however long the words are. */
static void long_complaint(void **s)
{
	char words[1024];
	catch_t c = { 0 };
	(void)s;
	memset(words, 'x', 700);
	snprintf(words + 700, sizeof words - 700, " y");
	assert_int_equal(run(&c, words), LSP_EXIT_USAGE);
	assert_int_equal(strlen(c.usage), 700 + strlen(" y needs exactly one NAME\n"));
	assert_non_null(strstr(c.usage, "xxx y needs exactly one NAME\n"));
	free(c.out);
}

static void chat(void **s)
{
	catch_t c = { 0 };
	(void)s;
	assert_int_equal(run(&c, "user add bob"), LSP_EXIT_OK);
	assert_string_equal(c.out, "created user bob\n");
	assert_string_equal(c.log, "1 done command=user name=bob\n");
	assert_int_equal(run(&c, "user credit bob 250"), LSP_EXIT_OK);
	assert_string_equal(c.out, "user:bob\tbalance\t250\n");
	assert_int_equal(run(&c, "user credit nosuch 5"), LSP_EXIT_NO);
	assert_int_equal(run(&c, "ledger user:bob"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^user:bob\tbalance\t250\n[0-9T:Z-]{20}\t\\+250\tcredit\t[0-9a-f]+\n$"));
	assert_int_equal(run(&c, "ledger alpha --check"), LSP_EXIT_OK);
	assert_string_equal(c.out, "ledger ok\n");
	assert_string_equal(c.log, "1 done command=ledger name=alpha\n");
	assert_int_equal(run(&c, "token bob --role mod --channel alpha --ttl 60"), LSP_EXIT_OK);
	assert_true(matches(c.out, "^v1\\.[A-Za-z0-9_.-]+\n$"));
	assert_string_equal(c.log, "1 done command=token name=bob\n"); /* the token is data only */
	assert_int_equal(run(&c, "token nobody"), LSP_EXIT_NO);
	assert_string_equal(c.log, "3 command failed command=token reason=no user nobody\n");
	assert_int_equal(run(&c, "audit alpha"), LSP_EXIT_OK);
	assert_string_equal(c.out, "");
	free(c.out);
}

static void recordings(void **s)
{
	catch_t c = { 0 };
	(void)s;
	assert_int_equal(run(&c, "channel add gamma"), LSP_EXIT_OK);
	assert_int_equal(run(&c, "channel set gamma record=on retention=30d"), LSP_EXIT_OK);
	assert_string_equal(c.log, "");
	assert_int_equal(run(&c, "channel set gamma bogus=1"), LSP_EXIT_USAGE);
	assert_true(matches(c.log, "^3 command failed command=channel set reason=unknown setting bogus=1.*\n$"));
	assert_int_equal(run(&c, "channel set nosuch record=on"), LSP_EXIT_NO);
	assert_string_equal(c.log, "3 command failed command=channel reason=no channel nosuch\n");
	assert_int_equal(run(&c, "vod list"), LSP_EXIT_OK);
	assert_string_equal(c.out, "");
	assert_int_equal(run(&c, "gc"), LSP_EXIT_OK);
	assert_string_equal(c.log, "1 gc done removed=0\n");
	free(c.out);
}

static void dsar(void **s)
{
	catch_t c = { 0 };
	(void)s;
	assert_int_equal(run(&c, "user add dora"), LSP_EXIT_OK);
	assert_int_equal(run(&c, "dsar export dora"), LSP_EXIT_OK);
	assert_true(c.outlen > 2 && c.out[0] == '{' && c.out[c.outlen - 1] == '\n');
	assert_non_null(strstr(c.out, "dora"));
	assert_string_equal(c.log, "1 done command=export\n");
	assert_int_equal(run(&c, "dsar erase dora"), LSP_EXIT_OK);
	assert_string_equal(c.log, "1 done command=erase\n");
	free(c.out);
}

/* A store that cannot be opened: fatal for most, as ever; the recording
 * commands report it as their own error (channel set: a bad URL is usage). */
static void no_store(void **s)
{
	catch_t c = { 0 };
	(void)s;
	setenv("LSP_DB_URL", "mysql://x", 1);
	assert_int_equal(run(&c, "channel list"), LSP_EXIT_SYS);
	assert_true(matches(c.log, "^4 unable to open store reason=.+\n$"));
	assert_int_equal(run(&c, "token bob"), LSP_EXIT_SYS);
	assert_int_equal(run(&c, "dsar export bob"), LSP_EXIT_SYS);
	assert_int_equal(run(&c, "gc"), LSP_EXIT_SYS);
	assert_true(matches(c.log, "^3 command failed command=gc reason=.+\n$"));
	assert_int_equal(run(&c, "channel set alpha record=on"), LSP_EXIT_USAGE);
	assert_true(matches(c.log, "^3 command failed command=channel set reason=.+\n$"));
	free(c.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registry),
		cmocka_unit_test(usage_text),
		cmocka_unit_test(complaints),
		cmocka_unit_test(long_complaint),
		cmocka_unit_test_setup_teardown(channels, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(chat, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(recordings, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(dsar, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(no_store, setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
