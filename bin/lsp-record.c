/* lsp-record — MPEG-TS on stdin to a crash-safe recording of one
 * broadcast: $LSP_DATA_DIR/vod/<channel>/<id>/ (init.mp4, seg<N>.m4s,
 * index.m3u8).  A reconnect within --grace seconds continues the same
 * broadcast after a discontinuity.  When the channel's record setting is
 * off (lsp-ctl channel set NAME record=off) it reads and discards its input.
 * Exit codes (man/lsp.7): 0 input ended (recording finalised, or not
 * recording), 100 usage, 111 input, output or store failure. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/event.h"
#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "media/record.h"
#include "state/store.h"
#include "state/vod.h"

static const char usage[] =
	"usage: lsp-record --channel NAME [-i FILE|-] [--root DIR] [--segment SEC] [--grace SEC]\n"
	"                  [--program NAME] [--always] [--no-sync] [--on-finish CMD]\n"
	"                  [--metrics [HOST]:PORT]\n"
	"  -c, --channel NAME  channel being recorded\n"
	"  -i, --input FILE    MPEG-TS input, '-' for stdin (default)\n"
	"  -r, --root DIR      recordings root (default $LSP_DATA_DIR/vod)\n"
	"  -s, --segment SEC   segment duration, 1..30 (default 4); a crash loses at most one\n"
	"  -g, --grace SEC     reopen the channel's last broadcast if it ended less than SEC\n"
	"                      seconds ago, 0..3600 (default 30; 0: always a new broadcast)\n"
	"  -P, --program NAME  record the program with this SDT service name (default: the first\n"
	"                      with video, i.e. the source)\n"
	"  -a, --always        record even if the channel's record setting is off\n"
	"  --no-sync           do not fsync (tests on tmpfs)\n"
	"  --metrics [HOST]:PORT  serve Prometheus text at /metrics (host default 127.0.0.1)\n"
	"  -F, --on-finish CMD run CMD with /bin/sh once the recording is finalised, with\n"
	"                      LSP_REC_CHANNEL, LSP_REC_ID and LSP_REC_DIR set (e.g. lsp-push\n"
	"                      s3://B/vod/$LSP_REC_CHANNEL/$LSP_REC_ID --dir \"$LSP_REC_DIR\" --once)\n"
	"  -h, --help, -V, --version\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL, LSP_LOG_LEVEL\n"
	"exit: 0 input ended, 100 usage, 111 input, output or store failure\n";

static volatile int stop;

struct obs {
	lsp_log_t *lg;
	lsp_metrics *mx; /* NULL without --metrics */
	const char *channel;
};

/* Every event is a log line; the metrics count broadcasts, segments,
 * bytes and seconds recorded, and dropped packets, by event name. */
static void on_event(void *ctx, const lsp_event *ev)
{
	const struct obs *ob = ctx;
	lsp_log_event(ob->lg, ev);
	if (!ob->mx)
		return;
	if (lsp_event_is(ev, "started") || lsp_event_is(ev, "reopened")) {
		lsp_metrics_add(ob->mx, "lsp_record_broadcasts_total", 1, "channel", ob->channel, "kind", ev->name, NULL);
		lsp_metrics_set(ob->mx, "lsp_record_recording", 1, "channel", ob->channel, NULL);
	} else if (lsp_event_is(ev, "segment")) {
		lsp_metrics_add(ob->mx, "lsp_record_segments_total", 1, "channel", ob->channel, NULL);
		lsp_metrics_add(ob->mx, "lsp_record_bytes_total", (double)lsp_event_int(ev, "bytes", 0), "channel",
				ob->channel, NULL);
		lsp_metrics_add(ob->mx, "lsp_record_seconds_total", lsp_event_double(ev, "duration", 0), "channel",
				ob->channel, NULL);
	} else if (lsp_event_is(ev, "dropped")) {
		lsp_metrics_add(ob->mx, "lsp_record_dropped_packets_total", (double)lsp_event_int(ev, "packets", 0),
				"channel", ob->channel, NULL);
	} else if (lsp_event_is(ev, "finished")) {
		lsp_metrics_set(ob->mx, "lsp_record_recording", 0, "channel", ob->channel, NULL);
	}
}

