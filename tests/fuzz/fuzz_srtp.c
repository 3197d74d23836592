/* fuzz_srtp.c — libFuzzer harness for lib/rtc/srtp.  The first byte picks
 * the profile (bit 0: AEAD_AES_128_GCM, else AES_CM_128_HMAC_SHA1_80) and
 * the kind (bit 1: SRTCP); the rest goes to unprotect on a long-lived
 * receiver keyed like the sender that made the seeds
 * (tests/fuzz/corpus/srtp/: that byte, then a protected packet).  Then the
 * same bytes, as a plain packet, go through protect and unprotect on a
 * fresh pair of contexts and must come back unchanged.  Built by
 * `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/srtp.h"

static const uint8_t key[16] = "lsp-fuzz-srtp-k";
static const uint8_t salt[14] = "lsp-fuzz-salt";

static lsp_srtp *mk(int profile)
{
	char err[128];
	lsp_srtp *s;
	if (lsp_srtp_new(&s, profile, key, salt, err, sizeof err) < 0)
		abort();
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lsp_srtp *rx[2];
	static uint8_t buf[65536 + LSP_SRTP_MAX_TRAILER], plain[65536];
	int gcm, rtcp, profile, r;
	lsp_srtp *tx, *rx2;
	if (size < 1 || size > 65536)
		return 0;
	gcm = data[0] & 1;
	rtcp = (data[0] >> 1) & 1;
	profile = gcm ? LSP_SRTP_AEAD_AES_128_GCM : LSP_SRTP_AES128_CM_SHA1_80;
	if (!rx[gcm])
		rx[gcm] = mk(profile);
	data++;
	size--;

	memcpy(buf, data, size);
	r = rtcp ? lsp_srtcp_unprotect(rx[gcm], buf, size) : lsp_srtp_unprotect(rx[gcm], buf, size);
	if (r > (int)size)
		abort();

	tx = mk(profile);
	rx2 = mk(profile);
	memcpy(plain, data, size);
	memcpy(buf, data, size);
	r = rtcp ? lsp_srtcp_protect(tx, buf, size, sizeof buf) : lsp_srtp_protect(tx, buf, size, sizeof buf);
	if (r >= 0) {
		if ((size_t)r <= size || (size_t)r > size + LSP_SRTP_MAX_TRAILER)
			abort();
		r = rtcp ? lsp_srtcp_unprotect(rx2, buf, (size_t)r) : lsp_srtp_unprotect(rx2, buf, (size_t)r);
		if (r != (int)size || memcmp(buf, plain, size) != 0)
			abort();
	}
	lsp_srtp_free(tx);
	lsp_srtp_free(rx2);
	return 0;
}
