/* Unit tests: lib/core/fsio.c (atomic publish, mkdirs, unlink). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsio.h"

static char base[64];

static int setup(void **s)
{
	(void)s;
	snprintf(base, sizeof base, "/tmp/lsp-fsio.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	(void)s;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t slurp(const char *dir, const char *name, char *buf, size_t cap)
{
	char p[256];
	FILE *f;
	size_t n;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (!(f = fopen(p, "rb")))
		return (size_t)-1;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void publish(void **s)
{
	char err[256] = "", buf[64], dir[128];
	(void)s;
	snprintf(dir, sizeof dir, "%s/a/b/c", base);
	assert_int_equal(lsp_fsio_mkdirs(dir, err, sizeof err), 0);
	assert_int_equal(lsp_fsio_mkdirs(dir, err, sizeof err), 0); /* exists: fine */
	assert_int_equal(lsp_fsio_publish(dir, "x.m3u8", "first", 5, 0, err, sizeof err), 0);
	assert_int_equal(slurp(dir, "x.m3u8", buf, sizeof buf), 5);
	assert_memory_equal(buf, "first", 5);
	assert_int_equal(lsp_fsio_publish(dir, "x.m3u8", "two", 3, LSP_FSIO_SYNC, err, sizeof err), 0);
	assert_int_equal(slurp(dir, "x.m3u8", buf, sizeof buf), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(lsp_fsio_publish(dir, "empty", "", 0, 0, err, sizeof err), 0);
	assert_int_equal(slurp(dir, "empty", buf, sizeof buf), 0);
	assert_int_equal(entries(dir), 2); /* no temporary left behind */
	assert_int_equal(lsp_fsio_unlink(dir, "x.m3u8", err, sizeof err), 0);
	assert_int_equal(lsp_fsio_unlink(dir, "x.m3u8", err, sizeof err), 0); /* missing: fine */
	assert_int_equal(entries(dir), 1);
}

static void failures(void **s)
{
	char err[256] = "", dir[128], file[128];
	FILE *f;
	(void)s;
	snprintf(file, sizeof file, "%s/plain", base);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	snprintf(dir, sizeof dir, "%s/plain/sub", base);
	assert_true(lsp_fsio_mkdirs(dir, err, sizeof err) < 0);
	assert_non_null(strstr(err, "plain"));
	err[0] = 0;
	assert_int_equal(lsp_fsio_publish(dir, "x", "y", 1, 0, err, sizeof err), -ENOTDIR);
	assert_true(err[0] != 0);
	assert_int_equal(lsp_fsio_publish(base, "missing/x", "y", 1, 0, err, sizeof err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(publish),
		cmocka_unit_test(failures),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
