/* srtp — SRTP throughput of lib/rtc/srtp (OpenSSL EVP) against libsrtp2,
 * the same profiles on the same packets, side by side in one run: RTP
 * packets of a 12-byte header and a 1200-byte payload, one SSRC.
 *   protect:   in place, sequence numbers counting up
 *   unprotect: copies of 4096 packets protected beforehand, a fresh
 *              receiver for each pass (only the loop is timed)
 * Every case runs ROUNDS times, interleaved with the others so that load
 * changes hit all of them alike; the median round is printed, as packets
 * per CPU-second of this thread and payload Gb/s at that rate, then the
 * wall-clock rate.  Built and run by bench/srtp.
 * Usage: srtp [ROUNDS [PACKETS]]   (default 7 rounds of 40960 packets,
 * PACKETS rounded up to a multiple of 4096) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "rtc/srtp.h"

enum { PAYLOAD = 1200, HDR = 12, PKT = HDR + PAYLOAD, NPRE = 4096, MAXR = 64 };

static const uint8_t key[16] = "bench-srtp-key!";
static const uint8_t salt[14] = "bench-srtp-sa";

struct impl {
	const char *name;
	int ours, profile;
	lsp_srtp *s;
	srtp_t ls;
};

static double now(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void mkpkt(uint8_t *b, unsigned seq)
{
	b[0] = 0x80;
	b[1] = 96;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	memset(b + 4, 0x11, 4);
	memcpy(b + 8, "\x5e\xed\x00\x01", 4);
	for (int i = HDR; i < PKT; i++)
		b[i] = (uint8_t)(i * 31 + seq);
}

static int open_impl(struct impl *m, int inbound)
{
	char err[200];
	if (m->ours) {
		if (lsp_srtp_new(&m->s, m->profile, key, salt, err, sizeof err) < 0) {
			fprintf(stderr, "srtp: %s\n", err);
			return -1;
		}
	} else {
		srtp_policy_t p;
		uint8_t k[30];
		memset(&p, 0, sizeof p);
		if (m->profile == LSP_SRTP_AEAD_AES_128_GCM) {
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
		} else {
			srtp_crypto_policy_set_rtp_default(&p.rtp);
			srtp_crypto_policy_set_rtcp_default(&p.rtcp);
		}
		memcpy(k, key, 16);
		memcpy(k + 16, salt, (size_t)lsp_srtp_salt_len(m->profile));
		p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
		p.key = k;
		p.window_size = 1024;
		p.allow_repeat_tx = 1;
		if (srtp_create(&m->ls, &p) != srtp_err_status_ok) {
			fprintf(stderr, "srtp: srtp_create failed\n");
			return -1;
		}
	}
	return 0;
}

static void close_impl(struct impl *m)
{
	lsp_srtp_free(m->s);
	m->s = NULL;
	if (m->ls)
		srtp_dealloc(m->ls);
	m->ls = NULL;
}

static int protect(struct impl *m, uint8_t *b, int len)
{
	if (m->ours)
		return lsp_srtp_protect(m->s, b, (size_t)len, PKT + 64);
	return srtp_protect(m->ls, b, &len) == srtp_err_status_ok ? len : -1;
}

static int unprotect(struct impl *m, uint8_t *b, int len)
{
	if (m->ours)
		return lsp_srtp_unprotect(m->s, b, (size_t)len);
	return srtp_unprotect(m->ls, b, &len) == srtp_err_status_ok ? len : -1;
}

/* One round of n packets; CPU and wall seconds to *cpu, *wall. */
static int run(struct impl *m, int dir, long n, uint8_t (*pre)[PKT + 64], const int *prelen, double *cpu,
	       double *wall)
{
	static uint8_t b[PKT + 64];
	static unsigned seq;
	double c = 0, w = 0;
	mkpkt(b, 0);
	if (dir == 0) {
		double c0, w0;
		if (open_impl(m, 0) < 0)
			return -1;
		c0 = now(CLOCK_THREAD_CPUTIME_ID);
		w0 = now(CLOCK_MONOTONIC);
		for (long i = 0; i < n; i++) {
			b[2] = (uint8_t)(++seq >> 8);
			b[3] = (uint8_t)seq;
			if (protect(m, b, PKT) < 0)
				return -1;
		}
		c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
		w = now(CLOCK_MONOTONIC) - w0;
		close_impl(m);
	} else {
		for (long done = 0; done < n; done += NPRE) {
			double c0, w0;
			if (open_impl(m, 1) < 0)
				return -1;
			c0 = now(CLOCK_THREAD_CPUTIME_ID);
			w0 = now(CLOCK_MONOTONIC);
			for (int i = 0; i < NPRE; i++) {
				memcpy(b, pre[i], (size_t)prelen[i]);
				if (unprotect(m, b, prelen[i]) != PKT)
					return -1;
			}
			c += now(CLOCK_THREAD_CPUTIME_ID) - c0;
			w += now(CLOCK_MONOTONIC) - w0;
			close_impl(m);
		}
	}
	*cpu = c;
	*wall = w;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static uint8_t pre[2][NPRE][PKT + 64];
	static int prelen[2][NPRE];
	static double cpu[8][MAXR], wall[8][MAXR];
	struct impl impls[4] = {
		{ "lsp (OpenSSL)", 1, LSP_SRTP_AES128_CM_SHA1_80, NULL, NULL },
		{ "libsrtp2", 0, LSP_SRTP_AES128_CM_SHA1_80, NULL, NULL },
		{ "lsp (OpenSSL)", 1, LSP_SRTP_AEAD_AES_128_GCM, NULL, NULL },
		{ "libsrtp2", 0, LSP_SRTP_AEAD_AES_128_GCM, NULL, NULL },
	};
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	long n = argc > 2 ? atol(argv[2]) : 40960;
	double la[3] = { 0 }, lb[3] = { 0 };
	char model[256] = "?", flags[64] = "", line[4096];
	FILE *f;
	if (rounds < 1 || rounds > MAXR || n < NPRE) {
		fprintf(stderr, "usage: srtp [ROUNDS (1-%d) [PACKETS (>= %d)]]\n", MAXR, NPRE);
		return 100;
	}
	f = fopen("/proc/cpuinfo", "r");
	n = (n + NPRE - 1) / NPRE * NPRE; /* whole unprotect passes */
	while (f && fgets(line, sizeof line, f)) {
		(void)sscanf(line, "model name : %255[^\n]", model);
		if (strncmp(line, "flags", 5) == 0) {
			static const char *want[] = { "aes", "pclmulqdq", "sha_ni", "vaes" };
			for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
				char w[32];
				size_t fl = strlen(flags);
				snprintf(w, sizeof w, " %s ", want[i]);
				line[strcspn(line, "\n")] = ' ';
				if (strstr(line, w))
					snprintf(flags + fl, sizeof flags - fl, "%s%s", fl ? " " : "", want[i]);
			}
			break;
		}
	}
	if (f)
		fclose(f);
	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp: srtp_init failed\n");
		return 111;
	}
	/* unprotect input: 4096 packets per profile, protected by ours (the
	 * interop test shows both read them alike) */
	for (int p = 0; p < 2; p++) {
		struct impl m = { "", 1, p ? LSP_SRTP_AEAD_AES_128_GCM : LSP_SRTP_AES128_CM_SHA1_80, NULL, NULL };
		if (open_impl(&m, 0) < 0)
			return 111;
		for (int i = 0; i < NPRE; i++) {
			mkpkt(pre[p][i], (unsigned)i);
			if ((prelen[p][i] = protect(&m, pre[p][i], PKT)) < 0)
				return 111;
		}
		close_impl(&m);
	}
	(void)getloadavg(la, 3);
	for (int r = 0; r < rounds; r++)
		for (int c = 0; c < 8; c++) {
			struct impl *m = &impls[c % 4];
			int p = m->profile == LSP_SRTP_AEAD_AES_128_GCM, dir = c / 4;
			if (run(m, dir, n, pre[p], prelen[p], &cpu[c][r], &wall[c][r]) < 0) {
				fprintf(stderr, "srtp: %s %s failed\n", m->name, dir ? "unprotect" : "protect");
				return 111;
			}
		}
	(void)getloadavg(lb, 3);
	printf("SRTP, %d-byte RTP packets (%d-byte payload), %d rounds x %ld packets, median round\n", PKT,
	       PAYLOAD, rounds, n);
	printf("cpu: %s (%s); %s; %s\n", model, flags, OpenSSL_version(OPENSSL_VERSION), srtp_get_version_string());
	printf("load average before %.2f %.2f %.2f, after %.2f %.2f %.2f\n", la[0], la[1], la[2], lb[0], lb[1],
	       lb[2]);
	printf("%-10s %-24s %-14s %12s %12s %10s %12s\n", "op", "profile", "impl", "pkt/cpu-s", "Gb/s(cpu)",
	       "us/pkt", "pkt/wall-s");
	for (int c = 0; c < 8; c++) {
		struct impl *m = &impls[c % 4];
		double mc, mw, rate;
		qsort(cpu[c], (size_t)rounds, sizeof(double), cmp);
		qsort(wall[c], (size_t)rounds, sizeof(double), cmp);
		mc = cpu[c][rounds / 2];
		mw = wall[c][rounds / 2];
		rate = (double)n / mc;
		printf("%-10s %-24s %-14s %12.0f %12.2f %10.3f %12.0f\n", c / 4 ? "unprotect" : "protect",
		       m->profile == LSP_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80",
		       m->name, rate, rate * PAYLOAD * 8 / 1e9, 1e6 / rate, (double)n / mw);
	}
	(void)srtp_shutdown();
	return 0;
}
