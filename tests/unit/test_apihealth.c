/* Unit tests: lib/api/health.c — the latest health message per channel
 * from lsp.stream.<channel>.health: kept and replaced, other subjects and
 * oversized messages ignored, the table's bound, truncation on read, and
 * a reader racing a writer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api/health.h"

#define MSG(h, subj, s) lsp_health_on_msg(h, subj, s, strlen(s))

static void latest(void **s)
{
	lsp_health *h;
	char out[LSP_HEALTH_JSON_MAX], big[LSP_HEALTH_JSON_MAX + 8];
	(void)s;
	assert_int_equal(lsp_health_new(&h), 0);
	assert_int_equal(lsp_health_get(h, "show", out, sizeof out), -1);
	MSG(h, "lsp.stream.show.health", "{\"fps\":30}");
	assert_int_equal(lsp_health_get(h, "show", out, sizeof out), 0);
	assert_string_equal(out, "{\"fps\":30}");
	MSG(h, "lsp.stream.show.health", "{\"fps\":25}");
	assert_int_equal(lsp_health_get(h, "show", out, sizeof out), 0);
	assert_string_equal(out, "{\"fps\":25}");
	/* not health, not ours, not a valid channel: ignored */
	MSG(h, "lsp.stream.other.live", "{\"x\":1}");
	MSG(h, "lsp.chat.other", "{\"x\":1}");
	MSG(h, "lsp.stream.Bad!.health", "{\"x\":1}");
	MSG(h, "other.show.health", "{\"x\":1}");
	assert_int_equal(lsp_health_get(h, "other", out, sizeof out), -1);
	assert_int_equal(lsp_health_get(h, "Bad!", out, sizeof out), -1);
	/* a message too long to keep leaves the last one */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	MSG(h, "lsp.stream.show.health", big);
	assert_int_equal(lsp_health_get(h, "show", out, sizeof out), 0);
	assert_string_equal(out, "{\"fps\":25}");
	/* a short reader buffer gets a truncated, terminated copy */
	assert_int_equal(lsp_health_get(h, "show", out, 5), 0);
	assert_string_equal(out, "{\"fp");
	lsp_health_free(h);
	assert_int_equal(lsp_health_get(NULL, "show", out, sizeof out), -1);
	lsp_health_on_msg(NULL, "lsp.stream.show.health", "{}", 2); /* no table: nothing happens */
}

static void bounded(void **s)
{
	lsp_health *h;
	char subj[96], name[32], out[64];
	(void)s;
	assert_int_equal(lsp_health_new(&h), 0);
	for (int i = 0; i < LSP_HEALTH_CHANNELS + 10; i++) {
		snprintf(subj, sizeof subj, "lsp.stream.c%d.health", i);
		snprintf(name, sizeof name, "{\"n\":%d}", i);
		MSG(h, subj, name);
	}
	assert_int_equal(lsp_health_get(h, "c0", out, sizeof out), 0);
	assert_string_equal(out, "{\"n\":0}");
	snprintf(name, sizeof name, "c%d", LSP_HEALTH_CHANNELS - 1);
	assert_int_equal(lsp_health_get(h, name, out, sizeof out), 0);
	snprintf(name, sizeof name, "c%d", LSP_HEALTH_CHANNELS);
	assert_int_equal(lsp_health_get(h, name, out, sizeof out), -1); /* full: not kept */
	MSG(h, "lsp.stream.c0.health", "{\"n\":-1}"); /* a known one still updates */
	assert_int_equal(lsp_health_get(h, "c0", out, sizeof out), 0);
	assert_string_equal(out, "{\"n\":-1}");
	lsp_health_free(h);
}

static void *writer(void *arg)
{
	for (int i = 0; i < 20000; i++)
		MSG((lsp_health *)arg, "lsp.stream.race.health", i % 2 ? "{\"a\":\"1111111111\"}" : "{\"b\":\"22\"}");
	return NULL;
}

/* Each read is one whole message, never a mix of two. */
static void threads(void **s)
{
	lsp_health *h;
	pthread_t th;
	char out[64];
	(void)s;
	assert_int_equal(lsp_health_new(&h), 0);
	assert_int_equal(pthread_create(&th, NULL, writer, h), 0);
	for (int i = 0; i < 20000; i++)
		if (lsp_health_get(h, "race", out, sizeof out) == 0)
			assert_true(!strcmp(out, "{\"a\":\"1111111111\"}") || !strcmp(out, "{\"b\":\"22\"}"));
	pthread_join(th, NULL);
	lsp_health_free(h);
}

/* The ingest's status file: read when fresh, refused when stale, missing,
 * too long or for a bad channel name. */
static void file(void **s)
{
	char dir[] = "/tmp/lsp-apihealth-XXXXXX", path[128], out[256];
	const char *j = "{\"channel\":\"show\",\"bframes\":true}";
	struct timeval old[2] = { { 1000, 0 }, { 1000, 0 } };
	FILE *f;
	long long now = (long long)time(NULL);
	(void)s;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lsp_health_file(dir, "show", now, out, sizeof out), -1);
	snprintf(path, sizeof path, "%s/show.health.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(j, f);
	fclose(f);
	assert_int_equal(lsp_health_file(dir, "show", now, out, sizeof out), 0);
	assert_string_equal(out, j);
	assert_int_equal(lsp_health_file(dir, "show", now, out, 10), -1);
	assert_int_equal(lsp_health_file(dir, "../show", now, out, sizeof out), -1);
	assert_int_equal(lsp_health_file(dir, "show", now + LSP_HEALTH_FILE_FRESH_S + 5, out, sizeof out), -1);
	assert_int_equal(utimes(path, old), 0);
	assert_int_equal(lsp_health_file(dir, "show", now, out, sizeof out), -1);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(latest),
		cmocka_unit_test(bounded),
		cmocka_unit_test(threads),
		cmocka_unit_test(file),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