static int metrics_start(struct obs *ob, const char *addr)
{
	char err[256];
	int rc;
	if (lsp_metrics_new(&ob->mx, "lsp-record") < 0) {
		lsp_log(ob->lg, LSP_FATAL, "out of memory", NULL);
		return LSP_EXIT_SYS;
	}
	lsp_metrics_def(ob->mx, "lsp_record_recording", LSP_METRIC_GAUGE, "1 while a broadcast is being recorded");
	lsp_metrics_def(ob->mx, "lsp_record_broadcasts_total", LSP_METRIC_COUNTER,
			"recordings begun: started (new) or reopened (a reconnect within --grace)");
	lsp_metrics_def(ob->mx, "lsp_record_segments_total", LSP_METRIC_COUNTER, "segments written");
	lsp_metrics_def(ob->mx, "lsp_record_bytes_total", LSP_METRIC_COUNTER, "segment bytes written");
	lsp_metrics_def(ob->mx, "lsp_record_seconds_total", LSP_METRIC_COUNTER, "media seconds recorded");
	lsp_metrics_def(ob->mx, "lsp_record_dropped_packets_total", LSP_METRIC_COUNTER,
			"packets not recorded (non-increasing timestamps)");
	lsp_metrics_set(ob->mx, "lsp_record_recording", 0, "channel", ob->channel, NULL);
	if ((rc = lsp_metrics_serve_addr(ob->mx, addr, err, sizeof err)) < 0) {
		lsp_log(ob->lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
		lsp_metrics_free(ob->mx);
		ob->mx = NULL;
		return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
	}
	lsp_log(ob->lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(ob->mx)), NULL);
	return LSP_EXIT_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The channel's record setting from the store: 1 on, 0 off, < 0 failure. */
static int record_on(const char *channel, char *err, size_t errcap)
{
	lsp_store *st = NULL;
	lsp_vod_settings s;
	int rc;
	if ((rc = lsp_store_open_env(&st, err, errcap)) < 0)
		return rc;
	rc = lsp_vod_settings_get(st, channel, &s, err, errcap);
	lsp_store_close(st);
	return rc < 0 ? rc : s.record;
}

static int drain(void)
{
	char buf[65536];
	ssize_t n;
	while (!stop && ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
		;
	return LSP_EXIT_OK;
}

/* The --on-finish command, values passed in the environment (never
 * pasted into the command text).  Its failure is ours: exit 111. */
static int run_hook(const lsp_log_t *lg, const char *cmd, const char *ch, const char *id, const char *dir)
{
	pid_t pid;
	int st = 0;
	(void)fflush(NULL); /* only so the child does not repeat buffered output */
	if ((pid = fork()) < 0) {
		lsp_log(lg, LSP_ERROR, "on-finish command failed", "reason", LSV_S("fork failed"), NULL);
		return LSP_EXIT_SYS;
	}
	if (pid == 0) {
		setenv("LSP_REC_CHANNEL", ch, 1);
		setenv("LSP_REC_ID", id, 1);
		setenv("LSP_REC_DIR", dir, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		lsp_log(lg, LSP_ERROR, "on-finish command failed", "status", LSV_I(WIFEXITED(st) ? WEXITSTATUS(st) : -1),
			"id", LSV_S(id), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_log(lg, LSP_INFO, "on-finish command done", "id", LSV_S(id), NULL);
	return LSP_EXIT_OK;
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_record_opts o = { .input = "-", .segment = 4, .grace = 30 };
	lsp_record *r = NULL;
	char err[512] = "", root[4096];
	const char *on_finish = NULL, *mx_addr = NULL;
	struct obs ob = { .lg = &lg };
	int c, rc, always = 0;
	long v;
	struct sigaction sa;

	lsp_log_init(&lg, "lsp-record");
	static const struct option lopts[] = {
		{ "channel", required_argument, NULL, 'c' }, { "input", required_argument, NULL, 'i' },
		{ "root", required_argument, NULL, 'r' },    { "segment", required_argument, NULL, 's' },
		{ "grace", required_argument, NULL, 'g' },   { "program", required_argument, NULL, 'P' },
		{ "always", no_argument, NULL, 'a' },        { "no-sync", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
		{ "on-finish", required_argument, NULL, 'F' }, { "metrics", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	root[0] = 0;
	while ((c = getopt_long(argc, argv, "c:i:r:s:g:P:F:ahV", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.channel = optarg; break;
		case 'i': o.input = optarg; break;
		case 'r': snprintf(root, sizeof root, "%s", optarg); break;
		case 'P': o.program = optarg; break;
		case 'a': always = 1; break;
		case 'N': o.nosync = 1; break;
		case 'F': on_finish = optarg; break;
		case 'M': mx_addr = optarg; break;
		case 's':
			if (lsp_opt_double(optarg, 1, 30, &o.segment) < 0)
				goto bad;
			break;
		case 'g':
			if (lsp_opt_long(optarg, 0, 3600, &v) < 0)
				goto bad;
			o.grace = (int)v;
			break;
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-record %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (!o.channel || !lsp_name_valid(o.channel) || optind != argc) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	if (!root[0])
		snprintf(root, sizeof root, "%s/vod", lsp_opt_env("LSP_DATA_DIR", "./var"));
	o.root = root;
	ob.channel = o.channel;
	/* libav's own messages only when debugging */
	lsp_avlog_route(on_event, &ob, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	/* metrics also while recording is off (lsp_record_recording 0): a
	 * target that never answers would look like a dead channel */
	if (mx_addr && (rc = metrics_start(&ob, mx_addr)) != LSP_EXIT_OK)
		return rc;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!always) {
		if ((rc = record_on(o.channel, err, sizeof err)) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to read the record setting", "reason", LSV_S(err), NULL);
			drain();
			lsp_metrics_free(ob.mx);
			return LSP_EXIT_SYS;
		}
		if (rc == 0) {
			lsp_log(&lg, LSP_INFO, "recording is off for this channel", "channel", LSV_S(o.channel), NULL);
			rc = drain();
			lsp_metrics_free(ob.mx);
			return rc;
		}
	}
	/* on a pipe (a tee beside the live packager): room for ~1.5 s at
	 * 5 Mbit/s, so a slow fsync does not hold up the writer */
	if (o.input && strcmp(o.input, "-") == 0)
		fcntl(0, F_SETPIPE_SZ, 1 << 20);
	o.event = on_event;
	o.event_ctx = &ob;
	o.stop = &stop;
	if ((rc = lsp_record_open(&r, &o, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), "channel", LSV_S(o.channel), "input",
			LSV_S(o.input), NULL);
		lsp_metrics_free(ob.mx);
		return LSP_EXIT_SYS;
	}
	while (!stop && (rc = lsp_record_step(r, err, sizeof err)) > 0)
		;
	if (rc >= 0)
		rc = lsp_record_finish(r, err, sizeof err);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, "recording failed", "reason", LSV_S(err), "channel", LSV_S(o.channel), "id",
			LSV_S(lsp_record_id(r)), NULL);
		lsp_record_close(r);
		lsp_metrics_free(ob.mx);
		return LSP_EXIT_SYS;
	}
	lsp_log(&lg, LSP_INFO, "input ended", "channel", LSV_S(o.channel), "id", LSV_S(lsp_record_id(r)),
		"reopened", LSV_B(lsp_record_reopened(r)), "seconds", LSV_D(lsp_record_seconds(r)), NULL);
	rc = LSP_EXIT_OK;
	if (on_finish && lsp_record_id(r)[0])
		rc = run_hook(&lg, on_finish, o.channel, lsp_record_id(r), lsp_record_dir(r));
	lsp_record_close(r);
	lsp_metrics_free(ob.mx);
	return rc;
bad:
	fprintf(stderr, "lsp-record: bad value for --%s: %s\n",
		c == 's' ? "segment" : c == 'g' ? "grace" : "?", optarg);
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
