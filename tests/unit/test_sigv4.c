/* Unit tests: lib/push/sigv4.c against the published Signature Version 4
 * examples: the four worked examples of the S3 API reference ("Signature
 * Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk": GET Object with a Range, PUT Object, GET Bucket Lifecycle,
 * GET Bucket list objects) and the generic test suite's get-vanilla,
 * get-vanilla-query-order-key-case and post-vanilla, plus the encoding rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "push/sigv4.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
static const lsp_sigv4_cred s3doc = { "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				      "us-east-1", "s3" };
static const lsp_sigv4_cred suite = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
				      "service" };

static void sign(const lsp_sigv4_cred *c, const char *date, const lsp_sigv4_req *r, char *auth, size_t cap,
		 char sig[LSP_SIGV4_HEX])
{
	char err[256] = "";
	int rc = lsp_sigv4_authorization(c, date, r, auth, cap, sig, err, sizeof err);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
}

static void s3_get_object(void **s)
{
	const lsp_sigv4_hdr h[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-9" },
				    { "x-amz-content-sha256", EMPTY_SHA }, { "x-amz-date", "20130524T000000Z" } };
	lsp_sigv4_req r = { "GET", "/test.txt", NULL, h, 4, EMPTY_SHA };
	char canon[2048], sh[256], sts[512], err[128], auth[512], sig[LSP_SIGV4_HEX];
	(void)s;
	assert_int_equal(lsp_sigv4_canonical(&r, canon, sizeof canon, sh, sizeof sh, err, sizeof err), 0);
	assert_string_equal(canon, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
				   "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
				   "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
	assert_int_equal(lsp_sigv4_string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canon,
						  sts, sizeof sts),
			 0);
	assert_string_equal(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
				 "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	sign(&s3doc, "20130524T000000Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
				  "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
				  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void s3_put_object(void **s)
{
	char body_hash[LSP_SIGV4_HEX], auth[512], sig[LSP_SIGV4_HEX];
	const char *body = "Welcome to Amazon S3.";
	(void)s;
	lsp_sigv4_sha256_hex(body, strlen(body), body_hash);
	assert_string_equal(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	const lsp_sigv4_hdr h[] = { { "Host", "examplebucket.s3.amazonaws.com" },
				    { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
				    { "x-amz-date", "20130524T000000Z" },
				    { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
				    { "x-amz-content-sha256", body_hash } };
	/* the key holds a '$', which the canonical URI carries as %24 */
	lsp_sigv4_req r = { "PUT", "/test$file.text", NULL, h, 5, body_hash };
	sign(&s3doc, "20130524T000000Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	assert_non_null(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"));
}

static void s3_bucket_queries(void **s)
{
	const lsp_sigv4_hdr h[] = { { "Host", "examplebucket.s3.amazonaws.com" },
				    { "x-amz-date", "20130524T000000Z" },
				    { "x-amz-content-sha256", EMPTY_SHA } };
	lsp_sigv4_req r = { "GET", "/", "lifecycle", h, 3, EMPTY_SHA };
	char auth[512], sig[LSP_SIGV4_HEX];
	(void)s;
	sign(&s3doc, "20130524T000000Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	r.query = "prefix=J&max-keys=2"; /* given out of order: sorted for signing */
	sign(&s3doc, "20130524T000000Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void suite_vanilla(void **s)
{
	const lsp_sigv4_hdr h[] = { { "Host", "example.amazonaws.com" }, { "X-Amz-Date", "20150830T123600Z" } };
	lsp_sigv4_req r = { "GET", "/", NULL, h, 2, EMPTY_SHA };
	char canon[1024], sh[128], err[128], auth[512], sig[LSP_SIGV4_HEX], h2[LSP_SIGV4_HEX];
	(void)s;
	assert_int_equal(lsp_sigv4_canonical(&r, canon, sizeof canon, sh, sizeof sh, err, sizeof err), 0);
	lsp_sigv4_sha256_hex(canon, strlen(canon), h2);
	assert_string_equal(h2, "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	sign(&suite, "20150830T123600Z", &r, auth, sizeof auth, sig);
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
				  "SignedHeaders=host;x-amz-date, "
				  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	r.query = "Param2=value2&Param1=value1";
	sign(&suite, "20150830T123600Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	r.query = NULL;
	r.method = "POST";
	sign(&suite, "20150830T123600Z", &r, auth, sizeof auth, sig);
	assert_string_equal(sig, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

static void encoding_and_limits(void **s)
{
	char out[64], canon[64], sh[64], err[128], auth[64], sig[LSP_SIGV4_HEX];
	const lsp_sigv4_hdr h[] = { { "Host", "h" }, { "X-Amz-Date", "20150830T123600Z" },
				    { "X-Multi", "  a   b  " }, { "x-multi", "c" } };
	lsp_sigv4_req r = { "PUT", "/live/ch/720p/seg1.0.m4s", NULL, h, 4, EMPTY_SHA };
	char big[4096];
	(void)s;
	assert_int_equal(lsp_sigv4_uri_encode("/a b/c+d~e_f.g-h", 1, out, sizeof out), 0);
	assert_string_equal(out, "/a%20b/c%2Bd~e_f.g-h");
	assert_int_equal(lsp_sigv4_uri_encode("a/b", 0, out, sizeof out), 0);
	assert_string_equal(out, "a%2Fb");
	assert_int_equal(lsp_sigv4_uri_encode("0123456789", 1, out, 5), -ENOSPC);
	/* a canonical request that does not fit is refused, not truncated */
	assert_int_equal(lsp_sigv4_canonical(&r, canon, sizeof canon, sh, sizeof sh, err, sizeof err), -ENOSPC);
	assert_int_equal(lsp_sigv4_canonical(&r, big, sizeof big, sh, sizeof sh, err, sizeof err), 0);
	assert_non_null(strstr(big, "\nx-multi:a b,c\n"));
	assert_string_equal(sh, "host;x-amz-date;x-multi");
	/* an Authorization header that does not fit; a relative path */
	assert_int_equal(lsp_sigv4_authorization(&suite, "20150830T123600Z", &r, auth, sizeof auth, sig, err, sizeof err),
			 -ENOSPC);
	r.path = "seg1.m4s";
	assert_int_equal(lsp_sigv4_canonical(&r, big, sizeof big, sh, sizeof sh, err, sizeof err), -EINVAL);
	assert_int_equal(lsp_sigv4_authorization(&suite, "2015", &r, big, sizeof big, sig, err, sizeof err), -EINVAL);
	assert_null(strstr(err, suite.secret_key));
	lsp_sigv4_amzdate(1440938160, out);
	assert_string_equal(out, "20150830T123600Z");
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(s3_get_object),  cmocka_unit_test(s3_put_object),
		cmocka_unit_test(s3_bucket_queries), cmocka_unit_test(suite_vanilla),
		cmocka_unit_test(encoding_and_limits),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
