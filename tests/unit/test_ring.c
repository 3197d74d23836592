/* test_ring — lib/ring: write/read round trip, one writer only, overrun
 * detection, keyframe seek, a reader that falls behind, reopen keeps
 * sequence numbers, a writer process racing a reader (no torn reads). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/ring.h"
#include "media/ringtee.h"

static char path[64];

static int setup(void **state)
{
	snprintf(path, sizeof path, "/tmp/lsp-ring-test-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	lsp_ring_unlink(path);
	return 0;
}

static void fill(uint8_t *b, size_t n, unsigned v)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v + i);
}

static void roundtrip(void **state)
{
	lsp_ring *w, *r;
	char err[128];
	uint8_t in[1000], out[2000];
	lsp_ring_entry e;
	lsp_ring *w2;
	assert_int_equal(lsp_ring_create(&w, path, 16, 65536, err, sizeof err), 0);
	assert_int_equal(lsp_ring_create(&w2, path, 16, 65536, err, sizeof err), -EBUSY); /* one writer */
	assert_int_equal(lsp_ring_open(&r, path, err, sizeof err), 0);
	assert_int_equal(lsp_ring_head(r), 0);
	assert_int_equal(lsp_ring_read(r, 0, &e, out, sizeof out), -EAGAIN);
	fill(in, sizeof in, 7);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, LSP_RING_KEY, 9000, 6000, in, sizeof in), 0);
	assert_int_equal(lsp_ring_write(w, LSP_RING_AUDIO, 0, 9100, 9100, in, 10), 0);
	assert_int_equal(lsp_ring_head(r), 2);
	assert_int_equal(lsp_ring_read(r, 0, &e, out, sizeof out), 0);
	assert_int_equal(e.len, sizeof in);
	assert_int_equal(e.kind, LSP_RING_VIDEO);
	assert_int_equal(e.flags, LSP_RING_KEY);
	assert_int_equal(e.pts, 9000);
	assert_int_equal(e.dts, 6000);
	assert_memory_equal(out, in, sizeof in);
	assert_int_equal(lsp_ring_read(r, 1, &e, out, 5), -ENOSPC);
	assert_int_equal(e.len, 10);
	assert_int_equal(lsp_ring_seek_key(r), 0);
	/* too large for the ring */
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 0, 0, in, 65536 / 4 + 1), -E2BIG);
	assert_int_equal(lsp_ring_ended(r), 0);
	lsp_ring_end(w);
	assert_int_equal(lsp_ring_ended(r), 1);
	lsp_ring_close(r);
	lsp_ring_close(w);
}

static void overrun_and_seek(void **state)
{
	lsp_ring *w, *r;
	char err[128];
	static uint8_t in[10000], out[20000];
	lsp_ring_entry e;
	assert_int_equal(lsp_ring_create(&w, path, 16, 65536, err, sizeof err), 0);
	assert_int_equal(lsp_ring_open(&r, path, err, sizeof err), 0);
	/* 40 entries of 10000 bytes: slots and bytes both wrap */
	for (unsigned i = 0; i < 40; i++) {
		fill(in, sizeof in, i);
		assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, i % 10 == 0 ? LSP_RING_KEY : 0, i, i, in,
						sizeof in), 0);
	}
	assert_int_equal(lsp_ring_read(r, 0, &e, out, sizeof out), LSP_RING_OVERRUN);
	/* 64 KiB hold 6 entries of 10000 bytes; 34..39 remain */
	assert_int_equal(lsp_ring_read(r, 33, &e, out, sizeof out), LSP_RING_OVERRUN);
	for (unsigned i = 34; i < 40; i++) {
		assert_int_equal(lsp_ring_read(r, i, &e, out, sizeof out), 0);
		fill(in, sizeof in, i);
		assert_memory_equal(out, in, sizeof in);
		assert_int_equal(e.pts, i);
	}
	/* newest key (30) is gone: seek gives head */
	assert_int_equal(lsp_ring_seek_key(r), 40);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, LSP_RING_KEY, 40, 40, in, 100), 0);
	assert_int_equal(lsp_ring_write(w, LSP_RING_VIDEO, 0, 41, 41, in, 100), 0);
	assert_int_equal(lsp_ring_seek_key(r), 40);
	/* a writer restart keeps the numbering, bumps the generation */
	uint64_t g = lsp_ring_generation(r);
	lsp_ring_close(w);
	assert_int_equal(lsp_ring_create(&w, path, 16, 65536, err, sizeof err), 0);
	assert_int_equal(lsp_ring_generation(r), g + 1);
	assert_int_equal(lsp_ring_head(r), 42);
	assert_int_equal(lsp_ring_seek_key(r), 42);
	lsp_ring_close(r);
	lsp_ring_close(w);
}

