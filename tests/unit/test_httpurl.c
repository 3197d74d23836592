/* test_httpurl.c — lib/httpurl: origin URLs checked and resolved (numeric hosts only: no DNS here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/httpurl.h"

static void good(void **s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char hp[64], err[128];
	(void)s;
	assert_int_equal(lsp_httpurl_resolve("http://127.0.0.1:8080", &ss, &sl, hp, sizeof hp, err, sizeof err), 0);
	assert_string_equal(hp, "127.0.0.1:8080");
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	assert_int_equal(lsp_httpurl_resolve("http://10.1.2.3/", &ss, &sl, hp, sizeof hp, err, sizeof err), 0);
	assert_string_equal(hp, "10.1.2.3");
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 80);
	assert_int_equal(lsp_httpurl_resolve("http://[::1]:8083", &ss, &sl, hp, sizeof hp, err, sizeof err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
}

static void bad(void **s)
{
	static const char *const urls[] = { "https://127.0.0.1", "127.0.0.1:80", "http://", "http:///x",
					    "http://127.0.0.1:8080/hls", "http://127.0.0.1:0", "http://127.0.0.1:70000",
					    "http://127.0.0.1:x", "ftp://h" };
	struct sockaddr_storage ss;
	socklen_t sl;
	char hp[64], err[128];
	(void)s;
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		err[0] = 0;
		assert_int_equal(lsp_httpurl_resolve(urls[i], &ss, &sl, hp, sizeof hp, err, sizeof err), -EINVAL);
		assert_non_null(strstr(err, "origin "));
	}
	/* hostport buffer too small */
	assert_int_equal(lsp_httpurl_resolve("http://127.0.0.1:8080", &ss, &sl, hp, 8, err, sizeof err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(good), cmocka_unit_test(bad) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
