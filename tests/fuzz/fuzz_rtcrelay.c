/* fuzz_rtcrelay.c — libFuzzer harness for lib/rtcrelay, the framing an edge
 * lsp-rtc reads from its origin (and, with a bound of 0, the keyframe
 * requests and pings an origin reads from its edges): the input is fed whole and again in
 * pieces whose sizes come from its first bytes (the reader must give the
 * same frames either way), each frame checked against the contract
 * (payload within the bound, time stamps in range, control frames' sizes).
 * Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/rtcrelay.h"

#define MAX 4096

static void check(const lsp_rtcrelay_frame *f, size_t max)
{
	if (f->len > max || (f->len && !f->data))
		abort();
	if (f->kind < LSP_RTCRELAY_VIDEO || f->kind > LSP_RTCRELAY_KEYREQ)
		abort();
	if (f->kind == LSP_RTCRELAY_GEN ? f->len != LSP_RTCRELAY_GEN_LEN : f->kind > LSP_RTCRELAY_GEN && f->len)
		abort();
	if ((f->pts != INT64_MIN && (f->pts > LSP_RTCRELAY_TS_MAX || f->pts < -LSP_RTCRELAY_TS_MAX)) ||
	    (f->dts != INT64_MIN && (f->dts > LSP_RTCRELAY_TS_MAX || f->dts < -LSP_RTCRELAY_TS_MAX)))
		abort();
	if (f->len) { /* touch every payload byte (ASan sees a bad buffer) */
		volatile uint8_t x = 0;
		for (size_t i = 0; i < f->len; i++)
			x ^= f->data[i];
		(void)x;
	}
}

/* Feed data in pieces (sizes cycled from steps); returns frames read and a
 * running hash of them, or -1 after an error. */
static long run(const uint8_t *data, size_t size, const uint8_t *steps, size_t nsteps, size_t max, uint64_t *hash)
{
	lsp_rtcrelay_rd rd;
	lsp_rtcrelay_frame f;
	size_t off = 0, used, si = 0;
	long n = 0;
	int rc = 0;
	lsp_rtcrelay_init(&rd, max);
	*hash = 1469598103934665603ull;
	while (off < size && rc >= 0) {
		size_t k = nsteps ? (size_t)steps[si++ % nsteps] + 1 : size;
		if (k > size - off)
			k = size - off;
		while (k) {
			rc = lsp_rtcrelay_feed(&rd, data + off, k, &used, &f);
			if (used > k)
				abort();
			off += used;
			k -= used;
			if (rc <= 0)
				break;
			check(&f, max);
			n++;
			*hash = (*hash ^ (uint64_t)f.kind ^ f.seq ^ (uint64_t)f.pts ^ f.len) * 1099511628211ull;
			if (f.len)
				*hash ^= f.data[0] | (uint64_t)f.data[f.len - 1] << 8;
		}
		if (rc == 0 && k)
			abort(); /* "need more" must take every byte */
	}
	lsp_rtcrelay_free(&rd);
	return rc < 0 ? -1 - n : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h1, h2;
	size_t ns = size ? data[0] % 8 : 0;
	long a, b;
	if (size < 1 + ns)
		return 0;
	a = run(data + 1 + ns, size - 1 - ns, NULL, 0, MAX, &h1);
	b = run(data + 1 + ns, size - 1 - ns, data + 1, ns, MAX, &h2);
	if (a != b || h1 != h2)
		abort();
	/* the other direction: what an origin reads from an edge (no payloads) */
	a = run(data + 1 + ns, size - 1 - ns, NULL, 0, 0, &h1);
	b = run(data + 1 + ns, size - 1 - ns, data + 1, ns, 0, &h2);
	if (a != b || h1 != h2)
		abort();
	return 0;
}
