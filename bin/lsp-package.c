/* lsp-package — MPEG-TS on stdin (one or many programs) to an LL-HLS
 * directory: CMAF init/parts/segments, media playlists, master.m3u8.
 * Exit codes (man/lsp.7): 0 input ended and playlists closed, 100 usage,
 * 111 input or output failure. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

#include "exit.h"
#include "log.h"
#include "opt.h"
#include "pack.h"

static const char usage[] =
	"usage: lsp-package --out DIR [-i FILE|-] [--part SEC] [--segment SEC] [--window N] [--dvr SEC]\n"
	"  -o, --out DIR       channel directory (master.m3u8, one subdirectory per rung)\n"
	"  -i, --input FILE    MPEG-TS input, '-' for stdin (default)\n"
	"  -p, --part SEC      part duration, 0.05..2 (default 0.2)\n"
	"  -s, --segment SEC   segment duration, 0.5..10 (default 1)\n"
	"  -w, --window N      segments listed per playlist, 3..60 (default 6)\n"
	"  -d, --dvr SEC       keep SEC seconds for rewind: <rung>/dvr.m3u8 and master-dvr.m3u8,\n"
	"                      0..86400 (default 0: no DVR playlists, segments leave with the window)\n"
	"  -h, --help, -V, --version\n"
	"environment: LSP_LOG_LEVEL\n"
	"exit: 0 input ended, 100 usage, 111 input or output failure\n";

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void note(void *ctx, const char *what, const char *rung, long long n, const char *detail)
{
	const lsp_log_t *lg = ctx;
	int lvl = strcmp(what, "segment") == 0 ? LSP_DEBUG : LSP_INFO;
	lsp_log(lg, lvl, what, "rung", LSV_S(rung), "n", LSV_I(n), "detail", LSV_S(detail ? detail : ""),
		NULL);
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_pack_opts o = { .input = "-", .part = 0.2, .segment = 1, .window = 6 };
	lsp_pack *p = NULL;
	char err[512] = "";
	long w;
	int c, rc;
	struct sigaction sa;

	lsp_log_init(&lg, "lsp-package");
	static const struct option lopts[] = {
		{ "out", required_argument, NULL, 'o' },     { "input", required_argument, NULL, 'i' },
		{ "part", required_argument, NULL, 'p' },    { "segment", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },  { "dvr", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },       { NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "o:i:p:s:w:d:hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'i': o.input = optarg; break;
		case 'p':
			if (lsp_opt_double(optarg, 0.05, 2, &o.part) < 0)
				goto bad;
			break;
		case 's':
			if (lsp_opt_double(optarg, 0.5, 10, &o.segment) < 0)
				goto bad;
			break;
		case 'w':
			if (lsp_opt_long(optarg, 3, LSP_PACK_MAX_WINDOW, &w) < 0)
				goto bad;
			o.window = (int)w;
			break;
		case 'd':
			if (lsp_opt_double(optarg, 0, LSP_PACK_MAX_DVR, &o.dvr) < 0)
				goto bad;
			break;
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-package %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (!o.out || optind != argc || o.part > o.segment) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* libav's own messages are plain text: only when debugging */
	av_log_set_level(lg.level == LSP_DEBUG ? AV_LOG_WARNING : AV_LOG_QUIET);
	o.note = note;
	o.note_ctx = &lg;
	o.stop = &stop;
	if ((rc = lsp_pack_open(&p, &o, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, err, "out", LSV_S(o.out), "input", LSV_S(o.input), NULL);
		return LSP_EXIT_SYS;
	}
	while (!stop && (rc = lsp_pack_step(p, err, sizeof err)) > 0)
		;
	if (rc >= 0)
		rc = lsp_pack_finish(p, err, sizeof err);
	lsp_pack_close(p);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, err, "out", LSV_S(o.out), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_log(&lg, LSP_INFO, "input ended", "out", LSV_S(o.out), NULL);
	return LSP_EXIT_OK;
bad:
	fprintf(stderr, "lsp-package: bad value for -%c: %s\n", c, optarg);
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
