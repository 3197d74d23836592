/* lsp-ring — MPEG-TS tee into a channel's shared-memory ring: TS on stdin
 * goes unchanged to stdout, and its H.264 access units and AAC frames are
 * appended to /dev/shm/lsp-ring-CHANNEL for lsp-rtc (WHEP) to read.
 * Exit codes (man/lsp.7): 0 end of input, 100 usage, 111 I/O failure. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "media/ring.h"
#include "media/ringtee.h"

static const char usage[] =
	"usage: lsp-ring [-h] [-V] --channel NAME [--no-pass] [--slots N] [--size MIB] < in.ts > out.ts\n"
	"  -c, --channel NAME   channel whose ring to write (/dev/shm/lsp-ring-NAME)\n"
	"  -n, --no-pass        do not copy the TS to stdout (ring only)\n"
	"  -s, --slots N        entries held (power of two, default 4096)\n"
	"  -m, --size MIB       data bytes held in MiB (default 16)\n"
	"  -k, --keep           leave the ring file in place at the end\n"
	"environment: LSP_RING_DIR (default /dev/shm), LSP_LOG_LEVEL\n"
	"exit: 0 end of input, 100 usage, 111 I/O failure\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "channel", required_argument, NULL, 'c' }, { "no-pass", no_argument, NULL, 'n' },
		{ "slots", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'm' },
		{ "keep", no_argument, NULL, 'k' }, { NULL, 0, NULL, 0 }
	};
	const char *channel = NULL;
	long slots = 4096, mib = 16;
	int pass = 1, keep = 0, c, rc;
	char path[512], err[256];
	lsp_ring *ring = NULL;
	lsp_ringtee_stats st;
	lsp_log_t lg;
	lsp_log_init(&lg, "lsp-ring");
	/* libav's own messages as JSON lines, only when debugging */
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	while ((c = getopt_long(argc, argv, "hVc:ns:m:k", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': puts("lsp-ring " LSP_VERSION); return LSP_EXIT_OK;
		case 'c': channel = optarg; break;
		case 'n': pass = 0; break;
		case 'k': keep = 1; break;
		case 's':
			if (lsp_opt_long(optarg, 16, 1 << 20, &slots) < 0 || (slots & (slots - 1))) {
				fputs(usage, stderr);
				return LSP_EXIT_USAGE;
			}
			break;
		case 'm':
			if (lsp_opt_long(optarg, 1, 4096, &mib) < 0) {
				fputs(usage, stderr);
				return LSP_EXIT_USAGE;
			}
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc || !channel || !lsp_name_valid(channel)) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (lsp_ring_path(channel, path, sizeof path) < 0 ||
	    lsp_ring_create(&ring, path, (uint32_t)slots, (uint64_t)mib << 20, err, sizeof err) < 0) {
		/* the TS path matters more than the ring: keep passing it through */
		lsp_log(&lg, pass ? LSP_ERROR : LSP_FATAL, "unable to create ring", "channel", LSV_S(channel),
			"reason", LSV_S(err), NULL);
		if (!pass)
			return LSP_EXIT_SYS;
		ring = NULL;
	} else
		lsp_log(&lg, LSP_INFO, "ring open", "channel", LSV_S(channel), "path", LSV_S(path), NULL);
	rc = lsp_ringtee_run(0, pass ? 1 : -1, ring, &st, err, sizeof err);
	if (ring) {
		lsp_ring_end(ring);
		lsp_ring_close(ring);
		if (!keep)
			lsp_ring_unlink(path);
	}
	lsp_log(&lg, rc < 0 ? LSP_ERROR : LSP_INFO, "ring closed", "channel", LSV_S(channel), "bytes",
		LSV_I(st.bytes), "video", LSV_I(st.video), "keys", LSV_I(st.keys), "audio",
		LSV_I(st.audio), "dropped", LSV_I(st.dropped), "reason", LSV_S(rc < 0 ? err : ""), NULL);
	return rc < 0 ? LSP_EXIT_SYS : LSP_EXIT_OK;
}
