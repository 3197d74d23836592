/* aopus-cost — what the per-channel AAC → Opus step (lib/aopus) costs:
 * CPU time per AAC frame and the audio it holds back (samples waiting in
 * its FIFO for a full 20 ms Opus frame, plus the encoder's lookahead).
 * Usage: aopus-cost FILE.aac   (ADTS, e.g. ffmpeg ... -c:a aac -f adts) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rtc/aopus.h"

struct acc { long long pkts; int64_t last48; };

static void cb(void *ctx, const uint8_t *p, size_t len, uint32_t ts48)
{
	struct acc *a = ctx;
	a->pkts++;
	a->last48 = (int32_t)ts48;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 24];
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
	size_t n, off = 0;
	lsp_aopus *a;
	char err[200];
	struct acc acc = { 0, 0 };
	long long frames = 0;
	double held = 0, cpu = 0;
	if (!f)
		return 100;
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (lsp_aopus_open(&a, 64000, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 111;
	}
	while (off + 7 <= n) {
		size_t fl = ((size_t)(buf[off + 3] & 3) << 11) | ((size_t)buf[off + 4] << 3) | (buf[off + 5] >> 5);
		struct timespec t0, t1;
		int64_t pts = frames * 1024 * 90000 / 48000;
		if (fl < 7 || off + fl > n)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		lsp_aopus_put(a, buf + off, fl, pts, cb, &acc, err, sizeof err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		cpu += (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
		frames++;
		/* input seen up to the end of this AAC frame vs Opus emitted so far */
		if (acc.pkts)
			held += (double)(frames * 1024 - (acc.last48 + 960)) / 48.0;
		off += fl;
	}
	printf("{\"aac_frames\":%lld,\"opus_packets\":%lld,\"cpu_us_per_aac_frame\":%.1f,"
	       "\"cpu_share_of_one_core\":%.4f,\"avg_held_ms\":%.1f,\"opus_lookahead_ms\":2.5}\n",
	       frames, acc.pkts, cpu / (double)frames, cpu / 1e6 / ((double)frames * 1024 / 48000),
	       held / (double)frames);
	lsp_aopus_close(a);
	return 0;
}
