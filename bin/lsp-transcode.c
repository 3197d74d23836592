/* lsp-transcode — MPEG-TS in, one multi-program MPEG-TS out: one program
 * per rung of an ABR ladder, keyframes aligned across rungs.
 * Exit codes (man/lsp.7): 0 input ended and output complete, 100 usage,
 * 111 input/output failure (broken output pipe, unreadable input). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/key.h"
#include "core/event.h"
#include "core/exit.h"
#include "core/fsio.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "media/ladder.h"
#include "media/transcode.h"
#include "state/chandir.h"

static const char usage[] =
	"usage: lsp-transcode [options] < in.ts > ladder.ts\n"
	"  -i, --input FILE       MPEG-TS input; - = stdin (default)\n"
	"  -o, --output FILE      multi-program MPEG-TS output; - = stdout (default)\n"
	"  -l, --ladder LIST      rungs, e.g. 720p,480p,360p or 1280x720@2800,src\n"
	"                         (default 1080p,720p,480p,360p clipped to the source)\n"
	"  -g, --gop SECONDS      keyframe grid interval, 0.1..10 (default $LSP_SEGMENT,\n"
	"                         else 1: lsp-package's segment duration)\n"
	"  -p, --preset NAME      x264 preset, ultrafast..veryslow (default veryfast)\n"
	"  -e, --encoder NAME     auto|x264|nvenc (default auto: NVENC if it opens)\n"
	"      --passthrough      add a rung \"src\" copying the source packets\n"
	"  -t, --threads N        encoder threads per rung, 0 = auto (default 0)\n"
	"      --ring-prefix NAME also write each encoded rung R into the shared-memory\n"
	"                         ring NAME~R (lsp-ring-NAME~R in the ring directory; lsp-rtc\n"
	"                         serves it to WebRTC viewers when the source has B-frames)\n"
	"      --on-demand SECONDS  with --ring-prefix: stop encoding a rung nobody has asked\n"
	"                         for in SECONDS (lsp-edge and lsp-rtc touch lsp-want-NAME~R in\n"
	"                         the ring directory); it restarts on the next grid keyframe after\n"
	"                         a request. \"src\" always runs; without it, the smallest rung\n"
	"                         (default 0: all always). No rung running: no decoding either\n"
	"      --policy on-demand|always|off  the ladder policy to start with (default\n"
	"                         on-demand: --on-demand decides; off: only \"src\")\n"
	"      --policy-dir DIR   the channel's directory holding its ladder markers\n"
	"                         (.ladder-always, .ladder-off): read each second, a change\n"
	"                         applies on the next keyframe\n"
	"      --realtime auto|on|off  keep up with a live input: shed preset and rungs,\n"
	"                         drop input to the next keyframe when behind (default auto:\n"
	"                         on when the input is a pipe or socket)\n"
	"      --status FILE      write the shed level, preset and rungs encoded, shed and idle\n"
	"                         as one JSON object to FILE each second (atomically; removed\n"
	"                         when the input ends): lsp-ingest adds it to the channel's\n"
	"                         health report while it is fresh\n"
	"      --metrics [HOST]:PORT  serve Prometheus text at /metrics (host default\n"
	"                         127.0.0.1), updated each second, label channel=$LSP_CHANNEL\n"
	"  -h, --help, -V, --version\n"
	"environment: LSP_LOG_LEVEL (debug|info|warn|error), LSP_CHANNEL (metrics label),\n"
	"  LSP_SEGMENT (default --gop), LSP_RING_DIR (rings of --ring-prefix)\n"
	"exit: 0 done, 100 usage, 111 input/output failure\n";

static const char *const presets[] = { "ultrafast", "superfast", "veryfast", "faster", "fast",
				       "medium",    "slow",      "slower",   "veryslow", NULL };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Metrics now, and the log line msg at level. */
