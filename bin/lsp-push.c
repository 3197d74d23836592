/* lsp-push — two jobs: mirror an lsp-package directory to S3-compatible
 * storage as it grows (s3://BUCKET/PREFIX --dir DIR), or restream MPEG-TS
 * from stdin to RTMP destinations (rtmp://... [rtmp://...]).
 * Exit codes (man/lsp.7): 0 done, 1 credentials refused, 100 usage,
 * 111 input, upload or system failure. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "push/pushdir.h"
#include "push/restream.h"
#include "push/s3.h"

static const char usage[] =
	"usage: lsp-push s3://BUCKET[/PREFIX] --dir DIR [--endpoint URL] [--region R] [--path-style]\n"
	"                [--delete-expired] [--queue N] [--timeout SEC] [--retry-max SEC] [--once]\n"
	"       lsp-push rtmp[s]://HOST/APP/KEY [rtmp[s]://...] [-i FILE|-] [--queue N] [--stall SEC]\n"
	"                [--ca-file FILE] [--insecure-tls]\n"
	"  -d, --dir DIR         the lsp-package directory to mirror (watched with inotify)\n"
	"  -e, --endpoint URL    S3-compatible endpoint (default https://s3.REGION.amazonaws.com)\n"
	"  -r, --region R        signing region (default $AWS_REGION, else us-east-1)\n"
	"  -P, --path-style      ENDPOINT/BUCKET/KEY instead of BUCKET.HOST/KEY\n"
	"  -x, --delete-expired  delete objects whose local file was removed\n"
	"  -q, --queue N         S3: uploads waiting, per class (default 1024);\n"
	"                        RTMP: packets per destination (default 600)\n"
	"  -t, --timeout SEC     S3 request timeout (default 10)\n"
	"  -R, --retry-max SEC   longest wait between retries (default 10)\n"
	"  -1, --once            upload what is there, then exit\n"
	"  -i, --input FILE      RTMP: MPEG-TS input, '-' for stdin (default)\n"
	"  -s, --stall SEC       RTMP: drop a connection blocked this long (default 5)\n"
	"      --ca-file FILE    RTMPS: trust the CAs in FILE instead of the system's\n"
	"      --insecure-tls    RTMPS: do not verify the server's certificate (logged)\n"
	"  -h, --help, -V, --version\n"
	"environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,\n"
	"  LSP_LOG_LEVEL\n"
	"exit: 0 done, 1 credentials refused, 100 usage, 111 input, upload or system failure\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* conf is copied: the bucket name lives on this frame, not in the caller's conf */
static int run_s3(lsp_log_t *lg, const char *target, lsp_pushdir_conf *pc, const lsp_s3_conf *conf)
{
	lsp_s3_conf s3c = *conf, *sc = &s3c;
	char bucket[256], err[512] = "";
	const char *slash;
	lsp_s3 *s3 = NULL;
	lsp_pushdir_stats st;
	int rc;

	target += 5; /* "s3://" */
	slash = strchr(target, '/');
	snprintf(bucket, sizeof bucket, "%.*s", slash ? (int)(slash - target) : (int)strlen(target), target);
	pc->prefix = slash ? slash + 1 : "";
	sc->bucket = bucket;
	sc->access_key = getenv("AWS_ACCESS_KEY_ID");
	sc->secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	sc->session_token = getenv("AWS_SESSION_TOKEN");
	if (!sc->access_key || !sc->secret_key || !*sc->access_key || !*sc->secret_key) {
		lsp_log(lg, LSP_FATAL, "no credentials", "needs", LSV_S("AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY"), NULL);
		return LSP_EXIT_USAGE;
	}
	if (lsp_s3_open(&s3, sc, err, sizeof err) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		return LSP_EXIT_USAGE;
	}
	lsp_log(lg, LSP_INFO, "mirroring", "dir", LSV_S(pc->dir), "bucket", LSV_S(bucket), "prefix",
		LSV_S(pc->prefix), "endpoint", LSV_S(sc->endpoint ? sc->endpoint : "aws"), NULL);
	rc = lsp_pushdir_run(pc, s3, &st, err, sizeof err);
	lsp_s3_close(s3);
	lsp_log(lg, rc < 0 ? LSP_ERROR : LSP_INFO, "stopped", "put", LSV_I(st.put), "deleted", LSV_I(st.deleted),
		"bytes", LSV_I(st.bytes), "failures", LSV_I(st.failures), "dropped", LSV_I(st.dropped), "vanished",
		LSV_I(st.vanished), "left", LSV_I(st.left), "connections", LSV_I(st.connections), NULL);
	if (rc == -EACCES)
		return LSP_EXIT_NO;
	if (rc < 0 && err[0])
		lsp_log(lg, LSP_FATAL, "push failed", "reason", LSV_S(err), "dir", LSV_S(pc->dir), NULL);
	return rc < 0 ? LSP_EXIT_SYS : LSP_EXIT_OK;
}

