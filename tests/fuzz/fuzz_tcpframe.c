/* fuzz_tcpframe.c — libFuzzer harness for lib/rtc/tcpframe (RFC 4571, the
 * ICE-TCP framing): the input is fed whole and again in pieces whose sizes
 * come from its first bytes; both must give the same packets (or fail at
 * the same packet), each within the bound.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rtc/tcpframe.h"

#define MAX 1500

struct acc {
	long n;
	uint64_t hash;
};

static int take(void *ctx, const uint8_t *p, size_t len)
{
	struct acc *a = ctx;
	if (!len || len > MAX)
		abort();
	for (size_t i = 0; i < len; i++) /* every byte touched: ASan sees a bad buffer */
		a->hash = (a->hash ^ p[i]) * 1099511628211u;
	a->hash ^= len;
	a->n++;
	return 0;
}

static int run(const uint8_t *d, size_t n, const uint8_t *steps, size_t nsteps, struct acc *a)
{
	static lsp_tcpframe_rd rd;
	size_t o = 0, k = 0;
	lsp_tcpframe_init(&rd, MAX);
	while (o < n) {
		size_t step = nsteps ? (size_t)steps[k++ % nsteps] + 1 : n - o;
		int rc;
		if (step > n - o)
			step = n - o;
		if ((rc = lsp_tcpframe_feed(&rd, d + o, step, take, a)) < 0)
			return rc;
		o += step;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acc whole = { 0, 14695981039346656037u }, pieces = whole;
	size_t ns = size ? data[0] % 8 : 0;
	int a, b;
	if (size < 1 + ns)
		return 0;
	a = run(data + 1 + ns, size - 1 - ns, NULL, 0, &whole);
	b = run(data + 1 + ns, size - 1 - ns, data + 1, ns, &pieces);
	if (a != b || whole.n != pieces.n || whole.hash != pieces.hash)
		abort();
	return 0;
}