static void progress(const lsp_log_t *lg, lsp_metrics *mx, lsp_transcode *t, double t0, const char *msg,
		     enum lsp_level level)
{
	lsp_transcode_stats st;
	double el = now_s() - t0;
	const char *ch = lsp_opt_env("LSP_CHANNEL", "");
	lsp_transcode_get_stats(t, &st);
	if (el <= 0)
		el = 1e-9;
	if (mx) {
		lsp_metrics_set(mx, "lsp_transcode_fps", st.frames_in / el, "channel", ch, "encoder", st.encoder, NULL);
		lsp_metrics_set(mx, "lsp_transcode_speed", st.speed > 0 ? st.speed : st.media_s / el, "channel", ch,
				"encoder", st.encoder, NULL);
		lsp_metrics_set(mx, "lsp_transcode_capacity", st.capacity, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_shed_level", st.shed_level, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_lag_seconds", st.lag_s, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_rungs_idle", st.rungs_idle, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_demand_starts_total", (double)st.demand_starts, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_decoding", st.decoding, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_decode_stops_total", (double)st.decode_stops, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_dropped_total", (double)st.input_drops, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_media_seconds", st.media_s, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_frames_in_total", (double)st.frames_in, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_frames_out_total", (double)st.frames_out, "channel", ch, NULL);
		lsp_metrics_set(mx, "lsp_transcode_errors_total", (double)st.dropped, "channel", ch, "kind", "dropped",
				NULL);
		lsp_metrics_set(mx, "lsp_transcode_errors_total", (double)st.corrupt, "channel", ch, "kind", "corrupt",
				NULL);
		lsp_metrics_set(mx, "lsp_transcode_errors_total", (double)st.decode_errors, "channel", ch, "kind",
				"decode", NULL);
		lsp_metrics_set(mx, "lsp_transcode_errors_total", (double)st.resyncs, "channel", ch, "kind", "resync",
				NULL);
	}
	lsp_log(lg, level, msg, "encoder", LSV_S(st.encoder), "fps", LSV_D(st.frames_in / el), "speed",
		LSV_D(st.media_s / el), "frames_in", LSV_I(st.frames_in), "frames_out", LSV_I(st.frames_out),
		"dropped", LSV_I(st.dropped), "corrupt", LSV_I(st.corrupt), "decode_errors",
		LSV_I(st.decode_errors), "resyncs", LSV_I(st.resyncs), "skipped_bytes", LSV_I(st.skipped_bytes),
		"media_s", LSV_D(st.media_s), "wall_s", LSV_D(el), "capacity", LSV_D(st.capacity), "shed_level",
		LSV_I(st.shed_level), "preset", LSV_S(st.preset), "lag_ms", LSV_I((long long)(st.lag_s * 1000)),
		"input_drops", LSV_I(st.input_drops), NULL);
}

/* The --status file: dir and name of the path, and whether a failed
 * write was reported already (once is enough). */
struct status {
	char dir[4096], name[256];
	int on, warned;
};

static int status_init(struct status *s, const char *path)
{
	const char *sl = strrchr(path, '/');
	size_t dl = sl ? (size_t)(sl - path) : 0;
	const char *base = sl ? sl + 1 : path;
	if (!*base || strlen(base) >= sizeof s->name || dl >= sizeof s->dir)
		return -1;
	snprintf(s->dir, sizeof s->dir, "%.*s", (int)(sl ? (dl ? dl : 1) : 1), sl ? path : ".");
	snprintf(s->name, sizeof s->name, "%s", base);
	s->on = 1;
	return 0;
}

static void status_write(const lsp_log_t *lg, struct status *s, const lsp_transcode *t)
{
	char json[1024], err[256];
	int n;
	if (!s->on)
		return;
	if ((n = lsp_transcode_status_json(t, json, sizeof json - 1)) < 0)
		return;
	json[n++] = '\n';
	if (lsp_fsio_publish(s->dir, s->name, json, (size_t)n, 0, err, sizeof err) < 0 && !s->warned) {
		lsp_log(lg, LSP_WARN, "status file not written", "reason", LSV_S(err), NULL);
		s->warned = 1;
	}
}

/* --policy-dir: the channel's directory as the root and the channel's
 * name (state/chandir.h), and the last reading: a new policy is applied
 * once two readings a second apart agree, so the moment between a writer
 * removing one marker and making the other is never taken for a change. */
struct policy_dir {
	char root[4096], name[LSP_NAME_MAX + 1];
	int on, last;
};

static int policy_init(struct policy_dir *p, const char *dir)
{
	const char *sl;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof p->root)
		return -1;
	snprintf(p->root, sizeof p->root, "%.*s", (int)n, dir);
	sl = strrchr(p->root, '/');
	if (!lsp_name_valid(sl ? sl + 1 : p->root))
		return -1;
	snprintf(p->name, sizeof p->name, "%.*s", LSP_NAME_MAX, sl ? sl + 1 : p->root);
	if (!sl)
		snprintf(p->root, sizeof p->root, ".");
	else if (sl == p->root)
		snprintf(p->root, sizeof p->root, "/");
	else
		p->root[sl - p->root] = 0;
	p->on = 1;
	p->last = -1;
	return 0;
}

