/* lsp-package — MPEG-TS on stdin (one or many programs) to an LL-HLS
 * directory: CMAF init/parts/segments, media playlists, master.m3u8.
 * Exit codes (man/lsp.7): 0 input ended and playlists closed, 100 usage,
 * 111 input or output failure. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "media/pack.h"

static const char usage[] =
	"usage: lsp-package --out DIR [-i FILE|-] [--part SEC] [--segment SEC] [--window N] [--dvr SEC]\n"
	"                   [--metrics [HOST]:PORT] [--thumb SEC] [--first-seq clock|N]\n"
	"  -o, --out DIR       channel directory (master.m3u8, one subdirectory per rung)\n"
	"  -i, --input FILE    MPEG-TS input, '-' for stdin (default)\n"
	"  -p, --part SEC      part duration, 0.05..2 (default 0.2)\n"
	"  -s, --segment SEC   segment duration, 0.5..10 (default 1)\n"
	"  -w, --window N      segments listed per playlist, 3..60 (default 6)\n"
	"  -d, --dvr SEC       keep SEC seconds for rewind: <rung>/dvr.m3u8 and master-dvr.m3u8,\n"
	"                      0..86400 (default 0: no DVR playlists, segments leave with the window)\n"
	"  --metrics [HOST]:PORT  serve Prometheus text at /metrics (host default 127.0.0.1);\n"
	"                      series are labelled channel=<basename of DIR>, rung\n"
	"  --thumb SEC         every SEC seconds write DIR/thumb.jpg (480 px wide) from a key frame\n"
	"                      of the tallest rung, 1..3600 (default 0: none)\n"
	"  --first-seq clock|N number of the first segment: clock (default) = wall-clock seconds /\n"
	"                      segment, or past the highest number already on disk, so numbers never\n"
	"                      repeat across restarts (media is cached by name); N for canned tests\n"
	"  -h, --help, -V, --version\n"
	"environment: LSP_LOG_LEVEL\n"
	"exit: 0 input ended, 100 usage, 111 input or output failure\n";

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct obs {
	const lsp_log_t *lg;
	lsp_metrics *mx;   /* NULL without --metrics */
	const char *channel;
};

/* Every event is a log line; the metrics count parts, segments, bytes,
 * the last bit rate and input problems by event name. */
static void on_event(void *ctx, const lsp_event *ev)
{
	const struct obs *ob = ctx;
	const char *rung = lsp_event_str(ev, "rung");

	lsp_log_event(ob->lg, ev);
	if (!ob->mx)
		return;
	if (!rung)
		rung = "";
	if (lsp_event_is(ev, "part")) {
		lsp_metrics_add(ob->mx, "lsp_package_parts_total", 1, "channel", ob->channel, "rung", rung, NULL);
		lsp_metrics_add(ob->mx, "lsp_package_bytes_out_total", (double)lsp_event_int(ev, "bytes", 0),
				"channel", ob->channel, "rung", rung, NULL);
	} else if (lsp_event_is(ev, "segment")) {
		lsp_metrics_add(ob->mx, "lsp_package_segments_total", 1, "channel", ob->channel, "rung", rung, NULL);
	} else if (lsp_event_is(ev, "bitrate")) {
		lsp_metrics_set(ob->mx, "lsp_package_bitrate_bps", (double)lsp_event_int(ev, "bps", 0), "channel",
				ob->channel, "rung", rung, NULL);
	} else if (lsp_event_is(ev, "dropped")) {
		lsp_metrics_add(ob->mx, "lsp_package_errors_total", (double)lsp_event_int(ev, "packets", 0), "channel",
				ob->channel, "kind", "dropped packets", NULL);
	} else if (lsp_event_is(ev, "timeline resets")) {
		lsp_metrics_add(ob->mx, "lsp_package_errors_total", (double)lsp_event_int(ev, "resets", 0), "channel",
				ob->channel, "kind", "timeline reset", NULL);
	}
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_pack_opts o = { .input = "-", .part = 0.2, .segment = 1, .window = 6, .first_seq = LSP_PACK_SEQ_CLOCK };
	lsp_pack *p = NULL;
	char err[512] = "";
	long w;
	int c, rc, code = LSP_EXIT_SYS;
	struct sigaction sa;
	struct obs ob = { 0 };
	const char *mx_addr = NULL;

	lsp_log_init(&lg, "lsp-package");
	static const struct option lopts[] = {
		{ "out", required_argument, NULL, 'o' },     { "input", required_argument, NULL, 'i' },
		{ "part", required_argument, NULL, 'p' },    { "segment", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },  { "dvr", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },          { "metrics", required_argument, NULL, 'M' },
		{ "version", no_argument, NULL, 'V' },       { "thumb", required_argument, NULL, 'T' },
		{ "first-seq", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 }
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
		case 'M': mx_addr = optarg; break;
		case 'T':
			if (lsp_opt_double(optarg, 1, LSP_PACK_MAX_THUMB, &o.thumb) < 0)
				goto bad;
			break;
		case 'F':
			if (!strcmp(optarg, "clock"))
				o.first_seq = LSP_PACK_SEQ_CLOCK;
			else if (lsp_opt_long(optarg, 0, LONG_MAX, &w) < 0)
				goto bad;
			else
				o.first_seq = w;
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
	ob.lg = &lg;
	/* libav's own messages only when debugging */
	lsp_avlog_route(on_event, &ob, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	ob.channel = strrchr(o.out, '/') && strrchr(o.out, '/')[1] ? strrchr(o.out, '/') + 1 : o.out;
	if (mx_addr) {
		if (lsp_metrics_new(&ob.mx, "lsp-package") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			return LSP_EXIT_SYS;
		}
		lsp_metrics_def(ob.mx, "lsp_package_parts_total", LSP_METRIC_COUNTER, "LL-HLS parts written");
		lsp_metrics_def(ob.mx, "lsp_package_segments_total", LSP_METRIC_COUNTER, "segments written");
		lsp_metrics_def(ob.mx, "lsp_package_bytes_out_total", LSP_METRIC_COUNTER, "media bytes written");
		lsp_metrics_def(ob.mx, "lsp_package_bitrate_bps", LSP_METRIC_GAUGE, "bit rate of the last segment");
		lsp_metrics_def(ob.mx, "lsp_package_errors_total", LSP_METRIC_COUNTER, "input problems, by kind");
		if ((rc = lsp_metrics_serve_addr(ob.mx, mx_addr, err, sizeof err)) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			lsp_metrics_free(ob.mx);
			return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
		}
		lsp_log(&lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(ob.mx)), NULL);
	}
	o.event = on_event;
	o.event_ctx = &ob;
	o.stop = &stop;
	if ((rc = lsp_pack_open(&p, &o, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), "out", LSV_S(o.out), "input",
			LSV_S(o.input), NULL);
		goto done;
	}
	while (!stop && (rc = lsp_pack_step(p, err, sizeof err)) > 0)
		;
	if (rc >= 0)
		rc = lsp_pack_finish(p, err, sizeof err);
	lsp_pack_close(p);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, "package failed", "reason", LSV_S(err), "out", LSV_S(o.out), NULL);
		goto done;
	}
	lsp_log(&lg, LSP_INFO, "input ended", "out", LSV_S(o.out), NULL);
	code = LSP_EXIT_OK;
done:
	lsp_metrics_free(ob.mx);
	return code;
bad:
	fprintf(stderr, "lsp-package: bad value for -%c: %s\n", c, optarg);
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