static int run_rtmp(lsp_log_t *lg, lsp_restream_conf *rc_)
{
	lsp_restream_stats st;
	char err[512] = "";
	/* "destination done" lines come from the library, one per destination */
	int rc = lsp_restream_run(rc_, &st, err, sizeof err);
	if (rc < 0) {
		lsp_log(lg, LSP_FATAL, "restream failed", "reason", LSV_S(err), "input", LSV_S(rc_->input), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_log(lg, LSP_INFO, "input ended", "packets", LSV_I(st.in_packets), NULL);
	return LSP_EXIT_OK;
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_s3_conf sc = { 0 };
	lsp_pushdir_conf pc = { 0 };
	lsp_restream_conf rs = { .input = "pipe:0" };
	struct sigaction sa;
	double d;
	long n;
	int c, rtmp = 0;

	lsp_log_init(&lg, "lsp-push");
	sc.region = getenv("AWS_REGION") ? getenv("AWS_REGION") : getenv("AWS_DEFAULT_REGION");
	static const struct option lopts[] = {
		{ "dir", required_argument, NULL, 'd' },      { "endpoint", required_argument, NULL, 'e' },
		{ "region", required_argument, NULL, 'r' },   { "path-style", no_argument, NULL, 'P' },
		{ "delete-expired", no_argument, NULL, 'x' }, { "queue", required_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, 't' },  { "retry-max", required_argument, NULL, 'R' },
		{ "once", no_argument, NULL, '1' },           { "input", required_argument, NULL, 'i' },
		{ "stall", required_argument, NULL, 's' },    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },        { "ca-file", required_argument, NULL, 'C' },
		{ "insecure-tls", no_argument, NULL, 'I' },   { NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "d:e:r:Pxq:t:R:1i:s:hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': pc.dir = optarg; break;
		case 'e': sc.endpoint = optarg; break;
		case 'r': sc.region = optarg; break;
		case 'P': sc.path_style = 1; break;
		case 'x': pc.delete_expired = 1; break;
		case 'q':
			if (lsp_opt_long(optarg, 8, 1000000, &n) < 0)
				goto bad;
			pc.queue = (size_t)n;
			rs.queue = (int)n;
			break;
		case 't':
			if (lsp_opt_double(optarg, 0.1, 600, &d) < 0)
				goto bad;
			sc.timeout_ms = (long)(d * 1000);
			break;
		case 'R':
			if (lsp_opt_double(optarg, 0.1, 3600, &d) < 0)
				goto bad;
			pc.retry_max_ms = (long)(d * 1000);
			break;
		case '1': pc.once = 1; break;
		case 'i': rs.input = strcmp(optarg, "-") ? optarg : "pipe:0"; break;
		case 's':
			if (lsp_opt_double(optarg, 0.2, 600, &d) < 0)
				goto bad;
			rs.stall_ms = (long)(d * 1000);
			break;
		case 'C': rs.ca_file = optarg; break;
		case 'I': rs.tls_insecure = 1; break;
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-push %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		rtmp += !strncmp(argv[i], "rtmp://", 7) || !strncmp(argv[i], "rtmps://", 8);
	if (optind == argc || (rtmp && rtmp != argc - optind) || rtmp > LSP_RESTREAM_MAX ||
	    (!rtmp && (argc - optind != 1 || strncmp(argv[optind], "s3://", 5) != 0 || !argv[optind][5] ||
		       argv[optind][5] == '/' || !pc.dir))) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	if (rtmp) {
		rs.urls = (const char *const *)&argv[optind];
		rs.nurls = rtmp;
		rs.stop = &stop;
		rs.event = lsp_event_log;
		rs.event_ctx = &lg;
		if (rs.tls_insecure)
			lsp_log(&lg, LSP_WARN, "RTMPS certificates not verified", "reason", LSV_S("--insecure-tls"), NULL);
		return run_rtmp(&lg, &rs);
	}
	pc.stop = &stop;
	pc.event = lsp_event_log;
	pc.event_ctx = &lg;
	return run_s3(&lg, argv[optind], &pc, &sc);
bad:
	fprintf(stderr, "lsp-push: bad value for -%c: %s\n", c, optarg);
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