static void policy_poll(struct policy_dir *p, lsp_transcode *t)
{
	lsp_transcode_stats st;
	int now;
	if (!p->on)
		return;
	now = lsp_chandir_ladder(p->root, p->name);
	lsp_transcode_get_stats(t, &st);
	if (now == p->last && now != st.policy)
		lsp_transcode_set_policy(t, now);
	p->last = now;
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lsp-transcode: %s: %s\n%s", what, arg, usage);
	return LSP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_transcode_config cfg;
	lsp_transcode *t = NULL;
	const char *in = "-", *out = "-";
	char err[512] = "";
	double d, t0, last, last_info;
	long v;
	int c, i, rc, ok, realtime = -1;
	struct stat sb;
	lsp_metrics *mx = NULL;
	const char *mx_addr = NULL;
	struct status stat_file = { .on = 0 };
	struct policy_dir pol = { .on = 0 };

	lsp_log_init(&lg, "lsp-transcode");
	memset(&cfg, 0, sizeof cfg);
	cfg.gop_s = 1;
	/* the keyframe grid is the packager's segment grid: lsp-channel gives
	 * both tools the same LSP_SEGMENT */
	if (getenv("LSP_SEGMENT") && lsp_opt_double(getenv("LSP_SEGMENT"), 0.1, 10, &d) == 0)
		cfg.gop_s = d;
	cfg.preset = "veryfast";
	cfg.event = lsp_event_log;
	cfg.event_ctx = &lg;
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },   { "output", required_argument, NULL, 'o' },
		{ "ladder", required_argument, NULL, 'l' },  { "gop", required_argument, NULL, 'g' },
		{ "preset", required_argument, NULL, 'p' },  { "encoder", required_argument, NULL, 'e' },
		{ "threads", required_argument, NULL, 't' }, { "passthrough", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
		{ "metrics", required_argument, NULL, 'M' }, { "realtime", required_argument, NULL, 'R' },
		{ "ring-prefix", required_argument, NULL, 'r' }, { "on-demand", required_argument, NULL, 'D' },
		{ "status", required_argument, NULL, 'S' },      { "policy", required_argument, NULL, 'L' },
		{ "policy-dir", required_argument, NULL, 'F' },  { NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "i:o:l:g:p:e:t:hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'l':
			if ((rc = lsp_ladder_parse(optarg, cfg.rungs, LSP_LADDER_MAX, err, sizeof err)) < 0)
				return bad_usage("bad --ladder", err);
			cfg.nrungs = rc;
			break;
		case 'g':
			if (lsp_opt_double(optarg, 0.1, 10, &d) < 0)
				return bad_usage("bad --gop (0.1..10 seconds)", optarg);
			cfg.gop_s = d;
			break;
		case 'p':
			for (i = 0, ok = 0; presets[i]; i++)
				ok |= strcmp(presets[i], optarg) == 0;
			if (!ok)
				return bad_usage("bad --preset", optarg);
			cfg.preset = optarg;
			break;
		case 'e':
			if (!strcmp(optarg, "auto"))
				cfg.encoder = LSP_ENC_AUTO;
			else if (!strcmp(optarg, "x264") || !strcmp(optarg, "libx264"))
				cfg.encoder = LSP_ENC_X264;
			else if (!strcmp(optarg, "nvenc") || !strcmp(optarg, "h264_nvenc"))
				cfg.encoder = LSP_ENC_NVENC;
			else
				return bad_usage("bad --encoder (auto|x264|nvenc)", optarg);
			break;
		case 't':
			if (lsp_opt_long(optarg, 0, 64, &v) < 0)
				return bad_usage("bad --threads (0..64)", optarg);
			cfg.threads = (int)v;
			break;
		case 'P': cfg.passthrough = 1; break;
		case 'M': mx_addr = optarg; break;
		case 'S':
			if (status_init(&stat_file, optarg) < 0)
				return bad_usage("bad --status (a file name)", optarg);
			break;
		case 'r':
			if (!lsp_name_valid(optarg))
				return bad_usage("bad --ring-prefix (a channel name)", optarg);
			cfg.ring_prefix = optarg;
			break;
		case 'D':
			if (lsp_opt_long(optarg, 0, 86400, &v) < 0)
				return bad_usage("bad --on-demand (seconds, 0..86400)", optarg);
			cfg.idle_s = (double)v;
			break;
		case 'L':
			if ((cfg.policy = lsp_transcode_policy_parse(optarg)) < 0)
				return bad_usage("bad --policy (on-demand|always|off)", optarg);
			break;
		case 'F':
			if (policy_init(&pol, optarg) < 0)
				return bad_usage("bad --policy-dir (a channel's directory)", optarg);
			break;
		case 'R':
			if (!strcmp(optarg, "auto"))
				realtime = -1;
			else if (!strcmp(optarg, "on") || !strcmp(optarg, "off"))
				realtime = !strcmp(optarg, "on");
			else
				return bad_usage("bad --realtime (auto|on|off)", optarg);
			break;
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-transcode %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (cfg.idle_s > 0 && !cfg.ring_prefix)
		return bad_usage("--on-demand needs --ring-prefix", "(the channel whose want files to read)");

	signal(SIGPIPE, SIG_IGN); /* a closed output is an error we report, not a silent death */
	/* libav's errors always (capped), its warnings when debugging */
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_ERRORS);

	cfg.in_fd = strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (cfg.in_fd < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to open input", "path", LSV_S(in), "reason", LSV_S(strerror(errno)), NULL);
		return LSP_EXIT_SYS;
	}
	cfg.out_fd = strcmp(out, "-") ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : STDOUT_FILENO;
	if (cfg.out_fd < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to open output", "path", LSV_S(out), "reason", LSV_S(strerror(errno)), NULL);
		return LSP_EXIT_SYS;
	}
	/* auto: a pipe or socket is a live feed; a file is read as fast as we go */
	cfg.realtime = realtime >= 0 ? realtime
				     : fstat(cfg.in_fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode));
	if (mx_addr) {
		if (lsp_metrics_new(&mx, "lsp-transcode") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			return LSP_EXIT_SYS;
		}
		lsp_metrics_def(mx, "lsp_transcode_fps", LSP_METRIC_GAUGE, "source frames decoded per wall second");
		lsp_metrics_def(mx, "lsp_transcode_speed", LSP_METRIC_GAUGE, "media seconds per wall second (1 = real time)");
		lsp_metrics_def(mx, "lsp_transcode_capacity", LSP_METRIC_GAUGE,
				"media seconds per busy second: the speed the machine allows now");
		lsp_metrics_def(mx, "lsp_transcode_shed_level", LSP_METRIC_GAUGE,
				"0 = as configured; 1.. = faster preset, then rungs dropped");
		lsp_metrics_def(mx, "lsp_transcode_lag_seconds", LSP_METRIC_GAUGE, "input lag behind the wall clock");
		lsp_metrics_def(mx, "lsp_transcode_rungs_idle", LSP_METRIC_GAUGE,
				"encoded rungs not encoded now because nobody watches them (--on-demand)");
		lsp_metrics_def(mx, "lsp_transcode_demand_starts_total", LSP_METRIC_COUNTER,
				"idle rungs started again for a viewer");
		lsp_metrics_def(mx, "lsp_transcode_decoding", LSP_METRIC_GAUGE,
				"1 while the source is decoded; 0 while no encoded rung runs (src copied only)");
		lsp_metrics_def(mx, "lsp_transcode_decode_stops_total", LSP_METRIC_COUNTER,
				"times decoding stopped because no encoded rung ran");
		lsp_metrics_def(mx, "lsp_transcode_dropped_total", LSP_METRIC_COUNTER,
				"times input was dropped up to the next keyframe to catch up");
		lsp_metrics_def(mx, "lsp_transcode_media_seconds", LSP_METRIC_GAUGE, "source timeline covered");
		lsp_metrics_def(mx, "lsp_transcode_frames_in_total", LSP_METRIC_COUNTER, "source video frames decoded");
		lsp_metrics_def(mx, "lsp_transcode_frames_out_total", LSP_METRIC_COUNTER, "video frames encoded, all rungs");
		lsp_metrics_def(mx, "lsp_transcode_errors_total", LSP_METRIC_COUNTER, "input problems, by kind");
		if ((rc = lsp_metrics_serve_addr(mx, mx_addr, err, sizeof err)) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			lsp_metrics_free(mx);
			return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
		}
		lsp_log(&lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(mx)), NULL);
	}
	if ((rc = lsp_transcode_open(&t, &cfg, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		lsp_metrics_free(mx);
		return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
	}
	t0 = last = last_info = now_s();
	while ((rc = lsp_transcode_step(t, err, sizeof err)) > 0) {
		if (now_s() - last >= 1.0) { /* metrics each second; the line at info each 10 s, else debug */
			int info = now_s() - last_info >= 10.0;
			last = now_s();
			if (info)
				last_info = last;
			policy_poll(&pol, t);
			progress(&lg, mx, t, t0, "progress", info ? LSP_INFO : LSP_DEBUG);
			status_write(&lg, &stat_file, t);
		}
	}
	if (stat_file.on) /* no report outlives the transcoder */
		(void)lsp_fsio_unlink(stat_file.dir, stat_file.name, err, sizeof err);
	progress(&lg, mx, t, t0, rc == 0 ? "done" : "stopped", LSP_INFO);
	lsp_transcode_close(t);
	lsp_metrics_free(mx);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, "transcode failed", "reason", LSV_S(err), "kind",
			LSV_S(rc == -EPIPE ? "broken pipe" : "i/o"), NULL);
		return LSP_EXIT_SYS;
	}
	return LSP_EXIT_OK;
}