static void not_a_ring(void **state)
{
	lsp_ring *r;
	char err[128];
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello, not a ring at all, just some bytes that are long enough maybe", f);
	fclose(f);
	assert_int_equal(lsp_ring_open(&r, path, err, sizeof err), -EINVAL);
	lsp_ring_unlink(path);
	assert_int_equal(lsp_ring_open(&r, path, err, sizeof err), -ENOENT);
	assert_int_equal(lsp_ring_create(&r, path, 15, 65536, err, sizeof err), -EINVAL);
}

/* A writer process races a reader: every read that succeeds must hold
 * exactly what was written for that sequence number (no torn copy is
 * ever returned), and the reader keeps up or skips, never stalls. */
static void concurrent(void **state)
{
	lsp_ring *w, *r;
	char err[128];
	static uint8_t out[70000];
	lsp_ring_entry e;
	long good = 0, overruns = 0;
	uint64_t seq = 0;
	pid_t pid;
	int st;
	int go[2];
	assert_int_equal(lsp_ring_create(&w, path, 64, 1 << 17, err, sizeof err), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t in[30000];
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1) /* start with the reader */
			_exit(1);
		for (unsigned i = 0; i < 200000; i++) {
			size_t n = 16 + (i * 7919u) % 2000;
			if (i % 64 == 0)
				usleep(1);
			memset(in, (int)(i & 0xff), n);
			memcpy(in, &i, sizeof i);
			lsp_ring_write(w, LSP_RING_VIDEO, i % 30 == 0 ? LSP_RING_KEY : 0, i, i, in, n);
		}
		lsp_ring_end(w);
		_exit(0);
	}
	assert_int_equal(lsp_ring_open(&r, path, err, sizeof err), 0);
	close(go[0]);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	for (;;) {
		int rc = lsp_ring_read(r, seq, &e, out, sizeof out);
		if (rc == -EAGAIN) {
			if (lsp_ring_ended(r) && seq >= lsp_ring_head(r))
				break;
			continue;
		}
		if (rc == LSP_RING_OVERRUN) {
			overruns++;
			seq = lsp_ring_seek_key(r);
			continue;
		}
		assert_int_equal(rc, 0);
		unsigned v;
		memcpy(&v, out, sizeof v);
		assert_int_equal(v, (unsigned)seq);
		assert_int_equal(e.len, 16 + (seq * 7919u) % 2000);
		assert_int_equal(out[e.len - 1], (uint8_t)(seq & 0xff));
		assert_int_equal(e.pts, (int64_t)seq);
		good++;
		seq++;
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(good > 1000);
	print_message("concurrent: %ld entries read intact, %ld overruns skipped\n", good, overruns);
	lsp_ring_close(r);
	lsp_ring_close(w);
}

static void idr_scan(void **state)
{
	const uint8_t idr[] = { 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 0x88 };
	const uint8_t p[] = { 0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a };
	assert_int_equal(lsp_h264_is_idr(idr, sizeof idr), 1);
	assert_int_equal(lsp_h264_is_idr(p, sizeof p), 0);
	assert_int_equal(lsp_h264_is_idr(idr, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(overrun_and_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(not_a_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent, setup, teardown),
		cmocka_unit_test(idr_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
